"""``nitro-dispatch info NAME``: one plugin's metadata, source,
dependencies and hooks (this imports the plugin, unless its distribution's
metadata refuses it)."""

from __future__ import annotations

import argparse
from typing import Any, List, Optional

from .._describe import describe_plugin, format_problem, source_fields
from .._errors import NitroPluginError
from .._manager import PluginManager
from .._source import PluginProblem
from ._common import (DROPIN_PATTERN, EXIT_OK, EXIT_PROBLEMS, RAW, UNKNOWN, UsageError,
                      add_common_options, build_manager)
from ._output import error, out, print_fields, print_json, render_table, screen_width

HELP = """\
Show one plugin's metadata, source, its distribution's requirements (as
installed: Requires-Dist, or an egg-info's requires.txt), dependencies
(each checked against the plugins found) and hooks.  This imports the
plugin and its dependencies."""


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("info", help="show one plugin's metadata, source, "
                                              "dependencies and hooks",
                                 description=HELP, formatter_class=RAW)
    parser.add_argument("name", metavar="NAME", help="the plugin's name")
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    parser.add_argument("--host", metavar="DIST", default=None,
                        help="the application's distribution (see check --host)")
    add_common_options(parser, "")
    parser.set_defaults(handler=run)


class PluginTrouble(Exception):
    """The plugin exists but cannot be used: print the lines, status 1."""

    def __init__(self, lines: List[str]) -> None:
        super().__init__("; ".join(lines))
        self.lines = lines


def lookup(manager: PluginManager, opts: argparse.Namespace) -> str:
    """The registered name asked for; otherwise the reason why not."""
    name: str = opts.name
    registered = manager.get_registered_plugins()
    if name in registered:
        return name
    from .._metadata import canonical_name

    same = [n for n in registered if canonical_name(n) == canonical_name(name)]
    if len(same) == 1:
        return same[0]
    claims = [p for p in manager.get_problems() if p.plugin == name] or \
        dropin_failures(manager, opts.paths, name)
    if claims:
        raise PluginTrouble([format_problem(p) for p in claims])
    import difflib

    where = "entry-point group %r" % (opts.group,)
    if opts.paths:
        where += " or in %s" % ", ".join(opts.paths)
    close = difflib.get_close_matches(name, registered, n=3)
    hint = " (did you mean %s?)" % " or ".join(repr(c) for c in close) if close else ""
    raise UsageError("no plugin named %r is installed in %s%s" % (name, where, hint))


def dropin_failures(manager: PluginManager, paths: List[str], name: str
                    ) -> List[PluginProblem]:
    """The problems of the drop-in files that ``list`` shows defining plugin
    ``name`` (read without running them) but that discovery could not use
    (a file that does not import names no plugin in its problem)."""
    if not paths:
        return []
    import os

    from .._dropin_listing import list_dropin_plugins
    from .._metadata import canonical_name

    wanted = canonical_name(name)
    files = {os.path.realpath(found.location)
             for found in list_dropin_plugins(paths, DROPIN_PATTERN)
             if found.name is not None and canonical_name(found.name) == wanted}
    return [p for p in manager.get_problems()
            if p.plugin is None and p.source is not None and p.source.kind == "dropin"
            and p.source.path is not None and os.path.realpath(p.source.path) in files]


def distribution_requires(name: str, source: Any, group: str) -> Optional[List[str]]:
    """The requirements of the distribution that ships the installed plugin
    ``name`` (``Requires-Dist``, or an egg-info's ``requires.txt``), as the
    listing reads them; None for a plugin that is not from a distribution."""
    if source is None or source.kind != "distribution":
        return None
    from .._distributions import list_installed_plugins

    for item in list_installed_plugins(group):
        if item.name == name and item.dist_name == source.dist_name:
            return list(item.requires)
    return []


def print_requires(requires: Optional[List[str]]) -> None:
    if requires is None:
        return
    if not requires:
        out("Distribution requires: none")
        return
    out("Distribution requires:")
    for requirement in requires:
        out("  %s" % (requirement,))


def run(opts: argparse.Namespace) -> int:
    manager = build_manager(opts)
    try:
        name = lookup(manager, opts)
    except PluginTrouble as trouble:
        for line in trouble.lines:
            error(line)
        return EXIT_PROBLEMS
    source = manager.get_plugin_source(name)
    requires = distribution_requires(name, source, opts.group)
    try:  # the admission pipeline: a plugin its metadata refuses is never imported
        cls = manager.get_plugin_class(name)
    except NitroPluginError as exc:
        line = format_problem(PluginProblem(name, "import", str(exc), source))
        if opts.json:
            print_json({"name": name, "source": source.as_dict(), "requires": requires,
                        "error": line})
        else:
            print_fields([("Name", name)] + source_fields(source, opts.group))
            print_requires(requires)
            out("Problem:      %s" % (line,))
        return EXIT_PROBLEMS
    manager.declare_installed_events()  # so hooks on undeclared events are told, as check does
    data = describe_plugin(manager, name, cls)
    data["requires"] = requires  # the distribution's requirements (None: not from one)
    if opts.json:
        print_json(data)
        return EXIT_OK
    print_fields([("Name", name), ("Version", data["version"] or UNKNOWN),
                  ("Description", data["description"] or "-"),
                  ("Author", data["author"] or "-")] + source_fields(source, opts.group))
    print_requires(requires)
    if data["dependencies"]:
        out("Dependencies:")
        for dep in data["dependencies"]:
            out("  %s  [%s] %s" % (dep["requirement"], dep["status"], dep["detail"]))
    else:
        out("Dependencies: none")
    if data["hooks"]:
        out("Hooks:")
        rows = [[h["event"], str(h["priority"]),
                 "-" if h["timeout"] is None else "%gs" % h["timeout"],
                 "wrapper" if h["wrapper"] else "async" if h["async"] else "sync",
                 h["method"]] for h in data["hooks"]]
        for line in render_table(["EVENT", "PRIORITY", "TIMEOUT", "KIND", "METHOD"], rows,
                                 screen_width() - 2):
            out("  " + line)
        for hook in data["hooks"]:
            if hook["problem"] is not None:
                out("  ! " + hook["problem"])
    else:
        out("Hooks: none")
    return EXIT_OK
