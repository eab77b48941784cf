"""Benchmark child for scenario R: the metadata checks of SPEC section 10.

``run.py`` starts it as ``python _checks.py GROUP HOST ROUNDS OUT_FILE``
with a fake site directory (K distributions, every tenth a plugin
distribution with ``Requires-Dist`` entries) on ``PYTHONPATH`` and a warm
listing cache.  In one process, round by round, it times a warm listing
(``list_installed_plugins``) and the same listing with the requirement
checks on (what ``discover_installed_plugins`` does before registering:
``list_with_index`` with the distribution index, then
``check_distributions`` with a host), after one untimed call of each (the
checks import ``packaging`` once per process, as loading any plugin does).
It also times a whole ``discover_installed_plugins()`` for information.
"""

import sys
from time import perf_counter_ns


def main() -> int:
    group, host, rounds, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    from nitro_dispatch import PluginManager, list_installed_plugins
    from nitro_dispatch._distributions import list_with_index
    from nitro_dispatch._requirements import check_distributions

    def listing() -> int:
        return len(list_installed_plugins(group))

    def checked() -> int:
        index: list = []
        found = list_with_index(group, None, index)
        reports = check_distributions(found, index, host)
        return len(found) + sum(len(r.unmet) + len(r.incompatible) for r in reports.values())

    def discover() -> int:
        return len(PluginManager(entry_point_group=group, host=host).discover_installed_plugins())

    samples = {"listing": [], "checked": [], "discover": []}
    problems = checked() - listing()  # warm-up; unmet requirements found (expected: 0)
    discover()
    for _ in range(rounds):
        for name, func in (("listing", listing), ("checked", checked), ("discover", discover)):
            t0 = perf_counter_ns()
            func()
            samples[name].append((perf_counter_ns() - t0) / 1e6)
    import json
    with open(out, "w", encoding="utf-8") as fh:
        json.dump({"samples_ms": samples, "unmet": problems}, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
