"""Advanced nitro_dispatch usage: wildcards, StopPropagation, error
strategies, async hooks, timeouts, tracing, and enabling/disabling plugins.

Run it from the repository root:  python examples/advanced_usage.py
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any, Dict, List

from nitro_dispatch import (HookError, HookRegistry, HookTimeoutError, PluginBase, PluginManager,
                            StopPropagation, hook)

Event = Dict[str, Any]


class AuditLog(PluginBase):
    """Listens to every user event through a wildcard."""

    name = "audit_log"

    def __init__(self) -> None:
        super().__init__()
        self.lines: List[str] = []

    @hook("user.*", priority=10)
    def record(self, data: Event) -> None:
        self.lines.append("%s did something" % data["user"])


class Firewall(PluginBase):
    """Stops the chain for banned users: later hooks never see the event."""

    name = "firewall"

    @hook("user.login", priority=100)
    def block_banned(self, data: Event) -> Event:
        if data["user"] == "mallory":
            raise StopPropagation()
        return dict(data, checked=True)


class Greeter(PluginBase):
    name = "greeter"

    @hook("user.login")
    def greet(self, data: Event) -> Event:
        return dict(data, greeting="welcome back, %s" % data["user"])


class Enricher(PluginBase):
    """An async hook: trigger_async awaits it."""

    name = "enricher"

    @hook("user.profile", priority=70)
    async def load_avatar(self, data: Event) -> Event:
        await asyncio.sleep(0.01)  # pretend to call a service
        return dict(data, avatar="%s.png" % data["user"])

    @hook("user.profile", priority=30)
    def add_display_name(self, data: Event) -> Event:
        return dict(data, display=data["user"].title())


def section(title: str) -> None:
    print()
    print("== %s ==" % title)


def wildcards_and_stop(manager: PluginManager) -> None:
    section("wildcards and StopPropagation")
    print("alice:", manager.trigger("user.login", {"user": "alice"}))
    print("mallory:", manager.trigger("user.login", {"user": "mallory"}))
    manager.trigger("user.profile.saved", {"user": "bob"})
    audit = manager.get_plugin("audit_log")
    assert isinstance(audit, AuditLog)
    print("audit log:", audit.lines)


def error_strategies() -> None:
    section("error strategies")
    registry = HookRegistry()

    def parse(data: str) -> int:
        return int(data)

    def invert(data: int) -> float:
        return 1 / data

    registry.register("compute", parse, priority=20)
    registry.register("compute", invert, priority=10)

    print("log_and_continue:", registry.trigger("compute", "0"))

    registry.set_error_strategy("fail_fast")
    try:
        registry.trigger("compute", "0")
    except HookError as exc:
        print("fail_fast raised HookError caused by %s" % type(exc.__cause__).__name__)

    registry.set_error_strategy("collect_all")
    registry.trigger("compute", "zero")
    for error in registry.get_last_errors():
        print("collect_all: event=%s plugin=%s error=%s: %s" % (
            error["event"], error["plugin"], type(error["error"]).__name__, error["error"]))


def async_hooks(manager: PluginManager) -> None:
    section("async hooks")
    profile = asyncio.run(manager.trigger_async("user.profile", {"user": "carol"}))
    print("trigger_async:", profile)
    print("trigger (skips async hooks):", manager.trigger("user.profile", {"user": "carol"}))


def timeouts() -> None:
    section("timeouts")
    registry = HookRegistry()
    registry.set_error_strategy("collect_all")
    release = threading.Event()

    def slow_lookup(data: str) -> str:
        release.wait(2.0)  # would take 2 s
        return data + " (looked up)"

    async def slow_async(data: str) -> str:
        await asyncio.sleep(2.0)
        return data + " (async)"

    registry.register("lookup", slow_lookup, timeout=0.2)
    started = time.monotonic()
    result = registry.trigger("lookup", "query")
    print("sync hook timed out: result=%r after %.1fs" % (result, time.monotonic() - started))
    print("errors:", [type(e["error"]).__name__ for e in registry.get_last_errors()])
    release.set()  # the worker thread cannot be killed; let it finish

    registry.register("fetch", slow_async, timeout=0.2)
    started = time.monotonic()
    result = asyncio.run(registry.trigger_async("fetch", "query"))
    timed_out = [e for e in registry.get_last_errors()
                 if isinstance(e["error"], HookTimeoutError)]
    print("async hook cancelled: result=%r after %.1fs, %d timeout error" % (
        result, time.monotonic() - started, len(timed_out)))


def tracing(manager: PluginManager) -> None:
    section("tracing")
    manager.enable_hook_tracing(True)
    manager.trigger("user.login", {"user": "dave"})
    for run in manager.get_trace():
        if run.event == "user.login":
            print("trace: event=%s plugin=%s priority=%d outcome=%s" % (
                run.event, run.plugin, run.priority, run.outcome))
    manager.enable_hook_tracing(False)
    manager.clear_trace()


def enabling(manager: PluginManager) -> None:
    section("enabling and disabling")
    manager.disable_plugin("greeter")
    print("greeter disabled:", manager.trigger("user.login", {"user": "erin"}))
    manager.enable_plugin("greeter")
    print("greeter enabled:", manager.trigger("user.login", {"user": "erin"}))
    firewall = manager.get_plugin("firewall")
    assert firewall is not None
    firewall.enabled = False  # setting the attribute works like disable_plugin
    print("firewall off, mallory:", manager.trigger("user.login", {"user": "mallory"}))


def main() -> None:
    # Keep the library's log records quiet; the example prints what matters.
    logging.getLogger("nitro_dispatch").addHandler(logging.NullHandler())
    manager = PluginManager()
    for plugin_class in (AuditLog, Firewall, Greeter, Enricher):
        manager.register(plugin_class)
    manager.load_all()
    wildcards_and_stop(manager)
    error_strategies()
    async_hooks(manager)
    timeouts()
    tracing(manager)
    enabling(manager)
    manager.unload_all()
    print()
    print("done")


if __name__ == "__main__":
    main()
