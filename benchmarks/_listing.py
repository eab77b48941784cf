"""Benchmark child for scenario E: time one listing of installed plugins.

``run.py`` starts it in a fresh process as
``python _listing.py ours|importlib GROUP OUT_FILE``. Nothing but what the
listing needs is imported before the timed call: ``importlib.metadata`` on
both sides (the scan is compared, not the import of the module doing it) and
``nitro_dispatch`` for ours. Whatever else the call imports lazily is part
of its cost. The result is written as JSON after the clock has stopped.
"""

import importlib.metadata
import sys
from time import perf_counter_ns


def main() -> int:
    impl, group, out = sys.argv[1:4]
    if impl == "ours":
        from nitro_dispatch import list_installed_plugins
        t0 = perf_counter_ns()
        found = list_installed_plugins(group=group)
        elapsed = perf_counter_ns() - t0
        rows = [[p.name, p.dist_name, p.dist_version] for p in found]
    else:
        t0 = perf_counter_ns()
        eps = importlib.metadata.entry_points()
        if hasattr(eps, "select"):
            eps = eps.select(group=group)
        else:  # Python 3.9: a dict of group -> entry points
            eps = eps.get(group, [])
        elapsed = perf_counter_ns() - t0
        rows = [[ep.name, None, None] for ep in eps]
    import json
    with open(out, "w", encoding="utf-8") as fh:
        json.dump({"ns": elapsed, "plugins": rows}, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
