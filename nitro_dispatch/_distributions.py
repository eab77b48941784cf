"""Installed plugins, read from distribution metadata alone (SPEC sections 3
and 14): importlib.metadata's answer, from a fast scan and a cache.

This module owns the listing: :func:`list_installed_plugins` (and
:func:`list_with_index`, which also hands the requirement checks every
distribution it saw), the scan of path entries, the records it keeps of
them and when those may be reused.  It never imports plugin code;
:func:`load_entry_point` imports one plugin.  Parsing belongs to
:mod:`._metadata_files` (importlib.metadata's own parsers), the cache file
to :mod:`._cache`, names to :mod:`._metadata`.

What is listed is what ``importlib.metadata.entry_points(group=...)``
lists, with the distribution of each entry point:

* Distributions come from every finder on ``sys.meta_path`` that provides
  them, in that order, as ``importlib.metadata.distributions()`` takes
  them.  The standard path finder's part is the scan below; any other
  finder's ``find_distributions`` is asked (never cached), so a custom
  finder's distributions are listed.
* Per path entry, the distributions and their order are those of
  ``importlib.metadata.distributions(path=[entry])``: a directory's
  ``*.dist-info`` and ``*.egg-info`` entries (folders, or PKG-INFO style
  files) grouped by normalized name in directory order, then an unzipped
  egg's ``EGG-INFO``; a zip archive (a zipped egg) is read by
  importlib.metadata itself.  The same distribution seen again (equal
  normalized names, taken from the folder name as importlib.metadata
  does) is listed once: the first one wins.
* Name, version, ``Summary``, requirements and entry points are parsed as
  importlib.metadata parses them (see :mod:`._metadata_files`); entry
  points keep their extras in ``value``, a name repeated in one
  distribution is listed twice (the manager reports the conflict).

Where importlib.metadata raises, the listing goes on (SPEC section 11):
a metadata file that is not UTF-8 is read with replacement characters
(core metadata) or makes that distribution's entry points unreadable
(``entry_points.txt``); an ``entry_points.txt`` importlib.metadata cannot
parse (a line without ``=``) lists none of that distribution's entry
points; both are warned about at every listing.  A missing ``Name`` or
``Version`` header (None in importlib.metadata) falls back to the folder
name.  An entry point whose value ``EntryPoint`` cannot parse is listed
with empty ``module`` and ``attr``; loading it fails.  An entry that is
there but cannot be read (a symlink loop, a dangling link, permission
denied, a FIFO, device or directory where a metadata file should be) is
skipped with a warning; the other distributions are still listed and the
path entry is read again next time.  ``location`` is the absolute path of
the path entry (for a custom finder's distribution, the finder's
``repr``).

The cache
---------
A repeated listing must cost much less than a scan, yet see an install,
uninstall, upgrade or in-place rewrite at once.  One file per entry-point
group (:mod:`._cache`) keeps, for each path entry, the records of its
distributions.  A path entry's records are reused only when its own
``st_mtime_ns``, size and inode are unchanged (installers create and
remove metadata folders, which changes them) and, for every distribution
in it, the files its record was read from are too: a plugin
distribution's ``entry_points.txt``, ``METADATA``/``PKG-INFO`` and
``requires.txt`` (and its folder, when a file importlib.metadata looks for
was missing: creating it changes the folder); another distribution's
``entry_points.txt`` (its folder when it has none).  That is one or two
``stat`` calls a distribution, relative to one open descriptor of the
directory (a directory that can no longer be listed is scanned again).
After a change only the distributions whose files changed are read again.

As git does for its index, a record whose files were modified less than two
seconds before the scan started is not cached (a change within the same
timestamp tick could otherwise go unseen).  Set
``NITRO_DISPATCH_NO_CACHE=1`` to turn the cache off; records of path
entries that no longer exist are dropped whenever the file is written.
"""

from __future__ import annotations

import os
import stat
import sys
import time

from . import _cache  # the listing always needs it: imported with this module
from ._log import get_logger
from ._metadata import STORE, BoundedCache, canonical_name
from ._safe_read import read_bytes
from ._source import DEFAULT_GROUP

TYPE_CHECKING = False  # typing costs more to import than a cached listing
if TYPE_CHECKING:
    from typing import Any, Dict, Iterable, List, Optional, Set, Tuple, Union

__all__ = ["InstalledPlugin", "list_installed_plugins", "list_with_index", "load_entry_point",
           "installed_version", "DEFAULT_GROUP"]

logger = get_logger("nitro_dispatch.distributions")

_CACHE_FORMAT = 4
# A file modified less than this long before a scan may still change within
# the same timestamp tick: such a scan is not cached.
_RACY_NS = 2_000_000_000

# One distribution, as kept in memory and in the cache (marshal data):
#   [normalized name, metadata folder relative to the path entry (None for
#    a distribution read by importlib.metadata: in a zip archive, or from
#    a custom finder), stats, version, info, problem]
# stats: [[path relative to the path entry, mtime_ns, size, inode], ...],
#   the files the record was read from;
# version: the Version header when it was read (else None: read on demand);
# info, for a distribution with entry points in the group: [name header,
#   version header, summary, [requirement, ...], [[name, value, module,
#   attr], ...]] (headers None when missing), else None;
# problem: why its entry points could not be read (warned about), or None.
NORM, FOLDER, STATS, VERSION, INFO, PROBLEM = range(6)
if TYPE_CHECKING:
    Record = List[Any]


class InstalledPlugin:
    """One entry point of the plugin group in an installed distribution.

    ``value`` is the entry point's value as written, extras included
    (``"module:attr [extra]"``); ``module`` and ``attr`` are parsed from it
    as ``importlib.metadata.EntryPoint`` parses them (``attr`` is ``""``
    when the entry point names a module; both are ``""`` when the value
    does not parse).  ``summary`` is the distribution's ``Summary`` header
    and ``requires`` its requirements (``Distribution.requires``).
    """

    __slots__ = ("name", "value", "module", "attr", "group", "dist_name", "dist_version",
                 "location", "requires", "summary")

    name: str
    value: str
    module: str
    attr: str
    group: str
    dist_name: str
    dist_version: str
    location: str
    requires: Tuple[str, ...]
    summary: str

    def __init__(self, name: str, value: str, group: str, dist_name: str,
                 dist_version: str, location: str, requires: Iterable[str] = (),
                 summary: str = "", *, module: Optional[str] = None,
                 attr: Optional[str] = None) -> None:
        self.name = name
        self.value = value
        if module is None or attr is None:
            from ._metadata_files import entry_point_parts

            module, attr = entry_point_parts(value)
        self.module = module
        self.attr = attr
        self.group = group
        self.dist_name = dist_name
        self.dist_version = dist_version
        self.location = location
        self.requires = tuple(requires)
        self.summary = summary

    def key(self) -> Tuple[str, ...]:
        """What makes two records equal: name, value, group, distribution
        name and version, location."""
        return (self.name, self.value, self.group, self.dist_name, self.dist_version,
                self.location)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, InstalledPlugin):
            return NotImplemented
        return self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())

    def __repr__(self) -> str:
        return ("InstalledPlugin(name=%r, value=%r, group=%r, dist_name=%r, dist_version=%r, "
                "location=%r)" % self.key())

    def to_dict(self) -> Dict[str, Any]:
        """The record as a plain dict (for JSON output; ``requires`` a list)."""
        out: Dict[str, Any] = {slot: getattr(self, slot) for slot in self.__slots__}
        out["requires"] = list(self.requires)
        return out


def list_installed_plugins(
        group: str = DEFAULT_GROUP,
        path: Optional[Iterable[Union[str, os.PathLike[str]]]] = None) -> List[InstalledPlugin]:
    """Every plugin advertised under ``group`` by the installed
    distributions (``path``: the directories and zip files to search,
    default ``sys.path``; every finder on ``sys.meta_path`` that provides
    distributions is asked, as importlib.metadata asks them), sorted by
    name, then distribution name.

    Reads metadata only; never imports plugin code.  ``path`` is a list: a
    single ``str``, ``bytes`` or path object raises ``TypeError`` (it would
    be read as a list of one-letter entries), and so does an entry that is
    not a ``str`` or a path object naming a ``str`` (``bytes``: decode it
    with :func:`os.fsdecode`); a ``group`` that is not text (a lone
    surrogate, say from an undecodable command-line argument) raises
    ``ValueError``.
    """
    if isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError("path must be a list of directories, not a single %s (%r); "
                        "write path=[%r]" % (type(path).__name__, path, path))
    check_group(group)
    if path is not None:
        path = list(path)
        for entry in path:
            if not isinstance(os.fspath(entry) if isinstance(entry, os.PathLike) else entry,
                              str):
                raise TypeError("path entries must be str or path objects, not %s (%r); "
                                "decode bytes with os.fsdecode()"
                                % (type(entry).__name__, entry))
    return list_with_index(group, path)


def check_group(group: object) -> None:
    """``TypeError`` unless ``group`` is a ``str``; ``ValueError`` unless it
    is text (encodable as UTF-8: no lone surrogates)."""
    if not isinstance(group, str):
        raise TypeError("group must be a str (an entry-point group name), not %s (%r)"
                        % (type(group).__name__, group))
    try:
        group.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("group %r is not valid text (it holds lone surrogates, such as an "
                         "undecodable command-line argument gives)" % (group,)) from None


def list_with_index(group: str = DEFAULT_GROUP,
                    path: Optional[Iterable[Union[str, os.PathLike[str]]]] = None,
                    index: Optional[List[Tuple[str, List[Record]]]] = None,
                    refused: Optional[List[Tuple[str, str, str, str]]] = None
                    ) -> List[InstalledPlugin]:
    """:func:`list_installed_plugins`; ``index``, when given, also receives
    every distribution seen, as ``(where, records)`` in the order found
    (the first of a normalized name is the installed one; see
    :func:`installed_version`); ``refused`` every installed distribution
    whose entry points mention the group but are skipped (importlib.metadata
    cannot parse them), as ``(name, version, metadata path, reason)``."""
    entries = list(sys.path if path is None else path)
    cache_dir = _cache.cache_dir()
    cached = _read_cache(cache_dir, group) if cache_dir else {}
    updates: Dict[str, Any] = {}  # path entry -> new record (None: forget it)
    seen: Set[str] = set()
    found: List[InstalledPlugin] = []
    for finder in _finders():
        if finder is None:  # the standard path finder: the scan
            sources = _scan_path(entries, group, cached, updates)
        else:
            sources = [_finder_dists(finder, entries, group)]
        for where, dists in sources:
            if index is not None:
                index.append((where, dists))
            for dist in dists:
                if dist[NORM] in seen:
                    continue
                seen.add(dist[NORM])
                if dist[INFO] is not None or dist[PROBLEM] is not None:
                    _add_plugins(found, dist, group, where)
                if dist[PROBLEM] is not None and refused is not None:
                    stem = _folder_stem(dist[FOLDER] or "", where).partition("-")
                    refused.append((stem[0], stem[2].partition("-")[0],
                                    os.path.join(where, dist[FOLDER] or ""), dist[PROBLEM]))
    if cache_dir is not None and updates:
        for root, record in updates.items():
            if record is None:
                cached.pop(root, None)
            else:
                cached[root] = record
        _write_cache(cache_dir, group, cached)
    found.sort(key=lambda p: (p.name, p.dist_name))
    return found


def _add_plugins(found: List[InstalledPlugin], dist: Record, group: str, where: str) -> None:
    if dist[PROBLEM] is not None:
        logger.warning("skipping the entry points of %s: %s",
                       os.path.join(where, dist[FOLDER] or ""), dist[PROBLEM])
        return
    info = dist[INFO]
    if info is None:
        return
    name, version, summary, requires, plugins = info
    folder = dist[FOLDER] or ""
    if name is None:  # no Name header: the folder's name
        name = _folder_stem(folder, where).partition("-")[0]
    if version is None:
        version = _folder_stem(folder, where).partition("-")[2].partition("-")[0]
    for ep_name, value, module, attr in plugins:
        found.append(InstalledPlugin(ep_name, value, group, name, version, where, requires,
                                     summary, module=module, attr=attr))


def _folder_stem(folder: str, where: str) -> str:
    """``name-version`` of a metadata folder (an egg's EGG-INFO: of the egg)."""
    base, ext = os.path.splitext(folder)
    if ext.lower() in (".dist-info", ".egg-info"):
        return base
    base, ext = os.path.splitext(os.path.basename(where))  # EGG-INFO in name-1.0.egg
    return base


def load_entry_point(plugin: InstalledPlugin) -> Any:
    """Import ``plugin.module`` and return the object ``plugin.attr`` names
    (dotted attributes are followed), as ``EntryPoint.load`` does.  Errors
    propagate; a value that does not parse raises ``ImportError``."""
    import importlib

    if not plugin.module:
        raise ImportError("entry point %s = %s is not 'module:attr [extras]'"
                          % (plugin.name, plugin.value))
    obj: Any = importlib.import_module(plugin.module)
    for part in filter(None, plugin.attr.split(".")):
        obj = getattr(obj, part)
    return obj


# -- finders --------------------------------------------------------------------

def _finders() -> List[Any]:
    """The finders on ``sys.meta_path`` that provide distributions, in order;
    None stands for the standard path finder (the scan)."""
    from importlib.machinery import PathFinder

    out: List[Any] = []
    for finder in sys.meta_path:
        if finder is PathFinder:
            out.append(None)
        elif getattr(finder, "find_distributions", None) is not None and \
                not _is_metadata_path_finder(finder):
            out.append(finder)
    return out


def _is_metadata_path_finder(finder: Any) -> bool:
    """importlib_metadata's own path finder (the backport puts one on
    ``sys.meta_path``): the scan covers what it finds."""
    kind = finder if isinstance(finder, type) else type(finder)
    return kind.__name__ == "MetadataPathFinder" and \
        kind.__module__.startswith(("importlib_metadata", "importlib.metadata"))


def _context(metadata: Any, path: List[Any]) -> Any:
    """``DistributionFinder.Context(path=path)`` (untyped in the backport)."""
    return metadata.DistributionFinder.Context(path=path)


def _finder_dists(finder: Any, entries: List[Any], group: str) -> Tuple[str, List[Record]]:
    """The distributions a custom finder provides for ``entries``."""
    from ._metadata_files import metadata

    where = repr(finder)
    try:
        context = _context(metadata, entries)
        dists = list(finder.find_distributions(context))
    except Exception as exc:  # another's finder must not break the listing
        logger.warning("skipping the distributions of %s: find_distributions raised %s: %s",
                       where, type(exc).__name__, exc)
        return where, []
    records = []
    for dist in dists:
        record = _foreign_record(dist, group, where)
        if record is not None:
            records.append(record)
    return where, records


def _foreign_record(dist: Any, group: str, where: str) -> Optional[Record]:
    """A record of a distribution importlib.metadata reads (a custom
    finder's, or one in a zip archive); None when it cannot be read."""
    from ._metadata_files import MetadataProblem, describe, header

    try:
        meta = dist.metadata
        name, version = header(meta, "Name"), header(meta, "Version")
    except Exception as exc:
        logger.warning("skipping a distribution of %s: %s: %s", where, type(exc).__name__, exc)
        return None
    record: Record = [canonical_name(name or ""), None, [], version, None, None]
    try:
        record[INFO] = describe(dist, group)
    except MetadataProblem as exc:
        record[PROBLEM] = str(exc)
    except Exception as exc:
        record[PROBLEM] = "%s: %s" % (type(exc).__name__, exc)
    if record[INFO] is not None and record[INFO][0] is None:
        record[INFO][0] = name or ""
    return record


# -- path entries ---------------------------------------------------------------

def _scan_path(entries: List[Any], group: str, cached: Dict[str, Any],
               updates: Dict[str, Any]) -> List[Tuple[str, List[Record]]]:
    out: List[Tuple[str, List[Record]]] = []
    roots: Set[str] = set()
    for entry in entries:
        try:
            root = os.path.abspath(os.fspath(entry) or ".")
        except TypeError:
            continue  # not a path: importlib.metadata finds nothing there either
        if type(root) is not str or root in roots:
            continue
        roots.add(root)
        out.append((root, _entry_dists(root, group, cached, updates)))
    return out


def _entry_dists(root: str, group: str, cached: Dict[str, Any],
                 updates: Dict[str, Any]) -> List[Record]:
    """The distributions of one path entry, from the cache when its record
    is still valid; a fresh scan goes into ``updates``."""
    try:
        st = os.stat(root)
    except (OSError, ValueError):
        if root in cached:
            updates[root] = None  # gone (or unreadable): forget it
        return []
    is_dir = stat.S_ISDIR(st.st_mode)
    if not is_dir and not stat.S_ISREG(st.st_mode):
        return []
    key = [st.st_mtime_ns, st.st_size, st.st_ino]
    record = cached.get(root)
    old: Optional[List[Record]] = None
    if record is not None:
        old = _cached_dists(root, record)
        if old is not None and record["stat"] == key and _all_unchanged(root, old, is_dir):
            return old
    started = time.time_ns()
    skipped: List[str] = []
    dists = (_scan_directory(root, group, old or [], skipped) if is_dir
             else _scan_file(root, group, skipped))
    # Not cached when modified too recently to trust the mtime (not logged:
    # logging would be imported on every listing of such a path), nor when
    # an entry could not be read: it is read again next time, not
    # remembered as empty.
    racy = started - _RACY_NS
    if not skipped and st.st_mtime_ns < racy and \
            all(s[1] < racy for dist in dists for s in dist[STATS]):
        updates[root] = {"stat": key, "dists": dists}
    elif record is not None:
        updates[root] = None
    return dists


def _skip(path: str, reason: object, skipped: List[str]) -> None:
    """SPEC section 11: one unreadable entry is skipped, with a warning;
    the others are still listed."""
    logger.warning("skipping unreadable %s: %s", path, reason)
    skipped.append(path)


def _scan_directory(root: str, group: str, old: List[Record],
                    skipped: List[str]) -> List[Record]:
    """A directory's distributions in importlib.metadata's order; those
    whose files are unchanged since ``old`` was read are taken from it."""
    try:
        children = os.listdir(root)
    except OSError as exc:
        _skip(root, "cannot list the directory: %s" % (exc.strerror or exc,), skipped)
        return []
    base_is_egg = os.path.basename(root).lower().endswith(".egg")
    by_name: Dict[str, List[str]] = {}
    keys: Dict[str, str] = {}  # folder -> importlib.metadata's name for it ("": the header's)
    eggs: List[str] = []
    for child in children:
        low = child.lower()
        if low.endswith((".dist-info", ".egg-info")):
            name = canonical_name(low.rpartition(".")[0].partition("-")[0])
            by_name.setdefault(name, []).append(child)
            # PathDistribution._name_from_stem: the folder's name, when its
            # suffix is spelled in lower case and a name precedes the "-".
            keys[child] = name if child.endswith((".dist-info", ".egg-info")) else ""
        elif base_is_egg and low == "egg-info":
            eggs.append(child)
            keys[child] = ""
    if not by_name and not eggs:
        return []
    previous = {dist[FOLDER]: dist for dist in old}
    group_bytes = group.encode("utf-8", "surrogatepass")
    dists: List[Record] = []
    # Files are opened relative to one descriptor of the directory (where
    # the platform allows): the kernel walks the path once.
    try:
        fd = os.open(root, _DIR_FLAGS) if _AT else None
    except OSError:
        fd = None
    try:
        for folder in [f for fs in by_name.values() for f in fs] + eggs:
            dist = previous.get(folder)
            if dist is None or not _unchanged(root, dist, fd):
                try:
                    dist = _read_folder(root, folder, keys[folder], group, group_bytes, fd)
                except Exception as exc:  # Unreadable, or an OSError between calls
                    _skip(os.path.join(root, folder), _describe_error(exc), skipped)
                    continue
            dists.append(dist)
    finally:
        if fd is not None:
            os.close(fd)
    return dists


def _describe_error(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def _stat_row(rel: str, st: os.stat_result) -> List[Any]:
    return [rel, st.st_mtime_ns, st.st_size, st.st_ino]


def _read_folder(root: str, folder: str, key: str, group: str, group_bytes: bytes,
                 fd: Optional[int]) -> Record:
    """The record of one metadata folder (or PKG-INFO style file) of a
    directory (``fd``: an open descriptor of it, or None; ``key``: its
    normalized name from the folder's name, ``""`` when the Name header
    gives it).  Only a distribution whose ``entry_points.txt`` mentions the
    group is parsed; the others cost one open (or one stat without it)."""
    ep_rel = folder + os.sep + "entry_points.txt"
    try:
        found: Optional[Tuple[bytes, os.stat_result]] = read_bytes(
            ep_rel if fd is not None else root + os.sep + ep_rel, fd)
    except (FileNotFoundError, NotADirectoryError):  # none, or not a folder
        found = None
    if found is not None and group_bytes in found[0]:
        return _parse_folder(root, folder, key, group, found[0], found[1])
    stats = [_stat_row(ep_rel, found[1]) if found is not None
             else _stat_row(folder, _stat(root, folder, fd))]
    if key:
        return [key, folder, stats, None, None, None]
    # No name in the folder's name (an egg's EGG-INFO): the Name header.
    from ._metadata_files import FolderDistribution, header

    dist = FolderDistribution(root, folder)
    name = header(dist.metadata, "Name") or _folder_stem(folder, root).partition("-")[0]
    return [canonical_name(name), folder, stats + dist.read, None, None, None]


def _stat(root: str, folder: str, fd: Optional[int]) -> os.stat_result:
    """The stat of a metadata folder or PKG-INFO style file; OSError (a
    dangling link, a symlink loop, denied) or ValueError when it is neither."""
    st = os.stat(folder, dir_fd=fd) if fd is not None else os.stat(root + os.sep + folder)
    if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
        raise ValueError("not a directory or a regular file")
    return st


def _parse_folder(root: str, folder: str, key: str, group: str, data: bytes,
                  ep_st: os.stat_result) -> Record:
    from ._metadata_files import FolderDistribution, MetadataProblem, describe, header

    dist = FolderDistribution(root, folder)
    record: Record = [key, folder, [], None, None, None]
    try:
        dist.given("entry_points.txt", data, ep_st)
        info = describe(dist, group)
    except MetadataProblem as exc:
        record[PROBLEM] = str(exc)
        info = None
    if info is not None:
        record[VERSION] = info[1]
        record[INFO] = info
    if not key:
        record[NORM] = canonical_name(
            header(dist.metadata, "Name") or _folder_stem(folder, root).partition("-")[0])
    # The files read, and the folder when a file was looked for in vain
    # (its creation changes the folder's mtime).
    record[STATS] = dist.read + ([_stat_row(folder, _stat(root, folder, None))]
                                 if dist.missing else [])
    return record


def _scan_file(root: str, group: str, skipped: List[str]) -> List[Record]:
    """A zip archive on the path (a zipped egg, say): importlib.metadata's
    path finder reads it."""
    from ._metadata_files import metadata

    dists: List[Record] = []
    try:
        context = _context(metadata, [root])
        for dist in metadata.MetadataPathFinder.find_distributions(context):
            record = _foreign_record(dist, group, root)
            if record is not None:
                dists.append(record)
    except Exception as exc:  # a bad archive must not break the listing
        _skip(root, "cannot read distributions: %s" % (exc,), skipped)
    return dists


# -- versions of installed distributions ------------------------------------------

_VERSIONS: BoundedCache = BoundedCache(10_000)


def installed_version(where: str, dist: Record) -> Optional[str]:
    """The version of the distribution a record of :func:`list_with_index`'s
    index describes: its Version header, as importlib.metadata's
    ``Distribution.version`` reads it (the folder name's version when the
    header is missing), or None when its metadata cannot be read.  Read on
    demand for distributions without plugins, once per state of their
    metadata file (path, mtime, size and inode; kept between processes in
    :data:`._metadata.STORE`), except that a file modified less than two
    seconds ago is read every time, as the listing reads it."""
    if dist[VERSION] is not None or dist[FOLDER] is None:
        return dist[VERSION]  # type: ignore[no-any-return]
    folder = dist[FOLDER]
    path = os.path.join(where, folder)
    # The file importlib.metadata reads: METADATA, else PKG-INFO, else the
    # path itself (a PKG-INFO style file); the first found, as it is now.
    state = path
    trusted = False  # the file's stat identifies its content (see below)
    for name in ("METADATA", "PKG-INFO", "") if folder.endswith(".dist-info") else \
            ("PKG-INFO", "METADATA", ""):
        try:
            st = os.stat(path + os.sep + name if name else path)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            state = "%s\0%s\0%d:%d:%d" % (path, name, st.st_mtime_ns, st.st_size, st.st_ino)
            # As for the listing's records: a file modified less than two
            # seconds ago may still change within the same timestamp tick.
            trusted = st.st_mtime_ns < time.time_ns() - _RACY_NS
            break
    key = state
    version = _VERSIONS.get(key) if trusted else None
    if version is None:
        kept = STORE.recall("versions", key) if trusted else None
        if type(kept) is str:
            version = kept
        else:
            version = _read_version(where, folder)
            if trusted:
                STORE.remember("versions", key, version)
        if trusted:
            _VERSIONS.put(key, version)
    return version or None


def _read_version(where: str, folder: str) -> str:
    """The version header (else the folder's), ``""`` when unreadable."""
    from ._metadata_files import FolderDistribution, header

    try:
        version = header(FolderDistribution(where, folder).metadata, "Version")
    except Exception as exc:  # the listing warned about it already
        logger.debug("cannot read the version of %s: %s", os.path.join(where, folder), exc)
        return ""
    if version is None:
        version = _folder_stem(folder, where).partition("-")[2].partition("-")[0]
    return version


# -- the cache --------------------------------------------------------------

def _read_cache(cache_dir: str, group: str) -> Dict[str, Any]:
    """The cached records of ``group`` by path entry; empty when the file is
    absent, unfit, corrupt or foreign (see :mod:`._cache`)."""
    doc = _cache.read(cache_dir, _cache.file_name(group))
    if type(doc) is dict and doc.get("format") == _CACHE_FORMAT and \
            doc.get("group") == group and type(doc.get("entries")) is dict:
        return doc["entries"]  # type: ignore[no-any-return]
    return {}


def _cached_dists(root: str, record: Any) -> Optional[List[Record]]:
    """A cached path entry's records when they are well formed, else None."""
    try:
        dists = record["dists"]
        if type(dists) is not list or type(record["stat"]) is not list:
            raise TypeError("not a list")
        for dist in dists:  # the common shape checked inline: this runs for every record
            if type(dist) is not list or len(dist) != 6:
                raise TypeError("bad distribution record")
            norm, folder, stats, version, info, problem = dist
            if type(norm) is not str or type(stats) is not list or \
                    (folder is not None and type(folder) is not str) or \
                    (version is not None and type(version) is not str) or \
                    (problem is not None and type(problem) is not str):
                raise TypeError("bad distribution record")
            if info is not None:
                _check_info(info)
        return dists
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        logger.debug("ignoring unusable cache record for %s: %r", root, exc)
        return None


def _check_info(info: Any) -> None:
    """Raise TypeError unless ``info`` is a plugin distribution's record
    part as this module writes it."""
    if type(info) is not list or len(info) != 5 or \
            (info[0] is not None and type(info[0]) is not str) or \
            (info[1] is not None and type(info[1]) is not str) or type(info[2]) is not str \
            or type(info[3]) is not list or type(info[4]) is not list:
        raise TypeError("bad distribution metadata")
    if any(type(r) is not str for r in info[3]):
        raise TypeError("bad requirements")
    for ep in info[4]:
        if type(ep) is not list or len(ep) != 4 or any(type(x) is not str for x in ep):
            raise TypeError("bad entry point")


def _all_unchanged(root: str, dists: List[Record], is_dir: bool) -> bool:
    """Whether the files all records of a path entry were read from are as
    they were, and (for a directory) it can still be listed: the stats go
    relative to one open descriptor of it, which also halves their cost."""
    if not is_dir:
        return True  # a zip archive: its own stat is the key
    if not _AT:  # no directory-relative stat (Windows)
        return all(_unchanged(root, dist) for dist in dists)
    try:
        fd = os.open(root, _DIR_FLAGS)
    except OSError:
        return False  # no longer listable: the scan says why
    stat_at = os.stat
    try:  # _unchanged, inlined: this loop is most of a repeated listing
        for dist in dists:
            for rel, mtime, size, ino in dist[STATS]:
                if type(rel) is not str:  # os.stat takes an int for a descriptor
                    return False
                st = stat_at(rel, dir_fd=fd)
                if st.st_mtime_ns != mtime or st.st_size != size or st.st_ino != ino:
                    return False
    except _STALE:  # gone, or a record not shaped as ours
        return False
    finally:
        os.close(fd)
    return True


# What checking a cached file raises when the file is gone or the record
# was not written by this module (a row of another shape, a null byte).
_STALE = (OSError, ValueError, TypeError)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_AT = os.stat in os.supports_dir_fd


def _unchanged(root: str, dist: Record, fd: Optional[int] = None) -> bool:
    """Whether the files a record was read from are as they were."""
    try:
        for rel, mtime, size, ino in dist[STATS]:
            if type(rel) is not str:  # os.stat takes an int for a descriptor
                return False
            st = os.stat(rel, dir_fd=fd) if fd is not None else os.stat(os.path.join(root, rel))
            if st.st_mtime_ns != mtime or st.st_size != size or st.st_ino != ino:
                return False
    except _STALE:  # gone, or a record not shaped as ours
        return False
    return True


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
