"""``nitro-dispatch new NAME``: write a new plugin distribution (the
templates and the writer are :mod:`nitro_dispatch._scaffold`)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from .._scaffold import DEFAULT_EVENT, plan_project, write_project
from ._common import EXIT_OK, RAW, UsageError
from ._output import out

HELP = """\
Write a complete plugin distribution into DIR/NAME: pyproject.toml with the
entry point and the requirements (nitro-dispatch, and the host given with
--host), a src/ package with a typed PluginBase subclass hooking each
--event (default: %s), a README, and tests written with
nitro_dispatch.testing.  Install it with 'python -m pip install ./NAME',
then run 'python -m pytest' in its folder.  NAME must be a valid
distribution name; DIR/NAME must not exist or be empty.""" % (DEFAULT_EVENT,)


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("new", help="write a new plugin distribution to start from",
                                 description=HELP, formatter_class=RAW)
    parser.add_argument("name", metavar="NAME", help="the distribution's name (acme-greeter)")
    parser.add_argument("--dir", metavar="DIR", default=".",
                        help="where to create the NAME folder (default: the current one)")
    parser.add_argument("--event", metavar="EVENT", dest="events", action="append",
                        default=[], help="an event the plugin hooks (repeatable)")
    parser.add_argument("--host", metavar="DIST", default=None,
                        help="the application's distribution, required by the plugin "
                             "(myapp or myapp>=2)")
    parser.set_defaults(handler=run)


def run(opts: argparse.Namespace) -> int:
    try:
        plan = plan_project(opts.name, opts.events, opts.host)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    target = os.path.join(opts.dir, opts.name)
    try:
        written = write_project(plan, target)
    except FileExistsError as exc:
        raise UsageError(str(exc)) from None
    out("Created the plugin distribution %s in %s:" % (plan.dist_name, target))
    for path in written:
        out("  " + os.path.relpath(path, target))
    out("Plugin %r (class %s.%s) hooks %s." % (
        plan.plugin_name, plan.package, plan.class_name,
        ", ".join(event for event, _ in plan.hooks)))
    out("Next:")
    shown = os.path.normpath(target)
    if not os.path.isabs(shown):
        shown = os.path.join(".", shown)  # for pip, a path and not a requirement
    out("  python -m pip install %s" % (shown,))
    out("  cd %s && python -m pytest" % (shown,))
    return EXIT_OK
