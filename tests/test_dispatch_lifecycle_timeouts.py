"""Lifecycle (``nitro.*``) handlers and ``*`` hooks honour their
``timeout=`` like any hook: a stuck one cannot hang ``load()`` or
``trigger()``, and the hook whose failure ``nitro.plugin.error`` reports
is not run again by that event."""

from __future__ import annotations

import threading
import time
from typing import Any, Iterator, List

import pytest

from nitro_dispatch import HookRegistry, PluginBase, PluginManager

STUCK = 10.0  # how long a stuck hook would block; every test must end far sooner
LIMIT = 0.2


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # let the stuck worker threads go


class Quiet(PluginBase):
    name = "quiet"


def test_a_stuck_lifecycle_handler_times_out(release: threading.Event, caplog: Any) -> None:
    m = PluginManager()
    calls: List[str] = []

    def stuck(data: Any) -> None:
        calls.append(data["plugin_name"])
        release.wait(STUCK)

    m.register_hook(m.EVENT_PLUGIN_LOADED, stuck, timeout=LIMIT)
    m.register(Quiet)
    started = time.monotonic()
    assert m.load("quiet").name == "quiet"
    assert time.monotonic() - started < STUCK / 2
    assert calls == ["quiet"]
    assert "timed out after 0.2s on event 'nitro.plugin.loaded'" in caplog.text


def test_a_stuck_star_hook_times_out_once_per_event(release: threading.Event,
                                                    caplog: Any) -> None:
    reg = HookRegistry()
    calls: List[Any] = []

    def stuck(data: Any) -> Any:
        calls.append(data)
        release.wait(STUCK)
        return None

    reg.register("*", stuck, timeout=LIMIT)
    errors: List[Any] = []
    reg.register("nitro.plugin.error", lambda d: errors.append(type(d["error"]).__name__))
    started = time.monotonic()
    assert reg.trigger("app.x", 1) == 1
    assert time.monotonic() - started < STUCK / 2
    assert calls == [1]  # not run again, untimed, for nitro.plugin.error
    assert errors == ["HookTimeoutError"]


def test_a_failing_star_hook_is_not_run_again_for_the_error_event() -> None:
    reg = HookRegistry()
    calls: List[Any] = []

    def failing(data: Any) -> Any:
        calls.append(data)
        raise ValueError("no")

    reg.register("*", failing)
    assert reg.trigger("app.x", 1) == 1
    assert calls == [1]


def test_lifecycle_errors_are_logged_never_raised(caplog: Any) -> None:
    reg = HookRegistry()
    reg.set_error_strategy("fail_fast")

    def failing(data: Any) -> Any:
        raise ValueError("handler broke")

    reg.register("nitro.plugin.loaded", failing)
    reg.register("nitro.plugin.loaded", lambda d: d + 1, priority=10)
    assert reg.emit_safely("nitro.plugin.loaded", 1) == 2
    assert "handler broke" in caplog.text
