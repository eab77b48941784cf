"""The house rules of SPEC section 13, checked on the package's source.

* No code touches another object's underscore attributes: ``x._y`` is only
  written where ``x`` is ``self`` or ``cls``, or in the module that defines
  ``_y`` (a method's other instance of the same class, ``other._key`` in
  ``__eq__``).  Underscore *names* are not imported from other modules
  either (private modules are fine: ``from . import _check``).
* Every module opens with a docstring.
* ``except StopPropagation`` stands in at most two places: the one runner
  and its one specialised fast loop.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "nitro_dispatch"
MODULES = sorted(PACKAGE.rglob("*.py"))


def _dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _own_private_names(tree: ast.Module) -> Set[str]:
    """The underscore names a module defines: attributes assigned on
    ``self``/``cls``, ``__slots__`` entries, class-level names and methods."""
    names: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    names.add(item.name)
                targets = item.targets if isinstance(item, ast.Assign) else (
                    [item.target] if isinstance(item, ast.AnnAssign) else [])
                for target in targets:
                    if isinstance(target, ast.Name):
                        names.add(target.id)
                        value = getattr(item, "value", None)
                        if target.id == "__slots__" and isinstance(value, (ast.Tuple, ast.List)):
                            names.update(e.value for e in value.elts
                                         if isinstance(e, ast.Constant)
                                         and isinstance(e.value, str))
    return {n for n in names if n.startswith("_") and not _dunder(n)}


def _reaches(path: Path) -> List[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own = _own_private_names(tree)
    found: List[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                and not _dunder(node.attr):
            base = node.value
            if isinstance(base, ast.Name) and base.id in ("self", "cls"):
                continue
            if node.attr in own:
                continue
            found.append("%s:%d %s.%s" % (path.name, node.lineno, ast.unparse(base),
                                          node.attr))
        elif isinstance(node, ast.ImportFrom) and node.level and node.module:
            for alias in node.names:
                if alias.name.startswith("_") and not _dunder(alias.name):
                    found.append("%s:%d from %s import %s"
                                 % (path.name, node.lineno, node.module, alias.name))
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_reaches_into_another_objects_private_state(path: Path) -> None:
    assert _reaches(path) == []


def test_the_checker_sees_a_reach(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('"""x"""\n\nfrom ._m import _helper\n\n\ndef f(manager):\n'
                      '    return manager._entries\n')
    assert _reaches(sample) == ["sample.py:3 from _m import _helper",
                                "sample.py:7 manager._entries"]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_says_what_it_owns(path: Path) -> None:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert doc and len(doc.split()) >= 5, "%s has no opening docstring" % path.name


def test_stop_propagation_is_caught_in_at_most_two_places() -> None:
    places: Dict[str, int] = {}
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ExceptHandler) and node.type is not None \
                    and "StopPropagation" in ast.unparse(node.type):
                key = "%s:%d" % (path.name, node.lineno)
                places[key] = places.get(key, 0) + 1
    assert 1 <= len(places) <= 2, places
