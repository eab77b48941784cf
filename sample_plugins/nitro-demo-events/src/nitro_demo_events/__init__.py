"""nitro-demo-events: the demo application's declared events.

Each ``@event_spec`` function declares one event; its docstring is the
event's documentation (``nitro-dispatch events`` shows its first line) and
its parameter names the data the hooks receive.  The functions are never
called (``@staticmethod`` only keeps type checkers content).
"""

from __future__ import annotations

from typing import Any, Dict

from nitro_dispatch import event_spec

__all__ = ["DemoEvents"]


class DemoEvents:
    """The events of the demo application."""

    @event_spec("app.started", historic=True)
    @staticmethod
    def started(data: Dict[str, Any]) -> None:
        """The application is up: ``{"app": name, "version": version}``.

        Historic: a plugin loaded after the start still receives it."""

    @event_spec("app.request")
    @staticmethod
    def request(data: Dict[str, Any]) -> None:
        """A request ``{"user": ..., "path": ...}``; each plugin may return a changed copy."""

    @event_spec("app.menu", mode="collect")
    @staticmethod
    def menu(data: Dict[str, Any]) -> None:
        """Menu entries: every plugin may return one; the list is the menu."""

    @event_spec("greeting")
    @staticmethod
    def greeting(data: Dict[str, Any]) -> None:
        """``{"name": ...}``: answer with a ``message``."""

    @event_spec("cache.set")
    @staticmethod
    def cache_set(data: Dict[str, Any]) -> None:
        """Store ``{"key": ..., "value": ...}``."""

    @event_spec("cache.get")
    @staticmethod
    def cache_get(data: Dict[str, Any]) -> None:
        """``{"key": ...}``: answer with ``hit`` and, on a hit, ``value``."""

    @event_spec("cache.clear")
    @staticmethod
    def cache_clear(data: Any) -> None:
        """Forget every cached entry."""

    @event_spec("cache.lookup", mode="first")
    @staticmethod
    def cache_lookup(key: Any) -> None:
        """The value cached under ``key``: the first plugin that has it answers."""
