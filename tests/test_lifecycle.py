"""PluginManager: registration, load/unload, lifecycle events, enable/disable."""

import logging

import pytest

from nitro_dispatch import (
    NitroPluginError,
    PluginBase,
    PluginLoadError,
    PluginSource,
    PluginManager,
    PluginNotFoundError,
    PluginRegistrationError,
    hook,
)


def collect(manager, event):
    """Record every payload of ``event`` (the hook returns None: data unchanged)."""
    seen = []
    manager.register_hook(event, seen.append)
    return seen


def make_plugin(plugin_name, event="life.evt", log=None):
    log = [] if log is None else log

    class P(PluginBase):
        name = plugin_name

        def on_load(self):
            log.append(("load", self.name))

        def on_unload(self):
            log.append(("unload", self.name))

        @hook(event)
        def h(self, data):
            return data + [self.name]

    P.__name__ = P.__qualname__ = "Plugin_%s" % plugin_name
    return P


# -- constants -----------------------------------------------------------------


def test_event_name_constants():
    assert PluginManager.EVENT_PLUGIN_REGISTERED == "nitro.plugin.registered"
    assert PluginManager.EVENT_PLUGIN_LOADED == "nitro.plugin.loaded"
    assert PluginManager.EVENT_PLUGIN_UNLOADED == "nitro.plugin.unloaded"
    assert PluginManager.EVENT_PLUGIN_ERROR == "nitro.plugin.error"
    assert PluginManager.EVENT_APP_STARTUP == "nitro.app.startup"
    assert PluginManager.EVENT_APP_SHUTDOWN == "nitro.app.shutdown"


# -- register ------------------------------------------------------------------


def test_register_returns_name_and_fires_registered():
    m = PluginManager()
    seen = collect(m, "nitro.plugin.registered")
    cls = make_plugin("alpha")
    assert m.register(cls) == "alpha"
    assert "alpha" in m.get_registered_plugins()
    assert not m.is_loaded("alpha")
    assert len(seen) == 1
    assert seen[0]["plugin_name"] == "alpha"
    assert seen[0]["plugin_class"] is cls


def test_register_does_not_instantiate():
    created = []

    class Counted(PluginBase):
        def __init__(self):
            super().__init__()
            created.append(self)

    m = PluginManager()
    assert m.register(Counted) == "Counted"
    m.get_registered_plugins()
    m.is_loaded("Counted")
    m.get_loaded_plugins()
    assert created == []
    plugin = m.load("Counted")
    assert created == [plugin]


def test_register_same_class_twice_is_a_logged_warning(caplog):
    cls = make_plugin("twice")
    m = PluginManager()
    assert m.register(cls) == "twice"
    with caplog.at_level(logging.WARNING):
        assert m.register(cls) == "twice"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("twice" in r.getMessage() for r in warnings)
    assert list(m.get_registered_plugins()).count("twice") == 1
    assert isinstance(m.load("twice"), cls)


def test_register_another_class_under_taken_name_fails():
    first = make_plugin("taken")
    second = make_plugin("taken")
    m = PluginManager()
    m.register(first)
    with pytest.raises(PluginRegistrationError, match="taken"):
        m.register(second)
    assert isinstance(m.load("taken"), first)


class _NotAPlugin:
    name = "not_a_plugin"


class _RealPlugin(PluginBase):
    name = "real"


@pytest.mark.parametrize("thing", [
    _RealPlugin(), lambda: None, None, _NotAPlugin, object, 42, "real", int,
], ids=["instance", "function", "None", "plain-class", "object", "int", "str", "int-type"])
def test_register_rejects_non_plugin_classes(thing):
    m = PluginManager()
    with pytest.raises(PluginRegistrationError):
        m.register(thing)
    assert list(m.get_registered_plugins()) == []


def test_registration_error_is_a_nitro_error():
    assert issubclass(PluginRegistrationError, NitroPluginError)
    assert issubclass(PluginNotFoundError, NitroPluginError)
    assert issubclass(PluginLoadError, NitroPluginError)


# -- unregister ------------------------------------------------------------------


def test_unregister_unknown_name():
    m = PluginManager()
    with pytest.raises(PluginNotFoundError, match="ghost"):
        m.unregister("ghost")


def test_unregister_unloads_first():
    log = []
    m = PluginManager()
    unloaded = collect(m, "nitro.plugin.unloaded")
    m.register(make_plugin("gone", log=log))
    m.load("gone")
    m.unregister("gone")
    assert log == [("load", "gone"), ("unload", "gone")]
    assert [p["plugin_name"] for p in unloaded] == ["gone"]
    assert not m.is_loaded("gone")
    assert "gone" not in m.get_registered_plugins()
    assert m.trigger("life.evt", []) == []
    with pytest.raises(PluginNotFoundError):
        m.load("gone")


def test_unregister_not_loaded_plugin():
    log = []
    m = PluginManager()
    m.register(make_plugin("idle", log=log))
    m.unregister("idle")
    assert log == []
    assert "idle" not in m.get_registered_plugins()
    # the name is free again
    assert m.register(make_plugin("idle")) == "idle"


# -- load ----------------------------------------------------------------------


def test_load_unknown_name():
    m = PluginManager()
    with pytest.raises(PluginNotFoundError, match="nobody"):
        m.load("nobody")


def test_load_instantiates_attaches_hooks_calls_on_load_and_fires_loaded():
    log = []
    m = PluginManager()
    loaded = collect(m, "nitro.plugin.loaded")
    cls = make_plugin("beta", log=log)
    m.register(cls)
    plugin = m.load("beta")
    assert isinstance(plugin, cls)
    assert log == [("load", "beta")]
    assert m.is_loaded("beta")
    assert m.get_plugin("beta") is plugin
    assert "beta" in m.get_loaded_plugins()
    assert m.trigger("life.evt", []) == ["beta"]
    assert "life.evt" in m.get_events()
    assert len(loaded) == 1
    assert loaded[0]["plugin_name"] == "beta"
    assert loaded[0]["plugin"] is plugin
    assert loaded[0]["version"] == "1.0.0"


def test_hooks_are_attached_before_loaded_event():
    m = PluginManager()
    results = []
    m.register_hook("nitro.plugin.loaded",
                    lambda info: results.append(m.trigger("life.evt", [])))
    m.register(make_plugin("early"))
    m.load("early")
    assert results == [["early"]]


def test_introspection_lists():
    m = PluginManager()
    m.register(make_plugin("one"))
    m.register(make_plugin("two"))
    m.load("one")
    assert set(m.get_registered_plugins()) == {"one", "two"}
    assert "one" in m.get_loaded_plugins()
    assert "two" not in m.get_loaded_plugins()
    assert m.is_loaded("one") and not m.is_loaded("two")
    assert "one" in m.get_all_plugins()


def test_load_all_returns_names_loaded():
    m = PluginManager()
    for n in ("p1", "p2", "p3"):
        m.register(make_plugin(n))
    loaded = m.load_all()
    assert sorted(loaded) == ["p1", "p2", "p3"]
    assert all(m.is_loaded(n) for n in ("p1", "p2", "p3"))
    assert sorted(m.trigger("life.evt", [])) == ["p1", "p2", "p3"]


# -- on_load failure ---------------------------------------------------------------


def _failing_on_load(boom, event="fail.evt"):
    class Broken(PluginBase):
        name = "broken"

        def on_load(self):
            self.register_hook("fail.dynamic", self.h)
            raise boom

        @hook(event)
        def h(self, data):
            return data + ["broken"]

    return Broken


def test_on_load_failure_leaves_nothing_behind():
    boom = RuntimeError("on_load exploded")
    m = PluginManager()
    errors = collect(m, "nitro.plugin.error")
    loaded = collect(m, "nitro.plugin.loaded")
    m.register(_failing_on_load(boom))
    with pytest.raises(PluginLoadError) as info:
        m.load("broken")
    assert info.value.__cause__ is boom
    assert "broken" in str(info.value)
    assert not m.is_loaded("broken")
    assert "broken" not in m.get_loaded_plugins()
    assert m.trigger("fail.evt", []) == []
    assert m.trigger("fail.dynamic", []) == []
    events = m.get_events()
    assert "fail.evt" not in events
    assert "fail.dynamic" not in events
    assert loaded == []
    assert len(errors) == 1
    assert errors[0]["plugin_name"] == "broken"
    assert errors[0]["phase"] == "load"
    assert errors[0]["error"] is boom  # the payload carries the plugin's own error


def test_on_load_failure_keeps_events_used_by_others():
    m = PluginManager()
    m.register(make_plugin("fine", event="fail.evt"))
    m.register(_failing_on_load(RuntimeError("x")))
    m.load("fine")
    with pytest.raises(PluginLoadError):
        m.load("broken")
    assert "fail.evt" in m.get_events()
    assert m.trigger("fail.evt", []) == ["fine"]


def test_load_all_goes_on_after_a_broken_plugin(caplog):
    m = PluginManager()
    errors = collect(m, "nitro.plugin.error")
    m.register(make_plugin("first"))
    m.register(_failing_on_load(RuntimeError("kaput")))
    m.register(make_plugin("last"))
    with caplog.at_level(logging.ERROR):
        loaded = m.load_all()
    assert sorted(loaded) == ["first", "last"]
    assert not m.is_loaded("broken")
    assert [e["plugin_name"] for e in errors] == ["broken"]
    assert errors[0]["phase"] == "load"
    assert any(r.levelno >= logging.ERROR and "broken" in r.getMessage()
               for r in caplog.records)


def test_constructor_failure_is_a_load_error():
    boom = ValueError("no init")

    class BadInit(PluginBase):
        def __init__(self):
            raise boom

    m = PluginManager()
    m.register(BadInit)
    with pytest.raises(PluginLoadError) as info:
        m.load("BadInit")
    assert info.value.__cause__ is boom
    assert not m.is_loaded("BadInit")


# -- unload ------------------------------------------------------------------------


def test_unload_calls_on_unload_detaches_and_fires_unloaded():
    log = []
    m = PluginManager()
    unloaded = collect(m, "nitro.plugin.unloaded")
    m.register(make_plugin("gamma", log=log))
    m.load("gamma")
    m.unload("gamma")
    assert log == [("load", "gamma"), ("unload", "gamma")]
    assert not m.is_loaded("gamma")
    assert "gamma" in m.get_registered_plugins()
    assert m.trigger("life.evt", []) == []
    assert "life.evt" not in m.get_events()
    assert [p["plugin_name"] for p in unloaded] == ["gamma"]
    # it can be loaded again
    m.load("gamma")
    assert m.trigger("life.evt", []) == ["gamma"]


def _failing_on_unload(plugin_name, boom, log):
    class BadUnload(PluginBase):
        name = plugin_name

        def on_load(self):
            self.register_hook("unload.dynamic", self.h)

        def on_unload(self):
            log.append(plugin_name)
            raise boom

        @hook("unload.evt")
        def h(self, data):
            return data + [self.name]

    return BadUnload


def test_on_unload_failure_completes_then_reraises():
    boom = RuntimeError("on_unload exploded")
    log = []
    m = PluginManager()
    unloaded = collect(m, "nitro.plugin.unloaded")
    m.register(_failing_on_unload("sticky", boom, log))
    m.load("sticky")
    with pytest.raises(RuntimeError) as info:
        m.unload("sticky")
    assert info.value is boom
    assert log == ["sticky"]
    assert not m.is_loaded("sticky")
    assert "sticky" not in m.get_loaded_plugins()
    assert m.trigger("unload.evt", []) == []
    assert m.trigger("unload.dynamic", []) == []
    assert [p["plugin_name"] for p in unloaded] == ["sticky"]


def test_unload_all_goes_on_after_failing_on_unload():
    log = []
    m = PluginManager()
    m.register(make_plugin("u1", log=log))
    m.register(_failing_on_unload("u2", RuntimeError("bad"), log))
    m.register(make_plugin("u3", log=log))
    m.load_all()
    try:
        m.unload_all()
    except RuntimeError:
        pass  # whether unload_all reports the error at the end is not fixed
    assert not any(m.is_loaded(n) for n in ("u1", "u2", "u3"))
    assert list(m.get_loaded_plugins()) == []
    assert ("unload", "u1") in log and ("unload", "u3") in log and "u2" in log
    assert m.trigger("life.evt", []) == []
    assert m.trigger("unload.evt", []) == []


# -- lifecycle payloads ------------------------------------------------------------


def test_all_lifecycle_payloads_have_plugin_name():
    m = PluginManager()
    seen = {}
    for ev in ("nitro.plugin.registered", "nitro.plugin.loaded", "nitro.plugin.unloaded",
               "nitro.plugin.error"):
        seen[ev] = collect(m, ev)
    m.register(make_plugin("pay"))
    m.load("pay")
    m.unload("pay")
    m.register(_failing_on_load(RuntimeError("x")))
    with pytest.raises(PluginLoadError):
        m.load("broken")
    for ev, payloads in seen.items():
        assert payloads, ev
        for p in payloads:
            assert isinstance(p, dict)
            assert "plugin_name" in p
    assert [p["plugin_name"] for p in seen["nitro.plugin.registered"]] == ["pay", "broken"]
    assert "error" in seen["nitro.plugin.error"][0]


# -- enable / disable --------------------------------------------------------------


def test_disable_and_enable_plugin():
    m = PluginManager()
    m.register(make_plugin("toggle"))
    m.register(make_plugin("steady"))
    m.load_all()
    assert sorted(m.trigger("life.evt", [])) == ["steady", "toggle"]
    m.disable_plugin("toggle")
    assert m.is_loaded("toggle")
    assert m.get_plugin("toggle").enabled is False
    assert m.trigger("life.evt", []) == ["steady"]
    m.enable_plugin("toggle")
    assert m.get_plugin("toggle").enabled is True
    assert sorted(m.trigger("life.evt", [])) == ["steady", "toggle"]


def test_setting_enabled_directly_works_like_disable_plugin():
    m = PluginManager()
    m.register(make_plugin("direct"))
    plugin = m.load("direct")
    assert m.trigger("life.evt", []) == ["direct"]
    plugin.enabled = False
    assert m.trigger("life.evt", []) == []
    assert m.is_loaded("direct")
    plugin.enabled = True
    assert m.trigger("life.evt", []) == ["direct"]


def test_disabled_plugin_stays_disabled_for_wildcard_hooks():
    class Wild(PluginBase):
        @hook("wild.*")
        def h(self, data):
            return data + ["wild"]

    m = PluginManager()
    m.register(Wild)
    plugin = m.load("Wild")
    assert m.trigger("wild.a.b", []) == ["wild"]
    m.disable_plugin("Wild")
    assert m.trigger("wild.a.b", []) == []
    plugin.enabled = True
    assert m.trigger("wild.a.b", []) == ["wild"]


def test_get_events_lists_plugin_events():
    m = PluginManager()
    m.register(make_plugin("ev", event="some.event"))
    assert "some.event" not in m.get_events()
    m.load("ev")
    assert "some.event" in m.get_events()


def test_lifecycle_handlers_run_after_the_manager_lock_is_released():
    """A lifecycle handler that needs the manager from another thread (a
    handler with a timeout runs in a worker thread) is never blocked by the
    operation that fired it: no nitro.* event fires while the lock is held."""
    import threading

    m = PluginManager()
    m.register(make_plugin("first"))
    m.register(_failing_on_load(RuntimeError("kaput")))
    seen = []

    def from_another_thread(payload):
        done = threading.Event()

        def use_manager():
            try:
                m.unload("nobody")  # takes the manager's lock, then finds no such plugin
            except PluginNotFoundError:
                done.set()

        worker = threading.Thread(target=use_manager, daemon=True)
        worker.start()
        seen.append((payload.get("phase") or "ok", done.wait(5)))

    for event in ("nitro.plugin.registered", "nitro.plugin.loaded",
                  "nitro.plugin.unloaded", "nitro.plugin.error"):
        m.register_hook(event, from_another_thread)
    m.register(make_plugin("third"))
    m.load_all()
    m.unload_all()
    assert [ok for _, ok in seen] == [True] * 6
    assert [phase for phase, _ in seen] == ["ok", "ok", "load", "ok", "ok", "ok"]


def test_a_failed_explicit_load_is_in_get_problems():
    class Needy(PluginBase):
        name = "needy"
        dependencies = ["absent"]

    m = PluginManager()
    errors = collect(m, "nitro.plugin.error")
    m.register(Needy)
    m.register_lazy("boom", _raise_import_error,
                    PluginSource("class", module="boom_mod", value="boom_mod:Boom"))
    with pytest.raises(PluginLoadError, match="absent"):
        m.load("needy")
    with pytest.raises(PluginLoadError, match="no module named boom_mod"):
        m.load("boom")
    problems = [(p.plugin, p.phase) for p in m.get_problems()]
    assert problems == [("needy", "dependency"), ("boom", "import")]
    assert [(e["plugin_name"], e["phase"]) for e in errors] == problems
    with pytest.raises(PluginLoadError):
        m.load("boom")
    assert [p.count for p in m.get_problems()] == [1, 2]  # a retry is counted, not repeated


def _raise_import_error():
    raise ImportError("no module named boom_mod")
