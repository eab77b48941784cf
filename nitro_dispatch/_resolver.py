"""Dependency resolution: which plugins can load, and in what order.

Pure functions over :class:`Node` records; :mod:`._resolution` builds the
nodes from the plugin table and acts on the answer; cycles are found by
:func:`._cycles.find_cycles`.  Requirements are ``packaging`` Requirements naming
other plugins; names compare as canonical names (``_metadata``), so ``My_Auth``
and ``my-auth`` are one plugin.  Versions are checked with pre-releases
allowed (we check what is there, we do not choose what to install).
"""

from __future__ import annotations


from ._errors import DependencyError

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Sequence, Tuple

__all__ = ["Node", "resolve"]


class Node:
    """A plugin as the resolver sees it."""

    __slots__ = ("name", "version", "requirements", "origin")

    def __init__(self, name: str, version: str, requirements: Sequence[Any],
                 origin: str) -> None:
        self.name = name
        self.version = version
        self.requirements = list(requirements)
        self.origin = origin  # where it came from, for messages


def _canonical(name: str) -> str:
    from ._metadata import canonical_name  # the one spelling of a normalized name

    return canonical_name(name)


def _active(req: Any) -> bool:
    return req.marker is None or bool(req.marker.evaluate())


def resolve(nodes: Sequence[Node], broken: Optional[Dict[str, str]] = None
            ) -> Tuple[List[str], Dict[str, DependencyError]]:
    """Return ``(order, failures)``.

    ``order`` lists the names that can load, each after everything it
    requires, otherwise in the order given.  ``failures`` maps every other
    name to a :class:`DependencyError` saying why: a missing or unsatisfied
    requirement, a cycle (``a -> b -> a``), or a requirement on a plugin that
    fails itself.  ``broken`` names plugins known to fail already (with the
    reason); they are not in ``nodes``' result but their dependents fail.
    """
    broken = dict(broken or {})
    # Canonical names only when someone requires something.
    needed = any(node.requirements for node in nodes)
    by_canon = {_canonical(n.name): n for n in nodes} if needed else {}
    failures: Dict[str, DependencyError] = {}
    edges: Dict[str, List[Tuple[str, str]]] = {}  # name -> [(dependency name, requirement)]

    for node in nodes:
        deps: List[Tuple[str, str]] = []
        for req in node.requirements:
            if not _active(req):
                continue
            canon = _canonical(req.name)
            target = by_canon.get(canon)
            if target is None:
                known = [b for b in broken if _canonical(b) == canon]
                if known:
                    deps.append((known[0], str(req)))
                    continue
                failures[node.name] = DependencyError(
                    "plugin %r requires %r, but no plugin named %r is registered"
                    % (node.name, str(req), req.name))
                break
            if req.specifier:
                from packaging.version import Version

                try:
                    ok = req.specifier.contains(Version(target.version), prereleases=True)
                except ValueError:  # InvalidVersion, or past int()'s digit limit
                    ok = False
                if not ok:
                    failures[node.name] = DependencyError(
                        "plugin %r requires %r, but found %s %s (from %s)"
                        % (node.name, str(req), target.name, target.version, target.origin))
                    break
            deps.append((target.name, str(req)))
        edges[node.name] = deps

    for cycle in _cycles(nodes, edges) if any(edges.values()) else ():
        text = " -> ".join(cycle) if len(cycle) <= 12 else "%s -> ... (%d plugins) -> %s" % (
            " -> ".join(cycle[:5]), len(cycle) - 1, " -> ".join(cycle[-5:]))
        for name in cycle[:-1]:
            failures.setdefault(name, DependencyError("plugin %r is in a dependency cycle: %s"
                                                      % (name, text)))

    # Whoever requires a failed or broken plugin fails too, transitively:
    # a walk over the reversed edges from every failure (no recursion, each
    # edge once).  A message quotes the reason of the plugin it requires,
    # but past the first level only down to the root failure's direct
    # dependent, so a long chain does not make ever longer messages.
    reasons = {name: str(err) for name, err in failures.items()}
    reasons.update(broken)
    roots = set(reasons)
    dependents: Dict[str, List[Tuple[str, str]]] = {}
    for node in nodes:
        for dep, req in edges.get(node.name, ()):
            dependents.setdefault(dep, []).append((node.name, req))
    todo = list(reasons)
    while todo:
        dep = todo.pop()
        for name, req in dependents.get(dep, ()):
            if name in reasons:
                continue
            failures[name] = DependencyError("plugin %r requires %r, which cannot load: %s"
                                             % (name, req, reasons[dep]))
            reasons[name] = str(failures[name]) if dep in roots else reasons[dep]
            todo.append(name)
    return _order([n.name for n in nodes if n.name not in failures], edges), failures


def _cycles(nodes: Sequence[Node], edges: Dict[str, List[Tuple[str, str]]]) -> List[List[str]]:
    """The elementary cycles among ``nodes`` (imported only when some
    plugin requires another: a start-up without dependencies skips it)."""
    from ._cycles import find_cycles

    return find_cycles([n.name for n in nodes],
                       lambda name: [dep for dep, _ in edges[name] if dep in edges])


def _order(names: List[str], edges: Dict[str, List[Tuple[str, str]]]) -> List[str]:
    """``names`` with each after everything it requires, otherwise in the
    given order: the order of repeated passes over ``names`` that each
    place every name whose requirements are placed, in linear time.

    A name's pass is the latest pass of its requirements, one later for a
    requirement that comes after it in ``names``; the result is sorted by
    (pass, position).  Requirements are handled before their dependents by
    an explicit stack (no recursion).  Every requirement of ``names`` must
    be in ``names`` (the others have failed).
    """
    position = {name: i for i, name in enumerate(names)}
    passes: Dict[str, int] = {}
    for start in names:
        if start in passes:
            continue
        stack = [start]
        while stack:
            name = stack[-1]
            if name in passes:
                stack.pop()
                continue
            waiting = [dep for dep, _ in edges.get(name, ()) if dep not in passes]
            if waiting:
                stack.extend(waiting)  # cycles were failed, so this ends
                continue
            stack.pop()
            here = position[name]
            passes[name] = max([passes[dep] + (position[dep] > here)
                                for dep, _ in edges.get(name, ())] or [1])
    return sorted(names, key=lambda name: (passes[name], position[name]))
