"""Running the events that are not plain chains: the modes ``collect`` and
``first``, historic events and wrappers (SPEC section 9).

When the registry builds an event's plan and the event has a mode, history
or wrappers, :func:`specialize` gives the plan a :class:`Special` runner;
plain chains are returned untouched and keep the registry's fast loop.
:class:`Special` picks, once per plan, the tight ``collect``/``first`` loop
when nothing else is needed, and otherwise a general runner that applies
every rule of the registry (strategies, timeouts, tracing, ``collect_all``)
through the registry's own helpers.
"""

from __future__ import annotations

import time

from ._errors import HookError, StopPropagation
from ._events import _enabled, _watched
from ._log import get_logger

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Generator, List, Optional, Tuple

    from ._hooks import HookRecord
    from ._plan import Plan
    from ._registry import HookRegistry

    Entered = List[Tuple[HookRecord, Generator[Any, Any, Any], float]]

__all__ = ["specialize", "Special"]

logger = get_logger("nitro_dispatch.events")


def specialize(registry: "HookRegistry", plan: "Plan") -> "Plan":
    """Give ``plan`` a :class:`Special` runner when its event has a mode,
    history or wrappers; return plain chains unchanged.  Called when a plan
    is built, never per trigger."""
    from ._plan import Plan, _fast_chain

    table = registry._events
    spec = table.specs.get(plan.event) if table is not None else None
    has_wrappers = any(r.wrapper for r in plan.all)
    if not has_wrappers and (spec is None or (spec.mode == "chain" and not spec.historic)):
        return plan
    wrappers = tuple(r for r in plan.live if r.wrapper)
    live = [r for r in plan.live if not r.wrapper]
    sync = [r for r in live if not r.is_async]
    plain = registry._strategy != "collect_all" and not registry._tracing
    fast = _fast_chain(sync) if plain else None
    special = Special(registry, plan.event, spec.mode if spec is not None else "chain",
                      spec is not None and spec.historic, wrappers, tuple(sync), tuple(live),
                      fast)
    new = Plan(plan.event, list(plan.all), sync, live, None, None)
    new.special = special
    return new


class Special:
    """How one event that is not a plain chain runs: its mode, its history
    and its wrappers.  ``trigger`` is chosen once, when the plan is built:
    the tight ``collect``/``first`` loops when nothing else is needed."""

    __slots__ = ("registry", "event", "mode", "historic", "wrappers", "sync", "live", "fast",
                 "skipped", "trigger", "fast_run")

    def __init__(self, registry: "HookRegistry", event: str, mode: str, historic: bool,
                 wrappers: Tuple[HookRecord, ...], sync: Tuple[HookRecord, ...],
                 live: Tuple[HookRecord, ...], fast: Any) -> None:
        self.registry = registry
        self.event = event
        self.mode = mode
        self.historic = historic
        self.wrappers = wrappers
        self.sync = sync
        self.live = live
        self.fast = fast
        # Async hooks trigger() skips, each warned about once (as for chains).
        self.skipped = tuple(r for r in live if r.is_async)
        # The tight loop for this mode, when the chain may run in one.
        self.fast_run: Optional[Callable[[Any], Any]] = None
        if fast is not None:
            self.fast_run = _collect_runner(fast, self._fast_failed) if mode == "collect" else \
                _first_runner(fast, self._fast_failed) if mode == "first" else self._chain_fast
        run: Callable[[Any], Any] = self._full
        if not wrappers and not historic and self.fast_run is not None and not self.skipped \
                and mode in ("collect", "first"):
            run = self.fast_run
        self.trigger = run

    def _fast_failed(self, fn: Any, exc: Exception) -> None:
        self.registry._fast_failed(self.event, self.fast, fn, exc)

    # The tight loops: PERFORMANCE.md's "plain", per mode, plus StopPropagation.

    def _chain_fast(self, data: Any) -> Any:
        fns = self.fast
        for fn in fns:
            try:
                result = fn(data)
            except StopPropagation as stop:
                return stop.result if stop.has_result else data
            except Exception as exc:
                self.registry._fast_failed(self.event, fns, fn, exc)
                continue
            if result is not None:
                data = result
        return data

    # The general runners.

    def _full(self, data: Any) -> Any:
        registry = self.registry
        if self.skipped:
            self._warn_skipped()
        if self.historic:
            _remember(registry, self.event, data)
        if self.wrappers:
            return self._wrapped_sync(data)
        return self._inner_sync(data)

    def _warn_skipped(self) -> None:
        with self.registry._lock:
            for rec in self.skipped:
                if not rec.warned:
                    rec.warned = True
                    logger.warning("trigger(%r) skips async %s; use trigger_async to run it",
                                   self.event, rec.label)
        self.skipped = ()

    async def trigger_async(self, data: Any) -> Any:
        if self.historic:
            _remember(self.registry, self.event, data)
        if self.wrappers:
            return await self._wrapped_async(data)
        return await self._inner_async(data)

    def _inner_sync(self, data: Any) -> Any:
        if self.fast_run is not None:
            return self.fast_run(data)
        from ._registry import drive

        return drive(self._steps(self.sync, data), self.registry, self.event)

    async def _inner_async(self, data: Any) -> Any:
        from ._registry import drive_async

        return await drive_async(self._steps(self.live, data), self.registry, self.event)

    def _steps(self, records: Tuple[HookRecord, ...],
               data: Any) -> Generator[Tuple[HookRecord, Any], Any, Any]:
        if self.mode == "chain":
            return self.registry._chain(records, self.event, data)
        return self._mode_steps(records, data)

    def _mode_steps(self, records: Tuple[HookRecord, ...],
                    data: Any) -> Generator[Tuple[HookRecord, Any], Any, Any]:
        """``collect`` and ``first`` with every rule of the registry's
        general chain (strategies, tracing, timeouts by the driver,
        ``collect_all``, plugins whose ``enabled`` we cannot watch)."""
        registry, event = self.registry, self.event
        first = self.mode == "first"
        trace = registry._trace if registry._tracing else None
        errors: Optional[List[Dict[str, Any]]] = [] if registry._strategy == "collect_all" \
            else None
        records = tuple(r for r in records if _watched(r.plugin) or _enabled(r.plugin))
        results: List[Any] = []
        try:
            for rec in records:
                started = time.perf_counter() if trace is not None else 0.0
                try:
                    result = yield rec, data
                except StopPropagation as stop:
                    if trace is not None:
                        registry._record_trace(trace, event, rec, started, "stop")
                    if first:
                        return stop.result
                    if stop.has_result:
                        results.append(stop.result)
                    break
                except Exception as exc:
                    if trace is not None:
                        from ._errors import HookTimeoutError

                        registry._record_trace(trace, event, rec, started, "timeout" if isinstance(
                            exc, HookTimeoutError) else "error")
                    registry._hook_failed(event, rec, exc, errors)
                    continue
                if trace is not None:
                    registry._record_trace(trace, event, rec, started, "ok")
                if result is not None:
                    if first:
                        return result
                    results.append(result)
            return None if first else results
        finally:
            if errors is not None:
                registry._store_errors(errors)

    # Wrappers.

    def _empty(self, data: Any) -> Any:
        """The result of an event whose hooks did not run."""
        if self.mode == "collect":
            return []
        return data if self.mode == "chain" else None

    def _wrapped_sync(self, data: Any) -> Any:
        errors: Optional[List[Dict[str, Any]]] = [] if \
            self.registry._strategy == "collect_all" else None
        entered, data, outcome = self._enter(data, errors)
        inner_errors: Optional[List[Dict[str, Any]]] = None
        exc: Optional[BaseException]
        if outcome is None:
            try:
                result, exc = self._inner_sync(data), None
            except Exception as error:
                result, exc = None, error
            if errors is not None:
                inner_errors = self.registry.get_last_errors()
        else:
            result, exc = outcome
        return self._leave(entered, data, result, exc, errors, inner_errors)

    async def _wrapped_async(self, data: Any) -> Any:
        errors: Optional[List[Dict[str, Any]]] = [] if \
            self.registry._strategy == "collect_all" else None
        entered, data, outcome = self._enter(data, errors)
        inner_errors: Optional[List[Dict[str, Any]]] = None
        exc: Optional[BaseException]
        if outcome is None:
            try:
                result, exc = await self._inner_async(data), None
            except Exception as error:
                result, exc = None, error
            if errors is not None:
                inner_errors = self.registry.get_last_errors()
        else:
            result, exc = outcome
        return self._leave(entered, data, result, exc, errors, inner_errors)

    def _enter(self, data: Any, errors: Optional[List[Dict[str, Any]]]
               ) -> Tuple[Entered, Any, Optional[Tuple[Any, Optional[BaseException]]]]:
        """Run each wrapper up to its ``yield``, outermost (highest priority)
        first.  Returns the wrappers entered, the data for the inner hooks
        (a non-``None`` yielded value replaces it), and the outcome when the
        inner hooks must not run (a ``StopPropagation``, or a ``fail_fast``
        error)."""
        registry = self.registry
        trace = registry._trace if registry._tracing else None
        entered: Entered = []
        for rec in self.wrappers:
            if not _watched(rec.plugin) and not _enabled(rec.plugin):
                continue
            started = time.perf_counter()
            try:
                gen = rec.callback(data)
                if not hasattr(gen, "send") or not hasattr(gen, "throw"):
                    raise TypeError("%s returned %s, not a generator: a wrapper must yield "
                                    "exactly once" % (rec.label, type(gen).__name__))
                sent = next(gen)
            except StopIteration:
                problem: Exception = RuntimeError(
                    "%s finished without yielding: a wrapper must yield exactly once"
                    % (rec.label,))
            except StopPropagation as stop:
                if trace is not None:
                    registry._record_trace(trace, self.event, rec, started, "stop")
                return entered, data, (stop.result if stop.has_result else self._empty(data),
                                       None)
            except Exception as error:
                problem = error
            else:
                if sent is not None:
                    data = sent
                entered.append((rec, gen, started))
                continue
            failed = self._failed(rec, problem, errors, started, None)
            if failed is not None:
                return entered, data, (None, failed)
        return entered, data, None

    def _leave(self, entered: Entered, data: Any, result: Any, exc: Optional[BaseException],
               errors: Optional[List[Dict[str, Any]]],
               inner_errors: Optional[List[Dict[str, Any]]]) -> Any:
        """Resume each entered wrapper, innermost first, with the result (or
        throw in the exception); a non-``None`` return value replaces the
        result."""
        registry = self.registry
        trace = registry._trace if registry._tracing else None
        entering = len(errors) if errors is not None else 0
        for rec, gen, started in reversed(entered):
            try:
                if exc is None:
                    gen.send(result)
                else:
                    gen.throw(exc)
            except StopIteration as done:
                if exc is not None:  # the wrapper handled the exception
                    exc, result = None, self._empty(data)
                if done.value is not None:
                    result = done.value
                if trace is not None:
                    registry._record_trace(trace, self.event, rec, started, "ok")
                continue
            except StopPropagation as stop:
                exc = None
                if stop.has_result:
                    result = stop.result
                if trace is not None:
                    registry._record_trace(trace, self.event, rec, started, "stop")
                continue
            except Exception as error:
                if error is exc:  # passed on untouched
                    if trace is not None:
                        registry._record_trace(trace, self.event, rec, started, "error")
                    continue
                exc = self._failed(rec, error, errors, started, exc)
                continue
            gen.close()
            exc = self._failed(rec, RuntimeError("%s yielded more than once: a wrapper must "
                                                 "yield exactly once" % (rec.label,)),
                               errors, started, exc)
        if errors is not None and (errors or inner_errors is None):
            registry._store_errors(errors[:entering] + list(inner_errors or ())
                                   + errors[entering:])
        if exc is not None:
            raise exc
        return result

    def _failed(self, rec: HookRecord, error: Exception,
                errors: Optional[List[Dict[str, Any]]], started: float,
                current: Optional[BaseException]) -> Optional[BaseException]:
        """A wrapper failed: handle it like a failing hook.  Returns the
        exception to go on with (``fail_fast``'s :class:`HookError`, or the
        one already on its way)."""
        registry = self.registry
        if registry._tracing and registry._trace is not None:
            registry._record_trace(registry._trace, self.event, rec, started, "error")
        try:
            registry._hook_failed(self.event, rec, error, errors)
        except HookError as raised:
            return raised
        return current


def _remember(registry: "HookRegistry", event: str, data: Any) -> None:
    table = registry._events
    if table is not None:
        table.history.setdefault(event, []).append(data)


# The tight collect/first loops (PERFORMANCE.md's "plain" per mode, plus
# StopPropagation): closures over the chain, so a trigger reads no attribute.

def _collect_runner(fns: Any, failed: Callable[[Any, Exception], None]
                    ) -> Callable[[Any], Any]:
    def collect(data: Any) -> Any:
        results = []
        for fn in fns:
            try:
                result = fn(data)
            except StopPropagation as stop:
                if stop.has_result:
                    results.append(stop.result)
                return results
            except Exception as exc:
                failed(fn, exc)
                continue
            if result is not None:
                results.append(result)
        return results
    return collect


def _first_runner(fns: Any, failed: Callable[[Any, Exception], None]
                  ) -> Callable[[Any], Any]:
    def first(data: Any) -> Any:
        for fn in fns:
            try:
                result = fn(data)
            except StopPropagation as stop:
                return stop.result
            except Exception as exc:
                failed(fn, exc)
                continue
            if result is not None:
                return result
        return None
    return first
