"""The plan cache under local invalidation (SPEC section 12): a change
drops only the plans it affects, the cache stays correct after any
sequence of changes, and a full cache evicts one plan at a time.

The cache is introspected through ``HookRegistry._events`` (event name ->
its event object, whose ``plan`` is the cached immutable plan), private
state these tests of the registry are allowed to read."""

from __future__ import annotations

import doctest
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nitro_dispatch._patterns
import nitro_dispatch._registry as registry_module
from nitro_dispatch import EventSpec, HookRegistry, PluginBase
from nitro_dispatch._hooks import match_pattern

# Hypothesis imports mypy_extensions when it reports a failing example; its
# deprecation warning must not hide the report (warnings are errors here).
pytestmark = pytest.mark.filterwarnings(
    "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning")

EVENTS = ["a", "a.b", "a.b.c", "b.c", "c", "ab", "x.y"]
PATTERNS = ["a.*", "*.c", "*", "a*c", "*b*", "a*", "x.*.y", "*.y"]
NAMES = EVENTS + PATTERNS


class Owner(PluginBase):
    name = "owner"


def tagger(tag: int) -> Callable[[List[int]], List[int]]:
    def hook(data: List[int]) -> List[int]:
        return data + [tag]
    return hook


class Model:
    """The oracle: registrations in order, no cache at all."""

    def __init__(self) -> None:
        # (tag, name, owner index or None, priority, seq)
        self.regs: List[Tuple[int, str, Optional[int], int, int]] = []
        self.enabled = [True, True]

    def chain(self, event: str) -> List[int]:
        hits = [r for r in self.regs if match_pattern(r[1], event)
                and (r[2] is None or self.enabled[r[2]])]
        hits.sort(key=lambda r: (-r[3], r[4]))
        return [r[0] for r in hits]


OPS = st.one_of(
    st.tuples(st.just("register"), st.sampled_from(NAMES), st.sampled_from([None, 0, 1]),
              st.integers(0, 3)),
    st.tuples(st.just("unregister"), st.integers(0, 40)),
    st.tuples(st.just("remove_record"), st.integers(0, 40)),
    st.tuples(st.just("unregister_plugin"), st.sampled_from([0, 1])),
    st.tuples(st.just("toggle"), st.sampled_from([0, 1])),
    st.tuples(st.just("clear_event"), st.sampled_from(NAMES)),
    st.tuples(st.just("trigger"), st.sampled_from(EVENTS)),
)


def fresh_registry(model: Model, owners: List[Owner]) -> HookRegistry:
    """A registry built from scratch with the model's registrations."""
    reg = HookRegistry()
    for tag, name, owner, priority, _ in model.regs:
        reg.register(name, tagger(tag), plugin=None if owner is None else owners[owner],
                     priority=priority)
    return reg


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(OPS, max_size=40))
def test_cached_plans_agree_with_a_fresh_plan_oracle(ops: List[Tuple[Any, ...]]) -> None:
    reg = HookRegistry()
    owners = [Owner(), Owner()]
    model = Model()
    records: Dict[int, Any] = {}  # tag -> (record, callback)
    tag = 0
    for op in ops:
        kind = op[0]
        if kind == "register":
            _, name, owner, priority = op
            tag += 1
            callback = tagger(tag)
            rec = reg.register(name, callback, plugin=None if owner is None else owners[owner],
                               priority=priority)
            model.regs.append((tag, name, owner, priority, rec.seq))
            records[tag] = (rec, callback)
        elif kind in ("unregister", "remove_record") and model.regs:
            entry = model.regs[op[1] % len(model.regs)]
            rec, callback = records[entry[0]]
            if kind == "unregister":
                assert reg.unregister(entry[1], callback, rec.plugin)
            else:
                assert reg.remove_record(rec)
            model.regs.remove(entry)
        elif kind == "unregister_plugin":
            expected = sum(1 for r in model.regs if r[2] == op[1])
            assert reg.unregister_plugin(owners[op[1]]) == expected
            model.regs = [r for r in model.regs if r[2] != op[1]]
        elif kind == "toggle":
            model.enabled[op[1]] = not model.enabled[op[1]]
            owners[op[1]].enabled = model.enabled[op[1]]
        elif kind == "clear_event":
            reg.clear_event(op[1])
            model.regs = [r for r in model.regs if r[1] != op[1]]
        elif kind == "trigger":
            assert reg.trigger(op[1], []) == model.chain(op[1])
        # After every step the whole (partly cached) registry agrees with
        # the model and with a registry that never cached anything.
        fresh = fresh_registry(model, owners)
        assert set(plans(reg)) <= set(reg._cached._names)  # the name index covers the cache
        assert_trigger_table_follows_the_plans(reg)
        for event in EVENTS:
            expected = model.chain(event)
            assert reg.trigger(event, []) == expected, (event, ops)
            assert fresh.trigger(event, []) == expected
            assert [r.callback([]) for r in reg.get_hooks(event)] == \
                [r.callback([]) for r in fresh.get_hooks(event)]


def plans(reg: HookRegistry) -> Dict[str, Any]:
    """The cached plans, by event name."""
    return {name: ev.plan for name, ev in reg._events.items() if ev.plan is not None}


def assert_trigger_table_follows_the_plans(reg: HookRegistry) -> None:
    """What ``trigger`` reads (the trigger table) is made from the cached
    plans and nothing else: an entry per plan, the loop it names being the
    plan's own chain, and none left behind by a dropped plan."""
    cached = plans(reg)
    assert set(reg._triggers) == set(cached)
    for name, (chain, first, run) in reg._triggers.items():
        plan = cached[name]
        assert chain is None or (chain is plan.fast and plan.mode == "chain"
                                 and not plan.wrappers)
        assert first is None or (first is plan.fast and plan.mode == "first"
                                 and not plan.wrappers)
        assert chain is None or first is None
        assert callable(run)


def warm(reg: HookRegistry, events: List[str]) -> Dict[str, Any]:
    for event in events:
        reg.trigger(event, 0)
    return dict(plans(reg))


def test_an_exact_change_drops_only_that_events_plan() -> None:
    reg = HookRegistry()
    events = ["e%d" % i for i in range(100)]
    for event in events:
        reg.register(event, lambda d: d + 1)
    before = warm(reg, events)
    reg.register("e7", lambda d: d * 10)
    assert "e7" not in plans(reg)
    assert all(plans(reg)[e] is before[e] for e in events if e != "e7")
    assert reg.trigger("e7", 1) == 20
    reg.unregister("e7", reg.get_hooks("e7")[0].callback)
    assert all(plans(reg)[e] is before[e] for e in events if e != "e7")


def test_a_pattern_change_drops_the_plans_of_the_events_it_matches() -> None:
    reg = HookRegistry()
    events = ["user.%d" % i for i in range(10)] + ["order.%d" % i for i in range(10)]
    before = warm(reg, events)
    reg.register("user.*", lambda d: d + 1)
    assert sorted(plans(reg)) == sorted("order.%d" % i for i in range(10))
    assert all(plans(reg)[e] is before[e] for e in plans(reg))
    assert reg.trigger("user.3", 1) == 2 and reg.trigger("order.3", 1) == 1
    warm(reg, events)
    kept = dict(plans(reg))
    reg.clear_event("user.*")
    assert sorted(plans(reg)) == sorted("order.%d" % i for i in range(10))
    assert all(plans(reg)[e] is kept[e] for e in plans(reg))
    assert reg.trigger("user.3", 1) == 1


def test_a_toggled_plugin_drops_only_the_plans_holding_its_hooks() -> None:
    reg = HookRegistry()
    owner = Owner()
    reg.register("a", lambda d: d + 1, plugin=owner)
    reg.register("b.*", lambda d: d + 10, plugin=owner)
    for event in ("c", "d", "b.x"):
        reg.register(event, lambda d: d + 100)
    events = ["a", "b.x", "b.y", "c", "d"]
    before = warm(reg, events)
    owner.enabled = False
    assert sorted(plans(reg)) == ["c", "d"]
    assert plans(reg)["c"] is before["c"] and plans(reg)["d"] is before["d"]
    assert [reg.trigger(e, 0) for e in events] == [0, 100, 0, 100, 100]
    owner.enabled = True
    assert [reg.trigger(e, 0) for e in events] == [1, 110, 10, 100, 100]


def test_unregister_plugin_touches_only_the_plugins_events() -> None:
    reg = HookRegistry()
    owner, other = Owner(), Owner()
    reg.register("mine", lambda d: d + 1, plugin=owner)
    reg.register("shared", lambda d: d + 1, plugin=owner)
    reg.register("shared", lambda d: d + 10, plugin=other)
    reg.register("theirs", lambda d: d + 10, plugin=other)
    before = warm(reg, ["mine", "shared", "theirs"])
    assert reg.unregister_plugin(owner) == 2
    assert reg.unregister_plugin(owner) == 0
    assert sorted(plans(reg)) == ["theirs"] and plans(reg)["theirs"] is before["theirs"]
    assert [reg.trigger(e, 0) for e in ("mine", "shared", "theirs")] == [0, 10, 10]
    assert id(owner) not in reg._by_plugin
    owner.enabled = False  # no longer watched here: nothing to drop, nothing breaks
    assert reg.trigger("shared", 0) == 10


def test_a_full_cache_evicts_one_plan_at_a_time_oldest_first(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_module, "_MAX_TRANSIENT", 3)
    reg = HookRegistry()
    reg.register("hooked", lambda d: d + 1)  # an event with hooks keeps its plan
    reg.trigger("hooked", 0)
    for name in ("n0", "n1", "n2"):
        reg.trigger(name, 0)
    assert list(plans(reg)) == ["hooked", "n0", "n1", "n2"]
    reg.trigger("n3", 0)
    assert list(plans(reg)) == ["hooked", "n1", "n2", "n3"]
    assert "n0" not in reg._events  # nothing but a plan lived there
    reg.trigger("n4", 0)
    assert list(plans(reg)) == ["hooked", "n2", "n3", "n4"]
    assert reg.trigger("n0", 0) == 0  # rebuilt when needed
    assert list(plans(reg)) == ["hooked", "n3", "n4", "n0"]
    assert set(plans(reg)) <= set(reg._cached._names)
    assert_trigger_table_follows_the_plans(reg)  # an evicted plan leaves no entry


def test_round_robin_over_many_hooked_events_keeps_every_plan() -> None:
    reg = HookRegistry()
    events = ["ev%d" % i for i in range(registry_module._MAX_TRANSIENT + 100)]
    for event in events:
        reg.register(event, lambda d: d)
    for event in events:
        reg.trigger(event, 0)
    first = plans(reg)[events[0]]
    for event in events:
        reg.trigger(event, 0)
    assert len(plans(reg)) == len(events) and plans(reg)[events[0]] is first


def test_clear_all_empties_every_index() -> None:
    reg = HookRegistry()
    owner = Owner()
    reg.register("a.*", lambda d: d + 1, plugin=owner)
    reg.register("a.b", lambda d: d + 1, plugin=owner)
    warm(reg, ["a.b"])
    reg.clear_all()
    assert plans(reg) == {} and reg._by_plugin == {} and len(reg._index) == 0
    assert reg._triggers == {}
    assert reg.trigger("a.b", 0) == 0


@given(st.lists(st.sampled_from(PATTERNS + ["*a*b*", "**", "a.b.c*", "*.b.c"]), unique=True),
       st.text(alphabet="abc.xy*", max_size=6))
def test_pattern_index_matches_exactly_like_match_pattern(patterns: List[str],
                                                          event: str) -> None:
    index = nitro_dispatch._patterns.PatternIndex()
    for pattern in patterns:
        index.add(pattern)
    expected = sorted(p for p in patterns if match_pattern(p, event))
    assert sorted(index.matching(event)) == expected
    for pattern in patterns[::2]:
        index.discard(pattern)
    index.discard("never.*")  # unknown patterns are ignored
    left = patterns[1::2]
    assert len(index) == len(left)
    assert sorted(index.matching(event)) == sorted(p for p in left if match_pattern(p, event))


@given(st.lists(st.text(alphabet="ab.c", max_size=5), unique=True),
       st.sampled_from(PATTERNS + ["*a*b*", "**", "a.b.c*", "*.b.c", "ab*ba"]))
def test_name_index_finds_exactly_the_names_a_pattern_matches(names: List[str],
                                                              pattern: str) -> None:
    index = nitro_dispatch._patterns.NameIndex(names[:3])
    for name in names + names[:2]:  # adding a name twice keeps it once
        index.add(name)
    assert len(index) == len(names)
    assert sorted(index.matching(pattern)) == sorted(n for n in names
                                                     if match_pattern(pattern, n))


def test_the_name_index_is_rebuilt_when_far_larger_than_the_cache(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_module, "_MAX_TRANSIENT", 10)
    reg = HookRegistry()
    for i in range(3000):  # ever-new names: the cache evicts, the index must not grow forever
        reg.trigger("name%d" % i, 0)
    assert len(plans(reg)) == 10
    assert len(reg._cached) <= 2 * 10 + 1024 + 1
    assert set(plans(reg)) <= set(reg._cached._names)
    reg.register("name29*", lambda d: d + 1)  # matches name2990 .. name2999, all cached
    assert list(plans(reg)) == []
    assert reg.trigger("name2995", 0) == 1


def test_pattern_index_docstring_example() -> None:
    result = doctest.testmod(nitro_dispatch._patterns)
    assert result.attempted > 0 and result.failed == 0


def test_concurrent_local_changes_leave_no_stale_plan() -> None:
    """Triggers in many threads while another thread registers, removes and
    toggles: afterwards every cached plan agrees with a fresh registry (a
    plan built before a change must never be filed after it)."""
    import threading

    reg = HookRegistry()
    owner = Owner()
    events = ["t%d.x" % i for i in range(20)]
    for i, event in enumerate(events):
        reg.register(event, tagger(i))
    stop = threading.Event()
    errors: List[BaseException] = []

    def trigger_loop() -> None:
        try:
            while not stop.is_set():
                for event in events:
                    reg.trigger(event, [])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=trigger_loop) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for round_ in range(300):
            hook = tagger(1000 + round_)
            reg.register("t%d.*" % (round_ % 20), hook, plugin=owner)
            reg.register(events[round_ % 20], hook)
            owner.enabled = not owner.enabled
            reg.unregister(events[round_ % 20], hook)
            if round_ % 3:
                reg.unregister("t%d.*" % (round_ % 20), hook, owner)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []
    left = dict(plans(reg))  # as the concurrent phase left them, before any new trigger
    fresh = HookRegistry()  # the same registrations, in registration order, never cached
    records = {id(r): r for e in events for r in reg.get_hooks(e)}
    for rec in sorted(records.values(), key=lambda r: r.seq):
        fresh.register(rec.event, rec.callback, plugin=rec.plugin, priority=rec.priority)
    for event in events:
        expected = fresh.trigger(event, [])
        if event in left:
            assert [r.callback([]) for r in left[event].sync] == \
                [[tag] for tag in expected], event
        assert reg.trigger(event, []) == expected


def test_first_and_historic_events_keep_the_trigger_table_in_step() -> None:
    reg = HookRegistry()
    reg.declare([EventSpec("ask", mode="first"), EventSpec("told", historic=True)])
    reg.register("ask", lambda d: None)
    reg.register("ask", lambda d: d + 1, priority=10)
    reg.register("told", lambda d: d)
    assert reg.trigger("ask", 1) == 2 and reg.trigger("told", 5) == 5
    assert_trigger_table_follows_the_plans(reg)
    assert reg._triggers["ask"][1] is not None and reg._triggers["told"][:2] == (None, None)
    reg.register("ask", lambda d: d * 10, priority=90)  # drops the plan and its entry
    assert "ask" not in reg._triggers
    assert reg.trigger("ask", 1) == 10
    assert_trigger_table_follows_the_plans(reg)


def test_a_subclass_overriding_trigger_keeps_its_override_and_super() -> None:
    class Counting(HookRegistry):
        def __init__(self) -> None:
            super().__init__()
            self.calls = 0

        def trigger(self, event_name: str, data: Any = None) -> Any:
            self.calls += 1
            return super().trigger(event_name, data)

    reg = Counting()
    reg.register("e", lambda d: d + 1)
    assert reg.trigger("e", 1) == 2 and reg.trigger("nothing", 3) == 3
    assert reg.calls == 2
    plain = HookRegistry()
    assert plain.trigger is not HookRegistry.trigger.__get__(plain)  # its own function
    assert plain.trigger.__doc__ == HookRegistry.trigger.__doc__
