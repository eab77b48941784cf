"""``nitro-dispatch check``: every plugin checked in stages (see
:mod:`nitro_dispatch._check`), one line per problem; status 1 when any."""

from __future__ import annotations

import argparse
from typing import Any, Dict

from .._describe import format_problem
from ._common import (EXIT_OK, EXIT_PROBLEMS, RAW, UsageError, add_common_options,
                      check_directory, plural, problem_dict)
from ._output import out, print_json

HELP = """\
Check every plugin (installed, and drop-ins from --path) in stages: one line
per problem, then a summary.  --static imports nothing: conflicts, the
distributions' requirements and compatibility (--host), cycles, invalid
versions, near-miss entry-point groups, --allow/--block names that match
nothing.  The default adds the import stage: import failures (file and
line), name mismatches, dependencies, version drift (a warning).  --load also
loads every plugin (running on_load) and unloads it again.  --json gives every
problem with its stage and phase.  Exit status 1 when any problem is found
(warnings do not count)."""


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("check", help="report every problem; status 1 if any",
                                 description=HELP, formatter_class=RAW)
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    stages = parser.add_mutually_exclusive_group()
    stages.add_argument("--static", action="store_const", dest="stage", const="static",
                        default="import", help="import nothing: metadata and source text only")
    stages.add_argument("--load", action="store_const", dest="stage", const="load",
                        help="also load every plugin (on_load runs), then unload it")
    parser.add_argument("--host", metavar="DIST", default=None,
                        help="the application's distribution: plugins requiring another "
                             "version of it are incompatible")
    parser.add_argument("--allow", metavar="NAME", action="append", default=None,
                        help="allow-list a plugin name, as the application does (repeatable)")
    parser.add_argument("--block", metavar="NAME", action="append", default=None,
                        help="block-list a plugin name, as the application does (repeatable)")
    add_common_options(parser, "")
    parser.set_defaults(handler=run)


def run(opts: argparse.Namespace) -> int:
    from .._check import check_plugins

    for directory in opts.paths:
        check_directory(directory)
    if opts.host is not None and not opts.host.strip():
        raise UsageError("--host needs a distribution name")
    report = check_plugins(opts.group, opts.paths, stage=opts.stage, host=opts.host,
                           allow_list=opts.allow, block_list=opts.block)
    names = set(report.checked)
    names.update(p.plugin for p in report.problems if p.plugin is not None)
    errors, warnings = report.errors, report.warnings
    if opts.json:
        print_json({"stage": report.stage, "checked": len(names),
                    "problems": [check_problem_dict(p) for p in report.problems]})
    else:
        for found in report.problems:
            line = format_problem(found.problem)
            if found.file is not None:
                line += " (at %s:%s)" % (found.file, found.lineno)
            out(("warning: " if found.severity == "warning" else "") + line)
        summary = "%s checked, %s" % (plural(len(names), "plugin"),
                                      plural(len(errors), "problem"))
        if warnings:
            summary += ", %s" % (plural(len(warnings), "warning"),)
        out(summary)
    return EXIT_PROBLEMS if errors else EXIT_OK


def check_problem_dict(found: Any) -> Dict[str, Any]:
    data = problem_dict(found.problem)
    data.update(stage=found.stage, severity=found.severity, file=found.file,
                lineno=found.lineno)
    return data
