"""``nitro-dispatch list``: installed plugins (and drop-ins read with
:mod:`ast`) as a table or JSON, importing no plugin code."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from ._common import (DROPIN_PATTERN, EXIT_OK, RAW, UNKNOWN, add_common_options,
                      check_directory)
from .._describe import one_line
from ._output import PROG, out, print_json, render_table, screen_width, warn

if TYPE_CHECKING:
    from .._distributions import InstalledPlugin

HELP = """\
List installed plugins without importing any plugin code: distributions are
read from their entry-point metadata.  Drop-in files (--path) are read, not
run: each *_plugin.py file is parsed with Python's ast module, and its
top-level classes deriving from PluginBase are listed with their 'name' and
'version' when those are string literals ('?' otherwise).  The VERSION
column shows the distribution's version for installed plugins, SUMMARY its
Summary header (for a drop-in: the file and class); --entry-points shows the
entry point (module:attr) instead.  Names claimed by more than one source are
marked with '!'."""


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("list", help="list installed plugins (imports nothing)",
                                 description=HELP, formatter_class=RAW)
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    parser.add_argument("--entry-points", action="store_true",
                        help="show each plugin's entry point instead of its summary")
    add_common_options(parser, "")
    parser.set_defaults(handler=run)


class Listed:
    """One row of ``list``."""

    __slots__ = ("name", "version", "kind", "value", "module", "attr", "group", "dist_name",
                 "dist_version", "location", "summary", "requires", "where", "conflict")

    def __init__(self, name: Optional[str], version: Optional[str], kind: str, value: str,
                 *, module: Optional[str] = None, attr: Optional[str] = None,
                 group: Optional[str] = None, dist_name: Optional[str] = None,
                 dist_version: Optional[str] = None, location: Optional[str] = None,
                 summary: Optional[str] = None, requires: Optional[List[str]] = None,
                 where: str = "") -> None:
        self.name = name
        self.version = version
        self.kind = kind
        self.value = value
        self.module = module
        self.attr = attr
        self.group = group
        self.dist_name = dist_name
        self.dist_version = dist_version
        self.location = location
        self.summary = summary  # the distribution's Summary header (None: a drop-in)
        self.requires = requires or []  # the distribution's requirements
        self.where = where  # "distribution x 1.0" / "file f.py": for conflict notes
        self.conflict = False

    def as_dict(self) -> Dict[str, Any]:
        return {slot: getattr(self, slot) for slot in self.__slots__ if slot != "where"}


def from_installed(item: "InstalledPlugin") -> Listed:
    return Listed(item.name, item.dist_version, "distribution", item.value,
                  module=item.module, attr=item.attr, group=item.group,
                  dist_name=item.dist_name, dist_version=item.dist_version,
                  location=item.location, summary=item.summary, requires=list(item.requires),
                  where="distribution %s %s" % (item.dist_name, item.dist_version))


def collect_listing(group: str, paths: List[str]) -> List[Listed]:
    from .._distributions import list_installed_plugins
    from .._dropin_listing import list_dropin_plugins

    rows = [from_installed(item) for item in list_installed_plugins(group)]
    errors: List[Tuple[str, str]] = []
    for found in list_dropin_plugins(paths, DROPIN_PATTERN, errors=errors):
        rows.append(Listed(found.name, found.version, "dropin",
                           "%s:%s" % (found.path, found.class_name), attr=found.class_name,
                           location=found.location,
                           where="file %s (class %s)" % (found.path, found.class_name)))
    for _, message in errors:
        warn(message)
    by_name: Dict[str, List[Listed]] = {}
    for row in rows:
        if row.name is not None:
            by_name.setdefault(row.name, []).append(row)
    for claims in by_name.values():
        if len(claims) > 1:
            for row in claims:
                row.conflict = True
    rows.sort(key=lambda r: ((r.name or "").lower(), r.name or "", r.kind != "distribution"))
    return rows


def run(opts: argparse.Namespace) -> int:
    for directory in opts.paths:
        check_directory(directory)
    rows = collect_listing(opts.group, opts.paths)
    if opts.json:
        print_json([row.as_dict() for row in rows])
        return EXIT_OK
    if not rows:
        where = " or in %s" % ", ".join(opts.paths) if opts.paths else ""
        out("No plugins found in entry-point group %r%s." % (opts.group, where))
        return EXIT_OK
    last = "ENTRY POINT" if opts.entry_points else "SUMMARY"
    table = [[(row.name or UNKNOWN) + (" !" if row.conflict else ""),
              row.version or UNKNOWN,
              row.dist_name or "(drop-in)",
              row.value if opts.entry_points or row.kind == "dropin"
              else one_line(row.summary or "-")] for row in rows]
    width = screen_width()
    for line in render_table(["NAME", "VERSION", "DISTRIBUTION", last], table, width):
        out(line)
    conflicts: Dict[str, List[str]] = {}
    for row in rows:
        if row.conflict and row.name is not None:
            conflicts.setdefault(row.name, []).append(row.where)
    if conflicts:
        import textwrap

        out()
        for name, wheres in conflicts.items():
            note = "! %r is claimed by %d sources: %s; only one can be used (see '%s check')" \
                % (name, len(wheres), "; ".join(wheres), PROG)
            for line in textwrap.wrap(note, width, subsequent_indent="  ",
                                      break_on_hyphens=False):
                out(line)
    return EXIT_OK
