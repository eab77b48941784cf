"""Installed plugins, read from distribution metadata alone (SPEC section 3).

:func:`list_installed_plugins` answers "which plugins are installed here?"
without importing any plugin code: for every directory on the search path
(``sys.path`` by default) it lists the ``*.dist-info`` and ``*.egg-info``
folders (and the ``EGG-INFO`` folder of an unzipped ``.egg`` on the path),
reads each one's ``entry_points.txt`` and, only for the distributions that
advertise the group, the ``Name``, ``Version`` and ``Requires-Dist`` headers
of ``METADATA`` (``PKG-INFO`` for egg-info).  :func:`load_entry_point` imports one of them.

Decisions, where importlib.metadata is the reference:

* The same distribution twice on the path (equal normalized names, taken
  from the folder name as importlib.metadata does) is listed once: the first
  occurrence on the path wins.  Within one directory folders are taken in
  sorted order (importlib.metadata takes ``os.listdir`` order; two versions
  of one distribution in one directory is a broken install either way).
  Two *different* distributions that claim one plugin name are both listed;
  the manager reports the conflict.
* Path entries that are files (zip archives, zipped eggs) are handed to
  ``importlib.metadata``, imported only when such an entry exists; their
  result is cached like a directory's, checked by the file's own stat.  Missing entries are skipped.
* ``entry_points.txt`` is parsed here (``[group]`` sections, ``name =
  module:attr [extras]`` lines, ``#``/``;`` comments).  A malformed line, a
  duplicate name within one distribution, or an undecodable file is skipped
  with a debug log line; extras are dropped from ``value``.
* ``location`` is the absolute path of the path entry the plugin was found in.
* An entry that is there but cannot be read (a symlink loop or dangling
  link named like a metadata folder, a folder or file permission denied, a
  FIFO, device or directory where ``entry_points.txt`` or ``METADATA``
  should be) is skipped with a warning; the other distributions of the path
  entry are still listed.  Metadata files are opened without blocking and
  read only when they are regular files.  A path entry with a skipped
  entry is not cached, so it is read again next time, never remembered as
  empty.

The on-disk cache
-----------------
A repeated listing must cost much less than a scan, yet see an install,
uninstall or upgrade at once.  One file per entry-point group keeps, for
each path entry, what its scan found; it lives in ``$NITRO_DISPATCH_CACHE_DIR``, else
``$XDG_CACHE_HOME/nitro_dispatch``, else ``~/.cache/nitro_dispatch``
(``%LOCALAPPDATA%\\nitro_dispatch\\Cache`` on Windows).  It is reused only when:

* the directory's ``st_mtime_ns`` and inode are unchanged: installers create
  and remove metadata folders, which changes them; and
* for every distribution in it, the ``entry_points.txt`` (or, when it has
  none, the metadata folder itself) has the same mtime, size and inode.  This
  catches what the directory's mtime misses: an ``entry_points.txt`` (and
  with it usually ``PKG-INFO``) rewritten in place, as ``setup.py develop``
  and other in-place re-installs do, or one created in an existing folder.
  It costs one ``stat`` per distribution, under a millisecond at 1,000
  distributions (measured: a cached listing then takes an eighth of
  importlib.metadata's scan).  A METADATA-only rewrite in place (the
  version changed, entry_points.txt untouched) is the one change left
  unseen; no installer we know of does that.

Timestamps have a granularity (a kernel tick, or a second on some file
systems), so a change in the same tick as a scan could keep the mtime the
scan saw.  As git does for its index, a scan whose directory or files were
modified less than two seconds before it started is not written to the
cache: the next listing scans again.  Writes go to a temporary file and are
moved into place with ``os.replace``.  The format is :mod:`marshal`
(built in, so a cached listing imports nothing; ``json`` alone would cost a
millisecond) inside a checked envelope; a corrupt, foreign or unwritable
cache is ignored (debug log) and never breaks a listing, and a cache
directory or file owned or writable by another user is not used at all
(one warning): see :mod:`._cache`.  Setting ``NITRO_DISPATCH_NO_CACHE=1``
turns the cache off.  Records of path entries that no longer exist are
dropped whenever the file is written; the cache directory may be deleted at
any time.
"""

from __future__ import annotations

import os
import stat
import sys
import time

from . import _cache  # the listing always needs it: imported with this module
from ._log import get_logger
from ._source import DEFAULT_GROUP, canonical_name

TYPE_CHECKING = False  # typing costs more to import than a cached listing
if TYPE_CHECKING:
    from typing import Any, Dict, Iterable, List, Optional, Set, Tuple, Union

__all__ = ["InstalledPlugin", "list_installed_plugins", "load_entry_point", "DEFAULT_GROUP"]

logger = get_logger("nitro_dispatch.distributions")

_CACHE_FORMAT = 3
# A file modified less than this long before a scan may still change within
# the same timestamp tick: such a scan is not cached.
_RACY_NS = 2_000_000_000

# One distribution found in a path entry, as kept in memory and in the cache:
# [normalized name, path to stat (relative to the entry, or None), mtime_ns,
#  size, inode] and, for a distribution that advertises the group,
# [..., dist name, dist version, [[plugin name, value], ...],
#  [Requires-Dist string, ...]].  Other distributions' versions are read from
# their folder names on demand (see _requirements.py).
if TYPE_CHECKING:
    _Dist = List[Any]


class InstalledPlugin:
    """One entry point of the plugin group in an installed distribution.

    ``module`` and ``attr`` are derived from ``value`` (``"module:attr"``;
    ``attr`` is ``""`` when the entry point names a module).
    """

    __slots__ = ("name", "value", "module", "attr", "group", "dist_name", "dist_version",
                 "location", "requires")

    name: str
    value: str
    module: str
    attr: str
    group: str
    dist_name: str
    dist_version: str
    location: str
    requires: Tuple[str, ...]  # the distribution's Requires-Dist, as written

    def __init__(self, name: str, value: str, group: str, dist_name: str,
                 dist_version: str, location: str, requires: Iterable[str] = ()) -> None:
        self.name = name
        self.value = value
        module, _, attr = value.partition(":")
        self.module = module.strip()
        self.attr = attr.strip()
        self.group = group
        self.dist_name = dist_name
        self.dist_version = dist_version
        self.location = location
        self.requires = tuple(requires)

    def _key(self) -> Tuple[str, ...]:
        return (self.name, self.value, self.group, self.dist_name, self.dist_version,
                self.location)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, InstalledPlugin):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return ("InstalledPlugin(name=%r, value=%r, group=%r, dist_name=%r, dist_version=%r, "
                "location=%r)" % self._key())

    def to_dict(self) -> Dict[str, Any]:
        """The record as a plain dict (for JSON output; ``requires`` a list)."""
        out: Dict[str, Any] = {slot: getattr(self, slot) for slot in self.__slots__}
        out["requires"] = list(self.requires)
        return out


def list_installed_plugins(
        group: str = DEFAULT_GROUP,
        path: Optional[Iterable[Union[str, os.PathLike[str]]]] = None) -> List[InstalledPlugin]:
    """Every plugin advertised under ``group`` by the distributions on
    ``path`` (default ``sys.path``), sorted by name, then distribution name.

    Reads metadata only; never imports plugin code.  ``path`` is a list of
    directories: a single ``str``, ``bytes`` or path object raises
    ``TypeError`` (it would be read as a list of one-letter entries).
    """
    if isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError("path must be a list of directories, not a single %s (%r); "
                        "write path=[%r]" % (type(path).__name__, path, path))
    return _list_installed(group, path, None)


def _list_installed(group: str, path: Optional[Iterable[Union[str, os.PathLike[str]]]],
                    index: Optional[List[Tuple[str, List[_Dist]]]]) -> List[InstalledPlugin]:
    """:func:`list_installed_plugins`; ``index``, when given, also receives
    every path entry's distributions, in path order: (path entry, records)
    (the first of a name on the path is the one installed)."""
    entries = sys.path if path is None else path
    cache_dir = _cache_dir()
    cached = _read_cache(cache_dir, group) if cache_dir else {}
    updates: Dict[str, Any] = {}  # path entry -> new record (None: forget it)
    roots_seen: Set[str] = set()
    dists_seen: Set[str] = set()
    found: List[InstalledPlugin] = []
    for entry in entries:
        root = os.path.abspath(os.fspath(entry) or ".")
        if root in roots_seen:
            continue
        roots_seen.add(root)
        dists = _entry_dists(root, group, cached, updates)
        if index is not None:
            index.append((root, dists))
        for dist in dists:
            norm = dist[0]
            if norm in dists_seen:
                continue
            dists_seen.add(norm)
            if len(dist) > 5:
                for name, value in dist[7]:
                    found.append(InstalledPlugin(name, value, group, dist[5], dist[6], root,
                                                 dist[8]))
    if cache_dir is not None and updates:
        for root, record in updates.items():
            if record is None:
                cached.pop(root, None)
            else:
                cached[root] = record
        _write_cache(cache_dir, group, cached)
    found.sort(key=lambda p: (p.name, p.dist_name))
    return found


def load_entry_point(plugin: InstalledPlugin) -> Any:
    """Import ``plugin.module`` and return the object ``plugin.attr`` names
    (dotted attributes are followed).  Errors propagate."""
    import importlib

    obj: Any = importlib.import_module(plugin.module)
    if plugin.attr:
        for part in plugin.attr.split("."):
            obj = getattr(obj, part)
    return obj


# -- one path entry ---------------------------------------------------------

def _entry_dists(root: str, group: str, cached: Dict[str, Any],
                 updates: Dict[str, Any]) -> List[_Dist]:
    """The distributions of one path entry, from the cache when its record
    is still valid; a fresh scan goes into ``updates``."""
    try:
        st = os.stat(root)
    except OSError:
        if root in cached:
            updates[root] = None  # gone (or unreadable): forget it
        return []
    is_dir = stat.S_ISDIR(st.st_mode)
    if not is_dir and not stat.S_ISREG(st.st_mode):
        return []
    key = (st.st_mtime_ns, st.st_size, st.st_ino)
    record = cached.get(root)
    if record is not None:
        dists = _valid_record(root, record, key, is_dir)
        if dists is not None:
            return dists
    started = time.time_ns()
    skipped: List[str] = []
    dists = (_scan_directory(root, group, skipped) if is_dir
             else _scan_file(root, group, skipped))
    # Not cached when modified too recently to trust the mtime (not logged:
    # logging would be imported on every listing of such a path), nor when
    # an entry could not be read: it is read again next time, not
    # remembered as empty.
    racy = started - _RACY_NS
    if not skipped and st.st_mtime_ns < racy and \
            all(d[2] < racy for d in dists if d[1] is not None):
        updates[root] = {"stat": key, "dists": dists}
    elif record is not None:
        updates[root] = None
    return dists


class _Unreadable(Exception):
    """A metadata folder or file that is there but cannot be read."""


def _skip(path: str, reason: object, skipped: List[str]) -> None:
    """SPEC section 11: one unreadable entry is skipped, with a warning;
    the others are still listed."""
    logger.warning("skipping unreadable %s: %s", path, reason)
    skipped.append(path)


def _scan_directory(root: str, group: str, skipped: List[str]) -> List[_Dist]:
    entries: List[Tuple[str, bool]] = []
    try:
        with os.scandir(root) as it:
            for e in it:
                if not e.name.lower().endswith((".dist-info", ".egg-info")) and \
                        e.name != "EGG-INFO":
                    continue
                try:
                    entries.append((e.name, e.is_dir()))
                except OSError as exc:  # a symlink loop, a denied permission, ...
                    _skip(os.path.join(root, e.name), _reason(exc), skipped)
    except OSError as exc:
        _skip(root, "cannot list the directory: %s" % (_reason(exc),), skipped)
    entries.sort()
    dists: List[_Dist] = []
    if root.lower().endswith(".egg"):
        # An unzipped egg on the path: its metadata is in EGG-INFO.
        for fname, is_dir in entries:
            if is_dir and fname == "EGG-INFO":
                egg = os.path.basename(root)
                try:
                    dists.append(_read_dist(root, fname, egg[:-4], "PKG-INFO", group))
                except _Unreadable as exc:
                    _skip(os.path.join(root, fname), exc, skipped)
    for fname, is_dir in entries:
        low = fname.lower()
        if low.endswith(".dist-info"):
            meta = "METADATA"
        elif low.endswith(".egg-info"):
            meta = "PKG-INFO"
        else:
            continue
        stem = fname[:-len(".dist-info")] if meta == "METADATA" else fname[:-len(".egg-info")]
        try:
            if is_dir:
                dist = _read_dist(root, fname, stem, meta, group)
            elif meta == "PKG-INFO":
                # A PKG-INFO style egg-info *file*: a distribution without entry points.
                dist = _stat_only(root, fname, stem)
            else:  # a file, or a dangling symbolic link
                raise _Unreadable("not a directory")
        except _Unreadable as exc:
            _skip(os.path.join(root, fname), exc, skipped)
            continue
        dists.append(dist)
    return dists


def _stat_only(root: str, rel: str, stem: str) -> _Dist:
    try:
        st = os.stat(os.path.join(root, rel))
    except OSError as exc:
        raise _Unreadable(_reason(exc)) from None
    return [_normalize(stem.partition("-")[0]), rel, st.st_mtime_ns, st.st_size, st.st_ino]


# Metadata files are opened without blocking (a FIFO in their place) and
# read only when regular files.
_READ_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


def _open_regular(path: str) -> Tuple[int, os.stat_result]:
    """A descriptor of the regular file at ``path``, and its stat.  FileNotFoundError
    propagates (a missing file is normal); any other failure, or a FIFO,
    device or directory in the file's place, is :class:`_Unreadable`."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise _Unreadable("%s: %s" % (os.path.basename(path), _reason(exc))) from None
    try:
        st = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        raise _Unreadable("%s: %s" % (os.path.basename(path), _reason(exc))) from None
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise _Unreadable("%s is not a regular file" % (os.path.basename(path),))
    return fd, st


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _read_dist(root: str, folder: str, stem: str, meta: str, group: str) -> _Dist:
    """One metadata folder: its entry points of ``group`` and, if it has any,
    its name and version.  Raises :class:`_Unreadable`."""
    ep_rel = os.path.join(folder, "entry_points.txt")
    ep_path = os.path.join(root, ep_rel)
    try:
        fd, st = _open_regular(ep_path)
    except FileNotFoundError:
        return _stat_only(root, folder, stem)
    with open(fd, "rb") as f:
        try:
            data = f.read()
        except OSError as exc:
            raise _Unreadable("entry_points.txt: %s" % (_reason(exc),)) from None
    dist = [_normalize(stem.partition("-")[0]), ep_rel, st.st_mtime_ns, st.st_size, st.st_ino]
    if group.encode("utf-8") not in data:
        return dist
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        logger.debug("skipping %s: not UTF-8 (%s)", ep_path, exc)
        return dist
    plugins = _parse_entry_points(text, group, ep_path)
    if plugins:
        name, version, requires = _read_headers(os.path.join(root, folder, meta))
        if not name:
            logger.debug("%s has no Name header; using the folder name", folder)
            name = stem.partition("-")[0]
        if version is None:
            version = stem.partition("-")[2].partition("-")[0]
        dist.extend([name, version, plugins, requires])
    return dist


def _scan_file(root: str, group: str, skipped: List[str]) -> List[_Dist]:
    """A zip archive on the path: importlib.metadata reads those."""
    from importlib import metadata

    dists: List[_Dist] = []
    try:
        for d in metadata.distributions(path=[root]):
            name = d.metadata["Name"] or ""
            dist: _Dist = [_normalize(name), None, 0, 0, 0]
            plugins = []
            for ep in d.entry_points:
                if ep.group != group:
                    continue
                value = _parse_value(ep.value)
                if value is None:
                    logger.debug("skipping malformed entry point %r in %s (%s)",
                                 ep.value, name, root)
                else:
                    plugins.append([ep.name, value])
            if plugins:
                dist.extend([name, d.version or "", plugins, list(d.requires or ())])
            dists.append(dist)
    except Exception as exc:  # a bad archive must not break the listing
        _skip(root, "cannot read distributions: %s" % (exc,), skipped)
    return dists


# -- parsing ----------------------------------------------------------------

def _parse_entry_points(text: str, group: str, source: str) -> List[List[str]]:
    """``[[name, "module:attr"], ...]`` of ``group`` in an entry_points.txt."""
    found: List[List[str]] = []
    names: Set[str] = set()
    in_group = False
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line[0] == "[":
            if line[-1] != "]":
                logger.debug("%s:%d: malformed section header %r", source, lineno, line)
                in_group = False
            else:
                in_group = line[1:-1].strip() == group
            continue
        if not in_group:
            continue
        name, sep, rest = line.partition("=")
        name = name.strip()
        value = _parse_value(rest) if sep else None
        if not name or value is None:
            logger.debug("%s:%d: skipping malformed entry point %r", source, lineno, line)
        elif name in names:
            logger.debug("%s:%d: skipping duplicate entry point %r", source, lineno, name)
        else:
            names.add(name)
            found.append([name, value])
    return found


def _parse_value(text: str) -> Optional[str]:
    """``module[:attr]`` without extras, or None when malformed."""
    text = text.strip()
    if "[" in text:
        text, _, extras = text.partition("[")
        if not extras.rstrip().endswith("]"):
            return None
        text = text.rstrip()
    module, sep, attr = text.partition(":")
    module, attr = module.strip(), attr.strip()
    if not _is_dotted(module) or (sep and not _is_dotted(attr)):
        return None
    return module + ":" + attr if sep else module


def _is_dotted(text: str) -> bool:
    return all(part.isidentifier() for part in text.split("."))


def _read_headers(path: str) -> Tuple[Optional[str], Optional[str], List[str]]:
    """The Name, Version and Requires-Dist headers of a METADATA / PKG-INFO
    file (None and [] when it is missing; egg-info keeps requirements in
    ``requires.txt`` instead: those are not read).  Raises
    :class:`_Unreadable`."""
    name = version = None
    requires: List[str] = []
    try:
        with open(_open_regular(path)[0], encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    break  # end of the headers
                key, sep, val = line.partition(":")
                if not sep or line[0] in " \t":
                    continue  # a continuation line
                key = key.lower()
                if key == "name" and name is None:
                    name = val.strip()
                elif key == "version" and version is None:
                    version = val.strip()
                elif key == "requires-dist" and val.strip():
                    requires.append(val.strip())
    except FileNotFoundError:
        logger.debug("%s is missing", path)
    except OSError as exc:
        raise _Unreadable("%s: %s" % (os.path.basename(path), _reason(exc))) from None
    return name, version, requires


_normalize = canonical_name  # importlib.metadata's normalized name (PEP 503, with "_")


# -- the cache --------------------------------------------------------------

def _cache_dir() -> Optional[str]:
    return _cache.cache_dir()


def _read_cache(cache_dir: str, group: str) -> Dict[str, Any]:
    """The cached records of ``group`` by path entry; empty when the file is
    absent, unfit, corrupt or foreign (see :mod:`._cache`)."""
    doc = _cache.read(cache_dir, _cache.file_name(group))
    if type(doc) is dict and doc.get("format") == _CACHE_FORMAT and \
            doc.get("group") == group and type(doc.get("entries")) is dict:
        return doc["entries"]  # type: ignore[no-any-return]
    return {}


def _valid_record(root: str, record: Any, key: Tuple[int, int, int],
                  is_dir: bool) -> Optional[List[_Dist]]:
    """The record's distributions if the path entry and its metadata files
    are unchanged since it was made, else None."""
    try:
        if record["stat"] != key:
            return None
        dists: List[_Dist] = record["dists"]
        return dists if _dists_unchanged(root, dists, is_dir) else None
    except FileNotFoundError:
        return None  # a distribution went away
    except (OSError, ValueError, TypeError, KeyError, IndexError) as exc:
        logger.debug("ignoring unusable cache record for %s: %r", root, exc)
        return None


def _dists_unchanged(root: str, dists: List[_Dist], is_dir: bool) -> bool:
    """Check a cached list: well formed, and no metadata file changed since."""
    # Statting relative to an open directory halves the cost of the loop.
    fd = os.open(root, os.O_RDONLY) if is_dir and os.stat in os.supports_dir_fd else None
    try:
        for dist in dists:
            if type(dist[0]) is not str:
                raise TypeError("bad distribution name")
            rel = dist[1]
            if rel is not None:
                if type(rel) is not str:
                    raise TypeError("bad metadata path")
                fst = (os.stat(rel, dir_fd=fd) if fd is not None
                       else os.stat(os.path.join(root, rel)))
                if (fst.st_mtime_ns != dist[2] or fst.st_size != dist[3]
                        or fst.st_ino != dist[4]):
                    return False
            if len(dist) > 5:
                for name, value in dist[7]:
                    if type(name) is not str or type(value) is not str:
                        raise TypeError("bad entry point")
                if type(dist[8]) is not list or any(type(r) is not str for r in dist[8]):
                    raise TypeError("bad requirements")
                if type(dist[5]) is not str or type(dist[6]) is not str:
                    raise TypeError("bad distribution name or version")
        return True
    finally:
        if fd is not None:
            os.close(fd)


def _write_cache(cache_dir: str, group: str, entries: Dict[str, Any]) -> None:
    """Store ``entries``, less those of path entries that no longer exist
    (the file is shared by every environment of the user: without this it
    would keep every virtual environment ever listed)."""
    for root in list(entries):
        if type(root) is not str:
            del entries[root]
            continue
        try:
            os.stat(root)
        except (FileNotFoundError, NotADirectoryError):
            del entries[root]
        except (OSError, ValueError):
            pass
    _cache.write(cache_dir, _cache.file_name(group),
                 {"format": _CACHE_FORMAT, "group": group, "entries": entries})
