"""Input checked at registration (SPEC section 11): timeouts, event names,
@hook stacked with staticmethod/classmethod, async lifecycle handlers, and
list_installed_plugins' path argument."""

import asyncio
import math
import os
import threading

import pytest

from nitro_dispatch import (HookRegistry, PluginBase, PluginLoadError, PluginManager, hook,
                            list_installed_plugins)

BAD_TIMEOUTS = [float("nan"), float("inf"), -float("inf"), 1e10, threading.TIMEOUT_MAX * 2,
                0, 0.0, -1, -0.5, True, False, "1", b"1", [1], complex(1, 0)]
GOOD_TIMEOUTS = [None, 1, 0.001, 2.5, threading.TIMEOUT_MAX]


@pytest.mark.parametrize("timeout", BAD_TIMEOUTS, ids=repr)
def test_bad_timeouts_are_refused_by_register(timeout):
    reg = HookRegistry()
    with pytest.raises(ValueError, match="timeout of hook"):
        reg.register("e", lambda d: d, timeout=timeout)
    assert reg.get_all_events() == []


@pytest.mark.parametrize("timeout", BAD_TIMEOUTS, ids=repr)
def test_bad_timeouts_are_refused_by_hook_decorator(timeout):
    with pytest.raises(ValueError, match=r"@hook\('e'\)"):
        hook("e", timeout=timeout)


@pytest.mark.parametrize("timeout", GOOD_TIMEOUTS, ids=repr)
def test_good_timeouts_register_and_run(timeout):
    reg = HookRegistry()
    rec = reg.register("e", lambda d: d + 1, timeout=timeout)
    assert rec.timeout == timeout
    if timeout is None or timeout >= 1:  # 1 ms may really run out on a loaded machine
        assert reg.trigger("e", 1) == 2


def test_bad_timeout_on_a_manager_hook():
    manager = PluginManager()
    with pytest.raises(ValueError):
        manager.register_hook("e", lambda d: d, timeout=math.nan)
    assert manager.trigger("e", 3) == 3


@pytest.mark.parametrize("name,error", [(5, TypeError), (None, TypeError), (b"e", TypeError),
                                        (("e",), TypeError), ("", ValueError)], ids=repr)
def test_register_refuses_bad_event_names(name, error):
    with pytest.raises(error, match="event name"):
        HookRegistry().register(name, lambda d: d)


@pytest.mark.parametrize("with_pattern", [False, True])
@pytest.mark.parametrize("name", [5, None, b"x", 1.5, object()], ids=repr)
def test_trigger_of_a_non_str_raises_type_error_always(name, with_pattern):
    reg = HookRegistry()
    reg.register("e", lambda d: d + 1)
    if with_pattern:
        reg.register("e*", lambda d: d * 2)
    for _ in range(2):  # also once the registry has cached plans
        assert reg.trigger("e", 1) == (4 if with_pattern else 2)
        with pytest.raises(TypeError, match="event name must be a str"):
            reg.trigger(name, 1)
        with pytest.raises(TypeError, match="event name must be a str"):
            asyncio.run(reg.trigger_async(name, 1))
        with pytest.raises(TypeError, match="event name must be a str"):
            reg.get_hooks(name)


def test_trigger_of_an_unhashable_name_raises_type_error():
    reg = HookRegistry()
    reg.register("*", lambda d: d)
    with pytest.raises(TypeError):
        reg.trigger(["e"], 1)
    with pytest.raises(TypeError):
        asyncio.run(reg.trigger_async(["e"], 1))


def test_manager_trigger_of_a_non_str_raises_type_error():
    manager = PluginManager()
    manager.register_hook("a.*", lambda d: d)
    with pytest.raises(TypeError):
        manager.trigger(5, "data")


class Stacked(PluginBase):
    name = "stacked"

    @hook("static.above")
    @staticmethod
    def static_above(data):
        return data + ["static.above"]

    @staticmethod
    @hook("static.below")
    def static_below(data):
        return data + ["static.below"]

    @hook("class.above")
    @classmethod
    def class_above(cls, data):
        return data + ["class.above:%s" % cls.__name__]

    @classmethod
    @hook("class.below")
    def class_below(cls, data):
        return data + ["class.below:%s" % cls.__name__]

    @hook("both.one")
    @staticmethod
    @hook("both.two")
    def both(data):
        return data + ["both"]


def test_hook_stacked_with_staticmethod_and_classmethod_in_either_order():
    events = sorted(spec.event for _, spec in Stacked.nitro_hook_specs())
    assert events == ["both.one", "both.two", "class.above", "class.below",
                      "static.above", "static.below"]
    manager = PluginManager()
    manager.register(Stacked)
    manager.load_all()
    assert manager.trigger("static.above", []) == ["static.above"]
    assert manager.trigger("static.below", []) == ["static.below"]
    assert manager.trigger("class.above", []) == ["class.above:Stacked"]
    assert manager.trigger("class.below", []) == ["class.below:Stacked"]
    assert manager.trigger("both.one", []) == ["both"]
    assert manager.trigger("both.two", []) == ["both"]
    # Still callable as written.
    assert Stacked.static_above([]) == ["static.above"]
    assert Stacked.class_below([]) == ["class.below:Stacked"]


@pytest.mark.parametrize("event", ["nitro.plugin.loaded", "nitro.app.startup", "nitro.*"])
def test_async_lifecycle_handler_is_refused_by_register(event):
    async def handler(data):
        return data

    reg = HookRegistry()
    with pytest.raises(ValueError, match="lifecycle events"):
        reg.register(event, handler)
    with pytest.raises(ValueError, match="lifecycle events"):
        reg.register(event, lambda d: None, async_hook=True)
    assert reg.get_all_events() == []
    reg.register(event, lambda d: None)  # a plain def is fine


def test_plugin_with_async_lifecycle_handler_fails_to_load_and_leaves_nothing():
    class AsyncLifecycle(PluginBase):
        name = "async-lifecycle"

        @hook("work")
        def work(self, data):
            return data + 1

        @hook(PluginManager.EVENT_PLUGIN_LOADED)
        async def on_loaded(self, data):
            return data

    manager = PluginManager()
    manager.register(AsyncLifecycle)
    with pytest.raises(PluginLoadError, match="lifecycle events"):
        manager.load("async-lifecycle")
    assert not manager.is_loaded("async-lifecycle")
    assert manager.get_events() == []
    assert manager.trigger("work", 1) == 1


@pytest.mark.parametrize("path", ["some/dir", b"some/dir"], ids=repr)
def test_list_installed_plugins_refuses_a_single_string_path(path, tmp_path):
    with pytest.raises(TypeError, match="list of directories"):
        list_installed_plugins(path=path)
    with pytest.raises(TypeError, match="list of directories"):
        list_installed_plugins(path=tmp_path)
    assert list_installed_plugins(path=[str(tmp_path), os.fspath(tmp_path)]) == []


def test_trigger_of_an_empty_name_raises_value_error():
    reg = HookRegistry()
    reg.register("*", lambda d: d + 1)
    with pytest.raises(ValueError, match="must not be empty"):
        reg.trigger("", 1)
    with pytest.raises(ValueError, match="must not be empty"):
        asyncio.run(reg.trigger_async("", 1))
