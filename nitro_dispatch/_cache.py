"""The listing cache on disk: where it lives, whom it must belong to, and an
envelope that proves a file was written whole by this library (SPEC
section 11).

:mod:`._distributions` decides *what* is cached (records by path entry, one
file per entry-point group), :mod:`._metadata` keeps its verdict store
here too; this module only keeps them safe to store and to read back.

The envelope
------------
A cache file is ``MAGIC``, the payload's length (8 bytes, little endian),
the payload's BLAKE2b-256 digest, then the payload (:mod:`marshal` data).
:func:`decode` checks all three before :mod:`marshal` sees a byte, so a
truncated, damaged or foreign file is ignored (and replaced by the next
listing that scans): ``marshal.loads`` of unchecked bytes can exhaust memory
or crash the interpreter.  A file larger than ``MAX_FILE_SIZE`` is not even
read, so a listing never allocates much more than the file's size.

The checksum is against accident (a torn write, a full disk, a stray editor),
not against an attacker: whoever may write the cache may also write a valid
digest.  What keeps others out is ownership, as for ``~/.ssh``:

* The directory is ``$NITRO_DISPATCH_CACHE_DIR``, else
  ``$XDG_CACHE_HOME/nitro_dispatch``, else ``~/.cache/nitro_dispatch``
  (``%LOCALAPPDATA%\\nitro_dispatch\\Cache`` on Windows).  A relative
  setting is ignored, as the XDG specification asks (it would name a
  different place in every working directory): the next one applies.
* The directory is used only when it is owned by the current (effective)
  user and has mode 0700, and it is never followed through a symbolic link
  (opened with ``O_NOFOLLOW | O_DIRECTORY``; ``lstat`` where directory
  descriptors are missing).  Every cache file in it must be owned by that
  user, not writable by group or others, and a regular file, not a symbolic
  link; a cache file that cannot be opened is unusable too.  Otherwise that
  cache directory is off for the rest of the process, with one warning
  (log record), and listings scan.  (Each directory is judged once per
  process, so an application that changes the setting gets a fresh
  judgement.)  On Windows, where POSIX owners and modes do not apply, these
  checks are skipped.
* A missing directory (and missing parents) is created with mode 0700, and
  only inside a directory the current user owns (or a sticky one such as
  ``/tmp``): root running with another user's ``HOME`` never creates
  ``~/.cache`` in that home (the cache is off instead).  Files are written to a
  temporary file of mode 0600 created exclusively (``O_CREAT | O_EXCL |
  O_NOFOLLOW``) in the directory, then renamed over the cache file with
  ``os.replace``, so a reader sees the old file or the new one, whole.  All
  of it happens relative to one open descriptor of the directory, checked
  once, so the directory cannot be swapped for another in between.  A
  temporary file that a killed writer left behind is removed by the next
  write once it is an hour old.
* A file is opened with ``O_NONBLOCK``, so a FIFO planted in its place can
  never block a listing, and read with plain ``os.read``; its descriptor is
  closed whatever is found there.
"""

from __future__ import annotations

import marshal
import os
import stat
import sys

from ._digest import blake2b
from ._log import get_logger

TYPE_CHECKING = False  # typing costs more to import than a cached listing
if TYPE_CHECKING:
    from typing import Any, Optional, Set

__all__ = ["cache_dir", "file_name", "read", "write", "encode", "decode", "MAGIC",
           "MAX_FILE_SIZE"]

logger = get_logger("nitro_dispatch.distributions")

MAGIC = b"nitro_dispatch listing cache 1\n"
_LENGTH_SIZE = 8
_DIGEST_SIZE = 32
HEADER_SIZE = len(MAGIC) + _LENGTH_SIZE + _DIGEST_SIZE
# A listing of 1,000 distributions caches about 100 kB: a file beyond this
# is not ours (or not worth reading).
MAX_FILE_SIZE = 256 * 1024 * 1024
# marshal format 4 reads back on every Python we support.
_MARSHAL_VERSION = 4

_POSIX = os.name == "posix"
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_READ_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | _O_NOFOLLOW | _O_CLOEXEC
               | getattr(os, "O_BINARY", 0))
_WRITE_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC
                | getattr(os, "O_BINARY", 0))
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _O_NOFOLLOW | _O_CLOEXEC
# Directory-relative file operations, where the platform has them (the set
# lists os.rename, whose implementation os.replace shares).
_AT = _POSIX and {os.open, os.stat, os.unlink, os.rename} <= os.supports_dir_fd

# Directories found unfit (foreign owner, loose permissions): off for the
# process, each warned about once.
_refused: Set[str] = set()


def cache_dir() -> Optional[str]:
    """The cache directory the settings name, or None when the cache is
    turned off (``NITRO_DISPATCH_NO_CACHE``) or no place is known."""
    env = os.environ
    if env.get("NITRO_DISPATCH_NO_CACHE", "") not in ("", "0"):
        return None
    explicit = env.get("NITRO_DISPATCH_CACHE_DIR")
    if explicit and os.path.isabs(explicit):
        return explicit
    if sys.platform == "win32" and env.get("LOCALAPPDATA"):
        local = env["LOCALAPPDATA"]
        if os.path.isabs(local):
            return os.path.join(local, "nitro_dispatch", "Cache")
    xdg = env.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "nitro_dispatch")
    home = os.path.expanduser("~")
    if home == "~" or not os.path.isabs(home):
        return None
    return os.path.join(home, ".cache", "nitro_dispatch")


def file_name(group: str) -> str:
    """The cache file of one entry-point group (the file also records its
    group, so even a collision would only be a cache miss)."""
    return "entries-%s.marshal" % blake2b(group.encode("utf-8", "surrogatepass"), 16).hex()


# -- the envelope -------------------------------------------------------------

def encode(doc: Any) -> bytes:
    """``doc`` as the bytes of a cache file."""
    payload = marshal.dumps(doc, _MARSHAL_VERSION)
    return b"".join((MAGIC, len(payload).to_bytes(_LENGTH_SIZE, "little"),
                     blake2b(payload, _DIGEST_SIZE), payload))


def decode(data: bytes) -> Optional[Any]:
    """What :func:`encode` was given, or None when ``data`` is not a whole
    cache file written by it.  Never raises; nothing is unmarshalled before
    the magic, the length and the digest have been checked."""
    try:
        if len(data) < HEADER_SIZE or not data.startswith(MAGIC):
            return None
        start = len(MAGIC)
        length = int.from_bytes(data[start:start + _LENGTH_SIZE], "little")
        if length != len(data) - HEADER_SIZE:
            return None
        view = memoryview(data)[HEADER_SIZE:]
        if blake2b(view, _DIGEST_SIZE) != data[start + _LENGTH_SIZE:HEADER_SIZE]:
            return None
        return marshal.loads(view)
    except Exception:  # data we wrote ourselves, and yet unreadable
        return None


# -- the directory and its files -----------------------------------------------

def read(directory: str, name: str) -> Optional[Any]:
    """The document in cache file ``name`` of ``directory``, or None when it
    is absent, unfit or not written whole by :func:`write`.  Never raises."""
    dfd = _open_directory(directory, create=False)
    if dfd is None:
        return None
    try:
        data = _read_file(directory, dfd, name)
    finally:
        if dfd >= 0:
            os.close(dfd)
    if data is None:
        return None
    doc = decode(data)
    if doc is None:
        logger.debug("ignoring cache file %s: not written whole by nitro_dispatch",
                     os.path.join(directory, name))
    return doc


def write(directory: str, name: str, doc: Any) -> None:
    """Store ``doc`` as cache file ``name`` of ``directory`` (created if
    missing).  Failures are logged at debug level, never raised."""
    try:
        data = encode(doc)
    except ValueError as exc:  # not marshallable: a bug, but not the caller's problem
        logger.debug("cannot encode the listing cache: %s", exc)
        return
    dfd = _open_directory(directory, create=True)
    if dfd is None:
        return
    try:
        _write_file(directory, dfd, name, data)
        _sweep(directory, dfd)
    finally:
        if dfd >= 0:
            os.close(dfd)


def _open_directory(directory: str, create: bool) -> Optional[int]:
    """A descriptor of the checked cache directory (-1 where the platform
    has no directory-relative calls), or None when it is missing (and not
    to be created), unusable or refused."""
    if directory in _refused:
        return None
    for attempt in (1, 2):
        try:
            if _AT:
                dfd = os.open(directory, _DIR_FLAGS)
                st = os.fstat(dfd)
            else:
                dfd, st = -1, os.lstat(directory)
        except FileNotFoundError:
            if not create or attempt == 2:
                return None
            if not _create_directory(directory):
                return None
            continue
        except OSError as exc:
            if os.path.islink(directory):
                _refuse(directory, "the directory %s is a symbolic link" % (directory,))
            elif os.path.exists(directory) and not os.path.isdir(directory):
                _refuse(directory, "%s is not a directory" % (directory,))
            else:
                logger.debug("cannot open cache directory %s: %s", directory, exc)
            return None
        if stat.S_ISLNK(st.st_mode):
            problem: Optional[str] = "a symbolic link"
        elif not stat.S_ISDIR(st.st_mode):
            problem = "not a directory"
        else:
            problem = _unfit(st, private=True)
        if problem is None:
            return dfd
        if dfd >= 0:
            os.close(dfd)
        _refuse(directory, "the directory %s is %s" % (directory, problem))
        return None
    return None  # pragma: no cover - the loop always returns


def _create_directory(directory: str) -> bool:
    """Create the missing cache directory (mode 0700) and its missing
    parents, each only inside a directory the current user owns (or a
    sticky one such as ``/tmp``): root running with another user's
    ``HOME`` never creates ``~/.cache`` in that home."""
    missing = []
    parent = directory
    while True:
        try:
            st = os.stat(parent)
            break
        except FileNotFoundError:
            missing.append(parent)
            up = os.path.dirname(parent)
            if up == parent:
                return False
            parent = up
        except OSError as exc:
            logger.debug("cannot create cache directory %s: %s", directory, exc)
            return False
    if _POSIX and st.st_uid != os.geteuid() and not st.st_mode & stat.S_ISVTX:
        if not os.access(parent, os.W_OK, effective_ids=os.access in os.supports_effective_ids):
            logger.debug("cannot create cache directory %s: %s is not writable", directory,
                         parent)
            return False  # nothing could be created there anyway: no warning
        _refuse(directory, "creating it would create %s in %s, which is owned by user id %d, "
                "not by the current user (%d)" % (missing[-1], parent, st.st_uid, os.geteuid()))
        return False
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            logger.debug("cannot create cache directory %s: %s", directory, exc)
            return False
    return True


def _read_file(directory: str, dfd: int, name: str) -> Optional[bytes]:
    path = os.path.join(directory, name)
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=dfd) if dfd >= 0 else os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if _O_NOFOLLOW and os.path.islink(path):
            _refuse(directory, "the cache file %s is a symbolic link" % (path,))
        else:
            _refuse(directory, "the cache file %s cannot be opened: %s"
                    % (path, exc.strerror or exc))
        return None
    try:  # plain os.read on the descriptor, closed whatever happens
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            problem: Optional[str] = "not a regular file"
        else:
            problem = _unfit(st)
        if problem is not None:
            _refuse(directory, "the cache file %s is %s" % (path, problem))
            return None
        if st.st_size > MAX_FILE_SIZE:
            logger.debug("ignoring cache file %s: %d bytes", path, st.st_size)
            return None
        chunks = []
        size = 0
        while size < st.st_size:  # a file that grows meanwhile fails the length check
            chunk = os.read(fd, st.st_size - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError as exc:
        logger.debug("cannot read cache file %s: %s", path, exc)
        return None
    finally:
        os.close(fd)


def _write_file(directory: str, dfd: int, name: str, data: bytes) -> None:
    tmp = "%s.%d-%s.tmp" % (name, os.getpid(), os.urandom(6).hex())
    at = dfd >= 0

    def full(rel: str) -> str:
        return os.path.join(directory, rel)

    try:
        fd = os.open(tmp, _WRITE_FLAGS, 0o600, dir_fd=dfd) if at else \
            os.open(full(tmp), _WRITE_FLAGS, 0o600)
    except OSError as exc:
        logger.debug("cannot write cache file %s: %s", full(name), exc)
        return
    try:
        with open(fd, "wb") as f:
            f.write(data)
        if at:
            os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        else:
            os.replace(full(tmp), full(name))
    except OSError as exc:
        logger.debug("cannot write cache file %s: %s", full(name), exc)
        try:
            if at:
                os.unlink(tmp, dir_fd=dfd)
            else:
                os.unlink(full(tmp))
        except OSError:
            pass


# A temporary file older than this was left by a process that died while
# writing: removed by the next write.
STALE_SECONDS = 3600


def _sweep(directory: str, dfd: int) -> None:
    """Remove temporary files that writers killed mid-write left behind."""
    import time

    limit = time.time() - STALE_SECONDS
    try:
        with os.scandir(dfd if dfd >= 0 else directory) as it:
            stale = [e.name for e in it
                     if e.name.startswith(("entries-", "verdicts.")) and e.name.endswith(".tmp")
                     and e.stat(follow_symlinks=False).st_mtime < limit]
        for tmp in stale:
            if dfd >= 0:
                os.unlink(tmp, dir_fd=dfd)
            else:
                os.unlink(os.path.join(directory, tmp))
    except OSError as exc:
        logger.debug("cannot clean cache directory %s: %s", directory, exc)


def _unfit(st: os.stat_result, private: bool = False) -> Optional[str]:
    """Why a file or directory with this stat may not be trusted, or None
    (``private``: the directory, which must have mode 0700)."""
    if not _POSIX:
        return None
    uid = os.geteuid()
    if st.st_uid != uid:
        return "owned by user id %d, not by the current user (%d)" % (st.st_uid, uid)
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "writable by group or others (mode %03o)" % (stat.S_IMODE(st.st_mode),)
    if private and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        return "open to group or others (mode %03o, not 700)" % (stat.S_IMODE(st.st_mode),)
    return None


def _refuse(directory: str, reason: str) -> None:
    _refused.add(directory)
    logger.warning("not using the listing cache in %s for this process: %s",
                   directory, reason)
