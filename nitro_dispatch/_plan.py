"""The dispatch engine's records: what every run of one registry shares
(:class:`RunContext`), an event's resolved chain (:class:`Plan`), the
callables of a fast chain (:class:`Chain`) and a traced hook run
(:class:`HookTrace`), with the predicates plan builds use.
"""

from __future__ import annotations

from ._hooks import HookRecord

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Callable, Optional, Sequence, Tuple

__all__ = ["HookTrace", "Plan", "Chain", "RunContext", "STRATEGIES", "QUIET", "REPLAY",
           "ERROR_EVENT", "fast_chain", "is_enabled", "is_watched"]

STRATEGIES = ("log_and_continue", "fail_fast", "collect_all")
# The engine's own failure policies (see _failures.py): lifecycle events
# log only; historic replays tell the plugin and log, never raise.
QUIET = "quiet"
REPLAY = "replay"
ERROR_EVENT = "nitro.plugin.error"


class HookTrace:
    """One traced hook run: ``outcome`` is "ok", "error", "timeout" or "stop"."""

    __slots__ = ("event", "plugin", "priority", "elapsed", "outcome")

    def __init__(self, event: str, plugin: Optional[str], priority: int, elapsed: float,
                 outcome: str) -> None:
        self.event = event
        self.plugin = plugin
        self.priority = priority
        self.elapsed = elapsed
        self.outcome = outcome

    def __repr__(self) -> str:
        return "HookTrace(%r, plugin=%r, priority=%r, elapsed=%.6f, outcome=%r)" % (
            self.event, self.plugin, self.priority, self.elapsed, self.outcome)


class RunContext:
    """What every run of one registry shares: the error strategy, the trace
    (a deque while tracing is on, else ``None``), and ``emit(event, data,
    skip)``, which fires a lifecycle event (``nitro.plugin.error``) without
    the hook ``skip``.  ``errors`` keeps the last ``collect_all`` errors
    per thread or task (see :mod:`._failures`)."""

    __slots__ = ("strategy", "trace", "emit", "lock", "errors", "__weakref__")

    def __init__(self, emit: Callable[[str, Any, Optional[HookRecord]], Any], lock: Any) -> None:
        self.strategy = "log_and_continue"
        self.trace: Any = None
        self.emit = emit
        self.lock = lock
        self.errors: Any = None


class Chain(tuple):  # type: ignore[type-arg]
    """The callables of a fast chain, with their records for error reports.

    Iterating it is iterating a plain tuple; ``records[i]`` is the record of
    the ``i``-th callable, and the callables are distinct objects, so a
    failing callable finds its record by identity.  ``runner`` (the
    plan's :class:`._runner.Runner`) takes a failure over into the step loop.
    """

    records: Tuple[HookRecord, ...]
    runner: Any

    def position(self, fn: Any) -> int:
        """Where ``fn`` is, by identity."""
        for position, candidate in enumerate(self):
            if candidate is fn:
                return position
        raise ValueError(fn)


class Plan:
    """An event's resolved chain, immutable once built.

    ``all`` holds every matching hook, highest priority first, equal
    priorities in registration order (exact and wildcard registrations
    alike).  ``wrappers`` are the live wrapper hooks of ``all``; ``sync`` is
    the chain ``trigger`` runs (``all`` without wrappers, hooks of disabled
    plugins, async hooks and hooks held back from a historic event);
    ``live`` is the chain ``trigger_async`` runs.  Equal chains share one
    tuple.  The plan a registry caches is a :class:`._runner.Runner`, which
    also runs it.
    """

    __slots__ = ("event", "all", "sync", "live", "wrappers")

    def __init__(self, event: str, all_records: Sequence[HookRecord],
                 sync: Sequence[HookRecord], live: Sequence[HookRecord],
                 wrappers: Sequence[HookRecord]) -> None:
        self.event = event
        self.all = every = tuple(all_records)
        self.live = every if len(live) == len(every) else tuple(live)
        self.sync = self.live if len(sync) == len(live) else tuple(sync)
        self.wrappers = tuple(wrappers)


def is_enabled(plugin: Any) -> bool:
    return plugin is None or getattr(plugin, "enabled", True) is not False


def is_watched(plugin: Any) -> bool:
    """Plugins that tell registries when ``enabled`` changes (PluginBase
    does, through ``nitro_watch``)."""
    return plugin is None or hasattr(plugin, "nitro_watch")


def fast_chain(records: Sequence[HookRecord]) -> Optional[Chain]:
    """The callables of ``records`` when a happy-path loop may run them (no
    timeout, every plugin watched, each callable once), else ``None``."""
    for rec in records:
        plugin = rec.plugin
        if rec.timeout is not None or (plugin is not None
                                       and not hasattr(plugin, "nitro_watch")):
            return None  # (not is_watched(plugin), inlined: plan builds are frequent)
    chain = Chain([rec.callback for rec in records])
    if len(set(map(id, chain))) != len(chain):
        return None  # one callable twice: errors could not be attributed
    chain.records = tuple(records)
    return chain
