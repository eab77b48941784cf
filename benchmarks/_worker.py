"""Benchmark worker: the dispatch measurements that run inside one process.

``run.py`` starts this file in a subprocess, never imports it:

* ``python _worker.py dispatch --framework NAME --out FILE ...`` times the
  dispatch scenarios (S1-S6) and measures memory (M) for one framework, and
  the hand-written "plain" loop in the same process, interleaved round by
  round, so every ratio compares figures taken side by side.

Only the standard library is imported at module level, so the same file
runs in every virtual environment (Python 3.9+).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import tracemalloc
import types
from itertools import repeat
from time import perf_counter_ns
from typing import Any, Callable, Dict, List, Optional, Tuple

# Each timing loop makes this many calls per iteration, so the cost of the
# ``for`` loop itself is a tenth of a call's and barely blurs the ratios.
UNROLL = 10

EVENT = "bench.event"
NO_HOOK_EVENT = "bench.nothing"
WILDCARD_EVENT = "user.login"
UNRELATED_EVENTS = 1000
UNRELATED_PATTERNS = 100
TIMEOUT = 1.0
MEM_HOOKS = 10_000
MEM_EVENTS = 1_000

SCENARIOS = ["S1 N=1", "S1 N=10", "S1 N=100", "S2", "S3", "S4", "S5", "S6"]

PLUGGY_NOTE = (
    "pluggy collects every hook's result into a list instead of chaining the "
    "data from one hook to the next"
)
BLINKER_NOTE = (
    "blinker returns a list of (receiver, result) pairs instead of chaining"
)


# ---------------------------------------------------------------------------
# timing loops

_LOOP_TEMPLATE = """
{kw}def loop(fn, a, b, n):
    it = repeat(None, n)
    t0 = perf_counter_ns()
    for _ in it:
{body}
    return perf_counter_ns() - t0
"""


def _make_loop(call: str, is_async: bool) -> Callable[..., Any]:
    """Build a timing loop that runs ``call`` UNROLL times per iteration.

    Generated like ``timeit`` does, so every framework and plain pay exactly
    the same loop overhead and no extra call layer sits between the loop and
    the function under test.
    """
    prefix = "await " if is_async else ""
    body = "".join("        %s%s\n" % (prefix, call) for _ in range(UNROLL))
    src = _LOOP_TEMPLATE.format(kw="async " if is_async else "", body=body)
    namespace: Dict[str, Any] = {"repeat": repeat, "perf_counter_ns": perf_counter_ns}
    exec(compile(src, "<bench-loop>", "exec"), namespace)
    return namespace["loop"]  # type: ignore[no-any-return]


LOOPS = {
    "call2": _make_loop("fn(a, b)", False),
    "call1": _make_loop("fn(a)", False),
    "call_kw": _make_loop("fn(data=a)", False),
    "await2": _make_loop("fn(a, b)", True),
    "await1": _make_loop("fn(a)", True),
}


def traced_growth(register: Callable[[], Any],
                  trigger: Optional[Callable[[Any], None]] = None) -> Tuple[int, int]:
    """Bytes allocated (and still held) by ``register()``, then by that plus
    ``trigger(what register returned)``, measured with tracemalloc."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        held = register()
        registered = tracemalloc.get_traced_memory()[0] - before
        if trigger is None:
            return registered, registered
        trigger(held)
        return registered, tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


class Case:
    """One thing to time: ``fn`` called with the given arguments."""

    __slots__ = ("kind", "fn", "a", "b", "note")

    def __init__(self, kind: str, fn: Callable[..., Any], a: Any, b: Any = None,
                 note: str = "") -> None:
        self.kind = kind
        self.fn = fn
        self.a = a
        self.b = b
        self.note = note


class NotApplicable(Exception):
    """The framework has no way to express the scenario."""


_LOOP: Optional[asyncio.AbstractEventLoop] = None


def _event_loop() -> asyncio.AbstractEventLoop:
    global _LOOP
    if _LOOP is None:
        _LOOP = asyncio.new_event_loop()
    return _LOOP


def measure(case: Case, n: int) -> int:
    """Return the ns spent on ``n * UNROLL`` calls, with the collector off."""
    loop = LOOPS[case.kind]
    gc.collect()
    gc.disable()
    try:
        if case.kind.startswith("await"):
            return int(_event_loop().run_until_complete(loop(case.fn, case.a, case.b, n)))
        return int(loop(case.fn, case.a, case.b, n))
    finally:
        gc.enable()


def calibrate(case: Case, target_ns: int) -> int:
    """Find an iteration count whose measurement takes about ``target_ns``."""
    n = 1
    while True:
        elapsed = measure(case, n)
        if elapsed >= target_ns // 5 or n >= 1 << 24:
            break
        n *= 8 if elapsed < target_ns // 100 else 2
    return max(1, int(n * target_ns / max(elapsed, 1)))


# ---------------------------------------------------------------------------
# hooks and payload

def make_identity() -> Callable[[Any], Any]:
    """A new identity function object (each registration gets its own)."""
    def hook(data: Any) -> Any:
        return data
    return hook


def make_async_identity() -> Callable[[Any], Any]:
    async def hook(data: Any) -> Any:
        return data
    return hook


def payload() -> Dict[str, Any]:
    return {"user": "alice", "id": 42, "tags": ["a", "b"]}


def unrelated_events() -> List[str]:
    return ["app%d.changed" % i for i in range(UNRELATED_EVENTS)]


def unrelated_patterns() -> List[str]:
    return ["ns%d.*" % i for i in range(UNRELATED_PATTERNS)]


# ---------------------------------------------------------------------------
# plain: the hand-written chain PERFORMANCE.md defines as the physical limit

def plain_trigger_for(table: Dict[str, List[Callable[[Any], Any]]]) -> Callable[..., Any]:
    """PERFORMANCE.md's plain loop over a prepared dict of lists."""
    def plain_trigger(event: str, d: Any = None) -> Any:
        fns = table[event]
        for f in fns:
            try:
                r = f(d)
            except Exception:
                continue
            if r is not None:
                d = r
        return d
    return plain_trigger


def alternate_rounds(pairs: Dict[str, Any], rounds: int) -> Dict[str, Dict[str, List[float]]]:
    """Time plain and the framework alternately, round after round:
    ``pairs`` maps a scenario to ``(plain case, case, plain count, count)``;
    returns ns per trigger of each side and their ratio, per round."""
    samples: Dict[str, Dict[str, List[float]]] = {
        s: {"plain": [], "fw": [], "ratio": []} for s in pairs}
    for _round in range(rounds):
        for scenario, (base, case, n_base, n_case) in pairs.items():
            t_base = measure(base, n_base) / (n_base * UNROLL)
            t_case = measure(case, n_case) / (n_case * UNROLL)
            samples[scenario]["plain"].append(t_base)
            samples[scenario]["fw"].append(t_case)
            samples[scenario]["ratio"].append(t_case / t_base)
    return samples


class Plain:
    name = "plain"

    def __init__(self) -> None:
        self._pool: Any = None

    def case(self, scenario: str) -> Case:
        d = payload()
        if scenario.startswith("S1"):
            n = int(scenario.split("=")[1])
            table = {EVENT: [make_identity() for _ in range(n)]}
            return Case("call2", plain_trigger_for(table), EVENT, d)
        if scenario in ("S2", "S6"):
            table = {e: [make_identity()] for e in unrelated_events()}
            table[EVENT] = [make_identity() for _ in range(10)]
            table[NO_HOOK_EVENT] = []
            event = EVENT if scenario == "S2" else NO_HOOK_EVENT
            return Case("call2", plain_trigger_for(table), event, d)
        if scenario == "S3":
            table = {WILDCARD_EVENT: [make_identity() for _ in range(10)]}
            return Case("call2", plain_trigger_for(table), WILDCARD_EVENT, d)
        if scenario == "S4":
            atable = {EVENT: [make_async_identity() for _ in range(10)]}

            async def plain_trigger_async(event: str, d: Any = None) -> Any:
                fns = atable[event]
                for f in fns:
                    try:
                        r = await f(d)
                    except Exception:
                        continue
                    if r is not None:
                        d = r
                return d
            return Case("await2", plain_trigger_async, EVENT, d)
        if scenario == "S5":
            from concurrent.futures import ThreadPoolExecutor
            if self._pool is None:
                self._pool = ThreadPoolExecutor(thread_name_prefix="plain-bench")
            submit = self._pool.submit
            ttable = {EVENT: [make_identity() for _ in range(10)]}

            def plain_trigger_timeout(event: str, d: Any = None) -> Any:
                fns = ttable[event]
                for f in fns:
                    try:
                        r = submit(f, d).result(TIMEOUT)
                    except Exception:
                        continue
                    if r is not None:
                        d = r
                return d
            return Case("call2", plain_trigger_timeout, EVENT, d)
        raise ValueError(scenario)

    def memory(self, events: List[str], fns: List[Callable[[Any], Any]]) -> Tuple[int, int]:
        table: Dict[str, List[Callable[[Any], Any]]] = {}

        def register() -> None:
            for i, f in enumerate(fns):
                table.setdefault(events[i % len(events)], []).append(f)

        return traced_growth(register)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()


# ---------------------------------------------------------------------------
# nitro_dispatch (this repo and 1.2.0 share the API)

class Nitro:
    def __init__(self, name: str) -> None:
        import nitro_dispatch
        self.name = name
        self.mod = nitro_dispatch

    def version(self) -> str:
        v = getattr(self.mod, "__version__", None)
        if v is None:
            from importlib.metadata import version
            v = version("nitro-dispatch")
        return str(v)

    def _manager(self) -> Any:
        return self.mod.PluginManager()

    def _s2_manager(self) -> Any:
        m = self._manager()
        for e in unrelated_events():
            m.register_hook(e, make_identity(), priority=50, timeout=None)
        for p in unrelated_patterns():
            m.register_hook(p, make_identity(), priority=50, timeout=None)
        for _ in range(10):
            m.register_hook(EVENT, make_identity(), priority=50, timeout=None)
        return m

    def case(self, scenario: str) -> Case:
        d = payload()
        if scenario.startswith("S1"):
            n = int(scenario.split("=")[1])
            m = self._manager()
            for _ in range(n):
                m.register_hook(EVENT, make_identity(), priority=50, timeout=None)
            return Case("call2", m.trigger, EVENT, d)
        if scenario in ("S2", "S6"):
            m = self._s2_manager()
            event = EVENT if scenario == "S2" else NO_HOOK_EVENT
            return Case("call2", m.trigger, event, d)
        if scenario == "S3":
            m = self._manager()
            for _ in range(5):
                m.register_hook(WILDCARD_EVENT, make_identity(), priority=50, timeout=None)
            for _ in range(5):
                m.register_hook("user.*", make_identity(), priority=50, timeout=None)
            return Case("call2", m.trigger, WILDCARD_EVENT, d)
        if scenario == "S4":
            m = self._manager()
            for _ in range(10):
                m.register_hook(EVENT, make_async_identity(), priority=50, timeout=None)
            return Case("await2", m.trigger_async, EVENT, d)
        if scenario == "S5":
            m = self._manager()
            for _ in range(10):
                m.register_hook(EVENT, make_identity(), priority=50, timeout=TIMEOUT)
            return Case("call2", m.trigger, EVENT, d)
        raise ValueError(scenario)

    def memory(self, events: List[str], fns: List[Callable[[Any], Any]]) -> Tuple[int, int]:
        m = self._manager()
        d = payload()

        def register() -> None:
            for i, f in enumerate(fns):
                m.register_hook(events[i % len(events)], f, priority=50, timeout=None)

        def trigger(_: Any) -> None:
            for e in events:
                m.trigger(e, d)

        return traced_growth(register, trigger)

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------------
# pluggy: one hookspec per event, one plugin object per hook implementation

class Pluggy:
    name = "pluggy"
    note = PLUGGY_NOTE

    def __init__(self) -> None:
        import pluggy
        self.mod = pluggy
        self.spec = pluggy.HookspecMarker("bench")
        self.impl = pluggy.HookimplMarker("bench")
        self._count = 0

    def version(self) -> str:
        return str(self.mod.__version__)

    def _specs(self, names: List[str]) -> types.ModuleType:
        specs = types.ModuleType("bench_specs")
        for name in names:
            def spec(data: Any) -> Any:
                """A hook taking the payload."""
            setattr(specs, name, self.spec(spec))
        return specs

    def _plugin(self, impls: Dict[str, Callable[[Any], Any]]) -> types.ModuleType:
        self._count += 1
        plugin = types.ModuleType("bench_plugin_%d" % self._count)
        for name, fn in impls.items():
            setattr(plugin, name, self.impl(fn))
        return plugin

    def _manager(self, names: List[str]) -> Any:
        pm = self.mod.PluginManager("bench")
        pm.add_hookspecs(self._specs(names))
        return pm

    def case(self, scenario: str) -> Case:
        d = payload()
        if scenario.startswith("S1"):
            n = int(scenario.split("=")[1])
            pm = self._manager(["bench_event"])
            for _ in range(n):
                pm.register(self._plugin({"bench_event": make_identity()}))
            return Case("call_kw", pm.hook.bench_event, d, note=self.note)
        if scenario in ("S2", "S6"):
            others = ["app%d_changed" % i for i in range(UNRELATED_EVENTS)]
            pm = self._manager(others + ["bench_event", "bench_nothing"])
            for name in others:
                pm.register(self._plugin({name: make_identity()}))
            for _ in range(10):
                pm.register(self._plugin({"bench_event": make_identity()}))
            hook = pm.hook.bench_event if scenario == "S2" else pm.hook.bench_nothing
            return Case("call_kw", hook, d,
                        note=self.note + "; no wildcards, so no patterns registered")
        if scenario == "S3":
            raise NotApplicable("no wildcards")
        if scenario == "S4":
            raise NotApplicable("no async")
        if scenario == "S5":
            raise NotApplicable("no timeouts")
        raise ValueError(scenario)

    def memory(self, events: List[str], fns: List[Callable[[Any], Any]]) -> Tuple[int, int]:
        names = [e.replace(".", "_") for e in events]
        per_event = len(fns) // len(events)
        impls: List[Dict[str, Callable[[Any], Any]]] = [{} for _ in range(per_event)]
        for i, f in enumerate(fns):
            impls[i // len(events)][names[i % len(events)]] = f
        # The plugin objects and spec functions exist before measuring; the
        # hook callers (pluggy's per-event record) and implementations count.
        plugins = [self._plugin(group) for group in impls]
        specs = self._specs(names)
        pm = self.mod.PluginManager("bench")
        d = payload()

        def register() -> None:
            pm.add_hookspecs(specs)
            for plugin in plugins:
                pm.register(plugin)

        def trigger(_: Any) -> None:
            for name in names:
                getattr(pm.hook, name)(data=d)

        return traced_growth(register, trigger)

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------------
# blinker: one Signal per event, hooks connected as receivers

class Blinker:
    name = "blinker"
    note = BLINKER_NOTE

    def __init__(self) -> None:
        import blinker
        self.mod = blinker

    def version(self) -> str:
        from importlib.metadata import version
        return version("blinker")

    def case(self, scenario: str) -> Case:
        d = payload()
        if scenario.startswith("S1"):
            n = int(scenario.split("=")[1])
            sig = self.mod.Signal(EVENT)
            keep = [make_identity() for _ in range(n)]
            for f in keep:
                sig.connect(f)
            sig._bench_keep = keep  # receivers are weakly referenced by default
            return Case("call1", sig.send, d, note=self.note)
        if scenario in ("S2", "S6"):
            ns = self.mod.Namespace()
            keep = []
            for e in unrelated_events():
                f = make_identity()
                keep.append(f)
                ns.signal(e).connect(f)
            for _ in range(10):
                f = make_identity()
                keep.append(f)
                ns.signal(EVENT).connect(f)
            sig = ns.signal(EVENT if scenario == "S2" else NO_HOOK_EVENT)
            sig._bench_keep = keep
            return Case("call1", sig.send, d,
                        note=self.note + "; no wildcards, so no patterns registered")
        if scenario == "S4":
            sig = self.mod.Signal(EVENT)
            keep = [make_async_identity() for _ in range(10)]
            for f in keep:
                sig.connect(f)
            sig._bench_keep = keep
            return Case("await1", sig.send_async, d, note=self.note)
        if scenario == "S3":
            raise NotApplicable("no wildcards")
        if scenario == "S5":
            raise NotApplicable("no timeouts")
        raise ValueError(scenario)

    def memory(self, events: List[str], fns: List[Callable[[Any], Any]]) -> Tuple[int, int]:
        d = payload()

        def register() -> Any:
            ns = self.mod.Namespace()
            for i, f in enumerate(fns):
                ns.signal(events[i % len(events)]).connect(f)
            self._keep = ns  # receivers are weakly referenced: keep them alive
            return ns

        def trigger(ns: Any) -> None:
            for e in events:
                ns.signal(e).send(d)

        return traced_growth(register, trigger)

    def close(self) -> None:
        pass


def load_framework(key: str) -> Any:
    if key in ("ours", "nd120"):
        fw = Nitro(key)
        where = os.path.realpath(fw.mod.__file__)
        repo = os.path.realpath(os.environ["BENCH_REPO_ROOT"])
        from_repo = where == os.path.join(repo, "nitro_dispatch", "__init__.py")
        if from_repo != (key == "ours"):
            raise SystemExit("%s: imported nitro_dispatch from the wrong place: %s" % (key, where))
        return fw
    if key == "pluggy":
        return Pluggy()
    if key == "blinker":
        return Blinker()
    raise SystemExit("unknown framework %r" % key)


# ---------------------------------------------------------------------------
# commands

def run_dispatch(args: argparse.Namespace) -> Dict[str, Any]:
    fw = load_framework(args.framework)
    plain = Plain()
    target_ns = int(args.target_ms * 1e6)
    wanted = [s for s in SCENARIOS if s.split()[0] in args.only]
    result: Dict[str, Any] = {
        "framework": args.framework,
        "version": fw.version(),
        "module_file": getattr(fw.mod, "__file__", None),
        "python": sys.version.split()[0],
        "scenarios": {},
    }
    pairs: Dict[str, Tuple[Case, Case, int, int]] = {}
    for scenario in wanted:
        try:
            case = fw.case(scenario)
        except NotApplicable as exc:
            result["scenarios"][scenario] = {"na": str(exc)}
            continue
        base = plain.case(scenario)
        # Calibration doubles as warm-up (caches built, code paths hot).
        pairs[scenario] = (base, case, calibrate(base, target_ns), calibrate(case, target_ns))
        print("  %s %s: calibrated" % (args.framework, scenario), file=sys.stderr)

    samples = alternate_rounds(pairs, args.rounds)
    for scenario, s in samples.items():
        entry: Dict[str, Any] = {
            "plain_ns": statistics.median(s["plain"]),
            "ns": statistics.median(s["fw"]),
            "ratio": statistics.median(s["ratio"]),
            "ratio_min": min(s["ratio"]),
            "ratio_max": max(s["ratio"]),
            "rounds": len(s["ratio"]),
        }
        if pairs[scenario][1].note:
            entry["note"] = pairs[scenario][1].note
        result["scenarios"][scenario] = entry

    if "M" in args.only:
        result["memory"] = run_memory(fw, plain, args.rounds)
    plain.close()
    fw.close()
    return result


def run_memory(fw: Any, plain: Plain, rounds: int) -> Dict[str, Any]:
    events = ["mem%d.evt" % i for i in range(MEM_EVENTS)]
    out: Dict[str, Any] = {}
    for who, obj in (("plain", plain), ("fw", fw)):
        reg: List[float] = []
        trig: List[float] = []
        for _ in range(max(1, min(rounds, 3))):
            fns = [make_identity() for _ in range(MEM_HOOKS)]
            gc.collect()
            registered, triggered = obj.memory(events, fns)
            reg.append(registered / MEM_HOOKS)
            trig.append(triggered / MEM_HOOKS)
        out[who] = {"registered": statistics.median(reg), "after_trigger": statistics.median(trig)}
    return out


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("dispatch")
    p.add_argument("--framework", required=True)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--target-ms", type=float, default=100.0)
    p.add_argument("--only", default="S1,S2,S3,S4,S5,S6,M")
    p.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    args.only = set(args.only.split(","))
    result = run_dispatch(args)
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
