"""Finding drop-in plugin files: the files of a directory that match a
pattern, each real file once.  Reads directory listings only (no file is
opened or imported); :mod:`._dropins` imports what is found, and
:mod:`._dropin_listing` reads it with :mod:`ast`."""

from __future__ import annotations

import os

from ._errors import PluginDiscoveryError

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Iterable, List, Set, Tuple

__all__ = ["find_plugin_files"]


def find_plugin_files(directory: str, pattern: str, recursive: bool) -> Tuple[str, List[str]]:
    """The absolute directory and its files matching ``pattern`` (sorted).
    Raises :class:`PluginDiscoveryError` for a missing path or a file."""
    path = os.path.realpath(os.path.expanduser(str(directory)))
    if not os.path.exists(path):
        raise PluginDiscoveryError("plugin directory %s does not exist" % (path,))
    if not os.path.isdir(path):
        raise PluginDiscoveryError("plugin directory %s is not a directory" % (path,))
    # os.scandir, not os.walk: its entries know which files are symbolic
    # links without a system call per file.  Same walk as os.walk (top-down,
    # subdirectories sorted, linked directories not entered).
    found: List[str] = []
    linked = False
    stack = [path]
    while stack:
        root = stack.pop()
        try:
            with os.scandir(root) as listing:
                entries = {entry.name: entry for entry in listing}
        except OSError:
            continue
        prefix = os.path.join(root, "")
        for name in sorted(_matching(entries, pattern)):
            entry = entries[name]
            if name.endswith(".py") and not entry.is_dir():
                found.append(prefix + name)
                linked = linked or entry.is_symlink()
        if not recursive:
            break
        stack.extend(sorted((e.path for e in entries.values()
                             if e.is_dir(follow_symlinks=False)
                             and not e.name.startswith((".", "__pycache__"))), reverse=True))
    return path, _real_paths(found) if linked else found


def _matching(names: Iterable[str], pattern: str) -> List[str]:
    """``fnmatch.filter(names, pattern)``; the usual ``*suffix`` pattern
    (``*_plugin.py``) is a plain suffix test, with no regex to compile."""
    tail = pattern[1:]
    if pattern.startswith("*") and not any(c in tail for c in "*?[") and \
            os.path.normcase("A") == "A":  # case-sensitive file names, as fnmatch sees them
        return [name for name in names if name.endswith(tail)]
    from fnmatch import filter as fnfilter

    return fnfilter(names, pattern)


def _real_paths(files: List[str]) -> List[str]:
    """``files`` with symbolic links resolved, each real file once (in the
    place of its first name).  Directories are real already (the walk does
    not follow links), so only a linked file needs resolving.  A link to
    anything but a regular file (``/dev/zero``) keeps its own name, so the
    warning that skips it names the file in the drop-in directory."""
    real = [r if os.path.isfile(r) else f for f, r in ((f, os.path.realpath(f)) for f in files)]
    seen: Set[str] = set()
    unique: List[str] = []
    for path in real:
        if path not in seen:
            seen.add(path)
            unique.append(path)
    return unique
