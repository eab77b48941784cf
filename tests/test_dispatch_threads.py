"""Thread safety and re-entrancy (SPEC section 2): many threads trigger and
register at once; every chain runs a consistent snapshot; a hook may
trigger other events."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from typing import Any, Callable, Dict, List, Tuple

import pytest

from nitro_dispatch import HookRegistry, PluginBase, PluginManager, hook

Entry = Tuple[int, int]  # (priority, registration number) a hook appends to the data


def tagger(priority: int, number: int) -> Callable[[List[Entry]], None]:
    def fn(data: List[Entry]) -> None:
        data.append((priority, number))

    return fn


class Toggled(PluginBase):
    name = "toggled"


def check_chain(chain: List[Entry], permanent: List[Entry]) -> None:
    """A consistent snapshot: priority order, ties in registration order,
    no hook twice, and every permanent hook present."""
    keys = [(-prio, number) for prio, number in chain]
    assert keys == sorted(keys), chain
    assert len(set(chain)) == len(chain), chain
    for entry in permanent:
        assert entry in chain, (entry, chain)


@pytest.mark.parametrize("mode", ["plain", "traced", "collect_all", "manager"])
def test_stress_trigger_while_registering_and_unregistering(mode: str) -> None:
    target: Any = PluginManager() if mode == "manager" else HookRegistry()
    if mode == "traced":
        target.enable_hook_tracing(True)
    if mode == "collect_all":
        target.set_error_strategy("collect_all")
    register = target.register_hook if mode == "manager" else target.register
    unregister = target.unregister_hook if mode == "manager" else target.unregister

    numbering = threading.Lock()  # number and registration happen together
    counter = [0]

    def add(event: str, priority: int, plugin: Any = None) -> Tuple[Callable[..., Any], Entry]:
        with numbering:
            counter[0] += 1
            entry = (priority, counter[0])
            fn = tagger(*entry)
            register(event, fn, plugin=plugin, priority=priority)
        return fn, entry

    permanent = [add("job.run", p)[1] for p in (90, 50, 50, 10)]
    permanent.append(add("job.*", 50)[1])
    toggled = Toggled()
    add("job.run", 50, plugin=toggled)

    stop = threading.Event()
    problems: List[BaseException] = []
    chains: List[List[Entry]] = []
    chains_lock = threading.Lock()

    def triggerer() -> None:
        try:
            while not stop.is_set():
                chain = target.trigger("job.run", [])
                with chains_lock:
                    chains.append(chain)
        except BaseException as exc:  # reported below
            problems.append(exc)

    def registrar(seed: int) -> None:
        rnd = random.Random(seed)
        try:
            while not stop.is_set():
                event = rnd.choice(["job.run", "job.*", "*", "job.other"])
                fn, _ = add(event, rnd.choice([10, 50, 70]))
                time.sleep(0)
                unregister(event, fn)
        except BaseException as exc:  # reported below
            problems.append(exc)

    def toggler() -> None:
        try:
            while not stop.is_set():
                toggled.enabled = not toggled.enabled
                time.sleep(0.0005)
        except BaseException as exc:  # reported below
            problems.append(exc)

    threads = [threading.Thread(target=triggerer) for _ in range(4)]
    threads += [threading.Thread(target=registrar, args=(seed,)) for seed in range(3)]
    threads.append(threading.Thread(target=toggler))
    for t in threads:
        t.start()
    time.sleep(0.4)
    stop.set()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert problems == []
    assert len(chains) > 20
    for chain in chains:
        check_chain(chain, permanent)
    # after the storm only the permanent hooks (and maybe the toggled one) remain
    toggled.enabled = True
    final = target.trigger("job.run", [])
    assert len(final) == len(permanent) + 1
    check_chain(final, permanent)


def test_concurrent_registration_loses_no_hook() -> None:
    reg = HookRegistry()
    barrier = threading.Barrier(8)
    problems: List[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait(5)
            for j in range(50):
                reg.register("ev", tagger(i, j), priority=i)
                if j % 10 == 0:
                    reg.trigger("ev", [])
        except BaseException as exc:  # reported below
            problems.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert problems == []
    chain = reg.trigger("ev", [])
    assert len(chain) == 400
    assert [p for p, _ in chain] == sorted((p for p, _ in chain), reverse=True)
    for i in range(8):  # ties in registration order
        assert [n for p, n in chain if p == i] == list(range(50))


def test_concurrent_triggers_get_their_own_data() -> None:
    reg = HookRegistry()
    reg.register("ev", lambda d: d * 2)
    reg.register("ev", lambda d: d + 1, priority=0)
    results: Dict[int, Any] = {}
    barrier = threading.Barrier(6)

    def worker(i: int) -> None:
        barrier.wait(5)
        results[i] = [reg.trigger("ev", i * 1000 + k) for k in range(200)]

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == {i: [(i * 1000 + k) * 2 + 1 for k in range(200)] for i in range(6)}


# -- re-entrancy ----------------------------------------------------------------

def test_hook_may_trigger_another_event() -> None:
    reg = HookRegistry()
    reg.register("inner", lambda d: d + ["inner"])
    reg.register("outer", lambda d: reg.trigger("inner", d + ["outer-start"]), priority=90)
    reg.register("outer", lambda d: d + ["outer-end"], priority=10)
    assert reg.trigger("outer", []) == ["outer-start", "inner", "outer-end"]


def test_hook_may_trigger_the_same_event_recursively() -> None:
    reg = HookRegistry()

    def countdown(n: int) -> int:
        return n if n == 0 else reg.trigger("count", n - 1) + 0

    calls: List[int] = []
    reg.register("count", lambda n: calls.append(n), priority=90)
    reg.register("count", countdown)
    assert reg.trigger("count", 5) == 0
    assert calls == [5, 4, 3, 2, 1, 0]


@pytest.mark.parametrize("mode", ["traced", "collect_all", "timed"])
def test_reentrant_trigger_in_general_runner(mode: str) -> None:
    reg = HookRegistry()
    if mode == "traced":
        reg.enable_hook_tracing(True)
    if mode == "collect_all":
        reg.set_error_strategy("collect_all")
    timeout = 5.0 if mode == "timed" else None
    reg.register("inner", lambda d: d + ["inner"], timeout=timeout)
    reg.register("outer", lambda d: reg.trigger("inner", d + ["outer"]), timeout=timeout)
    reg.register("outer", lambda d: d + ["end"], priority=0, timeout=timeout)
    assert reg.trigger("outer", []) == ["outer", "inner", "end"]


def test_reentrant_trigger_from_an_error_handler() -> None:
    reg = HookRegistry()
    notes: List[Any] = []

    def failing(d: Any) -> Any:
        raise RuntimeError("x")

    reg.register("audit", lambda d: notes.append(d))
    reg.register("nitro.plugin.error", lambda p: reg.trigger("audit", str(p["error"])))
    reg.register("ev", failing)
    assert reg.trigger("ev", 1) == 1
    assert notes == ["x"]


def test_async_hook_may_trigger_async_another_event() -> None:
    reg = HookRegistry()

    async def inner(d: List[str]) -> List[str]:
        await asyncio.sleep(0)
        return d + ["inner"]

    async def outer(d: List[str]) -> List[str]:
        result: List[str] = await reg.trigger_async("inner", d + ["outer"])
        return result

    reg.register("inner", inner)
    reg.register("outer", outer)
    reg.register("outer", lambda d: d + ["sync-end"], priority=0)
    assert asyncio.run(reg.trigger_async("outer", [])) == ["outer", "inner", "sync-end"]


class Relay(PluginBase):
    name = "relay"

    @hook("order.placed")
    def relay(self, data: Dict[str, Any]) -> Dict[str, Any]:
        return self.trigger("order.notify", dict(data, relayed=True))

    @hook("order.notify")
    def notify(self, data: Dict[str, Any]) -> Dict[str, Any]:
        return dict(data, notified=True)


def test_plugin_trigger_from_its_own_hook_is_reentrant() -> None:
    manager = PluginManager()
    manager.register(Relay)
    manager.load("relay")
    assert manager.trigger("order.placed", {"id": 1}) == {
        "id": 1, "relayed": True, "notified": True}


def test_registering_from_hooks_in_many_threads_keeps_chains_consistent() -> None:
    reg = HookRegistry()
    added: List[Callable[..., Any]] = []
    lock = threading.Lock()

    def spawner(d: List[str]) -> List[str]:
        fn = lambda x: x + ["spawned"]  # noqa: E731
        with lock:
            added.append(fn)
        reg.register("ev", fn, priority=0)
        return d + ["spawner"]

    reg.register("ev", spawner, priority=90)
    results: Dict[int, List[List[str]]] = {}
    problems: List[BaseException] = []

    def worker(i: int) -> None:
        try:
            results[i] = [reg.trigger("ev", []) for _ in range(20)]
        except BaseException as exc:  # reported below
            problems.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert problems == []
    assert sorted(results) == [0, 1, 2, 3]
    for outs in results.values():
        for k, out in enumerate(outs):
            assert out[0] == "spawner" and set(out[1:]) <= {"spawned"}
            # this thread's own earlier spawns are registered before its k-th trigger
            assert len(out) - 1 >= k
    # 80 hooks were spawned; the one this trigger spawns does not run in it
    assert reg.trigger("ev", []) == ["spawner"] + ["spawned"] * 80
    assert len(added) == 81
