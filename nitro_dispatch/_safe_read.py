"""Reading one metadata file without trusting what is in its place (SPEC
section 11).

This module owns :func:`read_bytes`: a metadata file is opened without
blocking (a FIFO planted in its place never hangs a listing) and read only
when it is a regular file; anything else that is there but cannot be read
is :class:`Unreadable`, which the listing reports and skips.  Reads are
bounded (``limit``, ``MAX_BYTES`` unless given): a file larger than that, or
one that keeps growing while it is read, is :class:`Unreadable` too.  Drop-in
files are read (and imported) through it as well; :func:`stat_regular`
makes the same refusals from a ``stat`` alone, for a caller that may never
need the content (a drop-in whose ``.pyc`` is valid).
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False  # typing costs more to import than a cached listing
if TYPE_CHECKING:
    from typing import List, Optional, Tuple

__all__ = ["Unreadable", "read_bytes", "stat_regular", "reason", "MAX_BYTES"]

# No metadata or plugin source file comes near this: a file beyond it is not
# one (or not worth a listing's memory).
MAX_BYTES = 64 * 1024 * 1024

_READ_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


class Unreadable(Exception):
    """A metadata folder or file that is there but cannot be read (denied,
    a FIFO, device or directory in a file's place, a symlink loop)."""


def reason(exc: OSError) -> str:
    """An OSError in a few words."""
    return exc.strerror or str(exc)


def stat_regular(path: str, limit: int = MAX_BYTES) -> os.stat_result:
    """The stat of the regular file at ``path`` (symbolic links followed),
    without opening it: what :func:`read_bytes` would refuse before reading
    (a FIFO, device or directory in a file's place, a file beyond ``limit``)
    is :class:`Unreadable`.  FileNotFoundError and NotADirectoryError
    propagate, as from :func:`read_bytes`."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise
    except OSError as exc:  # a symlink loop, a denied directory
        raise Unreadable("%s: %s" % (os.path.basename(path), reason(exc))) from None
    if not stat.S_ISREG(st.st_mode):
        raise Unreadable("%s is not a regular file" % (os.path.basename(path),))
    if st.st_size > limit:
        raise Unreadable("%s is larger than %d bytes" % (os.path.basename(path), limit))
    return st


def read_bytes(path: str, dir_fd: Optional[int] = None,
               limit: int = MAX_BYTES) -> Tuple[bytes, os.stat_result]:
    """The content of the regular file at ``path`` (relative to the open
    directory ``dir_fd`` when given) and its stat, at most ``limit`` bytes.  FileNotFoundError and
    NotADirectoryError propagate (a missing file is normal); any other
    failure is :class:`Unreadable`."""
    try:
        fd = os.open(path, _READ_FLAGS, dir_fd=dir_fd)
    except (FileNotFoundError, NotADirectoryError):
        raise
    except OSError as exc:
        raise Unreadable("%s: %s" % (os.path.basename(path), reason(exc))) from None
    try:  # plain os.read: a file object costs more than reading a small file
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Unreadable("%s is not a regular file" % (os.path.basename(path),))
        if st.st_size > limit:
            raise Unreadable("%s is larger than %d bytes" % (os.path.basename(path), limit))
        data = os.read(fd, st.st_size + 1)
        if len(data) == st.st_size:  # the whole file, as fstat saw it
            return data, st
        chunks: List[bytes] = [data]  # a short read, or it grew: read to the end
        size = len(data)
        while data:
            data = os.read(fd, 65536)
            chunks.append(data)
            size += len(data)
            if size > limit:
                raise Unreadable("%s is larger than %d bytes" % (os.path.basename(path), limit))
        return b"".join(chunks), st
    except OSError as exc:
        raise Unreadable("%s: %s" % (os.path.basename(path), reason(exc))) from None
    finally:
        os.close(fd)
