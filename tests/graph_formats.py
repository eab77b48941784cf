"""Small parsers for the two graph formats ``nitro-dispatch graph`` writes,
strict enough that a malformed line fails a test.

``parse_dot`` reads the Graphviz DOT language as the grammar at
graphviz.org/doc/info/lang.html gives it for what a digraph of nodes,
edges and attribute lists needs (quoted and bare IDs, ``->`` edges,
``[a=b, ...]`` lists, ``graph``/``node``/``edge`` attribute statements,
``a=b`` statements, optional ``;``).  ``parse_mermaid`` reads a Mermaid
flowchart (mermaid.js.org/syntax/flowchart.html): the header, nodes with a
quoted label in ``[...]`` or ``([...])``, edges ``-->``, ``-.->`` and
``==>`` with a quoted ``|"label"|``, ``classDef`` and ``class`` lines.
"""

from __future__ import annotations

import re
from typing import Dict, List, Tuple

Attrs = Dict[str, str]


class DotGraph:
    def __init__(self, name: str) -> None:
        self.name = name
        self.nodes: Dict[str, Attrs] = {}
        self.edges: List[Tuple[str, str, Attrs]] = []
        self.defaults: Dict[str, Attrs] = {}


_DOT_TOKEN = re.compile(r'\s*(?:(->|[{}\[\];,=])|"((?:[^"\\]|\\.)*)"|([A-Za-z_0-9.#]+))', re.S)


def _dot_tokens(text: str) -> List[Tuple[str, str]]:
    tokens: List[Tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _DOT_TOKEN.match(text, pos)
        if match is None:
            raise ValueError("DOT: unexpected text at %d: %r" % (pos, text[pos:pos + 20]))
        punct, quoted, bare = match.groups()
        if punct is not None:
            tokens.append(("p", punct))
        elif quoted is not None:
            tokens.append(("id", re.sub(r'\\(["\\])', r"\1", quoted)))
        else:
            tokens.append(("id", bare))
        pos = match.end()
    return tokens


def parse_dot(text: str) -> DotGraph:
    tokens = _dot_tokens(text)
    pos = 0

    def take(kind: str, value: str = "") -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise ValueError("DOT: ended early, expected %s" % (value or kind,))
        tkind, tvalue = tokens[pos]
        if tkind != kind or (value and tvalue != value):
            raise ValueError("DOT: expected %r, got %r" % (value or kind, tvalue))
        pos += 1
        return tvalue

    def peek(value: str) -> bool:
        return pos < len(tokens) and tokens[pos] == ("p", value)

    def attr_list() -> Attrs:
        attrs: Attrs = {}
        while peek("["):
            take("p", "[")
            while not peek("]"):
                key = take("id")
                take("p", "=")
                attrs[key] = take("id")
                if peek(",") or peek(";"):
                    take("p", tokens[pos][1])
            take("p", "]")
        return attrs

    if take("id") != "digraph":
        raise ValueError("DOT: not a digraph")
    graph = DotGraph(take("id") if not peek("{") else "")
    take("p", "{")
    while not peek("}"):
        first = take("id")
        if first in ("graph", "node", "edge") and peek("["):
            graph.defaults[first] = attr_list()
        elif peek("="):
            take("p", "=")
            graph.defaults.setdefault("graph", {})[first] = take("id")
        elif peek("->"):
            take("p", "->")
            second = take("id")
            graph.edges.append((first, second, attr_list()))
        else:
            graph.nodes[first] = attr_list()
        if peek(";"):
            take("p", ";")
    take("p", "}")
    if pos != len(tokens):
        raise ValueError("DOT: text after the graph")
    for source, target, _ in graph.edges:  # an edge creates its nodes; ours are declared first
        if source not in graph.nodes or target not in graph.nodes:
            raise ValueError("DOT: edge %s -> %s names an undeclared node" % (source, target))
    return graph


class MermaidGraph:
    def __init__(self, direction: str) -> None:
        self.direction = direction
        self.nodes: Dict[str, str] = {}  # id -> label (entity codes decoded)
        self.shapes: Dict[str, str] = {}
        self.edges: List[Tuple[str, str, str, str]] = []  # source, arrow, label, target
        self.class_defs: Dict[str, str] = {}
        self.classes: Dict[str, str] = {}  # node id -> class


_LABEL = r'"([^"]*)"'
_MERMAID_NODE = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)(\[|\(\[)%s(\]|\]\))$" % _LABEL)
_MERMAID_EDGE = re.compile(
    r"^([A-Za-z][A-Za-z0-9_]*) (-->|-\.->|==>)\|%s\| ([A-Za-z][A-Za-z0-9_]*)$"
    % _LABEL)
_MERMAID_CLASSDEF = re.compile(r"^classDef ([A-Za-z][\w-]*) ([\w-]+:[^,:]+(?:,[\w-]+:[^,:]+)*)$")
_MERMAID_CLASS = re.compile(r"^class ([A-Za-z][A-Za-z0-9_]*(?:,[A-Za-z][A-Za-z0-9_]*)*) "
                            r"([A-Za-z][\w-]*)$")
_ENTITY = re.compile(r"#(\w+);")
_NAMED = {"quot": '"', "lt": "<", "gt": ">", "amp": "&"}


def _decode(label: str) -> str:
    if "<" in label.replace("<br/>", ""):
        raise ValueError("Mermaid: markup in label %r" % (label,))

    def entity(match: "re.Match[str]") -> str:
        code = match.group(1)
        if code.isdigit():
            return chr(int(code))
        if code not in _NAMED:
            raise ValueError("Mermaid: unknown entity #%s;" % (code,))
        return _NAMED[code]

    return _ENTITY.sub(entity, label.replace("<br/>", "\n"))


def parse_mermaid(text: str) -> MermaidGraph:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    header = re.match(r"^flowchart (LR|RL|TB|TD|BT)$", lines[0] if lines else "")
    if header is None:
        raise ValueError("Mermaid: no 'flowchart DIR' header")
    graph = MermaidGraph(header.group(1))
    for line in lines[1:]:
        node = _MERMAID_NODE.match(line)
        edge = _MERMAID_EDGE.match(line)
        class_def = _MERMAID_CLASSDEF.match(line)
        klass = _MERMAID_CLASS.match(line)
        if node and (node.group(2) == "[") == (node.group(4) == "]"):
            if node.group(1) in graph.nodes:
                raise ValueError("Mermaid: node %s defined twice" % (node.group(1),))
            graph.nodes[node.group(1)] = _decode(node.group(3))
            graph.shapes[node.group(1)] = node.group(2) + node.group(4)
        elif edge:
            source, arrow, label, target = edge.groups()
            for end in (source, target):
                if end not in graph.nodes:
                    raise ValueError("Mermaid: edge to an undefined node %s" % (end,))
            graph.edges.append((source, arrow, _decode(label), target))
        elif class_def:
            graph.class_defs[class_def.group(1)] = class_def.group(2)
        elif klass:
            if klass.group(2) not in graph.class_defs:
                raise ValueError("Mermaid: class %s used before classDef" % (klass.group(2),))
            for node_id in klass.group(1).split(","):
                if node_id not in graph.nodes:
                    raise ValueError("Mermaid: class for an undefined node %s" % (node_id,))
                graph.classes[node_id] = klass.group(2)
        else:
            raise ValueError("Mermaid: cannot parse line %r" % (line,))
    return graph
