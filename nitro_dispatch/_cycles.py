"""The one cycle finder: elementary cycles of a directed graph, found by an
iterative depth-first search (no recursion limit).  Used for plugin
dependencies (:mod:`._resolver`) and for requirements among plugin
distributions (:mod:`._requirements`)."""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Callable, Dict, Iterable, List

__all__ = ["find_cycles"]


def find_cycles(nodes: Iterable[str], successors: Callable[[str], Iterable[str]]
                ) -> List[List[str]]:
    """Each cycle met by a depth-first search from every node in turn, as a
    closed path (``["a", "b", "a"]``).  ``successors(node)`` gives the
    nodes ``node`` points to; those for which it is not called (``nodes``
    does not contain them) are followed like any other."""
    found: List[List[str]] = []
    state: Dict[str, int] = {}  # 1 on the path, 2 finished
    path: List[str] = []
    on_path: Dict[str, int] = {}  # node -> index in path
    for start in nodes:
        if start in state:
            continue
        state[start] = 1
        on_path[start] = 0
        path.append(start)
        work = [iter(successors(start))]
        while work:
            for nxt in work[-1]:
                if state.get(nxt) == 1:
                    found.append(path[on_path[nxt]:] + [nxt])
                elif nxt not in state:
                    state[nxt] = 1
                    on_path[nxt] = len(path)
                    path.append(nxt)
                    work.append(iter(successors(nxt)))
                    break
            else:
                work.pop()
                done = path.pop()
                del on_path[done]
                state[done] = 2
    return found
