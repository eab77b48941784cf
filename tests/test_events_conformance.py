"""Conformance: hooks on undeclared events are reported once (lenient) or
refused (strict_events=True), with "did you mean"; hook signatures are
checked at registration (SPEC section 9)."""

from __future__ import annotations

import functools
import logging
from typing import Any, Generator, List, Optional, Tuple

import pytest

from nitro_dispatch import (EventSpec, HookRegistry, PluginBase, PluginLoadError, PluginManager,
                            PluginSource, ValidationError, hook)


class Typo(PluginBase):
    name = "typo"

    @hook("app.reqest")
    def on_request(self, data: Any) -> Any:
        return data

    @hook("app.request")
    def fine(self, data: Any) -> Any:
        return data


def declared(strict: bool = False) -> PluginManager:
    m = PluginManager(strict_events=strict)
    m.declare_event("app.request")
    m.declare_event("app.menu", mode="collect")
    return m


def test_without_declarations_nothing_is_checked(caplog: Any) -> None:
    m = PluginManager(strict_events=True)
    m.register_hook("anything.at.all", lambda d: d)
    assert m.get_problems() == []
    assert "undeclared" not in caplog.text


def test_lenient_reports_once_with_did_you_mean(caplog: Any) -> None:
    m = declared()
    caplog.set_level(logging.WARNING, logger="nitro_dispatch")
    m.register(Typo)
    m.load("typo")
    m.unload("typo")
    m.load("typo")  # reported once, not per load
    problems = [p for p in m.get_problems() if p.phase == "event"]
    assert [(p.plugin, p.message) for p in problems] == [
        ("typo", "plugin 'typo' hooks undeclared event 'app.reqest' "
                 "(did you mean 'app.request'?)")]
    assert problems[0].source is not None and problems[0].source.kind == "class"
    assert caplog.text.count("hooks undeclared event 'app.reqest'") == 1
    assert m.trigger("app.reqest", 1) == 1  # registered all the same


def test_strict_refuses_register_hook() -> None:
    m = declared(strict=True)
    with pytest.raises(ValidationError, match="hook .* hooks undeclared event 'app.men' "
                                              "\\(did you mean 'app.menu'\\?\\); "
                                              "strict_events refuses it"):
        m.register_hook("app.men", lambda d: d)
    assert m.get_events() == []


def test_strict_fails_the_plugin_load_and_leaves_nothing_behind() -> None:
    m = declared(strict=True)
    m.register(Typo)
    with pytest.raises(PluginLoadError, match="plugin 'typo' failed to load: ValidationError: "
                                              "plugin 'typo' hooks undeclared event "
                                              "'app.reqest'"):
        m.load("typo")
    assert m.hooks.get_hooks("app.request") == []  # the conforming hook is not left either
    assert not m.is_loaded("typo")
    # One failure, one phase: at run time and in check().
    assert [p.phase for p in m.get_problems()] == ["event"]
    assert [(p.plugin, p.phase) for p in m.check()] == [("typo", "event")]
    assert m.check()[0].message == m.get_problems()[0].message


def test_load_all_goes_on_with_the_others_under_strict() -> None:
    class Good(PluginBase):
        name = "good"

        @hook("app.menu")
        def entry(self, data: Any) -> str:
            return "good"

    m = declared(strict=True)
    m.register(Typo)
    m.register(Good)
    assert m.load_all() == ["good"]
    assert m.trigger("app.menu", None) == ["good"]


@pytest.mark.parametrize("event", ["nitro.plugin.loaded", "nitro.custom.thing", "app.*",
                                   "*", "*.menu", "nitro.*", "ni*"])
def test_framework_events_and_matching_patterns_are_declared(event: str) -> None:
    m = declared(strict=True)
    m.register_hook(event, lambda d: None)
    assert m.get_problems() == []


@pytest.mark.parametrize("event", ["other.*", "app.requests.*"])
def test_patterns_that_match_nothing_declared_are_reported(event: str) -> None:
    m = declared()
    m.register_hook(event, lambda d: None)
    [problem] = m.get_problems()
    assert "hooks pattern %r, which matches no declared event" % (event,) in problem.message
    with pytest.raises(ValidationError):
        declared(strict=True).register_hook(event, lambda d: None)


def test_no_suggestion_when_nothing_is_close() -> None:
    m = declared()
    m.register_hook("zzz", lambda d: None)
    assert m.get_problems()[0].message.endswith("hooks undeclared event 'zzz'")


def test_hooks_registered_before_the_declarations_are_reported_when_they_come() -> None:
    m = PluginManager(strict_events=True)
    m.register_hook("app.reqest", lambda d: d)
    m.declare_event("app.request")
    [problem] = m.get_problems()
    assert problem.phase == "event"
    assert "undeclared event 'app.reqest' (did you mean 'app.request'?)" in problem.message
    assert len(m.hooks.get_hooks("app.reqest")) == 1  # already there: reported, not removed


# -- signatures -------------------------------------------------------------------------


def no_args() -> None:
    pass


def two_required(a: Any, b: Any) -> None:
    pass


def keyword_only(data: Any, *, flag: bool) -> None:
    pass


class NoData(PluginBase):
    name = "nodata"

    @hook("app.request")
    def forgot_the_data(self) -> None:
        pass


@pytest.mark.parametrize("callback", [no_args, two_required, keyword_only,
                                      lambda: None, functools.partial(two_required)])
def test_hooks_that_cannot_take_the_data_are_refused_naming_them(callback: Any) -> None:
    reg = HookRegistry()
    with pytest.raises(ValidationError, match="cannot take the event's data as its one "
                                              "positional argument"):
        reg.register("e", callback)
    assert reg.get_all_events() == []


class Callable1:
    def __call__(self, data: Any) -> Any:
        return data


class Callable0:
    def __call__(self) -> None:
        pass


def optional(data: Any = None, other: int = 1, *rest: Any, key: int = 2, **extra: Any) -> Any:
    return data


def star(*args: Any) -> Any:
    return args[0]


@pytest.mark.parametrize("callback", [optional, star, Callable1(), print, len,
                                      functools.partial(two_required, 1), dict.get.__get__({}),
                                      lambda data: data])
def test_hooks_that_can_take_the_data_are_admitted(callback: Any) -> None:
    reg = HookRegistry()
    assert reg.hook_findings("e", callback) == []
    record = reg.register("e", callback)
    assert reg.get_hooks("e") == [record] and record.callback is callback


def test_a_callable_object_without_the_parameter_is_refused() -> None:
    with pytest.raises(ValidationError, match="Callable0"):
        HookRegistry().register("e", Callable0())


def test_a_plugin_method_without_the_data_parameter_fails_its_load() -> None:
    m = PluginManager()
    m.register(NoData)
    with pytest.raises(PluginLoadError, match="plugin 'nodata' \\(hook NoData.forgot_the_data\\) "
                                              "for event 'app.request' cannot take the "
                                              "event's data"):
        m.load("nodata")
    assert m.get_events() == []


def test_plugin_register_hook_checks_too() -> None:
    seen: List[Any] = []

    class Dynamic(PluginBase):
        name = "dynamic"

        def on_load(self) -> None:
            self.register_hook("app.request", lambda d: seen.append(d))

    m = declared(strict=True)
    m.register(Dynamic)
    m.load("dynamic")
    m.trigger("app.request", 1)
    assert seen == [1]


# -- the registry's own admission checks and declarations (the seam to the plugin table) --


def no_data() -> None:
    pass


def not_a_generator(data: Any) -> Any:
    return data


class Methods:
    def takes_data(self, data: Any) -> Any:
        return data

    def forgot_data(self) -> None:
        pass


def test_hook_findings_name_every_refusal_without_registering() -> None:
    reg = HookRegistry()
    assert reg.hook_findings("e", no_data) == [(
        "validation", "signature:e:no_data",
        "hook no_data for event 'e' cannot take the event's data as its one positional "
        "argument; give it a parameter for the data")]
    assert [f[:2] for f in reg.hook_findings("e", not_a_generator, wrapper=True)] == [
        ("validation", "signature:e:not_a_generator")]
    assert reg.hook_findings("e", not_a_generator, priority="high") == [(  # type: ignore
        "validation", "options:e:not_a_generator",
        "hook not_a_generator for event 'e': priority of hook for 'e' must be an int, "
        "got 'high'")]
    assert [f[0] for f in reg.hook_findings("e", not_a_generator, timeout=-1)] == ["validation"]
    assert reg.get_all_events() == []


def test_a_hook_with_an_extra_required_parameter_is_told_to_give_it_a_default() -> None:
    def two(data: Any, extra: Any) -> Any:
        return data

    def three(data: Any, extra: Any, *, more: Any) -> Any:
        return data

    [finding] = HookRegistry().hook_findings("e", two)
    assert finding[2].endswith("cannot take the event's data as its one positional argument; "
                               "it requires 1 more argument: give it a default")
    [finding] = HookRegistry().hook_findings("e", three)
    assert finding[2].endswith("it requires 2 more arguments: give them defaults")


def test_hook_findings_of_unbound_methods_skip_self() -> None:
    reg = HookRegistry()
    assert reg.hook_findings("e", Methods.takes_data, method=True) == []
    assert [f[1] for f in reg.hook_findings("e", Methods.forgot_data, method=True)] == [
        "signature:e:Methods.forgot_data"]


@pytest.mark.parametrize("strict", [False, True])
def test_hook_findings_report_undeclared_events_with_the_nearest_name(strict: bool) -> None:
    reg = HookRegistry(strict_events=strict)
    reg.declare([EventSpec("app.request")])
    assert reg.hook_findings("app.request", not_a_generator) == []
    assert reg.hook_findings("app.*", not_a_generator) == []
    assert reg.hook_findings("nitro.plugin.loaded", not_a_generator) == []
    message = ("hook not_a_generator hooks undeclared event 'app.reqest' (did you mean "
               "'app.request'?)" + ("; strict_events refuses it" if strict else ""))
    assert reg.hook_findings("app.reqest", not_a_generator) == [
        ("event", "undeclared:app.reqest", message)]


Report = Tuple[Optional[str], str, str, str, Optional[BaseException]]


def test_the_reporter_hears_each_lenient_finding_once() -> None:
    reports: List[Report] = []
    reg = HookRegistry(reporter=lambda *args: reports.append(args + (None,)))
    reg.register("app.early", not_a_generator)  # before any declaration: checked at declare
    reg.declare([EventSpec("app.request")])
    reg.register("app.reqest", not_a_generator)
    reg.register("app.reqest", lambda d: d)
    assert [r[1:3] for r in reports] == [("event", "undeclared:app.early"),
                                         ("event", "undeclared:app.reqest")]
    assert reports[1] == (None, "event", "undeclared:app.reqest",
                          "hook not_a_generator hooks undeclared event 'app.reqest' (did you "
                          "mean 'app.request'?)", None)
    assert len(reg.get_hooks("app.reqest")) == 2  # lenient: registered all the same


def test_strict_registration_refuses_and_reports_nothing() -> None:
    reports: List[Report] = []
    reg = HookRegistry(reporter=lambda *args: reports.append(args), strict_events=True)
    reg.declare([EventSpec("app.request")])
    with pytest.raises(ValidationError, match="strict_events refuses it"):
        reg.register("app.reqest", not_a_generator)
    assert reports == [] and reg.get_all_events() == []


def test_declare_is_all_or_none_and_keeps_origins() -> None:
    reg = HookRegistry()
    origin = PluginSource("distribution", dist_name="host-app", dist_version="1.0")
    specs = reg.declare([EventSpec("app.a"), EventSpec("app.b", mode="collect")], origin)
    assert [s.name for s in specs] == ["app.a", "app.b"]
    with pytest.raises(ValidationError, match="'app.b' is already declared with "
                                              "mode='collect'.* by distribution host-app"):
        reg.declare([EventSpec("app.c"), EventSpec("app.b", mode="first")])
    assert list(reg.get_event_specs()) == ["app.a", "app.b"]
    assert reg.event_origin("app.b") is origin and reg.event_origin("app.c") is None
    assert reg.declare([EventSpec("app.a")]) == [EventSpec("app.a")]  # the same again: no-op
    assert [reg.is_declared(n) for n in ("app.a", "app.*", "app.z", "nitro.x", "*")] == [
        True, True, False, True, True]


def test_clear_history_forgets_and_a_later_hook_gets_only_what_came_after() -> None:
    reg = HookRegistry()
    reg.declare([EventSpec("app.started", historic=True)])
    reg.trigger("app.started", 1)
    reg.clear_history("app.started")
    reg.trigger("app.started", 2)
    seen: List[Any] = []
    reg.register("app.started", seen.append)
    assert seen == [2]


def test_a_wrapper_finding_names_the_option() -> None:
    def wrap(data: Any) -> Generator[None, Any, None]:
        yield

    assert [f[2] for f in HookRegistry().hook_findings("e", wrap, wrapper=True, timeout=1.0)] \
        == ["hook test_a_wrapper_finding_names_the_option.<locals>.wrap for event 'e': a "
            "wrapper cannot have a timeout (its code runs in the caller, around the chain)"]


def test_a_hook_on_an_undeclared_event_is_one_problem_however_it_is_found() -> None:
    m = declared()
    m.register(Typo)
    m.load("typo")  # found by the plugin's admission
    m.declare_event("app.other")  # the hooks are checked again against the new declarations
    m.unload("typo")
    m.load("typo")
    [problem] = [p for p in m.get_problems() if p.phase == "event"]
    assert problem.plugin == "typo" and "app.reqest" in problem.message


def test_a_hook_registered_in_init_on_an_undeclared_event_is_reported() -> None:
    class Early(PluginBase):
        name = "early"

        def __init__(self) -> None:
            self.register_hook("app.reqest", lambda data: data + 1)

    m = declared()
    m.register(Early)
    m.load("early")
    [problem] = m.get_problems()
    assert (problem.plugin, problem.phase) == ("early", "event")
    assert "did you mean 'app.request'" in problem.message
    assert m.trigger("app.reqest", 1) == 2  # lenient: registered all the same


# -- declaring before or after the hooks: the same problems, once each ------------------


class Shop(PluginBase):
    name = "shop"

    @hook("shop.order")
    def order(self, data: Any) -> Any:
        return data

    @hook("shop.ordre")  # a typo: never declared
    def typo(self, data: Any) -> Any:
        return data

    @hook("shop.*")  # matches declared events
    def every(self, data: Any) -> Any:
        return data

    @hook("billing.*")  # matches nothing declared
    def billing(self, data: Any) -> Any:
        return data


class Audit(PluginBase):
    name = "audit"

    @hook("shop.ordre")  # the same typo, from another plugin: a problem of its own
    def typo(self, data: Any) -> Any:
        return data

    @hook("*.refund")
    def refunds(self, data: Any) -> Any:
        return data


SHOP_EVENTS = ["shop.order", "shop.refund", "shop.cart", "app.start"]


def _hooked(m: PluginManager) -> None:
    m.register(Shop)
    m.register(Audit)
    m.load_all()
    m.register_hook("app.strat", lambda d: d)  # a typo without a plugin
    m.register_hook("app.start", lambda d: d)


def _problems(m: PluginManager) -> List[Tuple[Optional[str], str, str, str, int]]:
    return sorted(((p.plugin, p.phase, p.kind, p.message, p.count) for p in m.get_problems()),
                  key=lambda p: (p[0] or "", p[2]))


def _declare_in(m: PluginManager, how: str) -> None:
    if how == "together":
        m.hooks.declare([EventSpec(e) for e in SHOP_EVENTS])
    else:
        for e in (SHOP_EVENTS if how == "one by one" else reversed(SHOP_EVENTS)):
            m.declare_event(e)


@pytest.mark.parametrize("how", ["together", "one by one", "reversed"])
def test_declaring_after_the_hooks_finds_what_declaring_first_finds(how: str) -> None:
    first = PluginManager()
    errors_first: List[Any] = []
    first.register_hook(first.EVENT_PLUGIN_ERROR, lambda d: errors_first.append(d["message"]))
    _declare_in(first, how)
    _hooked(first)

    after = PluginManager()
    errors_after: List[Any] = []
    after.register_hook(after.EVENT_PLUGIN_ERROR, lambda d: errors_after.append(d["message"]))
    _hooked(after)
    _declare_in(after, how)

    expected = _problems(first)
    assert [(p[0], p[2]) for p in expected] == [
        (None, "undeclared:app.strat"), ("audit", "undeclared:shop.ordre"),
        ("shop", "undeclared:billing.*"), ("shop", "undeclared:shop.ordre")]
    assert all(p[4] == 1 for p in expected)  # once each
    assert "did you mean 'app.start'?" in expected[0][3]
    assert _problems(after) == expected
    # nitro.plugin.error fired once per problem, on either side
    assert sorted(errors_after) == sorted(errors_first) == sorted(p[3] for p in expected)


def test_hooks_whose_events_are_declared_one_at_a_time_later_are_never_reported(
        caplog: Any) -> None:
    m = PluginManager()
    for i in range(50):
        m.register_hook("app.ev%d" % i, lambda d: d)
    for i in range(50):
        m.declare_event("app.ev%d" % i)
    m.trigger("app.ev1", {})  # a trigger settles the pending checks, finding nothing
    assert m.get_problems() == []
    assert "undeclared" not in caplog.text


def test_pending_checks_are_settled_by_the_next_registration_trigger_or_get_problems() -> None:
    for settle in ("register", "trigger", "get_problems", "check_pending"):
        reports: List[str] = []
        reg = HookRegistry(reporter=lambda plugin, phase, kind, message: reports.append(kind))
        reg.register("app.reqest", lambda d: d)
        reg.register("app.other", lambda d: d)
        reg.declare([EventSpec("app.request")])
        assert reports == []  # not yet: more declarations may come
        reg.declare([EventSpec("app.other")])
        if settle == "register":
            reg.register("app.request", lambda d: d)
        elif settle == "trigger":
            reg.trigger("app.request", 1)
        else:
            reg.check_pending()
        assert reports == ["undeclared:app.reqest"], settle
        reg.check_pending()
        assert reports == ["undeclared:app.reqest"], settle  # once


def test_a_pending_hook_removed_before_it_is_checked_is_not_reported() -> None:
    m = PluginManager()
    callback = lambda d: d  # noqa: E731
    m.register_hook("app.reqest", callback)
    m.declare_event("app.request")
    m.unregister_hook("app.reqest", callback)
    assert m.get_problems() == []


def test_strict_keeps_hooks_registered_before_the_declarations_and_reports_them() -> None:
    m = PluginManager(strict_events=True)
    m.register(Shop)
    m.load("shop")
    for e in SHOP_EVENTS:
        m.declare_event(e)
    assert sorted(p.kind for p in m.get_problems()) == [
        "undeclared:billing.*", "undeclared:shop.ordre"]
    assert m.is_loaded("shop")
    assert len(m.hooks.get_hooks("shop.ordre")) == 2  # the typo and shop.*


def test_the_suggestion_is_computed_only_when_a_problem_is_first_reported(
        monkeypatch: Any) -> None:
    import difflib

    calls: List[str] = []
    real = difflib.get_close_matches

    def counting(word: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(word)
        return real(word, *args, **kwargs)
    monkeypatch.setattr(difflib, "get_close_matches", counting)
    m = PluginManager()
    for i in range(300):
        m.declare_event("app.ev%d" % i)
    for _ in range(20):
        m.register_hook("app.evx", lambda d: d)
    assert calls == ["app.evx"]  # reported once: one suggestion
    after = PluginManager()
    for i in range(300):
        after.register_hook("app.ev%d" % i, lambda d: d)
    for i in range(300):
        after.declare_event("app.ev%d" % i)
    assert after.get_problems() == []
    assert calls == ["app.evx"]  # every hook conformed: no suggestion was made


def test_patterns_conform_through_the_index_of_declared_names() -> None:
    m = PluginManager()
    for i in range(200):
        m.declare_event("app.ev%d" % i)
    m.declare_event("zz.tail")
    for pattern, ok in [("app.ev19*", True), ("*.tail", True), ("*ev7", True), ("z*l", True),
                        ("*", True), ("nitro.plugin.*", True), ("app.ew*", False),
                        ("*.tai", False), ("q*", False)]:
        assert m.hooks.is_declared(pattern) is ok, pattern
