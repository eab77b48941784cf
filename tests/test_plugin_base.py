"""PluginBase: metadata defaults, @hook collection, and the plugin-side hook API."""

import builtins

from nitro_dispatch import PluginBase, PluginManager, hook


def test_default_metadata():
    class Plain(PluginBase):
        pass

    assert Plain.version == "1.0.0"
    assert list(Plain.dependencies) == []
    assert hasattr(Plain, "description")
    assert hasattr(Plain, "author")
    m = PluginManager()
    m.register(Plain)
    plugin = m.load("Plain")
    assert isinstance(plugin, Plain)
    assert plugin.enabled is True
    assert plugin.version == "1.0.0"


def test_name_defaults_to_class_name():
    class AutoNamed(PluginBase):
        pass

    assert AutoNamed.name == "AutoNamed"
    m = PluginManager()
    assert m.register(AutoNamed) == "AutoNamed"
    assert m.load("AutoNamed").name == "AutoNamed"


def test_subclass_of_auto_named_class_gets_its_own_name():
    class Parent(PluginBase):
        pass

    class Child(Parent):
        pass

    assert Parent.name == "Parent"
    assert Child.name == "Child"
    m = PluginManager()
    assert m.register(Parent) == "Parent"
    assert m.register(Child) == "Child"
    assert m.load("Child").name == "Child"
    assert isinstance(m.get_plugin("Child"), Child)
    assert not isinstance(m.load("Parent"), Child)


def test_explicit_name_is_used():
    class Whatever(PluginBase):
        name = "explicit"

    m = PluginManager()
    assert m.register(Whatever) == "explicit"
    assert m.load("explicit").name == "explicit"


def test_hook_method_receives_data_and_returns_new_data():
    class Adder(PluginBase):
        @hook("calc")
        def add(self, data):
            return data + 1

    m = PluginManager()
    m.register(Adder)
    m.load("Adder")
    assert m.trigger("calc", 41) == 42


def test_method_with_several_hook_decorators_is_registered_on_each_event():
    calls = []

    class Stacked(PluginBase):
        @hook("multi.one", priority=90)
        @hook("multi.two", priority=10)
        def both(self, data):
            calls.append(data["event"])
            data["order"].append("stacked")

    class Other(PluginBase):
        @hook("multi.one")
        def one(self, data):
            data["order"].append("other")

        @hook("multi.two")
        def two(self, data):
            data["order"].append("other")

    m = PluginManager()
    m.register(Stacked)
    m.register(Other)
    m.load_all()
    one = m.trigger("multi.one", {"event": "one", "order": []})
    two = m.trigger("multi.two", {"event": "two", "order": []})
    assert calls == ["one", "two"]
    # each decorator keeps its own priority
    assert one["order"] == ["stacked", "other"]
    assert two["order"] == ["other", "stacked"]
    assert {"multi.one", "multi.two"} <= set(m.get_events())


def test_inherited_hook_methods_are_registered():
    class Base(PluginBase):
        @hook("inherit.evt")
        def mark(self, data):
            return data + [self.name]

    class Derived(Base):
        pass

    m = PluginManager()
    m.register(Derived)
    m.load("Derived")
    assert m.trigger("inherit.evt", []) == ["Derived"]


def test_hooks_registered_once_per_load_even_after_reloading_instances():
    calls = []

    class Once(PluginBase):
        @hook("once.evt")
        def h(self, data):
            calls.append(data)

    m = PluginManager()
    m.register(Once)
    for i in range(3):
        m.load("Once")
        m.trigger("once.evt", i)
        m.unload("Once")
        m.trigger("once.evt", -1)
    assert calls == [0, 1, 2]


def test_properties_are_not_run_by_register_load_trigger_unload():
    accessed = []

    class Touchy(PluginBase):
        @property
        def exploding(self):
            accessed.append("exploding")
            raise RuntimeError("property must not be evaluated")

        @property
        def counted(self):
            accessed.append("counted")
            return 1

        @hook("touchy.evt")
        def h(self, data):
            return data * 2

    m = PluginManager()
    m.register(Touchy)
    m.load("Touchy")
    assert m.trigger("touchy.evt", 4) == 8
    m.disable_plugin("Touchy")
    m.enable_plugin("Touchy")
    m.unload("Touchy")
    assert accessed == []


def test_hook_collection_does_not_scan_dir_of_instances(monkeypatch):
    real_dir = builtins.dir
    seen = []

    def spying_dir(*args):
        if args:
            seen.append(args[0])
            return real_dir(args[0])
        return real_dir()

    class Scanned(PluginBase):
        @hook("scan.evt")
        def h(self, data):
            return data + 1

    monkeypatch.setattr(builtins, "dir", spying_dir)
    results = []
    for _ in range(3):
        m = PluginManager()
        m.register(Scanned)
        m.load("Scanned")
        results.append(m.trigger("scan.evt", 1))
        m.unload("Scanned")
    monkeypatch.setattr(builtins, "dir", real_dir)
    assert results == [2, 2, 2]
    assert not [x for x in seen if isinstance(x, PluginBase)]
    # collected once per class at most, not once per manager or instance
    assert sum(1 for x in seen if x is Scanned) <= 1


def test_on_error_receives_hook_exception():
    errors = []
    boom = ValueError("bad hook")

    class Failing(PluginBase):
        @hook("fail.evt")
        def h(self, data):
            raise boom

        def on_error(self, error):
            errors.append(error)

    m = PluginManager()
    m.register(Failing)
    m.load("Failing")
    assert m.trigger("fail.evt", "data") == "data"
    assert errors and errors[0] is boom


# -- the plugin-side hook API --------------------------------------------------


def _make_dynamic():
    class Dynamic(PluginBase):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_load(self):
            self.register_hook("dyn.evt", self.cb, priority=70)
            self.register_hook("dyn.other", self.other)

        def cb(self, data):
            self.seen.append(data)
            return data + ["dynamic"]

        def other(self, data):
            return "other:%s" % (data,)

    return Dynamic


def test_register_hook_from_on_load_runs_on_trigger():
    m = PluginManager()
    m.register(_make_dynamic())
    plugin = m.load("Dynamic")
    m.register_hook("dyn.evt", lambda d: d + ["plain"], priority=50)
    assert m.trigger("dyn.evt", []) == ["dynamic", "plain"]
    assert plugin.seen == [[]]
    assert "dyn.evt" in m.get_events()


def test_hooks_registered_by_plugin_are_detached_at_unload():
    m = PluginManager()
    m.register(_make_dynamic())
    plugin = m.load("Dynamic")
    m.unload("Dynamic")
    assert m.trigger("dyn.evt", ["x"]) == ["x"]
    assert m.trigger("dyn.other", 1) == 1
    assert plugin.seen == []
    events = m.get_events()
    assert "dyn.evt" not in events
    assert "dyn.other" not in events


def test_plugin_unregister_hook():
    m = PluginManager()
    m.register(_make_dynamic())
    plugin = m.load("Dynamic")
    plugin.unregister_hook("dyn.evt", plugin.cb)
    assert m.trigger("dyn.evt", []) == []
    assert plugin.seen == []
    # the other one stays
    assert m.trigger("dyn.other", 1) == "other:1"


def test_plugin_hooks_registered_dynamically_follow_enabled():
    m = PluginManager()
    m.register(_make_dynamic())
    m.load("Dynamic")
    m.disable_plugin("Dynamic")
    assert m.trigger("dyn.evt", []) == []
    m.enable_plugin("Dynamic")
    assert m.trigger("dyn.evt", []) == ["dynamic"]


def test_plugin_trigger_runs_the_managers_chain():
    class Emitter(PluginBase):
        def emit(self, data):
            return self.trigger("emit.evt", data)

    class Listener(PluginBase):
        @hook("emit.evt")
        def h(self, data):
            return data + ["listener"]

    m = PluginManager()
    m.register(Emitter)
    m.register(Listener)
    m.load_all()
    m.register_hook("emit.evt", lambda d: d + ["plain"], priority=10)
    assert m.get_plugin("Emitter").emit([]) == ["listener", "plain"]


def test_plugin_trigger_from_on_load_reaches_loaded_plugins():
    got = []

    class Listener(PluginBase):
        @hook("boot.evt")
        def h(self, data):
            got.append(data)
            return data + 1

    class Booter(PluginBase):
        dependencies = ["Listener"]

        def on_load(self):
            self.result = self.trigger("boot.evt", 1)

    m = PluginManager()
    m.register(Booter)
    m.register(Listener)
    m.load_all()
    assert got == [1]
    assert m.get_plugin("Booter").result == 2


def test_register_hook_from_on_load_with_timeout_argument():
    class Timed(PluginBase):
        def on_load(self):
            self.register_hook("timed.evt", lambda d: d * 3, priority=5, timeout=5.0)

    m = PluginManager()
    m.register(Timed)
    m.load("Timed")
    assert m.trigger("timed.evt", 2) == 6
    m.unload("Timed")
    assert m.trigger("timed.evt", 2) == 2
