"""Worker for scenario C7 (PERFORMANCE.md, stage two): declared ``collect``
and ``first`` events with 10 sync hooks, against a hand-written loop doing
the same, in one process, round by round (median ratio).

``collect``: 10 identity hooks; the result is the list of their 10 results.
``first``: 9 hooks return ``None`` and the 10th answers, so every hook runs
(the worst case; an earlier answer only shortens both loops alike).

Run by ``benchmarks/run.py`` (``--only C7``) with this repository's
package; alone: ``python benchmarks/_modes.py --out /tmp/c7.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from typing import Any, Callable, List

from _worker import Case, alternate_rounds, calibrate, make_identity, payload

EVENT = "bench.modes"
HOOKS = 10
SCENARIOS = ["C7 collect", "C7 first"]


def make_none() -> Callable[[Any], Any]:
    def hook(data: Any) -> Any:
        return None
    return hook


def hooks_for(scenario: str) -> List[Callable[[Any], Any]]:
    if scenario == "C7 collect":
        return [make_identity() for _ in range(HOOKS)]
    return [make_none() for _ in range(HOOKS - 1)] + [make_identity()]


def plain_case(scenario: str) -> Case:
    table = {EVENT: hooks_for(scenario)}
    if scenario == "C7 collect":
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


def ours_case(scenario: str) -> Case:
    from nitro_dispatch import PluginManager

    manager = PluginManager()
    manager.declare_event(EVENT, mode=scenario.split()[1])
    for fn in hooks_for(scenario):
        manager.register_hook(EVENT, fn)
    case = Case("call2", manager.trigger, EVENT, payload())
    expected = HOOKS if scenario == "C7 collect" else None
    result = manager.trigger(EVENT, payload())
    if (len(result) if expected else result) != (expected or payload()):
        raise SystemExit("C7: unexpected result %r" % (result,))
    return case


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--target-ms", type=float, default=100.0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    target_ns = int(args.target_ms * 1e6)
    pairs = {}
    for scenario in SCENARIOS:
        base, case = plain_case(scenario), ours_case(scenario)
        pairs[scenario] = (base, case, calibrate(base, target_ns), calibrate(case, target_ns))
    samples = alternate_rounds(pairs, args.rounds)
    result = {s: {"plain_ns": statistics.median(v["plain"]), "ns": statistics.median(v["fw"]),
                  "ratio": statistics.median(v["ratio"]), "ratio_min": min(v["ratio"]),
                  "ratio_max": max(v["ratio"]), "rounds": len(v["ratio"])}
              for s, v in samples.items()}
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    for scenario, entry in result.items():
        print("%s: %.0f ns vs plain %.0f ns (%.2fx)" % (scenario, entry["ns"], entry["plain_ns"],
                                                        entry["ratio"]), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
