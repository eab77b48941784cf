"""What the commands of ``nitro-dispatch`` share: exit statuses, the
one-line usage error, the parser class, the options every command takes,
and building a manager the way an application following the docs does."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any, Dict, NoReturn

from .._describe import format_problem, one_line
from .._manager import DEFAULT_GROUP, PluginManager

if TYPE_CHECKING:
    from .._source import PluginProblem

__all__ = ["EXIT_OK", "EXIT_PROBLEMS", "EXIT_USAGE", "EXIT_CLOSED_PIPE", "DROPIN_PATTERN",
           "UNKNOWN", "UsageError", "Parser", "add_common_options", "check_directory",
           "build_manager", "problem_dict", "plural", "describe_os_error", "RAW"]

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE, what a shell shows for a program a closed pipe ended
DROPIN_PATTERN = "*_plugin.py"
UNKNOWN = "?"
RAW = argparse.RawDescriptionHelpFormatter


class UsageError(Exception):
    """A mistake in what the user asked for: one line on stderr, status 2."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage block)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError("%s (see '%s --help')" % (message, self.prog))


def add_common_options(parser: argparse.ArgumentParser, prefix: str) -> None:
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


def check_directory(path: str) -> None:
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


def build_manager(opts: argparse.Namespace) -> PluginManager:
    """A manager with the installed plugins of the group registered (not
    imported), then the drop-ins of each --path: the order an application
    following the docs uses, so conflicts resolve as they would there."""
    for directory in opts.paths:
        check_directory(directory)
    manager = PluginManager(entry_point_group=opts.group, host=getattr(opts, "host", None))
    manager.discover_installed_plugins()
    for directory in opts.paths:
        manager.discover_plugins(directory)
    return manager


def problem_dict(problem: "PluginProblem") -> Dict[str, Any]:
    return {"plugin": problem.plugin, "phase": problem.phase,
            "message": one_line(problem.message),
            "source": problem.source.as_dict() if problem.source is not None else None,
            "line": format_problem(problem)}


def plural(count: int, word: str) -> str:
    return "%d %s%s" % (count, word, "" if count == 1 else "s")


def describe_os_error(exc: OSError) -> str:
    if exc.filename is not None:
        return "%s: %s" % (exc.filename, exc.strerror or exc)
    return str(exc)
