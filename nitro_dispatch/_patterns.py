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

The other way round, :class:`NameIndex` answers "which cached event names
may this pattern match?" when a pattern is added or removed, from sorted
lists of the names and of the names reversed, so a pattern with a literal
end looks only at the names sharing it.
"""

from __future__ import annotations

from ._hooks import match_pattern

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Dict, Iterable, List, Tuple

__all__ = ["PatternIndex", "NameIndex"]


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
        return literal_end(pattern)

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


def literal_end(pattern: str) -> Tuple[str, str]:
    """The more selective literal end of a pattern: ``("prefix", text)``,
    ``("suffix", text)``, or ``("", "")`` when both ends are ``*``."""
    head, _, tail = pattern.partition("*")
    tail = tail.rpartition("*")[2]
    if head and len(head) >= len(tail):
        return "prefix", head
    if tail:
        return "suffix", tail
    return "", ""


def _starting_with(names: List[str], prefix: str) -> List[str]:
    from bisect import bisect_left  # (imported when first needed: import time counts)

    found = []
    for i in range(bisect_left(names, prefix), len(names)):
        name = names[i]
        if not name.startswith(prefix):
            break
        found.append(name)
    return found


class NameIndex:
    """Event names (a superset of those cached) that answer "which of you
    might match this pattern?" looking only at the names that share its
    literal end.

    Names are added once and never removed one by one: a plan dropped and
    built again (the common churn) costs nothing here.  The caller checks
    each name it gets back against its cache, and calls :meth:`rebuild`
    when the index has grown well past the cache (:meth:`oversized`).

    >>> names = NameIndex()
    >>> for n in ("user.login", "user.save", "order.save", "audit"):
    ...     names.add(n)
    >>> names.matching("user.*"), names.matching("*.save"), len(names.matching("*"))
    (['user.login', 'user.save'], ['order.save', 'user.save'], 4)
    """

    __slots__ = ("_names", "_reversed", "_members")

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._members = set(names)
        self._names: List[str] = sorted(self._members)
        self._reversed: List[str] = sorted(n[::-1] for n in self._members)

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, name: object) -> bool:
        return name in self._members

    def add(self, name: str) -> None:
        if name not in self._members:
            from bisect import insort

            self._members.add(name)
            insort(self._names, name)
            insort(self._reversed, name[::-1])

    def oversized(self, live: int) -> bool:
        """Whether it holds many more names than the ``live`` ones."""
        return len(self._members) > 2 * live + 1024

    def matches_any(self, pattern: str) -> bool:
        """Whether ``pattern`` matches one of the names (it stops at the
        first, looking only at those sharing its literal end)."""
        from bisect import bisect_left

        side, literal = literal_end(pattern)
        if side == "suffix":
            names, literal, flip = self._reversed, literal[::-1], True
        else:
            names, flip = self._names, False
        for i in range(bisect_left(names, literal), len(names)):
            name = names[i]
            if not name.startswith(literal):
                break
            if match_pattern(pattern, name[::-1] if flip else name):
                return True
        return False

    def matching(self, pattern: str) -> List[str]:
        """The names ``pattern`` matches (SPEC section 2)."""
        side, literal = literal_end(pattern)
        if side == "prefix":
            candidates = _starting_with(self._names, literal)
        elif side == "suffix":
            candidates = [r[::-1] for r in _starting_with(self._reversed, literal[::-1])]
        else:
            candidates = list(self._names)
        return [name for name in candidates if match_pattern(pattern, name)]
