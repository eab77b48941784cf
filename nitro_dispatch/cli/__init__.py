"""The ``nitro-dispatch`` command line (also ``python -m nitro_dispatch``).

``list``
    Installed plugins as a table, or ``--json``.  Installed plugins come
    from entry-point metadata (:func:`nitro_dispatch.list_installed_plugins`);
    no plugin code is imported.
``check``
    Check every plugin in stages (see :mod:`nitro_dispatch._check`):
    ``--static`` imports nothing, the default adds the import stage,
    ``--load`` also loads and unloads every plugin.  One line per problem,
    then a summary; ``--json`` gives each problem's stage and phase.  Exit
    status 1 when there is any problem (warnings do not count).
``info NAME``
    One plugin's metadata, source, dependencies (each checked against what
    is installed) and hooks.  This imports the plugin (and its
    dependencies, to learn their versions).
``new NAME``
    Write a new plugin distribution (see :mod:`nitro_dispatch._scaffold`).
``events``
    The events that installed distributions declare under the entry-point
    group ``nitro_dispatch.events`` (mode, historic, doc, declaring
    distribution) and the plugins that hook each one.  This imports the
    declarations and the plugins.  ``check`` uses the same declarations to
    report plugins that hook undeclared events.

Each command is a module of this package (``_list``, ``_check``, ``_info``,
``_events``) with ``add_parser(subparsers)`` and ``run(opts) -> int``;
:data:`COMMANDS` lists them in the order ``--help`` shows them.
``_common`` holds what they share, ``_output`` the robust writers.

Options common to all commands, accepted before or after the command name:
``--group G`` reads another entry-point group, ``--path DIR`` (repeatable)
adds a drop-in directory, ``-v`` shows the library's log at DEBUG.

Drop-in files under ``list``: a drop-in file carries no metadata, so its
plugins cannot be known without running it, and ``list`` promises to run no
plugin code.  ``list --path DIR`` therefore *reads* each ``*_plugin.py``
file of DIR with :mod:`ast` (:func:`nitro_dispatch.list_dropin_plugins`)
and reports the top-level classes that derive
from ``PluginBase`` (directly, or through classes of the same file), with
their ``name`` and ``version`` when those are string literals or module-level
string constants ("?" otherwise).  Plugins that only exist when the file
runs are not seen; ``check`` and ``info`` import the files and see exactly
what the manager sees.

Exit status: 0 success; 1 plugin problems (``check``; ``info`` on a plugin
that cannot be imported); 2 bad arguments, unknown names, unreadable
directories and any other failure, reported in one line on stderr
(``nitro-dispatch: error: ...``), never with a traceback (except that
``-v`` adds one for an unexpected internal error, to help a bug report);
141 when standard output was closed before everything was written (the
reader of a pipe went away: ``nitro-dispatch list | head -1``), quietly, as
the shell reports a program that SIGPIPE ended (128 + 13).

Output never fails the command: characters the terminal's encoding cannot
carry are written as backslash escapes (``caf\\xe9``); a standard output or
error that was closed before the command started is skipped, as
``print()`` does; a standard output that fails otherwise (a full disk) is
reported in one line, status 2.  ``--json`` output is strict JSON (ASCII,
no ``NaN`` or ``Infinity``: a non-finite number is written as the string
``"inf"``, ``"-inf"`` or ``"nan"``).

Logging: the CLI prints the problems it finds itself, so while :func:`main`
runs the ``nitro_dispatch`` logger's level is raised above CRITICAL (no
record is even built; the root logger is never touched).  ``-v`` instead
gives that logger a stderr handler at DEBUG that does not propagate.  The
logger's previous level, handlers and propagation are restored on return.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from .._describe import format_problem
from .._dropin_listing import DropinClass, scan_dropin_source
from .._errors import NitroPluginError
from .._manager import DEFAULT_GROUP
from .._version import __version__
from . import _check, _events, _info, _list, _new
from ._common import (EXIT_CLOSED_PIPE, EXIT_OK, EXIT_USAGE, RAW, Parser, UsageError,
                      add_common_options, describe_os_error)
from ._output import (PROG, OutputFailed, error, flush_stdout, library_logging, render_table,
                      silence)

__all__ = ["main", "build_parser", "scan_dropin_source", "DropinClass", "format_problem",
           "render_table", "COMMANDS"]

#: The command modules, in the order ``--help`` lists them.
COMMANDS = (_list, _check, _info, _events, _new)

_DESCRIPTION = """\
List, check and inspect nitro_dispatch plugins: those installed as
distributions (entry points) and those dropped as *_plugin.py files into
directories given with --path."""

_EPILOG = """\
The options --group, --path and -v may come before or after the command.

exit status: 0 success, 1 plugin problems found (check; info on a plugin
that does not import), 2 bad arguments, unknown names or other errors,
141 standard output closed early (e.g. by '| head').
Run '%(prog)s COMMAND --help' for a command's options."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``nitro-dispatch``."""
    parser = Parser(prog=PROG, description=_DESCRIPTION, epilog=_EPILOG, formatter_class=RAW)
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    add_common_options(parser, "global_")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def _merge_common(opts: argparse.Namespace) -> None:
    group = getattr(opts, "group", None)
    if group is None:
        group = opts.global_group
    if group is not None and not group.strip():
        raise UsageError("--group needs a non-empty entry-point group name")
    opts.group = group or DEFAULT_GROUP
    opts.paths = list(opts.global_paths or ()) + list(getattr(opts, "paths", None) or ())
    opts.verbose = bool(opts.global_verbose or getattr(opts, "verbose", False))


# -- entry point ----------------------------------------------------------------


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    try:
        try:
            opts = parser.parse_args(argv)
        except SystemExit as exc:  # --help and --version
            flush_stdout()
            return exc.code if isinstance(exc.code, int) else EXIT_OK
        _merge_common(opts)
        if opts.command is None:
            names = ", ".join(c.__name__.rsplit("._", 1)[-1] for c in COMMANDS)
            raise UsageError("a command is required: %s (see '%s --help')" % (names, PROG))
        with library_logging(opts.verbose):
            try:
                status: int = opts.handler(opts)
                flush_stdout()  # a closed pipe shows up here, not at exit
                return status
            except (UsageError, NitroPluginError, OSError, KeyboardInterrupt, OutputFailed):
                raise
            except Exception:
                if opts.verbose:
                    import traceback

                    traceback.print_exc()
                raise
    except UsageError as exc:
        error(str(exc))
    except OutputFailed as exc:
        silence(sys.stdout)  # nothing more may reach it, not even at exit
        if isinstance(exc.__cause__, BrokenPipeError):
            return EXIT_CLOSED_PIPE  # the reader went away (``| head``): quietly
        error("cannot write to standard output: %s" % (exc.__cause__,))
    except KeyboardInterrupt:
        error("interrupted")
        return 130
    except SystemExit as exc:  # plugin code may call sys.exit() when imported
        error("unexpected exit (SystemExit %r) while running the command" % (exc.code,))
    except NitroPluginError as exc:
        error(str(exc))
    except OSError as exc:
        error(describe_os_error(exc))
    except Exception as exc:
        error("unexpected %s: %s" % (type(exc).__name__, exc))
    return EXIT_USAGE
