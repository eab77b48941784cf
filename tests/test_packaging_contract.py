"""SPEC section 10 against real installs: distributions built and
pip-installed (``--no-deps``, as an operator who bypasses pip's resolver
would) into one virtual environment, each scenario in an entry-point group
of its own.  Every plugin module writes a marker file when it is imported
and when its ``on_load`` runs, so each test can assert that no plugin code
ran where none should.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, Sequence

import pytest

from venv_support import venv_factory_fixture  # noqa: F401  (fixture)
from venv_support import PROJECT, Venv, make_plugin_project, make_project

MODULE = '''\
import os
VERSION = %(version)r
_MARKS = os.environ.get("ND_MARKS")
if _MARKS:
    open(os.path.join(_MARKS, "import-" + __name__), "w").close()
from nitro_dispatch import PluginBase, hook


class Plugin(PluginBase):
    name = %(name)r

    def on_load(self):
        if _MARKS:
            open(os.path.join(_MARKS, "onload-" + self.name), "w").close()
%(extra)s

    @hook("ask")
    def ask(self, data):
        return list(data or []) + ["%%s %%s" %% (self.name, VERSION)]
'''


def plugin_dist(root: Path, dist: str, version: str, plugin: str, group: str,
                requires: Sequence[str] = (), extra: str = "", folder: str = "") -> Path:
    """A distribution with one plugin (module ``ndr_<plugin>``)."""
    module = "ndr_" + plugin.lower().replace("-", "_")
    return make_plugin_project(root / (folder or "%s-%s" % (dist, version)), dist, version,
                               {plugin: module + ":Plugin"},
                               {module: MODULE % {"version": version, "name": plugin,
                                                  "extra": extra}},
                               group=group, dependencies=list(requires))


def plain_dist(root: Path, dist: str, version: str) -> Path:
    """A distribution without plugins (an application, a library)."""
    module = dist.replace("-", "_")
    return make_project(root / ("%s-%s" % (dist, version)), {
        "pyproject.toml": '[build-system]\nrequires = ["setuptools>=64"]\n'
                          'build-backend = "setuptools.build_meta"\n\n'
                          '[project]\nname = "%s"\nversion = "%s"\n\n'
                          '[tool.setuptools]\npy-modules = ["%s"]\n' % (dist, version, module),
        module + ".py": "",
    })


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ndr-projects")


@pytest.fixture(scope="module")
def venv(venv_factory: Any, projects: Path) -> Venv:
    root = projects
    dists = [
        plain_dist(root, "ndr-myapp", "2.1"),
        plain_dist(root, "ndr-pre", "1.1rc1"),
        plugin_dist(root, "ndr-x-old", "1.0", "xold", "ndr.compat", ["ndr-myapp>=3"]),
        plugin_dist(root, "ndr-x-nd", "1.0", "xnd", "ndr.compat", ["nitro-dispatch>=99"]),
        plugin_dist(root, "ndr-x-ok", "1.0", "xok", "ndr.compat",
                    ["ndr-myapp>=2,<3", "nitro-dispatch>=1.0", "ndr-pre>=1.0",
                     "ndr-never; extra == 'fancy'", "ndr-never>=1; python_version < '3'"]),
        plugin_dist(root, "ndr-x-third", "1.0", "xthird", "ndr.compat", ["ndr-missing-lib>=1"]),
        plugin_dist(root, "ndr-x-hostless", "1.0", "xhl", "ndr.hostless",
                    ["ndr-hostless-app>=1"]),
        plugin_dist(root, "ndr-zbase", "2.0", "zbase", "ndr.deps"),
        plugin_dist(root, "ndr-user", "1.0", "auser", "ndr.deps", ["ndr-zbase>=2"]),
        plugin_dist(root, "ndr-picky", "1.0", "apicky", "ndr.deps", ["ndr-zbase>=3"]),
        plugin_dist(root, "ndr-cyc-a", "1.0", "cyca", "ndr.deps", ["ndr-cyc-b"]),
        plugin_dist(root, "ndr-cyc-b", "1.0", "cycb", "ndr.deps", ["ndr-cyc-a"]),
        plugin_dist(root, "ndr-foo1", "1.0", "Foo_Bar", "ndr.names"),
        plugin_dist(root, "ndr-foo2", "1.0", "foo-bar", "ndr.names"),
        plugin_dist(root, "ndr-svc", "2.0", "svc", "ndr.reload"),
        plugin_dist(root, "ndr-client", "1.0", "client", "ndr.reload", ["ndr-svc>=2"]),
        plugin_dist(root, "ndr-chk-ok", "1.0", "chkok", "ndr.check",
                    extra="    version = '9.9'\n"),
        plugin_dist(root, "ndr-chk-incompat", "1.0", "chkinc", "ndr.check",
                    ["nitro-dispatch>=99"]),
        plugin_dist(root, "ndr-chk-boom", "1.0", "chkboom", "ndr.check",
                    extra="    def on_load(self):\n        raise RuntimeError('boom')\n"),
        plugin_dist(root, "ndr-chk-typo", "1.0", "chktypo", "ndr.chek"),
    ]
    broken = plugin_dist(root, "ndr-chk-broken", "1.0", "chkbroken", "ndr.check")
    (broken / "ndr_chkbroken.py").write_text(
        "import os\n_MARKS = os.environ.get('ND_MARKS')\n"
        "if _MARKS:\n    open(os.path.join(_MARKS, 'import-ndr_chkbroken'), 'w').close()\n"
        "raise RuntimeError('broken on purpose')\n")
    venv = venv_factory("ndr", PROJECT)
    venv.pip_install(*dists, broken, no_deps=True)
    return venv


def run(venv: Venv, tmp_path: Path, code: str, **env: str) -> Any:
    """Run ``code`` in the venv (``emit(**kw)`` prints the result) with
    markers going to a fresh folder; returns (result, markers)."""
    marks = tmp_path / "marks"
    marks.mkdir(exist_ok=True)
    prelude = textwrap.dedent('''
        import json
        from nitro_dispatch import (PluginManager, DependencyError, PluginLoadError,
                                    PluginRegistrationError)

        def emit(**kw):
            print(json.dumps(kw))

        def problems(m):
            return [[p.plugin, p.phase, p.message] for p in m.get_problems()]
    ''')
    result = venv.run_json(prelude + textwrap.dedent(code), env={"ND_MARKS": str(marks), **env})
    return result, sorted(p.name for p in marks.iterdir())


def test_host_and_framework_compatibility_and_requirements(venv: Venv, tmp_path: Path) -> None:
    out, marks = run(venv, tmp_path, '''
        errors = []
        m = PluginManager(entry_point_group="ndr.compat", host="ndr-myapp")
        m.register_hook(m.EVENT_PLUGIN_ERROR, lambda d: errors.append(d["phase"]))
        m.discover_installed_plugins()
        try:
            m.load("xold")
            old = None
        except DependencyError as exc:
            old = str(exc)
        loaded = m.load_all()
        strict = PluginManager(entry_point_group="ndr.compat", host="ndr-myapp",
                               verify_requirements=True)
        strict.discover_installed_plugins()
        strict_problems = problems(strict)
        hostless = PluginManager(entry_point_group="ndr.hostless", host="ndr-hostless-app")
        hostless.discover_installed_plugins()
        emit(problems=problems(m), errors=errors, old=old, loaded=loaded,
             strict=strict_problems, strict_loaded=strict.load_all(),
             hostless=problems(hostless), hostless_loaded=hostless.load_all())
    ''')
    assert out["old"] == ("plugin 'xold' (distribution ndr-x-old 1.0) requires ndr-myapp>=3, "
                          "but ndr-myapp 2.1 is installed")
    by_plugin = {plugin: (phase, message) for plugin, phase, message in out["problems"]}
    assert by_plugin["xnd"][0] == "compatibility"
    assert by_plugin["xnd"][1].startswith("plugin 'xnd' (distribution ndr-x-nd 1.0) requires "
                                          "nitro-dispatch>=99, but nitro-dispatch 1.")
    assert by_plugin["xthird"] == ("requirements", "plugin 'xthird' (distribution ndr-x-third "
                                   "1.0) requires ndr-missing-lib>=1, but ndr-missing-lib is "
                                   "not installed")
    assert "xok" not in by_plugin  # markers, extras, pre-releases, canonical names: all fine
    assert sorted(out["errors"]) == ["compatibility", "compatibility", "requirements"]
    assert sorted(out["loaded"]) == ["xok", "xthird"]  # unmet third party: still loads
    assert out["strict_loaded"] == ["xok"]  # verify_requirements refuses it too
    assert out["hostless"] == [["xhl", "compatibility", "plugin 'xhl' (distribution "
                                "ndr-x-hostless 1.0) requires ndr-hostless-app>=1, but "
                                "ndr-hostless-app is not installed"]]
    assert out["hostless_loaded"] == []
    assert marks == ["import-ndr_xok", "import-ndr_xthird", "onload-xok", "onload-xthird"]


def test_dependencies_from_metadata_cycles_and_canonical_names(venv: Venv,
                                                               tmp_path: Path) -> None:
    out, marks = run(venv, tmp_path, '''
        m = PluginManager(entry_point_group="ndr.deps")
        m.discover_installed_plugins()
        loaded = m.load_all()
        names = PluginManager(entry_point_group="ndr.names")
        emit(loaded=loaded, problems=problems(m), ask=m.trigger("ask", []),
             names=names.discover_installed_plugins(), conflicts=problems(names))
    ''')
    assert out["loaded"] == ["zbase", "auser"]  # "auser" registers first, loads after
    assert out["ask"] == ["zbase 2.0", "auser 1.0"]
    phases = {(plugin, phase) for plugin, phase, _ in out["problems"]}
    assert phases == {("apicky", "dependency"), ("cyca", "dependency"), ("cycb", "dependency")}
    messages = " ".join(message for _, _, message in out["problems"])
    assert "requires ndr-zbase>=3, but ndr-zbase 2.0 is installed" in messages
    assert "cycle: ndr-cyc-a -> ndr-cyc-b -> ndr-cyc-a" in messages
    assert out["names"] == []
    [[_, phase, message]] = out["conflicts"]
    assert phase == "conflict" and "'Foo_Bar'" in message and "'foo-bar'" in message
    assert marks == ["import-ndr_auser", "import-ndr_zbase", "onload-auser", "onload-zbase"]


def test_reload_rereads_the_distribution_after_upgrade_and_downgrade(
        venv: Venv, tmp_path: Path, projects: Path) -> None:
    up = plugin_dist(projects, "ndr-svc", "2.5", "svc", "ndr.reload")
    down = plugin_dist(projects, "ndr-svc", "1.0", "svc", "ndr.reload")
    if venv._host_pip:
        pip = [sys.executable, "-m", "pip", "--python", str(venv.python)]
    else:
        pip = [str(venv.python), "-m", "pip"]
    pip += ["install", "--no-deps", "--no-build-isolation", "--disable-pip-version-check",
            "--no-input", "-q"]
    try:
        out, marks = run(venv, tmp_path, '''
            import subprocess, sys
            PIP = %s

            def install(path):
                subprocess.run(PIP + [path], check=True, capture_output=True)

            m = PluginManager(entry_point_group="ndr.reload")
            m.discover_installed_plugins()
            m.load_all()
            before = [m.get_plugin_version("svc"), m.trigger("ask", [])]
            install(%r)
            new = m.reload("svc")
            upgraded = [m.get_plugin_version("svc"), new.version,
                        m.get_plugin_source("svc").dist_version, m.trigger("ask", []),
                        m.get_loaded_plugins()]
            install(%r)
            try:
                m.reload("svc")
                failure = None
            except PluginLoadError as exc:
                failure = str(exc)
            after = [m.get_plugin_version("svc"), m.get_plugin_source("svc").dist_version,
                     m.trigger("ask", []), m.get_loaded_plugins()]
            emit(before=before, upgraded=upgraded, failure=failure, after=after)
        ''' % (json.dumps(pip), str(up), str(down)))
    finally:
        venv.pip_install(projects / "ndr-svc-2.0", no_deps=True)
    assert out["before"] == ["2.0", ["svc 2.0", "client 1.0"]]
    assert out["upgraded"] == ["2.5", "2.5", "2.5", ["svc 2.5", "client 1.0"], ["svc", "client"]]
    assert "would break plugin 'client'" in out["failure"]
    assert "ndr-svc>=2" in out["failure"]
    # The downgrade is refused: 2.5 stays in service, the client too.
    assert out["after"] == ["2.5", "2.5", ["svc 2.5", "client 1.0"], ["svc", "client"]]
    assert "onload-svc" in marks and "onload-client" in marks


def check(venv: Venv, tmp_path: Path, *args: str) -> Dict[str, Any]:
    marks = tmp_path / ("marks-" + "-".join(a.strip("-") for a in args[:1]))
    marks.mkdir()
    proc = venv.run(["-m", "nitro_dispatch", "check", "--group", "ndr.check", "--block", "ghost",
                     "--host", "ndr-myapp", "--json", *args], check=False,
                    env={"ND_MARKS": str(marks)})
    data: Dict[str, Any] = json.loads(proc.stdout)
    data["status"] = proc.returncode
    data["marks"] = sorted(p.name for p in marks.iterdir())
    data["found"] = {(p["plugin"], p["stage"], p["phase"]) for p in data["problems"]}
    return data


def test_check_in_three_stages_through_the_command(venv: Venv, tmp_path: Path) -> None:
    static = check(venv, tmp_path, "--static")
    assert static["status"] == 1 and static["stage"] == "static"
    assert static["marks"] == []  # nothing imported
    assert static["found"] == {("chkinc", "static", "compatibility"),
                               (None, "static", "configuration")}
    config = sorted(p["message"] for p in static["problems"] if p["phase"] == "configuration")
    assert len(config) == 2
    assert "block-list name 'ghost' matches no installed or drop-in plugin" in config[0]
    assert "entry-point group 'ndr.chek' (used by ndr-chk-typo)" in config[1]

    plain = check(venv, tmp_path)
    assert plain["status"] == 1 and plain["stage"] == "import"
    assert static["found"] <= plain["found"]
    assert ("chkbroken", "import", "import") in plain["found"]
    assert ("chkok", "import", "drift") in plain["found"]
    [broken] = [p for p in plain["problems"] if p["plugin"] == "chkbroken"]
    assert broken["file"].endswith("ndr_chkbroken.py") and broken["lineno"] == 5
    [drift] = [p for p in plain["problems"] if p["phase"] == "drift"]
    assert drift["severity"] == "warning" and "'9.9'" in drift["message"]
    assert "import-ndr_chkinc" not in plain["marks"]  # incompatible: never imported
    assert not [m for m in plain["marks"] if m.startswith("onload-")]

    load = check(venv, tmp_path, "--load")
    assert load["status"] == 1 and load["stage"] == "load"
    assert plain["found"] <= load["found"]
    assert ("chkboom", "load", "load") in load["found"]
    assert "onload-chkok" in load["marks"] and "import-ndr_chkinc" not in load["marks"]

    marks = tmp_path / "marks-info"
    marks.mkdir()
    info = venv.run(["-m", "nitro_dispatch", "info", "chkinc", "--group", "ndr.check"],
                    check=False, env={"ND_MARKS": str(marks)})
    assert info.returncode == 1 and "requires nitro-dispatch>=99" in info.stdout
    assert list(marks.iterdir()) == []  # info does not import an incompatible plugin

    text = venv.run(["-m", "nitro_dispatch", "check", "--static", "--group", "ndr.check"],
                    check=False)
    assert text.returncode == 1
    assert text.stdout.splitlines()[-1] == "4 plugins checked, 2 problems"
