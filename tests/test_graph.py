"""``plugin_graph`` and ``read_state`` (SPEC section 15) over installed
distributions written into temporary site directories: nodes, edges and
marks from metadata alone, rendered as Mermaid and DOT that parse."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Mapping, Sequence, Set

import pytest

from fixtures import make_plugin_dist
from graph_formats import parse_dot, parse_mermaid
from nitro_dispatch._graph import (GraphEdge, GraphNode, PlannedDist, PluginGraph, plugin_graph,
                                   read_state)

GROUP = "nitro_dispatch.plugins"
PACKAGE = Path(__file__).resolve().parent.parent / "nitro_dispatch"


def dist(site: Path, name: str, version: str, plugins: Mapping[str, str],
         requires: Sequence[str] = ()) -> None:
    """An installed distribution with ``Requires-Dist`` headers; its plugin
    modules do not exist (nothing may import them)."""
    folder = make_plugin_dist(site, name, version, plugins)
    meta = folder / "METADATA"
    head = meta.read_text(encoding="utf-8").rstrip("\n") + "\n"
    meta.write_text(head + "".join("Requires-Dist: %s\n" % r for r in requires) + "\n",
                    encoding="utf-8")


@pytest.fixture()
def site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    dist(site, "myapp", "2.1", {})
    dist(site, "nitro-greet", "1.0", {"greet": "ndtest_missing_greet:G"}, ["myapp>=2,<3"])
    dist(site, "nitro-shout", "1.0", {"shout": "ndtest_missing_shout:S"}, ["nitro-greet>=1"])
    dist(site, "nitro-loud", "1.0", {"loud": "ndtest_missing_loud:L"}, ["nitro-greet>=2"])
    dist(site, "nitro-future", "1.0", {"future": "ndtest_missing_future:F"}, ["myapp>=3"])
    dist(site, "nitro-ping", "1.0", {"ping": "ndtest_missing_ping:P"}, ["nitro-pong"])
    dist(site, "nitro-pong", "1.0", {"pong": "ndtest_missing_pong:P"},
         ["nitro-ping", "left-pad>=1"])
    dist(site, "nitro-foo-a", "1.0", {"Foo_Bar": "ndtest_missing_a:A"})
    dist(site, "nitro-foo-b", "1.0", {"foo-bar": "ndtest_missing_b:B"})
    return site


def by_name(graph: PluginGraph) -> Dict[str, GraphNode]:
    return {node.name: node for node in graph.nodes}


def test_nodes_edges_and_marks_come_from_metadata(site: Path) -> None:
    before = set(sys.modules)
    graph = plugin_graph(GROUP, host="myapp", path=[str(site)])
    assert not [m for m in set(sys.modules) - before if m.startswith("ndtest_")]
    nodes = by_name(graph)
    assert sorted(n for n, node in nodes.items() if node.kind == "plugin") == sorted(
        ["greet", "shout", "loud", "future", "ping", "pong", "Foo_Bar", "foo-bar"])
    assert (nodes["greet"].dist_name, nodes["greet"].dist_version) == ("nitro-greet", "1.0")
    assert nodes["greet"].marks == [] and nodes["shout"].marks == []
    assert nodes["future"].marks == ["incompatible"]
    assert "requires myapp>=3, but myapp 2.1 is installed" in nodes["future"].notes[0]
    assert nodes["loud"].marks == ["dependency"]
    assert nodes["ping"].marks == ["cycle"] and "cycle" in nodes["pong"].marks
    assert nodes["Foo_Bar"].marks == ["conflict"] and nodes["foo-bar"].marks == ["conflict"]
    assert nodes["left-pad"].kind == "missing" and nodes["left-pad"].marks == ["missing"]
    edges = {(graph.nodes[int(e.source[1:])].name, e.target, e.requirement, e.status)
             for e in graph.edges if e.source.startswith("p")}
    ids = {node.id: name for name, node in nodes.items()}
    named = {(s, ids[t], r, st) for s, t, r, st in edges}
    assert named == {("shout", "greet", "nitro-greet>=1", "ok"),
                     ("loud", "greet", "nitro-greet>=2", "unsatisfied"),
                     ("ping", "pong", "nitro-pong", "cycle"),
                     ("pong", "ping", "nitro-ping", "cycle"),
                     ("pong", "left-pad", "left-pad>=1", "unsatisfied")}


def test_without_host_a_host_requirement_is_only_unmet(site: Path) -> None:
    (site / "myapp-2.1.dist-info").rename(site / "other")
    shutil.rmtree(site / "other")
    nodes = by_name(plugin_graph(GROUP, path=[str(site)]))
    assert nodes["future"].marks == ["unmet"]
    assert nodes["myapp"].kind == "missing"


def test_mermaid_parses_and_says_the_same(site: Path) -> None:
    graph = plugin_graph(GROUP, host="myapp", path=[str(site)])
    parsed = parse_mermaid(graph.render("mermaid"))
    assert parsed.direction == "LR"
    nodes = by_name(graph)
    assert parsed.nodes[nodes["greet"].id] == "greet\nnitro-greet 1.0"
    assert parsed.nodes[nodes["future"].id].startswith("future\nnitro-future 1.0\nincompatible")
    assert parsed.shapes[nodes["left-pad"].id] == "([])"
    arrows = {(s, t): (a, label) for s, a, label, t in parsed.edges}
    assert arrows[(nodes["shout"].id, nodes["greet"].id)] == ("-->", "nitro-greet>=1")
    assert arrows[(nodes["loud"].id, nodes["greet"].id)] == ("-.->", "nitro-greet>=2")
    assert arrows[(nodes["ping"].id, nodes["pong"].id)][0] == "==>"
    assert parsed.classes[nodes["future"].id] == "incompatible"
    assert parsed.classes[nodes["Foo_Bar"].id] == "conflict"
    assert parsed.classes[nodes["left-pad"].id] == "missing"
    assert nodes["greet"].id not in parsed.classes
    assert len(parsed.edges) == len(graph.edges)


def test_dot_parses_and_says_the_same(site: Path) -> None:
    graph = plugin_graph(GROUP, host="myapp", path=[str(site)])
    text = graph.render("dot")
    parsed = parse_dot(text)
    nodes = by_name(graph)
    assert parsed.name == GROUP
    assert parsed.nodes[nodes["greet"].id]["label"] == "greet\\nnitro-greet 1.0"
    assert parsed.nodes[nodes["future"].id]["fillcolor"] == "#fdd"
    assert "dashed" in parsed.nodes[nodes["left-pad"].id]["style"]
    edges = {(s, t): attrs for s, t, attrs in parsed.edges}
    assert edges[(nodes["shout"].id, nodes["greet"].id)] == {"label": "nitro-greet>=1"}
    assert edges[(nodes["loud"].id, nodes["greet"].id)]["style"] == "dashed"
    assert edges[(nodes["ping"].id, nodes["pong"].id)]["style"] == "bold"
    assert len(parsed.edges) == len(graph.edges)


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz is not installed")
def test_graphviz_accepts_the_dot(site: Path) -> None:
    text = plugin_graph(GROUP, host="myapp", path=[str(site)]).to_dot()
    proc = subprocess.run(["dot", "-Tplain"], input=text, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("graph ")


def test_labels_are_escaped_in_both_formats() -> None:
    graph = PluginGraph('a "group"', None)
    weird = GraphNode("p0", "plugin", 'x"<b>#1;\\', "dist", "1.0")
    plain = GraphNode("p1", "plugin", "y", "dist", "1.0")
    graph.nodes.extend([weird, plain])
    graph.edges.append(GraphEdge("p1", "p0", 'dist>=1; extra == "a"', "ok"))
    mermaid = parse_mermaid(graph.to_mermaid())
    assert mermaid.nodes["p0"] == 'x"<b>#1;\\\ndist 1.0'
    assert mermaid.edges[0][2] == 'dist>=1; extra == "a"'
    dot = parse_dot(graph.to_dot())
    assert dot.name == 'a "group"'
    assert dot.nodes["p0"]["label"] == "x\"<b>#1;" + "\\" + "\\n" + "dist 1.0"


def test_an_empty_group_still_renders(tmp_path: Path) -> None:
    graph = plugin_graph("ndtest.no.such.group", path=[str(tmp_path)])
    assert graph.nodes == [] and graph.edges == []
    assert list(parse_mermaid(graph.to_mermaid()).nodes) == ["empty"]
    assert parse_dot(graph.to_dot()).nodes == {}
    with pytest.raises(ValueError, match="format must be one of mermaid, dot"):
        graph.render("svg")


def test_planned_distributions_replace_installed_ones(site: Path) -> None:
    state = read_state(GROUP, "myapp", [
        PlannedDist("nitro-greet", "2.0", ["myapp>=2"], [("greet", "g:G")]),
        PlannedDist("nitro-new", "1.0", [], [("FOO.bar", "n:N")])], path=[str(site)])
    greet = [p for p in state.plugins if p.name == "greet"]
    assert [(p.dist_version, p.location) for p in greet] == [("2.0", "(to be installed)")]
    messages = [(plugin, phase) for plugin, phase, *_ in state.findings()]
    assert ("loud", "dependency") not in messages  # nitro-greet 2.0 fits nitro-greet>=2
    conflict = [m for _, phase, m, *_ in state.findings() if phase == "conflict"]
    assert len(conflict) == 1 and "nitro-new 1.0 as 'FOO.bar'" in conflict[0]


def _relative_imports(module: str) -> Set[str]:
    tree = ast.parse((PACKAGE / (module + ".py")).read_text(encoding="utf-8"))
    return {(node.module or "").split(".")[0] for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level == 1}


def test_install_graph_and_pip_modules_import_only_downward() -> None:
    # layer 0 records and layer 1 metadata tools; _install and _graph are layer 5
    assert _relative_imports("_pip") == {"_errors"}
    assert _relative_imports("_graph") <= {"_source", "_distributions", "_requirements",
                                           "_metadata", "_installed"}
    assert _relative_imports("_install") <= {"_graph", "_pip", "_source", "_describe",
                                             "_distributions", "_metadata", "_installed"}
    for module in ("_pip", "_graph", "_install"):
        text = (PACKAGE / (module + ".py")).read_text(encoding="utf-8")
        assert "from . import" not in text and "import nitro_dispatch" not in text
