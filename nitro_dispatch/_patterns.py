"""Wildcard patterns indexed by their literal ends, for plan builds.

A plan build must find every registered pattern that matches one event.
Testing each pattern costs in proportion to how many there are; instead
each pattern is filed under the literal text before its first ``*``
(``user.*`` under ``user.``) or, when that is shorter, after its last
(``*.save`` under ``.save``).  An event then looks up only its own prefixes
and suffixes of the lengths in use, and tests the few candidates found
there with :func:`~._hooks.match_pattern`, so matching stays exactly SPEC
section 2's rule.  Patterns with no literal end (``*``, ``*.x.*``) are
tested one by one.
"""

from __future__ import annotations

from ._hooks import match_pattern

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Dict, List, Tuple

__all__ = ["PatternIndex"]


class PatternIndex:
    """A set of patterns (names containing ``*``) that answers "which of
    you match this event?" without testing them all.

    >>> index = PatternIndex()
    >>> for p in ("user.*", "*.save", "*", "order.*"):
    ...     index.add(p)
    >>> sorted(index.matching("user.save"))
    ['*', '*.save', 'user.*']
    """

    __slots__ = ("_prefixed", "_suffixed", "_rest", "_prefix_lens", "_suffix_lens")

    def __init__(self) -> None:
        # literal -> patterns filed under it (dicts used as ordered sets)
        self._prefixed: Dict[str, Dict[str, None]] = {}
        self._suffixed: Dict[str, Dict[str, None]] = {}
        self._rest: Dict[str, None] = {}
        # literal length -> how many literals of that length are filed
        self._prefix_lens: Dict[int, int] = {}
        self._suffix_lens: Dict[int, int] = {}

    def __len__(self) -> int:
        return (sum(len(b) for b in self._prefixed.values())
                + sum(len(b) for b in self._suffixed.values()) + len(self._rest))

    @staticmethod
    def _key(pattern: str) -> Tuple[str, str]:
        """Where ``pattern`` is filed: ("prefix"|"suffix"|"", literal)."""
        head, _, tail = pattern.partition("*")
        tail = tail.rpartition("*")[2]
        if head and len(head) >= len(tail):
            return "prefix", head
        if tail:
            return "suffix", tail
        return "", ""

    def add(self, pattern: str) -> None:
        side, literal = self._key(pattern)
        if not side:
            self._rest[pattern] = None
            return
        table, lens = (self._prefixed, self._prefix_lens) if side == "prefix" \
            else (self._suffixed, self._suffix_lens)
        bucket = table.get(literal)
        if bucket is None:
            bucket = table[literal] = {}
            lens[len(literal)] = lens.get(len(literal), 0) + 1
        bucket[pattern] = None

    def discard(self, pattern: str) -> None:
        side, literal = self._key(pattern)
        if not side:
            self._rest.pop(pattern, None)
            return
        table, lens = (self._prefixed, self._prefix_lens) if side == "prefix" \
            else (self._suffixed, self._suffix_lens)
        bucket = table.get(literal)
        if bucket is None or pattern not in bucket:
            return
        del bucket[pattern]
        if not bucket:
            del table[literal]
            size = len(literal)
            if lens[size] == 1:
                del lens[size]
            else:
                lens[size] -= 1

    def matching(self, event: str) -> List[str]:
        """The filed patterns that match ``event``, each once, in no
        particular order."""
        found: List[str] = []
        size = len(event)
        if self._prefixed:
            table = self._prefixed
            for length in self._prefix_lens:
                if length <= size:
                    bucket = table.get(event[:length])
                    if bucket is not None:
                        found.extend(p for p in bucket if match_pattern(p, event))
        if self._suffixed:
            table = self._suffixed
            for length in self._suffix_lens:
                if length <= size:
                    bucket = table.get(event[size - length:])
                    if bucket is not None:
                        found.extend(p for p in bucket if match_pattern(p, event))
        if self._rest:
            found.extend(p for p in self._rest if match_pattern(p, event))
        return found
