"""Async hooks: ``trigger_async`` awaits them, ``trigger`` skips them with
one warning per hook (SPEC section 2).  Coroutines are driven with
``asyncio.run``; no pytest plugin is needed."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, List

import pytest

from nitro_dispatch import (HookError, HookRegistry, PluginBase, PluginManager, StopPropagation,
                            hook)


def skip_warnings(caplog: pytest.LogCaptureFixture) -> List[logging.LogRecord]:
    return [r for r in caplog.records
            if (r.name == "nitro_dispatch" or r.name.startswith("nitro_dispatch."))
            and r.levelno == logging.WARNING]


async def async_append(data: List[str]) -> List[str]:
    await asyncio.sleep(0)
    return data + ["async"]


async def async_append_b(data: List[str]) -> List[str]:
    await asyncio.sleep(0)
    return data + ["async_b"]


def test_trigger_async_awaits_async_hooks_and_calls_sync_hooks_in_priority_order() -> None:
    reg = HookRegistry()
    reg.register("ev", async_append, priority=80)
    reg.register("ev", lambda d: d + ["sync"], priority=90)
    reg.register("ev", async_append_b, priority=10)
    reg.register("ev", lambda d: d + ["sync_low"], priority=20)
    assert asyncio.run(reg.trigger_async("ev", [])) == ["sync", "async", "sync_low", "async_b"]


def test_trigger_async_runs_only_sync_hooks_too() -> None:
    reg = HookRegistry()
    reg.register("ev", lambda d: d * 2)
    reg.register("ev", lambda d: d + 1, priority=0)
    assert asyncio.run(reg.trigger_async("ev", 5)) == 11


def test_trigger_async_none_from_async_hook_keeps_data() -> None:
    reg = HookRegistry()
    seen: List[Any] = []

    async def observe(data: Any) -> None:
        seen.append(data)

    reg.register("ev", lambda d: "changed", priority=90)
    reg.register("ev", observe, priority=50)
    assert asyncio.run(reg.trigger_async("ev", "start")) == "changed"
    assert seen == ["changed"]


def test_trigger_async_without_hooks_returns_data() -> None:
    reg = HookRegistry()
    payload = object()
    assert asyncio.run(reg.trigger_async("nothing", payload)) is payload


def test_trigger_async_really_awaits_hooks_in_sequence() -> None:
    reg = HookRegistry()
    log: List[str] = []

    async def slow(data: Any) -> None:
        log.append("slow start")
        await asyncio.sleep(0.01)
        log.append("slow end")

    async def fast(data: Any) -> None:
        log.append("fast")

    reg.register("ev", slow, priority=2)
    reg.register("ev", fast, priority=1)
    asyncio.run(reg.trigger_async("ev"))
    assert log == ["slow start", "slow end", "fast"]


def test_trigger_async_stop_propagation_from_async_hook() -> None:
    reg = HookRegistry()
    ran: List[str] = []

    async def stopper(data: List[str]) -> None:
        raise StopPropagation()

    reg.register("ev", async_append, priority=90)
    reg.register("ev", stopper, priority=50)
    reg.register("ev", lambda d: ran.append("late"), priority=10)
    assert asyncio.run(reg.trigger_async("ev", [])) == ["async"]
    assert ran == []


def test_trigger_async_log_and_continue_keeps_data_before_failing_async_hook() -> None:
    reg = HookRegistry()

    async def broken(data: Any) -> Any:
        raise KeyError("nope")

    reg.register("ev", async_append, priority=90)
    reg.register("ev", broken, priority=50)
    reg.register("ev", async_append_b, priority=10)
    assert asyncio.run(reg.trigger_async("ev", [])) == ["async", "async_b"]


def test_trigger_async_error_calls_on_error_of_plugin() -> None:
    class Watcher(PluginBase):
        name = "watcher"

        def __init__(self) -> None:
            super().__init__()
            self.errors: List[BaseException] = []

        def on_error(self, error: Exception) -> None:
            self.errors.append(error)

    plugin = Watcher()
    reg = HookRegistry()
    payloads: List[Any] = []
    reg.register("nitro.plugin.error", payloads.append)

    async def broken(data: Any) -> Any:
        raise KeyError("nope")

    reg.register("ev", broken, plugin=plugin)
    asyncio.run(reg.trigger_async("ev", 1))
    assert [type(e) for e in plugin.errors] == [KeyError]
    assert [p["plugin_name"] for p in payloads] == ["watcher"]


def test_trigger_async_fail_fast_raises_hook_error() -> None:
    reg = HookRegistry()
    reg.set_error_strategy("fail_fast")

    def broken(data: Any) -> Any:
        raise KeyError("sync inside async trigger")

    reg.register("pay", async_append, priority=90)
    reg.register("pay", broken, priority=10)
    with pytest.raises(HookError) as info:
        asyncio.run(reg.trigger_async("pay", []))
    assert isinstance(info.value.__cause__, KeyError)
    assert "pay" in str(info.value)


def test_trigger_async_collect_all_gathers_async_and_sync_errors() -> None:
    reg = HookRegistry()
    reg.set_error_strategy("collect_all")

    async def abroken(data: Any) -> Any:
        raise KeyError("a")

    def sbroken(data: Any) -> Any:
        raise IndexError("s")

    reg.register("ev", abroken, priority=3)
    reg.register("ev", sbroken, priority=2)
    reg.register("ev", async_append, priority=1)

    async def main() -> Any:
        result = await reg.trigger_async("ev", [])
        return result, [type(e["error"]) for e in reg.get_last_errors()]

    assert asyncio.run(main()) == (["async"], [KeyError, IndexError])


# -- trigger and async hooks ---------------------------------------------------

def test_trigger_skips_async_hooks_and_runs_sync_ones(caplog: pytest.LogCaptureFixture) -> None:
    reg = HookRegistry()
    reg.register("ev", async_append, priority=90)
    reg.register("ev", lambda d: d + ["sync"], priority=10)
    with caplog.at_level(logging.WARNING, logger="nitro_dispatch"):
        assert reg.trigger("ev", []) == ["sync"]


def test_trigger_warns_once_per_async_hook_not_per_call(
        caplog: pytest.LogCaptureFixture) -> None:
    reg = HookRegistry()
    reg.register("ev", async_append)
    reg.register("ev", async_append_b)
    reg.register("ev", lambda d: d + ["sync"])
    with caplog.at_level(logging.WARNING, logger="nitro_dispatch"):
        for _ in range(5):
            assert reg.trigger("ev", []) == ["sync"]
    warnings = skip_warnings(caplog)
    assert len(warnings) == 2
    text = " ".join(r.getMessage() for r in warnings)
    assert "async_append" in text and "async_append_b" in text


def test_trigger_warning_survives_chain_changes_without_repeating(
        caplog: pytest.LogCaptureFixture) -> None:
    reg = HookRegistry()
    reg.register("ev", async_append)
    with caplog.at_level(logging.WARNING, logger="nitro_dispatch"):
        reg.trigger("ev", [])
        reg.register("ev", lambda d: d)  # invalidates any cached chain
        reg.trigger("ev", [])
        reg.register("other", lambda d: d)
        reg.trigger("ev", [])
    assert len(skip_warnings(caplog)) == 1


def test_trigger_async_does_not_warn_about_async_hooks(
        caplog: pytest.LogCaptureFixture) -> None:
    reg = HookRegistry()
    reg.register("ev", async_append)
    reg.register("ev", lambda d: d + ["sync"])
    with caplog.at_level(logging.WARNING, logger="nitro_dispatch"):
        assert asyncio.run(reg.trigger_async("ev", [])) == ["async", "sync"]
        assert [r.callback for r in reg.get_hooks("ev")][0] is async_append
    assert skip_warnings(caplog) == []


def test_trigger_warns_about_async_hook_even_after_trigger_async_ran(
        caplog: pytest.LogCaptureFixture) -> None:
    reg = HookRegistry()
    reg.register("ev", async_append)
    asyncio.run(reg.trigger_async("ev", []))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="nitro_dispatch"):
        assert reg.trigger("ev", []) == []
        assert reg.trigger("ev", []) == []
    assert len(skip_warnings(caplog)) == 1


def test_trigger_skipping_async_hook_leaves_no_unawaited_coroutine() -> None:
    # pytest turns warnings into errors: an unawaited coroutine would fail here
    import gc

    reg = HookRegistry()
    calls: List[Any] = []

    async def tracked(data: Any) -> None:
        calls.append(data)

    reg.register("ev", tracked)
    reg.trigger("ev", 1)
    gc.collect()
    assert calls == []


def test_get_hooks_marks_async_hooks() -> None:
    reg = HookRegistry()
    reg.register("ev", async_append)
    reg.register("ev", lambda d: d)
    assert [r.is_async for r in reg.get_hooks("ev")] == [True, False]


# -- plugins with async hooks --------------------------------------------------

class AsyncEnricher(PluginBase):
    name = "async_enricher"

    @hook("profile.load", priority=70)
    async def add_avatar(self, data: dict) -> dict:
        await asyncio.sleep(0)
        return dict(data, avatar="a.png")

    @hook("profile.load", priority=30)
    def add_greeting(self, data: dict) -> dict:
        return dict(data, greeting="hi %s" % data["user"])


def test_manager_trigger_async_awaits_plugin_async_hook_methods() -> None:
    manager = PluginManager()
    manager.register(AsyncEnricher)
    manager.load("async_enricher")
    result = asyncio.run(manager.trigger_async("profile.load", {"user": "ann"}))
    assert result == {"user": "ann", "avatar": "a.png", "greeting": "hi ann"}


def test_manager_trigger_skips_plugin_async_hook_methods(
        caplog: pytest.LogCaptureFixture) -> None:
    manager = PluginManager()
    manager.register(AsyncEnricher)
    manager.load("async_enricher")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="nitro_dispatch"):
        result = manager.trigger("profile.load", {"user": "ann"})
        manager.trigger("profile.load", {"user": "bob"})
    assert result == {"user": "ann", "greeting": "hi ann"}
    warnings = skip_warnings(caplog)
    assert len(warnings) == 1
    assert "add_avatar" in warnings[0].getMessage()


def test_concurrent_trigger_async_calls_do_not_mix_data() -> None:
    reg = HookRegistry()

    async def tag(data: List[str]) -> List[str]:
        await asyncio.sleep(0.001)
        return data + ["tag"]

    reg.register("ev", tag)
    reg.register("ev", lambda d: d + ["sync"], priority=0)

    async def main() -> List[Any]:
        return list(await asyncio.gather(*(reg.trigger_async("ev", [str(i)])
                                           for i in range(20))))

    assert asyncio.run(main()) == [[str(i), "tag", "sync"] for i in range(20)]
