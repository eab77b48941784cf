"""The dispatch engine's records: a resolved chain (:class:`Plan`), the
callables of a fast chain (:class:`_Chain`), and a traced hook run
(:class:`HookTrace`), with the small predicates plan builds use.
"""

from __future__ import annotations

from ._hooks import HookRecord

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, List, Optional, Tuple

__all__ = ["HookTrace", "Plan"]


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


class _Chain(tuple):  # type: ignore[type-arg]
    """The callables of a fast chain, with their records for error reports.

    Iterating it is iterating a plain tuple; ``records[i]`` is the record of
    the ``i``-th callable, and the callables are distinct objects, so a
    failing callable finds its record by identity.
    """

    records: Tuple[HookRecord, ...]


class Plan:
    """An event's resolved chain, immutable once built.

    ``all`` holds every matching hook, highest priority first, equal
    priorities in registration order (exact and wildcard registrations
    alike).  ``sync`` is the chain ``trigger`` runs: ``all`` without hooks of
    disabled plugins and without async hooks.  ``live`` is the chain
    ``trigger_async`` runs.  ``fast``/``afast`` are set when the plain loops
    may run the chain.  ``special`` runs events that are not plain chains
    (a mode, history or wrappers; see :mod:`._modes`); it is ``None`` for
    plain chains.
    """

    __slots__ = ("event", "all", "sync", "live", "fast", "afast", "special")

    def __init__(self, event: str, all_records: List[HookRecord], sync: List[HookRecord],
                 live: List[HookRecord], fast: Optional[_Chain],
                 afast: Optional[_Chain]) -> None:
        self.event = event
        self.all = tuple(all_records)
        self.sync = tuple(sync)
        self.live = tuple(live)
        self.fast = fast
        self.afast = afast
        self.special: Any = None


def _enabled(plugin: Any) -> bool:
    return plugin is None or getattr(plugin, "enabled", True) is not False


def _watched(plugin: Any) -> bool:
    """Plugins that tell registries when ``enabled`` changes (PluginBase does)."""
    return plugin is None or hasattr(plugin, "_nitro_watch")


def _fast_chain(records: List[HookRecord]) -> Optional[_Chain]:
    for rec in records:
        plugin = rec.plugin
        if rec.timeout is not None or (plugin is not None
                                       and not hasattr(plugin, "_nitro_watch")):
            return None  # (not _watched(plugin), inlined: plan builds are frequent)
    chain = _Chain([rec.callback for rec in records])
    if len(set(map(id, chain))) != len(chain):
        return None  # one callable twice: errors could not be attributed
    chain.records = tuple(records)
    return chain
