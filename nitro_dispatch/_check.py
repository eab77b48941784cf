"""``check`` in stages (SPEC section 10): the library function the
``nitro-dispatch check`` command calls.

* ``static`` imports nothing (and only this stage reads drop-in files
  rather than importing them): duplicates and canonical-name conflicts,
  incompatible distributions and unmet requirements, cycles and unsuitable
  versions among plugin distributions, invalid versions (all from
  distribution metadata, as ``discover_installed_plugins`` decides them),
  distributions whose ``entry_points.txt`` names the group but does not
  parse (discovery reports them; listing only warns), drop-in
  files that do not parse and drop-in names that clash (read with
  :func:`~nitro_dispatch.list_dropin_plugins`), entry-point groups within two
  edits of the group in use, and allow/block-list names that match nothing.
* ``import`` adds the admission pipeline's import and hook admission
  stages (:meth:`PluginManager.check`, after the declarations installed
  distributions publish are declared): import failures (with the file and
  line of the innermost frame), entry points that name no plugin class or
  one of another name, class-level dependency problems, every hook that
  registration would refuse (no data parameter, a wrapper that is not a
  generator, a bad priority or timeout), hooks on undeclared events
  (phase ``event``), and version drift (a warning).  A plugin the metadata
  stage refuses is never imported.
* ``load`` adds: every plugin loaded in dependency order (its ``on_load``
  runs), then everything unloaded again; load and unload failures.

A problem found by one stage is not repeated by a later one; each has the
phase the manager reports it with.
"""

from __future__ import annotations

import os

from ._errors import NitroPluginError
from ._events import EVENTS_GROUP
from ._manager import PluginManager
from ._phases import (CONFIGURATION, CONFLICT, DISCOVERY, DRIFT, IMPORT, STAGE_IMPORT,
                      STAGE_LOAD, STAGE_STATIC, STAGES, WARNING_PHASES)
from ._plugin import own_version
from ._source import DEFAULT_GROUP, PluginProblem, PluginSource

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

__all__ = ["CheckProblem", "CheckReport", "check_plugins", "near_miss_groups"]


class CheckProblem:
    """A problem ``check`` found: the :class:`PluginProblem`, the stage that
    found it, ``severity`` ("error" or "warning"), and for import failures
    the ``file`` and ``lineno`` of the innermost frame."""

    __slots__ = ("stage", "problem", "severity", "file", "lineno")

    def __init__(self, stage: str, problem: PluginProblem, file: Optional[str] = None,
                 lineno: Optional[int] = None) -> None:
        self.stage = stage
        self.problem = problem
        self.severity = "warning" if problem.phase in WARNING_PHASES else "error"
        self.file = file
        self.lineno = lineno

    @property
    def phase(self) -> str:
        return self.problem.phase

    @property
    def plugin(self) -> Optional[str]:
        return self.problem.plugin

    @property
    def message(self) -> str:
        return self.problem.message

    def __repr__(self) -> str:
        return "CheckProblem(%r, %r, %r)" % (self.stage, self.phase, self.message)


class CheckReport:
    """What :func:`check_plugins` found: ``problems`` in the order found,
    ``checked`` the plugin names looked at, ``stage`` the last stage run."""

    __slots__ = ("stage", "problems", "checked")

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.problems: List[CheckProblem] = []
        self.checked: Set[str] = set()

    @property
    def errors(self) -> List[CheckProblem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> List[CheckProblem]:
        return [p for p in self.problems if p.severity == "warning"]


def check_plugins(group: str = DEFAULT_GROUP, paths: Sequence[str] = (), *,
                  stage: str = STAGE_IMPORT, host: Optional[str] = None,
                  allow_list: Optional[Iterable[str]] = None,
                  block_list: Optional[Iterable[str]] = None,
                  verify_requirements: bool = False) -> CheckReport:
    """Check the installed plugins of ``group`` and the drop-ins of the
    directories ``paths`` up to ``stage`` ("static", "import" or "load"),
    as an application configured with the same arguments would see them."""
    if stage not in STAGES:
        raise ValueError("stage must be one of %s, not %r" % (", ".join(STAGES), stage))
    report = CheckReport(stage)
    seen: Set[Tuple[Optional[str], str]] = set()

    def add(stage_name: str, problems: Iterable[PluginProblem]) -> None:
        for problem in problems:
            key = (problem.plugin, problem.message)  # a later stage may see it again
            if key in seen:
                continue
            seen.add(key)
            file, lineno = _innermost(problem) if problem.phase in (IMPORT, DISCOVERY) \
                else (None, None)
            report.problems.append(CheckProblem(stage_name, problem, file, lineno))

    manager = PluginManager(entry_point_group=group, allow_list=allow_list,
                            block_list=block_list, host=host,
                            verify_requirements=verify_requirements)
    # -- static: metadata and source text only ------------------------------
    manager.discover_installed_plugins()
    add(STAGE_STATIC, manager.get_problems())
    from ._distributions import list_installed_plugins
    from ._dropin_listing import list_dropin_plugins

    installed = list_installed_plugins(group)
    errors: List[Tuple[str, str]] = []
    dropins = list_dropin_plugins(paths, errors=errors)
    if stage == STAGE_STATIC:  # else the import stage sees the drop-ins as the manager does
        add(STAGE_STATIC, [PluginProblem(None, DISCOVERY, message,
                                         PluginSource("dropin", path=path))
                           for path, message in errors])
        add(STAGE_STATIC, _dropin_conflicts(installed, dropins))
    add(STAGE_STATIC, [PluginProblem(None, CONFIGURATION, message)
                       for message in near_miss_groups(group)])
    names = [p.name for p in installed] + [d.name for d in dropins if d.name is not None]
    add(STAGE_STATIC, _unmatched_names(names, allow_list, block_list))
    report.checked.update(names)
    if stage == STAGE_STATIC:
        return report
    # -- import: the plugins' code runs -------------------------------------------
    before = len(manager.get_problems())
    for directory in paths:
        manager.discover_plugins(directory)
    manager.declare_installed_events(EVENTS_GROUP)  # conformance is part of hook admission
    add(STAGE_IMPORT, manager.get_problems()[before:])
    add(STAGE_IMPORT, manager.check())
    add(STAGE_IMPORT, _drift(manager))
    report.checked.update(manager.get_registered_plugins())
    if stage == STAGE_IMPORT:
        return report
    # -- load: on_load runs -------------------------------------------------------
    before = len(manager.get_problems())
    try:
        manager.load_all()
    finally:
        manager.unload_all()
    add(STAGE_LOAD, manager.get_problems()[before:])
    return report


def _innermost(problem: PluginProblem) -> Tuple[Optional[str], Optional[int]]:
    """File and line of the innermost frame of an import failure (none for
    failures the library itself diagnosed, such as a name mismatch)."""
    from ._errors import NitroPluginError

    error: Any = problem.error
    while error is not None and error.__cause__ is not None:
        error = error.__cause__
    if error is None or isinstance(error, NitroPluginError):
        return None, None
    if isinstance(error, SyntaxError) and error.filename:
        return error.filename, error.lineno
    tb = error.__traceback__
    if tb is None:
        return None, None
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_filename, tb.tb_lineno


def _dropin_conflicts(installed: Sequence[Any], dropins: Sequence[Any]) -> List[PluginProblem]:
    """Drop-in names (read, not run) that clash, canonically, with an
    installed plugin or another drop-in."""
    from ._metadata import canonical_name

    claims: Dict[str, List[str]] = {}
    for item in installed:
        claims.setdefault(canonical_name(item.name), []).append(
            "distribution %s %s" % (item.dist_name, item.dist_version))
    dropin_names: Dict[str, str] = {}
    for found in dropins:
        if found.name is None:
            continue
        canon = canonical_name(found.name)
        dropin_names.setdefault(canon, found.name)
        claims.setdefault(canon, []).append("file %s (class %s)" % (found.path,
                                                                    found.class_name))
    problems = []
    for canon, name in dropin_names.items():
        if len(claims[canon]) > 1:
            problems.append(PluginProblem(
                name, CONFLICT, "plugin %r is claimed by several sources (%s); only the "
                "first registers (installed distributions are discovered first)"
                % (name, ", ".join(claims[canon]))))
    return problems


def _unmatched_names(names: Sequence[str], allow_list: Optional[Iterable[str]],
                     block_list: Optional[Iterable[str]]) -> List[PluginProblem]:
    from ._metadata import canonical_name

    known = set(names)
    canonical = {canonical_name(n) for n in names}
    problems = []
    for kind, listed in (("allow", allow_list), ("block", block_list)):
        for name in sorted(listed or ()):
            if canonical_name(name) not in canonical:
                import difflib

                close = difflib.get_close_matches(name, sorted(known), n=1)
                hint = "; did you mean %r?" % (close[0],) if close else ""
                problems.append(PluginProblem(
                    None, CONFIGURATION, "%s-list name %r matches no installed or drop-in "
                    "plugin%s" % (kind, name, hint)))
    return problems


def near_miss_groups(group: str, path: Optional[List[str]] = None) -> List[str]:
    """One message for every installed entry-point group within two edits
    of ``group`` (``nitro_dispatch.plugin`` for ``nitro_dispatch.plugins``):
    plugins advertised there are never found.  Reads every metadata folder's
    ``entry_points.txt`` on the path through the non-blocking, bounded,
    decoding-tolerant reader (a FIFO there never hangs ``check``); a folder
    that cannot be read is not this check's business."""
    import sys

    from ._metadata_files import FolderDistribution

    users: Dict[str, Set[str]] = {}
    for root in (path if path is not None else sys.path):
        try:
            with os.scandir(root or ".") as listing:
                folders = sorted(e.name for e in listing
                                 if e.name.endswith((".dist-info", ".egg-info")))
        except (OSError, TypeError, ValueError):
            continue
        for folder in folders:
            dist = FolderDistribution(root or ".", folder)
            try:
                groups = {ep.group for ep in dist.entry_points}
                name = dist.metadata["Name"] if groups else None
            except Exception:  # an unreadable entry_points.txt is not this check's business
                continue
            for other in groups:
                if other != group and abs(len(other) - len(group)) <= 2 and \
                        _edits(other, group) <= 2:
                    users.setdefault(other, set()).add(name or "?")
    return ["entry-point group %r (used by %s) is within two edits of %r, the group in "
            "use: its plugins are never found; a typo?" % (other, ", ".join(sorted(dists)),
                                                           group)
            for other, dists in sorted(users.items())]


def _edits(a: str, b: str) -> int:
    """Levenshtein distance."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _drift(manager: PluginManager) -> List[PluginProblem]:
    """Installed plugins whose class sets a version other than its
    distribution's (a warning: the distribution's version is used).  Only
    classes the admission pipeline imports are looked at."""
    problems = []
    for name in manager.get_registered_plugins():
        source = manager.get_plugin_source(name)
        if source.kind != "distribution" or not source.dist_version:
            continue
        try:
            cls = manager.get_plugin_class(name)  # imported by check() already
        except NitroPluginError:
            continue  # refused or broken: reported by check()
        own = own_version(cls)
        if own is None or _same_version(own, source.dist_version):
            continue
        problems.append(PluginProblem(
            name, DRIFT, "plugin %r from %s: the class sets version %r, but its distribution "
            "is %s; %s is used for dependencies" % (name, source.describe(), own,
                                                    source.dist_version, source.dist_version),
            source))
    return problems


def _same_version(a: str, b: str) -> bool:
    if a == b:
        return True
    from packaging.version import Version

    try:
        return Version(a) == Version(b)
    except ValueError:  # InvalidVersion, or past int()'s digit limit
        return False
