"""Hook timeouts (SPEC section 2): the caller regains control at the
timeout, async hooks are cancelled, sync hooks run on one lazily created
shared pool that stuck hooks cannot exhaust, and context variables reach
the worker.

Stuck hooks wait on an Event that the ``release`` fixture sets at the end of
each test, so no worker outlives its test by more than a moment.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, List

import pytest

from nitro_dispatch import (HookError, HookRegistry, HookTimeoutError, PluginBase,
                            PluginManager, StopPropagation, hook)

REPO = Path(__file__).resolve().parent.parent
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


def stuck(release: threading.Event, seconds: float = 2.0) -> Callable[[Any], Any]:
    """A sync hook that 'sleeps' ``seconds`` unless released earlier."""

    def sleeper(data: Any) -> Any:
        release.wait(seconds)
        return "too late"

    return sleeper


class Watcher(PluginBase):
    name = "watcher"

    def __init__(self) -> None:
        super().__init__()
        self.errors: List[BaseException] = []

    def on_error(self, error: Exception) -> None:
        self.errors.append(error)


# -- timed hooks that finish in time ---------------------------------------

def test_timed_sync_hook_result_is_used() -> None:
    reg = HookRegistry()
    reg.register("ev", lambda d: d + ["timed"], timeout=5.0, priority=90)
    reg.register("ev", lambda d: d + ["plain"], priority=10)
    assert reg.trigger("ev", []) == ["timed", "plain"]
    assert asyncio.run(reg.trigger_async("ev", [])) == ["timed", "plain"]


def test_timed_async_hook_result_is_used() -> None:
    reg = HookRegistry()

    async def quick(data: List[str]) -> List[str]:
        await asyncio.sleep(0)
        return data + ["quick"]

    reg.register("ev", quick, timeout=5.0)
    assert asyncio.run(reg.trigger_async("ev", [])) == ["quick"]


def test_timed_hook_returning_none_keeps_data() -> None:
    reg = HookRegistry()
    reg.register("ev", lambda d: None, timeout=5.0)
    payload = {"x": 1}
    assert reg.trigger("ev", payload) is payload


def test_timed_hook_exception_keeps_its_own_type_under_fail_fast() -> None:
    reg = HookRegistry()
    reg.set_error_strategy("fail_fast")

    def broken(data: Any) -> Any:
        raise LookupError("inside the worker")

    reg.register("ev", broken, timeout=5.0)
    with pytest.raises(HookError) as info:
        reg.trigger("ev", 1)
    assert type(info.value.__cause__) is LookupError


def test_stop_propagation_from_timed_hook_stops_chain() -> None:
    reg = HookRegistry()
    ran: List[str] = []

    def stopper(data: Any) -> None:
        raise StopPropagation()

    reg.register("ev", lambda d: d + ["first"], priority=90)
    reg.register("ev", stopper, timeout=5.0, priority=50)
    reg.register("ev", lambda d: ran.append("late"), priority=10)
    assert reg.trigger("ev", []) == ["first"]
    assert ran == []


# -- the caller regains control ----------------------------------------------

def test_sync_hook_over_its_timeout_returns_control_at_the_timeout(
        release: threading.Event) -> None:
    reg = HookRegistry()
    later: List[Any] = []
    reg.register("ev", lambda d: d + ["before"], priority=90)
    reg.register("ev", stuck(release, 2.0), timeout=0.2, priority=50)
    reg.register("ev", lambda d: later.append(list(d)), priority=10)
    started = time.monotonic()
    result = reg.trigger("ev", [])
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, "trigger waited %.2fs for a hook with timeout=0.2" % elapsed
    assert elapsed >= 0.15
    assert result == ["before"]  # log_and_continue: data as before the hook
    assert later == [["before"]]


def test_sync_timed_hook_in_trigger_async_does_not_block_the_loop(
        release: threading.Event) -> None:
    reg = HookRegistry()
    reg.register("ev", stuck(release, 2.0), timeout=0.3)

    async def main() -> Any:
        ticks = 0
        stop = False

        async def ticker() -> None:
            nonlocal ticks
            while not stop:
                ticks += 1
                await asyncio.sleep(0.01)

        tick_task = asyncio.ensure_future(ticker())
        started = time.monotonic()
        result = await reg.trigger_async("ev", "data")
        elapsed = time.monotonic() - started
        stop = True
        await tick_task
        return result, elapsed, ticks

    result, elapsed, ticks = asyncio.run(main())
    assert result == "data"
    assert elapsed < 1.0
    assert ticks >= 5, "the event loop was blocked while the sync hook ran"


def test_async_hook_is_cancelled_at_its_timeout() -> None:
    reg = HookRegistry()
    reg.set_error_strategy("collect_all")
    state: List[str] = []

    async def slow(data: Any) -> Any:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            state.append("cancelled")
            raise
        return "too late"

    reg.register("ev", slow, timeout=0.2)
    reg.register("ev", lambda d: d + "!", priority=0)

    async def main() -> Any:
        started = time.monotonic()
        result = await reg.trigger_async("ev", "data")
        elapsed = time.monotonic() - started
        await asyncio.sleep(0)
        return result, elapsed, list(state), reg.get_last_errors()

    result, elapsed, seen_state, errors = asyncio.run(main())
    assert result == "data!"
    assert elapsed < 1.0
    assert seen_state == ["cancelled"]
    assert len(errors) == 1 and isinstance(errors[0]["error"], HookTimeoutError)
    assert errors[0]["event"] == "ev"


# -- timeouts through the error strategies ------------------------------------

def test_timeout_under_fail_fast_raises_hook_error_caused_by_timeout(
        release: threading.Event) -> None:
    reg = HookRegistry()
    reg.set_error_strategy("fail_fast")
    reg.register("report.build", stuck(release), plugin=Watcher(), timeout=0.1)
    with pytest.raises(HookError) as info:
        reg.trigger("report.build", None)
    assert isinstance(info.value.__cause__, HookTimeoutError)
    assert "report.build" in str(info.value) and "watcher" in str(info.value)


def test_timeout_under_collect_all_is_returned_by_get_last_errors(
        release: threading.Event) -> None:
    reg = HookRegistry()
    reg.set_error_strategy("collect_all")
    reg.register("ev", stuck(release), plugin=Watcher(), timeout=0.1)
    reg.register("ev", lambda d: d + 1, priority=0)
    assert reg.trigger("ev", 1) == 2
    errors = reg.get_last_errors()
    assert len(errors) == 1
    assert isinstance(errors[0]["error"], HookTimeoutError)
    assert errors[0]["plugin"] == "watcher" and errors[0]["event"] == "ev"


def test_timeout_calls_on_error_and_fires_error_event(release: threading.Event) -> None:
    reg = HookRegistry()
    plugin = Watcher()
    payloads: List[Any] = []
    reg.register("nitro.plugin.error", payloads.append)
    reg.register("ev", stuck(release), plugin=plugin, timeout=0.1)
    reg.trigger("ev", 0)
    assert [type(e) for e in plugin.errors] == [HookTimeoutError]
    assert len(payloads) == 1 and payloads[0]["plugin_name"] == "watcher"
    assert isinstance(payloads[0]["error"], HookTimeoutError)


class SlowPlugin(PluginBase):
    name = "slow_plugin"

    @hook("render", timeout=0.1)
    def render(self, data: Any) -> Any:
        self.gate.wait(2.0)
        return "late"

    gate = threading.Event()


def test_hook_decorator_timeout_applies_to_plugin_methods() -> None:
    manager = PluginManager()
    manager.set_error_strategy("collect_all")
    manager.register(SlowPlugin)
    manager.load("slow_plugin")
    try:
        assert manager.trigger("render", "page") == "page"
        errors = manager.get_last_errors()
        assert [type(e["error"]) for e in errors] == [HookTimeoutError]
        assert errors[0]["plugin"] == "slow_plugin"
    finally:
        SlowPlugin.gate.set()


# -- the shared pool -------------------------------------------------------------

def test_stuck_hooks_do_not_starve_later_timed_hooks(release: threading.Event) -> None:
    reg = HookRegistry()
    reg.register("stuck", stuck(release, 5.0), timeout=0.3)
    reg.register("quick", lambda d: d * 2, timeout=2.0)
    outcomes: List[Any] = []
    lock = threading.Lock()

    def caller() -> None:
        try:
            value = reg.trigger("stuck", "unchanged")
        except BaseException as exc:  # reported below
            value = exc
        with lock:
            outcomes.append(value)

    # More stuck hooks than any fixed default pool size (min(32, cpus + 4)).
    threads = [threading.Thread(target=caller) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert outcomes == ["unchanged"] * 40
    # All 40 workers are still stuck; a new timed hook must still run at once.
    assert reg.trigger("quick", 21) == 42


def test_context_variables_reach_the_worker_of_a_timed_sync_hook() -> None:
    reg = HookRegistry()
    reg.register("ev", lambda d: request_id.get("missing"), timeout=5.0)

    def scenario() -> Any:
        request_id.set("req-42")
        sync_result = reg.trigger("ev", None)
        async_result = asyncio.run(reg.trigger_async("ev", None))
        return sync_result, async_result

    assert contextvars.copy_context().run(scenario) == ("req-42", "req-42")


def test_context_variables_reach_timed_async_hooks() -> None:
    reg = HookRegistry()

    async def read(data: Any) -> Any:
        return request_id.get("missing")

    reg.register("ev", read, timeout=5.0)

    async def main() -> Any:
        request_id.set("req-7")
        return await reg.trigger_async("ev")

    assert asyncio.run(main()) == "req-7"


POOL_SCRIPT = r"""
import threading
from nitro_dispatch import HookRegistry

def plain(d):
    return d

a, b = HookRegistry(), HookRegistry()
a.register("plain", plain)
a.trigger("plain", 0)
print("threads_before", threading.active_count())

workers = set()

def timed(d):
    workers.add(threading.current_thread())
    return d + 1

a.register("timed", timed, timeout=5)
b.register("timed", timed, timeout=5)
for i in range(40):
    assert a.trigger("timed", i) == i + 1
    assert b.trigger("timed", i) == i + 1
print("distinct_workers", len(workers))
print("main_used", threading.main_thread() in workers)
"""


def test_timed_hooks_share_one_lazily_created_pool() -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", POOL_SCRIPT], cwd=str(REPO), env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    values = dict(line.split() for line in proc.stdout.splitlines())
    assert values["threads_before"] == "1", "a worker thread exists before any timed hook"
    assert values["main_used"] == "False", "timed sync hooks must run off the caller thread"
    # 80 timed calls from two registries reuse a handful of shared workers
    assert 1 <= int(values["distinct_workers"]) <= 4, values
