"""nitro-async-cache: an in-memory cache with expiry, served by async hooks.

Shows ``async def`` hooks (run by ``manager.trigger_async``) and
configuration read with ``self.get_config``.
"""

from __future__ import annotations

import time
from typing import Any, Dict, Tuple

from nitro_dispatch import PluginBase, hook

__all__ = ["CachePlugin"]


class CachePlugin(PluginBase):
    """Answers ``cache.get``, ``cache.set`` and ``cache.clear`` events.

    ``cache.set`` takes ``{"key": ..., "value": ...}``; ``cache.get`` takes
    ``{"key": ...}`` and adds ``"hit"`` (bool) and, on a hit, ``"value"``.

    Configuration: ``ttl``, seconds an entry stays valid (default 60).

    The hooks are ``async def``: the application triggers these events with
    ``await manager.trigger_async(...)``; a plain ``trigger`` skips async
    hooks (with a warning).
    """

    name = "cache"
    description = "An in-memory cache with expiry, served by async hooks."
    author = "The nitro_dispatch developers"

    def on_load(self) -> None:
        self.ttl = float(self.get_config("ttl", 60))
        # key -> (expiry on the monotonic clock, value)
        self._entries: Dict[Any, Tuple[float, Any]] = {}

    def on_unload(self) -> None:
        self._entries.clear()

    @hook("cache.set")
    async def store(self, data: Dict[str, Any]) -> Dict[str, Any]:
        """Store ``data["value"]`` under ``data["key"]`` for ``ttl`` seconds."""
        self._entries[data["key"]] = (time.monotonic() + self.ttl, data["value"])
        return {**data, "stored": True}

    @hook("cache.get")
    async def fetch(self, data: Dict[str, Any]) -> Dict[str, Any]:
        """Look ``data["key"]`` up; expired entries are dropped."""
        entry = self._entries.get(data["key"])
        if entry is None:
            return {**data, "hit": False}
        expires, value = entry
        if expires <= time.monotonic():
            del self._entries[data["key"]]
            return {**data, "hit": False}
        return {**data, "hit": True, "value": value}

    # A "first" event: the first non-None answer is the event's result.
    @hook("cache.lookup")
    async def lookup(self, key: Any) -> Any:
        """The value cached under ``key``, or None (someone else may know)."""
        entry = self._entries.get(key)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    @hook("cache.clear")
    async def clear(self, data: Any) -> None:
        """Forget every entry; the data passes through unchanged."""
        self._entries.clear()
