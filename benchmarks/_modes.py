"""Worker for the declared-event scenarios (PERFORMANCE.md): C7 (stage two),
C9 and C10 (stage three), each against a hand-written loop doing the same,
in one process, round by round (median ratio), timed like S1-S6.

* C7: ``collect`` with 10 identity hooks (the result is the list of their
  10 results), and ``first`` with 9 hooks returning ``None`` before the
  10th answers (every hook runs).
* C9: ``first`` with 10 hooks where only the 1st, the 5th or the 10th
  answers (the others return ``None``).  An earlier answer does not shorten
  both sides alike: the fewer hooks run, the more the fixed cost of a
  trigger (lookups, frames) weighs against the plain loop, so the 1st
  answering is the hardest case for the ratio.
* C10: 1 wrapper around 10 identity hooks, ``chain`` and ``collect``,
  against a generator wrapper driven by hand: ``next(gen)`` before the
  loop, ``gen.send(result)`` after it, its ``StopIteration`` value taken
  when it is not ``None``.  The wrapper returns the result it was sent.

``--framework pluggy`` measures pluggy's equivalents in the same way (run
in the competitors' virtual environment): a ``firstresult`` hook for C9,
a ``wrapper=True`` hookimpl around 10 implementations for C10 collect
(pluggy has no chain, so C10 chain is n/a, and C7 is not measured).
pluggy calls the implementation registered last first, so the C9 hooks
are registered in reverse.

Run by ``benchmarks/run.py`` (``--only C7,C9,C10``); alone:
``python benchmarks/_modes.py --out /tmp/modes.json --only C9``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import types
from typing import Any, Callable, Dict, Generator, List, Tuple

from _worker import Case, NotApplicable, alternate_rounds, calibrate, make_identity, payload

EVENT = "bench.modes"
HOOKS = 10
SCENARIOS = {
    "C7": ["C7 collect", "C7 first"],
    "C9": ["C9 first 1st", "C9 first 5th", "C9 first 10th"],
    "C10": ["C10 chain", "C10 collect"],
}
ANSWERS = {"C7 first": 10, "C9 first 1st": 1, "C9 first 5th": 5, "C9 first 10th": 10}

Hook = Callable[[Any], Any]


def make_none() -> Hook:
    def hook(data: Any) -> Any:
        return None
    return hook


def make_wrapper() -> Callable[[Any], Generator[None, Any, Any]]:
    def wrapper(data: Any) -> Generator[None, Any, Any]:
        result = yield
        return result
    return wrapper


def mode_of(scenario: str) -> str:
    return scenario.split()[1]


def hooks_for(scenario: str) -> List[Hook]:
    """The hooks in the order they run."""
    if scenario in ANSWERS:
        answer = ANSWERS[scenario]
        return [make_identity() if i == answer else make_none() for i in range(1, HOOKS + 1)]
    return [make_identity() for _ in range(HOOKS)]


def plain_case(scenario: str, fns: List[Hook], wrapper: Any) -> Case:
    table = {EVENT: fns}
    mode = mode_of(scenario)
    if wrapper is not None:
        wtable = {EVENT: (wrapper, fns)}
        if mode == "chain":
            def plain_wrapped_chain(event: str, d: Any = None) -> Any:
                wrap, hooks = wtable[event]
                gen = wrap(d)
                next(gen)
                for f in hooks:
                    try:
                        r = f(d)
                    except Exception:
                        continue
                    if r is not None:
                        d = r
                try:
                    gen.send(d)
                except StopIteration as stop:
                    if stop.value is not None:
                        d = stop.value
                return d
            return Case("call2", plain_wrapped_chain, EVENT, payload())

        def plain_wrapped_collect(event: str, d: Any = None) -> Any:
            wrap, hooks = wtable[event]
            gen = wrap(d)
            next(gen)
            results = []
            for f in hooks:
                try:
                    r = f(d)
                except Exception:
                    continue
                if r is not None:
                    results.append(r)
            try:
                gen.send(results)
            except StopIteration as stop:
                if stop.value is not None:
                    results = stop.value
            return results
        return Case("call2", plain_wrapped_collect, EVENT, payload())
    if mode == "collect":
        def plain_collect(event: str, d: Any = None) -> Any:
            results = []
            for f in table[event]:
                try:
                    r = f(d)
                except Exception:
                    continue
                if r is not None:
                    results.append(r)
            return results
        return Case("call2", plain_collect, EVENT, payload())

    def plain_first(event: str, d: Any = None) -> Any:
        for f in table[event]:
            try:
                r = f(d)
            except Exception:
                continue
            if r is not None:
                return r
        return None
    return Case("call2", plain_first, EVENT, payload())


def ours_case(scenario: str, fns: List[Hook], wrapper: Any) -> Case:
    from nitro_dispatch import PluginManager

    manager = PluginManager()
    manager.declare_event(EVENT, mode=mode_of(scenario))
    for fn in fns:
        manager.register_hook(EVENT, fn)
    if wrapper is not None:
        manager.register_hook(EVENT, wrapper, wrapper=True)
    return Case("call2", manager.trigger, EVENT, payload())


def pluggy_case(scenario: str, fns: List[Hook], wrapper: Any) -> Case:
    if scenario.startswith("C7"):
        raise NotApplicable("not measured for pluggy")
    if scenario == "C10 chain":
        raise NotApplicable("pluggy has no chain")
    import pluggy

    spec, impl = pluggy.HookspecMarker("bench"), pluggy.HookimplMarker("bench")
    specs = types.ModuleType("bench_specs")

    def bench_modes(data: Any) -> Any:
        """A hook taking the payload."""
    first = mode_of(scenario) == "first"
    specs.bench_modes = spec(firstresult=first)(bench_modes)  # type: ignore[attr-defined]
    pm = pluggy.PluginManager("bench")
    pm.add_hookspecs(specs)
    plugins: List[Tuple[Any, Dict[str, Any]]] = [(f, {}) for f in reversed(fns)]  # last runs first
    if wrapper is not None:
        plugins.append((wrapper, {"wrapper": True}))
    for i, (fn, options) in enumerate(plugins):
        plugin = types.ModuleType("bench_plugin_%d" % i)
        plugin.bench_modes = impl(**options)(fn)  # type: ignore[attr-defined]
        pm.register(plugin)
    return Case("call_kw", pm.hook.bench_modes, payload())


def expected(scenario: str) -> Any:
    if mode_of(scenario) == "collect":
        return [payload()] * HOOKS
    return payload()


def result_of(case: Case) -> Any:
    return case.fn(data=case.a) if case.kind == "call_kw" else case.fn(case.a, case.b)


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--framework", choices=["ours", "pluggy"], default="ours")
    parser.add_argument("--only", default=",".join(SCENARIOS))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--target-ms", type=float, default=100.0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    target_ns = int(args.target_ms * 1e6)
    make = ours_case if args.framework == "ours" else pluggy_case
    pairs = {}
    result: Dict[str, Any] = {}
    for sid in args.only.split(","):
        for scenario in SCENARIOS[sid]:
            fns = hooks_for(scenario)
            wrapper = make_wrapper() if scenario.startswith("C10") else None
            try:
                case = make(scenario, fns, wrapper)
            except NotApplicable as exc:
                result[scenario] = {"na": str(exc)}
                continue
            base = plain_case(scenario, fns, wrapper)
            for who in (base, case):
                if result_of(who) != expected(scenario):
                    raise SystemExit("%s: unexpected result %r" % (scenario, result_of(who)))
            pairs[scenario] = (base, case, calibrate(base, target_ns), calibrate(case, target_ns))
    samples = alternate_rounds(pairs, args.rounds)
    result.update({s: {"plain_ns": statistics.median(v["plain"]), "ns": statistics.median(v["fw"]),
                       "ratio": statistics.median(v["ratio"]), "ratio_min": min(v["ratio"]),
                       "ratio_max": max(v["ratio"]), "rounds": len(v["ratio"])}
                   for s, v in samples.items()})
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    for scenario, entry in result.items():
        if "ratio" in entry:
            print("%s %s: %.0f ns vs plain %.0f ns (%.2fx)" % (
                args.framework, scenario, entry["ns"], entry["plain_ns"], entry["ratio"]),
                file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
