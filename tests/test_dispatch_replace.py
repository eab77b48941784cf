"""A plugin's hooks swapped in one step (``HookRegistry.replace_plugin``):
a failure inside the swap leaves the registry as it was, and putting the
old hooks back after one never doubles them (SPEC section 13, bug 5)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, List

import pytest

from nitro_dispatch import HookRegistry, PluginBase, PluginManager, ValidationError


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
