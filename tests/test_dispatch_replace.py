"""A plugin's hooks swapped in one step (``HookRegistry.replace_plugin``):
a failure inside the swap leaves the registry as it was, and putting the
old hooks back after one never doubles them (SPEC section 13, bug 5)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, List

import pytest

from nitro_dispatch import EventSpec, HookRegistry, PluginBase, PluginManager, ValidationError


class Old(PluginBase):
    name = "swapped"


class New(PluginBase):
    name = "swapped"


def test_a_refused_hook_inside_the_swap_changes_nothing() -> None:
    reg = HookRegistry()
    old, new = Old(), New()
    calls: List[str] = []
    reg.replace_plugin(None, old, [("e", lambda d: calls.append("old"), 50, None, False,
                                    False)])
    with pytest.raises(ValidationError, match="cannot take the event's data"):
        reg.replace_plugin(old, new, [("e", lambda d: calls.append("new"), 50, None, False,
                                       False),
                                      ("e", lambda: None, 50, None, False, False)])
    reg.trigger("e", 0)
    assert calls == ["old"]
    assert [r.plugin for r in reg.get_hooks("e")] == [old]


def test_putting_the_old_hooks_back_never_doubles_them() -> None:
    reg = HookRegistry()
    old, new = Old(), New()
    calls: List[str] = []

    def rows(tag: str) -> Any:
        return [("e", lambda d: calls.append(tag), 50, None, False, False)]

    reg.replace_plugin(None, old, rows("old"))
    for _ in range(3):  # the swap succeeds, the load fails after it, the old is put back
        reg.replace_plugin(old, new, rows("new"))
        reg.replace_plugin(new, old, rows("old"))
    for _ in range(3):  # the swap itself fails, and the old is "put back" all the same
        with pytest.raises(ValidationError):
            reg.replace_plugin(old, new, [("e", lambda: None, 50, None, False, False)])
        reg.replace_plugin(new, old, rows("old"))
    reg.trigger("e", 0)
    assert calls == ["old"]


PLUGIN = textwrap.dedent("""
    from nitro_dispatch import PluginBase, hook


    class Counting(PluginBase):
        name = "counting"

        def __init__(self):
            super().__init__()
            %s

        @hook("app.count")
        def count(self, data):
            data.append(%r)
    """)


def test_failed_reloads_keep_the_old_hooks_in_service_once(tmp_path: Path) -> None:
    directory = tmp_path / "drop"
    directory.mkdir()
    path = directory / "counting_plugin.py"
    path.write_text(PLUGIN % ("pass", "old"), encoding="utf-8")
    m = PluginManager()
    assert m.discover_plugins(directory) == ["counting"]
    old = m.load("counting")
    # The new version registers a hook registration refuses (no data parameter).
    path.write_text(PLUGIN % ("self.register_hook('app.count', lambda: None)", "new"),
                    encoding="utf-8")
    for _ in range(3):
        with pytest.raises(Exception):
            m.reload("counting")
        assert m.get_plugin("counting") is old
    assert m.trigger("app.count", []) == ["old"]


def test_an_interrupted_replay_inside_the_swap_undoes_it() -> None:
    reg = HookRegistry()
    reg.declare([EventSpec("app.started", historic=True)])
    reg.trigger("app.started", 1)
    old, new = Old(), New()
    calls: List[str] = []
    reg.replace_plugin(None, old, [("app.started", lambda d: calls.append("old"), 50, None,
                                    False, False)], replay=True)
    assert calls == ["old"]

    def interrupted(data: Any) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        reg.replace_plugin(old, new, [("app.started", interrupted, 50, None, False, False)],
                           replay=True)
    assert [r.plugin for r in reg.get_hooks("app.started")] == [old]
    reg.trigger("app.started", 2)
    assert calls == ["old", "old"]


def test_held_hooks_wait_for_replay_and_get_what_came_meanwhile_in_order() -> None:
    reg = HookRegistry()
    reg.declare([EventSpec("app.started", historic=True)])
    reg.trigger("app.started", 1)
    seen: List[Any] = []
    records = reg.replace_plugin(None, New(), [("app.started", seen.append, 50, None, False,
                                                False)])
    reg.trigger("app.started", 2)  # while held: remembered, not run for the new hook
    assert seen == []
    reg.replay(records)
    assert seen == [1, 2]
    reg.replay(records)  # a hook in service gets the whole history again (a reload's on_load)
    reg.trigger("app.started", 3)
    assert seen == [1, 2, 1, 2, 3]
