"""Declared events: declarations and the modes chain, collect and first,
under trigger and trigger_async, with priorities, wildcards, error
strategies, timeouts, tracing and StopPropagation (SPEC section 9)."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any, Callable, List, Tuple

import pytest

from nitro_dispatch import (EventSpec, HookError, HookTimeoutError, PluginBase, PluginManager,
                            StopPropagation, ValidationError, event_spec, hook)

STRATEGIES = ["log_and_continue", "fail_fast", "collect_all"]


def run(manager: PluginManager, event: str, data: Any, use_async: bool) -> Any:
    if use_async:
        return asyncio.run(manager.trigger_async(event, data))
    return manager.trigger(event, data)


def returning(value: Any) -> Callable[[Any], Any]:
    def fn(data: Any) -> Any:
        return value
    fn.__qualname__ = "returning_%r" % (value,)
    return fn


def failing(data: Any) -> Any:
    raise RuntimeError("boom")


# -- declarations -------------------------------------------------------------------


def test_declare_event_returns_the_spec_and_lists_it() -> None:
    m = PluginManager()
    spec = m.declare_event("app.menu", mode="collect", doc="Menu entries.")
    assert isinstance(spec, EventSpec)
    expected = ("app.menu", "collect", False, "Menu entries.")
    assert (spec.name, spec.mode, spec.historic, spec.doc) == expected
    assert m.get_event_specs() == {"app.menu": spec}
    assert not hasattr(spec, "__dict__")  # __slots__


def test_redeclaring_the_same_is_a_no_op_and_other_settings_are_refused() -> None:
    m = PluginManager()
    first = m.declare_event("app.open", mode="first")
    assert m.declare_event("app.open", mode="first") is first
    with pytest.raises(ValidationError, match="'app.open' is already declared with "
                                              "mode='first'.*mode='collect'"):
        m.declare_event("app.open", mode="collect")
    with pytest.raises(ValidationError, match="historic=True"):
        m.declare_event("app.open", mode="first", historic=True)
    assert m.get_event_specs()["app.open"].mode == "first"


@pytest.mark.parametrize("name, match", [
    ("", "non-empty string"), ("   ", "non-empty string"), (None, "non-empty string"),
    ("app.*", "cannot contain '\\*'"), ("*", "cannot contain"),
])
def test_bad_names_are_refused(name: Any, match: str) -> None:
    m = PluginManager()
    with pytest.raises(ValidationError, match=match):
        m.declare_event(name)
    assert m.get_event_specs() == {}


def test_unknown_mode_names_the_choices() -> None:
    with pytest.raises(ValidationError, match="unknown mode 'firstresult'; choose one of "
                                              "chain, collect, first"):
        PluginManager().declare_event("x", mode="firstresult")
    with pytest.raises(ValidationError, match="historic"):
        PluginManager().declare_event("x", historic="yes")  # type: ignore[arg-type]


def test_framework_events_are_declared_chains_only() -> None:
    m = PluginManager()
    assert m.declare_event("nitro.plugin.loaded").mode == "chain"
    with pytest.raises(ValidationError, match="framework's own events"):
        m.declare_event("nitro.plugin.loaded", mode="collect")


class AppEvents:
    @event_spec("app.request")
    def request(data: Any) -> None:
        """A request: plugins may change it.

        Each hook gets the request dict."""

    @event_spec("app.menu", mode="collect")
    def menu(data: Any) -> None:
        """Menu entries."""

    @event_spec("app.started", historic=True)
    def started(data: Any) -> None:
        pass


class MoreEvents(AppEvents):
    @event_spec("app.open", mode="first")
    @staticmethod
    def open_file(data: Any) -> None:
        """The first plugin that can open the file wins."""


def test_declare_events_from_a_class_with_docstrings_as_doc() -> None:
    m = PluginManager()
    assert m.declare_events(MoreEvents) == ["app.request", "app.menu", "app.started",
                                            "app.open"]
    specs = m.get_event_specs()
    assert specs["app.request"].doc == "A request: plugins may change it.\n\nEach hook gets " \
                                       "the request dict."
    assert specs["app.started"].historic and specs["app.started"].doc is None
    assert specs["app.open"].mode == "first"
    assert m.declare_events(AppEvents) == ["app.request", "app.menu", "app.started"]  # no-op


def test_declare_events_from_a_module(tmp_path: Any, monkeypatch: Any) -> None:
    (tmp_path / "ndtest_spec_module.py").write_text(
        "from nitro_dispatch import event_spec\n"
        "@event_spec('mod.one', mode='collect')\n"
        "def one(data):\n    'One.'\n"
        "def unrelated(data):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import ndtest_spec_module  # type: ignore[import-not-found]

    m = PluginManager()
    assert m.declare_events(ndtest_spec_module) == ["mod.one"]
    assert m.get_event_specs()["mod.one"].doc == "One."


def test_declare_events_is_all_or_nothing() -> None:
    m = PluginManager()
    m.declare_event("app.menu", mode="first")
    with pytest.raises(ValidationError, match="app.menu"):
        m.declare_events(AppEvents)
    assert list(m.get_event_specs()) == ["app.menu"]


def test_declare_events_without_marks_is_an_error() -> None:
    class Nothing:
        def f(self, data: Any) -> None:
            pass

    with pytest.raises(ValidationError, match="Nothing has no @event_spec functions"):
        PluginManager().declare_events(Nothing)


def test_event_spec_checks_its_arguments_at_decoration() -> None:
    with pytest.raises(ValidationError, match="unknown mode"):
        event_spec("x", mode="all")
    with pytest.raises(ValidationError, match="'\\*'"):
        event_spec("x.*")


# -- the modes ----------------------------------------------------------------------


@pytest.mark.parametrize("use_async", [False, True])
def test_chain_is_the_default_mode(use_async: bool) -> None:
    m = PluginManager()
    m.declare_event("text")
    m.register_hook("text", lambda d: d + "a")
    m.register_hook("text", lambda d: d + "b", priority=10)
    assert run(m, "text", ">", use_async) == ">ab"


@pytest.mark.parametrize("use_async", [False, True])
def test_collect_returns_non_none_results_in_priority_order(use_async: bool) -> None:
    m = PluginManager()
    m.declare_event("menu", mode="collect")
    got: List[Any] = []
    m.register_hook("menu", lambda d: got.append(d) or "low", priority=10)
    m.register_hook("menu", lambda d: got.append(d) or None)
    m.register_hook("menu", lambda d: got.append(d) or "high", priority=90)
    m.register_hook("men*", lambda d: got.append(d) or "pattern", priority=50)
    assert run(m, "menu", {"page": 1}, use_async) == ["high", "pattern", "low"]
    assert got == [{"page": 1}] * 4  # every hook got the same data


@pytest.mark.parametrize("use_async", [False, True])
def test_collect_with_no_hooks_is_an_empty_list(use_async: bool) -> None:
    m = PluginManager()
    m.declare_event("menu", mode="collect")
    assert run(m, "menu", 1, use_async) == []


@pytest.mark.parametrize("use_async", [False, True])
def test_first_returns_the_first_non_none_and_stops(use_async: bool) -> None:
    m = PluginManager()
    m.declare_event("open", mode="first")
    calls: List[str] = []

    def none(data: Any) -> None:
        calls.append("none")

    def png(data: str) -> Any:
        calls.append("png")
        return "png-viewer" if data.endswith(".png") else None

    def anything(data: Any) -> str:
        calls.append("any")
        return "text-viewer"

    m.register_hook("open", none, priority=90)
    m.register_hook("open", png, priority=50)
    m.register_hook("open", anything, priority=10)
    assert run(m, "open", "a.png", use_async) == "png-viewer"
    assert calls == ["none", "png"]
    assert run(m, "open", "a.txt", use_async) == "text-viewer"


@pytest.mark.parametrize("use_async", [False, True])
def test_first_with_no_answer_is_none(use_async: bool) -> None:
    m = PluginManager()
    m.declare_event("open", mode="first")
    m.register_hook("open", lambda d: None)
    assert run(m, "open", "x", use_async) is None


def test_async_hooks_in_collect_and_first() -> None:
    m = PluginManager()
    m.declare_event("menu", mode="collect")
    m.declare_event("open", mode="first")

    async def a_menu(data: Any) -> str:
        await asyncio.sleep(0)
        return "async"

    async def a_open(data: Any) -> Any:
        return None

    m.register_hook("menu", a_menu, priority=90)
    m.register_hook("menu", lambda d: "sync")
    m.register_hook("open", a_open, priority=90)
    m.register_hook("open", lambda d: "sync-open")
    assert asyncio.run(m.trigger_async("menu", 0)) == ["async", "sync"]
    assert asyncio.run(m.trigger_async("open", 0)) == "sync-open"
    assert m.trigger("menu", 0) == ["sync"]  # trigger skips async hooks


def test_undeclared_events_stay_chains_when_others_are_declared() -> None:
    m = PluginManager()
    m.declare_event("menu", mode="collect")
    m.register_hook("plain", lambda d: d * 2)
    m.register_hook("plain", lambda d: d + 1, priority=10)
    assert m.trigger("plain", 3) == 7


def test_declaring_after_triggers_changes_the_mode_from_then_on() -> None:
    m = PluginManager()
    m.register_hook("menu", lambda d: "a")
    assert m.trigger("menu", 0) == "a"
    m.declare_event("menu", mode="collect")
    assert m.trigger("menu", 0) == ["a"]


def test_disabled_plugins_contribute_nothing_in_every_mode() -> None:
    class P(PluginBase):
        name = "p"

        @hook("menu")
        def entry(self, data: Any) -> str:
            return "p"

        @hook("open")
        def opener(self, data: Any) -> str:
            return "p"

    m = PluginManager()
    m.declare_event("menu", mode="collect")
    m.declare_event("open", mode="first")
    m.register(P)
    m.load("p")
    m.register_hook("menu", lambda d: "q", priority=1)
    assert m.trigger("menu", 0) == ["p", "q"]
    m.disable_plugin("p")
    assert m.trigger("menu", 0) == ["q"]
    assert m.trigger("open", 0) is None
    m.enable_plugin("p")
    assert m.trigger("open", 0) == "p"


# -- StopPropagation ----------------------------------------------------------------


def stopper(**kwargs: Any) -> Callable[[Any], Any]:
    def stop(data: Any) -> Any:
        raise StopPropagation("enough", **kwargs)
    return stop


@pytest.mark.parametrize("use_async", [False, True])
@pytest.mark.parametrize("mode, with_result, without_result", [
    ("chain", "R", "d+a"),
    ("collect", ["a", "R"], ["a"]),
    ("first", "R", None),
])
def test_stop_propagation_with_and_without_result(use_async: bool, mode: str,
                                                  with_result: Any,
                                                  without_result: Any) -> None:
    for kwargs, expected in (({"result": "R"}, with_result), ({}, without_result)):
        m = PluginManager()
        m.declare_event("e", mode=mode)
        m.register_hook("e", lambda d: None if mode == "first" else (
            "a" if mode == "collect" else d + "+a"), priority=90)
        m.register_hook("e", stopper(**kwargs), priority=50)
        m.register_hook("e", returning("never"), priority=10)
        assert run(m, "e", "d", use_async) == expected, (mode, kwargs)


def test_stop_propagation_result_on_undeclared_events_and_message_stays() -> None:
    m = PluginManager()
    m.register_hook("e", stopper(result={"done": True}))
    m.register_hook("e", returning("never"), priority=1)
    assert m.trigger("e", {}) == {"done": True}
    assert asyncio.run(m.trigger_async("e", {})) == {"done": True}
    stop = StopPropagation("a message")
    assert str(stop) == "a message" and not stop.has_result and stop.result is None
    assert StopPropagation(result=None).has_result


# -- errors and strategies in every mode ----------------------------------------------


MODE_CASES = [
    # mode, hooks (priority order), expected result when the failing hook contributes nothing
    ("chain", [lambda d: d + "a", failing, lambda d: d + "b"], "xab"),
    ("collect", [returning("a"), failing, returning("b")], ["a", "b"]),
    ("first", [returning(None), failing, returning("b")], "b"),
]


@pytest.mark.parametrize("use_async", [False, True])
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("mode, hooks, expected", MODE_CASES)
def test_every_strategy_in_every_mode(use_async: bool, strategy: str, mode: str,
                                      hooks: List[Callable[[Any], Any]], expected: Any) -> None:
    m = PluginManager()
    m.declare_event("e", mode=mode)
    m.set_error_strategy(strategy)
    errors: List[Any] = []
    m.register_hook(m.EVENT_PLUGIN_ERROR, lambda d: errors.append(d["event"]))
    for index, fn in enumerate(hooks):
        m.register_hook("e", fn, priority=90 - index)
    if strategy == "fail_fast":
        with pytest.raises(HookError, match="failing failed on event 'e'") as info:
            run(m, "e", "x", use_async)
        assert isinstance(info.value.__cause__, RuntimeError)
        assert errors == ["e"]
        return

    async def in_task() -> Any:  # the errors belong to the task that triggered
        return await m.trigger_async("e", "x"), m.get_last_errors()

    if use_async:
        result, last = asyncio.run(in_task())
    else:
        result, last = m.trigger("e", "x"), m.get_last_errors()
    assert result == expected
    assert errors == ["e"]
    if strategy == "collect_all":
        assert [(e["event"], str(e["error"])) for e in last] == [("e", "boom")]
    else:
        assert last == []


@pytest.mark.parametrize("mode, expected", [("collect", ["late"]), ("first", "late")])
def test_a_timed_out_hook_contributes_nothing(mode: str, expected: Any) -> None:
    m = PluginManager()
    m.declare_event("e", mode=mode)

    def slow(data: Any) -> str:
        time.sleep(0.5)
        return "slow"

    m.register_hook("e", slow, priority=90, timeout=0.05)
    m.register_hook("e", returning("late"), priority=10, timeout=1.0)
    assert m.trigger("e", 0) == expected
    m.set_error_strategy("fail_fast")
    with pytest.raises(HookError) as info:
        m.trigger("e", 0)
    assert isinstance(info.value.__cause__, HookTimeoutError)


@pytest.mark.parametrize("mode", ["collect", "first"])
def test_async_timeouts_in_modes(mode: str) -> None:
    m = PluginManager()
    m.declare_event("e", mode=mode)

    async def slow(data: Any) -> str:
        await asyncio.sleep(1)
        return "slow"

    async def fast(data: Any) -> str:
        return "fast"

    m.register_hook("e", slow, priority=90, timeout=0.05)
    m.register_hook("e", fast, priority=10, timeout=1.0)
    result = asyncio.run(m.trigger_async("e", 0))
    assert result == (["fast"] if mode == "collect" else "fast")


@pytest.mark.parametrize("mode, expected", [("chain", "x"), ("collect", ["a"]),
                                            ("first", "a")])
def test_tracing_records_every_hook_in_every_mode(mode: str, expected: Any) -> None:
    m = PluginManager()
    m.declare_event("e", mode=mode)
    m.register_hook("e", returning("a") if mode != "chain" else (lambda d: None), priority=90)
    m.register_hook("e", failing, priority=50)
    m.enable_hook_tracing()
    result = m.trigger("e", "x")
    assert result == expected
    outcomes = [(t.event, t.priority, t.outcome) for t in m.get_trace()]
    if mode == "first":
        assert outcomes == [("e", 90, "ok")]
    else:
        assert outcomes == [("e", 90, "ok"), ("e", 50, "error")]


def test_unwatched_plugin_objects_are_honoured_in_modes() -> None:
    class Owner:
        name = "owner"
        enabled = True

    owner = Owner()
    m = PluginManager()
    m.declare_event("menu", mode="collect")
    m.register_hook("menu", returning("o"), plugin=owner)
    m.register_hook("menu", returning("p"))
    assert m.trigger("menu", 0) == ["o", "p"]
    owner.enabled = False
    assert m.trigger("menu", 0) == ["p"]


def test_trigger_warns_once_per_skipped_async_hook_after_trigger_async(caplog: Any) -> None:
    m = PluginManager()
    m.declare_event("menu", mode="collect")

    async def later(data: Any) -> str:
        return "async"

    m.register_hook("menu", later)
    m.register_hook("menu", lambda d: "sync")
    assert asyncio.run(m.trigger_async("menu", 0)) == ["async", "sync"]  # builds the plan
    assert m.trigger("menu", 0) == ["sync"]
    assert m.trigger("menu", 0) == ["sync"]
    assert caplog.text.count("skips async hook") == 1


def test_the_docstring_examples_of_the_events_module_run() -> None:
    import doctest

    from nitro_dispatch import _events

    result = doctest.testmod(_events)
    assert result.attempted > 0 and result.failed == 0


def test_declared_chains_keep_the_fast_loop_and_modes_get_their_own() -> None:
    """Checks at registration and plan build only: a declared, non-historic
    chain or first event without wrappers runs in the registry's own loop
    (the hook's caller is ``trigger``, no call frame between: C9); collect
    in a happy-path loop of its own, never through a generator per call."""
    m = PluginManager()
    m.declare_event("chain.e")
    m.declare_event("collect.e", mode="collect")
    m.declare_event("first.e", mode="first")
    events = ("chain.e", "collect.e", "first.e")
    callers: List[Tuple[str, bool]] = []

    def hook(data: Any) -> Any:
        caller = sys._getframe(1)
        callers.append((caller.f_code.co_name,
                        bool(caller.f_code.co_flags & 0x20)))  # CO_GENERATOR
        return 1

    for event in events:
        m.register_hook(event, hook)
    for _ in range(2):  # the first trigger builds the plan, the second reuses it
        assert [m.trigger(event, 0) for event in events] == [1, [1], 1]
    assert callers[3:] == [("trigger", False), ("collect", False), ("trigger", False)]


# -- first mode in trigger's own loop (C9) ------------------------------------------


@pytest.mark.parametrize("answer", [1, 5, 10, None])
def test_first_answers_at_every_position_and_later_hooks_never_run(answer: Any) -> None:
    m = PluginManager()
    m.declare_event("e", mode="first")
    ran: List[int] = []

    def hook_at(position: int) -> Callable[[Any], Any]:
        def fn(data: Any) -> Any:
            ran.append(position)
            return "%s from %d" % (data, position) if position == answer else None
        return fn

    for position in range(1, 11):
        m.register_hook("e", hook_at(position), priority=100 - position)
    for _ in range(2):  # plan built, then reused
        ran.clear()
        assert m.trigger("e", "d") == (None if answer is None else "d from %d" % answer)
        assert ran == list(range(1, (answer or 10) + 1))


@pytest.mark.parametrize("strategy", ["log_and_continue", "fail_fast"])
def test_a_failure_in_the_first_loop_resumes_after_the_failing_hook(strategy: str) -> None:
    """A failure hands the run over at the failing hook: the hooks before
    it are not run again, the ones after it run (or fail_fast stops)."""
    m = PluginManager()
    m.declare_event("e", mode="first")
    m.set_error_strategy(strategy)
    ran: List[str] = []
    errors: List[str] = []
    m.register_hook(m.EVENT_PLUGIN_ERROR, lambda d: errors.append(str(d["error"])))

    def none(data: Any) -> Any:
        ran.append("none")

    def broken(data: Any) -> Any:
        ran.append("broken")
        raise ValueError("broken")

    def answer(data: Any) -> Any:
        ran.append("answer")
        return "answer"

    for index, fn in enumerate([none, broken, answer]):
        m.register_hook("e", fn, priority=90 - index)
    for _ in range(2):  # plan built, then reused
        ran.clear()
        errors.clear()
        if strategy == "fail_fast":
            with pytest.raises(HookError, match="broken failed on event 'e'"):
                m.trigger("e", 0)
            assert ran == ["none", "broken"]
        else:
            assert m.trigger("e", 0) == "answer"
            assert ran == ["none", "broken", "answer"]
        assert errors == ["broken"]


def test_first_loop_follows_plugins_enabled_after_the_plan_was_built() -> None:
    class P(PluginBase):
        name = "p"

        @hook("open", priority=90)
        def opener(self, data: Any) -> str:
            return "p"

    m = PluginManager()
    m.declare_event("open", mode="first")
    m.register_hook("open", returning("q"), priority=10)
    m.register(P)
    m.load("p")
    assert m.trigger("open", 0) == "p"
    m.disable_plugin("p")
    assert m.trigger("open", 0) == "q"
    m.enable_plugin("p")
    assert m.trigger("open", 0) == "p"
    m.unload("p")
    assert m.trigger("open", 0) == "q"


def test_first_loop_gives_way_to_tracing_and_back() -> None:
    m = PluginManager()
    m.declare_event("e", mode="first")
    m.register_hook("e", returning(None), priority=90)
    m.register_hook("e", returning("b"), priority=50)
    m.register_hook("e", returning("never"), priority=10)
    assert m.trigger("e", 0) == "b"
    m.enable_hook_tracing()
    assert m.trigger("e", 0) == "b"
    assert [(t.priority, t.outcome) for t in m.get_trace()] == [(90, "ok"), (50, "ok")]
    m.enable_hook_tracing(False)
    m.clear_trace()
    assert m.trigger("e", 0) == "b"
    assert m.get_trace() == []


def test_first_loop_stop_propagation_ends_with_its_result() -> None:
    m = PluginManager()
    m.declare_event("e", mode="first")
    ran: List[str] = []
    m.register_hook("e", lambda d: ran.append("a"), priority=90)
    m.register_hook("e", stopper(result="R"), priority=50)
    m.register_hook("e", lambda d: ran.append("never"), priority=10)
    assert m.trigger("e", 0) == "R"
    assert m.trigger("e", 0) == "R"
    assert ran == ["a", "a"]
