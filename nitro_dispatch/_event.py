"""The event object (owns :class:`Event`): everything a registry knows
about one event name.

An :class:`Event` holds the event's declaration (:class:`EventSpec` and
where it came from), the hooks registered under exactly its name (in
registration order), its cached plan, and, for a historic event, its
history and the hooks still catching up with it.  What ``trigger`` does
with a planned event is in the registry's trigger table, by name.
Patterns live in the registry's pattern index; a plan joins them in.
The registry changes an event only under its lock.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

    from ._events import EventSpec
    from ._hooks import HookRecord
    from ._runner import Runner

__all__ = ["Event"]

# What ``held`` is for events that are not historic: never changed (only
# historic events hold hooks back), and no dict per event (memory counts).
_NONE_HELD: "Dict[HookRecord, int]" = {}


class Event:
    """One event name of a registry.

    ``plan``: the event's cached plan, ``None`` until one is built.  ``hooks``: the
    records registered under this exact name, in registration order.
    ``history``: the remembered data of a historic event, oldest first.
    ``held``: hooks attached to a historic event that have not yet received
    its history: record -> index of the next remembered data to hand it.
    A held hook stays out of the event's plan until it has caught up, so
    data triggered meanwhile reaches it once, in order.
    """

    __slots__ = ("plan", "name", "hooks", "spec", "origin", "history", "held")

    def __init__(self, name: str) -> None:
        self.plan: Optional[Runner] = None
        self.name = name
        self.hooks: List[HookRecord] = []
        self.spec: Optional[EventSpec] = None
        self.origin: Any = None
        self.history: Optional[List[Any]] = None
        self.held: Dict[HookRecord, int] = _NONE_HELD  # a dict of its own once historic

    @property
    def mode(self) -> str:
        return self.spec.mode if self.spec is not None else "chain"

    @property
    def historic(self) -> bool:
        return self.history is not None

    def declare(self, spec: EventSpec, origin: Any) -> None:
        self.spec = spec
        self.origin = origin
        if spec.historic and self.history is None:
            self.history = []
            self.held = {}

    def drop_plan(self) -> None:
        self.plan = None

    def owns_state(self) -> bool:
        """Whether anything but a cached plan lives here."""
        return bool(self.hooks) or self.spec is not None

    def clear_history(self) -> None:
        if self.history is not None:
            self.history = []
            for rec in self.held:
                self.held[rec] = 0

    def __repr__(self) -> str:
        return "Event(%r, mode=%r, hooks=%d%s)" % (
            self.name, self.mode, len(self.hooks), ", historic" if self.historic else "")
