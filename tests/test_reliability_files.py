"""Issue 17, part A (SPEC section 11): nothing planted where a drop-in or a
metadata file should be can hang, crash or exhaust a listing, ``check`` or
discovery, and drop-in directories of any depth are walked without
recursion.

Each command runs in a child process with a timeout: a blocking open of a
FIFO would otherwise hang the test run instead of failing it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Sequence

import pytest

from fixtures import make_dist_info
from nitro_dispatch import PluginManager, list_dropin_plugins

REPO = Path(__file__).resolve().parent.parent
POSIX_ONLY = pytest.mark.skipif(os.name != "posix" or not hasattr(os, "mkfifo"),
                                reason="FIFOs, /dev/zero and symbolic links are POSIX")

PLUGIN = "from nitro_dispatch import PluginBase\n\nclass Fine(PluginBase):\n    name = 'fine'\n"


def cli(args: Sequence[str], tmp_path: Path) -> "subprocess.CompletedProcess[str]":
    env = dict(os.environ, PYTHONPATH=str(REPO), NITRO_DISPATCH_CACHE_DIR=str(tmp_path / "c"),
               PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-m", "nitro_dispatch", *args], env=env,
                          capture_output=True, text=True, timeout=60, cwd=str(tmp_path))


def warnings_of(caplog: pytest.LogCaptureFixture) -> List[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno >= logging.WARNING and r.name.startswith("nitro_dispatch")]


@pytest.fixture
def hostile_dropins(tmp_path: Path) -> Path:
    """A drop-in directory with a FIFO and a link to /dev/zero among the
    plugin files, and one good plugin."""
    directory = tmp_path / "dropins"
    directory.mkdir()
    os.mkfifo(str(directory / "fifo_plugin.py"))
    os.symlink("/dev/zero", str(directory / "zero_plugin.py"))
    (directory / "fine_plugin.py").write_text(PLUGIN, encoding="utf-8")
    return directory


@POSIX_ONLY
def test_a_fifo_or_device_dropin_is_skipped_with_a_warning_by_list_and_check(
        hostile_dropins: Path, tmp_path: Path) -> None:
    proc = cli(["list", "--json", "--path", str(hostile_dropins)], tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr and "MemoryError" not in proc.stderr
    assert [p["name"] for p in json.loads(proc.stdout)] == ["fine"]
    assert "fifo_plugin.py" in proc.stderr and "zero_plugin.py" in proc.stderr
    for args in (["check", "--path", str(hostile_dropins)],
                 ["check", "--static", "--path", str(hostile_dropins)]):
        proc = cli(args, tmp_path)
        assert proc.returncode in (0, 1), proc.stderr
        assert "Traceback" not in proc.stderr, proc.stderr
        out = proc.stdout + proc.stderr
        assert "fifo_plugin.py" in out and "zero_plugin.py" in out


@POSIX_ONLY
def test_a_fifo_or_device_dropin_is_a_discovery_problem_never_a_hang(
        hostile_dropins: Path, caplog: pytest.LogCaptureFixture) -> None:
    # In this process: a blocking open would hang the run (the CLI test above
    # has a timeout for the same code paths).
    found = list_dropin_plugins([hostile_dropins])
    assert [p.name for p in found] == ["fine"]
    warned = warnings_of(caplog)
    assert any("fifo_plugin.py" in w for w in warned)
    assert any("zero_plugin.py" in w for w in warned)
    manager = PluginManager()
    assert manager.discover_plugins(str(hostile_dropins)) == ["fine"]
    problems = {os.path.basename(p.source.path): p.phase for p in manager.get_problems()
                if p.source is not None and p.source.path}
    assert problems == {"fifo_plugin.py": "discovery", "zero_plugin.py": "discovery"}


@POSIX_ONLY
def test_the_check_before_an_import_refuses_what_a_read_would(tmp_path: Path) -> None:
    from nitro_dispatch._safe_read import Unreadable, stat_regular

    big = tmp_path / "big_plugin.py"
    big.write_text(PLUGIN + "#" * 4096, encoding="utf-8")
    assert stat_regular(str(big)).st_size == big.stat().st_size
    with pytest.raises(Unreadable, match="big_plugin.py is larger than 1024 bytes"):
        stat_regular(str(big), limit=1024)
    os.mkfifo(str(tmp_path / "fifo_plugin.py"))
    with pytest.raises(Unreadable, match="fifo_plugin.py is not a regular file"):
        stat_regular(str(tmp_path / "fifo_plugin.py"))
    os.symlink("/dev/zero", str(tmp_path / "zero_plugin.py"))
    with pytest.raises(Unreadable, match="zero_plugin.py is not a regular file"):
        stat_regular(str(tmp_path / "zero_plugin.py"))
    with pytest.raises(FileNotFoundError):
        stat_regular(str(tmp_path / "gone_plugin.py"))


@POSIX_ONLY
def test_a_source_replaced_by_a_fifo_after_its_check_fails_its_import(tmp_path: Path) -> None:
    # Between the stat that admits a drop-in and the read of its source
    # (which comes only when no .pyc serves), a FIFO takes the file's place:
    # the import fails naming the file, and does not hang.
    from nitro_dispatch._dropins import _loader_class
    from nitro_dispatch._safe_read import stat_regular

    path = tmp_path / "late_plugin.py"
    path.write_text(PLUGIN, encoding="utf-8")
    loader = _loader_class()("late_plugin", str(path), None, stat_regular(str(path)))
    path.unlink()
    os.mkfifo(str(path))
    with pytest.raises(ImportError, match="late_plugin.py is not a regular file"):
        loader.get_code("late_plugin")


def test_dropin_reads_are_bounded(tmp_path: Path) -> None:
    from nitro_dispatch._safe_read import MAX_BYTES, Unreadable, read_bytes

    big = tmp_path / "big_plugin.py"
    big.write_text(PLUGIN + "#" * 4096, encoding="utf-8")
    with pytest.raises(Unreadable, match="big_plugin.py is larger than 1024 bytes"):
        read_bytes(str(big), limit=1024)
    assert read_bytes(str(big))[0] == big.read_bytes()
    assert MAX_BYTES >= 16 * 1024 * 1024


@POSIX_ONLY
def test_check_never_hangs_on_a_fifo_entry_points_txt_nor_fails_on_latin1_metadata(
        tmp_path: Path) -> None:
    site = tmp_path / "site"
    fifo = make_dist_info(site, "ndtest-fifo", "1.0")
    os.mkfifo(str(fifo / "entry_points.txt"))
    latin = make_dist_info(site, "ndtest-latin", "1.0",
                           {"nitro_dispatch.plugin": {"x": "ndtest_latin:X"}})
    (latin / "METADATA").write_bytes(
        "Metadata-Version: 2.1\nName: ndtest-caf\xe9\nVersion: 1.0\n\n".encode("latin-1"))
    env_path = os.pathsep.join([str(site), str(REPO)])
    for args in (["check"], ["check", "--static"]):
        env = dict(os.environ, PYTHONPATH=env_path, NITRO_DISPATCH_CACHE_DIR=str(tmp_path / "c"),
                   PYTHONIOENCODING="utf-8")
        proc = subprocess.run([sys.executable, "-m", "nitro_dispatch", *args], env=env,
                              capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
        assert "Traceback" not in proc.stderr, proc.stderr
        assert "unexpected" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
        assert proc.returncode in (0, 1), proc.stdout + proc.stderr
        # The near-miss scan still sees the Latin-1 distribution's typo.
        assert "nitro_dispatch.plugin'" in proc.stdout + proc.stderr


def test_dropin_directories_deeper_than_the_recursion_limit(tmp_path: Path) -> None:
    depth = sys.getrecursionlimit() + 100
    top = tmp_path / "deep"
    top.mkdir()
    fd = os.open(str(top), os.O_RDONLY)
    try:  # relative to a descriptor: the whole path may exceed what one call takes
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        plugin = os.open("deep_plugin.py", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(plugin, PLUGIN.replace("'fine'", "'deep'").encode())
        os.close(plugin)
    finally:
        os.close(fd)
    try:
        if len(str(top)) + 2 * depth >= 4000:
            pytest.skip("the deepest path would exceed PATH_MAX here")
        assert [p.name for p in list_dropin_plugins([top], recursive=True)] == ["deep"]
        assert PluginManager().discover_plugins(str(top), recursive=True) == ["deep"]
    finally:
        flatten(top)


def flatten(top: Path) -> None:
    """Remove a deep chain of ``d`` directories one level at a time
    (``shutil.rmtree``, as pytest's clean-up uses it, recurses)."""
    link, spare = top / "d", top / "spare"
    while link.exists():
        os.rename(str(link), str(spare))
        if (spare / "d").exists():
            os.rename(str(spare / "d"), str(link))
        shutil.rmtree(str(spare))
