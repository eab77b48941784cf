"""Hook tracing (SPEC section 2) and logging configuration (SPEC section 8)."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator, List

import pytest

from nitro_dispatch import (HookError, HookRegistry, PluginBase, PluginManager, StopPropagation,
                            hook)

REPO = Path(__file__).resolve().parent.parent
TRACE_LOGGER = "nitro_dispatch.trace"


class Pricing(PluginBase):
    name = "pricing"

    @hook("cart.total", priority=80)
    def add_tax(self, total: float) -> float:
        return round(total * 1.2, 2)


def trace_records(caplog: pytest.LogCaptureFixture) -> List[logging.LogRecord]:
    return [r for r in caplog.records if r.name == TRACE_LOGGER]


@pytest.fixture
def package_logger() -> Iterator[logging.Logger]:
    """The "nitro_dispatch" logger, restored to its state after the test."""
    logger = logging.getLogger("nitro_dispatch")
    level, handlers, propagate = logger.level, list(logger.handlers), logger.propagate
    yield logger
    for handler in list(logger.handlers):
        if handler not in handlers:
            logger.removeHandler(handler)
    logger.setLevel(level)
    logger.propagate = propagate


# -- tracing ----------------------------------------------------------------------

def test_tracing_is_off_by_default_and_records_nothing(
        caplog: pytest.LogCaptureFixture) -> None:
    reg = HookRegistry()
    reg.register("ev", lambda d: d + 1, plugin=Pricing())
    with caplog.at_level(logging.DEBUG, logger="nitro_dispatch"):
        assert reg.trigger("ev", 1) == 2
        asyncio.run(reg.trigger_async("ev", 1))
    assert reg.get_trace() == []
    assert trace_records(caplog) == []


def test_tracing_records_every_hook_run(caplog: pytest.LogCaptureFixture) -> None:
    reg = HookRegistry()
    reg.enable_hook_tracing(True)
    plugin = Pricing()
    reg.register("cart.total", lambda d: d + 1, plugin=plugin, priority=70)
    reg.register("cart.*", lambda d: d * 2, priority=20)
    with caplog.at_level(logging.DEBUG, logger="nitro_dispatch"):
        assert reg.trigger("cart.total", 1) == 4
    trace = reg.get_trace()
    assert [(t.event, t.plugin, t.priority, t.outcome) for t in trace] == [
        ("cart.total", "pricing", 70, "ok"),
        ("cart.total", None, 20, "ok"),
    ]
    assert all(isinstance(t.elapsed, float) and 0.0 <= t.elapsed < 5.0 for t in trace)
    logged = trace_records(caplog)
    assert len(logged) == 2
    assert all(r.levelno == logging.DEBUG for r in logged)
    first = logged[0].getMessage()
    assert "cart.total" in first and "pricing" in first and "70" in first


def test_trace_elapsed_measures_the_hook() -> None:
    reg = HookRegistry()
    reg.enable_hook_tracing(True)
    reg.register("ev", lambda d: time.sleep(0.05))
    reg.trigger("ev")
    (entry,) = reg.get_trace()
    assert 0.04 <= entry.elapsed < 5.0


def test_tracing_records_error_timeout_and_stop_outcomes() -> None:
    reg = HookRegistry()
    reg.enable_hook_tracing(True)
    gate = threading.Event()

    def failing(d: Any) -> Any:
        raise ValueError("bad")

    def stopper(d: Any) -> Any:
        raise StopPropagation()

    reg.register("ev", failing, priority=40)
    reg.register("ev", lambda d: gate.wait(2.0), priority=30, timeout=0.1)
    reg.register("ev", stopper, priority=20)
    reg.register("ev", lambda d: d, priority=10)
    try:
        reg.trigger("ev", 0)
    finally:
        gate.set()
    assert [(t.priority, t.outcome) for t in reg.get_trace()] == [
        (40, "error"), (30, "timeout"), (20, "stop")]


def test_tracing_records_the_failing_hook_under_fail_fast() -> None:
    reg = HookRegistry()
    reg.enable_hook_tracing(True)
    reg.set_error_strategy("fail_fast")

    def failing(d: Any) -> Any:
        raise ValueError("bad")

    reg.register("ev", lambda d: d, priority=60)
    reg.register("ev", failing, priority=50)
    with pytest.raises(HookError):
        reg.trigger("ev", 0)
    assert [(t.priority, t.outcome) for t in reg.get_trace()] == [(60, "ok"), (50, "error")]


def test_tracing_covers_trigger_async() -> None:
    reg = HookRegistry()
    reg.enable_hook_tracing(True)

    async def ahook(d: Any) -> Any:
        return d

    reg.register("ev", ahook, priority=5)
    reg.register("ev", lambda d: d, priority=4)
    asyncio.run(reg.trigger_async("ev", 0))
    assert [(t.event, t.priority, t.outcome) for t in reg.get_trace()] == [
        ("ev", 5, "ok"), ("ev", 4, "ok")]


def test_tracing_enabled_after_trigger_applies_to_next_trigger() -> None:
    reg = HookRegistry()
    reg.register("ev", lambda d: d)
    reg.trigger("ev")
    assert reg.get_trace() == []
    reg.enable_hook_tracing(True)
    reg.trigger("ev")
    assert len(reg.get_trace()) == 1


def test_tracing_off_again_records_nothing_more(caplog: pytest.LogCaptureFixture) -> None:
    reg = HookRegistry()
    reg.register("ev", lambda d: d)
    reg.enable_hook_tracing(True)
    reg.trigger("ev")
    reg.enable_hook_tracing(False)
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="nitro_dispatch"):
        reg.trigger("ev")
        reg.trigger("ev")
    assert len(reg.get_trace()) == 1
    assert trace_records(caplog) == []


def test_clear_trace_empties_the_buffer() -> None:
    reg = HookRegistry()
    reg.enable_hook_tracing()
    reg.register("ev", lambda d: d)
    reg.trigger("ev")
    reg.clear_trace()
    assert reg.get_trace() == []
    reg.trigger("ev")
    assert len(reg.get_trace()) == 1


def test_trace_buffer_is_bounded() -> None:
    reg = HookRegistry()
    reg.enable_hook_tracing()
    reg.register("ev", lambda d: d)
    for _ in range(20000):
        reg.trigger("ev")
    assert 0 < len(reg.get_trace()) < 20000


def test_manager_tracing_records_plugin_hooks(caplog: pytest.LogCaptureFixture) -> None:
    manager = PluginManager()
    manager.register(Pricing)
    manager.load("pricing")
    manager.enable_hook_tracing(True)
    with caplog.at_level(logging.DEBUG, logger="nitro_dispatch"):
        assert manager.trigger("cart.total", 10.0) == 12.0
    hook_runs = [t for t in manager.get_trace() if t.event == "cart.total"]
    assert [(t.plugin, t.priority, t.outcome) for t in hook_runs] == [("pricing", 80, "ok")]
    assert any("cart.total" in r.getMessage() and "pricing" in r.getMessage()
               for r in trace_records(caplog))
    manager.clear_trace()
    manager.enable_hook_tracing(False)
    manager.trigger("cart.total", 10.0)
    assert manager.get_trace() == []


# -- logging configuration (SPEC section 8) ---------------------------------------

def test_managers_add_no_root_handlers_and_keep_root_level(
        package_logger: logging.Logger) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    PluginManager()
    PluginManager(log_level="DEBUG")
    PluginManager(log_level="WARNING")
    reg = HookRegistry()
    reg.register("ev", lambda d: 1 / 0)
    reg.trigger("ev")  # logs an error
    assert root.handlers == handlers
    assert root.level == level


def test_log_level_sets_package_logger_level_and_adds_one_handler(
        package_logger: logging.Logger) -> None:
    for handler in list(package_logger.handlers):
        package_logger.removeHandler(handler)
    PluginManager(log_level="DEBUG")
    assert package_logger.level == logging.DEBUG
    assert len(package_logger.handlers) == 1
    PluginManager(log_level="INFO")  # already has a handler: no second one
    assert package_logger.level == logging.INFO
    assert len(package_logger.handlers) == 1


def test_log_level_keeps_an_existing_handler(package_logger: logging.Logger) -> None:
    mine = logging.StreamHandler(sys.stderr)
    for handler in list(package_logger.handlers):
        package_logger.removeHandler(handler)
    package_logger.addHandler(mine)
    PluginManager(log_level="DEBUG")
    assert package_logger.handlers == [mine]
    assert package_logger.level == logging.DEBUG


def test_no_log_level_leaves_package_logger_alone(package_logger: logging.Logger) -> None:
    package_logger.setLevel(logging.ERROR)
    handlers = list(package_logger.handlers)
    PluginManager()
    assert package_logger.level == logging.ERROR
    assert package_logger.handlers == handlers


LOGGING_SCRIPT = r"""
import logging
from nitro_dispatch import HookRegistry, PluginManager

PluginManager()
m = PluginManager(log_level="DEBUG")
m.register_hook("ev", lambda d: 1 / 0)
m.trigger("ev")
pkg = logging.getLogger("nitro_dispatch")
print("root_handlers", len(logging.getLogger().handlers))
print("root_level", logging.getLevelName(logging.getLogger().level))
print("pkg_level", logging.getLevelName(pkg.level))
print("pkg_handlers", len(pkg.handlers))
"""


def test_fresh_process_log_level_debug_shows_output_without_touching_root() -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", LOGGING_SCRIPT], cwd=str(REPO), env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    values = dict(line.split() for line in proc.stdout.splitlines())
    assert values == {"root_handlers": "0", "root_level": "WARNING", "pkg_level": "DEBUG",
                      "pkg_handlers": "1"}
    assert "ZeroDivisionError" in proc.stderr  # the hook error reached the new handler
