"""Public behaviours of nitro-dispatch 1.x that 1.x code relies on (issue 12):
``enabled`` of an instance not in service, hooks registered before load,
``trigger`` without a manager, explicit empty names, ``register(cls,
validate=False)``, and reload of a class defined inside a function."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any, List

import pytest

from nitro_dispatch import (PluginBase, PluginLoadError, PluginManager, ValidationError,
                            hook)


class Lamp(PluginBase):
    name = "lamp"

    @hook("light")
    def shine(self, data: List[str]) -> List[str]:
        return data + ["lamp"]


class Early(PluginBase):
    """Registers its hooks in ``__init__``, before any manager knows it."""

    name = "early"

    def __init__(self) -> None:
        super().__init__()
        self.register_hook("light", self.low, priority=10)
        self.register_hook("light", self.high, priority=90)
        self.register_hook("dropped", self.low)
        self.unregister_hook("dropped", self.low)  # forgotten before load

    def low(self, data: List[str]) -> List[str]:
        return data + ["early-low"]

    def high(self, data: List[str]) -> List[str]:
        return data + ["early-high"]


# -- enabled -----------------------------------------------------------------

def test_a_new_instance_is_not_enabled_until_loaded() -> None:
    assert Lamp().enabled is False
    manager = PluginManager()
    manager.register(Lamp)
    plugin = manager.load("lamp")
    assert plugin.enabled is True
    assert plugin.manager is manager


def test_an_unloaded_instance_is_not_enabled_and_has_no_manager() -> None:
    manager = PluginManager()
    manager.register(Lamp)
    old = manager.load("lamp")
    manager.unload("lamp")
    assert old.enabled is False
    assert old.manager is None
    assert "(disabled)" in repr(old)
    new = manager.load("lamp")
    assert new is not old and new.enabled is True
    assert manager.trigger("light", []) == ["lamp"]


def test_wanted_state_survives_unload_and_load() -> None:
    manager = PluginManager()
    manager.register(Lamp)
    manager.load("lamp").enabled = False  # like disable_plugin, while loaded
    assert manager.trigger("light", []) == []
    manager.unload("lamp")
    again = manager.load("lamp")
    assert again.enabled is False
    assert manager.trigger("light", []) == []
    manager.enable_plugin("lamp")
    assert again.enabled is True
    assert manager.trigger("light", []) == ["lamp"]


def test_a_failed_load_leaves_the_instance_out_of_service() -> None:
    made: List[PluginBase] = []

    class Fails(PluginBase):
        name = "fails"

        def on_load(self) -> None:
            made.append(self)
            raise RuntimeError("no")

    manager = PluginManager()
    manager.register(Fails)
    with pytest.raises(PluginLoadError):
        manager.load("fails")
    assert made[0].enabled is False and made[0].manager is None


def test_a_bare_registry_still_runs_hooks_of_a_plugin_it_holds() -> None:
    from nitro_dispatch import HookRegistry

    owner = Lamp()
    registry = HookRegistry()
    registry.register("light", owner.shine, plugin=owner)
    assert owner.enabled is True  # in service: a registry holds its hooks
    assert registry.trigger("light", []) == ["lamp"]
    owner.enabled = False
    assert registry.trigger("light", []) == []


# -- register_hook before load ---------------------------------------------------

def test_hooks_registered_in_init_attach_at_load_in_priority_order() -> None:
    manager = PluginManager()
    manager.register(Early)
    manager.register(Lamp)
    assert manager.trigger("light", []) == []
    manager.load_all()
    assert manager.trigger("light", []) == ["early-high", "lamp", "early-low"]
    assert manager.trigger("dropped", []) == []
    assert {r.plugin for r in manager.hooks.get_hooks("light")} == \
        {manager.get_plugin("early"), manager.get_plugin("lamp")}


def test_hooks_registered_before_load_detach_at_unload() -> None:
    manager = PluginManager()
    manager.register(Early)
    manager.load("early")
    assert manager.trigger("light", []) == ["early-high", "early-low"]
    manager.unload("early")
    assert manager.trigger("light", []) == []
    assert manager.hooks.get_hooks("light") == []
    manager.load("early")  # a new instance registers them again in __init__
    assert manager.trigger("light", []) == ["early-high", "early-low"]


def test_register_hook_before_load_returns_none_and_after_load_a_record() -> None:
    plugin = Early()
    assert plugin.register_hook("x", plugin.low) is None
    assert [p[0] for p in plugin.nitro_pending_hooks()] == ["light", "light", "x"]
    manager = PluginManager()
    manager.register(Early)
    loaded = manager.load("early")
    record = loaded.register_hook("later", loaded.low, priority=70)
    assert record is not None and record.priority == 70
    assert manager.trigger("later", []) == ["early-low"]


def test_hooks_registered_before_load_come_back_with_a_rolled_back_reload() -> None:
    first: List[PluginBase] = []

    def make() -> type:
        class Flaky(Early):
            name = "flaky"

            def on_load(self) -> None:  # only the first instance loads
                first.append(first[0] if first else self)
                if first[0] is not self:
                    raise RuntimeError("broken")

        return Flaky

    manager = PluginManager()
    manager.register(make())
    old = manager.load("flaky")
    with pytest.raises(PluginLoadError, match="broken"):
        manager.reload("flaky")
    assert manager.get_plugin("flaky") is old
    assert manager.trigger("light", []) == ["early-high", "early-low"]


# -- trigger without a manager --------------------------------------------------

def test_trigger_without_a_manager_returns_data_unchanged() -> None:
    data = {"user": "ada"}
    plugin = Lamp()
    assert plugin.trigger("light", data) is data
    assert plugin.trigger("light") is None
    assert plugin.get_config("anything", "default") == "default"


def test_trigger_after_unload_returns_data_unchanged() -> None:
    manager = PluginManager()
    manager.register(Lamp)
    plugin = manager.load("lamp")
    assert plugin.trigger("light", []) == ["lamp"]
    manager.unload("lamp")
    assert plugin.trigger("light", ["x"]) == ["x"]


# -- names ----------------------------------------------------------------------

def test_explicit_empty_name_is_a_validation_error() -> None:
    class Nameless(PluginBase):
        name = ""

    manager = PluginManager()
    with pytest.raises(ValidationError, match="Nameless.*'name' must be a non-empty string"):
        manager.register(Nameless)
    assert manager.get_registered_plugins() == []


def test_unset_name_and_subclass_of_an_empty_named_class_take_their_class_name() -> None:
    class Unset(PluginBase):
        pass

    class Nameless(PluginBase):
        name = ""

    class Child(Nameless):
        pass

    manager = PluginManager()
    assert manager.register(Unset) == "Unset"
    assert manager.register(Child) == "Child"
    assert manager.load("Child").name == "Child"


def test_empty_name_without_validation_registers_under_the_class_name() -> None:
    class Nameless(PluginBase):
        name = ""

    assert PluginManager(validate_metadata=False).register(Nameless) == "Nameless"
    assert PluginManager().register(Nameless, validate=False) == "Nameless"


# -- register(cls, validate=False) -------------------------------------------------

def test_register_with_validate_false_skips_validation_for_that_class_only() -> None:
    class Lax(PluginBase):
        name = "lax"
        version = "not a version"

    class Strict(PluginBase):
        name = "strict"
        version = "also not a version"

    manager = PluginManager()
    assert manager.register(Lax, validate=False) == "lax"
    assert manager.register(Lax, False) == "lax"  # 1.x: positional; the repeat is a warning
    with pytest.raises(ValidationError, match="strict"):
        manager.register(Strict)
    assert manager.load("lax").version == "not a version"
    assert manager.get_registered_plugins() == ["lax"]


def test_validate_false_holds_on_reload(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = tmp_path / "ndtest_lax_module.py"
    template = textwrap.dedent("""
        from nitro_dispatch import PluginBase, hook

        class Lax(PluginBase):
            name = "lax"
            version = "weird-{tag}"

            @hook("ask")
            def answer(self, data):
                return data + ["{tag}"]
    """)
    module.write_text(template.format(tag="one"), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    cls = importlib.import_module("ndtest_lax_module").Lax
    manager = PluginManager()
    manager.register(cls, validate=False)
    manager.load("lax")
    module.write_text(template.format(tag="two"), encoding="utf-8")
    assert manager.reload("lax").version == "weird-two"
    assert manager.trigger("ask", []) == ["two"]


# -- reload of a class defined inside a function ------------------------------------

def make_local_plugin(log: List[str]) -> type:
    class Local(PluginBase):
        name = "local"

        def on_load(self) -> None:
            log.append("load %d" % id(self))

        def on_unload(self) -> None:
            log.append("unload %d" % id(self))

        @hook("ask")
        def answer(self, data: List[str]) -> List[str]:
            return data + ["local"]

    return Local


def test_reload_of_a_function_local_class_recreates_it_from_the_same_class() -> None:
    log: List[str] = []
    cls = make_local_plugin(log)
    assert "<locals>" in cls.__qualname__
    manager = PluginManager()
    manager.register(cls)
    old = manager.load("local")
    new = manager.reload("local")
    assert new is not old and type(new) is cls
    assert manager.get_plugin_class("local") is cls
    assert log == ["load %d" % id(old), "unload %d" % id(old), "load %d" % id(new)]
    assert manager.trigger("ask", []) == ["local"]
    assert old.enabled is False and new.enabled is True


def test_reload_of_a_local_class_keeps_disabled_state_and_reattaches_dependents() -> None:
    cls = make_local_plugin([])

    class Needs(PluginBase):
        name = "needs"
        dependencies = ["local"]

        def on_load(self) -> None:
            self.needed = self.manager.get_plugin("local") if self.manager else None

    manager = PluginManager()
    manager.register(cls)
    manager.register(Needs)
    manager.load_all()
    manager.disable_plugin("local")
    new = manager.reload("local")
    assert new.enabled is False
    assert manager.trigger("ask", []) == []
    dependent: Any = manager.get_plugin("needs")
    assert dependent.needed is new


def test_reload_of_a_class_made_with_type_in_a_function() -> None:
    def answer(self: PluginBase, data: List[str]) -> List[str]:
        return data + ["made"]

    cls = type("Made", (PluginBase,), {"name": "made", "answer": hook("ask")(answer)})
    assert cls.__module__ == __name__ and not hasattr(sys.modules[__name__], "Made")
    manager = PluginManager()
    manager.register(cls)
    old = manager.load("made")
    assert manager.reload("made") is not old
    assert manager.trigger("ask", []) == ["made"]


def test_reload_of_a_registered_but_unloaded_local_class_loads_it() -> None:
    manager = PluginManager()
    manager.register(make_local_plugin([]))
    plugin = manager.reload("local")
    assert manager.is_loaded("local") and plugin.enabled is True
