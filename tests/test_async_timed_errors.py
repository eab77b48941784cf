"""trigger_async with timed hooks (SPEC section 11): whatever a hook raises
is that hook's error, reported at once; only our own timeout is a timeout."""

import asyncio
import time

import pytest

from nitro_dispatch import HookError, HookRegistry, HookTimeoutError

LONG = 30.0  # a timeout no test may wait for


def run_collect(reg, event, data):
    async def main():
        started = time.monotonic()
        result = await reg.trigger_async(event, data)
        return result, reg.get_last_errors(), time.monotonic() - started
    return asyncio.run(main())


@pytest.mark.parametrize("error", [StopIteration("done"), TimeoutError("mine"),
                                   ValueError("bad"), StopAsyncIteration("async done")],
                         ids=lambda e: type(e).__name__)
def test_timed_sync_hook_error_is_reported_at_once(error):
    def failing(data):
        raise error

    reg = HookRegistry()
    reg.set_error_strategy("collect_all")
    reg.register("e", failing, timeout=LONG)
    reg.register("e", lambda d: d + 1, priority=10)
    result, errors, elapsed = run_collect(reg, "e", 1)
    assert result == 2  # the chain went on
    assert [e["error"] for e in errors] == [error]
    assert elapsed < LONG / 3  # not the timeout: the error came back at once


@pytest.mark.parametrize("timeout", [None, LONG])
def test_sync_hook_stop_iteration_under_trigger_async_is_the_hook_error(timeout):
    def failing(data):
        raise StopIteration

    async def also_async(data):  # forces the general async runner
        return data + 10

    reg = HookRegistry()
    reg.set_error_strategy("collect_all")
    reg.register("e", failing, timeout=timeout)
    reg.register("e", also_async, priority=10)
    result, errors, _ = run_collect(reg, "e", 1)
    assert result == 11
    assert len(errors) == 1 and type(errors[0]["error"]) is StopIteration


def test_fail_fast_chains_the_hooks_own_error():
    def failing(data):
        raise StopIteration("x")

    reg = HookRegistry()
    reg.set_error_strategy("fail_fast")
    reg.register("e", failing, timeout=LONG)
    with pytest.raises(HookError) as info:
        asyncio.run(reg.trigger_async("e", 1))
    assert type(info.value.__cause__) is StopIteration


def test_async_hooks_own_timeout_error_is_an_error_not_a_timeout():
    async def own_timeout(data):
        raise TimeoutError("the database timed out")

    reg = HookRegistry()
    reg.set_error_strategy("collect_all")
    reg.register("e", own_timeout, timeout=LONG)
    result, errors, elapsed = run_collect(reg, "e", 1)
    assert result == 1
    assert len(errors) == 1
    error = errors[0]["error"]
    assert type(error) is TimeoutError and not isinstance(error, HookTimeoutError)
    assert str(error) == "the database timed out"
    assert elapsed < LONG / 3


def test_sync_hooks_own_timeout_error_is_an_error_not_a_timeout():
    def own_timeout(data):
        raise TimeoutError("socket timed out")

    reg = HookRegistry()
    reg.set_error_strategy("collect_all")
    reg.register("e", own_timeout, timeout=LONG)
    _, errors, _ = run_collect(reg, "e", 1)
    assert [type(e["error"]) for e in errors] == [TimeoutError]


def test_our_timeout_is_still_a_hook_timeout_error():
    async def slow(data):
        await asyncio.sleep(LONG)

    def slow_sync(data):
        time.sleep(0.5)

    reg = HookRegistry()
    reg.set_error_strategy("collect_all")
    reg.register("e", slow, timeout=0.05)
    reg.register("e", slow_sync, timeout=0.05)
    result, errors, elapsed = run_collect(reg, "e", 1)
    assert result == 1
    assert [type(e["error"]) for e in errors] == [HookTimeoutError, HookTimeoutError]
    assert elapsed < LONG / 3


def test_timed_sync_hook_value_comes_back():
    reg = HookRegistry()
    reg.register("e", lambda d: d * 3, timeout=LONG)
    reg.register("e", lambda d: None, timeout=LONG, priority=10)  # None keeps the data
    result, errors, _ = run_collect(reg, "e", 2)
    assert result == 6 and errors == []


@pytest.mark.parametrize("mode", ["collect", "first"])
def test_declared_modes_report_the_hooks_own_error_under_trigger_async(mode):
    from nitro_dispatch import PluginManager

    def failing(data):
        raise StopIteration("own")

    async def answer(data):
        return data + 1

    manager = PluginManager()
    manager.declare_event("e", mode=mode)
    manager.set_error_strategy("collect_all")
    manager.register_hook("e", failing, priority=90, timeout=LONG)
    manager.register_hook("e", answer, priority=10)

    async def go():
        return await manager.trigger_async("e", 1), manager.get_last_errors()

    result, errors = asyncio.run(go())
    assert result == ([2] if mode == "collect" else 2)
    assert len(errors) == 1 and type(errors[0]["error"]) is StopIteration
