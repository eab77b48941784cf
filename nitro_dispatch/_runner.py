"""The one runner: every rule of running an event, in one step loop with a
sync and an async driver (owns :func:`steps`, :func:`drive`,
:func:`drive_async`, :class:`Runner`, the happy-path loops and the inline
wrapper path).

:func:`steps` is a generator holding every dispatch rule: the modes
(``chain``, ``collect``, ``first``), wrappers, tracing, the error policies
(:mod:`._failures`) and ``StopPropagation``.  It yields ``(record, data)``
for the driver to call and receives the result, or the exception thrown
in; it calls wrappers itself (they are plain generators without timeouts).
The drivers differ only in how they call a hook: :func:`drive` directly or
on the timeout pool, :func:`drive_async` awaiting (:mod:`._calls`).  A
``BaseException`` that is not an ``Exception`` (``KeyboardInterrupt``,
``SystemExit``) ends the hooks, is thrown into every entered wrapper at its
``yield``, innermost first, and then leaves the trigger.

The common case (sync hooks, no timeout, no tracing, no wrappers) runs in a
happy-path loop without any error handling: the first exception hands the
rest of the run over to :func:`steps` (:meth:`Runner.resume`), which
resumes at the failing hook.  The registry's ``trigger`` inlines that loop
for ``chain`` and ``first`` events; :func:`happy_path` makes it for
``collect``, historic events and ``trigger_async``.  One wrapper (a
generator function) around such a loop is driven inline by
:func:`wrapped_path`; the wrapper failing or not yielding exactly once, or
the loop raising, hands the run to :func:`steps` at that point
(:meth:`Runner.resume_wrapped`).  More wrappers run in the step loop.
"""

from __future__ import annotations

from time import perf_counter

from ._calls import Raised, call_async, call_timed
from ._errors import HookError, HookTimeoutError, StopPropagation
from ._hooks import generator_code
from ._log import get_logger
from ._plan import HookTrace, Plan, is_enabled, is_watched

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Generator, List, Optional, Tuple

    from ._hooks import HookRecord
    from ._plan import Chain, RunContext

    Steps = Generator[Tuple[HookRecord, Any], Any, Any]

__all__ = ["Runner", "steps", "drive", "drive_async", "happy_path", "wrapped_path", "CHAIN",
           "COLLECT", "FIRST"]

logger = get_logger("nitro_dispatch.registry")
trace_logger = get_logger("nitro_dispatch.trace")

CHAIN, COLLECT, FIRST = "chain", "collect", "first"
_ENTER, _CALL, _LEAVE = 0, 1, 2


def empty(mode: str, data: Any) -> Any:
    """The result of an event whose hooks did not run."""
    return [] if mode == COLLECT else data if mode == CHAIN else None


def steps(ctx: "RunContext", policy: str, event: str, mode: str,
          records: Tuple[HookRecord, ...], wrappers: Tuple[HookRecord, ...], data: Any,
          start: int = 0, thrown: Optional[BaseException] = None,
          results: Optional[List[Any]] = None,
          inner: Optional[Callable[[Any], Any]] = None, watched: bool = False,
          entered: Optional[List[Tuple[HookRecord, Any, float]]] = None,
          result: Any = None, outcome: Optional[BaseException] = None) -> "Steps":
    """Run ``records`` inside ``wrappers`` for ``event``; yields ``(record,
    data)`` for the driver to call.  Returns the chain's data (``chain``),
    the list of results (``collect``) or the answer (``first``).

    ``start``, ``thrown`` and ``results`` resume a happy-path loop: the run
    goes on at ``records[start]``, which raised ``thrown``, with the results
    collected so far.  ``inner``: the happy-path loop over ``records``,
    called once inside the wrappers instead of a step per hook (it hands
    its own failures to a step loop of its own).  ``watched``: every
    plugin of the run reports its ``enabled`` changes (nothing to filter).

    ``thrown`` is what the first step raised, whichever it is: with
    ``wrappers`` and nothing ``entered``, the entry of the first wrapper.
    ``entered``, ``result`` and ``outcome`` resume a wrapper happy path
    (:func:`wrapped_path`) after the hooks: the wrappers ``entered`` (as
    ``(record, generator, started)``) are left innermost first with the
    hooks' ``result`` or their ``outcome``, the first of them having
    raised ``thrown`` on being resumed, if given.
    """
    trace = ctx.trace
    errors: Optional[List[Dict[str, Any]]] = [] if policy == "collect_all" else None
    if mode == COLLECT and results is None:
        results = []
    if not watched and thrown is None and \
            not all(is_watched(r.plugin) for r in records + wrappers):
        # Plugins that do not report ``enabled`` changes are read once, here,
        # so the run in flight is a snapshot like any cached plan.
        records = tuple(r for r in records if is_watched(r.plugin) or is_enabled(r.plugin))
        wrappers = tuple(r for r in wrappers if is_watched(r.plugin) or is_enabled(r.plugin))
    # ``outcome``: on its way out, thrown into wrappers
    answer: Any = None
    if entered:  # the hooks ran: leave the wrappers
        stage, at, stopped = _LEAVE, len(entered), True
    else:
        entered = []
        stage = _ENTER if wrappers else _CALL
        at = 0 if wrappers else start  # the next wrapper to enter, or hook to call
        stopped = False  # the hooks end (StopPropagation, an answer, an outcome)
    gen: Any = None
    started = 0.0
    try:
        while True:
            if stage == _ENTER:
                if at == len(wrappers) or stopped:
                    stage, at = _CALL, start
                    continue
                rec = wrappers[at]
                at += 1
                started = perf_counter()
            elif stage == _CALL:
                if inner is not None and not stopped:
                    try:
                        result = inner(data)
                    except BaseException as failure:  # fail_fast, KeyboardInterrupt
                        outcome = failure
                    stopped = True
                    stage, at = _LEAVE, len(entered)
                    continue
                if at == len(records) or stopped:
                    result = data if mode == CHAIN else results if mode == COLLECT else answer
                    stage, at = _LEAVE, len(entered)
                    continue
                rec = records[at]
                at += 1
                started = perf_counter() if trace is not None else 0.0
            else:
                if not at:
                    break
                at -= 1
                rec, gen, started = entered[at]
            try:
                if thrown is not None:
                    error, thrown = thrown, None
                    raise error
                if stage == _CALL:
                    value = yield rec, data
                elif stage == _ENTER:
                    gen = rec.callback(data)
                    if not hasattr(gen, "send") or not hasattr(gen, "throw"):
                        raise TypeError("%s returned %s, not a generator: a wrapper must "
                                        "yield exactly once" % (rec.label, type(gen).__name__))
                    try:
                        value = next(gen)
                    except StopIteration:
                        raise not_yielded(rec) from None
                else:
                    value = _resume(rec, gen, result, outcome)
            except StopPropagation as stop:
                if trace is not None:
                    _record(trace, event, rec, started, "stop")
                if stage == _ENTER:
                    result = stop.result if stop.has_result else empty(mode, data)
                    stage, at = _LEAVE, len(entered)
                elif stage == _CALL:
                    stopped = True
                    if mode == FIRST:
                        answer = stop.result
                    elif stop.has_result:
                        if mode == CHAIN:
                            data = stop.result
                        else:
                            results.append(stop.result)  # type: ignore[union-attr]
                else:
                    outcome = None
                    if stop.has_result:
                        result = stop.result
                continue
            except BaseException as error:
                if stage == _LEAVE and error is outcome:  # passed on untouched
                    if trace is not None:
                        _record(trace, event, rec, started, "error")
                    continue
                if trace is not None:
                    _record(trace, event, rec, started, "timeout" if isinstance(
                        error, HookTimeoutError) else "error")
                if isinstance(error, Exception):
                    try:
                        _failed(ctx, policy, event, rec, error, errors)
                        continue  # logged or collected: go on without this hook
                    except HookError as raised:  # fail_fast
                        error = raised
                outcome = error
                stopped = True
                if stage == _ENTER:
                    stage, at = _LEAVE, len(entered)
                continue
            if stage == _CALL:
                if trace is not None:
                    _record(trace, event, rec, started, "ok")
                if value is not None:
                    if mode == CHAIN:
                        data = value
                    elif mode == COLLECT:
                        results.append(value)  # type: ignore[union-attr]
                    else:
                        answer, stopped = value, True
            elif stage == _ENTER:
                if value is not None:
                    data = value
                entered.append((rec, gen, started))
            else:
                if trace is not None:
                    _record(trace, event, rec, started, "ok")
                if outcome is not None:  # the wrapper handled the exception
                    outcome, result = None, empty(mode, data)
                if value is not None:
                    result = value
    finally:
        if errors is not None:
            from ._failures import store_errors

            store_errors(ctx, errors)
    if outcome is not None:
        raise outcome
    return result


def _resume(rec: HookRecord, gen: Any, result: Any, outcome: Optional[BaseException]) -> Any:
    """Resume a wrapper at its ``yield`` with the result, or throw in the
    exception; returns its return value.  A wrapper that yields again is
    closed (whatever its cleanup raises) and fails."""
    try:
        if outcome is None:
            gen.send(result)
        else:
            gen.throw(outcome)
    except StopIteration as done:
        return done.value
    raise yielded_again(rec, gen)


def not_yielded(rec: HookRecord) -> RuntimeError:
    """The failure of a wrapper that finished without yielding."""
    return RuntimeError("%s finished without yielding: a wrapper must yield exactly once"
                        % (rec.label,))


def yielded_again(rec: HookRecord, gen: Any) -> RuntimeError:
    """Close a wrapper that yielded a second time (whatever its cleanup
    raises) and return its failure."""
    try:
        gen.close()
    except Exception as cleanup:
        return RuntimeError("%s yielded more than once: a wrapper must yield exactly once "
                            "(and its cleanup raised %s: %s)"
                            % (rec.label, type(cleanup).__name__, cleanup))
    return RuntimeError("%s yielded more than once: a wrapper must yield exactly once"
                        % (rec.label,))


def _failed(ctx: "RunContext", policy: str, event: str, rec: HookRecord, error: Exception,
            errors: Optional[List[Dict[str, Any]]]) -> None:
    from ._failures import hook_failed

    hook_failed(ctx, policy, event, rec, error, errors)


def _record(trace: Any, event: str, rec: HookRecord, started: float, outcome: str) -> None:
    elapsed = perf_counter() - started
    trace.append(HookTrace(event, rec.plugin_name, rec.priority, elapsed, outcome))
    trace_logger.debug("event=%s plugin=%s priority=%d elapsed=%.3fms outcome=%s",
                       event, rec.plugin_name or "-", rec.priority, elapsed * 1000.0, outcome)


def drive(run: "Steps", event: str) -> Any:
    """Run :func:`steps` synchronously: call each hook it yields (on the
    timeout pool when it has a timeout), send back the result or throw in
    the exception; return what the loop returns."""
    try:
        rec, current = next(run)
        while True:
            try:
                if rec.timeout is None:
                    result = rec.callback(current)
                else:
                    result = call_timed(rec, event, current)
            except BaseException as exc:
                rec, current = run.throw(exc)
            else:
                rec, current = run.send(result)
    except StopIteration as done:
        return done.value


async def drive_async(run: "Steps", event: str) -> Any:
    """:func:`drive` for ``trigger_async``: async hooks are awaited, and a
    hook's own error comes back unwrapped (see :class:`._calls.Raised`)."""
    try:
        rec, current = next(run)
        while True:
            try:
                result = await call_async(rec, event, current)
            except Raised as raised:  # the hook's own error, unwrapped
                rec, current = run.throw(raised.error)
            except BaseException as exc:
                rec, current = run.throw(exc)
            else:
                rec, current = run.send(result)
    except StopIteration as done:
        return done.value


class Runner(Plan):
    """A plan that runs: its mode, and how ``trigger`` and
    ``trigger_async`` run it.

    ``run(data)`` is the sync trigger chosen when the plan is built: the
    happy-path loop (:meth:`loop`) when one may run the plan, the inline
    wrapper path (:func:`wrapped_path`) when one plain wrapper surrounds
    such a loop, else :meth:`general`.  ``fast`` and ``afast`` are the chains ``trigger`` and
    ``trigger_async`` may loop over themselves.  ``historic``: the event
    remembers its triggers (the registry adds the data before it runs)."""

    __slots__ = ("ctx", "mode", "fast", "afast", "skipped", "asyncfree", "happy", "run",
                 "historic", "watched")

    def __init__(self, ctx: "RunContext", event: str, mode: str, historic: bool,
                 all_records: List[HookRecord], sync: List[HookRecord],
                 live: List[HookRecord], wrappers: List[HookRecord],
                 fast: Optional[Chain], afast: Optional[Chain]) -> None:
        super().__init__(event, all_records, sync, live, wrappers)
        self.ctx = ctx
        self.mode = mode
        self.historic = historic
        # The async hooks trigger skips, each warned about once.
        self.skipped = () if len(sync) == len(live) else tuple(r for r in live if r.is_async)
        self.asyncfree = not self.skipped
        self.fast = fast  # (inside the wrappers, if any)
        # Every plugin reports its ``enabled`` changes: runs filter nothing.
        # (A happy path alone implies it, for every hook it may meet.)
        self.watched = (fast is not None and not wrappers and self.asyncfree) or \
            all(is_watched(r.plugin) for r in self.all)
        self.afast = afast if not wrappers else None
        self.happy: Optional[Callable[[Any], Any]] = None
        if self.fast is not None:
            self.fast.runner = self
        if self.afast is not None:
            self.afast.runner = self
        self.run: Callable[[Any], Any] = self.general
        if self.fast is not None and not self.skipped:
            if not wrappers:
                if mode == COLLECT or historic:
                    self.run = self.loop()  # (chain and first: trigger loops itself)
            elif len(wrappers) == 1 and _plain_wrapper(wrappers[0]):
                self.run = wrapped_path(self)

    def loop(self) -> Callable[[Any], Any]:
        """The happy-path loop over ``fast``, made on first need."""
        happy = self.happy
        if happy is None:
            assert self.fast is not None
            happy = self.happy = happy_path(self.mode, self.fast)
        return happy

    def general(self, data: Any) -> Any:
        """The sync trigger: warn of skipped async hooks, then the happy
        path if there is one, else the step loop."""
        if self.skipped:
            self.warn_skipped()
        inner = self.loop() if self.fast is not None else None
        if inner is not None and not self.wrappers:
            return inner(data)
        return drive(steps(self.ctx, self.ctx.strategy, self.event, self.mode, self.sync,
                           self.wrappers, data, inner=inner, watched=self.watched), self.event)

    async def run_async(self, data: Any) -> Any:
        """The async trigger through the step loop."""
        return await drive_async(steps(self.ctx, self.ctx.strategy, self.event, self.mode,
                                       self.live, self.wrappers, data, watched=self.watched),
                                 self.event)

    def resume_wrapped(self, data: Any, thrown: Optional[BaseException],
                       gen: Any = None, result: Any = None,
                       outcome: Optional[BaseException] = None) -> Any:
        """The rest of a :func:`wrapped_path` run in the step loop: from the
        wrapper's entry, which raised ``thrown``; or, given its generator
        ``gen``, from leaving it with the hooks' ``result`` or ``outcome``
        (``thrown``: what resuming it raised)."""
        entered = [(self.wrappers[0], gen, 0.0)] if gen is not None else None
        return drive(steps(self.ctx, self.ctx.strategy, self.event, self.mode, self.sync,
                           self.wrappers, data, thrown=thrown, inner=self.loop(),
                           watched=self.watched, entered=entered, result=result,
                           outcome=outcome), self.event)

    def resume(self, fn: Any, exc: Exception, data: Any, results: Optional[List[Any]] = None
               ) -> Any:
        """The rest of a happy-path run over ``fast`` whose ``fn`` raised."""
        fast = self.fast
        assert fast is not None
        return drive(steps(self.ctx, self.ctx.strategy, self.event, self.mode, fast.records,
                           (), data, fast.position(fn), exc, results), self.event)

    async def resume_async(self, fn: Any, exc: Exception, data: Any) -> Any:
        """The rest of ``trigger_async``'s loop over ``afast`` after ``fn`` raised."""
        afast = self.afast
        assert afast is not None
        return await drive_async(steps(self.ctx, self.ctx.strategy, self.event, self.mode,
                                       afast.records, (), data, afast.position(fn), exc),
                                 self.event)

    def warn_skipped(self) -> None:
        with self.ctx.lock:
            for rec in self.skipped:
                if not rec.warned:
                    rec.warned = True
                    logger.warning("trigger(%r) skips async %s; use trigger_async to run it",
                                   self.event, rec.label)
        self.skipped = ()


def happy_path(mode: str, fns: "Chain") -> Callable[[Any], Any]:
    """The happy-path loop of ``mode`` over ``fns`` (PERFORMANCE.md's
    "plain"); the first exception hands the run to the plan's runner."""
    resume = fns.runner.resume
    if mode == CHAIN:
        def chain(data: Any) -> Any:
            for fn in fns:
                try:
                    result = fn(data)
                except Exception as exc:
                    return resume(fn, exc, data)
                if result is not None:
                    data = result
            return data
        return chain
    if mode == COLLECT:
        def collect(data: Any) -> Any:
            results: List[Any] = []
            for fn in fns:
                try:
                    result = fn(data)
                except Exception as exc:
                    return resume(fn, exc, data, results)
                if result is not None:
                    results.append(result)
            return results
        return collect

    def first(data: Any) -> Any:
        for fn in fns:
            try:
                result = fn(data)
            except Exception as exc:
                return resume(fn, exc, data)
            if result is not None:
                return result
        return None
    return first


def _plain_wrapper(rec: HookRecord) -> bool:
    """Whether :func:`wrapped_path` may run the wrapper ``rec``: a
    generator function (calling it cannot fail to return a generator) of a
    watched plugin."""
    return generator_code(getattr(rec.callback, "__code__", None)) and \
        rec.timeout is None and is_watched(rec.plugin)


def wrapped_path(runner: Runner) -> Callable[[Any], Any]:
    """The happy path of a plan with one wrapper around its happy-path
    loop: the wrapper's generator driven inline (C10).  Whatever is not
    the happy path (the wrapper raising or not yielding exactly once, the
    hooks' loop raising) hands the rest of the run to the step loop at
    that point (:meth:`Runner.resume_wrapped`), which owns the rules."""
    rec = runner.wrappers[0]
    wrap = rec.callback
    inner = runner.loop()
    resume = runner.resume_wrapped

    def wrapped(data: Any) -> Any:
        try:
            gen = wrap(data)
            value = next(gen)
        except StopIteration:
            return resume(data, not_yielded(rec))
        except BaseException as exc:
            return resume(data, exc)
        if value is not None:
            data = value
        try:
            result = inner(data)
        except BaseException as exc:  # fail_fast's HookError, KeyboardInterrupt
            return resume(data, None, gen, None, exc)
        try:
            gen.send(result)
        except StopIteration as done:
            value = done.value
            return result if value is None else value
        except BaseException as exc:
            return resume(data, exc, gen, result)
        return resume(data, yielded_again(rec, gen), gen, result)
    return wrapped
