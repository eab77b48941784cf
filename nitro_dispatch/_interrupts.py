"""Ctrl-C and the manager's bookkeeping (SPEC section 11; issue 17, item 11).

A ``KeyboardInterrupt`` is raised wherever the main thread happens to be
when SIGINT arrives: between two statements of an unload, it would leave a
plugin forgotten by the table with its hooks still attached, or loaded
with no hooks.  :class:`InterruptsHeld` closes those windows:

* inside ``with InterruptsHeld() as held:`` a SIGINT is *held*: noted, not
  raised.  On leaving the block the handler that was there before is put
  back and, if a SIGINT was held, it is delivered to that handler
  (``signal.raise_signal``): Python's default raises ``KeyboardInterrupt``
  there, after the bookkeeping is complete, and an application's own
  handler or ``SIG_IGN`` is honoured.  Nothing is lost and nothing is
  delivered twice.
* ``with held.open():`` marks plugin code (``on_load``) inside such a
  block: a SIGINT there goes straight to the previous handler, so Ctrl-C
  still stops a plugin that hangs, and the caller's ``except BaseException``
  puts everything back.  A SIGINT held before the gate opens is delivered
  when it opens.

Decisions: only the main thread of the main interpreter can set a signal
handler; elsewhere (a worker thread, an embedded interpreter) the block
holds nothing, which is safe, because Python raises ``KeyboardInterrupt``
only in the main thread.  Nor does it hold when SIGINT's handler was set
outside Python (``signal.getsignal`` gives None): that handler could not
be put back.  Blocks nest: an inner block leaves the
outer one's handler in place.  Only SIGINT is held (SIGTERM and others keep
their handlers: they are not Ctrl-C, and an application that handles them
expects them at once).  Events announced after the bookkeeping
(``nitro.plugin.loaded``/``unloaded``) run plugin code and are outside the
block.  Holding costs one ``signal.getsignal`` and two ``signal.signal``
calls per load, unload or reload, nothing on dispatch: the C functions of
``_signal`` where the interpreter has them, since ``signal``'s wrappers turn
every callable handler into an enum lookup that raises and catches
``ValueError`` (a few microseconds, three times a load).
"""

from __future__ import annotations

import sys
from _thread import get_ident

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from types import FrameType, TracebackType
    from typing import Any, Optional, Type

__all__ = ["InterruptsHeld"]

# CPython's C module, not the ``signal`` wrappers: importing those pulls in
# ``enum`` (about 5 ms of ``import nitro_dispatch``), and their getsignal and
# signal raise and catch a ValueError for every callable handler.  The C
# functions take the same arguments; typeshed knows the wrappers.
if TYPE_CHECKING:
    import signal
else:
    try:
        import _signal as signal
    except ImportError:  # an interpreter without CPython's module: the wrappers
        import signal
_getsignal, _setsignal = signal.getsignal, signal.signal

_SIGINT = signal.SIGINT
# The main thread, without importing threading for it (about 4 ms of
# ``import nitro_dispatch``): a program that has threads has imported
# threading; one that has not is running in its main thread now.
_threading = sys.modules.get("threading")
_MAIN_THREAD = _threading.main_thread().ident if _threading is not None else get_ident()


class InterruptsHeld:
    """A context manager that holds SIGINT for the duration of a block of
    bookkeeping; see the module's documentation."""

    __slots__ = ("_previous", "_pending", "_gate", "_active", "_outer")

    def __init__(self) -> None:
        self._previous: Any = None
        self._pending = False
        self._gate = False  # True inside open(): plugin code, not held
        self._active = False
        self._outer: Optional[InterruptsHeld] = None  # the block that holds, when nested

    def __enter__(self) -> "InterruptsHeld":
        if get_ident() != _MAIN_THREAD:
            return self
        previous = _getsignal(_SIGINT)
        if isinstance(previous, _Handler):  # an outer block holds already
            self._outer = previous.held
            return self
        if previous is None:  # a handler set outside Python: it could not be put back
            return self
        try:
            _setsignal(_SIGINT, _Handler(self))
        except (ValueError, OSError):  # a sub-interpreter, or no signals here
            return self
        self._previous = previous
        self._active = True
        return self

    def __exit__(self, kind: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        if not self._active:
            return
        self._active = False
        _setsignal(_SIGINT, self._previous)
        if self._pending:
            self._pending = False
            signal.raise_signal(_SIGINT)

    def open(self) -> "_Gate":
        """A block of plugin code inside the held block: SIGINT passes."""
        return _Gate(self)

    def deliver(self, frame: Optional[FrameType]) -> None:
        """Pass one SIGINT to the handler that was there before."""
        previous = self._previous
        if callable(previous):
            previous(_SIGINT, frame)
        elif previous == signal.SIG_DFL:  # what would have happened: the process ends
            signal.signal(_SIGINT, signal.SIG_DFL)
            signal.raise_signal(_SIGINT)
        # SIG_IGN: ignored, as it would have been

    def pass_through(self, passing: bool) -> None:
        """Plugin code starts (SIGINT passes; one held is delivered now) or
        ends (SIGINT is held again)."""
        if self._outer is not None:
            self._outer.pass_through(passing)
            return
        self._gate = passing
        if passing and self._pending:
            self._pending = False
            self.deliver(None)

    def arrived(self, frame: Optional[FrameType]) -> None:
        if self._gate:
            self.deliver(frame)
        else:
            self._pending = True


class _Handler:
    """The SIGINT handler while a block holds interrupts."""

    __slots__ = ("held",)

    def __init__(self, held: InterruptsHeld) -> None:
        self.held = held

    def __call__(self, signum: int, frame: Optional[FrameType]) -> None:
        self.held.arrived(frame)


class _Gate:
    __slots__ = ("held",)

    def __init__(self, held: InterruptsHeld) -> None:
        self.held = held

    def __enter__(self) -> None:
        self.held.pass_through(True)

    def __exit__(self, *exc_info: Any) -> None:
        self.held.pass_through(False)
