"""Checks on what callers hand the dispatch engine (owns the input rules for
timeouts, event names and hook options), kept out of the hot path.

Registration runs every check here once; triggers run :func:`check_event`
only when an event has no cached plan yet (a non-``str`` never gets one), so
a trigger of a cached event pays nothing for it.

Decisions where the contract is silent:

* A timeout is ``None`` or an ``int``/``float`` (subclasses included) that
  is finite, greater than 0 and at most ``threading.TIMEOUT_MAX``.  ``bool``
  is not a number here (``timeout=True`` is a slip, not one second), nor is
  a string; anything else raises ``ValueError``.
* An event name that is not a ``str`` raises ``TypeError``; an empty one
  raises ``ValueError``.
* Lifecycle events are the ``nitro.`` namespace; an ``async def`` handler
  registered under a name (or pattern) starting with ``nitro.`` is refused
  with ``ValueError``, because lifecycle events run their sync chain only.
"""

from __future__ import annotations

from _thread import TIMEOUT_MAX

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any

__all__ = ["check_timeout", "check_event", "check_hook", "LIFECYCLE_PREFIX"]

LIFECYCLE_PREFIX = "nitro."


def check_timeout(timeout: Any, what: str) -> None:
    """Raise ``ValueError`` unless ``timeout`` is ``None`` or a finite
    number of seconds in ``(0, threading.TIMEOUT_MAX]``; ``what`` names the
    hook in the message."""
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise ValueError("timeout of %s must be None or a number of seconds, got %r"
                         % (what, timeout))
    # ``not (x > 0)`` is true for nan as well as for 0 and negatives.
    if not (timeout > 0) or not (timeout <= TIMEOUT_MAX):
        raise ValueError("timeout of %s must be greater than 0 and at most %s seconds "
                         "(threading.TIMEOUT_MAX), got %r" % (what, TIMEOUT_MAX, timeout))


def check_event(event_name: Any) -> str:
    """Return ``event_name`` if it is a non-empty ``str``; else raise
    ``TypeError`` (not a string) or ``ValueError`` (empty)."""
    if not isinstance(event_name, str):
        raise TypeError("event name must be a str, got %s %r"
                        % (type(event_name).__name__, event_name))
    if not event_name:
        raise ValueError("event name must not be empty")
    return event_name


def check_hook(event_name: Any, callback: Any, priority: Any, timeout: Any,
               is_async: bool) -> None:
    """Every registration check of :meth:`HookRegistry.register`."""
    check_event(event_name)
    if not callable(callback):
        raise TypeError("hook for %r is not callable: %r" % (event_name, callback))
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise TypeError("priority of hook for %r must be an int, got %r"
                        % (event_name, priority))
    what = "hook %s for %r" % (getattr(callback, "__qualname__", None) or repr(callback),
                               event_name)
    check_timeout(timeout, what)
    if is_async and event_name.startswith(LIFECYCLE_PREFIX):
        raise ValueError("%s is async, but lifecycle events (%s*) run sync handlers only; "
                         "make it a plain def" % (what, LIFECYCLE_PREFIX))
