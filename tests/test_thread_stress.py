"""Thread stress (SPEC section 11), bounded to a few seconds: while one
thread registers, unregisters, enables and disables hooks, others trigger,
and every trigger must have run exactly the hooks registered and enabled
for the whole trigger (those that changed meanwhile may or may not run),
each once, in priority order."""

import asyncio
import random
import sys
import threading
import time

from nitro_dispatch import PluginBase, PluginManager, hook

SECONDS = 4.0
PLAIN = 12  # plain hooks 0..11; plugin hooks follow
PLUGINS = 6


def appender(hook_id):
    def run(data):
        return data + [hook_id]
    return run


def plugin_class(index):
    hook_id = PLAIN + index
    name = "stress%d" % index
    return type("Stress%d" % index, (PluginBase,), {
        "name": name,
        # Distinct priorities: the right order is plainly by priority.
        "handle": hook("s.*" if index % 2 else "s.x", priority=1000 - hook_id)(
            lambda self, data: data + [hook_id]),
    })


def test_every_trigger_runs_exactly_the_hooks_active_throughout():
    rng = random.Random(1234)
    manager = PluginManager()
    callbacks = {i: appender(i) for i in range(PLAIN)}
    names = {i: ("s.x" if i % 3 else "s.*") for i in range(PLAIN)}
    priority = {i: 1000 - i for i in range(PLAIN + PLUGINS)}
    for index in range(PLUGINS):
        manager.register(plugin_class(index))
    manager.load_all()
    active = set(range(PLAIN, PLAIN + PLUGINS))  # plugin hooks start enabled
    # states[k]: the active hooks after k mutations; ``begun``/``finished``
    # count mutations started and done (only the mutator writes them).  A
    # mutation's state is filed before it begins, so a trigger that reads
    # ``begun`` finds every state it may have seen.
    states = [frozenset(active)]
    counters = {"begun": 0, "finished": 0}
    stop = threading.Event()
    failures = []
    triggers = [0]

    def check(result, first, last):
        seen = set(result)
        window = states[first:last + 1]
        must = frozenset.intersection(*window)
        may = frozenset.union(*window)
        if len(seen) != len(result):
            failures.append(("ran twice", result))
        elif not (must <= seen <= may):
            failures.append(("wrong hooks", result, sorted(must), sorted(may)))
        elif [priority[i] for i in result] != sorted((priority[i] for i in result),
                                                     reverse=True):
            failures.append(("wrong order", result))

    def trigger_loop():
        while not stop.is_set():
            first = counters["finished"]
            result = manager.trigger("s.x", [])
            check(result, first, counters["begun"])
            triggers[0] += 1

    def async_loop():
        async def run():
            while not stop.is_set():
                first = counters["finished"]
                result = await manager.trigger_async("s.x", [])
                check(result, first, counters["begun"])
                triggers[0] += 1
                await asyncio.sleep(0)
        asyncio.run(run())

    threads = [threading.Thread(target=trigger_loop) for _ in range(2)]
    threads.append(threading.Thread(target=async_loop))
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)  # switch often: more interleavings
    for thread in threads:
        thread.start()
    mutations = 0
    deadline = time.monotonic() + SECONDS
    try:
        while time.monotonic() < deadline and not failures:
            hook_id = rng.randrange(PLAIN + PLUGINS)
            adding = hook_id not in active
            active.symmetric_difference_update({hook_id})
            states.append(frozenset(active))
            counters["begun"] += 1
            if hook_id < PLAIN:
                if adding:
                    manager.register_hook(names[hook_id], callbacks[hook_id],
                                          priority=priority[hook_id])
                else:
                    manager.unregister_hook(names[hook_id], callbacks[hook_id])
            else:
                plugin = "stress%d" % (hook_id - PLAIN)
                if adding:
                    manager.enable_plugin(plugin)
                else:
                    manager.disable_plugin(plugin)
            counters["finished"] += 1
            mutations += 1
            if mutations % 8 == 0:
                time.sleep(0)  # let the triggers see some states whole
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        sys.setswitchinterval(interval)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    assert mutations > 100 and triggers[0] > 100
    assert manager.trigger("s.x", []) == sorted(active, key=lambda i: -priority[i])
