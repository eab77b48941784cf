"""Chain order, data flow and plan freshness (SPEC section 2).

Most tests run through every way of driving a chain (a plain registry,
tracing on, ``collect_all``, every hook timed, ``trigger_async`` and a
``PluginManager``), because an engine that caches resolved chains may take
different paths for each.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, List, Optional

import pytest

from nitro_dispatch import HookRegistry, PluginBase, PluginManager

MODES = ["plain", "traced", "collect_all", "timed", "async", "manager"]


class Harness:
    """One dispatcher configured for ``mode``, with a uniform interface."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.target: Any = PluginManager() if mode == "manager" else HookRegistry()
        if mode == "traced":
            self.target.enable_hook_tracing(True)
        if mode == "collect_all":
            self.target.set_error_strategy("collect_all")

    def register(self, event: str, fn: Callable[..., Any], plugin: Any = None,
                 priority: int = 50, timeout: Optional[float] = None) -> None:
        if self.mode == "timed" and timeout is None:
            timeout = 5.0
        if self.mode == "manager":
            self.target.register_hook(event, fn, plugin=plugin, priority=priority,
                                      timeout=timeout)
        else:
            self.target.register(event, fn, plugin=plugin, priority=priority, timeout=timeout)

    def unregister(self, event: str, fn: Callable[..., Any], plugin: Any = None) -> None:
        if self.mode == "manager":
            self.target.unregister_hook(event, fn, plugin=plugin)
        else:
            self.target.unregister(event, fn, plugin=plugin)

    def fire(self, event: str, data: Any = None) -> Any:
        if self.mode == "async":
            return asyncio.run(self.target.trigger_async(event, data))
        return self.target.trigger(event, data)


@pytest.fixture(params=MODES)
def h(request: pytest.FixtureRequest) -> Harness:
    return Harness(request.param)


def appender(tag: str) -> Callable[[List[str]], List[str]]:
    """A hook that appends ``tag`` to the list it receives and returns a new list."""

    def fn(data: List[str]) -> List[str]:
        return data + [tag]

    fn.__qualname__ = "append_%s" % tag
    return fn


class Owner(PluginBase):
    name = "owner"


class OtherOwner(PluginBase):
    name = "other_owner"


# -- order -----------------------------------------------------------------

def test_higher_priority_runs_first(h: Harness) -> None:
    h.register("ev", appender("low"), priority=10)
    h.register("ev", appender("high"), priority=90)
    h.register("ev", appender("mid"), priority=50)
    assert h.fire("ev", []) == ["high", "mid", "low"]


def test_negative_and_large_priorities_are_ordered(h: Harness) -> None:
    h.register("ev", appender("minus"), priority=-5)
    h.register("ev", appender("zero"), priority=0)
    h.register("ev", appender("huge"), priority=10**6)
    assert h.fire("ev", []) == ["huge", "zero", "minus"]


def test_equal_priority_keeps_registration_order(h: Harness) -> None:
    for tag in "abcdef":
        h.register("ev", appender(tag))
    assert h.fire("ev", []) == list("abcdef")


def test_equal_priority_keeps_registration_order_across_exact_and_wildcard(h: Harness) -> None:
    h.register("user.login", appender("exact1"))
    h.register("user.*", appender("wild1"))
    h.register("user.login", appender("exact2"))
    h.register("*", appender("star"))
    h.register("*.login", appender("wild2"))
    h.register("user.login", appender("exact3"), priority=10)
    h.register("u*", appender("wild_high"), priority=80)
    assert h.fire("user.login", []) == [
        "wild_high", "exact1", "wild1", "exact2", "star", "wild2", "exact3"]


def test_wildcard_registered_first_runs_first_on_tie(h: Harness) -> None:
    h.register("order.*", appender("wild"))
    h.register("order.paid", appender("exact"))
    assert h.fire("order.paid", []) == ["wild", "exact"]


# -- data flow ---------------------------------------------------------------

def test_non_none_return_becomes_next_hooks_data(h: Harness) -> None:
    seen: List[Any] = []

    def first(data: Any) -> Any:
        seen.append(data)
        return data * 10

    def second(data: Any) -> Any:
        seen.append(data)
        return data + 1

    h.register("calc", first, priority=2)
    h.register("calc", second, priority=1)
    assert h.fire("calc", 4) == 41
    assert seen == [4, 40]


def test_none_return_keeps_current_data(h: Harness) -> None:
    seen: List[Any] = []

    def replace(data: Any) -> Any:
        return {"replaced": True}

    def observe(data: Any) -> None:
        seen.append(data)

    h.register("ev", replace, priority=3)
    h.register("ev", observe, priority=2)
    h.register("ev", observe, priority=1)
    assert h.fire("ev", {"original": True}) == {"replaced": True}
    assert seen == [{"replaced": True}, {"replaced": True}]


@pytest.mark.parametrize("falsy", [0, "", [], False, 0.0])
def test_falsy_non_none_return_replaces_data(falsy: Any) -> None:
    reg = HookRegistry()
    reg.register("ev", lambda data: falsy, priority=2)
    seen: List[Any] = []
    reg.register("ev", seen.append, priority=1)
    result = reg.trigger("ev", "start")
    assert result == falsy and type(result) is type(falsy)
    assert seen == [falsy]


def test_trigger_without_hooks_returns_the_same_data_object(h: Harness) -> None:
    payload = {"k": [1, 2]}
    assert h.fire("nobody.listens", payload) is payload


def test_trigger_data_defaults_to_none() -> None:
    reg = HookRegistry()
    seen: List[Any] = []
    reg.register("ev", lambda data: seen.append(data))
    assert reg.trigger("ev") is None
    assert seen == [None]


def test_trigger_returns_data_after_last_hook(h: Harness) -> None:
    h.register("ev", lambda d: d + "a", priority=3)
    h.register("ev", lambda d: None, priority=2)
    h.register("ev", lambda d: d + "c", priority=1)
    assert h.fire("ev", "") == "ac"


def test_hooks_of_other_events_do_not_run(h: Harness) -> None:
    h.register("a", appender("a"))
    h.register("b", appender("b"))
    h.register("a.b", appender("ab"))
    assert h.fire("a", []) == ["a"]
    assert h.fire("b", []) == ["b"]


# -- introspection -----------------------------------------------------------

def test_get_hooks_lists_matching_hooks_in_run_order() -> None:
    reg = HookRegistry()
    low, high, wild = appender("low"), appender("high"), appender("wild")
    reg.register("ev.x", low, priority=1)
    reg.register("ev.*", wild, priority=50, timeout=3.0)
    reg.register("ev.x", high, priority=99)
    reg.register("other", appender("other"))
    hooks = reg.get_hooks("ev.x")
    assert [r.callback for r in hooks] == [high, wild, low]
    assert [r.priority for r in hooks] == [99, 50, 1]
    assert [r["priority"] for r in hooks] == [99, 50, 1]
    assert [r.event for r in hooks] == ["ev.x", "ev.*", "ev.x"]
    assert [r.timeout for r in hooks] == [None, 3.0, None]
    assert not any(r.is_async for r in hooks)


def test_get_hooks_records_plugin_and_plugin_name() -> None:
    reg = HookRegistry()
    owner = Owner()
    fn = appender("x")
    reg.register("ev", fn, plugin=owner)
    reg.register("ev", appender("y"))
    first, second = reg.get_hooks("ev")
    assert first.plugin is owner and first.plugin_name == "owner"
    assert second.plugin is None and second.plugin_name is None


def test_get_all_events_lists_events_and_patterns() -> None:
    reg = HookRegistry()
    fn = appender("x")
    reg.register("a", fn)
    reg.register("b.*", fn)
    assert set(reg.get_all_events()) == {"a", "b.*"}
    reg.unregister("a", fn)
    assert set(reg.get_all_events()) == {"b.*"}


def test_manager_get_events_follows_register_and_unregister() -> None:
    manager = PluginManager()
    fn = appender("x")
    manager.register_hook("shop.checkout", fn)
    manager.register_hook("shop.*", fn)
    events = manager.get_events()
    assert "shop.checkout" in events and "shop.*" in events
    manager.unregister_hook("shop.checkout", fn)
    assert "shop.checkout" not in manager.get_events()
    assert "shop.*" in manager.get_events()


# -- plans stay correct ------------------------------------------------------

def test_register_after_trigger_changes_next_trigger(h: Harness) -> None:
    h.register("ev", appender("a"), priority=10)
    assert h.fire("ev", []) == ["a"]
    h.register("ev", appender("b"), priority=20)
    assert h.fire("ev", []) == ["b", "a"]


def test_unregister_after_trigger_changes_next_trigger(h: Harness) -> None:
    a, b = appender("a"), appender("b")
    h.register("ev", a)
    h.register("ev", b)
    assert h.fire("ev", []) == ["a", "b"]
    h.unregister("ev", a)
    assert h.fire("ev", []) == ["b"]
    h.unregister("ev", b)
    assert h.fire("ev", []) == []


def test_wildcard_registered_after_trigger_joins_cached_chains(h: Harness) -> None:
    h.register("user.login", appender("exact"))
    assert h.fire("user.login", []) == ["exact"]
    assert h.fire("user.logout", []) == []
    star = appender("star")
    h.register("user.*", star, priority=60)
    assert h.fire("user.login", []) == ["star", "exact"]
    assert h.fire("user.logout", []) == ["star"]
    h.unregister("user.*", star)
    assert h.fire("user.login", []) == ["exact"]
    assert h.fire("user.logout", []) == []


def test_unregister_naming_another_plugin_keeps_hook(h: Harness) -> None:
    owner = Owner()
    fn = appender("a")
    h.register("ev", fn, plugin=owner)
    h.fire("ev", [])
    h.unregister("ev", fn, plugin=OtherOwner())
    assert h.fire("ev", []) == ["a"]
    h.unregister("ev", fn, plugin=owner)
    assert h.fire("ev", []) == []


def test_unregister_one_event_keeps_same_callback_on_another() -> None:
    reg = HookRegistry()
    fn = appender("x")
    reg.register("a", fn)
    reg.register("b", fn)
    assert reg.trigger("a", []) == ["x"] and reg.trigger("b", []) == ["x"]
    reg.unregister("a", fn)
    assert reg.trigger("a", []) == []
    assert reg.trigger("b", []) == ["x"]


def test_unregister_bound_method_with_fresh_bound_method() -> None:
    class Counter:
        def __init__(self) -> None:
            self.calls = 0

        def bump(self, data: Any) -> None:
            self.calls += 1

    counter = Counter()
    reg = HookRegistry()
    reg.register("ev", counter.bump)
    reg.trigger("ev")
    reg.unregister("ev", counter.bump)  # a new bound-method object, equal to the first
    reg.trigger("ev")
    assert counter.calls == 1


def test_clear_event_and_clear_all_after_trigger() -> None:
    reg = HookRegistry()
    reg.register("a", appender("a"))
    reg.register("a*", appender("pattern"))
    reg.register("b", appender("b"))
    assert reg.trigger("a", []) == ["a", "pattern"]
    reg.clear_event("a")
    assert reg.trigger("a", []) == ["pattern"]
    assert reg.trigger("b", []) == ["b"]
    reg.clear_all()
    assert reg.trigger("a", []) == []
    assert reg.trigger("b", []) == []
    assert reg.get_all_events() == []


# -- enabled / disabled ------------------------------------------------------

def test_plugin_enabled_false_skips_its_hooks_in_every_registry_holding_them() -> None:
    plugin = Owner()
    reg1, reg2, manager = HookRegistry(), HookRegistry(), PluginManager()
    reg1.register("ev", appender("r1"), plugin=plugin)
    reg1.register("ev", appender("free1"))
    reg2.register("ev", appender("r2"), plugin=plugin)
    manager.register_hook("ev", appender("m"), plugin=plugin)
    manager.register_hook("ev", appender("free_m"))

    def fire_all() -> List[List[str]]:
        return [reg1.trigger("ev", []), reg2.trigger("ev", []), manager.trigger("ev", [])]

    assert fire_all() == [["r1", "free1"], ["r2"], ["m", "free_m"]]  # plans now cached
    plugin.enabled = False
    assert fire_all() == [["free1"], [], ["free_m"]]
    plugin.enabled = True
    assert fire_all() == [["r1", "free1"], ["r2"], ["m", "free_m"]]


def test_plugin_enabled_false_honoured_by_trigger_async_in_every_registry() -> None:
    plugin = Owner()
    reg1, reg2 = HookRegistry(), HookRegistry()

    async def async_hook(data: List[str]) -> List[str]:
        return data + ["async"]

    reg1.register("ev", async_hook, plugin=plugin)
    reg2.register("ev", appender("sync"), plugin=plugin)

    async def fire_all() -> List[List[str]]:
        return [await reg1.trigger_async("ev", []), await reg2.trigger_async("ev", [])]

    assert asyncio.run(fire_all()) == [["async"], ["sync"]]
    plugin.enabled = False
    assert asyncio.run(fire_all()) == [[], []]
    plugin.enabled = True
    assert asyncio.run(fire_all()) == [["async"], ["sync"]]


def test_disabling_one_plugin_leaves_other_plugins_running(h: Harness) -> None:
    first, second = Owner(), OtherOwner()
    h.register("ev", appender("first"), plugin=first)
    h.register("ev", appender("second"), plugin=second)
    assert h.fire("ev", []) == ["first", "second"]
    second.enabled = False
    assert h.fire("ev", []) == ["first"]


def test_plain_object_plugin_with_enabled_attribute_is_honoured(h: Harness) -> None:
    class PlainOwner:
        name = "plain"
        enabled = True

    owner = PlainOwner()
    h.register("ev", appender("owned"), plugin=owner)
    h.register("ev", appender("free"))
    assert h.fire("ev", []) == ["owned", "free"]
    owner.enabled = False
    assert h.fire("ev", []) == ["free"]
    owner.enabled = True
    assert h.fire("ev", []) == ["owned", "free"]


def test_plain_object_plugin_without_enabled_attribute_runs() -> None:
    class Bare:
        pass

    reg = HookRegistry()
    reg.register("ev", appender("x"), plugin=Bare())
    assert reg.trigger("ev", []) == ["x"]


class Shouter(PluginBase):
    name = "shouter"

    def on_load(self) -> None:
        self.register_hook("text", self.shout, priority=70)

    def shout(self, data: str) -> str:
        return data.upper()


def test_manager_disable_and_enable_plugin_after_trigger() -> None:
    manager = PluginManager()
    manager.register(Shouter)
    manager.load("shouter")
    manager.register_hook("text", lambda d: d + "!")
    assert manager.trigger("text", "hi") == "HI!"
    manager.disable_plugin("shouter")
    assert manager.trigger("text", "hi") == "hi!"
    manager.enable_plugin("shouter")
    assert manager.trigger("text", "hi") == "HI!"
    manager.get_plugin("shouter").enabled = False
    assert manager.trigger("text", "hi") == "hi!"


# -- changes while a chain runs ----------------------------------------------

def test_hook_registered_during_trigger_waits_for_next_trigger(h: Harness) -> None:
    late = appender("late")
    done: List[bool] = []

    def adder(data: List[str]) -> List[str]:
        if not done:
            done.append(True)
            h.register("ev", late, priority=10)
        return data + ["adder"]

    h.register("ev", adder, priority=90)
    h.register("ev", appender("last"), priority=0)
    assert h.fire("ev", []) == ["adder", "last"]
    assert h.fire("ev", []) == ["adder", "late", "last"]


def test_hook_removed_during_trigger_still_runs_in_that_chain(h: Harness) -> None:
    victim = appender("victim")

    def remover(data: List[str]) -> List[str]:
        h.unregister("ev", victim)
        return data + ["remover"]

    h.register("ev", remover, priority=90)
    h.register("ev", victim, priority=10)
    assert h.fire("ev", []) == ["remover", "victim"]
    assert h.fire("ev", []) == ["remover"]


def test_plugin_disabled_during_trigger_still_runs_in_that_chain(h: Harness) -> None:
    target = OtherOwner()

    def disabler(data: List[str]) -> List[str]:
        target.enabled = False
        return data + ["disabler"]

    h.register("ev", disabler, priority=90)
    h.register("ev", appender("target"), plugin=target, priority=10)
    assert h.fire("ev", []) == ["disabler", "target"]
    assert h.fire("ev", []) == ["disabler"]


def test_plugin_enabled_during_trigger_waits_for_next_trigger(h: Harness) -> None:
    target = OtherOwner()
    target.enabled = False

    def enabler(data: List[str]) -> List[str]:
        target.enabled = True
        return data + ["enabler"]

    h.register("ev", enabler, priority=90)
    h.register("ev", appender("target"), plugin=target, priority=10)
    assert h.fire("ev", []) == ["enabler"]
    assert h.fire("ev", []) == ["enabler", "target"]


def test_plain_object_plugin_disabled_during_trigger_still_runs_in_that_chain(
        h: Harness) -> None:
    class PlainOwner:
        name = "plain"
        enabled = True

    target = PlainOwner()

    def disabler(data: List[str]) -> List[str]:
        target.enabled = False
        return data + ["disabler"]

    h.register("ev", disabler, priority=90)
    h.register("ev", appender("target"), plugin=target, priority=10)
    assert h.fire("ev", []) == ["disabler", "target"]
    assert h.fire("ev", []) == ["disabler"]
