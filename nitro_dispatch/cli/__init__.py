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

``install REQ...`` / ``uninstall NAME...``
    Install plugin distributions with pip after checking, before anything
    changes, that they can work here; remove them unless other plugins
    need them (see :mod:`nitro_dispatch._install`).
``graph``
    The installed plugins and the dependencies between them, as Mermaid or
    DOT, from metadata alone.

Each command is a module of this package (``_list``, ``_check``, ``_info``,
``_events``, ``_install`` (install and uninstall), ``_graph``) with
``add_parser(subparsers)`` and ``run(opts) -> int``; :data:`COMMANDS` lists
them in the order ``--help`` shows them.  ``_common`` holds what they share,
``_output`` the robust writers.

A host application's own command: its console script calls
``main(prog="myapp-plugins", host="myapp")`` and gets every command under
its program name (in usage, help and errors), with ``--host`` defaulting to
its distribution; ``group`` and ``events_group`` set the default
entry-point groups.

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
from typing import List, Optional, Sequence, Tuple

from .._describe import format_problem
from .._dropin_listing import DropinClass, scan_dropin_source
from .._errors import NitroPluginError
from .._manager import DEFAULT_GROUP
from .._version import __version__
from . import _check, _events, _graph, _info, _install, _list, _new
from ._common import (EXIT_CLOSED_PIPE, EXIT_OK, EXIT_USAGE, RAW, Parser, UsageError,
                      add_common_options, describe_os_error)
from ._output import (PROG, OutputFailed, error, flush_stdout, library_logging, program_name,
                      render_table, silence)

__all__ = ["main", "build_parser", "scan_dropin_source", "DropinClass", "format_problem",
           "render_table", "COMMANDS"]

#: The command modules, in the order ``--help`` lists them.
COMMANDS = (_list, _check, _info, _events, _install, _graph, _new)

_DESCRIPTION = """\
List, check and inspect nitro_dispatch plugins: those installed as
distributions (entry points) and those dropped as *_plugin.py files into
directories given with --path.  Install and remove plugin distributions
(checked before pip changes anything), and draw how they fit together."""

_EPILOG = """\
The options --group, --path and -v may come before or after the command.

exit status: 0 success, 1 plugin problems found (check; info on a plugin
that does not import), 2 bad arguments, unknown names or other errors,
141 standard output closed early (e.g. by '| head').
Run '%(prog)s COMMAND --help' for a command's options."""


def build_parser(prog: Optional[str] = None, *, host: Optional[str] = None,
                 events_group: Optional[str] = None) -> argparse.ArgumentParser:
    """The argument parser of ``nitro-dispatch`` (or of a host's command
    named ``prog``, whose ``--host`` and ``--events-group`` default to
    ``host`` and ``events_group``)."""
    return _build(prog, host, events_group)[0]


def _build(prog: Optional[str], host: Optional[str],
           events_group: Optional[str]) -> Tuple[argparse.ArgumentParser, List[str]]:
    """The parser and its command names."""
    description = _DESCRIPTION
    version = "%(prog)s " + __version__
    if prog is not None and prog != PROG:
        version = "%%(prog)s (nitro-dispatch %s)" % (__version__,)
    if host is not None:
        description += ("\n\nPlugins are checked against the installed %s (the default of "
                        "--host)." % (host,))
    parser = Parser(prog=prog or PROG, description=description, epilog=_EPILOG,
                    formatter_class=RAW)
    parser.add_argument("--version", action="version", version=version)
    add_common_options(parser, "global_")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        command.add_parser(commands)
    for sub in commands.choices.values():  # a command without the option ignores it
        if host is not None:
            sub.set_defaults(host=host)
        if events_group is not None:
            sub.set_defaults(events_group=events_group)
    return parser, list(commands.choices)


# Arguments that name things (compared with names read from metadata, which
# are text): decoded as text, whatever the locale.
_TEXT_ARGUMENTS = (("name", "NAME"), ("group", "--group"), ("global_group", "--group"),
                   ("events_group", "--events-group"), ("host", "--host"))


def _text_arguments(opts: argparse.Namespace) -> None:
    """Python decodes ``argv`` with the locale's encoding, undecodable
    bytes as lone surrogates (``café`` typed under ``LC_ALL=C`` arrives as
    ``'caf\\udcc3\\udca9'``).  Such an argument is re-decoded from its
    original bytes as UTF-8, which metadata uses; one that is not UTF-8
    either is a :class:`UsageError`."""
    import os

    for attribute, option in _TEXT_ARGUMENTS:
        value = getattr(opts, attribute, None)
        if not isinstance(value, str):
            continue
        try:
            value.encode("utf-8")
            continue
        except UnicodeEncodeError:
            pass
        try:
            setattr(opts, attribute, os.fsencode(value).decode("utf-8"))
        except (UnicodeError, ValueError):
            shown = repr(os.fsencode(value))[2:-1] if _encodable(value) else repr(value)[1:-1]
            raise UsageError("%s %s: not valid text (undecodable bytes)"
                             % (option, shown)) from None


def _encodable(value: str) -> bool:
    import os

    try:
        os.fsencode(value)
        return True
    except (UnicodeError, ValueError):
        return False


def _merge_common(opts: argparse.Namespace, default_group: str = DEFAULT_GROUP) -> None:
    _text_arguments(opts)
    group = getattr(opts, "group", None)
    if group is None:
        group = opts.global_group
    if group is not None and not group.strip():
        raise UsageError("--group needs a non-empty entry-point group name")
    opts.group = group or default_group
    opts.paths = list(opts.global_paths or ()) + list(getattr(opts, "paths", None) or ())
    opts.verbose = bool(opts.global_verbose or getattr(opts, "verbose", False))


# -- entry point ----------------------------------------------------------------


def main(argv: Optional[Sequence[str]] = None, *, prog: Optional[str] = None,
         host: Optional[str] = None, group: Optional[str] = None,
         events_group: Optional[str] = None) -> int:
    """Run the command line; returns the exit status.

    A host application makes these commands its own with a console script
    calling, say, ``main(prog="myapp-plugins", host="myapp")``: ``prog``
    names the program in usage, help and errors (default
    ``nitro-dispatch``); ``host`` is the application's distribution, the
    default of ``--host`` (``install`` never changes it, and refuses plugins
    that do not fit its installed version); ``group`` and ``events_group``
    are the default entry-point groups of plugins and of declared events.
    """
    with program_name(prog or PROG):
        return _main(argv, prog, host, group, events_group)


def _main(argv: Optional[Sequence[str]], prog: Optional[str], host: Optional[str],
          group: Optional[str], events_group: Optional[str]) -> int:
    parser, names = _build(prog, host, events_group)
    try:
        try:
            opts = parser.parse_args(argv)
        except SystemExit as exc:  # --help and --version
            flush_stdout()
            return exc.code if isinstance(exc.code, int) else EXIT_OK
        _merge_common(opts, group or DEFAULT_GROUP)
        if opts.command is None:
            raise UsageError("a command is required: %s (see '%s --help')"
                             % (", ".join(names), parser.prog))
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
