"""Hook errors: exception hierarchy, StopPropagation, on_error, the
``nitro.plugin.error`` event and the three error strategies (SPEC 1, 2)."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, Dict, List

import pytest

import nitro_dispatch
from nitro_dispatch import (DependencyError, HookError, HookRegistry, HookTimeoutError,
                            NitroPluginError, PluginBase, PluginLoadError, PluginManager,
                            StopPropagation)

ERROR_EVENT = "nitro.plugin.error"


class Boom(Exception):
    """The error our failing hooks raise."""


class Recorder(PluginBase):
    """A plugin that remembers what on_error received."""

    name = "recorder"

    def __init__(self) -> None:
        super().__init__()
        self.errors: List[BaseException] = []

    def on_error(self, error: Exception) -> None:
        self.errors.append(error)


class FaultyOnError(PluginBase):
    name = "faulty_on_error"

    def on_error(self, error: Exception) -> None:
        raise RuntimeError("on_error itself broke")


def fail(data: Any) -> Any:
    raise Boom("hook failed on %r" % (data,))


def nitro_records(caplog: pytest.LogCaptureFixture, level: int) -> List[logging.LogRecord]:
    return [r for r in caplog.records
            if (r.name == "nitro_dispatch" or r.name.startswith("nitro_dispatch."))
            and r.levelno >= level]


# -- hierarchy ---------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "PluginLoadError", "PluginRegistrationError", "PluginNotFoundError",
    "PluginDiscoveryError", "DependencyError", "HookError", "HookTimeoutError",
    "ValidationError", "StopPropagation",
])
def test_every_exception_derives_from_nitro_plugin_error(name: str) -> None:
    cls = getattr(nitro_dispatch, name)
    assert issubclass(cls, NitroPluginError)
    assert issubclass(NitroPluginError, Exception)


def test_dependency_error_is_a_plugin_load_error() -> None:
    assert issubclass(DependencyError, PluginLoadError)


# -- StopPropagation ----------------------------------------------------------

@pytest.mark.parametrize("strategy", ["log_and_continue", "fail_fast", "collect_all"])
def test_stop_propagation_ends_chain_and_returns_data_as_it_stood(strategy: str) -> None:
    reg = HookRegistry()
    reg.set_error_strategy(strategy)
    ran: List[str] = []

    def stopper(data: List[str]) -> None:
        ran.append("stopper")
        raise StopPropagation()

    def later(data: List[str]) -> List[str]:
        ran.append("later")
        return data + ["later"]

    reg.register("ev", lambda d: d + ["first"], priority=90)
    reg.register("ev", stopper, priority=50)
    reg.register("ev", later, priority=10)
    assert reg.trigger("ev", []) == ["first"]
    assert ran == ["stopper"]


@pytest.mark.parametrize("strategy", ["log_and_continue", "fail_fast", "collect_all"])
def test_stop_propagation_is_not_an_error(strategy: str,
                                          caplog: pytest.LogCaptureFixture) -> None:
    reg = HookRegistry()
    reg.set_error_strategy(strategy)
    plugin = Recorder()
    events: List[Any] = []
    reg.register(ERROR_EVENT, events.append)

    def stopper(data: Any) -> None:
        raise StopPropagation("enough")

    reg.register("ev", stopper, plugin=plugin)
    with caplog.at_level(logging.DEBUG, logger="nitro_dispatch"):
        assert reg.trigger("ev", "data") == "data"
    assert plugin.errors == []
    assert events == []
    assert reg.get_last_errors() == []
    assert nitro_records(caplog, logging.ERROR) == []


def test_stop_propagation_from_first_hook_returns_input() -> None:
    reg = HookRegistry()
    payload = {"a": 1}

    def stopper(data: Any) -> None:
        raise StopPropagation

    reg.register("ev", stopper)
    reg.register("ev", lambda d: {"changed": True}, priority=0)
    assert reg.trigger("ev", payload) is payload


# -- on_error and nitro.plugin.error -----------------------------------------

def test_failing_hook_calls_on_error_of_its_plugin() -> None:
    reg = HookRegistry()
    plugin = Recorder()
    reg.register("ev", fail, plugin=plugin)
    reg.trigger("ev", 1)
    assert len(plugin.errors) == 1
    assert isinstance(plugin.errors[0], Boom)


def test_failing_hook_fires_plugin_error_event_on_registry() -> None:
    reg = HookRegistry()
    plugin = Recorder()
    payloads: List[Dict[str, Any]] = []
    reg.register(ERROR_EVENT, payloads.append)
    reg.register("ev", fail, plugin=plugin)
    reg.trigger("ev", 1)
    assert len(payloads) == 1
    assert payloads[0]["plugin_name"] == "recorder"
    assert isinstance(payloads[0]["error"], Boom)
    assert payloads[0]["error"] is plugin.errors[0]


def test_failing_hook_without_plugin_fires_plugin_error_event() -> None:
    reg = HookRegistry()
    payloads: List[Dict[str, Any]] = []
    reg.register(ERROR_EVENT, payloads.append)
    reg.register("ev", fail)
    reg.trigger("ev", 1)
    assert len(payloads) == 1
    assert payloads[0]["plugin_name"] is None
    assert isinstance(payloads[0]["error"], Boom)


class Crasher(PluginBase):
    name = "crasher"

    def __init__(self) -> None:
        super().__init__()
        self.errors: List[BaseException] = []

    @nitro_dispatch.hook("order.placed", priority=60)
    def explode(self, data: Any) -> Any:
        raise Boom("crasher exploded")

    def on_error(self, error: Exception) -> None:
        self.errors.append(error)


def test_manager_plugin_hook_error_calls_on_error_and_fires_error_event() -> None:
    manager = PluginManager()
    payloads: List[Dict[str, Any]] = []
    manager.register_hook(PluginManager.EVENT_PLUGIN_ERROR, payloads.append)
    manager.register(Crasher)
    plugin = manager.load("crasher")
    assert manager.trigger("order.placed", {"id": 7}) == {"id": 7}
    assert [type(e) for e in plugin.errors] == [Boom]
    hook_payloads = [p for p in payloads if p.get("error") is plugin.errors[0]]
    assert len(hook_payloads) == 1
    assert hook_payloads[0]["plugin_name"] == "crasher"


def test_error_inside_on_error_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    reg = HookRegistry()
    reg.register("ev", fail, plugin=FaultyOnError(), priority=90)
    reg.register("ev", lambda d: d + ["after"], priority=10)
    with caplog.at_level(logging.DEBUG, logger="nitro_dispatch"):
        assert reg.trigger("ev", []) == ["after"]
    logged = [r for r in nitro_records(caplog, logging.WARNING)
              if r.getMessage().startswith("on_error of hook fail")]
    assert len(logged) == 1
    assert logged[0].levelno == logging.ERROR
    assert logged[0].getMessage().endswith("raised RuntimeError: on_error itself broke")


def test_error_inside_on_error_under_fail_fast_raises_the_hook_error_only() -> None:
    reg = HookRegistry()
    reg.set_error_strategy("fail_fast")
    reg.register("ev", fail, plugin=FaultyOnError())
    with pytest.raises(HookError) as info:
        reg.trigger("ev", 1)
    assert isinstance(info.value.__cause__, Boom)


def test_error_inside_error_event_handler_is_logged_not_raised_nor_recursive(
        caplog: pytest.LogCaptureFixture) -> None:
    reg = HookRegistry()
    calls: List[Any] = []

    def bad_handler(payload: Dict[str, Any]) -> None:
        calls.append(payload)
        raise RuntimeError("error handler broke")

    reg.register(ERROR_EVENT, bad_handler)
    reg.register("ev", fail)
    reg.register("ev", lambda d: d + 1, priority=0)
    with caplog.at_level(logging.DEBUG, logger="nitro_dispatch"):
        assert reg.trigger("ev", 1) == 2
    assert len(calls) == 1
    logged = [r.getMessage() for r in nitro_records(caplog, logging.WARNING)
              if "error handler broke" in r.getMessage()]
    assert logged == ["hook test_error_inside_error_event_handler_is_logged_not_raised_nor_"
                      "recursive.<locals>.bad_handler failed on event 'nitro.plugin.error': "
                      "RuntimeError: error handler broke"]


def test_failing_catch_all_hook_does_not_recurse_through_error_event() -> None:
    reg = HookRegistry()
    calls: List[Any] = []

    def everything(data: Any) -> None:
        calls.append(data)
        raise Boom("catch-all broke")

    reg.register("*", everything)
    assert reg.trigger("some.event", "x") == "x"
    # once for the event, at most once more for the error event it caused
    assert 1 <= len(calls) <= 2


def test_fail_fast_with_failing_error_handler_still_raises_hook_error() -> None:
    reg = HookRegistry()
    reg.set_error_strategy("fail_fast")

    def bad_handler(payload: Any) -> None:
        raise RuntimeError("handler broke")

    reg.register(ERROR_EVENT, bad_handler)
    reg.register("ev", fail)
    with pytest.raises(HookError) as info:
        reg.trigger("ev", 1)
    assert isinstance(info.value.__cause__, Boom)


# -- log_and_continue ------------------------------------------------------------

def test_log_and_continue_is_the_default(caplog: pytest.LogCaptureFixture) -> None:
    reg = HookRegistry()
    reg.register("ev", fail)
    with caplog.at_level(logging.DEBUG, logger="nitro_dispatch"):
        assert reg.trigger("ev", 5) == 5
    assert nitro_records(caplog, logging.WARNING), "the hook error should be logged"


def test_log_and_continue_goes_on_with_data_before_failing_hook(
        caplog: pytest.LogCaptureFixture) -> None:
    reg = HookRegistry()
    reg.set_error_strategy("log_and_continue")
    received: List[Any] = []

    def failing(data: List[str]) -> List[str]:
        raise Boom("mid-chain")

    def last(data: List[str]) -> List[str]:
        received.append(list(data))
        return data + ["last"]

    reg.register("ev", lambda d: d + ["first"], priority=90)
    reg.register("ev", failing, priority=50)
    reg.register("ev", last, priority=10)
    with caplog.at_level(logging.DEBUG, logger="nitro_dispatch"):
        assert reg.trigger("ev", []) == ["first", "last"]
    assert received == [["first"]]
    logged = nitro_records(caplog, logging.WARNING)
    assert any("ev" in r.getMessage() for r in logged)


# -- fail_fast -----------------------------------------------------------------

def test_fail_fast_raises_hook_error_chained_to_cause_naming_event_and_plugin() -> None:
    reg = HookRegistry()
    reg.set_error_strategy("fail_fast")
    later: List[Any] = []
    reg.register("invoice.created", fail, plugin=Recorder(), priority=90)
    reg.register("invoice.created", later.append, priority=10)
    with pytest.raises(HookError) as info:
        reg.trigger("invoice.created", 3)
    assert isinstance(info.value.__cause__, Boom)
    assert "invoice.created" in str(info.value)
    assert "recorder" in str(info.value)
    assert isinstance(info.value, NitroPluginError)
    assert later == []


def test_fail_fast_still_calls_on_error_before_raising() -> None:
    reg = HookRegistry()
    reg.set_error_strategy("fail_fast")
    plugin = Recorder()
    reg.register("ev", fail, plugin=plugin)
    with pytest.raises(HookError):
        reg.trigger("ev", 1)
    assert [type(e) for e in plugin.errors] == [Boom]


def test_fail_fast_on_manager() -> None:
    manager = PluginManager()
    manager.set_error_strategy("fail_fast")
    manager.register(Crasher)
    manager.load("crasher")
    with pytest.raises(HookError) as info:
        manager.trigger("order.placed", {})
    assert isinstance(info.value.__cause__, Boom)
    assert "order.placed" in str(info.value) and "crasher" in str(info.value)


def test_fail_fast_on_trigger_async() -> None:
    reg = HookRegistry()
    reg.set_error_strategy("fail_fast")

    async def afail(data: Any) -> Any:
        raise Boom("async failure")

    reg.register("job.run", afail, plugin=Recorder())
    with pytest.raises(HookError) as info:
        asyncio.run(reg.trigger_async("job.run", 1))
    assert isinstance(info.value.__cause__, Boom)
    assert "job.run" in str(info.value) and "recorder" in str(info.value)


# -- collect_all ---------------------------------------------------------------

def test_collect_all_runs_every_hook_and_returns_errors() -> None:
    reg = HookRegistry()
    reg.set_error_strategy("collect_all")
    plugin = Recorder()
    ran: List[str] = []

    def second_fail(data: Any) -> Any:
        ran.append("second_fail")
        raise ValueError("second")

    reg.register("ev", fail, plugin=plugin, priority=90)
    reg.register("ev", lambda d: d + ["ok"], priority=50)
    reg.register("ev", second_fail, priority=40)
    reg.register("ev", lambda d: d + ["end"], priority=10)
    assert reg.trigger("ev", []) == ["ok", "end"]
    assert ran == ["second_fail"]
    errors = reg.get_last_errors()
    assert [set(e) for e in errors] == [{"plugin", "error", "event"}] * 2
    assert [e["plugin"] for e in errors] == ["recorder", None]
    assert [type(e["error"]) for e in errors] == [Boom, ValueError]
    assert [e["event"] for e in errors] == ["ev", "ev"]
    assert errors[0]["error"] is plugin.errors[0]


def test_collect_all_errors_reset_on_next_trigger() -> None:
    reg = HookRegistry()
    reg.set_error_strategy("collect_all")
    reg.register("bad", fail)
    reg.register("good", lambda d: d)
    assert reg.get_last_errors() == []
    reg.trigger("bad", 1)
    assert len(reg.get_last_errors()) == 1
    reg.trigger("good", 1)
    assert reg.get_last_errors() == []


def test_collect_all_get_last_errors_returns_a_copy() -> None:
    reg = HookRegistry()
    reg.set_error_strategy("collect_all")
    reg.register("bad", fail)
    reg.trigger("bad", 1)
    reg.get_last_errors().clear()
    assert len(reg.get_last_errors()) == 1


def test_collect_all_on_manager() -> None:
    manager = PluginManager()
    manager.set_error_strategy("collect_all")
    manager.register(Crasher)
    manager.load("crasher")
    manager.register_hook("order.placed", lambda d: dict(d, ok=True), priority=10)
    assert manager.trigger("order.placed", {}) == {"ok": True}
    errors = manager.get_last_errors()
    assert len(errors) == 1
    assert errors[0]["plugin"] == "crasher"
    assert errors[0]["event"] == "order.placed"
    assert isinstance(errors[0]["error"], Boom)


def test_collect_all_errors_are_per_thread() -> None:
    reg = HookRegistry()
    reg.set_error_strategy("collect_all")
    for i in range(4):
        reg.register("ev%d" % i, fail)
    reg.register("clean", lambda d: d)
    barrier = threading.Barrier(4)
    results: Dict[int, List[str]] = {}
    problems: List[BaseException] = []

    def worker(i: int) -> None:
        try:
            event = "ev%d" % i if i != 3 else "clean"
            reg.trigger(event, i)
            barrier.wait(timeout=5)  # every thread has triggered before anyone reads
            results[i] = [e["event"] for e in reg.get_last_errors()]
        except BaseException as exc:  # reported below
            problems.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert problems == []
    assert results == {0: ["ev0"], 1: ["ev1"], 2: ["ev2"], 3: []}
    assert reg.get_last_errors() == []  # the main thread triggered nothing


def test_collect_all_errors_are_per_asyncio_task() -> None:
    reg = HookRegistry()
    reg.set_error_strategy("collect_all")

    async def afail(data: Any) -> Any:
        await asyncio.sleep(0)
        raise Boom("task %s" % data)

    reg.register("a", afail)
    reg.register("b", afail)
    reg.register("b", fail)
    reg.register("c", lambda d: d)

    async def task(event: str, gate: asyncio.Event) -> List[str]:
        await reg.trigger_async(event, event)
        await gate.wait()  # read after the other tasks triggered
        return ["%s:%s" % (e["event"], type(e["error"]).__name__)
                for e in reg.get_last_errors()]

    async def main() -> List[List[str]]:
        gate = asyncio.Event()
        tasks = [asyncio.ensure_future(task(ev, gate)) for ev in ("a", "b", "c")]
        for _ in range(5):
            await asyncio.sleep(0)
        gate.set()
        return list(await asyncio.gather(*tasks))

    assert asyncio.run(main()) == [["a:Boom"], ["b:Boom", "b:Boom"], []]


def test_collect_all_with_sync_trigger_in_async_code_is_per_task() -> None:
    reg = HookRegistry()
    reg.set_error_strategy("collect_all")
    reg.register("bad", fail)
    reg.register("good", lambda d: d)

    async def task(event: str, gate: asyncio.Event) -> int:
        reg.trigger(event, 0)
        await gate.wait()
        return len(reg.get_last_errors())

    async def main() -> List[int]:
        gate = asyncio.Event()
        tasks = [asyncio.ensure_future(task(ev, gate)) for ev in ("bad", "good", "bad")]
        for _ in range(3):
            await asyncio.sleep(0)
        gate.set()
        return list(await asyncio.gather(*tasks))

    assert asyncio.run(main()) == [1, 0, 1]


# -- choosing a strategy -------------------------------------------------------

@pytest.mark.parametrize("target", ["registry", "manager"])
def test_unknown_error_strategy_raises_value_error_and_keeps_current(target: str) -> None:
    dispatcher: Any = HookRegistry() if target == "registry" else PluginManager()
    dispatcher.set_error_strategy("fail_fast")
    with pytest.raises(ValueError) as info:
        dispatcher.set_error_strategy("bogus")
    assert "bogus" in str(info.value)
    register = dispatcher.register if target == "registry" else dispatcher.register_hook
    register("ev", fail)
    with pytest.raises(HookError):
        dispatcher.trigger("ev", 1)


def test_strategy_change_after_trigger_applies_to_next_trigger() -> None:
    reg = HookRegistry()
    reg.register("ev", fail)
    reg.register("ev", lambda d: d + 1, priority=0)
    assert reg.trigger("ev", 1) == 2
    reg.set_error_strategy("fail_fast")
    with pytest.raises(HookError):
        reg.trigger("ev", 1)
    reg.set_error_strategy("collect_all")
    assert reg.trigger("ev", 1) == 2
    assert len(reg.get_last_errors()) == 1
    reg.set_error_strategy("log_and_continue")
    assert reg.trigger("ev", 1) == 2


def test_hook_timeout_error_is_a_nitro_error_not_a_stop_signal() -> None:
    assert issubclass(HookTimeoutError, NitroPluginError)
    assert not issubclass(HookTimeoutError, StopPropagation)
