"""A ``KeyboardInterrupt`` or ``SystemExit`` raised by a hook ends the hooks,
is thrown into every enclosing wrapper at its ``yield`` (innermost first),
and only then reaches the caller, in every mode, sync and async, as pluggy
does.  A wrapper whose cleanup fails is a failing hook, never an escape."""

from __future__ import annotations

import asyncio
from typing import Any, Generator, List, Type

import pytest

from nitro_dispatch import HookRegistry, PluginManager

MODES = ["chain", "collect", "first"]
INTERRUPTS = [KeyboardInterrupt, SystemExit]


def manager_with(mode: str, seen: List[str], interrupt: Type[BaseException]) -> PluginManager:
    m = PluginManager()
    m.declare_event("app.e", mode=mode)

    def wrapper(name: str) -> Any:
        def wrap(data: Any) -> Generator[None, Any, None]:
            seen.append("enter " + name)
            try:
                yield
            except BaseException as exc:
                seen.append("%s got %s" % (name, type(exc).__name__))
                raise
            finally:
                seen.append("teardown " + name)
        return wrap

    m.register_hook("app.e", wrapper("outer"), priority=90, wrapper=True)
    m.register_hook("app.e", wrapper("inner"), priority=80, wrapper=True)
    m.register_hook("app.e", lambda d: None, priority=70)

    def interrupted(data: Any) -> Any:
        raise interrupt()

    m.register_hook("app.e", interrupted, priority=60)
    m.register_hook("app.e", lambda d: seen.append("after"), priority=50)
    return m


EXPECTED = ["enter outer", "enter inner", "inner got {0}", "teardown inner",
            "outer got {0}", "teardown outer"]


@pytest.mark.parametrize("interrupt", INTERRUPTS)
@pytest.mark.parametrize("mode", MODES)
def test_an_interrupt_reaches_the_wrappers_before_the_caller(
        mode: str, interrupt: Type[BaseException]) -> None:
    seen: List[str] = []
    m = manager_with(mode, seen, interrupt)
    observed: List[str] = []
    try:
        m.trigger("app.e", 1)
    except interrupt:
        observed = list(seen)  # what had happened when the caller saw it
    assert observed == [line.format(interrupt.__name__) for line in EXPECTED]


@pytest.mark.parametrize("interrupt", INTERRUPTS)
@pytest.mark.parametrize("mode", MODES)
def test_an_interrupt_reaches_the_wrappers_before_the_caller_async(
        mode: str, interrupt: Type[BaseException]) -> None:
    seen: List[str] = []
    m = manager_with(mode, seen, interrupt)

    async def main() -> List[str]:
        try:
            await m.trigger_async("app.e", 1)
        except interrupt:
            return list(seen)
        return []

    assert asyncio.run(main()) == [line.format(interrupt.__name__) for line in EXPECTED]


def test_an_interrupt_without_wrappers_leaves_the_fast_loop_at_once() -> None:
    reg = HookRegistry()
    ran: List[int] = []

    def interrupted(data: Any) -> Any:
        raise KeyboardInterrupt

    reg.register("e", lambda d: ran.append(1))
    reg.register("e", interrupted)
    reg.register("e", lambda d: ran.append(3))
    with pytest.raises(KeyboardInterrupt):
        reg.trigger("e", 0)
    assert ran == [1]


@pytest.mark.parametrize("use_async", [False, True])
def test_a_wrapper_yielding_twice_whose_cleanup_raises_is_a_failing_hook(
        use_async: bool, caplog: Any) -> None:
    reg = HookRegistry()

    def twice(data: Any) -> Generator[None, Any, None]:
        try:
            yield
            yield
        finally:
            raise RuntimeError("cleanup failed")

    reg.register("e", twice, wrapper=True)
    reg.register("e", lambda d: d + 1)
    if use_async:
        result = asyncio.run(reg.trigger_async("e", 1))
    else:
        result = reg.trigger("e", 1)
    assert result == 2  # log_and_continue: nothing escapes, the chain's result stands
    assert "yielded more than once" in caplog.text
    assert "cleanup failed" in caplog.text
