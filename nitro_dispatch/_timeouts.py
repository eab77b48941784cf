"""The shared worker pool that runs sync hooks which have a ``timeout``
(owns :class:`TimeoutPool`, :class:`Job` and the one pool per process).

One pool per process, created on first use.  The caller waits on a lock
with the hook's timeout, so it regains control at the timeout whatever the
hook does.  A thread cannot be killed in Python, so a hook that overruns
keeps its worker busy until it returns; the pool therefore grows a new
worker whenever none is idle (up to ``max_workers``), so stuck hooks never
delay later timed hooks.  Idle workers exit after ``idle_seconds``.  When
``max_workers`` workers are all stuck, a timed hook fails at once with
:class:`HookTimeoutError` instead of queueing behind them.

Each job has an owner (the plugin of the hook, or the hook itself when it
has none), and one owner's unfinished jobs may hold at most ``share``
workers (a quarter of the pool by default): a plugin whose timed hooks all
get stuck makes only its own later timed hooks fail at once, while every
other plugin keeps getting workers.
"""

from __future__ import annotations

import contextvars
import threading

from ._errors import HookTimeoutError

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Optional

__all__ = ["TimeoutPool", "get_pool"]


class Job:
    """One hook call handed to a worker; ``done`` is released when it ends."""

    __slots__ = ("fn", "arg", "ctx", "done", "value", "error", "on_done", "owner")

    def __init__(self, fn: Callable[[Any], Any], arg: Any,
                 on_done: Optional[Callable[["Job"], None]], owner: Any = None) -> None:
        self.owner = owner
        self.fn = fn
        self.arg = arg
        self.ctx = contextvars.copy_context()  # context variables reach the worker
        self.done = threading.Lock()
        self.done.acquire()
        self.value: Any = None
        self.error: Optional[BaseException] = None
        self.on_done = on_done

    def run(self) -> None:
        try:
            self.value = self.ctx.run(self.fn, self.arg)
        except BaseException as exc:  # handed to the caller, who decides
            self.error = exc
        finally:
            self.fn = self.arg = self.ctx = None  # type: ignore[assignment]
            self.done.release()
            if self.on_done is not None:
                self.on_done(self)


class TimeoutPool:
    """A pool that grows when every worker is busy; see the module docstring."""

    def __init__(self, max_workers: int = 256, idle_seconds: float = 30.0,
                 share: Optional[int] = None) -> None:
        from _queue import SimpleQueue

        self.max_workers = max_workers
        self.share = share if share is not None else max(1, max_workers // 4)
        self._owned: Dict[Any, int] = {}  # owner -> its jobs not yet finished
        self.idle_seconds = idle_seconds
        self._queue: Any = SimpleQueue()
        self._lock = threading.Lock()
        self._workers = 0
        self._idle = 0  # waiting workers not yet promised a job

    @property
    def workers(self) -> int:
        """How many worker threads exist now (busy or idle)."""
        return self._workers

    def submit(self, fn: Callable[[Any], Any], arg: Any,
               on_done: Optional[Callable[[Job], None]] = None, owner: Any = None) -> Job:
        """Run ``fn(arg)`` on a worker; raise :class:`HookTimeoutError` when
        every one of ``max_workers`` workers is stuck, or when ``owner``
        (``None``: no owner, no share) already holds its share of them."""
        job = Job(fn, arg, on_done, owner)
        with self._lock:
            if owner is not None:
                held = self._owned.get(owner, 0)
                if held >= self.share:
                    raise HookTimeoutError(
                        "%d timed hooks of %s are still running (the most one plugin may "
                        "hold of the %d timeout workers)" % (held, owner, self.max_workers))
            if self._idle:
                self._idle -= 1
            elif self._workers < self.max_workers:
                self._workers += 1
                threading.Thread(target=self._work, name="nitro-dispatch-timeout-%d"
                                 % self._workers, daemon=True).start()
            else:
                raise HookTimeoutError(
                    "all %d timeout workers are busy with hooks that overran their timeout"
                    % self.max_workers)
            if owner is not None:
                self._owned[owner] = self._owned.get(owner, 0) + 1
        self._queue.put(job)
        return job

    def _work(self) -> None:
        from _queue import Empty

        get = self._queue.get
        while True:
            try:
                job = get(timeout=self.idle_seconds)
            except Empty:
                with self._lock:
                    if self._idle:  # nobody was promised this worker: retire
                        self._idle -= 1
                        self._workers -= 1
                        return
                continue  # a job is on its way to us
            owner = job.owner
            job.run()
            del job
            with self._lock:
                self._idle += 1
                if owner is not None:
                    held = self._owned.pop(owner) - 1
                    if held:
                        self._owned[owner] = held


_pool: Optional[TimeoutPool] = None
_pool_lock = threading.Lock()


def get_pool() -> TimeoutPool:
    """The process-wide pool, created on first use."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = TimeoutPool()
    return _pool
