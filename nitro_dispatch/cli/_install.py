"""``install`` and ``uninstall``: the command line of
:func:`nitro_dispatch.install_plugins` and
:func:`nitro_dispatch.uninstall_plugins` (SPEC section 15).  This module
only parses, calls the library and renders its reports.

``install REQ... [--host DIST] [--dry-run] [--json] [--quiet]`` plus pip's
finding options: pip's own output streams to standard output (unless
``--json`` or ``--quiet``); a refusal prints each finding in one line, as
``check`` does, and exits 1; errors are one line, exit 2.

``uninstall NAME... [--force] [--yes] [--json] [--quiet]``: asks before
removing anything unless ``--yes`` (the question goes to standard error,
the answer comes from standard input; no answer is no); refuses with exit 1
when other plugins need what would go, unless ``--force``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, List, Optional

from ._common import EXIT_OK, EXIT_PROBLEMS, RAW, add_common_options, plural
from ._output import out, print_json, render_table, screen_width, warn

__all__ = ["add_parser", "run", "run_uninstall"]

_INSTALL_HELP = """\
Install plugin distributions with pip, after checking them: pip is first
asked what it would install (pip install --dry-run --report), then every
distribution of that plan is checked as 'check' would check it once
installed: its requirements on nitro-dispatch and on the host application
(--host), plugin names that clash with installed ones, dependencies between
plugins.  Any problem refuses the whole install (exit status 1, one line
each) and nothing is changed.  Otherwise exactly the planned set is
installed, pinned, and the new plugins are listed.  pip's options for
finding packages pass through.  pip 22.2 or later is needed."""

_UNINSTALL_HELP = """\
Remove plugin distributions with pip.  NAME is a plugin name or a
distribution name (compared as canonical names: Foo_Bar and foo-bar are
one).  When another installed plugin distribution requires one of them,
nothing is removed and the status is 1, unless --force."""


def add_parser(commands: Any) -> None:
    """The ``install`` and ``uninstall`` subcommands."""
    parser = commands.add_parser(
        "install", help="install plugins with pip, refusing what cannot work here",
        description=_INSTALL_HELP, formatter_class=RAW)
    parser.add_argument("requirements", metavar="REQ", nargs="+",
                        help="a requirement as pip takes it (name, name>=1.0, a wheel, ...)")
    parser.add_argument("--host", metavar="DIST", default=None,
                        help="the application's distribution: plugins must fit its installed "
                             "version, and the install never changes it")
    parser.add_argument("--dry-run", action="store_true",
                        help="check and say what would be installed; change nothing")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not show pip's output")
    pip = parser.add_argument_group("pip's options for finding packages (passed to pip)")
    pip.add_argument("-i", "--index-url", metavar="URL", default=None)
    pip.add_argument("--extra-index-url", metavar="URL", action="append", default=[])
    pip.add_argument("-f", "--find-links", metavar="URL", action="append", default=[])
    pip.add_argument("--no-index", action="store_true")
    pip.add_argument("--pre", action="store_true")
    pip.add_argument("-U", "--upgrade", action="store_true")
    add_common_options(parser, "")
    parser.set_defaults(handler=run)

    parser = commands.add_parser(
        "uninstall", help="remove plugin distributions, protecting plugins that need them",
        description=_UNINSTALL_HELP, formatter_class=RAW)
    parser.add_argument("names", metavar="NAME", nargs="+",
                        help="a plugin name or a plugin distribution's name")
    parser.add_argument("--force", action="store_true",
                        help="remove even when other plugins require it")
    parser.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not show pip's output")
    add_common_options(parser, "")
    parser.set_defaults(handler=run_uninstall)


def _pip_args(opts: argparse.Namespace) -> List[str]:
    args: List[str] = []
    if opts.index_url is not None:
        args += ["--index-url", opts.index_url]
    for url in opts.extra_index_url:
        args += ["--extra-index-url", url]
    for url in opts.find_links:
        args += ["--find-links", url]
    args += [flag for flag, on in (("--no-index", opts.no_index), ("--pre", opts.pre),
                                   ("--upgrade", opts.upgrade)) if on]
    return args


def _progress(opts: argparse.Namespace) -> Optional[Callable[[str], None]]:
    if opts.json or opts.quiet:
        return None

    def show(line: str) -> None:
        out(line)
        sys.stdout.flush()

    return show


def _dists(items: Any) -> str:
    return ", ".join("%s %s" % (d.name, d.version) for d in items)


def run(opts: argparse.Namespace) -> int:
    """``install``."""
    from .._install import install_plugins

    report = install_plugins(opts.requirements, host=opts.host, pip_args=_pip_args(opts),
                             dry_run=opts.dry_run, group=opts.group, progress=_progress(opts))
    if opts.json:
        print_json(report.to_dict())
        return EXIT_PROBLEMS if report.refused else EXIT_OK
    for finding in report.findings:
        out(finding.line())
    if report.refused:
        count = len(report.findings)
        out("install refused: %s; nothing was installed" % (plural(count, "problem"),))
        return EXIT_PROBLEMS
    for finding in report.warnings:
        warn(finding.line())
    for name in report.without_plugins:
        warn("%s advertises no plugin in entry-point group %r" % (name, report.group))
    if not report.to_install:
        out("Nothing to install: the requirements are already satisfied.")
        return EXIT_OK
    if report.dry_run:
        out("Would install: %s" % (_dists(report.to_install),))
        plugins = [(name, d) for d in report.to_install for name, _ in d.plugins]
        if plugins:
            out("Plugins it would bring: %s" % ", ".join(
                "%s (%s %s)" % (name, d.name, d.version) for name, d in plugins))
        return EXIT_OK
    out("Installed: %s" % (_dists(report.installed),))
    if report.new_plugins:
        out("New plugins:")
        rows = [[p.name, p.dist_version, p.dist_name] for p in report.new_plugins]
        for line in render_table(["NAME", "VERSION", "DISTRIBUTION"], rows, screen_width() - 2):
            out("  " + line)
    else:
        out("No new plugins.")
    return EXIT_OK


def run_uninstall(opts: argparse.Namespace) -> int:
    """``uninstall``."""
    from .._install import uninstall_plugins

    plan = uninstall_plugins(opts.names, group=opts.group, force=opts.force, dry_run=True)
    if plan.refused:
        if opts.json:
            print_json(plan.to_dict())
            return EXIT_PROBLEMS
        for dependent in plan.dependents:
            out("cannot uninstall %s: %s" % (dependent.target, dependent.line()))
        out("nothing was removed; use --force to remove it anyway")
        return EXIT_PROBLEMS
    for dependent in plan.dependents:  # --force
        warn("%s; it will not load without %s" % (dependent.line(), dependent.target))
    if not opts.yes and not _confirm(plan):
        if opts.json:
            print_json(plan.to_dict())
        else:
            out("nothing was removed (not confirmed; --yes skips the question)")
        return EXIT_PROBLEMS
    report = uninstall_plugins(opts.names, group=opts.group, force=opts.force,
                               progress=_progress(opts))
    if opts.json:
        print_json(report.to_dict())
        return EXIT_OK
    for target in report.targets:
        gone = [p.name for p in report.removed if p.dist_name == target.dist_name]
        out("Removed %s %s%s" % (target.dist_name, target.dist_version,
                                 "; plugins gone: %s" % ", ".join(gone) if gone else ""))
    return EXIT_OK


def _confirm(plan: Any) -> bool:
    """Ask on standard error; read the answer from standard input."""
    what = "; ".join("%s %s (%s %s)" % (t.dist_name, t.dist_version,
                                        "plugin" if len(t.plugins) == 1 else "plugins",
                                        ", ".join(t.plugins)) for t in plan.targets)
    sys.stderr.write("Uninstall %s? [y/N] " % (what,))
    sys.stderr.flush()
    try:
        answer = sys.stdin.readline() if sys.stdin is not None else ""
    except (OSError, ValueError):
        answer = ""
    if not answer.endswith("\n"):
        sys.stderr.write("\n")
    return answer.strip().lower() in ("y", "yes")
