"""Plugin code cannot take the host down or leave debris (SPEC section 11).

``Exception`` and ``SystemExit`` raised while importing, creating, loading
or unloading a plugin are that plugin's failure: reported with its source,
nothing of it left registered, the others go on.  ``KeyboardInterrupt``
propagates, but only once the manager is consistent again.
"""

import json
import sys
import textwrap
import uuid

import pytest

from nitro_dispatch import NitroPluginError, PluginBase, PluginLoadError, PluginManager, hook
from venv_support import PROJECT, project_factory_fixture, venv_factory_fixture  # noqa: F401

HOSTILE = [SystemExit(3), SystemExit("bye"), ValueError("broken")]


def hostile_plugin(where, error, name="hostile"):
    """A plugin class whose ``where`` ("init", "on_load" or "on_unload")
    raises ``error``; its hook appends its name."""
    def raiser(self):
        raise error

    body = {"name": name,
            "ping": hook("ping")(lambda self, data: data + [self.name])}
    if where == "init":
        body["__init__"] = raiser
    else:
        body[where] = raiser
    return type("Hostile_" + where, (PluginBase,), body)


class Fine(PluginBase):
    name = "fine"

    @hook("ping")
    def ping(self, data):
        return data + ["fine"]


# -- in-process: create, on_load, on_unload -----------------------------------------

@pytest.mark.parametrize("error", HOSTILE, ids=repr)
@pytest.mark.parametrize("where", ["init", "on_load"])
def test_failure_creating_or_loading_is_the_plugins_own(where, error):
    manager = PluginManager()
    manager.register(hostile_plugin(where, error))
    manager.register(Fine)
    assert manager.load_all() == ["fine"]
    assert manager.get_loaded_plugins() == ["fine"]
    assert manager.trigger("ping", []) == ["fine"]  # no hook of the hostile one
    problems = manager.get_problems()
    assert [(p.plugin, p.phase) for p in problems] == [("hostile", "load")]
    assert type(error).__name__ in problems[0].message
    assert problems[0].error is error
    with pytest.raises(PluginLoadError) as info:
        manager.load("hostile")
    assert info.value.__cause__ is error
    assert manager.trigger("ping", []) == ["fine"]


@pytest.mark.parametrize("error", HOSTILE, ids=repr)
def test_failure_unloading_is_reported_and_the_plugin_is_gone(error):
    manager = PluginManager()
    manager.register(hostile_plugin("on_unload", error))
    manager.register(Fine)
    manager.load_all()
    assert manager.trigger("ping", []) == ["hostile", "fine"]
    with pytest.raises(Exception) as info:  # never SystemExit: the host goes on
        manager.unload("hostile")
    assert not isinstance(info.value, SystemExit)
    if isinstance(error, SystemExit):
        assert isinstance(info.value, NitroPluginError)
        assert info.value.__cause__ is error and "hostile" in str(info.value)
    else:
        assert info.value is error
    assert manager.get_loaded_plugins() == ["fine"]
    assert manager.trigger("ping", []) == ["fine"]
    assert [(p.plugin, p.phase) for p in manager.get_problems()] == [("hostile", "unload")]


@pytest.mark.parametrize("error", HOSTILE, ids=repr)
def test_unload_all_goes_on_after_a_failing_on_unload(error):
    manager = PluginManager()
    manager.register(Fine)
    manager.register(hostile_plugin("on_unload", error))
    manager.load_all()
    manager.unload_all()
    assert manager.get_loaded_plugins() == []
    assert manager.trigger("ping", []) == []
    assert [(p.plugin, p.phase) for p in manager.get_problems()] == [("hostile", "unload")]


def test_keyboard_interrupt_in_on_load_leaves_no_hooks():
    manager = PluginManager()
    manager.register(Fine)
    manager.register(hostile_plugin("on_load", KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        manager.load_all()
    assert manager.get_loaded_plugins() == ["fine"]
    assert manager.trigger("ping", []) == ["fine"]
    assert manager.get_plugin("hostile") is None


def test_keyboard_interrupt_in_init_leaves_nothing():
    manager = PluginManager()
    manager.register(hostile_plugin("init", KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        manager.load("hostile")
    assert manager.get_loaded_plugins() == []
    assert manager.get_events() == []


def test_keyboard_interrupt_in_on_unload_still_unloads():
    manager = PluginManager()
    manager.register(hostile_plugin("on_unload", KeyboardInterrupt()))
    manager.register(Fine)
    manager.load_all()
    with pytest.raises(KeyboardInterrupt):
        manager.unload("hostile")
    assert manager.get_loaded_plugins() == ["fine"]
    assert manager.trigger("ping", []) == ["fine"]
    manager.load("hostile")  # and it can come back (its hooks registered anew: last)
    assert manager.trigger("ping", []) == ["fine", "hostile"]


# -- drop-ins and reload -------------------------------------------------------------

DROPIN = textwrap.dedent("""
    import sys
    from nitro_dispatch import PluginBase, hook

    {before}

    class {cls}(PluginBase):
        name = {name!r}

        @hook("ping")
        def ping(self, data):
            return data + [{reply!r}]

        {body}
""")


def write_dropin(path, name, reply=None, before="", body=""):
    path.write_text(DROPIN.format(cls="P_" + uuid.uuid4().hex[:8], name=name,
                                  reply=reply or name, before=before, body=body))


@pytest.mark.parametrize("exit_call", ["sys.exit(2)", "sys.exit('no')", "raise SystemExit"])
def test_system_exit_at_import_of_a_dropin(tmp_path, exit_call):
    write_dropin(tmp_path / "a_plugin.py", "alpha")
    write_dropin(tmp_path / "b_plugin.py", "beta", before=exit_call)
    write_dropin(tmp_path / "c_plugin.py", "gamma")
    manager = PluginManager()
    assert manager.discover_plugins(tmp_path) == ["alpha", "gamma"]
    assert manager.load_all() == ["alpha", "gamma"]
    assert manager.trigger("ping", []) == ["alpha", "gamma"]
    (problem,) = manager.get_problems()
    assert problem.phase == "discovery"
    assert "b_plugin.py" in problem.message and "SystemExit" in problem.message
    assert problem.source.path == str(tmp_path / "b_plugin.py")
    assert not any(name.endswith(".b_plugin") for name in sys.modules)


@pytest.mark.parametrize("edit", [
    dict(before="sys.exit(4)"),
    dict(body="def on_load(self):\n            sys.exit(5)"),
    dict(body="def __init__(self):\n            raise SystemExit"),
], ids=["import", "on_load", "init"])
def test_system_exit_in_a_reload_keeps_the_old_version(tmp_path, edit):
    path = tmp_path / "r_plugin.py"
    write_dropin(path, "relo", "v1")
    manager = PluginManager()
    manager.discover_plugins(tmp_path)
    old = manager.load("relo")
    write_dropin(path, "relo", "v2", **edit)
    with pytest.raises(PluginLoadError) as info:
        manager.reload("relo")
    assert isinstance(info.value.__cause__, SystemExit)
    assert manager.get_plugin("relo") is old
    assert manager.trigger("ping", []) == ["v1"]
    assert any(p.phase == "reload" for p in manager.get_problems())


@pytest.mark.parametrize("edit", [
    dict(before="raise KeyboardInterrupt"),
    dict(body="def on_load(self):\n            raise KeyboardInterrupt"),
    dict(body="def __init__(self):\n            raise KeyboardInterrupt"),
], ids=["import", "on_load", "init"])
def test_keyboard_interrupt_in_a_reload_propagates_with_the_old_version_in_service(
        tmp_path, edit):
    path = tmp_path / "r_plugin.py"
    write_dropin(path, "relo", "v1")
    write_dropin(tmp_path / "s_plugin.py", "other")
    manager = PluginManager()
    manager.discover_plugins(tmp_path)
    manager.load_all()
    old = manager.get_plugin("relo")
    write_dropin(path, "relo", "v2", **edit)
    with pytest.raises(KeyboardInterrupt):
        manager.reload("relo")
    assert manager.get_plugin("relo") is old
    assert manager.get_loaded_plugins() == ["relo", "other"]
    assert manager.trigger("ping", []) == ["v1", "other"]
    write_dropin(path, "relo", "v3")
    manager.reload("relo")
    assert manager.trigger("ping", []) == ["v3", "other"]  # in its place


# -- real installed distributions ---------------------------------------------------

def plugin_module(name):
    return textwrap.dedent("""
        from nitro_dispatch import PluginBase, hook


        class Plugin(PluginBase):
            name = {name!r}

            @hook("ping")
            def ping(self, data):
                return data + [{name!r}]
    """).format(name=name)


@pytest.fixture(scope="module")
def exiting_venv(venv_factory, tmp_path_factory):
    """Three plugin distributions; the middle one calls sys.exit() at import."""
    from venv_support import make_plugin_project

    root = tmp_path_factory.mktemp("exit-projects")
    projects = []
    for dist, name, prefix in [("ndt-exit-a", "exit_a", ""),
                               ("ndt-exit-b", "exit_b", "import sys\nsys.exit(7)\n"),
                               ("ndt-exit-c", "exit_c", "")]:
        module = "ndt_" + name
        projects.append(make_plugin_project(
            root / dist, dist, "1.0", {name: module + ":Plugin"},
            {module: prefix + plugin_module(name)}))
    return venv_factory("exit-venv", PROJECT, *projects)


def test_system_exit_at_import_of_an_installed_plugin(exiting_venv):
    result = exiting_venv.run_json("""
        import json
        from nitro_dispatch import PluginManager
        manager = PluginManager()
        found = manager.discover_installed_plugins()
        loaded = manager.load_all()
        print(json.dumps({
            "found": sorted(found), "loaded": loaded,
            "ping": manager.trigger("ping", []),
            "problems": [[p.plugin, p.phase, p.message, p.source.dist_name]
                         for p in manager.get_problems()],
            "check": [[p.plugin, p.message] for p in manager.check()],
        }))
    """)
    assert result["found"] == ["exit_a", "exit_b", "exit_c"]
    assert result["loaded"] == ["exit_a", "exit_c"]
    assert result["ping"] == ["exit_a", "exit_c"]
    (problem,) = result["problems"]
    assert problem[:2] == ["exit_b", "import"] and problem[3] == "ndt-exit-b"
    assert "SystemExit" in problem[2] and "ndt-exit-b" in problem[2]
    assert [p[0] for p in result["check"]] == ["exit_b"]


def test_check_command_names_the_plugin_that_exits(exiting_venv):
    proc = exiting_venv.run(["-m", "nitro_dispatch", "check"], check=False)
    assert proc.returncode == 1, proc.stderr
    assert "exit_b" in proc.stdout + proc.stderr
    assert "ndt-exit-b" in proc.stdout + proc.stderr
    assert "SystemExit" in proc.stdout + proc.stderr
    assert "3 plugins checked, 1 problem" in proc.stdout
    assert "Traceback" not in proc.stderr
    proc = exiting_venv.run(["-m", "nitro_dispatch", "check", "--json"], check=False)
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["checked"] == 3
    (problem,) = data["problems"]
    assert problem["plugin"] == "exit_b" and "SystemExit" in json.dumps(problem)
