"""Startup pays only for what it uses (SPEC section 12): discovering and
loading plugins without dependencies (and with plain ``N.N.N`` versions)
imports neither ``logging`` nor ``packaging`` at all; a declared dependency or a record that will be
emitted does; each requirement string is parsed once.

Checked in fresh interpreters, against a baseline of what the interpreter
imports on its own (site customisations may import some modules)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

from fixtures import make_plugin_dist, plugin_module_source, write_module
from nitro_dispatch import PluginBase
from nitro_dispatch import _plugin

REPO = Path(__file__).resolve().parent.parent
WATCHED = ["logging", "packaging.requirements", "packaging"]

HOOKED = '''
    @hook("greet")
    def hello(self, data):
        return data + "!"
'''


def run_child(code: str, tmp_path: Path, site: Path) -> Dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(REPO)]),
               NITRO_DISPATCH_CACHE_DIR=str(tmp_path / "cache"))
    script = ("import sys, json\nbefore = set(sys.modules)\n" + code +
              "\nprint(json.dumps({'new': sorted(set(sys.modules) - before),"
              " 'baseline': sorted(before), 'result': result}))\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=str(tmp_path), env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out: Dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["stderr"] = proc.stderr
    return out


def new_watched(out: Dict[str, Any]) -> List[str]:
    return [m for m in WATCHED if m in out["new"]]


@pytest.fixture()
def site(tmp_path: Path) -> Path:
    """Two installed distributions and a drop-in directory, all without
    dependencies, each plugin with one hook."""
    site = tmp_path / "site"
    site.mkdir()
    for i in range(2):
        make_plugin_dist(site, "lazy-dist-%d" % i, "1.0.%d" % i,
                         {"lazy%d" % i: "lazy_mod_%d:Plugin" % i})
        write_module(site, "lazy_mod_%d" % i, "from nitro_dispatch import hook\n"
                     + plugin_module_source("Plugin", "lazy%d" % i, HOOKED))
    dropins = tmp_path / "dropins"
    dropins.mkdir()
    (dropins / "quiet_plugin.py").write_text(
        "from nitro_dispatch import hook\n" + plugin_module_source("Quiet", "quiet", HOOKED),
        encoding="utf-8")
    return site


LOAD = (
    "from nitro_dispatch import PluginManager\n"
    "m = PluginManager()\n"
    "m.discover_installed_plugins()\n"
    "m.discover_plugins(%r)\n"
    "m.load_all()\n"
    "result = [sorted(m.get_loaded_plugins()), m.trigger('greet', 'hi')]\n"
)


def test_discover_and_load_without_dependencies_import_neither(tmp_path: Path,
                                                               site: Path) -> None:
    out = run_child(LOAD % str(tmp_path / "dropins"), tmp_path, site)
    assert not any(m in out["baseline"] for m in WATCHED), "the interpreter imports them itself"
    assert out["result"] == [["lazy0", "lazy1", "quiet"], "hi!!!"]
    assert new_watched(out) == []


def test_a_declared_dependency_imports_packaging_requirements(tmp_path: Path,
                                                              site: Path) -> None:
    (tmp_path / "dropins" / "needy_plugin.py").write_text(
        plugin_module_source("Needy", "needy", "    dependencies = ['quiet>=1.0']\n"),
        encoding="utf-8")
    out = run_child(LOAD % str(tmp_path / "dropins"), tmp_path, site)
    assert out["result"][0] == ["lazy0", "lazy1", "needy", "quiet"]
    assert "packaging.requirements" in out["new"]  # (which imports logging itself)


def test_a_record_that_will_be_emitted_imports_logging(tmp_path: Path, site: Path) -> None:
    code = (LOAD % str(tmp_path / "dropins")) + (
        "m.register_hook('boom', lambda d: 1 / 0)\n"
        "result = m.trigger('boom', 5)\n")
    out = run_child(code, tmp_path, site)
    assert out["result"] == 5
    assert "logging" in out["new"]
    assert "ZeroDivisionError" in out["stderr"]  # the last-resort handler showed it


def test_debug_records_flow_once_logging_is_configured(tmp_path: Path, site: Path) -> None:
    code = ("import logging\nlogging.basicConfig(level=logging.DEBUG)\n"
            + (LOAD % str(tmp_path / "dropins")))
    out = run_child(code, tmp_path, site)
    assert "loaded plugin 'quiet'" in out["stderr"]
    assert "registered hook" in out["stderr"]


def test_each_requirement_string_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import packaging.requirements

    calls: List[str] = []
    real = packaging.requirements.Requirement

    class Counting(real):  # type: ignore[misc, valid-type]
        def __init__(self, text: str) -> None:
            calls.append(text)
            super().__init__(text)

    monkeypatch.setattr(packaging.requirements, "Requirement", Counting)

    # Strings no other test parses: the process-wide cache has not seen them.
    class Needy(PluginBase):
        name = "needy"
        dependencies = ["base-once>=1.0", "extra-once; python_version >= '3'"]

    class Other(PluginBase):
        name = "other"
        dependencies = ["base-once>=1.0"]

    first = _plugin.parse_dependencies(Needy, "needy")
    again = _plugin.parse_dependencies(Needy, "needy")
    other = _plugin.parse_dependencies(Other, "other")
    assert calls == ["base-once>=1.0", "extra-once; python_version >= '3'"]
    assert [str(r) for r in first] == ["base-once>=1.0", 'extra-once; python_version >= "3"']
    assert again == first and other == first[:1]
