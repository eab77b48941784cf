"""Benchmark nitro_dispatch against plain Python, nitro-dispatch 1.2.0, pluggy and blinker.

Usage (from anywhere)::

    python benchmarks/run.py                  # full run, two to five minutes
    python benchmarks/run.py --quick          # smoke run, under a minute
    python benchmarks/run.py --only S1,S2,I --rounds 9 --json /tmp/bench.json

Every scenario of PERFORMANCE.md is measured: S1-S6 (dispatch), I (import
time), E (listing installed plugins), M (memory per hook), R (the metadata
checks of SPEC section 10 on top of a warm listing), C1-C6 (scale, in
``_scale.py``) and C7, C9, C10 (declared events, in ``_modes.py``). Each
framework's dispatch figures are taken in a subprocess of their own together
with the hand-written "plain" loop, round by round, and the median ratio to
that plain figure is reported, so a noisy machine blurs both sides alike.

nitro-dispatch 1.2.0 shares the import name ``nitro_dispatch`` with this
repository, so the competitors live in a virtual environment under
``benchmarks/.venvs/`` that this script creates on first use (PyPI access
needed once). The repository's own package runs in a second, lean virtual
environment that holds only its runtime dependencies, with the repository
root on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _scale  # noqa: E402  (the scale scenarios C1-C6, beside this file)

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
WORKER = os.path.join(BENCH_DIR, "_worker.py")
LISTING = os.path.join(BENCH_DIR, "_listing.py")
CHECKS = os.path.join(BENCH_DIR, "_checks.py")
VENVS_DIR = os.path.join(BENCH_DIR, ".venvs")
GROUP = "nitro_dispatch.plugins"

# Pinned to the versions PERFORMANCE.md quotes, so figures stay comparable.
COMPETITOR_REQUIREMENTS = ["nitro-dispatch==1.2.0", "pluggy==1.6.0", "blinker==1.9.0"]
# The runtime dependencies of this repository (see pyproject.toml).
OURS_REQUIREMENTS = ["packaging>=22", "importlib-metadata>=4.6; python_version < '3.10'"]

# key -> (label, venv, module imported for scenario I)
FRAMEWORKS: Dict[str, Tuple[str, str, str]] = {
    "ours": ("nitro_dispatch (repo)", "ours", "nitro_dispatch"),
    "nd120": ("nitro-dispatch 1.2.0", "competitors", "nitro_dispatch"),
    "pluggy": ("pluggy", "competitors", "pluggy"),
    "blinker": ("blinker", "competitors", "blinker"),
}

DISPATCH_SCENARIOS = ["S1 N=1", "S1 N=10", "S1 N=100", "S2", "S3", "S4", "S5", "S6"]
MODES_IDS = ["C7", "C9", "C10"]  # declared events, in _modes.py
ALL_IDS = ["S1", "S2", "S3", "S4", "S5", "S6", "I", "E", "M"] + MODES_IDS + ["R"] \
    + list(_scale.SCENARIOS)
R_SIZE, R_HOST, R_TARGET = 1000, "bench-dist-0003", 1.1  # checks on: <= 1.1x a warm listing
E_SIZES = [50, 200, 1000]

# Targets from PERFORMANCE.md: ratio to plain for S1-S6.
RATIO_TARGETS = {
    "S1 N=1": 2.5, "S1 N=10": 1.3, "S1 N=100": 1.15, "S2": 1.3, "S3": 1.3,
    "S4": 1.5, "S5": 1.5, "S6": 2.0,
}
IMPORT_TARGET_MS = 8.0
MEMORY_TARGET_BYTES = 400.0
E_FIRST_TARGET = 1.0      # first listing / importlib.metadata scan, every K
E_REPEAT_TARGET = 0.25    # repeated listing / importlib.metadata scan, K = 1,000

SCENARIO_TEXT = {
    "S1 N=1": "one event, 1 sync hook",
    "S1 N=10": "one event, 10 sync hooks",
    "S1 N=100": "one event, 100 sync hooks",
    "S2": "10 hooks; 1,000 other events + 100 patterns registered",
    "S3": "5 exact + 5 user.* hooks on user.login",
    "S4": "trigger_async, 10 async def hooks",
    "S5": "10 sync hooks with timeout=1.0 (plain: shared pool)",
    "S6": "event without hooks, in the S2 registry",
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# virtual environments

def venv_python(venv: str) -> str:
    if os.name == "nt":
        return os.path.join(venv, "Scripts", "python.exe")
    return os.path.join(venv, "bin", "python")


def python_tag(python: str) -> str:
    out = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        check=True, capture_output=True, text=True)
    return out.stdout.strip()


def ensure_venv(kind: str, base_python: str) -> str:
    """Return the python of ``.venvs/KIND-pyX.Y``, creating it on first use."""
    reqs = COMPETITOR_REQUIREMENTS if kind == "competitors" else OURS_REQUIREMENTS
    path = os.path.join(VENVS_DIR, "%s-py%s" % (kind, python_tag(base_python)))
    python = venv_python(path)
    stamp = os.path.join(path, "bench-requirements.txt")
    wanted = "\n".join(reqs) + "\n"
    if os.path.exists(python) and os.path.exists(stamp):
        with open(stamp, encoding="utf-8") as fh:
            if fh.read() == wanted:
                return python
    log("creating %s (%s) ..." % (os.path.relpath(path, REPO_ROOT), ", ".join(reqs)))
    steps = [
        [base_python, "-m", "venv", "--clear", path],
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"] + reqs,
    ]
    for cmd in steps:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit("benchmarks: %s failed:\n%s%s" % (
                " ".join(cmd[:4]), proc.stdout[-2000:], proc.stderr[-2000:]))
    with open(stamp, "w", encoding="utf-8") as fh:
        fh.write(wanted)
    return python


def framework_version(key: str, python: str) -> str:
    if key == "ours":
        code = "import nitro_dispatch as m; print(getattr(m, '__version__', '?'))"
    else:
        dist = {"nd120": "nitro-dispatch"}.get(key, key)
        code = "from importlib.metadata import version; print(version(%r))" % dist
    proc = subprocess.run([python, "-c", code], env=child_env(key), cwd=BENCH_DIR,
                          capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else "?"


def child_env(framework: Optional[str], extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Environment for a child: the repo on the path only for our package."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONDONTWRITEBYTECODE")
           and not k.startswith("NITRO_DISPATCH")}
    env["BENCH_REPO_ROOT"] = REPO_ROOT
    if framework == "ours":
        env["PYTHONPATH"] = REPO_ROOT
    if extra:
        env.update(extra)
    return env


# ---------------------------------------------------------------------------
# S1-S6 and M: one worker process per framework

def run_dispatch(key: str, python: str, ids: Sequence[str], rounds: int,
                 target_ms: float, workdir: str) -> Dict[str, Any]:
    out = os.path.join(workdir, "dispatch-%s.json" % key)
    cmd = [python, WORKER, "dispatch", "--framework", key, "--rounds", str(rounds),
           "--target-ms", str(target_ms), "--only", ",".join(ids), "--out", out]
    log("measuring %s (S1-S6, M) ..." % FRAMEWORKS[key][0])
    proc = subprocess.run(cmd, env=child_env(key), cwd=workdir, capture_output=True,
                          text=True, timeout=3600)
    if proc.returncode != 0:
        return {"error": last_line(proc.stderr) or "exit status %d" % proc.returncode,
                "stderr": proc.stderr[-4000:]}
    with open(out, encoding="utf-8") as fh:
        return json.load(fh)  # type: ignore[no-any-return]


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


# ---------------------------------------------------------------------------
# I: cumulative import time in fresh processes

def parse_importtime(stderr: str, module: str) -> Tuple[Optional[float], List[List[Any]]]:
    """Cumulative microseconds of ``module`` from ``-X importtime`` output,
    and its direct imports as ``[name, cumulative us]``, largest first."""
    children: List[List[Any]] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:"):].split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip())) // 2
        if depth == 0:
            if name.strip() == module:
                children.sort(key=lambda c: -c[1])
                return float(parts[1]), children
            children = []
        elif depth == 1:
            children.append([name.strip(), float(parts[1])])
    return None, []


HEAVY_CHECK = (
    "import sys; before = set(sys.modules); import {mod}; "
    "heavy = ('asyncio', 'concurrent.futures', 'packaging', 'importlib.metadata', "
    "'importlib_metadata'); "
    "print({mod}.__file__); "
    "print(','.join(m for m in heavy if m in sys.modules and m not in before))"
)


def run_import(key: str, python: str, runs: int, workdir: str) -> Dict[str, Any]:
    module = FRAMEWORKS[key][2]
    env = child_env(key)
    probe = subprocess.run([python, "-c", HEAVY_CHECK.format(mod=module)], env=env,
                           cwd=workdir, capture_output=True, text=True)
    if probe.returncode != 0:
        return {"error": last_line(probe.stderr)}
    where, heavy = (probe.stdout.splitlines() + ["", ""])[:2]
    in_repo = os.path.realpath(where) == os.path.join(
        os.path.realpath(REPO_ROOT), "nitro_dispatch", "__init__.py")
    if module == "nitro_dispatch" and in_repo != (key == "ours"):
        return {"error": "%s imported from the wrong place: %s" % (module, where)}
    runs_out: List[Tuple[float, List[List[Any]]]] = []
    for _ in range(runs):
        proc = subprocess.run([python, "-X", "importtime", "-c", "import " + module],
                              env=env, cwd=workdir, capture_output=True, text=True)
        us, children = parse_importtime(proc.stderr, module)
        if proc.returncode != 0 or us is None:
            return {"error": last_line(proc.stderr) or "no importtime line for " + module}
        runs_out.append((us / 1000.0, children))
    samples = [ms for ms, _ in runs_out]
    median_run = sorted(runs_out, key=lambda r: r[0])[len(runs_out) // 2]
    return {"ms": statistics.median(samples), "samples_ms": samples, "module_file": where,
            "heavy_modules": [m for m in heavy.split(",") if m],
            "largest_imports_ms": [[n, us / 1000.0] for n, us in median_run[1][:6]]}


# ---------------------------------------------------------------------------
# E: listing installed plugins from a fake site directory

def write_dist(site: str, i: int, version: str, plugin: bool, scripts: bool) -> str:
    name = "bench_dist_%04d" % i
    info = os.path.join(site, "%s-%s.dist-info" % (name, version))
    os.makedirs(info)
    files = {
        "METADATA": "Metadata-Version: 2.1\nName: bench-dist-%04d\nVersion: %s\n"
                    "Summary: benchmark distribution %d\n" % (i, version, i)
                    + (R_REQUIRES if plugin else ""),
        "WHEEL": "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        "INSTALLER": "pip\n",
        "top_level.txt": name + "\n",
        "RECORD": "%s/__init__.py,,\n%s-%s.dist-info/METADATA,,\n" % (name, name, version),
    }
    eps = ""
    if plugin:
        eps += "[%s]\nbench_plugin_%04d = %s.plugin:Plugin\n\n" % (GROUP, i, name)
    if scripts:
        eps += "[console_scripts]\nbench-tool-%04d = %s.cli:main\n\n" % (i, name)
    if eps:
        files["entry_points.txt"] = eps
    for fname, text in files.items():
        with open(os.path.join(info, fname), "w", encoding="utf-8") as fh:
            fh.write(text)
    return info


# What a plugin distribution requires (scenario R checks it; all are met).
R_REQUIRES = ("Requires-Dist: nitro-dispatch>=1.0\nRequires-Dist: %s>=1.0,<2\n"
              "Requires-Dist: bench-dist-0001>=1.0\n"
              "Requires-Dist: bench-dist-0002; python_version >= '3'\n"
              "Requires-Dist: bench-dist-0004[extra]>=1\n" % R_HOST)


def build_site(site: str, k: int) -> None:
    """K distributions; every tenth advertises a plugin, a fifth a console script."""
    os.makedirs(site)
    for i in range(k):
        write_dist(site, i, "1.0.0", plugin=i % 10 == 0, scripts=i % 5 == 1)
    backdate(site, 3600)


def backdate(top: str, seconds: float) -> None:
    """Set the mtime of ``top`` and everything in it to ``seconds`` ago.

    A site directory is normally installed long before it is listed; our
    cache rightly refuses to trust timestamps only a moment old (they may
    still change within the same tick), so a freshly built fake site would
    never be cached without this.
    """
    when = time.time() - seconds
    for dirpath, _dirs, files in os.walk(top, topdown=False):
        for name in files:
            os.utime(os.path.join(dirpath, name), (when, when))
        os.utime(dirpath, (when, when))


def run_listing(python: str, impl: str, site: str, cache: str, workdir: str) -> Dict[str, Any]:
    out = os.path.join(workdir, "listing.json")
    env = child_env("ours", {
        "PYTHONPATH": site + os.pathsep + REPO_ROOT,
        "NITRO_DISPATCH_CACHE_DIR": cache,
    })
    cmd = [python, LISTING, impl, GROUP, out]
    proc = subprocess.run(cmd, env=env, cwd=workdir, capture_output=True, text=True,
                          timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(last_line(proc.stderr) or "exit status %d" % proc.returncode)
    with open(out, encoding="utf-8") as fh:
        return json.load(fh)  # type: ignore[no-any-return]


def plugin_names(rows: List[List[Any]]) -> List[str]:
    return sorted(row[0] for row in rows if row[0].startswith("bench_"))


def run_listing_k(python: str, k: int, rounds: int, workdir: str) -> Dict[str, Any]:
    site = os.path.join(workdir, "site-%d" % k)
    build_site(site, k)
    warm = os.path.join(workdir, "cache-%d-warm" % k)
    ms = {"importlib": [], "first": [], "repeated": []}  # type: Dict[str, List[float]]
    base = run_listing(python, "importlib", site, warm, workdir)
    expected = plugin_names(base["plugins"])
    ours = run_listing(python, "ours", site, warm, workdir)  # fills the warm cache
    agrees = plugin_names(ours["plugins"]) == expected
    for r in range(rounds):
        ms["importlib"].append(run_listing(python, "importlib", site, warm, workdir)["ns"] / 1e6)
        fresh = os.path.join(workdir, "cache-%d-%d" % (k, r))
        ms["first"].append(run_listing(python, "ours", site, fresh, workdir)["ns"] / 1e6)
        ms["repeated"].append(run_listing(python, "ours", site, warm, workdir)["ns"] / 1e6)
    result: Dict[str, Any] = {k2: statistics.median(v) for k2, v in ms.items()}
    result["samples_ms"] = ms
    result["first_ratio"] = result["first"] / result["importlib"]
    result["repeated_ratio"] = result["repeated"] / result["importlib"]
    result["agrees"] = agrees
    result["plugins"] = len(expected)

    # Changes must be seen at once (the very next listing, with the warm
    # cache), and again once their timestamps are no longer fresh, which
    # exercises the cache's own validation rather than its racy-window rule.
    checks: Dict[str, bool] = {}
    changes = [
        ("install", lambda: write_dist(site, 9000, "2.0.0", plugin=True, scripts=False),
         lambda rows: "bench_plugin_9000" in plugin_names(rows)),
        ("upgrade", lambda: upgrade(site, 0, "1.0.0", "1.1.0"),
         lambda rows: {r[0]: r[2] for r in rows}.get("bench_plugin_0000") == "1.1.0"),
        ("uninstall", lambda: shutil.rmtree(
            os.path.join(site, "bench_dist_0010-1.0.0.dist-info")),
         lambda rows: "bench_plugin_0010" not in plugin_names(rows)),
    ]
    for step, (name, change, seen) in enumerate(changes):
        change()
        ok = seen(run_listing(python, "ours", site, warm, workdir)["plugins"])
        backdate(site, 3000 - 100 * step)
        ok = ok and seen(run_listing(python, "ours", site, warm, workdir)["plugins"])
        checks[name] = ok
    result["changes_seen"] = checks
    return result


def upgrade(site: str, i: int, old: str, new: str) -> None:
    """What pip does: the old metadata folder goes, a new one comes."""
    name = "bench_dist_%04d" % i
    shutil.rmtree(os.path.join(site, "%s-%s.dist-info" % (name, old)))
    write_dist(site, i, new, plugin=i % 10 == 0, scripts=i % 5 == 1)


def run_listings(python: str, rounds: int, workdir: str) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for k in E_SIZES:
        log("measuring E (K=%d) ..." % k)
        try:
            out[str(k)] = run_listing_k(python, k, rounds, workdir)
        except RuntimeError as exc:
            out[str(k)] = {"error": str(exc)}
    return out


# ---------------------------------------------------------------------------
# R: the metadata checks of SPEC section 10 on top of a warm listing

def run_checks(python: str, rounds: int, workdir: str) -> Dict[str, Any]:
    log("measuring R (K=%d) ..." % R_SIZE)
    site = os.path.join(workdir, "site-r")
    build_site(site, R_SIZE)
    cache = os.path.join(workdir, "cache-r")
    run_listing(python, "ours", site, cache, workdir)  # fills the cache
    out = os.path.join(workdir, "checks.json")
    env = child_env("ours", {"PYTHONPATH": site + os.pathsep + REPO_ROOT,
                             "NITRO_DISPATCH_CACHE_DIR": cache})
    proc = subprocess.run([python, CHECKS, GROUP, R_HOST, str(max(rounds, 5) * 3), out],
                          env=env, cwd=workdir, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        return {"error": last_line(proc.stderr) or "exit status %d" % proc.returncode}
    with open(out, encoding="utf-8") as fh:
        data: Dict[str, Any] = json.load(fh)
    for name, values in data["samples_ms"].items():
        data[name] = statistics.median(values)
    data["ratio"] = data["checked"] / data["listing"]
    # Best of the rounds too: on a shared machine the median can be noise.
    data["best_ratio"] = min(data["samples_ms"]["checked"]) / min(data["samples_ms"]["listing"])
    return data


# ---------------------------------------------------------------------------
# report

def fmt_ns(ns: float) -> str:
    if ns < 10_000:
        return "%d ns" % round(ns)
    if ns < 10_000_000:
        return "%.1f us" % (ns / 1e3)
    return "%.1f ms" % (ns / 1e6)


def fmt_ratio(r: float) -> str:
    return "%.0fx" % r if r >= 100 else "%.2fx" % r


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def build_rows(results: Dict[str, Any], keys: List[str]) -> Tuple[List[List[str]], Dict[str, str]]:
    rows: List[List[str]] = []
    verdicts: Dict[str, str] = {}
    dispatch = results["dispatch"]

    def cell_dispatch(key: str, scenario: str) -> str:
        fw = dispatch.get(key, {})
        if "error" in fw:
            return "error"
        entry = fw.get("scenarios", {}).get(scenario)
        if entry is None:
            return "-"
        if "na" in entry:
            return "n/a"
        return "%s %s" % (fmt_ns(entry["ns"]), fmt_ratio(entry["ratio"]))

    for scenario in DISPATCH_SCENARIOS:
        if not any(scenario in dispatch.get(k, {}).get("scenarios", {}) for k in keys):
            continue
        ours = dispatch.get("ours", {}).get("scenarios", {}).get(scenario, {})
        plain = dispatch.get("ours", {}).get("scenarios", {}).get(scenario, {}).get("plain_ns")
        if plain is None:  # ours not measured: show another process's plain
            for k in keys:
                plain = dispatch.get(k, {}).get("scenarios", {}).get(scenario, {}).get("plain_ns")
                if plain is not None:
                    break
        target = RATIO_TARGETS[scenario]
        result = "-"
        if "ratio" in ours:
            result = verdict(ours["ratio"] <= target)
            verdicts[scenario] = result
        rows.append([scenario, fmt_ns(plain) if plain else "-"]
                    + [cell_dispatch(k, scenario) for k in keys]
                    + ["<= %gx" % target, result])

    imports = results.get("import", {})
    if imports:
        cells = []
        for k in keys:
            entry = imports.get(k, {})
            cells.append("error" if "error" in entry else
                         "%.1f ms" % entry["ms"] if "ms" in entry else "-")
        result = "-"
        if "ms" in imports.get("ours", {}):
            result = verdict(imports["ours"]["ms"] <= IMPORT_TARGET_MS)
            verdicts["I"] = result
        rows.append(["I", "-"] + cells + ["<= %g ms" % IMPORT_TARGET_MS, result])

    for which, label in (("registered", "M"), ("after_trigger", "M+trig")):
        mem = {k: dispatch.get(k, {}).get("memory") for k in keys}
        if not any(mem.values()):
            continue
        plain_b = next(m["plain"][which] for m in mem.values() if m)
        cells = []
        for k in keys:
            m = mem[k]
            cells.append("%d B %s" % (round(m["fw"][which]), fmt_ratio(m["fw"][which] / plain_b))
                         if m else "-")
        result = "-"
        if mem.get("ours"):
            result = verdict(mem["ours"]["fw"][which] <= MEMORY_TARGET_BYTES)
            verdicts[label] = result
        rows.append([label, "%d B" % round(plain_b)] + cells
                    + ["<= %g B" % MEMORY_TARGET_BYTES, result])
    return rows, verdicts


def table(header: List[str], rows: List[List[str]]) -> str:
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return "\n".join(lines)


def listing_rows(listing: Dict[str, Any], verdicts: Dict[str, str]) -> List[List[str]]:
    rows = []
    for k in E_SIZES:
        e = listing.get(str(k))
        if e is None:
            continue
        if "error" in e:
            rows.append([str(k), "error: " + e["error"][:60], "", "", "", "", ""])
            continue
        first_ok = e["first_ratio"] <= E_FIRST_TARGET
        checks = e["changes_seen"]
        ok = first_ok and e["agrees"] and all(checks.values())
        result = "first %s" % verdict(first_ok)
        if k == max(E_SIZES):
            rep_ok = e["repeated_ratio"] <= E_REPEAT_TARGET
            result += ", repeated %s" % verdict(rep_ok)
            ok = ok and rep_ok
        verdicts["E K=%d" % k] = verdict(ok)
        seen = ", ".join("%s %s" % (name, "yes" if v else "NO") for name, v in checks.items())
        rows.append([
            str(k), "%.2f ms" % e["importlib"],
            "%.2f ms %s" % (e["first"], fmt_ratio(e["first_ratio"])),
            "%.2f ms %s" % (e["repeated"], fmt_ratio(e["repeated_ratio"])),
            "yes" if e["agrees"] else "NO", seen, result,
        ])
    return rows


def report(results: Dict[str, Any], keys: List[str]) -> Tuple[str, Dict[str, str]]:
    meta = results["meta"]
    out = ["nitro_dispatch benchmarks: Python %s on %s, %d rounds (median), %s" % (
        meta["python"], meta["platform"], meta["rounds"], "quick" if meta["quick"] else "full")]
    names = {"ours": "nitro_dispatch (repo)", "nd120": "nitro-dispatch (PyPI)"}
    out.append("frameworks: " + ", ".join(
        "%s %s" % (names.get(k, k), meta["versions"].get(k, "?")) for k in keys))
    out.append("")
    rows, verdicts = build_rows(results, keys)
    if rows:
        out.append("S1-S6: ns per trigger and ratio to plain from the same process; "
                   "I: cumulative import ms; M: bytes per hook (ratio to a dict of lists)")
        header = ["scenario", "plain"] + [FRAMEWORKS[k][0] for k in keys] + ["target", "ours"]
        out.append(table(header, rows))
        out.append("")
    if results.get("modes"):
        out.append(modes_report(results, keys, verdicts))
    listing = results.get("listing")
    if listing:
        out.append("E: listing installed plugins in a fresh process (the call only), K fake "
                   "distributions, 10% plugins;\n   ratios to "
                   "importlib.metadata.entry_points(group=...) in the same environment")
        header = ["K", "importlib", "ours first", "ours repeated", "agrees", "changes seen",
                  "ours (first <= 1x, repeated <= 0.25x at K=1000)"]
        out.append(table(header, listing_rows(listing, verdicts)))
        out.append("")
    checks = results.get("checks")
    if checks:
        if "error" in checks:
            out.append("R: error: %s" % checks["error"])
        else:
            ok = checks["ratio"] <= R_TARGET and checks["unmet"] == 0
            verdicts["R"] = verdict(ok)
            out.append("R: K=%d distributions, %d%% plugin distributions with 5 Requires-Dist "
                       "each, warm cache, one process: listing %.2f ms, listing + metadata "
                       "checks %.2f ms %s (best of rounds %s; target <= %.1fx) %s; a whole "
                       "discover_installed_plugins() %.2f ms"
                       % (R_SIZE, 10, checks["listing"], checks["checked"],
                          fmt_ratio(checks["ratio"]), fmt_ratio(checks["best_ratio"]),
                          R_TARGET, verdict(ok), checks["discover"]))
        out.append("")
    scale = results.get("scale")
    if scale:
        out.append("C1-C6 (scale, SPEC section 12): ratios from one process run or, for C5/C6, "
                   "medians of fresh processes")
        out.append(table(_scale.HEADER, _scale.rows_of(scale)))
        out.append("")
        verdicts.update({sid: "PASS" if v["ok"] else "MISS" for sid, v in scale.items()})
    notes = []
    for k in keys:
        fw = results["dispatch"].get(k, {})
        if "error" in fw:
            notes.append("%s failed: %s" % (FRAMEWORKS[k][0], fw["error"]))
        for err_src in ("import",):
            entry = results.get(err_src, {}).get(k, {})
            if "error" in entry:
                notes.append("%s import failed: %s" % (FRAMEWORKS[k][0], entry["error"]))
    ours_imp = results.get("import", {}).get("ours", {})
    if ours_imp.get("largest_imports_ms"):
        notes.append("import nitro_dispatch, largest direct imports (cumulative): " + ", ".join(
            "%s %.1f ms" % (n, ms) for n, ms in ours_imp["largest_imports_ms"][:4]))
    if ours_imp.get("heavy_modules"):
        notes.append("import nitro_dispatch pulls in: " + ", ".join(ours_imp["heavy_modules"]))
    measured = [k for k in keys if results["dispatch"].get(k, {}).get("scenarios")]
    if "pluggy" in measured:
        notes.append("pluggy collects a list of results (no chaining): not the same semantics; "
                     "S2/S6 for pluggy and blinker hold no wildcard patterns.")
    if "blinker" in measured:
        notes.append("blinker returns (receiver, result) pairs (no chaining).")
    if any("S5" in fw.get("scenarios", {}) for fw in results["dispatch"].values()):
        notes.append("S5 hands every hook to a worker thread: thread wake-ups dominate, "
                     "so it is the noisiest row.")
    if notes:
        out.append("notes:")
        out.extend("  - " + n for n in notes)
    return "\n".join(out), verdicts


def rst_from_markdown(text: str) -> str:
    """The markdown report with each ``| a | b |`` table written as a
    reStructuredText simple table (cells exactly as printed)."""
    out: List[str] = []
    rows: List[List[str]] = []

    def flush() -> None:
        if not rows:
            return
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        rule = " ".join("=" * w for w in widths)
        lines = [" ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        out.extend([rule, lines[0], rule] + lines[1:] + [rule])
        rows.clear()

    for line in text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= set("-:") for c in cells):
                rows.append([c or "-" for c in cells])
            continue
        flush()
        out.append(line.replace("`", "``") if line.count("`") == 2 else line)
    flush()
    return "\n".join(out) + "\n"


def markdown_report(results: Dict[str, Any], keys: List[str]) -> str:
    """The report's tables as markdown, figures exactly as printed."""
    meta = results["meta"]
    out = ["Python %s, %s, median of %d rounds (`benchmarks/run.py%s`)\n" % (
        meta["python"], meta["platform"], meta["rounds"], " --quick" if meta["quick"] else "")]
    rows, _ = build_rows(results, keys)
    if rows:
        header = ["scenario", "plain"] + [FRAMEWORKS[k][0] for k in keys] + ["target", "ours"]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        out.extend("| " + " | ".join(r) + " |" for r in rows)
        out.append("")
    if results.get("listing"):
        header = ["K", "importlib", "ours first", "ours repeated", "agrees", "changes seen",
                  "verdict"]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        out.extend("| " + " | ".join(r) + " |" for r in listing_rows(results["listing"], {}))
        out.append("")
    if results.get("scale"):
        out.append(_scale.markdown(results["scale"]))
        out.append("")
    modes = results.get("modes")
    if modes and "error" not in modes:
        peers = modes_peers(results, keys)
        header = ["declared events", "plain", "ours"] + [FRAMEWORKS[k][0] for k in peers] \
            + ["target", "verdict"]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        out.extend("| " + " | ".join(r) + " |" for r in modes_rows(modes, peers, {}, results))
        out.append("")
    checks = results.get("checks")
    if checks and "error" not in checks:
        ok = checks["ratio"] <= R_TARGET and checks["unmet"] == 0
        out.append("| R: K=%d, listing + metadata checks vs listing | listing | with checks "
                   "| ratio (best of rounds) | target | verdict |" % (R_SIZE,))
        out.append("|---|---|---|---|---|---|")
        out.append("| warm cache, one process | %.2f ms | %.2f ms | %s (%s) | <= %.1fx | %s |" % (
            checks["listing"], checks["checked"], fmt_ratio(checks["ratio"]),
            fmt_ratio(checks["best_ratio"]), R_TARGET, verdict(ok)))
        out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------------------
# C7, C9, C10: declared events (worker: _modes.py)

# Targets from PERFORMANCE.md by scenario id: ratio to the hand-written loop.
MODES_TARGETS = {"C7": 1.3, "C9": 1.3, "C10": 1.5}
MODES_TEXT = {
    "C7": "collect / first (10th answers), 10 sync hooks",
    "C9": "first, 10 sync hooks, the 1st / 5th / 10th answers",
    "C10": "1 wrapper + 10 hooks vs a generator driven by hand",
}


def run_modes(key: str, python: str, ids: Sequence[str], rounds: int, target_ms: float,
              workdir: str) -> Dict[str, Any]:
    """One ``_modes.py`` process for framework ``key`` (ours or pluggy),
    with twice ``rounds`` rounds and one: C9's 1st-hook case is a 130 ns
    trigger, where a few slow rounds on a shared machine move a median of 7
    by a tenth."""
    rounds = 2 * rounds + 1
    out = os.path.join(workdir, "modes-%s.json" % key)
    log("measuring %s for %s (declared events) ..." % (",".join(ids), FRAMEWORKS[key][0]))
    proc = subprocess.run([python, os.path.join(BENCH_DIR, "_modes.py"), "--framework", key,
                           "--only", ",".join(ids), "--rounds", str(rounds),
                           "--target-ms", str(target_ms), "--out", out],
                          env=child_env(key), cwd=workdir, capture_output=True, text=True,
                          timeout=3600)
    if proc.returncode != 0:
        return {"error": last_line(proc.stderr) or "exit status %d" % proc.returncode}
    with open(out, encoding="utf-8") as fh:
        return json.load(fh)  # type: ignore[no-any-return]


def modes_peers(results: Dict[str, Any], keys: List[str]) -> List[str]:
    """The peers measured beside ours for the declared-event scenarios."""
    return [k for k in keys if k in results.get("modes_peers", {})]


def modes_rows(modes: Dict[str, Any], peers: List[str], verdicts: Dict[str, str],
               results: Optional[Dict[str, Any]] = None) -> List[List[str]]:
    """One row per scenario: plain, ours, each peer (its ratio to the same
    hand-written loop in its own process; information, no verdict)."""
    peer_results = (results or {}).get("modes_peers", {})
    rows = []
    for scenario, e in sorted(modes.items(), key=lambda item: mode_order(item[0])):
        target = MODES_TARGETS[scenario.split()[0]]
        cells = []
        for k in peers:
            p = peer_results.get(k, {})
            entry = p.get(scenario)
            cells.append("error" if "error" in p else "-" if entry is None else
                         "n/a" if "na" in entry else
                         "%s %s" % (fmt_ns(entry["ns"]), fmt_ratio(entry["ratio"])))
        verdicts[scenario] = verdict(e["ratio"] <= target)
        rows.append([scenario, fmt_ns(e["plain_ns"]), "%s %s" % (fmt_ns(e["ns"]), fmt_ratio(
            e["ratio"]))] + cells + ["<= %gx" % target, verdicts[scenario]])
    return rows


MODES_ORDER = ["C7 collect", "C7 first", "C9 first 1st", "C9 first 5th", "C9 first 10th",
               "C10 chain", "C10 collect"]


def mode_order(scenario: str) -> Tuple[int, str]:
    return (MODES_ORDER.index(scenario) if scenario in MODES_ORDER else len(MODES_ORDER),
            scenario)


def modes_report(results: Dict[str, Any], keys: List[str], verdicts: Dict[str, str]) -> str:
    modes = results["modes"]
    if "error" in modes:
        return "C7/C9/C10 failed: %s\n" % modes["error"]
    peers = modes_peers(results, keys)
    measured = sorted({s.split()[0] for s in modes}, key=MODES_IDS.index)
    text = "; ".join("%s: %s" % (sid, MODES_TEXT[sid]) for sid in measured)
    header = ["scenario", "plain", "ours"] + [FRAMEWORKS[k][0] for k in peers] \
        + ["target", "ours"]
    out = ["Declared events against a hand-written loop doing the same, in one process "
           "(%s)" % text]
    if peers:
        out.append("(%s: its ratio to the same hand-written loop in its own process; "
                   "information only)" % ", ".join(FRAMEWORKS[k][0] for k in peers))
    for k in peers:
        if "error" in results["modes_peers"][k]:
            out.append("%s failed: %s" % (FRAMEWORKS[k][0], results["modes_peers"][k]["error"]))
    out.append(table(header, modes_rows(modes, peers, verdicts, results)))
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------
# main

def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark nitro_dispatch against plain, nitro-dispatch 1.2.0, "
                    "pluggy and blinker (scenarios of PERFORMANCE.md).")
    parser.add_argument("--quick", action="store_true",
                        help="fewer rounds and shorter measurements (smoke run, < 1 min)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds per measurement; the median is reported "
                             "(default 7, quick 3)")
    parser.add_argument("--only", default=",".join(ALL_IDS),
                        help="comma-separated scenario ids out of %s" % ",".join(ALL_IDS))
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS),
                        help="comma-separated subset of %s" % ",".join(FRAMEWORKS))
    parser.add_argument("--json", default=os.path.join(BENCH_DIR, "results.json"),
                        help="where to write the JSON results (default benchmarks/results.json)")
    parser.add_argument("--markdown", default=None,
                        help="also write the report's tables as markdown to this file "
                             "(for docs/performance.rst)")
    parser.add_argument("--rst", default=None,
                        help="also write the same tables as reStructuredText simple tables "
                             "to this file (what docs/performance.rst shows)")
    parser.add_argument("--python", default=sys.executable,
                        help="base interpreter for the virtual environments (default: this one)")
    args = parser.parse_args(argv)
    args.only = [s.strip().upper() for s in args.only.split(",") if s.strip()]
    bad = [s for s in args.only if s not in ALL_IDS]
    if bad:
        parser.error("unknown scenario %s (choose from %s)" % (", ".join(bad), ",".join(ALL_IDS)))
    args.frameworks = [s.strip() for s in args.frameworks.split(",") if s.strip()]
    bad = [s for s in args.frameworks if s not in FRAMEWORKS]
    if bad:
        parser.error("unknown framework %s (choose from %s)" % (
            ", ".join(bad), ",".join(FRAMEWORKS)))
    if args.rounds is None:
        args.rounds = 3 if args.quick else 7
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    keys: List[str] = args.frameworks
    target_ms = 15.0 if args.quick else 100.0
    dispatch_ids = [s for s in args.only if s.startswith("S") or s == "M"]
    pythons: Dict[str, str] = {}
    versions: Dict[str, str] = {}
    for key in keys:
        pythons[key] = ensure_venv(FRAMEWORKS[key][1], args.python)
        versions[key] = framework_version(key, pythons[key])

    results: Dict[str, Any] = {
        "meta": {
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "python": python_tag(args.python),
            "platform": "%s %s" % (platform.system(), platform.machine()),
            "rounds": args.rounds, "quick": args.quick, "scenarios": args.only,
            "unit_ns": "ns per trigger (S1-S6)",
            "targets": {"ratio": RATIO_TARGETS, "import_ms": IMPORT_TARGET_MS,
                        "memory_bytes_per_hook": MEMORY_TARGET_BYTES,
                        "listing_first_ratio": E_FIRST_TARGET,
                        "listing_repeated_ratio_at_1000": E_REPEAT_TARGET},
            "competitors": COMPETITOR_REQUIREMENTS, "versions": versions,
        },
        "dispatch": {},
    }
    workdir = tempfile.mkdtemp(prefix="nitro-bench-")
    try:
        if dispatch_ids:
            for key in keys:
                results["dispatch"][key] = run_dispatch(
                    key, pythons[key], dispatch_ids, args.rounds, target_ms, workdir)
        if "I" in args.only:
            log("measuring I (import time) ...")
            results["import"] = {}
            for key in keys:
                subprocess.run([pythons[key], "-c", "import " + FRAMEWORKS[key][2]],
                               env=child_env(key), cwd=workdir, capture_output=True)  # warm .pyc
                results["import"][key] = run_import(key, pythons[key],
                                                    5 if args.quick else 15, workdir)
        modes_ids = [s for s in MODES_IDS if s in args.only]
        if modes_ids and "ours" not in keys:
            log("%s skipped: they measure this repository (add 'ours')" % ",".join(modes_ids))
        elif modes_ids:
            results["modes"] = run_modes("ours", pythons["ours"], modes_ids, args.rounds,
                                         target_ms, workdir)
            peer_ids = [s for s in modes_ids if s != "C7"]  # C7: ours only
            if "pluggy" in keys and peer_ids:
                results["modes_peers"] = {"pluggy": run_modes(
                    "pluggy", pythons["pluggy"], peer_ids, args.rounds, target_ms, workdir)}
        if "E" in args.only and "ours" not in keys:
            log("E skipped: it measures this repository's list_installed_plugins (add 'ours')")
        if "E" in args.only and "ours" in keys:
            results["listing"] = run_listings(pythons["ours"], args.rounds, workdir)
        if "R" in args.only and "ours" in keys:
            results["checks"] = run_checks(pythons["ours"], args.rounds, workdir)
        scale_ids = [s for s in args.only if s in _scale.SCENARIOS]
        if scale_ids and "ours" not in keys:
            log("%s skipped: they measure this repository (add 'ours')" % ",".join(scale_ids))
        elif scale_ids:
            ctx = _scale.Context(pythons, keys, args.rounds, args.quick, workdir, child_env, log)
            results["scale"] = _scale.run_scenarios(scale_ids, ctx)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    text, verdicts = report(results, keys)
    results["verdicts"] = verdicts
    print(text)
    with open(args.json, "w", encoding="utf-8") as fh:
        json.dump(results, fh, indent=2, sort_keys=True)
        fh.write("\n")
    log("results written to %s" % args.json)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(markdown_report(results, keys))
        log("markdown tables written to %s" % args.markdown)
    if args.rst:
        with open(args.rst, "w", encoding="utf-8") as fh:
            fh.write(rst_from_markdown(markdown_report(results, keys)))
        log("reStructuredText tables written to %s" % args.rst)
    failed = [k for k in keys if "error" in results["dispatch"].get(k, {})
              or "error" in results.get("import", {}).get(k, {})]
    failed += ["E K=%s" % k for k, v in results.get("listing", {}).items() if "error" in v]
    failed += [sid for sid, v in results.get("scale", {}).items() if "error" in v]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
