"""How the runner's drivers call one hook (owns :class:`Raised`): a sync
hook with a timeout on the shared worker pool, and any hook under the async
driver (with ``asyncio``'s timeout for async hooks).  The pool and asyncio
are imported on first use.

A hook's own errors must never pass for ours: a ``StopIteration`` leaving a
coroutine would become ``RuntimeError``, and a ``TimeoutError`` the hook
raises would look like the timeout; both come out wrapped in
:class:`Raised` for the driver to unwrap.
"""

from __future__ import annotations

from ._errors import HookTimeoutError
from ._hooks import HookRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Raised", "call_timed", "call_async", "timeout_error"]


class Raised(Exception):
    """Carries a hook's own error out of :func:`call_async`, so the driver
    can tell it from the errors of the call machinery."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)
        self.error = error


def call_timed(rec: HookRecord, event: str, data: Any) -> Any:
    from ._timeouts import get_pool

    timeout = rec.timeout
    try:
        job = get_pool().submit(rec.callback, data, None, owner(rec))
    except HookTimeoutError as exc:
        raise HookTimeoutError("%s for event %r not started: %s" % (rec.label, event, exc),
                               event, rec.plugin_name, timeout) from None
    if job.done.acquire(True, timeout if timeout is not None else -1):
        if job.error is not None:
            raise job.error
        return job.value
    raise timeout_error(rec, event, sync=True)


async def call_async(rec: HookRecord, event: str, data: Any) -> Any:
    """Call one hook of ``trigger_async``'s general runner.

    What the hook raises, when it could be mistaken on the way out (a
    ``StopIteration`` leaving a coroutine becomes ``RuntimeError``; a
    ``TimeoutError`` would look like our timeout), comes wrapped in
    :class:`Raised` for the driver to unwrap.
    """
    if rec.timeout is None:
        if rec.is_async:
            return await rec.callback(data)
        try:
            return rec.callback(data)
        except StopIteration as exc:
            raise Raised(exc) from None
    import asyncio

    if rec.is_async:
        # Not wait_for: it waits for the cancelled hook to finish, forever
        # if the hook catches CancelledError and goes on.  The hook runs as
        # a task of its own; at the timeout it is cancelled and abandoned.
        task = asyncio.ensure_future(_own_errors(rec.callback(data)))
        try:
            await asyncio.wait((task,), timeout=rec.timeout)
        except BaseException:  # the caller was cancelled: so is the hook
            task.cancel()
            raise
        if task.done():
            return task.result()
        task.cancel()
        _ABANDONED.add(task)  # keep a reference while it runs on
        task.add_done_callback(_forget)
        raise timeout_error(rec, event, sync=False)
    # A sync hook with a timeout: run it on the shared pool, await its end.
    from ._timeouts import Job, get_pool

    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def settle(job: Job) -> None:
        def apply() -> None:
            if not future.done():  # the job itself: a future refuses StopIteration
                future.set_result(job)
        try:
            loop.call_soon_threadsafe(apply)
        except RuntimeError:  # the loop closed while the hook ran
            pass

    try:
        get_pool().submit(rec.callback, data, settle, owner(rec))
    except HookTimeoutError as exc:
        raise HookTimeoutError("%s for event %r not started: %s" % (rec.label, event, exc),
                               event, rec.plugin_name, rec.timeout) from None
    try:
        job = await asyncio.wait_for(future, rec.timeout)
    except asyncio.TimeoutError:
        raise timeout_error(rec, event, sync=True) from None
    if job.error is not None:
        raise Raised(job.error)
    return job.value


def owner(rec: HookRecord) -> str:
    """Whose share of the timeout pool a hook's call counts against: its
    plugin's, or its own when it has no plugin."""
    return "plugin %r" % (rec.plugin_name,) if rec.plugin_name is not None else rec.label


def timeout_error(rec: HookRecord, event: str, sync: bool) -> HookTimeoutError:
    note = " (its thread cannot be stopped and runs on in the background)" if sync \
        else " (cancelled, and abandoned if it does not stop)"
    return HookTimeoutError("%s timed out after %ss on event %r%s"
                            % (rec.label, rec.timeout, event, note),
                            event, rec.plugin_name, rec.timeout)


_ABANDONED: "set[Any]" = set()  # cancelled hook tasks that have not ended yet


def _forget(task: Any) -> None:
    """A cancelled hook's task ended: drop it, its outcome retrieved (an
    error was reported as the timeout already)."""
    _ABANDONED.discard(task)
    if not task.cancelled():
        task.exception()


async def _own_errors(awaitable: Any) -> Any:
    """Await a hook's coroutine under ``wait_for``: a ``TimeoutError`` the
    hook raises itself comes out wrapped, so only ours reads as a timeout."""
    import asyncio

    try:
        return await awaitable
    except asyncio.TimeoutError as exc:
        raise Raised(exc) from None
