"""Per-plugin configuration, the manager as a context manager, and log_level (SPEC 1, 8)."""

import io
import logging

import pytest

from nitro_dispatch import PluginBase, PluginManager, hook


# -- configuration ---------------------------------------------------------------


class Configured(PluginBase):
    name = "configured"

    def on_load(self):
        self.greeting_at_load = self.get_config("greeting", "none")


def test_get_config_reads_section_of_plugin_name():
    m = PluginManager(config={"configured": {"greeting": "hi", "count": 3},
                              "other": {"greeting": "not mine"}})
    m.register(Configured)
    plugin = m.load("configured")
    assert plugin.get_config("greeting") == "hi"
    assert plugin.get_config("count") == 3
    assert plugin.greeting_at_load == "hi"


def test_get_config_default():
    m = PluginManager(config={"configured": {"greeting": "hi"}})
    m.register(Configured)
    plugin = m.load("configured")
    assert plugin.get_config("missing") is None
    assert plugin.get_config("missing", 7) == 7
    # a falsy stored value is returned, not replaced by the default
    m2 = PluginManager(config={"configured": {"flag": False, "zero": 0}})
    m2.register(Configured)
    p2 = m2.load("configured")
    assert p2.get_config("flag", True) is False
    assert p2.get_config("zero", 5) == 0


def test_get_config_without_section_or_config():
    m = PluginManager(config={"someone_else": {"greeting": "x"}})
    m.register(Configured)
    assert m.load("configured").get_config("greeting", "dflt") == "dflt"
    m2 = PluginManager()
    m2.register(Configured)
    plugin = m2.load("configured")
    assert plugin.get_config("greeting") is None
    assert plugin.greeting_at_load == "none"


def test_get_config_uses_auto_name():
    class AutoCfg(PluginBase):
        pass

    m = PluginManager(config={"AutoCfg": {"k": "v"}})
    m.register(AutoCfg)
    assert m.load("AutoCfg").get_config("k") == "v"


def test_config_is_first_positional_argument():
    m = PluginManager({"configured": {"greeting": "positional"}})
    m.register(Configured)
    assert m.load("configured").get_config("greeting") == "positional"


def test_get_plugin_config():
    m = PluginManager(config={"configured": {"greeting": "hello"}})
    m.register(Configured)
    m.load("configured")
    assert m.get_plugin_config("configured", "greeting") == "hello"
    assert m.get_plugin_config("configured", "missing") is None
    assert m.get_plugin_config("configured", "missing", "d") == "d"


def test_hook_can_read_config():
    class Scaler(PluginBase):
        @hook("scale")
        def h(self, data):
            return data * self.get_config("factor", 1)

    m = PluginManager(config={"Scaler": {"factor": 10}})
    m.register(Scaler)
    m.load("Scaler")
    assert m.trigger("scale", 4) == 40


# -- context manager ---------------------------------------------------------------


def chain_plugins(log):
    def make(plugin_name, deps):
        class P(PluginBase):
            name = plugin_name
            dependencies = deps

            def on_load(self):
                log.append(("load", plugin_name))

            def on_unload(self):
                log.append(("unload", plugin_name))

            @hook("nitro.app.shutdown")
            def bye(self, data):
                log.append(("shutdown-hook", plugin_name))

        return P

    # registration order differs from dependency order
    return [make("top", ["mid"]), make("mid", ["base"]), make("base", [])]


def test_context_manager_fires_startup_and_shutdown_and_unloads():
    log = []
    m = PluginManager()
    m.register_hook("nitro.app.startup", lambda d: log.append("startup"))
    m.register_hook("nitro.app.shutdown", lambda d: log.append("shutdown"))
    for cls in chain_plugins(log):
        m.register(cls)
    with m as entered:
        assert entered is m
        assert log == ["startup"]
        m.load_all()
        assert [n for k, n in log[1:] if k == "load"] == ["base", "mid", "top"]
        del log[:]
    assert "shutdown" in log
    unloads = [n for k, n in (e for e in log if isinstance(e, tuple)) if k == "unload"]
    assert unloads == ["top", "mid", "base"]
    assert list(m.get_loaded_plugins()) == []
    assert not any(m.is_loaded(n) for n in ("top", "mid", "base"))


def test_plugins_see_shutdown_before_they_are_unloaded():
    log = []
    with PluginManager() as m:
        for cls in chain_plugins(log):
            m.register(cls)
        m.load_all()
        del log[:]
    hooks = [n for k, n in log if k == "shutdown-hook"]
    assert sorted(hooks) == ["base", "mid", "top"]
    first_unload = next(i for i, e in enumerate(log) if e[0] == "unload")
    last_hook = max(i for i, e in enumerate(log) if e[0] == "shutdown-hook")
    assert last_hook < first_unload


def test_context_manager_exit_on_exception():
    log = []
    m = PluginManager()
    m.register_hook("nitro.app.shutdown", lambda d: log.append("shutdown"))
    for cls in chain_plugins(log):
        m.register(cls)
    with pytest.raises(KeyError, match="inside"):
        with m:
            m.load_all()
            raise KeyError("inside")
    assert "shutdown" in log
    assert list(m.get_loaded_plugins()) == []


def test_startup_fired_once_per_enter():
    count = []
    m = PluginManager()
    m.register_hook("nitro.app.startup", count.append)
    with m:
        pass
    assert len(count) == 1


# -- log_level (SPEC 8) ------------------------------------------------------------


@pytest.fixture
def restore_logging():
    lib = logging.getLogger("nitro_dispatch")
    root = logging.getLogger()
    saved = (lib.level, list(lib.handlers), root.level, list(root.handlers))
    yield lib, root
    lib.setLevel(saved[0])
    lib.handlers[:] = saved[1]
    root.setLevel(saved[2])
    root.handlers[:] = saved[3]


def test_log_level_sets_library_logger_and_gives_it_a_handler(restore_logging):
    lib, root = restore_logging
    lib.handlers[:] = [h for h in lib.handlers if isinstance(h, logging.NullHandler)]
    root_before = (root.level, list(root.handlers))
    PluginManager(log_level="DEBUG")
    assert lib.level == logging.DEBUG
    assert any(not isinstance(h, logging.NullHandler) for h in lib.handlers)
    assert (root.level, list(root.handlers)) == root_before


def test_log_level_keeps_existing_handler(restore_logging):
    lib, root = restore_logging
    stream = io.StringIO()
    mine = logging.StreamHandler(stream)
    lib.handlers[:] = [mine]
    PluginManager(log_level=logging.INFO)
    assert lib.level == logging.INFO
    assert lib.handlers == [mine]


def test_no_log_level_leaves_logging_alone(restore_logging):
    lib, root = restore_logging
    before = (lib.level, list(lib.handlers), root.level, list(root.handlers))
    m = PluginManager()
    m.register(Configured)
    m.load("configured")
    assert (lib.level, list(lib.handlers), root.level, list(root.handlers)) == before
