"""Property tests (SPEC section 11): wildcard matching against a reference
matcher, and chain order and data flow against a reference model over
random sequences of register, unregister, enable, disable and trigger."""

import asyncio
import logging
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from nitro_dispatch import HookRegistry, PluginBase, PluginManager, StopPropagation, hook
from nitro_dispatch._hooks import match_pattern

# -- wildcard matching ---------------------------------------------------------------

# Characters that are special to regular expressions, fnmatch or both, so a
# matcher that leaned on either would be caught.
ALPHABET = "ab.*?[]()+\\^$|{}-\n"


def reference_match(pattern, event):
    """``*`` matches any run of characters (dots and newlines included);
    every other character matches itself."""
    regex = "".join(".*" if part == "*" else re.escape(part)
                    for part in re.split(r"(\*)", pattern))
    return re.fullmatch(regex, event, re.DOTALL) is not None


names = st.text(alphabet=ALPHABET, min_size=1, max_size=8)


@settings(deadline=None, max_examples=1500)
@given(pattern=names, event=names)
def test_match_pattern_agrees_with_the_reference(pattern, event):
    assert match_pattern(pattern, event) == reference_match(pattern, event)


@settings(deadline=None, max_examples=500)
@given(pattern=names, event=st.text(alphabet=ALPHABET.replace("*", ""), min_size=1,
                                    max_size=8))
def test_a_pattern_matches_what_it_was_made_from(pattern, event):
    # Replace each ``*`` by a piece of the event: the result must match.
    filled = pattern.replace("*", event)
    assert match_pattern(pattern, filled)
    assert reference_match(pattern, filled)


@settings(deadline=None, max_examples=300)
@given(patterns=st.lists(names, min_size=1, max_size=5), events=st.lists(names, max_size=5))
def test_triggers_run_the_hooks_whose_names_match(patterns, events):
    reg = HookRegistry()
    for i, pattern in enumerate(patterns):
        reg.register(pattern, lambda data, i=i: data + [i])
    for event in events + patterns:
        expected = [i for i, p in enumerate(patterns)
                    if (reference_match(p, event) if "*" in p else p == event)]
        assert reg.trigger(event, []) == expected
        assert [r.event for r in reg.get_hooks(event)] == [patterns[i] for i in expected]


# -- chain order and data flow against a model -----------------------------------------

EVENTS = ["a", "a.x", "b"]
REGISTER_NAMES = EVENTS + ["a*", "*", "*.x"]
PRIORITIES = [0, 50, 50, 90]
BEHAVIOURS = ["append", "none", "raise", "stop"]


class Model:
    """What the manager should do, kept as plainly as possible."""

    def __init__(self):
        self.hooks = []  # dicts: id, name, priority, seq, owner, behaviour
        self.enabled = {}  # plugin name -> enabled
        self.seq = 0

    def add(self, hook_id, name, priority, owner, behaviour):
        self.seq += 1
        self.hooks.append(dict(id=hook_id, name=name, priority=priority, seq=self.seq,
                               owner=owner, behaviour=behaviour))

    def run(self, event):
        chain = [h for h in self.hooks
                 if (reference_match(h["name"], event) if "*" in h["name"]
                     else h["name"] == event)
                 and (h["owner"] is None or self.enabled[h["owner"]])]
        chain.sort(key=lambda h: (-h["priority"], h["seq"]))
        data = []
        for h in chain:
            if h["behaviour"] == "append":
                data = data + [h["id"]]
            elif h["behaviour"] == "stop":
                break
        return data


def behave(hook_id, behaviour):
    def run(data):
        if behaviour == "append":
            return data + [hook_id]
        if behaviour == "raise":
            raise RuntimeError("hook %d fails" % hook_id)
        if behaviour == "stop":
            raise StopPropagation()
        return None
    return run


def plugin_class(name, hook_id, event, priority, behaviour):
    run = behave(hook_id, behaviour)
    return type("P_" + name, (PluginBase,), {
        "name": name,
        "handle": hook(event, priority=priority)(lambda self, data: run(data)),
    })


hook_spec = st.tuples(st.sampled_from(REGISTER_NAMES), st.sampled_from(PRIORITIES),
                      st.sampled_from(BEHAVIOURS))
operations = st.lists(st.one_of(
    st.tuples(st.just("hook"), hook_spec),
    st.tuples(st.just("plugin"), hook_spec),
    st.tuples(st.just("unhook"), st.integers(0, 30)),
    st.tuples(st.just("unregister"), st.integers(0, 30)),
    st.tuples(st.just("enable"), st.integers(0, 30)),
    st.tuples(st.just("disable"), st.integers(0, 30)),
    st.tuples(st.just("trigger"), st.sampled_from(EVENTS)),
), max_size=40)


@settings(deadline=None, max_examples=250)
@given(ops=operations, async_too=st.booleans())
def test_chain_order_and_data_flow_follow_the_model(ops, async_too):
    logging.getLogger("nitro_dispatch").setLevel(logging.CRITICAL)  # hooks that raise
    manager = PluginManager()
    model = Model()
    plain = []  # (hook id, registered name, callback) of plain hooks still registered
    plugins = []  # names of registered plugins
    loop = asyncio.new_event_loop() if async_too else None
    try:
        for step, (op, arg) in enumerate(ops):
            if op == "hook":
                name, priority, behaviour = arg
                callback = behave(step, behaviour)
                manager.register_hook(name, callback, priority=priority)
                model.add(step, name, priority, None, behaviour)
                plain.append((step, name, callback))
            elif op == "plugin":
                name, priority, behaviour = arg
                plugin = "p%d" % step
                manager.register(plugin_class(plugin, step, name, priority, behaviour))
                manager.load(plugin)
                model.enabled[plugin] = True
                model.add(step, name, priority, plugin, behaviour)
                plugins.append(plugin)
            elif op == "unhook" and plain:
                hook_id, name, callback = plain.pop(arg % len(plain))
                assert manager.unregister_hook(name, callback)
                model.hooks = [h for h in model.hooks if h["id"] != hook_id]
            elif op == "unregister" and plugins:
                plugin = plugins.pop(arg % len(plugins))
                manager.unregister(plugin)
                model.hooks = [h for h in model.hooks if h["owner"] != plugin]
                del model.enabled[plugin]
            elif op in ("enable", "disable") and plugins:
                plugin = plugins[arg % len(plugins)]
                if op == "enable":
                    manager.enable_plugin(plugin)
                else:
                    manager.disable_plugin(plugin)
                model.enabled[plugin] = op == "enable"
            elif op == "trigger":
                expected = model.run(arg)
                assert manager.trigger(arg, []) == expected
                if loop is not None:
                    assert loop.run_until_complete(manager.trigger_async(arg, [])) == expected
        for event in EVENTS:  # the final state, whatever the sequence ended with
            assert manager.trigger(event, []) == model.run(event)
    finally:
        if loop is not None:
            loop.close()
