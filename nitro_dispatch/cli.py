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
from typing import TYPE_CHECKING, Any, Dict, List, NoReturn, Optional, Sequence, Tuple

from . import __version__
from ._cli_output import (PROG, _error, _flush_stdout, _library_logging, _out, _OutputFailed,
                          _print_fields, _print_json, _silence, _warn, _width, _wrap,
                          render_table)
from ._describe import describe_plugin, format_problem, one_line as _one_line, source_fields
from ._dropin_listing import DropinClass, scan_dropin_source
from ._errors import NitroPluginError
from ._events import EVENTS_GROUP
from ._events_installed import describe_installed_events
from ._manager import DEFAULT_GROUP, PluginManager
from ._source import PluginProblem

if TYPE_CHECKING:
    from ._distributions import InstalledPlugin

__all__ = ["main", "build_parser", "scan_dropin_source", "DropinClass", "format_problem",
           "render_table"]

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE, what a shell shows for a program a closed pipe ended
DROPIN_PATTERN = "*_plugin.py"
UNKNOWN = "?"


class UsageError(Exception):
    """A mistake in what the user asked for: one line on stderr, status 2."""


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


def _describe_os_error(exc: OSError) -> str:
    if exc.filename is not None:
        return "%s: %s" % (exc.filename, exc.strerror or exc)
    return str(exc)


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
            _print_fields([("Name", name)] + source_fields(source, opts.group))
            _out("Problem:      %s" % (line,))
        return EXIT_PROBLEMS
    data = describe_plugin(manager, name, cls)
    if opts.json:
        _print_json(data)
        return EXIT_OK
    _print_fields([("Name", name), ("Version", data["version"] or UNKNOWN),
                   ("Description", data["description"] or "-"),
                   ("Author", data["author"] or "-")] + source_fields(source, opts.group))
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
