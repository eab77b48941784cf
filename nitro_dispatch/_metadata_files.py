"""One distribution's metadata, read by importlib.metadata's own parsers
(SPEC section 14).

This module owns the step from a distribution's files to what the listing
keeps of it: :func:`describe` takes any ``importlib.metadata.Distribution``
(a metadata folder read by :class:`FolderDistribution`, a distribution in a
zip archive, one that a custom ``sys.meta_path`` finder provides) and
returns its name, version, ``Summary``, requirements and the entry points
of one group, exactly as importlib.metadata gives them:

* core metadata (``METADATA``, ``PKG-INFO``) through the ``email`` parser,
  as ``Distribution.metadata`` reads it, so a multi-line header with a
  whitespace-only continuation line is one header, as there;
* requirements as ``Distribution.requires`` gives them: the
  ``Requires-Dist`` headers, else an egg-info ``requires.txt`` with its
  ``[extra]`` and ``[:marker]`` sections turned into markers;
* ``entry_points.txt`` through ``Distribution.entry_points`` (its sections,
  names, values with extras, comments and duplicates); ``module`` and
  ``attr`` through ``EntryPoint.pattern``.

Only the reading of files is ours (:class:`FolderDistribution`): metadata
files are opened without blocking and read only when they are regular
files, and every file read is remembered with its stat, so the listing's
cache can tell when any of them changes.  Importing this module imports
``importlib.metadata``; the listing imports it only when it must parse.
"""

from __future__ import annotations

import os
import sys

if sys.version_info >= (3, 10):
    from importlib import metadata
else:  # pragma: no cover - the backport, as the SPEC asks for Python 3.9
    import importlib_metadata as metadata

from ._safe_read import Unreadable, read_bytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Tuple

__all__ = ["FolderDistribution", "MetadataProblem", "describe", "header",
           "entry_point_parts", "metadata"]


class MetadataProblem(Exception):
    """Metadata that importlib.metadata cannot parse either (an
    ``entry_points.txt`` line without ``=``, bytes that are not UTF-8)."""


_CORE_METADATA = ("METADATA", "PKG-INFO", "")  # "": a PKG-INFO style file itself


class FolderDistribution(metadata.Distribution):
    """A metadata folder (``*.dist-info``, ``*.egg-info``, an egg's
    ``EGG-INFO``) or a PKG-INFO style egg-info file, as
    ``importlib.metadata.PathDistribution`` reads it, but through
    :func:`._safe_read.read_bytes`; ``read`` holds ``[relative path, mtime_ns, size,
    inode]`` of each file read (relative to the path entry ``root``), and
    ``missing`` tells whether a file was looked for in vain.

    :meth:`given` hands it a file the caller has read already.
    """

    def __init__(self, root: str, folder: str) -> None:
        self.root = root
        self.folder = folder
        self.path = os.path.join(root, folder)
        self.read: List[List[Any]] = []
        self.missing = False  # a file was looked for and not found
        self.texts: Dict[str, Optional[str]] = {}
        self.parsed: Any = None

    def given(self, filename: str, data: bytes, st: os.stat_result) -> None:
        """Take ``filename``'s content as read by the caller (may raise
        :class:`MetadataProblem`, as reading it would)."""
        self.texts[filename] = self.decode(filename, data, st)

    @property
    def metadata(self) -> Any:
        """``Distribution.metadata``, parsed once (``requires`` asks again)."""
        if self.parsed is None:
            self.parsed = super().metadata
        return self.parsed

    def read_text(self, filename: str) -> Optional[str]:
        """The file's text (of core metadata, its header block), or None
        when it is missing.  Text is UTF-8 with universal newlines, as
        importlib.metadata reads it; bytes that are
        not UTF-8 are replaced (core metadata, requires.txt) or make
        ``entry_points.txt`` a :class:`MetadataProblem` (importlib.metadata
        raises for both)."""
        if filename in self.texts:
            return self.texts[filename]
        try:
            data, st = read_bytes(os.path.join(self.path, filename) if filename else self.path)
        except (FileNotFoundError, NotADirectoryError):
            text = None
            self.missing = True
        else:
            text = self.decode(filename, data, st)
        self.texts[filename] = text
        return text

    def decode(self, filename: str, data: bytes, st: os.stat_result) -> str:
        rel = os.path.join(self.folder, filename) if filename else self.folder
        self.read.append([rel, st.st_mtime_ns, st.st_size, st.st_ino])
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if filename == "entry_points.txt":
                raise MetadataProblem("entry_points.txt is not UTF-8 (%s)" % (exc,)) from None
            text = data.decode("utf-8", "replace")
        if "\r" in text:  # universal newlines, as a file opened for text reads
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if filename in _CORE_METADATA:
            # Only headers are read from core metadata: the email parser
            # sees them up to the first empty line, which always lies at or
            # after their end, so they parse exactly as from the whole file,
            # without the body (a long description, often most of it).
            end = text.find("\n\n")
            if end >= 0:
                text = text[:end + 1]
        return text

    def locate_file(self, path: Any) -> Any:
        import pathlib

        return pathlib.Path(self.root, path)


def header(meta: Any, name: str) -> Optional[str]:
    """One header of parsed core metadata ``meta`` (``dist.metadata``): the
    first, as ``meta[name]`` gives it, or None."""
    value = None if meta is None else meta.get(name)  # None: no metadata (newer Pythons)
    return None if value is None else str(value)


def entry_point_parts(value: str) -> Tuple[str, str]:
    """``(module, attr)`` of an entry point's value as
    ``importlib.metadata.EntryPoint`` parses it (``attr`` ``""`` when the
    value names a module; both ``""`` when it does not parse)."""
    match = metadata.EntryPoint.pattern.match(value)
    if match is None:
        return "", ""
    return match.group("module"), match.group("attr") or ""


def describe(dist: Any, group: str) -> Optional[List[Any]]:
    """``[name, version, summary, requires, plugins]`` of a distribution
    that advertises entry points in ``group`` (``plugins``: ``[[name, value,
    module, attr], ...]`` in file order, duplicates kept), else None.
    ``name``/``version`` are None when the headers are missing; ``summary``
    is ``""`` then.  Raises :class:`MetadataProblem` for an
    ``entry_points.txt`` that importlib.metadata cannot parse, and
    :class:`Unreadable`."""
    try:
        eps = [ep for ep in dist.entry_points if ep.group == group]
    except (Unreadable, MetadataProblem):
        raise
    except Exception as exc:  # Pair.parse of a line without "="
        raise MetadataProblem("entry_points.txt does not parse (%s: %s)"
                              % (type(exc).__name__, exc)) from None
    if not eps:
        return None
    plugins = [[ep.name, ep.value, *entry_point_parts(ep.value)] for ep in eps]
    meta = dist.metadata  # importlib.metadata's adapter: multi-line values re-indented
    # Distribution.requires: the Requires-Dist headers, else requires.txt.
    requires = (meta is not None and meta.get_all("Requires-Dist")) or dist.requires or []
    return [header(meta, "Name"), header(meta, "Version"), header(meta, "Summary") or "",
            [str(r) for r in requires], plugins]
