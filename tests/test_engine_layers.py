"""The dispatch engine's house rules, read from its source (SPEC section 13):
its modules import only downward (also inside functions and for typing),
in a fixed order without circles; no engine function reaches into another
object's underscore attributes; ``StopPropagation`` is caught in one place."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "nitro_dispatch"

RECORDS = {"_errors", "_log", "_phases", "_source", "_problems", "_version", "_digest"}
TOOLS = {"_validate", "_hooks", "_patterns", "_timeouts", "_distributions", "_cache",
         "_requirements", "_metadata", "_installed"}
# The engine, bottom first: each may import the ones before it.
ENGINE = ["_events", "_plan", "_calls", "_failures", "_runner", "_event", "_registry"]
LAYER_OF = {**{m: 0 for m in RECORDS}, **{m: 1 for m in TOOLS}}
# Moving to the plugin half (the plugin table reports problems); not the engine's.
MOVING = {"declare_installed", "_add_problem"}


def imports_of(module: str) -> Set[str]:
    tree = ast.parse((PACKAGE / (module + ".py")).read_text(encoding="utf-8"))
    found: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.add((node.module or "").split(".")[0])
    return found


@pytest.mark.parametrize("module", ENGINE + ["_hooks", "_patterns", "_timeouts",
                                             "_validate"])
def test_engine_modules_import_only_downward(module: str) -> None:
    if module in ENGINE:
        allowed = RECORDS | TOOLS | set(ENGINE[:ENGINE.index(module)])
    else:
        allowed = RECORDS | {m for m in TOOLS if m != module}
    assert imports_of(module) - allowed == set()


def test_the_tools_do_not_import_each_other_in_a_circle() -> None:
    tools = {"_hooks", "_patterns", "_timeouts", "_validate"}
    graph: Dict[str, Set[str]] = {m: imports_of(m) & tools for m in tools}
    for module, targets in graph.items():
        for target in targets:
            assert module not in graph[target], (module, target)


def underscore_reaches(module: str) -> List[str]:
    tree = ast.parse((PACKAGE / (module + ".py")).read_text(encoding="utf-8"))
    found: List[str] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = function
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = child.name
            if name in MOVING:
                continue
            if isinstance(child, ast.Attribute) and child.attr.startswith("_") \
                    and not child.attr.startswith("__") \
                    and not (isinstance(child.value, ast.Name)
                             and child.value.id in ("self", "cls")):
                found.append("%s:%d %s" % (module, child.lineno, ast.unparse(child)))
            visit(child, name)

    visit(tree, "")
    return found


@pytest.mark.parametrize("module", ENGINE + ["_hooks", "_patterns", "_timeouts",
                                             "_validate"])
def test_engine_functions_touch_only_their_own_underscore_attributes(module: str) -> None:
    assert underscore_reaches(module) == []


def test_stop_propagation_is_caught_in_one_place() -> None:
    places = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ExceptHandler) and node.type is not None \
                    and "StopPropagation" in ast.unparse(node.type):
                places.append("%s:%d" % (path.name, node.lineno))
    assert len(places) == 1 and places[0].startswith("_runner.py:"), places
