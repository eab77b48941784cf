"""SPEC section 11: the listing cache's file can neither crash nor mislead a
listing, and is used only when it belongs to the current user."""

from __future__ import annotations

import logging
import marshal
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import tracemalloc
from pathlib import Path
from typing import Any, List

import pytest

from fixtures import GROUP, PRELOAD_BEFORE_SWITCHING_USER, age_tree, make_plugin_dist
from nitro_dispatch import _cache, list_installed_plugins

pytestmark = pytest.mark.usefixtures("cache_dir")  # every test: a cache of its own

REPO = Path(__file__).resolve().parent.parent
POSIX_ONLY = pytest.mark.skipif(os.name != "posix", reason="POSIX owners and modes")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    directory = tmp_path / "site"
    make_plugin_dist(directory, "sturdy", "1.0", {"sturdy": "sturdy:P"})
    age_tree(directory)
    return directory


def names(site: Path) -> List[str]:
    return [p.name for p in list_installed_plugins(path=[site])]


def the_cache_file(cache_dir: Path) -> Path:
    files = sorted(cache_dir.glob("*.marshal"))
    assert len(files) == 1, files
    return files[0]


def valid_cache(site: Path, cache_dir: Path) -> bytes:
    assert names(site) == ["sturdy"]
    return the_cache_file(cache_dir).read_bytes()


def warnings_of(caplog: pytest.LogCaptureFixture) -> List[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno >= logging.WARNING and r.name.startswith("nitro_dispatch")]


# -- the envelope ------------------------------------------------------------------

def test_a_cache_file_is_an_envelope_around_marshal_data(site: Path, cache_dir: Path) -> None:
    data = valid_cache(site, cache_dir)
    assert data.startswith(_cache.MAGIC)
    doc = _cache.decode(data)
    assert doc["group"] == GROUP and str(site) in doc["entries"]
    assert _cache.decode(_cache.encode(doc)) == doc


def damaged_variants(data: bytes) -> List[bytes]:
    header = _cache.HEADER_SIZE
    length_at = len(_cache.MAGIC)
    payload_len = len(data) - header
    flipped = bytearray(data)
    flipped[header + payload_len // 2] ^= 0x10
    wrong_magic = b"X" + data[1:]
    longer = data[:length_at] + (payload_len + 1).to_bytes(8, "little") + data[length_at + 8:]
    huge = data[:length_at] + (2 ** 62).to_bytes(8, "little") + data[length_at + 8:]
    digest = bytearray(data)
    digest[length_at + 8] ^= 1
    # A valid digest over a damaged payload: still refused by marshal, not a crash.
    payload = b"\xdb" + data[header + 1:]
    forged = (data[:length_at] + len(payload).to_bytes(8, "little")
              + _cache_digest(payload) + payload)
    return [b"", data[:10], data[:header], data[:-1], data + b"\0", bytes(flipped),
            wrong_magic, longer, huge, bytes(digest), marshal.dumps({"format": 2}), forged]


def _cache_digest(payload: bytes) -> bytes:
    from nitro_dispatch._digest import blake2b

    return blake2b(payload, 32)


def test_damaged_files_are_ignored_and_replaced(site: Path, cache_dir: Path) -> None:
    data = valid_cache(site, cache_dir)
    cache_file = the_cache_file(cache_dir)
    for bad in damaged_variants(data):
        cache_file.write_bytes(bad)
        assert names(site) == ["sturdy"], bad[:80]
        assert cache_file.read_bytes() == data, "the damaged file was not replaced"


def test_marshal_never_sees_unchecked_bytes(site: Path, cache_dir: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    data = valid_cache(site, cache_dir)
    cache_file = the_cache_file(cache_dir)
    decoded: List[bytes] = []

    class Recording:
        dumps = staticmethod(marshal.dumps)

        @staticmethod
        def loads(raw: Any) -> Any:
            decoded.append(bytes(raw))
            return marshal.loads(raw)

    monkeypatch.setattr(_cache, "marshal", Recording)
    for bad in damaged_variants(data)[:-1]:  # all but the forged one, whose digest is right
        cache_file.write_bytes(bad)
        decoded.clear()
        names(site)
        assert decoded == [], bad[:80]
    # The check can fail: a good file is decoded.
    cache_file.write_bytes(data)
    names(site)
    assert decoded == [data[_cache.HEADER_SIZE:]]


def test_memory_stays_near_the_file_size(site: Path, cache_dir: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    data = valid_cache(site, cache_dir)
    cache_file = the_cache_file(cache_dir)
    length_at = len(_cache.MAGIC)
    # A marshal list header claiming 2**31 items, behind a length field that
    # claims 2**62 bytes: neither may be believed.
    cache_file.write_bytes(data[:length_at] + (2 ** 62).to_bytes(8, "little")
                           + b"\0" * 32 + b"[\xff\xff\xff\x7f" + b"\0" * 1000)
    tracemalloc.start()
    try:
        assert _cache.read(str(cache_dir), cache_file.name) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024, peak

    # A file beyond the size limit is not even read.
    monkeypatch.setattr(_cache, "MAX_FILE_SIZE", 512 * 1024)
    cache_file.write_bytes(data + b"\0" * (1024 * 1024))
    tracemalloc.start()
    try:
        assert _cache.read(str(cache_dir), cache_file.name) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024, peak
    assert names(site) == ["sturdy"]
    assert cache_file.read_bytes() == data  # and replaced


def test_a_directory_or_fifo_in_place_of_the_file_never_blocks(tmp_path: Path) -> None:
    """Run in a child with a timeout: a listing that opened a FIFO for
    reading would wait forever for a writer."""
    site = tmp_path / "site"
    make_plugin_dist(site, "sturdy", "1.0", {"sturdy": "sturdy:P"})
    age_tree(site)
    script = textwrap.dedent("""
        import os, sys
        from nitro_dispatch import _cache, list_installed_plugins
        cache, site, kind = sys.argv[1:4]
        os.makedirs(cache, mode=0o700)
        target = os.path.join(cache, _cache.file_name("nitro_dispatch.plugins"))
        if kind == "fifo":
            os.mkfifo(target, 0o600)
        else:
            os.mkdir(target, 0o700)
        for _ in range(2):
            print(",".join(p.name for p in list_installed_plugins(path=[site])))
    """)
    for kind in ("fifo", "dir"):
        if kind == "fifo" and not hasattr(os, "mkfifo"):
            continue
        env = dict(os.environ, PYTHONPATH=str(REPO))
        proc = subprocess.run([sys.executable, "-c", script, str(tmp_path / ("c-" + kind)),
                               str(site), kind], env=env, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == ["sturdy", "sturdy"]
        assert "Traceback" not in proc.stderr


# -- where, and whose ---------------------------------------------------------------

@POSIX_ONLY
def test_created_with_private_modes_and_no_debris(site: Path, cache_dir: Path) -> None:
    old = os.umask(0)  # the modes must not depend on a careful umask
    try:
        valid_cache(site, cache_dir)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(cache_dir).st_mode) == 0o700
    cache_file = the_cache_file(cache_dir)
    assert stat.S_IMODE(os.stat(cache_file).st_mode) == 0o600
    assert sorted(p.name for p in cache_dir.iterdir()) == [cache_file.name]


@POSIX_ONLY
def test_temporary_file_is_created_exclusively_without_following_links(
        site: Path, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    valid_cache(site, cache_dir)
    cache_file = the_cache_file(cache_dir)
    victim = tmp_path / "victim"
    victim.write_text("precious")
    monkeypatch.setattr(_cache.os, "urandom", lambda n: b"\0" * n)
    tmp_name = "%s.%d-%s.tmp" % (cache_file.name, os.getpid(), "00" * 6)
    (cache_dir / tmp_name).symlink_to(victim)
    before = cache_file.read_bytes()

    _cache.write(str(cache_dir), cache_file.name, {"format": 0})
    assert victim.read_text() == "precious"
    assert cache_file.read_bytes() == before  # the write gave up, quietly
    (cache_dir / tmp_name).unlink()
    _cache.write(str(cache_dir), cache_file.name, {"format": 0})
    assert _cache.decode(cache_file.read_bytes()) == {"format": 0}  # and can succeed


@POSIX_ONLY
@pytest.mark.parametrize("mode", [0o770, 0o702, 0o777])
def test_loose_directory_turns_the_cache_off(site: Path, cache_dir: Path, mode: int,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="nitro_dispatch")
    cache_dir.mkdir()
    os.chmod(cache_dir, mode)
    for _ in range(3):
        assert names(site) == ["sturdy"]
    assert list(cache_dir.iterdir()) == []  # nothing read, nothing written
    (warning,) = warnings_of(caplog)  # one warning for the process
    assert str(cache_dir) in warning and "writable by group or others" in warning


@POSIX_ONLY
@pytest.mark.parametrize("trouble", ["group-writable", "symlink", "foreign"])
def test_unfit_cache_file_turns_the_cache_off(site: Path, cache_dir: Path, tmp_path: Path,
                                              trouble: str,
                                              caplog: pytest.LogCaptureFixture) -> None:
    if trouble == "foreign" and os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    caplog.set_level(logging.WARNING, logger="nitro_dispatch")
    data = valid_cache(site, cache_dir)
    cache_file = the_cache_file(cache_dir)
    doc = _cache.decode(data)
    doc["entries"][str(site)]["dists"][0][4][4][0][0] = "planted"
    planted = _cache.encode(doc)
    if trouble == "symlink":
        elsewhere = tmp_path / "elsewhere"
        elsewhere.write_bytes(planted)
        cache_file.unlink()
        cache_file.symlink_to(elsewhere)
    else:
        cache_file.write_bytes(planted)
        if trouble == "foreign":
            os.chown(cache_file, 65534, 65534)
        else:
            os.chmod(cache_file, 0o620)
    for _ in range(2):
        assert names(site) == ["sturdy"]  # the planted record was not believed
    assert len(warnings_of(caplog)) == 1
    assert str(cache_file) in warnings_of(caplog)[0]
    if trouble == "symlink":
        assert (tmp_path / "elsewhere").read_bytes() == planted  # not written through


@POSIX_ONLY
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="needs root, to give the directory to another user")
def test_directory_owned_by_another_user_is_not_used(site: Path, cache_dir: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """Another user who could create the directory first (a shared
    XDG_CACHE_HOME) must not be able to feed this process records."""
    caplog.set_level(logging.WARNING, logger="nitro_dispatch")
    valid_cache(site, cache_dir)
    cache_file = the_cache_file(cache_dir)
    doc = _cache.decode(cache_file.read_bytes())
    doc["entries"][str(site)]["dists"][0][4][4][0][0] = "planted"
    cache_file.write_bytes(_cache.encode(doc))
    os.chown(cache_dir, 65534, 65534)
    os.chown(cache_file, 65534, 65534)

    assert names(site) == ["sturdy"]
    (warning,) = warnings_of(caplog)
    assert "owned by user id 65534" in warning


# Everything is imported before the switch (fixtures.PRELOAD_BEFORE_SWITCHING_USER).
CHILD_AS_NOBODY = PRELOAD_BEFORE_SWITCHING_USER + """
from nitro_dispatch import list_installed_plugins
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
os.setgid(65534)
os.setuid(65534)
for _ in range(2):
    print(",".join(p.name for p in list_installed_plugins(path=[sys.argv[1]])))
"""


@POSIX_ONLY
@pytest.mark.skipif(not hasattr(os, "setuid") or os.geteuid() != 0,
                    reason="needs root, to run a child as another user")
def test_as_another_user_a_cache_made_by_root_is_not_used(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The real switch of user: a child running as 'nobody' meets a cache
    directory that root made (and filled with a doctored record)."""
    top = tempfile.mkdtemp(prefix="nd-owner-")
    try:
        os.chmod(top, 0o755)
        site = Path(top) / "site"
        make_plugin_dist(site, "sturdy", "1.0", {"sturdy": "sturdy:P"})
        age_tree(site)
        for path in [site, *site.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        cache = Path(top) / "cache"
        env = dict(os.environ, PYTHONPATH=str(REPO), NITRO_DISPATCH_CACHE_DIR=str(cache))
        env.pop("NITRO_DISPATCH_NO_CACHE", None)
        monkeypatch.setenv("NITRO_DISPATCH_CACHE_DIR", str(cache))
        assert names(site) == ["sturdy"]
        cache_file = the_cache_file(cache)
        doc = _cache.decode(cache_file.read_bytes())
        doc["entries"][str(site)]["dists"][0][4][4][0][0] = "planted"
        cache_file.write_bytes(_cache.encode(doc))
        os.chmod(cache, 0o755)
        os.chmod(cache_file, 0o644)

        proc = subprocess.run([sys.executable, "-c", CHILD_AS_NOBODY, str(site)], env=env,
                              capture_output=True, text=True, timeout=60, cwd=top)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == ["sturdy", "sturdy"]
        warnings = [line for line in proc.stderr.splitlines() if line.startswith("WARNING")]
        assert len(warnings) == 1, proc.stderr
        assert "owned by user id 0" in warnings[0]
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_relative_cache_settings_are_ignored(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NITRO_DISPATCH_CACHE_DIR", "relative/cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _cache.cache_dir() == str(tmp_path / "xdg" / "nitro_dispatch")
    monkeypatch.setenv("XDG_CACHE_HOME", "also/relative")
    assert _cache.cache_dir() == str(tmp_path / "home" / ".cache" / "nitro_dispatch")
    monkeypatch.setenv("HOME", "relative-home")
    assert _cache.cache_dir() is None
    monkeypatch.setenv("NITRO_DISPATCH_CACHE_DIR", str(tmp_path / "mine"))
    assert _cache.cache_dir() == str(tmp_path / "mine")


def test_records_of_vanished_path_entries_are_dropped(tmp_path: Path, cache_dir: Path) -> None:
    sites = []
    for i in range(3):
        site = tmp_path / ("env%d" % i)
        make_plugin_dist(site, "p%d" % i, "1.0", {"p%d" % i: "p:P"})
        age_tree(site)
        sites.append(site)
        assert names(site) == ["p%d" % i]  # each listing adds its own record
    cache_file = the_cache_file(cache_dir)
    assert set(_cache.decode(cache_file.read_bytes())["entries"]) == {str(s) for s in sites}

    shutil.rmtree(sites[0])  # a virtual environment deleted
    fresh = tmp_path / "env3"
    make_plugin_dist(fresh, "p3", "1.0", {"p3": "p:P"})
    age_tree(fresh)
    assert names(fresh) == ["p3"]
    entries = _cache.decode(cache_file.read_bytes())["entries"]
    assert set(entries) == {str(sites[1]), str(sites[2]), str(fresh)}

    # A vanished entry on the listed path itself is forgotten too.
    shutil.rmtree(sites[1])
    assert list_installed_plugins(path=[sites[1], sites[2]])[0].name == "p2"
    assert set(_cache.decode(cache_file.read_bytes())["entries"]) == {str(sites[2]), str(fresh)}


def test_reader_never_raises_on_unusable_places(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for directory in (str(blocker), str(blocker / "below")):
        assert _cache.read(directory, "entries-x.marshal") is None
        _cache.write(directory, "entries-x.marshal", {"a": 1})  # quietly does nothing
    assert blocker.read_text() == "x"
    missing = str(tmp_path / "missing" / "cache")
    assert _cache.read(missing, "entries-x.marshal") is None
    assert not os.path.exists(missing)  # reading creates nothing
    _cache.write(missing, "entries-x.marshal", {"a": 1})
    assert _cache.read(missing, "entries-x.marshal") == {"a": 1}


def test_temporary_files_left_by_killed_writers_are_removed(site: Path, cache_dir: Path) -> None:
    valid_cache(site, cache_dir)
    cache_file = the_cache_file(cache_dir)
    stale = cache_dir / (cache_file.name + ".4242-0123456789ab.tmp")
    fresh = cache_dir / (cache_file.name + ".4243-0123456789ab.tmp")  # perhaps being written
    unrelated = cache_dir / "notes.tmp"
    for path in (stale, fresh, unrelated):
        path.write_bytes(b"half a file")
    old = os.stat(stale).st_mtime - _cache.STALE_SECONDS - 60
    os.utime(stale, (old, old))
    os.utime(unrelated, (old, old))

    _cache.write(str(cache_dir), cache_file.name, _cache.decode(cache_file.read_bytes()))
    assert not stale.exists()
    assert fresh.exists() and unrelated.exists()


# -- issue 17: unusable places, symbolic links, other users' homes ------------------

@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd to count")
def test_a_directory_at_the_cache_file_turns_the_cache_off_and_leaks_no_descriptor(
        site: Path, cache_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="nitro_dispatch")
    valid_cache(site, cache_dir)
    cache_file = the_cache_file(cache_dir)
    cache_file.unlink()
    cache_file.mkdir()
    before = sorted(os.listdir("/proc/self/fd"))
    for _ in range(1000):
        assert names(site) == ["sturdy"]  # never IsADirectoryError
    assert sorted(os.listdir("/proc/self/fd")) == before
    (warning,) = warnings_of(caplog)  # the cache is off, said once
    assert str(cache_file) in warning and "not a regular file" in warning


@POSIX_ONLY
def test_the_cache_directory_is_never_followed_through_a_symbolic_link(
        site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="nitro_dispatch")
    shared, victim = tmp_path / "shared", tmp_path / "victim"
    shared.mkdir()
    victim.mkdir(mode=0o700)
    (shared / "nitro_dispatch").symlink_to(victim)  # planted in a shared XDG_CACHE_HOME
    monkeypatch.delenv("NITRO_DISPATCH_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(shared))
    for _ in range(3):
        assert names(site) == ["sturdy"]
    assert list(victim.iterdir()) == []  # nothing written where the link points
    (warning,) = warnings_of(caplog)
    assert str(shared / "nitro_dispatch") in warning and "symbolic link" in warning


@POSIX_ONLY
@pytest.mark.parametrize("mode", [0o755, 0o750, 0o701])
def test_the_cache_directory_must_have_mode_0700(site: Path, cache_dir: Path, mode: int,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="nitro_dispatch")
    cache_dir.mkdir()
    os.chmod(cache_dir, mode)
    for _ in range(3):
        assert names(site) == ["sturdy"]
    assert list(cache_dir.iterdir()) == []
    (warning,) = warnings_of(caplog)
    assert str(cache_dir) in warning and "not 700" in warning
    os.chmod(cache_dir, 0o700)  # a fresh judgement in a fresh process would use it


# A child process: everything it needs is imported before an optional switch
# of user (fixtures.PRELOAD_BEFORE_SWITCHING_USER).
HOME_CHILD = PRELOAD_BEFORE_SWITCHING_USER + textwrap.dedent("""
    from nitro_dispatch import list_installed_plugins
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    site, user, warm = sys.argv[1:4]
    os.environ["NITRO_DISPATCH_CACHE_DIR"] = warm
    list_installed_plugins(path=[site])  # every module a cached listing needs
    del os.environ["NITRO_DISPATCH_CACHE_DIR"]
    if user == "nobody":
        os.setgid(65534)
        os.setuid(65534)
    print(",".join(p.name for p in list_installed_plugins(path=[site])))
""")


@POSIX_ONLY
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="needs root, to run with another user's HOME and to become it")
def test_root_never_creates_directories_in_another_users_home(tmp_path: Path) -> None:
    area = Path(tempfile.mkdtemp(prefix="nd-home-"))  # not under root's 0700 tmp_path
    try:
        os.chmod(area, 0o755)
        home, site = area / "alice", area / "site"
        home.mkdir(mode=0o755)
        os.chown(home, 65534, 65534)
        make_plugin_dist(site, "sturdy", "1.0", {"sturdy": "sturdy:P"})
        age_tree(site)

        def run(user: str) -> "subprocess.CompletedProcess[str]":
            env = dict(os.environ, PYTHONPATH=str(REPO), HOME=str(home))
            for name in ("XDG_CACHE_HOME", "NITRO_DISPATCH_NO_CACHE", "NITRO_DISPATCH_CACHE_DIR"):
                env.pop(name, None)
            proc = subprocess.run([sys.executable, "-c", HOME_CHILD, str(site), user,
                                   str(tmp_path / "warm")], env=env, capture_output=True,
                                  text=True, timeout=60, cwd=str(area))
            assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
            assert proc.stdout.strip() == "sturdy"
            return proc

        proc = run("root")  # root, with alice's HOME
        assert list(home.iterdir()) == []  # no root-owned ~/.cache in alice's home
        (warning,) = [line for line in proc.stderr.splitlines() if line.startswith("WARNING")]
        assert str(home) in warning and "owned by user id 65534" in warning
        run("nobody")  # alice herself can still make her cache
        made = os.lstat(home / ".cache" / "nitro_dispatch")
        assert made.st_uid == 65534 and stat.S_IMODE(made.st_mode) == 0o700
        assert any((home / ".cache" / "nitro_dispatch").glob("*.marshal"))
    finally:
        shutil.rmtree(area)
