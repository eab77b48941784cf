"""SPEC section 11: one unreadable entry in a path entry never hides the
other distributions there; it is skipped with a warning, and read again
next time (never remembered as empty).

Each listing runs in a child process with a timeout: a listing that opened
a FIFO for reading would otherwise hang the test run instead of failing it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

from fixtures import (GROUP, PRELOAD_BEFORE_SWITCHING_USER, age, age_tree, make_dist_info,
                      make_plugin_dist)

REPO = Path(__file__).resolve().parent.parent
POSIX_ONLY = pytest.mark.skipif(os.name != "posix", reason="symbolic links and FIFOs")

# Everything is imported before an optional switch of user (see
# fixtures.PRELOAD_BEFORE_SWITCHING_USER).
CHILD = PRELOAD_BEFORE_SWITCHING_USER + textwrap.dedent("""
    from nitro_dispatch import list_installed_plugins
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    if sys.argv[2] == "nobody":
        os.setgid(65534)
        os.setuid(65534)
    print(",".join(p.name for p in list_installed_plugins(path=[sys.argv[1]])))
""")


def listing(site: Path, cache: Path, user: str = "") -> Tuple[List[str], List[str]]:
    """Plugin names listed by a child, and the warnings it logged."""
    env = dict(os.environ, PYTHONPATH=str(REPO), NITRO_DISPATCH_CACHE_DIR=str(cache))
    env.pop("NITRO_DISPATCH_NO_CACHE", None)
    proc = subprocess.run([sys.executable, "-c", CHILD, str(site), user], env=env,
                          capture_output=True, text=True, timeout=60, cwd=str(site.parent))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("WARNING")]
    return [n for n in proc.stdout.strip().split(",") if n], warnings


def age_real(top: Path) -> None:
    """:func:`fixtures.age_tree` that leaves symbolic links (and what they
    point to) alone."""
    for dirpath, dirnames, filenames in os.walk(top, topdown=False):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            if not path.is_symlink():
                age(path)
    age(top)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    directory = tmp_path / "site"
    make_plugin_dist(directory, "alpha", "1.0", {"alpha": "alpha:P"})
    make_plugin_dist(directory, "omega", "1.0", {"omega": "omega:P"})
    return directory


def bad_entries(site: Path) -> Iterator[Tuple[str, Path]]:
    """Kinds of trouble, each made in ``site`` (only the last one made stays)."""
    loop = site / "loop-1.0.dist-info"
    loop.symlink_to(loop.name)
    yield "symlink loop", loop
    loop.unlink()

    dangling = site / "gone-1.0.dist-info"
    dangling.symlink_to(site / "nowhere")
    yield "dangling link", dangling
    dangling.unlink()

    dir_as_file = make_dist_info(site, "dirfile", "1.0")
    (dir_as_file / "entry_points.txt").mkdir()
    yield "directory as entry_points.txt", dir_as_file
    shutil.rmtree(dir_as_file)

    device = make_dist_info(site, "device", "1.0")
    (device / "entry_points.txt").symlink_to("/dev/zero")
    yield "device as entry_points.txt", device
    shutil.rmtree(device)

    fifo = make_dist_info(site, "fifo", "1.0")
    os.mkfifo(fifo / "entry_points.txt")
    yield "FIFO as entry_points.txt", fifo
    shutil.rmtree(fifo)

    meta_fifo = make_plugin_dist(site, "metafifo", "1.0", {"metafifo": "metafifo:P"})
    (meta_fifo / "METADATA").unlink()
    os.mkfifo(meta_fifo / "METADATA")
    yield "FIFO as METADATA", meta_fifo
    shutil.rmtree(meta_fifo)


@POSIX_ONLY
def test_one_unreadable_entry_never_hides_the_others(site: Path, tmp_path: Path) -> None:
    for number, (kind, bad) in enumerate(bad_entries(site)):
        age_real(site)
        cache = tmp_path / ("cache%d" % number)
        for attempt in range(2):  # the second from the cache, if it were cached
            names, warnings = listing(site, cache)
            assert names == ["alpha", "omega"], kind
            assert len(warnings) == 1, (kind, warnings)  # warned every time: never cached
            assert bad.name in warnings[0], (kind, warnings)


@POSIX_ONLY
def test_an_entry_unreadable_once_is_read_again_when_fixed(site: Path, tmp_path: Path) -> None:
    broken = make_dist_info(site, "later", "1.0")
    os.mkfifo(broken / "entry_points.txt")
    age_real(site)
    site_mtime = os.stat(site).st_mtime_ns
    assert listing(site, tmp_path / "cache")[0] == ["alpha", "omega"]

    (broken / "entry_points.txt").unlink()
    (broken / "entry_points.txt").write_text("[%s]\nlater = later:P\n" % GROUP)
    age(broken / "entry_points.txt")
    age(broken)
    os.utime(site, ns=(site_mtime, site_mtime))  # nothing a timestamp would show
    names, warnings = listing(site, tmp_path / "cache")
    assert names == ["alpha", "later", "omega"] and warnings == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0,
                    reason="needs root, to run a child as another user (root reads everything)")
def test_permission_denied_as_another_user() -> None:
    """A metadata folder "nobody" may not read is skipped with a warning;
    once its permissions are fixed (which changes no mtime) the next listing
    sees it: the failure was not cached as an empty distribution.  The same
    for a whole site directory that cannot be listed."""
    top = tempfile.mkdtemp(prefix="nd-perm-")
    try:
        os.chmod(top, 0o755)
        site = Path(top) / "site"
        make_plugin_dist(site, "alpha", "1.0", {"alpha": "alpha:P"})
        hidden = make_plugin_dist(site, "hidden", "1.0", {"hidden": "hidden:P"})
        make_plugin_dist(site, "omega", "1.0", {"omega": "omega:P"})
        for path in [site, *site.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        os.chmod(hidden, 0)
        age_tree(site)
        cache = Path(top) / "cache"
        os.mkdir(cache, 0o700)
        os.chown(cache, 65534, 65534)

        names, warnings = listing(site, cache, "nobody")
        assert names == ["alpha", "omega"]
        assert len(warnings) == 1 and hidden.name in warnings[0], warnings
        assert "Permission denied" in warnings[0]

        os.chmod(hidden, 0o755)
        assert listing(site, cache, "nobody") == (["alpha", "hidden", "omega"], [])

        os.chmod(site, 0o711)  # "nobody" may pass through, not list
        for _ in range(2):
            names, warnings = listing(site, cache, "nobody")
            assert names == [] and len(warnings) == 1 and "cannot list" in warnings[0]
        os.chmod(site, 0o755)
        assert listing(site, cache, "nobody")[0] == ["alpha", "hidden", "omega"]
    finally:
        for dirpath, dirnames, _ in os.walk(top):
            for name in dirnames:
                os.chmod(os.path.join(dirpath, name), 0o755)
        shutil.rmtree(top, ignore_errors=True)
