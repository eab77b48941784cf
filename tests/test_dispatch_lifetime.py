"""Nothing the engine keeps at module level, or hands out, keeps a registry
alive: collect_all's errors live in one module-level context variable that
holds registries weakly (SPEC section 13)."""

from __future__ import annotations

import gc
import weakref
from typing import Any, List

from nitro_dispatch import HookRegistry, PluginBase, PluginManager


def failing(data: Any) -> Any:
    raise ValueError("no")


def test_registries_with_collected_errors_are_freed() -> None:
    refs: List["weakref.ref[HookRegistry]"] = []
    for _ in range(200):
        reg = HookRegistry()
        reg.set_error_strategy("collect_all")
        reg.register("e", failing)
        assert reg.trigger("e", 1) == 1
        assert [str(e["error"]) for e in reg.get_last_errors()] == ["no"]
        refs.append(weakref.ref(reg))
        del reg
    gc.collect()
    assert [r for r in refs if r() is not None] == []


def test_last_errors_stay_apart_per_registry() -> None:
    one, two = HookRegistry(), HookRegistry()
    for reg in (one, two):
        reg.set_error_strategy("collect_all")
        reg.register("e", failing)
    one.trigger("e", 1)
    assert len(one.get_last_errors()) == 1 and two.get_last_errors() == []
    two.register("e", failing)
    two.trigger("e", 1)
    assert len(one.get_last_errors()) == 1 and len(two.get_last_errors()) == 2


class Owner(PluginBase):
    name = "owner"


def test_a_plugin_does_not_keep_its_registry_alive() -> None:
    plugin = Owner()
    m = PluginManager()
    m.register_hook("e", lambda d: d, plugin=plugin)
    ref = weakref.ref(m.hooks)
    del m
    gc.collect()
    assert ref() is None
    plugin.enabled = False  # no registry to tell: nothing breaks


def test_a_collected_registry_stops_watching_and_a_new_one_at_its_id_is_told() -> None:
    plugin = Owner()
    assert plugin.enabled is False  # held by no registry: not in service
    reg = HookRegistry()
    reg.register("e", lambda d: d + 1, plugin=plugin)
    assert plugin.enabled is True and reg.trigger("e", 1) == 2
    del reg
    gc.collect()
    assert plugin.enabled is False  # its only registry is gone
    assert plugin.__dict__["_nitro_watchers"] == {}  # and forgotten on that read
    # Registries made and dropped until one reuses a dead watcher's id: it
    # is watched afresh, and told of changes.
    for _ in range(50):
        reg = HookRegistry()
        reg.register("e", lambda d: d + 1, plugin=plugin)
        assert plugin.enabled is True
        plugin.enabled = False
        assert reg.trigger("e", 1) == 1  # the change dropped its plan
        del plugin.__dict__["_nitro_enabled"]  # back to "in service while held"
        del reg
        gc.collect()
