"""The house (SPEC section 13), kept by walking the package's source:
imports point down the layers, also inside functions and under
``TYPE_CHECKING``; nothing imports from the package root; and the plugin
half's modules never reach into another object's underscore attributes."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import nitro_dispatch

PACKAGE = Path(nitro_dispatch.__file__).parent

#: Bottom to top; a module may import its own layer or below.
LAYERS: List[Tuple[str, ...]] = [
    # 0 records
    ("_version", "_errors", "_phases", "_source", "_problems", "_log", "_digest"),
    # 1 tools: matching, timeouts, checks, hook markers, metadata, drop-in files
    ("_patterns", "_timeouts", "_validate", "_hooks", "_cycles", "_distributions", "_cache",
     "_requirements", "_metadata", "_metadata_files", "_safe_read", "_installed",
     "_dropin_files", "_dropin_listing", "_pip"),
    # 2 engine
    ("_events", "_registry", "_runner", "_event", "_calls", "_failures", "_plan", "_modes"),
    # 3 model: the plugin class, sources that import code, the resolver
    ("_plugin", "_dropins", "_resolver"),
    # 4 the plugin table and the manager
    ("_table", "_admission", "_resolution", "_discovery", "_manager", "_reload"),
    # 5 tools on top of the library
    ("_check", "_describe", "_inspect", "_events_installed", "_install", "_graph",
     "_scaffold", "_cli_output"),
    # 6 top
    ("cli", "testing", "sphinxext", "__main__"),
]
LAYER: Dict[str, int] = {name: i for i, names in enumerate(LAYERS) for name in names}

#: The modules of the plugin half (issue 15); the engine's join them once
#: their own half has landed.
OWN_STATE_ONLY = ("_manager", "_table", "_admission", "_resolution", "_discovery", "_reload",
                  "_resolver", "_plugin", "_source", "_phases", "_problems", "_version",
                  "_cycles", "_check", "_describe", "_events_installed", "_dropins",
                  "_dropin_files", "_dropin_listing")


def modules() -> Iterator[Tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel == Path("__init__.py"):
            continue  # the container: re-exports only, outside the layers
        yield rel.parts[0].removesuffix(".py"), path


def test_every_module_has_a_layer() -> None:
    assert [name for name, _ in modules() if name not in LAYER] == []


def test_imports_point_down_also_inside_functions() -> None:
    upward = []
    for name, path in modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        inside_package = len(path.relative_to(PACKAGE).parts) > 1
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or node.level == 0:
                continue
            level = node.level - (1 if inside_package else 0)
            if level == 0:
                continue  # within a subpackage of its own (cli/): one module
            if node.module is None:  # ``from . import x``: x must be a module below
                targets = [alias.name for alias in node.names]
            else:
                targets = [node.module.split(".")[0]]
            for target in targets:
                if target not in LAYER or LAYER[target] > LAYER[name]:
                    upward.append("%s:%d imports %s" % (path.relative_to(PACKAGE),
                                                        node.lineno, target))
    assert upward == []


def test_the_plugin_half_touches_only_its_own_private_state() -> None:
    reaching = []
    for name in OWN_STATE_ONLY:
        path = PACKAGE / (name + ".py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                    and not node.attr.startswith("__"):
                if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                    continue
                reaching.append("%s:%d %s" % (path.name, node.lineno, ast.unparse(node)))
    assert reaching == []
