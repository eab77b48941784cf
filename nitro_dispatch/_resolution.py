"""Dependency resolution for the manager: import what is needed, follow
requirements (distribution metadata first, then the classes'), and hand
the graph to :mod:`._resolver` for ordering.

These functions are the manager's resolution glue, kept apart from the
lifecycle in :mod:`._manager`; they read and update a
:class:`PluginManager`'s entries and are called under its lock.
"""

from __future__ import annotations

from ._errors import DependencyError, NitroPluginError, PluginLoadError, ValidationError
from ._manager import _canonical
from ._plugin import (PluginBase, class_plugin_name, parse_dependencies, validate_plugin_class,
                      version_of)
from ._source import PluginProblem

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Tuple, Type

    from ._manager import PluginManager, _Entry

__all__ = ["closure", "find", "resolve", "check_problems", "meta_requirements",
           "refused_by_metadata", "dependency_version", "class_of"]


def closure(manager: "PluginManager", names: List[str]) -> List[str]:
    """``names`` and, transitively, the registered plugins they require.
    Requirements from distribution metadata are followed first, so a
    plugin that metadata already rules out is never imported."""
    entries = manager._entries
    meta_seen: Dict[str, None] = {}  # ordered set
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in meta_seen:
            meta_seen[name] = None
            todo.extend(t for t in (find(manager, r.name) for r in
                                    meta_requirements(entries[name])) if t)
    refused = refused_by_metadata(manager, list(meta_seen), {})
    seen: List[str] = []
    visited = set()  # beside ``seen``, so the walk stays linear
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in visited:
            continue
        visited.add(name)
        seen.append(name)
        entry = entries[name]
        if name in refused:  # refused by its metadata: never imported
            todo.extend(t for t in (find(manager, r.name) for r in
                                    meta_requirements(entry)) if t and t not in visited)
            continue
        try:
            reqs = meta_requirements(entry) + parse_dependencies(class_of(manager, entry), name)
        except NitroPluginError:
            continue  # resolve reports it
        for req in reqs:
            target = find(manager, req.name)
            if target is not None and target not in visited:
                todo.append(target)
    return seen


def find(manager: "PluginManager", requirement_name: str) -> Optional[str]:
    """The registered name a requirement names (names compare in canonical
    form; no two registered names share one)."""
    if requirement_name in manager._entries:
        return requirement_name
    return manager._canonical.get(_canonical(requirement_name))


def resolve(manager: "PluginManager", names: List[str]
            ) -> Tuple[List[str], Dict[str, PluginLoadError]]:
    """Import what is needed and order ``names`` by their dependencies."""
    from ._resolver import Node, resolve as order_nodes

    entries = manager._entries
    nodes: List[Node] = []
    broken: Dict[str, str] = {n: why for n, why in manager._unavailable.items()
                              if n not in entries}
    failures: Dict[str, PluginLoadError] = refused_by_metadata(manager, names, broken)
    for name in names:
        entry = entries[name]
        if name in failures:
            continue  # refused by its metadata: never imported
        try:
            cls = class_of(manager, entry)
            reqs = meta_requirements(entry) + parse_dependencies(cls, name)
        except NitroPluginError as exc:
            broken[name] = str(exc)
            failures[name] = exc if isinstance(exc, PluginLoadError) else _as_load_error(exc)
            continue
        nodes.append(Node(name, dependency_version(entry), reqs, entry.source.describe()))
    # Loaded plugins outside ``names`` still satisfy requirements.
    wanted = set(names)
    for name in manager._loaded:
        if name not in wanted:
            entry = entries[name]
            nodes.append(Node(name, dependency_version(entry), [], entry.source.describe()))
    order, dep_failures = order_nodes(nodes, broken)
    for name, error in dep_failures.items():
        failures[name] = error
    for node in nodes:
        if node.name in wanted:
            entries[node.name].requires = [
                t for t in (find(manager, r.name) for r in node.requirements
                            if r.marker is None or r.marker.evaluate()) if t]
    return [n for n in order if n in wanted], failures


def check_problems(manager: "PluginManager") -> List[PluginProblem]:
    """Import, validate and resolve every registered plugin without loading
    any; the problems found, discovery's included (see
    :meth:`PluginManager.check`)."""
    problems = [p for p in manager._problems if p.phase in (
        "discovery", "conflict", "compatibility", "requirements", "validation")
        or (p.phase == "dependency" and p.error is None)]
    with manager._lock:
        _, failures = resolve(manager, list(manager._entries))
    for name, error in failures.items():
        meta = manager._entries[name].meta
        if meta is not None and error is meta.blocked:
            continue  # reported at discovery
        phase = "dependency" if isinstance(error, DependencyError) else "import"
        problems.append(PluginProblem(name, phase, str(error), manager._entries[name].source,
                                      error))
    return problems


def meta_requirements(entry: "_Entry") -> List[Any]:
    """Requirements on plugins that ``entry``'s distribution metadata
    declares: each plugin of a required plugin distribution, with the
    distribution requirement's specifier."""
    if entry.meta is None or not entry.meta.report.depends:
        return []
    from ._requirements import plugin_requirements

    return plugin_requirements(entry.meta.report, entry.meta.reports)


def refused_by_metadata(manager: "PluginManager", names: List[str], broken: Dict[str, str]
                        ) -> Dict[str, PluginLoadError]:
    """The plugins of ``names`` that metadata alone rules out: refused
    themselves, or requiring (by distribution metadata) a plugin that is.
    Their reasons go into ``broken`` too."""
    failures: Dict[str, PluginLoadError] = {}
    dependents: Dict[str, List[Tuple[str, Any]]] = {}  # required name -> [(name, req)]
    for name in names:
        entry = manager._entries[name]
        if entry.meta is not None and entry.meta.blocked is not None:
            failures[name] = entry.meta.blocked  # type: ignore[assignment]
            broken[name] = str(entry.meta.blocked)
        for req in meta_requirements(entry):
            dependents.setdefault(req.name, []).append((name, req))
    todo = [n for n in broken if n in dependents]
    while todo:  # dependents by metadata, transitively (no recursion)
        required = todo.pop()
        for name, req in dependents.get(required, ()):
            if name in failures:
                continue
            failures[name] = DependencyError("plugin %r requires %r, which cannot load: %s"
                                             % (name, str(req), broken[required]))
            broken[name] = str(failures[name])
            todo.append(name)
    return failures


def dependency_version(entry: "_Entry") -> str:
    """The version other plugins' requirements are checked against: an
    installed plugin's distribution version (SPEC section 10), else the
    class's."""
    source = entry.source
    if source.kind == "distribution" and source.dist_version and entry.meta is not None \
            and not entry.meta.report.invalid_version:
        return source.dist_version
    return entry.version or "0"


def class_of(manager: "PluginManager", entry: "_Entry") -> Type[PluginBase]:
    """The plugin class, importing it for lazily registered plugins.
    Failures raise :class:`PluginLoadError` naming the source."""
    if entry.cls is not None:
        return entry.cls
    assert entry.loader is not None
    where = entry.source.describe()
    try:
        obj = entry.loader()
    except (Exception, SystemExit) as exc:  # sys.exit() in a plugin: its failure
        raise PluginLoadError("plugin %r from %s does not import (%s): %s: %s"
                              % (entry.name, where, entry.source.value,
                                 type(exc).__name__, exc)) from exc
    if not (isinstance(obj, type) and issubclass(obj, PluginBase)):
        what = "%s %s" % (type(obj).__name__, getattr(obj, "__qualname__", "")) \
            if not isinstance(obj, type) else "class %s" % (obj.__qualname__,)
        raise PluginLoadError("plugin %r from %s: entry point %s names %s, not a "
                              "PluginBase subclass" % (entry.name, where,
                                                       entry.source.value, what.strip()))
    declared = class_plugin_name(obj)
    if declared != entry.name:
        raise PluginLoadError("plugin %r from %s: entry point name %r differs from the "
                              "class's name %r" % (entry.name, where, entry.name, declared))
    if manager.validate_metadata:
        try:
            validate_plugin_class(obj, entry.name)
        except ValidationError as exc:
            raise _as_load_error(exc) from exc
    entry.cls = obj
    entry.version = version_of(obj, entry.source)
    return obj


def _as_load_error(exc: NitroPluginError) -> PluginLoadError:
    error = PluginLoadError(str(exc))
    error.__cause__ = exc
    return error
