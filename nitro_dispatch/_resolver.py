"""Dependency resolution: which plugins can load, and in what order.

Pure functions over :class:`Node` records; the manager builds the nodes and
acts on the answer.  Requirements are ``packaging`` Requirements naming
other plugins; names compare as ``packaging`` canonical names, so ``My_Auth``
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
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))


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
    # Canonical names (packaging.utils) only when someone requires something.
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
                from packaging.version import InvalidVersion, Version

                try:
                    ok = req.specifier.contains(Version(target.version), prereleases=True)
                except InvalidVersion:
                    ok = False
                if not ok:
                    failures[node.name] = DependencyError(
                        "plugin %r requires %r, but found %s %s (from %s)"
                        % (node.name, str(req), target.name, target.version, target.origin))
                    break
            deps.append((target.name, str(req)))
        edges[node.name] = deps

    for cycle in _cycles([n.name for n in nodes], edges):
        text = " -> ".join(cycle)
        for name in cycle[:-1]:
            failures.setdefault(name, DependencyError("plugin %r is in a dependency cycle: %s"
                                                      % (name, text)))

    # Whoever requires a failed or broken plugin fails too, transitively.
    reasons = {name: str(err) for name, err in failures.items()}
    reasons.update(broken)
    changed = True
    while changed:
        changed = False
        for node in nodes:
            if node.name in reasons:
                continue
            for dep, req in edges.get(node.name, ()):
                if dep in reasons:
                    failures[node.name] = DependencyError(
                        "plugin %r requires %r, which cannot load: %s"
                        % (node.name, req, reasons[dep]))
                    reasons[node.name] = str(failures[node.name])
                    changed = True
                    break

    order: List[str] = []
    placed = set()
    pending = [n.name for n in nodes if n.name not in failures]
    while pending:
        progress = False
        for name in list(pending):
            if all(dep in placed for dep, _ in edges.get(name, ())):
                order.append(name)
                placed.add(name)
                pending.remove(name)
                progress = True
        if not progress:  # unreachable: cycles were failed above
            for name in pending:
                failures[name] = DependencyError("plugin %r cannot be ordered" % (name,))
            break
    return order, failures


def _cycles(names: List[str], edges: Dict[str, List[Tuple[str, str]]]) -> List[List[str]]:
    """Each elementary cycle found by depth-first search, as a closed path."""
    found: List[List[str]] = []
    state: Dict[str, int] = {}  # 1 on the stack, 2 finished
    stack: List[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for dep, _ in edges.get(name, ()):
            if dep not in edges:
                continue
            if state.get(dep) == 1:
                found.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[name] = 2

    for name in names:
        if name not in state:
            visit(name)
    return found
