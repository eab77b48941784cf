"""tox's in-tree plugin for this project (tox 4 loads ``toxfile.py`` by itself).

``python -m pip install tox && python -m tox -p auto`` is the whole test command.
It runs the suite on every CPython 3.9 to 3.13 it can find, plus flake8 and
mypy, and this plugin does two things for it:

1. It finds pyenv's interpreters.  tox discovers ``python3.X`` on ``PATH``,
   but pyenv's shims only run the versions pyenv has selected, so each
   installed version's own ``bin`` directory (``$(pyenv root)/versions/
   3.X.Y/bin``, the newest patch release of each minor version) is put on
   ``PATH`` ahead of the shims.  The pyenv root is ``$PYENV_ROOT``, else
   what ``pyenv root`` says, else ``~/.pyenv``.  Nothing changes on a
   machine without pyenv.
2. After tox's own report it prints which interpreters ran (version and
   path, passed or failed) and which were missing, so a run that skipped
   interpreters (``skip_missing_interpreters``) cannot pass for a full one.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

UNDER_TOX = "tox.run" in sys.modules  # loaded by a running tox, not by a test
try:
    from tox.plugin import impl
except ImportError:  # imported where tox is not installed (tests/test_toxfile.py)
    def impl(func: Any) -> Any:  # type: ignore[misc]
        return func

SUPPORTED = [(3, 9), (3, 10), (3, 11), (3, 12), (3, 13)]
_ENV = re.compile(r"^py3(\d+)$")
_VERSION_DIR = re.compile(r"^3\.(\d+)\.(\d+)$")  # CPython releases only: no -dev, pypy, venvs


def pyenv_root() -> Optional[Path]:
    root = os.environ.get("PYENV_ROOT")
    if not root:
        exe = shutil.which("pyenv")
        if exe:
            try:
                root = subprocess.run([exe, "root"], capture_output=True, text=True,
                                      timeout=30).stdout.strip()
            except (OSError, subprocess.SubprocessError):
                root = None
    path = Path(root) if root else Path.home() / ".pyenv"
    return path if (path / "versions").is_dir() else None


def pyenv_bin_dirs(root: Optional[Path]) -> List[str]:
    """The ``bin`` directory of the newest installed patch release of each
    supported minor version under ``root/versions``."""
    if root is None:
        return []
    newest: Dict[int, Tuple[int, Path]] = {}
    for entry in (root / "versions").iterdir():
        match = _VERSION_DIR.match(entry.name)
        if not match:
            continue
        minor, patch = int(match.group(1)), int(match.group(2))
        if (3, minor) in SUPPORTED and (entry / "bin" / ("python3.%d" % minor)).exists():
            if minor not in newest or patch > newest[minor][0]:
                newest[minor] = (patch, entry / "bin")
    return [str(newest[m][1]) for m in sorted(newest)]


def put_on_path(dirs: List[str]) -> None:
    """Insert ``dirs`` into ``PATH`` before the first pyenv shims entry (or
    at the end), skipping those already there."""
    parts = os.environ.get("PATH", "").split(os.pathsep)
    new = [d for d in dirs if d not in parts]
    if not new:
        return
    at = next((i for i, p in enumerate(parts) if Path(p).name == "shims"), len(parts))
    os.environ["PATH"] = os.pathsep.join(parts[:at] + new + parts[at:])


def find_python(minor: int) -> Optional[str]:
    """``python3.<minor>`` on ``PATH``, ignoring shims (which may not run it)."""
    for part in os.environ.get("PATH", "").split(os.pathsep):
        if part and Path(part).name != "shims":
            found = shutil.which("python3.%d" % minor, path=part)
            if found:
                return found
    return None


_ROOT = pyenv_root()
if UNDER_TOX:
    put_on_path(pyenv_bin_dirs(_ROOT))

_RUN_COMMANDS = {"legacy", "le", "run", "r", "run-parallel", "p"}
_state: List[Any] = []  # tox's State, seen when environments are configured
_selected: List[str] = []  # python environments tox configured, in order
_ran: Dict[str, str] = {}  # env -> "CPython 3.11.7 at /path"
_results: Dict[str, int] = {}  # env -> exit code of its commands


@impl
def tox_add_env_config(env_conf: Any, state: Any) -> None:
    if not _state:
        _state.append(state)
    name = env_conf.name
    if _ENV.match(name) and name not in _selected:
        _selected.append(name)


def selected() -> List[str]:
    """The python environments this tox run was asked to run ([] for
    ``tox list``, ``tox config``, ``tox -e flake8`` ...)."""
    if not _state:
        return []
    try:
        if getattr(_state[0].conf.options, "command", None) not in _RUN_COMMANDS:
            return []
        return [n for n in _state[0].envs.iter(only_active=True) if _ENV.match(n)]
    except Exception:  # an older tox: everything configured counts
        return list(_selected)


@impl
def tox_before_run_commands(tox_env: Any) -> None:
    name = tox_env.name
    if not _ENV.match(name):
        return
    try:
        info = tox_env.base_python
        version = ".".join(str(v) for v in tuple(info.version_info)[:3])
        where = (getattr(info, "extra", None) or {}).get("executable", "")
        _ran[name] = "%s %s%s" % (info.implementation, version, " at %s" % where if where else "")
    except Exception as exc:  # a report must never break the run
        _ran[name] = "(interpreter details unavailable: %s)" % (exc,)


_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped)\b")
_CLOSING = re.compile(r"\bin \d+(\.\d+)?s\b")  # "... in 130.10s", pytest's last line
_counts: Dict[str, Dict[str, int]] = {}  # env -> pytest's closing counts


def pytest_counts(output: str) -> Optional[Dict[str, int]]:
    """The counts of pytest's closing line (``== 1070 passed, 2 skipped in
    130.1s ==``) in ``output``, or None when there is none."""
    for line in reversed(output.splitlines()):
        if _CLOSING.search(line) and _COUNT.search(line):
            counts = {"passed": 0, "failed": 0, "skipped": 0, "error": 0}
            for number, word in _COUNT.findall(line):
                counts["error" if word.startswith("error") else word] += int(number)
            return counts
    return None


@impl
def tox_after_run_commands(tox_env: Any, exit_code: int, outcomes: Any) -> None:
    if _ENV.match(tox_env.name):
        _results[tox_env.name] = exit_code
        try:
            output = "".join(getattr(o, "out", "") or "" for o in outcomes)
            counts = pytest_counts(output)
            if counts is not None:
                _counts[tox_env.name] = counts
        except Exception:  # a report must never break the run
            pass


def summary(names: List[str], ran_on: Dict[str, str], results: Dict[str, int],
            root: Optional[Path], counts: Optional[Dict[str, Dict[str, int]]] = None
            ) -> List[str]:
    """The lines printed after tox's report, for the python environments
    ``names``: those in ``ran_on`` ran (``results``: their exit codes;
    ``counts``: pytest's closing counts, which end the report as one line
    "tests: N passed, N failed" over every interpreter)."""
    lines = ["", "interpreters (supported: %s):" % ", ".join("%d.%d" % v for v in SUPPORTED)]
    ran, missing = [], []
    for name in names:
        minor = int(_ENV.match(name).group(1))  # type: ignore[union-attr]
        label = "3.%d" % minor
        if name in ran_on:
            outcome = "passed" if results.get(name) == 0 else "FAILED"
            tests = counts.get(name) if counts else None
            if tests is not None:
                outcome += " (%d tests passed, %d failed)" % (tests["passed"],
                                                              tests["failed"] + tests["error"])
            lines.append("  %-6s ran     %s: %s" % (name, ran_on[name], outcome))
            ran.append(label)
        elif (3, minor) not in SUPPORTED:
            lines.append("  %-6s not supported by this project" % name)
        else:
            found = find_python(minor)
            if found:
                lines.append("  %-6s did not run (found %s; see tox's report above)"
                             % (name, found))
            else:
                lines.append("  %-6s MISSING no python3.%d on PATH or under %s"
                             % (name, minor, root / "versions" if root else "a pyenv root"))
            missing.append(label)
    lines.append("ran on Python %s; missing: %s" % (", ".join(ran) or "none",
                                                    ", ".join(missing) or "none"))
    if counts:
        kinds = ("passed", "failed", "error", "skipped")
        total = {k: sum(c[k] for c in counts.values()) for k in kinds}
        line = "tests: %d passed, %d failed" % (total["passed"], total["failed"] + total["error"])
        if total["skipped"]:
            line += ", %d skipped" % (total["skipped"],)
        lines.append(line)
    return lines


def _print_summary() -> None:
    names = selected()
    if names:  # a run that selected interpreters (not `tox -e flake8`, not `tox list`)
        sys.stdout.write("\n".join(summary(names, _ran, _results, _ROOT, _counts)) + "\n")
        sys.stdout.flush()


if UNDER_TOX:
    atexit.register(_print_summary)  # after tox's own report, as the process ends
