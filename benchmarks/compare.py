"""Put the figures of this repository from several ``run.py`` results side
by side, as the markdown table docs/performance.rst shows (in reStructuredText) for
Python 3.9 / 3.11 / 3.13.

Usage::

    python benchmarks/run.py --python python3.9 --json /tmp/b39.json
    python benchmarks/run.py --json /tmp/b311.json --markdown /tmp/b311.md
    python benchmarks/run.py --python python3.13 --json /tmp/b313.json
    python benchmarks/compare.py /tmp/b39.json /tmp/b311.json /tmp/b313.json

Each column is one run (headed by its Python version); each cell is the
ratio (or ms, bytes) of ``nitro_dispatch (repo)`` that run printed.  A
scenario a run did not measure shows ``-``.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Callable, Dict, List, Optional

TARGETS = {
    "S1 N=1": "2.5x", "S1 N=10": "1.3x", "S1 N=100": "1.15x", "S2": "1.3x", "S3": "1.3x",
    "S4": "1.5x", "S5": "1.5x", "S6": "2x", "I": "8 ms", "M": "400 B",
    "E K=50 (first / repeated)": "1x / -", "E K=200": "1x / -", "E K=1,000": "1x / 0.25x",
    "C1": "1.3x", "C2 (change 10,000/100 / worst sweep)": "1.5x / 1.5x", "C3": "3x",
    "C4": "1.2x", "C5 K=100": "1x", "C5 K=1,000": "1x", "C6 300": "1.3x", "C6 1,000": "1.3x",
}


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def cells(run: Dict[str, Any]) -> Dict[str, str]:
    """Scenario label -> this repository's figure in one run."""
    out: Dict[str, str] = {}
    for scenario, entry in (_get(run, "dispatch", "ours", "scenarios") or {}).items():
        if "ratio" in entry:
            out[scenario] = "%.2fx" % entry["ratio"]
    ms = _get(run, "import", "ours", "ms")
    if ms is not None:
        out["I"] = "%.1f ms" % ms
    mem = _get(run, "dispatch", "ours", "memory", "fw", "registered")
    if mem is not None:
        out["M"] = "%d B" % round(mem)
    for k, label in (("50", "E K=50 (first / repeated)"), ("200", "E K=200"),
                     ("1000", "E K=1,000")):
        e = _get(run, "listing", k)
        if e and "first_ratio" in e:
            out[label] = "%.2fx / %.2fx" % (e["first_ratio"], e["repeated_ratio"])
    scale = run.get("scale", {})
    picks: Dict[str, Callable[[Dict[str, Any]], Optional[str]]] = {
        "C1": lambda s: "%.2fx" % s["C1"]["results"]["ours"]["ratio"],
        "C2 (change 10,000/100 / worst sweep)": lambda s: "%.2fx / %.2fx" % (
            s["C2"]["results"]["ours"]["10000"]["change_ns"]
            / s["C2"]["results"]["ours"]["100"]["change_ns"],
            max(v["sweep_ratio"] for v in s["C2"]["results"]["ours"].values())),
        "C3": lambda s: "%.2fx" % s["C3"]["results"]["ratio"],
        "C4": lambda s: "%.2fx" % s["C4"]["results"]["ratio"],
        "C5 K=100": lambda s: "%.2fx" % s["C5"]["results"]["100"]["ours"]["ratio"],
        "C5 K=1,000": lambda s: "%.2fx" % s["C5"]["results"]["1000"]["ours"]["ratio"],
        "C6 300": lambda s: "%.2fx" % s["C6"]["results"]["300"]["ratio"],
        "C6 1,000": lambda s: "%.2fx" % s["C6"]["results"]["1000"]["ratio"],
    }
    for label, pick in picks.items():
        try:
            value = pick(scale)
        except (KeyError, TypeError):
            continue
        if value is not None:
            out[label] = value
    return out


def table(runs: List[Dict[str, Any]]) -> str:
    columns = [cells(run) for run in runs]
    heads = ["Python %s" % _get(run, "meta", "python") for run in runs]
    lines = ["| scenario | target (at most) | " + " | ".join(heads) + " |",
             "|---|---|" + "---|" * len(runs)]
    for label, target in TARGETS.items():
        if any(label in c for c in columns):
            figures = " | ".join(c.get(label, "-") for c in columns)
            lines.append("| %s | %s | %s |" % (label, target, figures))
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    runs = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            runs.append(json.load(fh))
    print(table(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
