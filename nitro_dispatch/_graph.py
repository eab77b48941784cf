"""How the installed plugins fit together, from metadata alone (SPEC
section 15): the state ``install``, ``uninstall`` and ``graph`` decide on,
and the graph drawn from it.

This module owns:

* :func:`read_state`: the installed plugins of a group with their
  distributions' verdicts (SPEC section 10, decided by
  :func:`~nitro_dispatch._requirements.check_distributions`), optionally as
  they would be after distributions are installed in place of (or beside)
  what is there; ``install`` checks that future state before it changes
  anything.
* :class:`PluginGraph`: nodes are plugins (with their distribution and
  version) and the distributions a plugin requires that are missing or of
  an unsuitable version; edges are dependencies between plugin
  distributions (each plugin of the requiring distribution to each plugin of
  the required one, as the manager orders them), labelled with the
  requirement.  Incompatible plugins (another nitro-dispatch or host version
  required), invalid versions, name conflicts, unmet requirements and
  cycles are marked.  Rendered as Mermaid (``flowchart LR``; GitHub renders
  it) or Graphviz DOT.  Nothing is imported: class-level ``dependencies``
  are not seen.
"""

from __future__ import annotations

from ._metadata import canonical_name

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Sequence, Tuple

    from ._distributions import InstalledPlugin
    from ._requirements import DistributionReport

__all__ = ["MetadataState", "PlannedDist", "read_state", "GraphNode", "GraphEdge",
           "PluginGraph", "plugin_graph", "FORMATS"]

FORMATS = ("mermaid", "dot")
PLANNED = "(to be installed)"  # the location of plugins not installed yet
_CYCLE = "its distribution is in a dependency cycle: "  # _requirements' wording


class PlannedDist:
    """A distribution that is not installed yet, as :func:`read_state` adds
    it: name, version, ``Requires-Dist`` and the plugins it advertises in
    the group (``(name, entry-point value)`` pairs)."""

    __slots__ = ("name", "version", "requires", "plugins")

    def __init__(self, name: str, version: str, requires: Sequence[str],
                 plugins: Sequence[Tuple[str, str]]) -> None:
        self.name = name
        self.version = version
        self.requires = tuple(requires)
        self.plugins = tuple(plugins)


class MetadataState:
    """The plugins of ``group`` and their distributions' reports (by
    canonical distribution name), as :func:`read_state` found them."""

    __slots__ = ("group", "host", "plugins", "reports")

    def __init__(self, group: str, host: Optional[str], plugins: List[InstalledPlugin],
                 reports: Dict[str, DistributionReport]) -> None:
        self.group = group
        self.host = host
        self.plugins = plugins
        self.reports = reports

    def conflicts(self) -> Dict[str, List[InstalledPlugin]]:
        """Plugin names (canonical) that more than one distribution claims,
        with the claims."""
        claims: Dict[str, List[InstalledPlugin]] = {}
        for plugin in self.plugins:
            claims.setdefault(canonical_name(plugin.name), []).append(plugin)
        return {canon: items for canon, items in claims.items()
                if len({canonical_name(i.dist_name) for i in items}) > 1}

    def findings(self, verify: bool = False) -> List[Tuple[str, str, str, str, str]]:
        """Every metadata problem, one per plugin and reason, as ``(plugin,
        phase, message, distribution, version)``: what ``check --static``
        reports for these plugins (conflicts included)."""
        from ._requirements import plugin_findings

        out: List[Tuple[str, str, str, str, str]] = []
        for plugin in self.plugins:
            report = self.reports[canonical_name(plugin.dist_name)]
            for phase, message in plugin_findings(plugin.name, report, verify=verify,
                                                  validate=True)[0]:
                out.append((plugin.name, phase, message, report.dist_name, report.dist_version))
        for items in self.conflicts().values():
            spellings = sorted({i.name for i in items})
            name = " / ".join(spellings)
            dists = ", ".join("%s %s as %r" % (i.dist_name, i.dist_version, i.name)
                              if len(spellings) > 1 else "%s %s" % (i.dist_name, i.dist_version)
                              for i in items)
            message = ("plugin %r is claimed by several distributions (%s); none of them is "
                       "loaded until only one remains" % (name, dists))
            first = items[0]
            out.append((first.name, "conflict", message, first.dist_name, first.dist_version))
        return out


def read_state(group: str, host: Optional[str] = None, planned: Sequence[PlannedDist] = (),
               path: Optional[Sequence[str]] = None) -> MetadataState:
    """The installed plugins of ``group`` on ``path`` (default
    ``sys.path``) and what their metadata says; with ``planned``, as it
    would be once those distributions are installed (each replaces an
    installed distribution of the same canonical name).

    The planned distributions are written as metadata folders
    (``METADATA``, ``entry_points.txt``) into a temporary directory put
    first on the path, so the listing reads them as it reads any installed
    distribution and they shadow the installed ones of their names."""
    if not planned:
        return _read_state(group, host, path)
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="nitro-dispatch-planned-") as site:
        for dist in planned:
            _write_dist_info(site, dist, group)
        state = _read_state(group, host, [site, *(sys.path if path is None else path)])
    for plugin in state.plugins:
        if plugin.location == site:
            plugin.location = PLANNED
    return state


def _read_state(group: str, host: Optional[str], path: Optional[Sequence[str]]
                ) -> MetadataState:
    from ._distributions import list_with_index
    from ._requirements import check_distributions

    index: List[Any] = []
    plugins = list_with_index(group, path, index)
    return MetadataState(group, host, plugins, check_distributions(plugins, index, host))


def _write_dist_info(site: str, dist: PlannedDist, group: str) -> None:
    """``dist`` as an installer would leave its metadata."""
    import os

    folder = os.path.join(site, "%s-%s.dist-info" % (canonical_name(dist.name), dist.version))
    os.mkdir(folder)
    headers = ["Metadata-Version: 2.1", "Name: " + dist.name, "Version: " + dist.version]
    headers.extend("Requires-Dist: " + " ".join(r.split()) for r in dist.requires)
    with open(os.path.join(folder, "METADATA"), "w", encoding="utf-8") as f:
        f.write("\n".join(headers) + "\n\n")
    with open(os.path.join(folder, "entry_points.txt"), "w", encoding="utf-8") as f:
        f.write("[%s]\n" % (group,))
        f.writelines("%s = %s\n" % (name, value) for name, value in dist.plugins)


# -- the graph ----------------------------------------------------------------


class GraphNode:
    """A plugin (``kind`` "plugin") or a required distribution that is
    missing or of an unsuitable version (``kind`` "missing" / "unmet").
    ``marks`` says what is wrong ("incompatible", "invalid", "conflict",
    "unmet", "dependency", "cycle", "missing"); ``notes`` says it in words."""

    __slots__ = ("id", "kind", "name", "dist_name", "dist_version", "marks", "notes")

    def __init__(self, node_id: str, kind: str, name: str, dist_name: str,
                 dist_version: Optional[str]) -> None:
        self.id = node_id
        self.kind = kind
        self.name = name
        self.dist_name = dist_name
        self.dist_version = dist_version
        self.marks: List[str] = []
        self.notes: List[str] = []

    def mark(self, mark: str, note: str = "") -> None:
        if mark not in self.marks:
            self.marks.append(mark)
        if note and note not in self.notes:
            self.notes.append(note)

    def lines(self) -> List[str]:
        """The node's label, line by line."""
        if self.kind == "plugin":
            head = [self.name, "%s %s" % (self.dist_name, self.dist_version)]
        elif self.kind == "missing":
            head = [self.dist_name, "not installed"]
        else:
            head = [self.dist_name, "%s installed" % (self.dist_version,)]
        return head + self.notes

    def to_dict(self) -> Dict[str, Any]:
        return {slot: getattr(self, slot) for slot in self.__slots__}


class GraphEdge:
    """``source`` requires ``target`` (node ids) through ``requirement``;
    ``status`` is "ok", "unsatisfied" (the version does not fit, or the
    target is missing) or "cycle"."""

    __slots__ = ("source", "target", "requirement", "status")

    def __init__(self, source: str, target: str, requirement: str, status: str) -> None:
        self.source = source
        self.target = target
        self.requirement = requirement
        self.status = status

    def to_dict(self) -> Dict[str, Any]:
        return {slot: getattr(self, slot) for slot in self.__slots__}


class PluginGraph:
    """Nodes and edges, in a stable order (plugins by name, then the
    required distributions); see :func:`plugin_graph`."""

    __slots__ = ("group", "host", "nodes", "edges")

    def __init__(self, group: str, host: Optional[str]) -> None:
        self.group = group
        self.host = host
        self.nodes: List[GraphNode] = []
        self.edges: List[GraphEdge] = []

    def to_dict(self) -> Dict[str, Any]:
        return {"group": self.group, "host": self.host,
                "nodes": [n.to_dict() for n in self.nodes],
                "edges": [e.to_dict() for e in self.edges]}

    def render(self, fmt: str = "mermaid") -> str:
        """The graph as text in ``fmt`` ("mermaid" or "dot")."""
        if fmt == "mermaid":
            return self.to_mermaid()
        if fmt == "dot":
            return self.to_dot()
        raise ValueError("format must be one of %s, not %r" % (", ".join(FORMATS), fmt))

    def to_mermaid(self) -> str:
        """A Mermaid flowchart: ``-->`` a met dependency, ``-.->`` an unmet
        one, ``==>`` one on a cycle; marked nodes get a class of their mark
        (the first one, in the order of :attr:`GraphNode.marks`)."""
        out = ["flowchart LR"]
        if not self.nodes:
            out.append('    empty["no plugins in %s"]' % (_mermaid_text(self.group),))
        for node in self.nodes:
            label = "<br/>".join(_mermaid_text(line) for line in node.lines())
            shape = '["%s"]' if node.kind == "plugin" else '(["%s"])'
            out.append("    %s%s" % (node.id, shape % (label,)))
        arrows = {"ok": "-->", "unsatisfied": "-.->", "cycle": "==>"}
        for edge in self.edges:
            out.append('    %s %s|"%s"| %s' % (edge.source, arrows[edge.status],
                                               _mermaid_text(edge.requirement), edge.target))
        styles = {mark: style for mark, style in _STYLES.items()
                  if any(n.marks and n.marks[0] == mark for n in self.nodes)}
        for mark, (fill, stroke, dashed) in styles.items():
            out.append("    classDef %s fill:%s,stroke:%s%s" % (
                mark, fill, stroke, ",stroke-dasharray:4 3" if dashed else ""))
        for mark in styles:
            out.append("    class %s %s" % (",".join(n.id for n in self.nodes
                                                     if n.marks and n.marks[0] == mark), mark))
        return "\n".join(out) + "\n"

    def to_dot(self) -> str:
        """A Graphviz digraph: marked nodes are filled in their mark's
        colour (dashed for missing ones), unmet dependencies dashed, cycles
        bold and red."""
        out = ['digraph "%s" {' % (_dot_text(self.group),), "    rankdir=LR;",
               '    node [shape=box, style="rounded"];']
        for node in self.nodes:
            attrs = ['label="%s"' % ("\\n".join(_dot_text(line) for line in node.lines()),)]
            if node.marks:
                fill, stroke, dashed = _STYLES[node.marks[0]]
                attrs.append('style="rounded,filled%s"' % (",dashed" if dashed else "",))
                attrs.append('fillcolor="%s"' % (fill,))
                attrs.append('color="%s"' % (stroke,))
            out.append('    "%s" [%s];' % (node.id, ", ".join(attrs)))
        for edge in self.edges:
            attrs = ['label="%s"' % (_dot_text(edge.requirement),)]
            if edge.status == "unsatisfied":
                attrs.append('style="dashed"')
                attrs.append('color="#cc0000"')
            elif edge.status == "cycle":
                attrs.append('style="bold"')
                attrs.append('color="#cc0000"')
            out.append('    "%s" -> "%s" [%s];' % (edge.source, edge.target, ", ".join(attrs)))
        out.append("}")
        return "\n".join(out) + "\n"


# mark -> (fill, stroke, dashed border); the first mark of a node picks its style
_STYLES = {
    "incompatible": ("#fdd", "#c00", False),
    "invalid": ("#fdd", "#c00", False),
    "conflict": ("#fdd", "#c00", False),
    "cycle": ("#fdd", "#c00", False),
    "dependency": ("#fec", "#c60", False),
    "unmet": ("#fec", "#c60", False),
    "missing": ("#eee", "#888", True),
}


def plugin_graph(group: Optional[str] = None, host: Optional[str] = None,
                 path: Optional[Sequence[str]] = None) -> PluginGraph:
    """The graph of the plugins installed in ``group`` (default
    ``nitro_dispatch.plugins``) on ``path`` (default ``sys.path``), read
    from metadata; ``host`` is the application's distribution, as for
    ``check --host``."""
    from ._distributions import DEFAULT_GROUP

    return build_graph(read_state(group or DEFAULT_GROUP, host, path=path))


def build_graph(state: MetadataState) -> PluginGraph:
    """The :class:`PluginGraph` of a :class:`MetadataState`."""
    graph = PluginGraph(state.group, state.host)
    by_dist: Dict[str, List[GraphNode]] = {}
    for index, plugin in enumerate(state.plugins):
        node = GraphNode("p%d" % (index,), "plugin", plugin.name, plugin.dist_name,
                         plugin.dist_version)
        graph.nodes.append(node)
        by_dist.setdefault(canonical_name(plugin.dist_name), []).append(node)
    for items in state.conflicts().values():
        others = {canonical_name(i.name): i for i in items}
        for node in graph.nodes:
            if canonical_name(node.name) in others and node.kind == "plugin":
                node.mark("conflict", "name conflict: claimed by %s" % ", ".join(
                    "%s %s" % (i.dist_name, i.dist_version) for i in items
                    if canonical_name(i.dist_name) != canonical_name(node.dist_name)))
    required: Dict[str, GraphNode] = {}
    for canon, report in state.reports.items():
        sources = by_dist.get(canon, [])
        cycle: List[str] = []
        for reason in report.dependency_errors:
            if reason.startswith(_CYCLE):
                cycle = [canonical_name(d) for d in reason[len(_CYCLE):].split(" -> ")]
                _mark_all(sources, "cycle", "in a dependency cycle")
            else:
                _mark_all(sources, "dependency", reason)
        for unmet in report.incompatible:
            _mark_all(sources, "incompatible", "incompatible: " + _unmet_text(unmet))
        if report.invalid_version:
            _mark_all(sources, "invalid", "version %r is not PEP 440" % (report.dist_version,))
        for text in report.malformed:
            _mark_all(sources, "invalid", "malformed requirement " + text)
        for target, spec, shown in report.depends:
            dep = state.reports[target]
            status = "ok" if _fits(spec, dep.dist_version) else "unsatisfied"
            if target in cycle and canon in cycle and \
                    cycle[(cycle.index(canon) + 1) % len(cycle)] == target:
                status = "cycle"
            for source in sources:
                for node in by_dist.get(target, []):
                    graph.edges.append(GraphEdge(source.id, node.id, shown, status))
        for unmet in report.unmet:
            _mark_all(sources, "unmet", _unmet_text(unmet))
            key = canonical_name(unmet.name)
            needed = required.get(key)
            if needed is None:
                needed = required[key] = GraphNode(
                    "d%d" % (len(required),), "missing" if unmet.found is None else "unmet",
                    unmet.name, unmet.name, unmet.found)
                needed.mark("missing" if unmet.found is None else "unmet")
            for source in sources:
                graph.edges.append(GraphEdge(source.id, needed.id, unmet.requirement,
                                             "unsatisfied"))
    graph.nodes.extend(required.values())
    graph.edges.sort(key=lambda e: (_order(e.source), _order(e.target)))
    return graph


def _order(node_id: str) -> Tuple[int, int]:
    return (0 if node_id[0] == "p" else 1, int(node_id[1:]))


def _mark_all(nodes: Sequence[GraphNode], mark: str, note: str) -> None:
    for node in nodes:
        node.mark(mark, note)


def _unmet_text(unmet: Any) -> str:
    found = ("%s %s is installed" % (unmet.name, unmet.found) if unmet.found is not None
             else "%s is not installed" % (unmet.name,))
    return "requires %s, but %s" % (unmet.requirement, found)


def _fits(spec: str, version: str) -> bool:
    if not spec:
        return True
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    try:
        return SpecifierSet(spec).contains(Version(version), prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        return False


def _mermaid_text(text: str) -> str:
    """Text for a quoted Mermaid label: Mermaid's entity codes for the
    characters that would end the label (``"``), start one (``#``) or open
    markup (``<``); ``>`` stays readable (``nitro-greet>=1``)."""
    out = str(text).replace("#", "#35;").replace('"', "#quot;").replace("<", "#lt;")
    return out.replace("\n", " ")


def _dot_text(text: str) -> str:
    """Text for a quoted DOT string."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
