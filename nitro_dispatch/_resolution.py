"""Dependency resolution over the plugin table: which registered plugins a
load needs (:func:`closure`), which of them can load and in what order
(:func:`resolve`), and the dry run of the admission pipeline that
:meth:`PluginManager.check` reports (:func:`check_problems`).

Requirements come from distribution metadata first (so a plugin that
metadata already rules out is never imported), then from the classes'
``dependencies``; :mod:`._resolver` orders the graph.  The functions read
the table and change it only through its methods; the caller holds its
lock.
"""

from __future__ import annotations

from ._admission import (DEPENDENCY_PHASE, Refusal, Refused, as_refusal, hook_findings,
                         import_class, metadata_refusal, refused_message, refusing)
from ._errors import DependencyError, NitroPluginError
from ._phases import (COMPATIBILITY, CONFIGURATION, CONFLICT, DEPENDENCY, DISCOVERY, EVENT,
                      REQUIREMENTS, VALIDATION)
from ._plugin import parse_dependencies
from ._resolver import Node, resolve as order_nodes
from ._source import PluginProblem

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Dict, List, Set, Tuple

    from ._problems import ProblemLog
    from ._registry import HookRegistry
    from ._table import Entry, PluginTable

__all__ = ["closure", "resolve", "check_problems", "meta_requirements", "dependency_version"]


def closure(table: PluginTable, names: List[str], validate_metadata: bool) -> List[str]:
    """``names`` and, transitively, the registered plugins they require.
    Requirements from distribution metadata are followed first, so a
    plugin that metadata already rules out is never imported."""
    meta_seen: Dict[str, None] = {}  # ordered set
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in meta_seen:
            meta_seen[name] = None
            todo.extend(t for t in (table.find(r.name) for r in
                                    meta_requirements(table.entry(name))) if t)
    refused = refused_by_metadata(table, list(meta_seen), {})
    seen: List[str] = []
    visited: Set[str] = set()  # beside ``seen``, so the walk stays linear
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in visited:
            continue
        visited.add(name)
        seen.append(name)
        entry = table.entry(name)
        reqs = meta_requirements(entry)
        if name not in refused:  # refused by its metadata: never imported
            try:
                reqs = reqs + parse_dependencies(import_class(table, entry, validate_metadata),
                                                 name)
            except (Refused, NitroPluginError):
                pass  # resolve reports it
        todo.extend(t for t in (table.find(r.name) for r in reqs) if t and t not in visited)
    return seen


def resolve(table: PluginTable, names: List[str], validate_metadata: bool
            ) -> Tuple[List[str], Dict[str, Refusal]]:
    """Import what is needed (stage 2 of the admission pipeline) and order
    ``names`` by their dependencies; the others, with why they cannot
    load."""
    nodes: List[Node] = []
    broken = table.unavailable()
    failures = refused_by_metadata(table, names, broken)
    for name in names:
        entry = table.entry(name)
        if name in failures:
            continue  # refused by its metadata: never imported
        try:
            cls = import_class(table, entry, validate_metadata)
            reqs = meta_requirements(entry) + parse_dependencies(cls, name)
        except Refused as exc:
            broken[name] = str(exc.refusal.error)
            failures[name] = exc.refusal
            continue
        except NitroPluginError as exc:  # a malformed dependency string
            refusal = failures[name] = as_refusal(exc)
            broken[name] = str(refusal.error)
            continue
        nodes.append(Node(name, dependency_version(entry), reqs, entry.source.describe()))
    # Loaded plugins outside ``names`` still satisfy requirements.
    wanted = set(names)
    for name in table.loaded_names():
        if name not in wanted:
            entry = table.entry(name)
            nodes.append(Node(name, dependency_version(entry), [], entry.source.describe()))
    order, dep_failures = order_nodes(nodes, broken)
    for name, error in dep_failures.items():
        failures[name] = Refusal(DEPENDENCY_PHASE, "dependency", error)
    for node in nodes:
        if node.name in wanted:
            table.set_requires(node.name, [
                t for t in (table.find(r.name) for r in node.requirements
                            if r.marker is None or r.marker.evaluate()) if t])
    return [n for n in order if n in wanted], failures


#: Problems of the log that ``check`` passes on: found before any import.
_STATIC_PHASES = frozenset({DISCOVERY, CONFLICT, CONFIGURATION, COMPATIBILITY, REQUIREMENTS,
                            VALIDATION})


def check_problems(table: PluginTable, registry: HookRegistry, problems: ProblemLog, *,
                   validate_metadata: bool, strict_events: bool) -> List[PluginProblem]:
    """The admission pipeline up to hook admission for every registered
    plugin, loading none and reporting nothing: the problems the log holds
    from before any import (discovery, metadata, unusable declarations),
    then each plugin's refusal (import, dependency) or its hook findings,
    with the phase and kind a load would report them with."""
    found: List[PluginProblem] = []
    keys: Set[Tuple[Any, str, str]] = set()

    def add(problem: PluginProblem) -> None:
        key = (problem.plugin, problem.phase, problem.kind)
        if key not in keys:
            keys.add(key)
            found.append(problem)

    for problem in problems.items():
        if problem.phase in _STATIC_PHASES or (problem.phase == EVENT and problem.plugin is None) \
                or (problem.phase == DEPENDENCY and problem.error is None):
            add(problem)
    with table:
        _, failures = resolve(table, table.names(), validate_metadata)
        classes = [(n, table.entry(n)) for n in table.names() if n not in failures]
    for name, refusal in failures.items():
        if not refusal.reported:
            add(refusal.problem(name, table.entry(name).source))
    for name, entry in classes:
        if entry.cls is None:
            continue
        findings = hook_findings(registry, entry.cls)
        refused = refusing(findings, strict_events)
        for phase, kind, message in findings:
            if (phase, kind, message) in refused:  # worded as a load would report it
                message = refused_message(name, message)
            add(PluginProblem(name, phase, message, entry.source, kind=kind))
    return found


def meta_requirements(entry: Entry) -> List[Any]:
    """Requirements on plugins that ``entry``'s distribution metadata
    declares: each plugin of a required plugin distribution, with the
    distribution requirement's specifier."""
    if entry.meta is None or not entry.meta.report.depends:
        return []
    from ._requirements import plugin_requirements

    return plugin_requirements(entry.meta.report, entry.meta.reports)


def refused_by_metadata(table: PluginTable, names: List[str], broken: Dict[str, str]
                        ) -> Dict[str, Refusal]:
    """The plugins of ``names`` that metadata alone rules out: refused
    themselves, or requiring (by distribution metadata) a plugin that is.
    Their reasons go into ``broken`` too."""
    failures: Dict[str, Refusal] = {}
    dependents: Dict[str, List[Tuple[str, Any]]] = {}  # required name -> [(name, req)]
    for name in names:
        entry = table.entry(name)
        refusal = metadata_refusal(entry)
        if refusal is not None:
            failures[name] = refusal
            broken[name] = str(refusal.error)
        for req in meta_requirements(entry):
            dependents.setdefault(req.name, []).append((name, req))
    todo = [n for n in broken if n in dependents]
    while todo:  # dependents by metadata, transitively (no recursion)
        required = todo.pop()
        for name, req in dependents.get(required, ()):
            if name in failures:
                continue
            error = DependencyError("plugin %r requires %r, which cannot load: %s"
                                    % (name, str(req), broken[required]))
            failures[name] = Refusal(DEPENDENCY_PHASE, "dependency", error)
            broken[name] = str(error)
            todo.append(name)
    return failures


def dependency_version(entry: Entry) -> str:
    """The version other plugins' requirements are checked against: an
    installed plugin's distribution version (SPEC section 10), else the
    class's."""
    source = entry.source
    if source.kind == "distribution" and source.dist_version and entry.meta is not None \
            and not entry.meta.report.invalid_version:
        return source.dist_version
    return entry.version or "0"
