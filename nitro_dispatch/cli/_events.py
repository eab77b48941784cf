"""``nitro-dispatch events``: the events installed distributions declare
and the plugins that hook each one."""

from __future__ import annotations

import argparse
from typing import Any

from .._describe import format_problem, one_line
from .._events import EVENTS_GROUP
from .._events_installed import describe_installed_events
from ._common import (EXIT_OK, EXIT_PROBLEMS, RAW, UsageError, add_common_options,
                      build_manager, problem_dict)
from ._output import out, print_json, screen_width, warn, wrap

HELP = """\
List the events that installed distributions declare (entry-point group
nitro_dispatch.events, or --events-group): mode, historic, doc, the
declaring distribution, and the plugins (installed, and drop-ins from
--path) that hook each one, in the order they run.  This imports the
declarations and the plugins.  Exit status 1 when a declaration cannot be
read."""


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("events", help="list declared events and the plugins "
                                                "that hook them",
                                 description=HELP, formatter_class=RAW)
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    parser.add_argument("--events-group", metavar="GROUP", default=EVENTS_GROUP,
                        help="entry-point group of the declarations (default: %s)"
                             % EVENTS_GROUP)
    add_common_options(parser, "")
    parser.set_defaults(handler=run)


def run(opts: argparse.Namespace) -> int:
    if not opts.events_group.strip():
        raise UsageError("--events-group needs a non-empty entry-point group name")
    manager = build_manager(opts)
    events, problems = describe_installed_events(manager, opts.events_group)
    if opts.json:
        print_json({"group": opts.events_group, "events": [e.to_dict() for e in events],
                    "problems": [problem_dict(p) for p in problems]})
    else:
        for problem in problems:
            warn(format_problem(problem))
        if not events:
            out("No declared events in entry-point group %r." % (opts.events_group,))
        for index, event in enumerate(events):
            mode = event.mode + (", historic" if event.historic else "")
            origin = "declared by %s %s" % (event.dist_name, event.dist_version) \
                if event.dist_name else "declared in code"
            out("%s%s  [%s]  %s" % ("" if index == 0 else "\n", event.name, mode, origin))
            if event.doc:
                for line in wrap(one_line(event.doc), screen_width() - 4):
                    out("    " + line)
            hooked = ", ".join(h.plugin + "".join(
                [" (wrapper)" if h.wrapper else "",
                 " via %s" % h.hooked if h.hooked != event.name else ""])
                for h in event.hooks) or "no installed plugin"
            out("    hooked by: " + hooked)
    return EXIT_PROBLEMS if problems else EXIT_OK
