"""Wrapper hooks: generators around the rest of an event's chain, nesting
by priority, seeing exceptions, replacing results, and refused or failing
when they do not yield exactly once (SPEC section 9)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any, Generator, List

import pytest

from nitro_dispatch import (HookError, HookRegistry, PluginBase, PluginLoadError, PluginManager,
                            StopPropagation, ValidationError, hook)

Gen = Generator[Any, Any, Any]


def run(manager: PluginManager, event: str, data: Any, use_async: bool) -> Any:
    if use_async:
        return asyncio.run(manager.trigger_async(event, data))
    return manager.trigger(event, data)


def tracer(log: List[str], name: str, replace: Any = None) -> Any:
    def wrapper(data: Any) -> Gen:
        log.append("%s before %r" % (name, data))
        result = yield
        log.append("%s after %r" % (name, result))
        return replace
    return wrapper


@pytest.mark.parametrize("use_async", [False, True])
@pytest.mark.parametrize("mode, expected_inner", [("chain", "d+h"), ("collect", ["h"]),
                                                  ("first", "h")])
def test_wrappers_nest_by_priority_around_the_chain(use_async: bool, mode: str,
                                                    expected_inner: Any) -> None:
    m = PluginManager()
    m.declare_event("e", mode=mode)
    log: List[str] = []

    def plain(data: Any) -> Any:
        log.append("hook")
        return data + "+h" if mode == "chain" else "h"

    m.register_hook("e", plain, priority=100)  # priorities order wrappers apart from hooks
    m.register_hook("e", tracer(log, "inner"), priority=10, wrapper=True)
    m.register_hook("e", tracer(log, "outer"), priority=90, wrapper=True)
    assert run(m, "e", "d", use_async) == expected_inner
    assert log == ["outer before 'd'", "inner before 'd'", "hook",
                   "inner after %r" % (expected_inner,), "outer after %r" % (expected_inner,)]


@pytest.mark.parametrize("use_async", [False, True])
def test_a_wrapper_return_value_replaces_the_result(use_async: bool) -> None:
    m = PluginManager()
    m.declare_event("menu", mode="collect")
    log: List[str] = []
    m.register_hook("menu", lambda d: "entry")

    def sort_entries(data: Any) -> Gen:
        entries = yield
        return sorted(entries + ["b-extra", "a-extra"])

    m.register_hook("menu", sort_entries, wrapper=True, priority=10)
    m.register_hook("menu", tracer(log, "outer"), wrapper=True, priority=90)
    assert run(m, "menu", None, use_async) == ["a-extra", "b-extra", "entry"]
    assert log[-1] == "outer after ['a-extra', 'b-extra', 'entry']"


def test_a_yielded_value_replaces_the_data_of_the_inner_hooks() -> None:
    m = PluginManager()
    seen: List[Any] = []
    m.register_hook("e", lambda d: seen.append(d))

    def normalize(data: str) -> Gen:
        yield data.lower()

    m.register_hook("e", normalize, wrapper=True)
    assert m.trigger("e", "ABC") == "abc"
    assert seen == ["abc"]


@pytest.mark.parametrize("use_async", [False, True])
def test_a_wrapper_sees_the_exception_of_the_chain_and_may_replace_it(use_async: bool) -> None:
    m = PluginManager()
    m.declare_event("e", mode="first")
    m.set_error_strategy("fail_fast")
    seen: List[BaseException] = []

    def broken(data: Any) -> Any:
        raise KeyError("missing")

    def fallback(data: Any) -> Gen:
        try:
            yield
        except HookError as exc:
            seen.append(exc)
            return "fallback"
        return None

    def outer(data: Any) -> Gen:
        result = yield
        return "outer saw %s" % (result,)

    m.register_hook("e", broken)
    m.register_hook("e", fallback, wrapper=True, priority=10)
    m.register_hook("e", outer, wrapper=True, priority=90)
    assert run(m, "e", 0, use_async) == "outer saw fallback"
    assert isinstance(seen[0].__cause__, KeyError)


@pytest.mark.parametrize("use_async", [False, True])
def test_an_exception_a_wrapper_does_not_catch_passes_through_to_the_caller(
        use_async: bool) -> None:
    m = PluginManager()
    m.set_error_strategy("fail_fast")
    finished: List[str] = []

    def cleanup(data: Any) -> Gen:
        try:
            yield
        finally:
            finished.append("cleanup")

    m.register_hook("e", lambda d: 1 / 0)
    m.register_hook("e", cleanup, wrapper=True)
    with pytest.raises(HookError) as info:
        run(m, "e", 0, use_async)
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert finished == ["cleanup"]


def test_a_swallowed_exception_gives_the_modes_empty_result() -> None:
    m = PluginManager()
    m.declare_event("menu", mode="collect")
    m.set_error_strategy("fail_fast")

    def swallow(data: Any) -> Gen:
        try:
            yield
        except HookError:
            pass

    m.register_hook("menu", lambda d: 1 / 0)
    m.register_hook("menu", swallow, wrapper=True)
    assert m.trigger("menu", 0) == []


def test_stop_propagation_in_the_chain_is_a_result_for_the_wrappers() -> None:
    m = PluginManager()
    log: List[str] = []

    def stop(data: Any) -> Any:
        raise StopPropagation(result="stopped")

    m.register_hook("e", stop)
    m.register_hook("e", tracer(log, "w"), wrapper=True)
    assert m.trigger("e", "d") == "stopped"
    assert log == ["w before 'd'", "w after 'stopped'"]


def test_stop_propagation_before_the_yield_skips_the_inner_part() -> None:
    m = PluginManager()
    m.declare_event("e", mode="collect")
    log: List[str] = []

    def gate(data: Any) -> Gen:
        if data == "blocked":
            raise StopPropagation(result=["blocked"])
        yield

    m.register_hook("e", lambda d: log.append("hook") or "h")
    m.register_hook("e", gate, wrapper=True, priority=10)
    m.register_hook("e", tracer(log, "outer"), wrapper=True, priority=90)
    assert m.trigger("e", "blocked") == ["blocked"]
    assert log == ["outer before 'blocked'", "outer after ['blocked']"]
    assert m.trigger("e", "ok") == ["h"]


# -- bad wrappers ------------------------------------------------------------------------


def test_a_wrapper_must_be_a_generator_function() -> None:
    m = PluginManager()

    def not_a_generator(data: Any) -> None:
        return None

    with pytest.raises(ValidationError, match="hook .*not_a_generator for event 'e' is not a "
                                              "generator function"):
        m.register_hook("e", not_a_generator, wrapper=True)

    async def agen(data: Any) -> Any:
        yield

    with pytest.raises(ValidationError, match="not a generator function"):
        m.register_hook("e", agen, wrapper=True)

    def gen(data: Any) -> Gen:
        yield

    with pytest.raises(ValidationError, match="cannot have a timeout"):
        m.register_hook("e", gen, wrapper=True, timeout=1.0)
    assert m.get_events() == []


def test_a_wrapper_needs_the_data_parameter() -> None:
    def gen() -> Gen:
        yield

    with pytest.raises(ValidationError, match="hook .*gen for event 'e' cannot take the"):
        HookRegistry().register("e", gen, wrapper=True)


@pytest.mark.parametrize("use_async", [False, True])
def test_wrappers_that_do_not_yield_exactly_once_fail_like_hooks(use_async: bool,
                                                                 caplog: Any) -> None:
    m = PluginManager()
    errors: List[str] = []
    m.register_hook(m.EVENT_PLUGIN_ERROR, lambda d: errors.append(str(d["error"])))

    def never(data: Any) -> Gen:
        if data is not None:
            return
        yield

    def twice(data: Any) -> Gen:
        yield
        yield

    def raises_before(data: Any) -> Gen:
        raise ValueError("before")
        yield

    def raises_after(data: Any) -> Gen:
        yield
        raise ValueError("after")

    m.register_hook("e", lambda d: d + "+h")
    for fn in (never, twice, raises_before, raises_after):
        m.register_hook("e", fn, wrapper=True)
    assert run(m, "e", "d", use_async) == "d+h"  # each contributes nothing
    assert errors == [
        "hook test_wrappers_that_do_not_yield_exactly_once_fail_like_hooks.<locals>.never "
        "finished without yielding: a wrapper must yield exactly once",
        "before", "after",
        "hook test_wrappers_that_do_not_yield_exactly_once_fail_like_hooks.<locals>.twice "
        "yielded more than once: a wrapper must yield exactly once"]

    m.set_error_strategy("fail_fast")
    with pytest.raises(HookError, match="never failed on event 'e'.*finished without yielding"):
        run(m, "e", "d", use_async)


def test_a_callable_that_returns_no_generator_fails_at_trigger() -> None:
    import functools

    def not_gen(data: Any, extra: int) -> int:
        return extra

    m = PluginManager()
    m.set_error_strategy("collect_all")
    m.register_hook("e", functools.partial(not_gen, extra=1), wrapper=True)
    m.register_hook("e", lambda d: "h")
    assert m.trigger("e", "d") == "h"
    [error] = m.get_last_errors()
    assert "returned int, not a generator" in str(error["error"])


def test_collect_all_gathers_wrapper_and_hook_errors_in_order() -> None:
    m = PluginManager()
    m.set_error_strategy("collect_all")

    def before(data: Any) -> Gen:
        raise ValueError("wrapper")
        yield

    m.register_hook("e", before, wrapper=True, priority=90)
    m.register_hook("e", lambda d: 1 / 0)
    assert m.trigger("e", 5) == 5
    names = [type(e["error"]).__name__ for e in m.get_last_errors()]
    assert names == ["ValueError", "ZeroDivisionError"]


def test_tracing_records_wrappers() -> None:
    m = PluginManager()
    m.register_hook("e", tracer([], "w"), wrapper=True, priority=70)
    m.register_hook("e", lambda d: d)
    m.enable_hook_tracing()
    m.trigger("e", 1)
    assert [(t.priority, t.outcome) for t in m.get_trace()] == [(50, "ok"), (70, "ok")]


class Timing(PluginBase):
    name = "timing"

    def on_load(self) -> None:
        self.seen: List[Any] = []

    @hook("app.request", wrapper=True, priority=100)
    def around(self, data: Any) -> Gen:
        result = yield
        self.seen.append(result)


def test_plugin_wrappers_attach_detach_and_follow_enabled() -> None:
    m = PluginManager()
    m.register(Timing)
    plugin = m.load("timing")
    m.register_hook("app.request", lambda d: d + 1)
    assert m.trigger("app.request", 1) == 2
    assert plugin.seen == [2]  # type: ignore[attr-defined]
    [record] = [r for r in m.hooks.get_hooks("app.request") if r.wrapper]
    assert record.plugin_name == "timing" and "wrapper" in repr(record)
    m.disable_plugin("timing")
    m.trigger("app.request", 1)
    assert plugin.seen == [2]  # type: ignore[attr-defined]
    m.enable_plugin("timing")
    m.unload("timing")
    assert m.trigger("app.request", 5) == 6
    assert not any(r.wrapper for r in m.hooks.get_hooks("app.request"))


def test_a_plugin_with_a_bad_wrapper_fails_to_load_and_leaves_nothing() -> None:
    class Bad(PluginBase):
        name = "bad"

        @hook("e")
        def fine(self, data: Any) -> Any:
            return data

        @hook("e", wrapper=True)
        def not_gen(self, data: Any) -> Any:
            return data

    m = PluginManager()
    m.register(Bad)
    with pytest.raises(PluginLoadError, match="plugin 'bad' failed to load: ValidationError: "
                                              "plugin 'bad' \\(hook .*Bad.not_gen\\) for "
                                              "event 'e' is not a generator function"):
        m.load("bad")
    assert m.hooks.get_hooks("e") == []
    assert not m.is_loaded("bad")


def test_wrappers_on_a_bare_registry() -> None:
    reg = HookRegistry()

    def double_result(data: Any) -> Gen:
        result = yield
        return result * 2

    reg.register("e", double_result, wrapper=True)
    reg.register("e", lambda d: d + 1)
    assert reg.trigger("e", 1) == 4
    assert asyncio.run(reg.trigger_async("e", 1)) == 4


def test_a_plugin_registers_a_wrapper_at_run_time() -> None:
    class Dynamic(PluginBase):
        name = "dynamic"

        def on_load(self) -> None:
            self.register_hook("e", self.around, wrapper=True)

        def around(self, data: Any) -> Gen:
            result = yield
            return "wrapped %s" % (result,)

    m = PluginManager()
    m.register(Dynamic)
    m.load("dynamic")
    m.register_hook("e", lambda d: d + 1)
    assert m.trigger("e", 1) == "wrapped 2"
    m.unload("dynamic")
    assert m.trigger("e", 1) == 2


# -- one wrapper, driven inline (C10) ----------------------------------------------------


class AsCallable:
    """The same wrapper as a callable object, not a generator function: the
    step loop runs it (the reference for the inline path)."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.__qualname__ = fn.__qualname__

    def __call__(self, data: Any) -> Gen:
        return self.fn(data)  # type: ignore[no-any-return]


def wrapper_kinds(log: List[str]) -> Any:
    """One wrapper of each behaviour, each logging what it sees and who
    drives it (the frame that resumes the generator)."""
    def driver() -> None:
        log.append("driven by " + sys._getframe(2).f_code.co_name)

    def passes(data: Any) -> Gen:
        driver()
        result = yield
        log.append("passes got %r" % (result,))

    def replaces(data: Any) -> Gen:
        driver()
        result = yield
        return ("replaced", result)

    def new_data(data: Any) -> Gen:
        driver()
        result = yield "D"
        log.append("new_data got %r" % (result,))

    def raises_before(data: Any) -> Gen:
        driver()
        raise ValueError("before")
        yield

    def raises_after(data: Any) -> Gen:
        driver()
        yield
        raise ValueError("after")

    def never(data: Any) -> Gen:
        driver()
        if data is not None:
            return
        yield

    def twice(data: Any) -> Gen:
        driver()
        try:
            yield
            yield
        finally:
            log.append("twice closed")

    def stops_before(data: Any) -> Gen:
        driver()
        raise StopPropagation(result="S")
        yield

    def stops_after(data: Any) -> Gen:
        driver()
        yield
        raise StopPropagation(result="S")

    def catches(data: Any) -> Gen:
        driver()
        try:
            result = yield
        except HookError as exc:
            log.append("caught %s" % (type(exc.__cause__).__name__,))
            return "caught"
        return ("clean", result)

    def swallows(data: Any) -> Gen:
        driver()
        try:
            yield
        except HookError:
            log.append("swallowed")

    return [passes, replaces, new_data, raises_before, raises_after, never, twice,
            stops_before, stops_after, catches, swallows]


def stopper(data: Any) -> Any:
    raise StopPropagation(result="stop")


INNER_HOOKS = {
    # mode -> hooks (priority order): a clean run, one with a failing hook, one stopped
    "chain": {"clean": [lambda d: d + "a", lambda d: d + "b"],
              "failing": [lambda d: d + "a", lambda d: 1 / 0, lambda d: d + "b"],
              "stopped": [lambda d: d + "a", stopper, lambda d: d + "never"]},
    "collect": {"clean": [lambda d: "a", lambda d: None, lambda d: "b"],
                "failing": [lambda d: "a", lambda d: 1 / 0, lambda d: "b"],
                "stopped": [lambda d: "a", stopper, lambda d: "never"]},
    "first": {"clean": [lambda d: None, lambda d: d + "!", lambda d: "never"],
              "failing": [lambda d: None, lambda d: 1 / 0, lambda d: d + "!"],
              "stopped": [lambda d: None, stopper, lambda d: "never"]},
}


def outcome_of(mode: str, strategy: str, inner: str, index: int, inline: bool) -> Any:
    """Run the ``index``-th wrapper kind around the ``inner`` hooks; return
    the result or the failure, the log and the reported errors."""
    m = PluginManager()
    m.declare_event("e", mode=mode)
    m.set_error_strategy(strategy)
    log: List[str] = []
    errors: List[str] = []
    m.register_hook(m.EVENT_PLUGIN_ERROR, lambda d: errors.append(
        "%s: %s" % (type(d["error"]).__name__, d["error"])))
    for position, fn in enumerate(INNER_HOOKS[mode][inner]):
        m.register_hook("e", fn, priority=90 - position)
    wrapper = wrapper_kinds(log)[index]
    m.register_hook("e", wrapper if inline else AsCallable(wrapper), wrapper=True)
    outcomes = []
    for _ in range(2):  # the plan built, then reused
        try:
            outcomes.append(("result", m.trigger("e", "d")))
        except HookError as exc:
            outcomes.append(("raised", str(exc), type(exc.__cause__).__name__))
    return outcomes, log, errors


@pytest.mark.parametrize("index", range(11))
@pytest.mark.parametrize("inner", ["clean", "failing", "stopped"])
@pytest.mark.parametrize("strategy", ["log_and_continue", "fail_fast", "collect_all"])
@pytest.mark.parametrize("mode", ["chain", "collect", "first"])
def test_one_wrapper_inline_behaves_as_the_step_loop(mode: str, strategy: str, inner: str,
                                                     index: int) -> None:
    """Every wrapper behaviour around clean, failing and stopped hooks, in
    every mode and strategy: the inline path gives what the step loop
    gives (results, failures, what the wrapper saw, the errors reported),
    and it is the inline path that runs when the plan allows it."""
    inline, inline_log, inline_errors = outcome_of(mode, strategy, inner, index, True)
    stepped, stepped_log, stepped_errors = outcome_of(mode, strategy, inner, index, False)
    assert inline == stepped
    assert inline_errors == stepped_errors
    assert [line for line in stepped_log if line.startswith("driven by ")] == \
        ["driven by steps"] * 2
    drivers = ["driven by %s" % ("steps" if strategy == "collect_all" else "wrapped")] * 2
    assert [line for line in inline_log if line.startswith("driven by ")] == drivers
    assert [line for line in inline_log if not line.startswith("driven by ")] == \
        [line for line in stepped_log if not line.startswith("driven by ")]


@pytest.mark.parametrize("mode, expected", [("chain", ("replaced", "Dab")),
                                            ("collect", ("replaced", ["a", "b"])),
                                            ("first", ("replaced", "D!"))])
def test_one_wrapper_inline_replaces_data_and_result(mode: str, expected: Any) -> None:
    m = PluginManager()
    m.declare_event("e", mode=mode)
    for position, fn in enumerate(INNER_HOOKS[mode]["clean"]):
        m.register_hook("e", fn, priority=90 - position)

    def wrapper(data: Any) -> Gen:
        result = yield data.upper()
        return ("replaced", result)

    m.register_hook("e", wrapper, wrapper=True)
    assert m.trigger("e", "d") == expected
    assert m.trigger("e", "d") == expected


@pytest.mark.parametrize("strategy", ["log_and_continue", "fail_fast"])
@pytest.mark.parametrize("where", ["before", "after"])
def test_one_wrapper_inline_failures_under_each_strategy(strategy: str, where: str) -> None:
    m = PluginManager()
    m.set_error_strategy(strategy)
    ran: List[str] = []

    def broken(data: Any) -> Gen:
        if where == "before":
            raise ValueError("broken")
        yield
        raise ValueError("broken")

    m.register_hook("e", lambda d: ran.append("hook") or d + "+h")
    m.register_hook("e", broken, wrapper=True)
    if strategy == "fail_fast":
        with pytest.raises(HookError, match="broken failed on event 'e': ValueError: broken"):
            m.trigger("e", "d")
        assert ran == ([] if where == "before" else ["hook"])
    else:
        assert m.trigger("e", "d") == "d+h"
        assert ran == ["hook"]


def test_one_wrapper_inline_sees_a_keyboard_interrupt_that_leaves_the_trigger() -> None:
    m = PluginManager()
    seen: List[str] = []

    def interrupted(data: Any) -> Any:
        raise KeyboardInterrupt

    def wrapper(data: Any) -> Gen:
        try:
            yield
        except KeyboardInterrupt:
            seen.append("interrupt")
            raise

    m.register_hook("e", interrupted)
    m.register_hook("e", wrapper, wrapper=True)
    with pytest.raises(KeyboardInterrupt):
        m.trigger("e", "d")
    assert seen == ["interrupt"]


def test_one_wrapper_inline_follows_its_plugin_and_tracing() -> None:
    class P(PluginBase):
        name = "p"

        @hook("e", wrapper=True)
        def around(self, data: Any) -> Gen:
            result = yield
            return "wrapped " + result

    m = PluginManager()
    m.register_hook("e", lambda d: d + "+h")
    m.register(P)
    m.load("p")
    assert m.trigger("e", "d") == "wrapped d+h"
    m.disable_plugin("p")
    assert m.trigger("e", "d") == "d+h"
    m.enable_plugin("p")
    m.enable_hook_tracing()
    assert m.trigger("e", "d") == "wrapped d+h"
    assert [t.plugin for t in m.get_trace()] == [None, "p"]
    m.enable_hook_tracing(False)
    assert m.trigger("e", "d") == "wrapped d+h"
