"""Drop-ins use Python's bytecode cache (SPEC section 12): the first
discovery writes ``__pycache__`` files, later processes reuse them, and
``reload`` still compiles the source as it is on disk.

Each step runs in a fresh interpreter with bytecode writing on (the test
environment may turn it off), as an application would start."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

SOURCE = '''from nitro_dispatch import PluginBase, hook


class Tagger(PluginBase):
    name = "tagger"

    @hook("tag")
    def tag(self, data):
        return data + "-%s"
'''

PROGRAM = '''
import json, sys
from nitro_dispatch import PluginManager
m = PluginManager()
m.discover_plugins(sys.argv[1])
m.load_all()
first = m.trigger("tag", "x")
reloaded = None
if sys.argv[2] == "reload":
    m.reload("tagger")
    reloaded = m.trigger("tag", "x")
print(json.dumps([first, reloaded]))
'''


def run(directory: Path, action: str) -> Any:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.run([sys.executable, "-c", PROGRAM, str(directory), action],
                          cwd=str(directory), env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_bytecode_is_written_reused_and_bypassed_by_reload(tmp_path: Path) -> None:
    plugin = tmp_path / "tag_plugin.py"
    plugin.write_text(SOURCE % "old", encoding="utf-8")
    stamp = plugin.stat().st_mtime_ns - 5_000_000_000
    os.utime(plugin, ns=(stamp, stamp))
    pyc = Path(importlib.util.cache_from_source(str(plugin)))
    assert not pyc.exists()

    assert run(tmp_path, "none") == ["x-old", None]
    assert pyc.is_file()  # written by the first discovery
    written = pyc.stat().st_mtime_ns

    # Same size, same modification time: the cache cannot tell, so a new
    # process's discovery runs the cached code (proof that it is reused) ...
    plugin.write_text(SOURCE % "new", encoding="utf-8")
    os.utime(plugin, ns=(stamp, stamp))
    assert run(tmp_path, "reload") == ["x-old", "x-new"]  # ... and reload reads the file
    assert pyc.stat().st_mtime_ns == written  # reload does not rewrite it

    # A real edit (new size or time) invalidates the cached code.
    plugin.write_text(SOURCE % "newer", encoding="utf-8")
    assert run(tmp_path, "none") == ["x-newer", None]


def test_file_pattern_matching_agrees_with_fnmatch() -> None:
    import fnmatch

    from nitro_dispatch._dropin_files import _matching

    names = ["a_plugin.py", "b_plugin.pyc", "_plugin.py", "A_PLUGIN.PY", "x.py", "plugin.py",
             "c_plugin.py.bak", "[x]_plugin.py", "ab.py", "b.py"]
    for pattern in ["*_plugin.py", "*.py", "*", "*[ab].py", "a*", "?.py", "*_plugin.py*", ""]:
        assert _matching(names, pattern) == fnmatch.filter(names, pattern), pattern


OPENS = '''
import json, sys
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
from nitro_dispatch import PluginManager
m = PluginManager()
m.discover_plugins(sys.argv[1])
m.load_all()
print(json.dumps([m.trigger("tag", "x"), opened]))
'''


def opens(directory: Path) -> Any:
    """The drop-in's answer and the files the discovery opened, from a
    fresh interpreter with bytecode writing on."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.run([sys.executable, "-c", OPENS, str(directory)], cwd=str(directory),
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_valid_pyc_serves_without_the_source_being_opened_and_edits_are_seen(
        tmp_path: Path) -> None:
    plugin = tmp_path / "tag_plugin.py"
    plugin.write_text(SOURCE % "old", encoding="utf-8")
    stamp = plugin.stat().st_mtime_ns - 5_000_000_000
    os.utime(plugin, ns=(stamp, stamp))
    pyc = importlib.util.cache_from_source(str(plugin))

    answer, opened = opens(tmp_path)  # no .pyc yet: the source is read and compiled
    assert answer == "x-old" and str(plugin) in opened

    answer, opened = opens(tmp_path)  # a valid .pyc: the source is never opened
    assert answer == "x-old"
    assert pyc in opened and str(plugin) not in opened

    # A new size: the .pyc no longer serves; the source is read and run.
    plugin.write_text(SOURCE % "edited", encoding="utf-8")
    os.utime(plugin, ns=(stamp, stamp))
    answer, opened = opens(tmp_path)
    assert answer == "x-edited" and str(plugin) in opened

    # Same size, a new modification time: read again, the new code runs.
    plugin.write_text(SOURCE % "EDITED", encoding="utf-8")
    answer, opened = opens(tmp_path)
    assert answer == "x-EDITED" and str(plugin) in opened
    answer, opened = opens(tmp_path)
    assert answer == "x-EDITED" and str(plugin) not in opened
