"""Issue 17 (reliability, third round), part B: each guarantee as a test
named after it (SPEC section 11)."""

from __future__ import annotations

from typing import Any, List
from unittest import mock

import pytest

from nitro_dispatch import PluginBase, PluginManager, hook
from nitro_dispatch._hooks import is_async_callable


# -- 9: mocks are not async ----------------------------------------------------------


def test_mock_hooks_are_sync_and_run_under_trigger() -> None:
    for factory in (mock.Mock, mock.MagicMock):
        callback = factory(return_value="seen")
        assert not is_async_callable(callback)
        m = PluginManager()
        m.register_hook("app.ping", callback)
        assert m.trigger("app.ping", "data") == "seen"
        callback.assert_called_once_with("data")


def test_only_real_coroutine_functions_count_as_async() -> None:
    async def coro(data: Any) -> Any:
        return data

    class Callable:
        async def __call__(self, data: Any) -> Any:
            return data

    assert is_async_callable(coro) and is_async_callable(Callable())
    assert is_async_callable(mock.AsyncMock())  # carries asyncio's real marker
    assert not is_async_callable(lambda data: data)


# -- 10: patterns over the lifecycle events conform ------------------------------------


@pytest.mark.parametrize("pattern", ["*.unloaded", "*.error", "*shutdown", "*.registered",
                                     "nitro.*", "*.loaded", "*startup"])
def test_strict_events_admits_patterns_matching_lifecycle_events(pattern: str) -> None:
    seen: List[Any] = []

    class Watcher(PluginBase):
        name = "watcher"

        @hook(pattern)
        def watch(self, data: Any) -> Any:
            seen.append(data)
            return data

    m = PluginManager(strict_events=True)
    m.declare_event("app.open")
    m.register(Watcher)
    m.load("watcher")
    assert m.is_loaded("watcher") and m.get_problems() == []
