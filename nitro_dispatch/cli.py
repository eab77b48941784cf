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
``events``
    The events that installed distributions declare under the entry-point
    group ``nitro_dispatch.events`` (mode, historic, doc, declaring
    distribution) and the plugins that hook each one.  This imports the
    declarations and the plugins.  ``check`` uses the same declarations to
    report plugins that hook undeclared events.

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
import os
import sys
from contextlib import contextmanager
from typing import (TYPE_CHECKING, Any, Dict, Iterator, List, NoReturn, Optional, Sequence,
                    Tuple, Type)

from . import __version__
from ._dropin_listing import DropinClass, scan_dropin_source
from ._errors import NitroPluginError
from ._events import EVENTS_GROUP
from ._events_installed import describe_installed_events
from ._manager import DEFAULT_GROUP, PluginManager
from ._plugin import DEFAULT_VERSION, PluginBase
from ._source import PluginProblem, PluginSource

if TYPE_CHECKING:
    from ._distributions import InstalledPlugin

__all__ = ["main", "build_parser", "scan_dropin_source", "DropinClass", "format_problem"]

PROG = "nitro-dispatch"
EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE, what a shell shows for a program a closed pipe ended
DROPIN_PATTERN = "*_plugin.py"
MIN_WIDTH = 40
UNKNOWN = "?"


class UsageError(Exception):
    """A mistake in what the user asked for: one line on stderr, status 2."""


class _OutputFailed(Exception):
    """Writing to standard output failed (``__cause__`` says why)."""


# -- argument parsing ---------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage block)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError("%s (see '%s --help')" % (message, self.prog))


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

_LIST_HELP = """\
List installed plugins without importing any plugin code: distributions are
read from their entry-point metadata.  Drop-in files (--path) are read, not
run: each *_plugin.py file is parsed with Python's ast module, and its
top-level classes deriving from PluginBase are listed with their 'name' and
'version' when those are string literals ('?' otherwise).  The VERSION
column shows the distribution's version for installed plugins.  Names
claimed by more than one source are marked with '!'."""

_CHECK_HELP = """\
Check every plugin (installed, and drop-ins from --path) in stages: one line
per problem, then a summary.  --static imports nothing: conflicts, the
distributions' requirements and compatibility (--host), cycles, invalid
versions, near-miss entry-point groups, --allow/--block names that match
nothing.  The default adds the import stage: import failures (file and
line), name mismatches, dependencies, version drift (a warning).  --load also
loads every plugin (running on_load) and unloads it again.  --json gives every
problem with its stage and phase.  Exit status 1 when any problem is found
(warnings do not count)."""

_EVENTS_HELP = """\
List the events that installed distributions declare (entry-point group
nitro_dispatch.events, or --events-group): mode, historic, doc, the
declaring distribution, and the plugins (installed, and drop-ins from
--path) that hook each one, in the order they run.  This imports the
declarations and the plugins.  Exit status 1 when a declaration cannot be
read."""

_INFO_HELP = """\
Show one plugin's metadata, source, dependencies (each checked against the
plugins found) and hooks.  This imports the plugin and its dependencies."""


def _add_common_options(parser: argparse.ArgumentParser, prefix: str) -> None:
    """--group, --path and -v, stored under ``prefix``-ed names so values
    given before and after the command can be merged."""
    parser.add_argument("--group", metavar="GROUP", dest=prefix + "group", default=None,
                        help="entry-point group to read (default: %s)" % DEFAULT_GROUP)
    parser.add_argument("--path", metavar="DIR", dest=prefix + "paths", action="append",
                        default=None,
                        help="also use the %s files of this drop-in directory "
                             "(repeatable)" % DROPIN_PATTERN)
    parser.add_argument("-v", "--verbose", dest=prefix + "verbose", action="store_true",
                        default=False, help="show the library's log messages (DEBUG) on stderr")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``nitro-dispatch``."""
    parser = _Parser(prog=PROG, description=_DESCRIPTION, epilog=_EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    _add_common_options(parser, "global_")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p_list = commands.add_parser("list", help="list installed plugins (imports nothing)",
                                 description=_LIST_HELP,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    p_list.add_argument("--json", action="store_true", help="print JSON for machines")
    _add_common_options(p_list, "")
    p_list.set_defaults(handler=_cmd_list)

    p_check = commands.add_parser("check", help="report every problem; status 1 if any",
                                  description=_CHECK_HELP,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    p_check.add_argument("--json", action="store_true", help="print JSON for machines")
    stages = p_check.add_mutually_exclusive_group()
    stages.add_argument("--static", action="store_const", dest="stage", const="static",
                        default="import", help="import nothing: metadata and source text only")
    stages.add_argument("--load", action="store_const", dest="stage", const="load",
                        help="also load every plugin (on_load runs), then unload it")
    p_check.add_argument("--host", metavar="DIST", default=None,
                         help="the application's distribution: plugins requiring another "
                              "version of it are incompatible")
    p_check.add_argument("--allow", metavar="NAME", action="append", default=None,
                         help="allow-list a plugin name, as the application does (repeatable)")
    p_check.add_argument("--block", metavar="NAME", action="append", default=None,
                         help="block-list a plugin name, as the application does (repeatable)")
    _add_common_options(p_check, "")
    p_check.set_defaults(handler=_cmd_check)

    p_info = commands.add_parser("info", help="show one plugin's metadata, source, "
                                              "dependencies and hooks",
                                 description=_INFO_HELP,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    p_info.add_argument("name", metavar="NAME", help="the plugin's name")
    p_info.add_argument("--json", action="store_true", help="print JSON for machines")
    p_info.add_argument("--host", metavar="DIST", default=None,
                        help="the application's distribution (see check --host)")
    _add_common_options(p_info, "")
    p_info.set_defaults(handler=_cmd_info)

    p_events = commands.add_parser("events", help="list declared events and the plugins "
                                                  "that hook them",
                                   description=_EVENTS_HELP,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    p_events.add_argument("--json", action="store_true", help="print JSON for machines")
    p_events.add_argument("--events-group", metavar="GROUP", default=EVENTS_GROUP,
                          help="entry-point group of the declarations (default: %s)"
                               % EVENTS_GROUP)
    _add_common_options(p_events, "")
    p_events.set_defaults(handler=_cmd_events)
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
            _flush_stdout()
            return exc.code if isinstance(exc.code, int) else EXIT_OK
        _merge_common(opts)
        if opts.command is None:
            raise UsageError("a command is required: list, check, info or events (see '%s --help')"
                             % PROG)
        with _library_logging(opts.verbose):
            try:
                status: int = opts.handler(opts)
                _flush_stdout()  # a closed pipe shows up here, not at exit
                return status
            except (UsageError, NitroPluginError, OSError, KeyboardInterrupt, _OutputFailed):
                raise
            except Exception:
                if opts.verbose:
                    import traceback

                    traceback.print_exc()
                raise
    except UsageError as exc:
        _error(str(exc))
    except _OutputFailed as exc:
        _silence(sys.stdout)  # nothing more may reach it, not even at exit
        if isinstance(exc.__cause__, BrokenPipeError):
            return EXIT_CLOSED_PIPE  # the reader went away (``| head``): quietly
        _error("cannot write to standard output: %s" % (exc.__cause__,))
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except SystemExit as exc:  # plugin code may call sys.exit() when imported
        _error("unexpected exit (SystemExit %r) while running the command" % (exc.code,))
    except NitroPluginError as exc:
        _error(str(exc))
    except OSError as exc:
        _error(_describe_os_error(exc))
    except Exception as exc:
        _error("unexpected %s: %s" % (type(exc).__name__, exc))
    return EXIT_USAGE


def _error(message: str) -> None:
    _err_line("%s: error: %s\n" % (PROG, _one_line(message)))


def _warn(message: str) -> None:
    _err_line("%s: warning: %s\n" % (PROG, _one_line(message)))


def _err_line(line: str) -> None:
    """Write to stderr; if that fails there is nowhere left to say so."""
    stream = sys.stderr
    if stream is None:  # started without one
        return
    try:
        _write(stream, line)
        stream.flush()
    except (OSError, ValueError):
        _silence(stream)


def _out(text: str = "") -> None:
    """One line on stdout; :class:`_OutputFailed` when it cannot be written."""
    stream = sys.stdout
    if stream is None:  # started without one: discard, as print() does
        return
    try:
        _write(stream, text + "\n")
    except (OSError, ValueError) as exc:  # ValueError: the stream was closed
        raise _OutputFailed() from exc


def _flush_stdout() -> None:
    if sys.stdout is not None:
        try:
            sys.stdout.flush()
        except (OSError, ValueError) as exc:
            raise _OutputFailed() from exc


def _write(stream: Any, text: str) -> None:
    """``stream.write(text)``, escaping what the stream's encoding cannot
    carry instead of failing (a text stream encodes before it writes, so a
    failed attempt wrote nothing)."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(encoding, "backslashreplace").decode(encoding))


def _silence(stream: Any) -> None:
    """Point ``stream``'s descriptor at the null device, so that what is
    still buffered in it can be flushed at exit without another error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, stream.fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _describe_os_error(exc: OSError) -> str:
    if exc.filename is not None:
        return "%s: %s" % (exc.filename, exc.strerror or exc)
    return str(exc)


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


@contextmanager
def _library_logging(verbose: bool) -> Iterator[None]:
    """Silence the library's logger (or, verbose, send it to stderr) for the
    duration of one command; restore it afterwards."""
    import logging

    logger = logging.getLogger("nitro_dispatch")
    saved = (logger.level, logger.propagate, list(logger.handlers))
    handler: Optional[logging.Handler] = None
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
    else:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        if handler is not None:
            logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
        logger.handlers[:] = saved[2]


# -- drop-in directories ----------------------------------------------------------


def _check_directory(path: str) -> None:
    """Raise :class:`UsageError` unless ``path`` is a readable directory."""
    if not os.path.exists(path):
        raise UsageError("--path %s: no such directory" % (path,))
    if not os.path.isdir(path):
        raise UsageError("--path %s: not a directory" % (path,))
    try:
        with os.scandir(path):
            pass
    except OSError as exc:
        raise UsageError("--path %s: cannot read the directory: %s"
                         % (path, exc.strerror or exc)) from None


# -- list ---------------------------------------------------------------------------


class _Listed:
    """One row of ``list``."""

    __slots__ = ("name", "version", "kind", "value", "module", "attr", "group", "dist_name",
                 "dist_version", "location", "where", "conflict")

    def __init__(self, name: Optional[str], version: Optional[str], kind: str, value: str,
                 *, module: Optional[str] = None, attr: Optional[str] = None,
                 group: Optional[str] = None, dist_name: Optional[str] = None,
                 dist_version: Optional[str] = None, location: Optional[str] = None,
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
        self.where = where  # "distribution x 1.0" / "file f.py": for conflict notes
        self.conflict = False

    def as_dict(self) -> Dict[str, Any]:
        return {slot: getattr(self, slot) for slot in self.__slots__ if slot != "where"}


def _from_installed(item: "InstalledPlugin") -> _Listed:
    return _Listed(item.name, item.dist_version, "distribution", item.value,
                   module=item.module, attr=item.attr, group=item.group,
                   dist_name=item.dist_name, dist_version=item.dist_version,
                   location=item.location,
                   where="distribution %s %s" % (item.dist_name, item.dist_version))


def _collect_listing(group: str, paths: List[str]) -> List[_Listed]:
    from ._distributions import list_installed_plugins
    from ._dropin_listing import list_dropin_plugins

    rows = [_from_installed(item) for item in list_installed_plugins(group)]
    errors: List[Tuple[str, str]] = []
    for found in list_dropin_plugins(paths, DROPIN_PATTERN, errors=errors):
        rows.append(_Listed(found.name, found.version, "dropin",
                            "%s:%s" % (found.path, found.class_name), attr=found.class_name,
                            location=found.location,
                            where="file %s (class %s)" % (found.path, found.class_name)))
    for _, message in errors:
        _warn(message)
    by_name: Dict[str, List[_Listed]] = {}
    for row in rows:
        if row.name is not None:
            by_name.setdefault(row.name, []).append(row)
    for claims in by_name.values():
        if len(claims) > 1:
            for row in claims:
                row.conflict = True
    rows.sort(key=lambda r: ((r.name or "").lower(), r.name or "", r.kind != "distribution"))
    return rows


def _cmd_list(opts: argparse.Namespace) -> int:
    for directory in opts.paths:
        _check_directory(directory)
    rows = _collect_listing(opts.group, opts.paths)
    if opts.json:
        _print_json([row.as_dict() for row in rows])
        return EXIT_OK
    if not rows:
        where = " or in %s" % ", ".join(opts.paths) if opts.paths else ""
        _out("No plugins found in entry-point group %r%s." % (opts.group, where))
        return EXIT_OK
    table = [[(row.name or UNKNOWN) + (" !" if row.conflict else ""),
              row.version or UNKNOWN,
              row.dist_name or "(drop-in)",
              row.value] for row in rows]
    width = _width()
    for line in render_table(["NAME", "VERSION", "DISTRIBUTION", "ENTRY POINT"], table, width):
        _out(line)
    conflicts: Dict[str, List[str]] = {}
    for row in rows:
        if row.conflict and row.name is not None:
            conflicts.setdefault(row.name, []).append(row.where)
    if conflicts:
        import textwrap

        _out()
        for name, wheres in conflicts.items():
            note = "! %r is claimed by %d sources: %s; only one can be used (see '%s check')" \
                % (name, len(wheres), "; ".join(wheres), PROG)
            for line in textwrap.wrap(note, width, subsequent_indent="  ",
                                      break_on_hyphens=False):
                _out(line)
    return EXIT_OK


def _width() -> int:
    import shutil

    return max(MIN_WIDTH, shutil.get_terminal_size((80, 24)).columns)


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]],
                 width: int = 80) -> List[str]:
    """Lay out a table within ``width`` columns.  When the natural widths do
    not fit, the widest column is narrowed first, repeatedly, and a cell too
    long for its column wraps onto continuation lines: nothing is cut off.

    >>> for line in render_table(["NAME", "VALUE"], [["x", "pkg.module:Class"]], width=18):
    ...     print(line)
    NAME  VALUE
    x     pkg.module:
          Class
    """
    gap = 2
    count = len(headers)
    widths = [max([len(headers[i])] + [len(row[i]) for row in rows]) for i in range(count)]
    floors = [min(widths[i], max(len(headers[i]), 8)) for i in range(count)]
    room = width - gap * (count - 1)
    while sum(widths) > room:
        candidates = [i for i in range(count) if widths[i] > floors[i]]
        if not candidates:
            break  # too narrow a screen: let lines run over
        widths[max(candidates, key=lambda i: (widths[i], i))] -= 1
    lines: List[str] = []
    for row in [list(headers)] + [list(r) for r in rows]:
        cells = [_wrap(row[i], widths[i]) for i in range(count)]
        for n in range(max(len(c) for c in cells)):
            parts = [(c[n] if n < len(c) else "").ljust(widths[i]) for i, c in enumerate(cells)]
            lines.append((" " * gap).join(parts).rstrip())
    return lines


def _wrap(text: str, width: int) -> List[str]:
    """Cut ``text`` into pieces of at most ``width`` characters, preferably
    after a space or a separator of paths and dotted names."""
    width = max(width, 1)
    pieces: List[str] = []
    while len(text) > width:
        cut = max(text.rfind(sep, 0, width) for sep in " /\\:.-_")
        cut = cut + 1 if cut >= width // 2 else width
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip(" ")
    pieces.append(text)
    return pieces


def _print_json(data: Any) -> None:
    """Strict JSON: a non-finite float (``NaN``, ``Infinity`` are not JSON)
    becomes the string ``"nan"``, ``"inf"`` or ``"-inf"``."""
    import json

    try:
        text = json.dumps(data, indent=2, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(data), indent=2, allow_nan=False)
    _out(text)


def _finite(data: Any) -> Any:
    if isinstance(data, float):
        return data if data - data == 0.0 else repr(data)  # inf - inf and nan - nan: nan
    if isinstance(data, dict):
        return {key: _finite(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(value) for value in data]
    return data


# -- check ----------------------------------------------------------------------------


def _build_manager(opts: argparse.Namespace) -> PluginManager:
    """A manager with the installed plugins of the group registered (not
    imported), then the drop-ins of each --path: the order an application
    following the docs uses, so conflicts resolve as they would there."""
    for directory in opts.paths:
        _check_directory(directory)
    manager = PluginManager(entry_point_group=opts.group, host=getattr(opts, "host", None))
    manager.discover_installed_plugins()
    for directory in opts.paths:
        manager.discover_plugins(directory)
    return manager


def format_problem(problem: PluginProblem) -> str:
    """One line: the plugin, where it comes from, what is wrong.

    The library's messages start with ``plugin 'x' from <source>``; that
    becomes the line's prefix ``x (<source>): ``.
    """
    message = _one_line(problem.message)
    source = problem.source
    where = source.describe() if source is not None else None
    if problem.plugin is None:
        path = source.path if source is not None else None
        if where is None or (path and path in message):
            return message
        return "%s: %s" % (where, message)
    rest = message
    lead = "plugin %r" % (problem.plugin,)
    while rest.startswith(lead):  # wrapped errors may repeat it: "plugin 'x' in f: plugin 'x': .."
        rest = rest[len(lead):].lstrip()
        for filler in ("from %s" % (where,), "(%s)" % (where,),
                       "in %s" % (source.path if source else None,)):
            if rest.startswith(filler):
                rest = rest[len(filler):]
                break
        rest = rest.lstrip(" :,")
    rest = rest or message
    return "%s%s: %s" % (problem.plugin, " (%s)" % where if where else "", rest)


def _problem_dict(problem: PluginProblem) -> Dict[str, Any]:
    return {"plugin": problem.plugin, "phase": problem.phase,
            "message": _one_line(problem.message),
            "source": problem.source.as_dict() if problem.source is not None else None,
            "line": format_problem(problem)}


def _plural(count: int, word: str) -> str:
    return "%d %s%s" % (count, word, "" if count == 1 else "s")


def _cmd_check(opts: argparse.Namespace) -> int:
    from ._check import check_plugins

    for directory in opts.paths:
        _check_directory(directory)
    if opts.host is not None and not opts.host.strip():
        raise UsageError("--host needs a distribution name")
    report = check_plugins(opts.group, opts.paths, stage=opts.stage, host=opts.host,
                           allow_list=opts.allow, block_list=opts.block)
    names = set(report.checked)
    names.update(p.plugin for p in report.problems if p.plugin is not None)
    errors, warnings = report.errors, report.warnings
    if opts.json:
        _print_json({"stage": report.stage, "checked": len(names),
                     "problems": [_check_problem_dict(p) for p in report.problems]})
    else:
        for found in report.problems:
            line = format_problem(found.problem)
            if found.file is not None:
                line += " (at %s:%s)" % (found.file, found.lineno)
            _out(("warning: " if found.severity == "warning" else "") + line)
        summary = "%s checked, %s" % (_plural(len(names), "plugin"),
                                      _plural(len(errors), "problem"))
        if warnings:
            summary += ", %s" % (_plural(len(warnings), "warning"),)
        _out(summary)
    return EXIT_PROBLEMS if errors else EXIT_OK


def _check_problem_dict(found: Any) -> Dict[str, Any]:
    data = _problem_dict(found.problem)
    data.update(stage=found.stage, severity=found.severity, file=found.file,
                lineno=found.lineno)
    return data


# -- info -------------------------------------------------------------------------------


def _lookup(manager: PluginManager, opts: argparse.Namespace) -> str:
    """The registered name asked for; otherwise the reason why not."""
    name: str = opts.name
    registered = manager.get_registered_plugins()
    if name in registered:
        return name
    from packaging.utils import canonicalize_name

    same = [n for n in registered if canonicalize_name(n) == canonicalize_name(name)]
    if len(same) == 1:
        return same[0]
    claims = [p for p in manager.get_problems() if p.plugin == name]
    if claims:
        raise _PluginTrouble([format_problem(p) for p in claims])
    import difflib

    where = "entry-point group %r" % (opts.group,)
    if opts.paths:
        where += " or in %s" % ", ".join(opts.paths)
    close = difflib.get_close_matches(name, registered, n=3)
    hint = " (did you mean %s?)" % " or ".join(repr(c) for c in close) if close else ""
    raise UsageError("no plugin named %r is installed in %s%s" % (name, where, hint))


class _PluginTrouble(Exception):
    """The plugin exists but cannot be used: print the lines, status 1."""

    def __init__(self, lines: List[str]) -> None:
        super().__init__("; ".join(lines))
        self.lines = lines


def _dependency(manager: PluginManager, text: Any) -> Dict[str, Any]:
    """One requirement and whether the plugins found satisfy it."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version

    result: Dict[str, Any] = {"requirement": str(text), "status": "", "satisfied": False,
                              "found": None, "found_version": None, "detail": ""}
    try:
        req = Requirement(str(text))
    except InvalidRequirement:
        result.update(status="invalid", detail="not a valid PEP 508 requirement")
        return result
    if req.marker is not None and not req.marker.evaluate():
        result.update(status="ignored", satisfied=True,
                      detail="not needed here: its environment marker is false")
        return result
    wanted = canonicalize_name(req.name)
    targets = [n for n in manager.get_registered_plugins() if canonicalize_name(n) == wanted]
    if not targets:
        result.update(status="missing", detail="no plugin named %r is installed" % (req.name,))
        return result
    target = targets[0]
    where = manager.get_plugin_source(target).describe()
    result["found"] = target
    try:
        manager.get_plugin_class(target)
    except NitroPluginError as exc:
        problem = PluginProblem(target, "import", str(exc), manager.get_plugin_source(target))
        result.update(status="broken", detail=format_problem(problem))
        return result
    version = manager.get_plugin_version(target) or DEFAULT_VERSION
    result["found_version"] = version
    try:
        ok = not req.specifier or req.specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        ok = False
    found = "%s %s from %s" % (target, version, where)
    if ok:
        result.update(status="ok", satisfied=True, detail=found)
    else:
        result.update(status="unsatisfied", detail="found %s" % (found,))
    return result


def _hooks(cls: "Type[PluginBase]") -> List[Dict[str, Any]]:
    from ._hooks import is_async_callable

    hooks = []
    for method, spec in cls.nitro_hook_specs():
        is_async = bool(spec.async_hook) or is_async_callable(getattr(cls, method, None))
        hooks.append({"event": spec.event, "priority": spec.priority,
                      "timeout": spec.timeout, "async": is_async, "method": method})
    return hooks


def _source_lines(source: PluginSource, group: str) -> List[Tuple[str, str]]:
    if source.kind == "distribution":
        lines = [("Source", "distribution %s %s" % (source.dist_name, source.dist_version)),
                 ("Entry point", "%s (group %s)" % (source.value, group))]
        if source.path:
            lines.append(("Location", source.path))
        return lines
    if source.kind == "dropin":
        lines = [("Source", "drop-in file %s" % (source.path,))]
        if source.value:
            lines.append(("Class", source.value.rpartition(":")[2]))
        return lines
    return [("Source", source.describe())]


def _cmd_info(opts: argparse.Namespace) -> int:
    manager = _build_manager(opts)
    try:
        name = _lookup(manager, opts)
    except _PluginTrouble as trouble:
        for line in trouble.lines:
            _error(line)
        return EXIT_PROBLEMS
    source = manager.get_plugin_source(name)
    incompatible = [p for p in manager.get_problems()
                    if p.plugin == name and p.phase == "compatibility"]
    try:
        if incompatible:  # never imported (SPEC section 10)
            raise NitroPluginError(incompatible[0].message)
        cls = manager.get_plugin_class(name)
    except NitroPluginError as exc:
        line = format_problem(PluginProblem(name, "import", str(exc), source))
        if opts.json:
            _print_json({"name": name, "source": source.as_dict(), "error": line})
        else:
            _print_fields([("Name", name)] + _source_lines(source, opts.group))
            _out("Problem:      %s" % (line,))
        return EXIT_PROBLEMS
    data: Dict[str, Any] = {
        "name": name,
        "version": manager.get_plugin_version(name),
        "description": str(getattr(cls, "description", "") or ""),
        "author": str(getattr(cls, "author", "") or ""),
        "source": source.as_dict(),
        "dependencies": [_dependency(manager, d)
                         for d in (getattr(cls, "dependencies", None) or [])],
        "hooks": _hooks(cls),
        "error": None,
    }
    if opts.json:
        _print_json(data)
        return EXIT_OK
    _print_fields([("Name", name), ("Version", data["version"] or UNKNOWN),
                   ("Description", data["description"] or "-"),
                   ("Author", data["author"] or "-")] + _source_lines(source, opts.group))
    if data["dependencies"]:
        _out("Dependencies:")
        for dep in data["dependencies"]:
            _out("  %s  [%s] %s" % (dep["requirement"], dep["status"], dep["detail"]))
    else:
        _out("Dependencies: none")
    if data["hooks"]:
        _out("Hooks:")
        rows = [[h["event"], str(h["priority"]),
                 "-" if h["timeout"] is None else "%gs" % h["timeout"],
                 "async" if h["async"] else "sync", h["method"]] for h in data["hooks"]]
        for line in render_table(["EVENT", "PRIORITY", "TIMEOUT", "KIND", "METHOD"], rows,
                                 _width() - 2):
            _out("  " + line)
    else:
        _out("Hooks: none")
    return EXIT_OK


def _print_fields(fields: List[Tuple[str, str]]) -> None:
    """``Label:  value`` lines; prose (the description) wraps to the screen,
    names and paths stay whole so they can be copied."""
    import textwrap

    width = _width()
    for label, value in fields:
        head = "%-14s" % (label + ":")
        value = _one_line(value)
        pieces = [value]
        if label == "Description":
            pieces = textwrap.wrap(value, max(20, width - len(head)),
                                   break_on_hyphens=False, break_long_words=False) or [""]
        _out((head + pieces[0]).rstrip())
        for piece in pieces[1:]:
            _out(" " * len(head) + piece)


# -- events ---------------------------------------------------------------------------------


def _cmd_events(opts: argparse.Namespace) -> int:
    if not opts.events_group.strip():
        raise UsageError("--events-group needs a non-empty entry-point group name")
    manager = _build_manager(opts)
    events, problems = describe_installed_events(manager, opts.events_group)
    if opts.json:
        _print_json({"group": opts.events_group, "events": [e.to_dict() for e in events],
                     "problems": [_problem_dict(p) for p in problems]})
    else:
        for problem in problems:
            _warn(format_problem(problem))
        if not events:
            _out("No declared events in entry-point group %r." % (opts.events_group,))
        for index, event in enumerate(events):
            mode = event.mode + (", historic" if event.historic else "")
            origin = "declared by %s %s" % (event.dist_name, event.dist_version) \
                if event.dist_name else "declared in code"
            _out("%s%s  [%s]  %s" % ("" if index == 0 else "\n", event.name, mode, origin))
            if event.doc:
                for line in _wrap(_one_line(event.doc), _width() - 4):
                    _out("    " + line)
            hooked = ", ".join(h.plugin + "".join(
                [" (wrapper)" if h.wrapper else "",
                 " via %s" % h.hooked if h.hooked != event.name else ""])
                for h in event.hooks) or "no installed plugin"
            _out("    hooked by: " + hooked)
    return EXIT_PROBLEMS if problems else EXIT_OK
