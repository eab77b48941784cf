"""The problem log: every finding about a plugin goes through
:meth:`ProblemLog.report`, the one function that de-duplicates, counts,
stays bounded and announces each new finding once.

A finding is keyed by ``(plugin, phase, kind)``: ``kind`` names *what* went
wrong in a way that stays the same when details change (``"import"``,
``"undeclared:app.request"``, ``"declarations:acme-app/app"``), so the same
failure reported again with a different detail in its message (a line
number, an object's address) is counted on the record already kept, which
takes the latest message, source and error.  The manager passes
``emit`` to fire ``nitro.plugin.error`` once per new finding, and gives the
log's :meth:`~ProblemLog.report` to its :class:`HookRegistry` as the
``reporter`` of the registry's own findings.
"""

from __future__ import annotations

from ._source import PluginProblem

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Callable, Dict, List, Optional, Tuple

    from ._source import PluginSource

__all__ = ["ProblemLog"]


class ProblemLog:
    """Findings in the order first reported, one record per ``(plugin,
    phase, kind)``, at most ``limit`` of them (the oldest record goes
    first).  ``emit(problem)`` is called once for every new record."""

    __slots__ = ("_records", "_emit", "_limit")

    def __init__(self, emit: Optional[Callable[[PluginProblem], None]] = None,
                 limit: int = 1000) -> None:
        self._records: Dict[Tuple[Optional[str], str, str], PluginProblem] = {}
        self._emit = emit
        self._limit = max(1, int(limit))

    def report(self, plugin: Optional[str], phase: str, kind: str, message: str,
               source: Optional[PluginSource] = None,
               error: Optional[BaseException] = None) -> bool:
        """Keep a finding; returns True when it is new (and was emitted),
        False when it repeats a kept one (whose count goes up)."""
        key = (plugin, phase, kind)
        known = self._records.get(key)
        if known is not None:
            known.count += 1
            known.message = message
            if source is not None:
                known.source = source
            known.error = error
            return False
        records = self._records
        while len(records) >= self._limit:
            del records[next(iter(records))]  # bounded: the oldest goes
        problem = records[key] = PluginProblem(plugin, phase, message, source, error,
                                               kind=kind)
        if self._emit is not None:
            self._emit(problem)
        return True

    def items(self) -> List[PluginProblem]:
        """The kept findings, oldest first."""
        return list(self._records.values())

    def clear(self) -> None:
        self._records.clear()

    def __len__(self) -> int:
        return len(self._records)
