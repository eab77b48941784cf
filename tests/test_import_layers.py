"""The import-linter contract of pyproject.toml is the house's layers (SPEC
section 13): it holds for the package, and it bites on an upward import
made inside a function, the kind 1.3 hid its circles with."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    script = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    return subprocess.run([sys.executable, "-c", script, "--no-cache"], cwd=root,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    pytest.importorskip("importlinter", reason="import-linter is a test dependency")
    shutil.copytree(REPO / "nitro_dispatch", tmp_path / "nitro_dispatch",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_package_keeps_its_layers(tree: Path) -> None:
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize("module, line", [
    ("_events.py", "def _up():\n    from ._manager import PluginManager\n"
                   "    return PluginManager\n"),
    ("_metadata.py", "def _up():\n    from . import _registry\n    return _registry\n"),
])
def test_an_upward_import_inside_a_function_breaks_the_contract(tree: Path, module: str,
                                                                line: str) -> None:
    path = tree / "nitro_dispatch" / module
    path.write_text(path.read_text(encoding="utf-8") + "\n\n" + line, encoding="utf-8")
    result = lint_imports(tree)
    assert result.returncode == 1
    assert "BROKEN" in result.stdout and "nitro_dispatch.%s" % module[:-3] in result.stdout


def test_every_module_has_a_layer_and_none_imports_the_package_root() -> None:
    import ast

    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")  # (no tomllib before 3.11)
    start = text.index("layers = [")
    layers = [line.strip().strip('",') for line in
              text[start:text.index("]", start)].splitlines()[1:]]
    listed = {name.strip() for layer in layers for name in layer.split(":")}
    package = REPO / "nitro_dispatch"
    modules = {p.stem if p.parent == package else p.parent.name
               for p in package.rglob("*.py") if p != package / "__init__.py"}
    assert sorted(modules - listed) == [] and sorted(listed - modules) == []
    root_imports = [
        "%s:%d" % (path.name, node.lineno)
        for path in package.rglob("*.py") if path != package / "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module is None
        and node.level == (2 if path.parent != package else 1)
        and any(not (package / (a.name + ".py")).exists()
                and not (package / a.name).is_dir() for a in node.names)]
    assert root_imports == []


def test_the_architecture_page_names_every_module() -> None:
    page = (REPO / "docs" / "architecture.rst").read_text(encoding="utf-8")
    package = REPO / "nitro_dispatch"
    modules = {p.stem if p.parent == package else p.parent.name + "/"
               for p in package.rglob("*.py") if p != package / "__init__.py"}
    assert sorted(m for m in modules if not re.search(r"\b%s" % re.escape(m), page)) == []
