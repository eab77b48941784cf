"""Fake site directories for fast tests of the installed-plugin listing.

A "site directory" here is any folder that would sit on ``sys.path``:
:func:`make_dist_info` puts an installed distribution's metadata folder in
it (as an installer would), :func:`write_module` a module next to it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Mapping, Optional

if sys.version_info >= (3, 10):
    from importlib import metadata as importlib_metadata  # noqa: F401 (for the tests)
else:  # what nitro_dispatch reads with there (its dependency): the backport
    import importlib_metadata  # noqa: F401

GROUP = "nitro_dispatch.plugins"

# What a child that switches to user "nobody" imports first: the
# interpreter's own files may live where "nobody" cannot read (root's home),
# and importlib.metadata imports some of its parts only when first used
# (``_adapters`` on Python 3.13, for a distribution's metadata).
PRELOAD_BEFORE_SWITCHING_USER = """
import email.parser, importlib, logging, os, sys
import nitro_dispatch._cache, nitro_dispatch._digest
import nitro_dispatch._distributions, nitro_dispatch._metadata_files
for _name in ("importlib.metadata._adapters", "importlib_metadata._adapters", "_blake2"):
    try:
        importlib.import_module(_name)
    except ImportError:
        pass
"""


def dist_folder_name(name: str, version: str, egg_info: bool = False) -> str:
    """The metadata folder an installer names for ``name`` ``version``."""
    escaped = name.replace("-", "_").replace(".", "_")
    return "%s-%s.%s" % (escaped, version, "egg-info" if egg_info else "dist-info")


def entry_points_text(entry_points: Mapping[str, Mapping[str, str]]) -> str:
    """``entry_points.txt`` content for ``{group: {name: value}}``."""
    parts = []
    for group, entries in entry_points.items():
        parts.append("[%s]\n" % group)
        parts.extend("%s = %s\n" % (name, value) for name, value in entries.items())
        parts.append("\n")
    return "".join(parts)


def make_dist_info(site_dir: Path, name: str, version: str,
                   entry_points: Optional[Mapping[str, Mapping[str, str]]] = None,
                   egg_info: bool = False, *, entry_points_text_override: Optional[str] = None,
                   folder: Optional[str] = None) -> Path:
    """Create the metadata folder of distribution ``name`` ``version`` in
    ``site_dir`` and return it.

    ``entry_points`` maps group to ``{entry point name: "module:attr"}``;
    without it (and without ``entry_points_text_override``, raw file content
    for malformed-input tests) no ``entry_points.txt`` is written.
    """
    site_dir = Path(site_dir)
    meta_dir = site_dir / (folder or dist_folder_name(name, version, egg_info))
    meta_dir.mkdir(parents=True)
    headers = "Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: test distribution\n\n" % (
        name, version)
    (meta_dir / ("PKG-INFO" if egg_info else "METADATA")).write_text(headers, encoding="utf-8")
    text = entry_points_text_override
    if text is None and entry_points is not None:
        text = entry_points_text(entry_points)
    if text is not None:
        (meta_dir / "entry_points.txt").write_text(text, encoding="utf-8")
    if not egg_info:
        (meta_dir / "INSTALLER").write_text("fixtures\n", encoding="utf-8")
    return meta_dir


def make_plugin_dist(site_dir: Path, dist_name: str, version: str,
                     plugins: Mapping[str, str], group: str = GROUP,
                     egg_info: bool = False) -> Path:
    """Shorthand: a distribution advertising ``{plugin name: value}`` in ``group``."""
    return make_dist_info(site_dir, dist_name, version, {group: plugins}, egg_info)


def write_module(site_dir: Path, module: str, source: str) -> Path:
    """Write an importable module (dotted names become packages) into
    ``site_dir``; return the file written."""
    parts = module.split(".")
    directory = Path(site_dir)
    for package in parts[:-1]:
        directory = directory / package
        directory.mkdir(exist_ok=True)
        init = directory / "__init__.py"
        if not init.exists():
            init.write_text("", encoding="utf-8")
    target = directory / (parts[-1] + ".py")
    target.write_text(source, encoding="utf-8")
    return target


def plugin_module_source(class_name: str, plugin_name: str,
                         extra: str = "") -> str:
    """Source of a module defining a minimal plugin class."""
    return (
        "from nitro_dispatch import PluginBase\n\n\n"
        "class %s(PluginBase):\n"
        "    name = %r\n%s" % (class_name, plugin_name, extra)
    )


def bump_mtime(path: Path, seconds: float = 10.0) -> None:
    """Move ``path``'s mtime forward, for file systems whose timestamp
    granularity could hide a change made within one tick."""
    st = os.stat(path)
    ns = st.st_mtime_ns + int(seconds * 1e9)
    os.utime(path, ns=(ns, ns))


def age(path: Path, seconds: float = 60.0) -> None:
    """Move ``path``'s atime and mtime into the past, so the listing cache
    trusts it (a just-modified directory is never cached)."""
    st = os.stat(path)
    ns = st.st_mtime_ns - int(seconds * 1e9)
    os.utime(path, ns=(ns, ns))


def age_tree(root: Path, seconds: float = 60.0) -> None:
    """:func:`age` ``root`` and everything below it."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            age(Path(dirpath) / name, seconds)
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in dirnames:
            age(Path(dirpath) / name, seconds)
    age(root, seconds)
