"""The test command's tox plugin (``toxfile.py``): it finds pyenv's
interpreters and reports which ran and which were missing.  Its functions
are tested here on a fake pyenv tree; the README's command itself runs it
for real (``python -m tox``)."""

from __future__ import annotations

import importlib.util
import os
import stat
import sys
from pathlib import Path
from types import ModuleType
from typing import List

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture()
def toxfile() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ndtest_toxfile", REPO / "toxfile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_python(bindir: Path, name: str) -> None:
    bindir.mkdir(parents=True, exist_ok=True)
    exe = bindir / name
    exe.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture()
def fake_pyenv(tmp_path: Path) -> Path:
    root = tmp_path / "pyenv"
    for version in ["3.8.18", "3.9.1", "3.9.18", "3.10.2", "3.13.0"]:
        minor = version.split(".")[1]
        make_python(root / "versions" / version / "bin", "python3.%s" % minor)
    make_python(root / "versions" / "3.12-dev" / "bin", "python3.12")  # not a release
    make_python(root / "versions" / "myvenv" / "bin", "python3.11")  # a pyenv virtualenv
    (root / "versions" / "3.11.4" / "bin").mkdir(parents=True)  # broken: no python
    make_python(root / "shims", "python3.11")
    return root


def test_pyenv_root_comes_from_pyenv_root_variable(toxfile: ModuleType, fake_pyenv: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYENV_ROOT", str(fake_pyenv))
    assert toxfile.pyenv_root() == fake_pyenv
    monkeypatch.setenv("PYENV_ROOT", str(fake_pyenv / "versions" / "3.9.1"))  # no versions/
    assert toxfile.pyenv_root() is None


def test_newest_release_of_each_supported_version_is_found(toxfile: ModuleType,
                                                           fake_pyenv: Path) -> None:
    dirs = toxfile.pyenv_bin_dirs(fake_pyenv)
    versions = fake_pyenv / "versions"
    assert dirs == [str(versions / v / "bin") for v in ["3.9.18", "3.10.2", "3.13.0"]]
    assert toxfile.pyenv_bin_dirs(None) == []


def test_bin_dirs_go_on_path_ahead_of_the_shims(toxfile: ModuleType, fake_pyenv: Path,
                                                tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    shims = str(fake_pyenv / "shims")
    first, last = str(tmp_path / "first"), str(tmp_path / "last")  # hold no pythons
    monkeypatch.setenv("PATH", os.pathsep.join([first, shims, last]))
    dirs = toxfile.pyenv_bin_dirs(fake_pyenv)
    toxfile.put_on_path(dirs)
    toxfile.put_on_path(dirs)  # twice: nothing added again
    assert os.environ["PATH"].split(os.pathsep) == [first] + dirs + [shims, last]
    # Shims are never taken for the interpreter itself.
    assert toxfile.find_python(11) is None
    assert toxfile.find_python(10) == str(fake_pyenv / "versions" / "3.10.2" / "bin" /
                                          "python3.10")


def test_summary_says_which_interpreters_ran_and_which_were_missing(
        toxfile: ModuleType, fake_pyenv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(fake_pyenv / "versions" / "3.10.2" / "bin"))
    lines: List[str] = toxfile.summary(
        ["py39", "py310", "py311", "py312", "py313"],
        {"py39": "CPython 3.9.18 at /x/python3.9", "py313": "CPython 3.13.0 at /y"},
        {"py39": 0, "py313": 1}, fake_pyenv)
    text = "\n".join(lines)
    assert "py39   ran     CPython 3.9.18 at /x/python3.9: passed" in text
    assert "py313  ran     CPython 3.13.0 at /y: FAILED" in text
    assert "py310  did not run (found %s" % (fake_pyenv / "versions" / "3.10.2" / "bin" /
                                             "python3.10") in text
    assert "py311  MISSING no python3.11 on PATH or under %s" % (fake_pyenv / "versions") \
        in text
    assert lines[-1] == "ran on Python 3.9, 3.13; missing: 3.10, 3.11, 3.12"


def test_imported_outside_a_tox_run_it_changes_nothing(tmp_path: Path) -> None:
    # Under a running tox it edits PATH and prints the report at exit; a
    # plain import (tox installed or not) does neither.
    import subprocess

    code = ("import os, runpy; before = os.environ['PATH']; "
            "m = runpy.run_path(%r); "
            "assert not m['UNDER_TOX'] and os.environ['PATH'] == before" % str(REPO / "toxfile.py"))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""


def test_pytest_counts_are_read_from_the_closing_line_and_summed(toxfile: ModuleType) -> None:
    out = ("tests/test_a.py ....\n"
           "=========== 1068 passed, 2 skipped, 1 error in 130.10s (0:02:10) ===========\n")
    assert toxfile.pytest_counts(out) == {"passed": 1068, "failed": 0, "skipped": 2, "error": 1}
    assert toxfile.pytest_counts("no pytest here\n") is None
    counts = {"py39": {"passed": 10, "failed": 1, "skipped": 0, "error": 0},
              "py311": {"passed": 12, "failed": 0, "skipped": 3, "error": 1}}
    ran = {"py39": "CPython 3.9.18", "py311": "CPython 3.11.7"}
    lines = toxfile.summary(["py39", "py311"], ran, {"py39": 1, "py311": 1}, None, counts)
    assert "  py39   ran     CPython 3.9.18: FAILED (10 tests passed, 1 failed)" in lines
    assert lines[-1] == "tests: 22 passed, 2 failed, 3 skipped"
