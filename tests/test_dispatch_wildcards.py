"""Wildcard patterns: ``*`` is the only special character (SPEC section 2)."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, List

import pytest

from nitro_dispatch import HookRegistry, PluginManager


def matches(pattern: str, event: str) -> bool:
    """Whether a hook registered under ``pattern`` runs for ``event``."""
    reg = HookRegistry()
    calls: List[Any] = []
    reg.register(pattern, calls.append)
    reg.trigger(event, "x")
    return calls == ["x"]


@pytest.mark.parametrize("event", ["user.login", "user.profile.save", "user.", "user.a.b.c.d"])
def test_prefix_star_matches_any_run_of_characters_dots_included(event: str) -> None:
    assert matches("user.*", event)


@pytest.mark.parametrize("event", ["user", "users.login", "userXlogin", "account.user.login",
                                   "USER.login", " user.login"])
def test_prefix_star_does_not_match_other_events(event: str) -> None:
    assert not matches("user.*", event)


@pytest.mark.parametrize("event", ["a", "user.login", "x.y.z", "nitro.app.startup",
                                   "price.(usd)+", "with space", "\u00e9v\u00e9nement"])
def test_lone_star_matches_every_event(event: str) -> None:
    assert matches("*", event)


@pytest.mark.parametrize("pattern,event,expected", [
    ("*.save", "doc.save", True),
    ("*.save", "user.profile.save", True),
    ("*.save", "doc.saved", False),
    ("*.save", "save", False),
    ("a*b*c", "abc", True),
    ("a*b*c", "aXXbYYc", True),
    ("a*b*c", "aXXc", False),
    ("a*b*c", "abcX", False),
    ("a**b", "ab", True),
    ("a**b", "a.x.b", True),
    ("*login*", "user.login.failed", True),
    ("*login*", "user.logout", False),
    ("ab*ba", "aba", False),
    ("ab*ba", "abba", True),
])
def test_star_in_any_position(pattern: str, event: str, expected: bool) -> None:
    assert matches(pattern, event) is expected


@pytest.mark.parametrize("event", ["price.usd", "price.(usd)", "price.(usd)(usd)",
                                   "price.usdusd", "priceX(usd)+", "price.(usd)++"])
def test_regex_syntax_in_pattern_is_literal(event: str) -> None:
    assert not matches("price.(usd)+", event)


def test_pattern_with_regex_syntax_matches_only_itself() -> None:
    assert matches("price.(usd)+", "price.(usd)+")


@pytest.mark.parametrize("pattern,literal_event,regex_only_event", [
    ("a?c", "a?c", "abc"),
    ("a?c", "a?c", "ac"),
    ("[ab]", "[ab]", "a"),
    ("x{2}", "x{2}", "xx"),
    ("^start$", "^start$", "start"),
    ("a|b", "a|b", "a"),
    ("a.c", "a.c", "abc"),
    ("a+", "a+", "aaa"),
    (r"\d", r"\d", "1"),
])
def test_other_regex_characters_are_literal(pattern: str, literal_event: str,
                                            regex_only_event: str) -> None:
    assert matches(pattern, literal_event)
    assert not matches(pattern, regex_only_event)


@pytest.mark.parametrize("pattern,literal_event,glob_or_regex_only_event", [
    ("a?*", "a?b", "abb"),
    ("[ab]*", "[ab]x", "ax"),
    ("*[!x]", "y[!x]", "yz"),
    ("*.(usd)+", "price.(usd)+", "price.usdusd"),
    ("x.*+", "x.y+", "x.y"),
    ("*a{2}", "ba{2}", "baa"),
    ("^*$", "^mid$", "mid"),
])
def test_glob_and_regex_characters_beside_star_are_literal(
        pattern: str, literal_event: str, glob_or_regex_only_event: str) -> None:
    assert matches(pattern, literal_event)
    assert not matches(pattern, glob_or_regex_only_event)


@pytest.mark.parametrize("pattern,event", [
    ("price.(*", "price.(usd"),
    ("[*", "[unclosed"),
    ("*)", "unbalanced)"),
    ("(((*", "((((deep"),
    ("*\\", "trailing\\"),
    ("?*", "?question"),
    ("*[a-", "bad[a-"),
    ("+*", "+plus"),
])
def test_regex_invalid_patterns_register_and_match_without_error(pattern: str,
                                                                 event: str) -> None:
    assert matches(pattern, event)


@pytest.mark.parametrize("event", ["(", "[", "a)b", "*", "**", "\\", "x[y", "(?P<", "{,}"])
def test_no_event_name_raises_whatever_patterns_exist(event: str) -> None:
    reg = HookRegistry()
    calls: List[str] = []
    for pattern in ["*", "(*", "*[", "a*)b", "x*y", "\\*"]:
        reg.register(pattern, lambda d, p=pattern: calls.append(p))
    reg.trigger(event)  # must not raise
    assert "*" in calls


def test_literal_star_event_name_matches_star_pattern_and_itself() -> None:
    reg = HookRegistry()
    calls: List[str] = []
    reg.register("a*", lambda d: calls.append("a*"))
    reg.trigger("a*")
    reg.trigger("abc")
    assert calls == ["a*", "a*"]


def test_exact_and_wildcard_hooks_both_run() -> None:
    reg = HookRegistry()
    seen: List[str] = []
    reg.register("order.paid", lambda d: seen.append("exact"))
    reg.register("order.*", lambda d: seen.append("order.*"))
    reg.register("*", lambda d: seen.append("*"))
    reg.register("*.paid", lambda d: seen.append("*.paid"))
    reg.register("order.refunded", lambda d: seen.append("wrong"))
    reg.trigger("order.paid")
    assert seen == ["exact", "order.*", "*", "*.paid"]


def test_wildcard_hooks_transform_data_in_chain() -> None:
    reg = HookRegistry()
    reg.register("price.*", lambda d: d * 2, priority=10)
    reg.register("price.eur", lambda d: d + 1, priority=20)
    assert reg.trigger("price.eur", 10) == 22
    assert reg.trigger("price.usd", 10) == 20


def test_get_hooks_includes_matching_wildcards_only() -> None:
    reg = HookRegistry()
    exact: Callable[[Any], Any] = lambda d: d  # noqa: E731
    wild: Callable[[Any], Any] = lambda d: d  # noqa: E731
    other: Callable[[Any], Any] = lambda d: d  # noqa: E731
    reg.register("user.login", exact)
    reg.register("user.*", wild)
    reg.register("admin.*", other)
    assert [r.callback for r in reg.get_hooks("user.login")] == [exact, wild]
    assert [r.callback for r in reg.get_hooks("user.logout")] == [wild]
    assert reg.get_hooks("nothing") == []


def test_unregister_wildcard_by_its_pattern() -> None:
    reg = HookRegistry()
    seen: List[str] = []

    def fn(d: Any) -> None:
        seen.append("hit")

    reg.register("user.*", fn)
    reg.trigger("user.login")
    reg.unregister("user.login", fn)  # the pattern is the registered name
    reg.trigger("user.login")
    assert seen == ["hit", "hit"]
    reg.unregister("user.*", fn)
    reg.trigger("user.login")
    assert seen == ["hit", "hit"]


def test_trigger_async_honours_wildcards() -> None:
    reg = HookRegistry()

    async def wild(d: List[str]) -> List[str]:
        return d + ["wild"]

    reg.register("job.*", wild)
    reg.register("job.done", lambda d: d + ["exact"], priority=60)
    assert asyncio.run(reg.trigger_async("job.done", [])) == ["exact", "wild"]
    assert asyncio.run(reg.trigger_async("job.started.now", [])) == ["wild"]
    assert asyncio.run(reg.trigger_async("jobs", [])) == []


def test_manager_register_hook_accepts_wildcards() -> None:
    manager = PluginManager()
    seen: List[Any] = []
    manager.register_hook("cart.*", lambda d: seen.append(d))
    manager.trigger("cart.item.added", 1)
    manager.trigger("cart.cleared", 2)
    manager.trigger("checkout", 3)
    assert seen == [1, 2]


def test_many_patterns_only_matching_ones_run() -> None:
    reg = HookRegistry()
    seen: List[int] = []
    for i in range(200):
        reg.register("svc%d.*" % i, lambda d, i=i: seen.append(i))
    reg.trigger("svc17.call")
    reg.trigger("svc170.call")
    assert seen == [17, 170]
