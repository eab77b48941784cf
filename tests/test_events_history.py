"""Historic events: the data of every trigger is remembered and replayed to
hooks attached later (register_hook, plugins loaded later, reloaded
plugins), until clear_history (SPEC section 9)."""

from __future__ import annotations

import asyncio
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, List

import pytest

from nitro_dispatch import PluginBase, PluginManager, StopPropagation, hook


def test_a_hook_registered_later_gets_every_earlier_trigger_in_order() -> None:
    m = PluginManager()
    m.declare_event("app.started", historic=True)
    early: List[Any] = []
    m.register_hook("app.started", lambda d: early.append(d))
    assert m.trigger("app.started", {"n": 1}) == {"n": 1}
    m.trigger("app.started", {"n": 2})
    late: List[Any] = []
    m.register_hook("app.started", lambda d: late.append(d) or "ignored")
    assert late == [{"n": 1}, {"n": 2}]
    assert early == [{"n": 1}, {"n": 2}]  # no second call for hooks already attached
    m.trigger("app.started", {"n": 3})
    assert late == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_patterns_get_the_history_of_the_events_they_match() -> None:
    m = PluginManager()
    m.declare_event("app.started", historic=True)
    m.declare_event("app.config", historic=True)
    m.declare_event("app.request")
    m.trigger("app.started", 1)
    m.trigger("app.config", 2)
    m.trigger("app.request", 3)
    seen: List[Any] = []
    m.register_hook("app.*", lambda d: seen.append(d))
    assert seen == [1, 2]


def test_clear_history_forgets() -> None:
    m = PluginManager()
    m.declare_event("app.started", historic=True)
    m.trigger("app.started", 1)
    m.clear_history("app.started")
    m.clear_history("never.triggered")  # nothing to forget: no error
    seen: List[Any] = []
    m.register_hook("app.started", lambda d: seen.append(d))
    assert seen == []


@pytest.mark.parametrize("mode", ["chain", "collect", "first"])
def test_historic_events_run_their_mode_and_remember_async_triggers(mode: str) -> None:
    m = PluginManager()
    m.declare_event("h", mode=mode, historic=True)
    m.register_hook("h", lambda d: "r")
    expected = {"chain": "r", "collect": ["r"], "first": "r"}[mode]
    assert m.trigger("h", "sync") == expected
    assert asyncio.run(m.trigger_async("h", "async")) == expected
    seen: List[Any] = []
    m.register_hook("h", lambda d: seen.append(d))
    assert seen == ["sync", "async"]


class Listener(PluginBase):
    name = "listener"

    def on_load(self) -> None:
        self.prefix = "seen"  # set up before any replay arrives
        self.seen: List[str] = []

    @hook("app.started")
    def started(self, data: Any) -> None:
        self.seen.append("%s %s" % (self.prefix, data))


def test_a_plugin_loaded_later_gets_the_history_after_on_load() -> None:
    m = PluginManager()
    m.declare_event("app.started", historic=True)
    m.trigger("app.started", "first")
    m.trigger("app.started", "second")
    m.register(Listener)
    plugin = m.load("listener")
    assert plugin.seen == ["seen first", "seen second"]  # type: ignore[attr-defined]
    m.trigger("app.started", "third")
    assert plugin.seen[-1] == "seen third"  # type: ignore[attr-defined]


def test_replay_errors_are_reported_never_raised(caplog: Any) -> None:
    class Broken(PluginBase):
        name = "broken"

        def on_load(self) -> None:
            self.errors: List[Exception] = []

        def on_error(self, error: Exception) -> None:
            self.errors.append(error)

        @hook("app.started")
        def started(self, data: Any) -> None:
            raise ValueError("cannot replay %s" % (data,))

    m = PluginManager()
    m.set_error_strategy("fail_fast")
    m.declare_event("app.started", historic=True)
    m.trigger("app.started", 1)
    events: List[Any] = []
    m.register_hook(m.EVENT_PLUGIN_ERROR, lambda d: events.append(d["event"]))
    m.register(Broken)
    plugin = m.load("broken")
    assert m.is_loaded("broken")
    assert [str(e) for e in plugin.errors] == ["cannot replay 1"]  # type: ignore[attr-defined]
    assert events == ["app.started"]
    assert "failed replaying historic event 'app.started'" in caplog.text


def test_disabled_plugins_get_no_replay() -> None:
    m = PluginManager()
    m.declare_event("app.started", historic=True)
    m.trigger("app.started", 1)
    m.register(Listener)
    m.disable_plugin("listener")
    plugin = m.load("listener")
    assert plugin.seen == []  # type: ignore[attr-defined]


def test_async_hooks_are_replayed_on_the_running_loop() -> None:
    m = PluginManager()
    m.declare_event("app.started", historic=True)
    seen: List[Any] = []

    async def listener(data: Any) -> None:
        seen.append(data)

    async def main() -> None:
        await m.trigger_async("app.started", "a")
        m.register_hook("app.started", listener)
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert seen == ["a"]


def test_async_hooks_without_a_loop_are_skipped_with_a_warning(caplog: Any) -> None:
    m = PluginManager()
    m.declare_event("app.started", historic=True)
    m.trigger("app.started", "a")

    async def listener(data: Any) -> None:
        raise AssertionError("not replayed")

    m.register_hook("app.started", listener)
    assert "no event loop is running: historic event 'app.started' is not replayed" \
        in caplog.text


PLUGIN = textwrap.dedent("""
    from nitro_dispatch import PluginBase, hook


    class HistPlugin(PluginBase):
        name = "hist"

        def on_load(self):
            self.seen = []

        @hook("app.started")
        def started(self, data):
            self.seen.append(%r + str(data))
    """)


def test_a_reloaded_plugin_gets_the_history_again(tmp_path: Path) -> None:
    directory = tmp_path / "drop"
    directory.mkdir()
    path = directory / "hist_plugin.py"
    path.write_text(PLUGIN % ("old:",), encoding="utf-8")
    m = PluginManager()
    m.declare_event("app.started", historic=True)
    m.trigger("app.started", 1)
    assert m.discover_plugins(directory) == ["hist"]
    assert m.load("hist").seen == ["old:1"]  # type: ignore[attr-defined]
    m.trigger("app.started", 2)
    path.write_text(PLUGIN % ("new version:",), encoding="utf-8")
    plugin = m.reload("hist")
    assert plugin.seen == ["new version:1", "new version:2"]  # type: ignore[attr-defined]


def test_a_failed_reload_puts_back_the_previous_instance_with_the_history(
        tmp_path: Path) -> None:
    directory = tmp_path / "drop"
    directory.mkdir()
    path = directory / "hist_plugin.py"
    path.write_text(PLUGIN % ("old:",), encoding="utf-8")
    m = PluginManager()
    m.declare_event("app.started", historic=True)
    m.trigger("app.started", 1)
    m.discover_plugins(directory)
    old = m.load("hist")
    path.write_text(PLUGIN.replace("self.seen = []", "raise RuntimeError('broken')")
                    % ("new:",), encoding="utf-8")
    with pytest.raises(Exception, match="broken"):
        m.reload("hist")
    assert m.get_plugin("hist") is old
    # on_load ran again for the instance back in service, and so did the replay
    assert old.seen == ["old:1"]  # type: ignore[attr-defined]


class Catcher(PluginBase):
    """Triggers its own historic event while loading."""

    name = "catcher"

    def on_load(self) -> None:
        self.seen: List[str] = []
        manager = self.manager
        assert manager is not None
        manager.trigger("app.started", "during on_load")

    @hook("app.started")
    def started(self, data: str) -> None:
        self.seen.append(data)


def test_data_triggered_during_on_load_reaches_the_new_hook_once_in_order() -> None:
    m = PluginManager()
    m.declare_event("app.started", historic=True)
    m.trigger("app.started", "before")
    m.register(Catcher)
    plugin = m.load("catcher")
    assert plugin.seen == ["before", "during on_load"]  # type: ignore[attr-defined]
    m.trigger("app.started", "after")
    assert plugin.seen == ["before", "during on_load", "after"]  # type: ignore[attr-defined]


def test_data_triggered_by_a_loaded_handler_reaches_the_new_hook_once_in_order() -> None:
    m = PluginManager()
    m.declare_event("app.started", historic=True)
    m.trigger("app.started", "before")
    m.register_hook(m.EVENT_PLUGIN_LOADED,
                    lambda d: m.trigger("app.started", "loaded " + d["plugin_name"]))
    m.register(Listener)
    plugin = m.load("listener")
    assert plugin.seen == ["seen before", "seen loaded listener"]  # type: ignore[attr-defined]


def test_data_triggered_from_a_hook_during_its_replay_comes_after_the_history() -> None:
    m = PluginManager()
    m.declare_event("app.started", historic=True)
    for i in range(3):
        m.trigger("app.started", i)
    seen: List[Any] = []

    def hook_(data: Any) -> None:
        seen.append(data)
        if data == 0:
            m.trigger("app.started", "re-entrant")

    m.register_hook("app.started", hook_)
    assert seen == [0, 1, 2, "re-entrant"]


def test_data_triggered_by_another_thread_while_a_hook_attaches_arrives_once_in_order(
        ) -> None:
    reg = PluginManager()
    reg.declare_event("app.tick", historic=True)
    sent: List[int] = list(range(40))
    for i in sent:
        reg.trigger("app.tick", i)
    seen: List[int] = []
    replaying = threading.Event()

    def slow(data: int) -> None:
        replaying.set()
        seen.append(data)
        time.sleep(0.002)  # the other thread triggers meanwhile

    def ticker() -> None:
        replaying.wait(5)
        for i in range(40, 80):
            reg.trigger("app.tick", i)
            sent.append(i)

    thread = threading.Thread(target=ticker)
    thread.start()
    reg.register_hook("app.tick", slow)
    thread.join()
    assert seen == sent == list(range(80))


def test_a_replay_goes_on_after_a_failing_remembered_trigger() -> None:
    m = PluginManager()
    m.declare_event("app.started", historic=True)
    for n in range(5):
        m.trigger("app.started", n)
    seen: List[Any] = []
    reported: List[Any] = []
    m.register_hook(m.EVENT_PLUGIN_ERROR, lambda d: reported.append(d["event"]))

    def hook_(d: Any) -> None:
        if d == 2:
            raise ValueError("no 2")
        if d == 3:
            raise StopPropagation("ignored in a replay")
        seen.append(d)
    m.register_hook("app.started", hook_)
    assert seen == [0, 1, 4]
    assert reported == ["app.started"]  # the ValueError, once; StopPropagation is no failure
    m.trigger("app.started", 5)
    assert seen == [0, 1, 4, 5]


def test_a_plugin_disabled_during_its_replay_gets_no_more() -> None:
    class Quitter(PluginBase):
        name = "quitter"

        def on_load(self) -> None:
            self.seen: List[Any] = []

        @hook("app.started")
        def started(self, data: Any) -> None:
            self.seen.append(data)
            if data == 1:
                self.enabled = False

    m = PluginManager()
    m.declare_event("app.started", historic=True)
    for n in range(4):
        m.trigger("app.started", n)
    m.register(Quitter)
    plugin = m.load("quitter")
    assert plugin.seen == [0, 1]  # type: ignore[attr-defined]
    m.trigger("app.started", 9)
    assert plugin.seen == [0, 1]  # type: ignore[attr-defined]


def test_a_pattern_hook_replays_many_historic_events_in_declaration_order() -> None:
    m = PluginManager()
    names = ["app.h%d" % i for i in (5, 3, 9, 1)] + ["other.h0"]
    for name in names:
        m.declare_event(name, historic=True)
        m.trigger(name, name)
    seen: List[Any] = []
    m.register_hook("app.*", seen.append)
    assert seen == names[:4]
