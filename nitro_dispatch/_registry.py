"""The dispatch engine: :class:`HookRegistry`.

Hooks are kept per registered name (exact events and ``*`` patterns apart).
The first trigger of an event resolves its chain into a :class:`Plan`
(patterns matched, priorities sorted, disabled and async-only hooks set
aside) and caches it by event name.  A trigger therefore costs one dict
lookup plus the hooks themselves, however many unrelated events and
patterns the registry holds.

Changes are local (SPEC section 12): a change to an exact event drops that
event's plan, a change to a pattern drops the cached plans of the events it
matches, and a plugin toggled drops the plans holding its hooks; every other
plan survives.  Both directions are indexed by literal prefix or suffix
(:mod:`._patterns`): a plan build looks only at the patterns that could
match its event, a pattern change only at the cached names that could
match it.  Each plugin's records are indexed too, so unloading it touches
only its own hooks.  The cache is bounded (see :data:`_MAX_PLANS`) and
evicts one plan at a time, oldest first.

Two runners share the work:

* the fast loop in :meth:`HookRegistry.trigger`, for chains of plain sync
  hooks with no timeout, no tracing and no per-call checks (the common case);
* :meth:`HookRegistry._chain`, a generator holding every other rule (timeouts,
  tracing, ``collect_all``, plugins whose ``enabled`` we cannot watch).  The
  sync and async triggers drive the same generator; only the way a hook is
  called differs.
"""

from __future__ import annotations

import time
from _thread import RLock

from ._errors import HookTimeoutError, StopPropagation
from ._events import EventTable, admit_hook
from ._events import replay as replay_history
from ._modes import specialize
from ._hooks import HookRecord, is_async_callable
from ._log import get_logger
from ._patterns import NameIndex, PatternIndex
from ._plan import HookTrace, Plan, _Chain, _enabled, _fast_chain, _watched
from ._validate import check_event, check_hook

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Generator, Iterable, List, Optional, Tuple
    import contextvars

__all__ = ["HookRegistry", "HookTrace", "Plan", "ERROR_EVENT", "STRATEGIES"]

logger = get_logger("nitro_dispatch.registry")
trace_logger = get_logger("nitro_dispatch.trace")

ERROR_EVENT = "nitro.plugin.error"
STRATEGIES = ("log_and_continue", "fail_fast", "collect_all")
# Plans kept beyond one per exact event name with hooks: events triggered
# with ever-new names (matched by patterns only, or by nothing) must not grow
# the cache forever.  When full, the oldest plan goes, one at a time
# (first in, first out: a hit costs no bookkeeping in the hot loop).
_MAX_PLANS = 16384

if TYPE_CHECKING:
    Step = Tuple[HookRecord, Any]


class HookRegistry:
    """Hooks by event, and the triggers that run them as data-filter chains.

    Usable on its own, without plugins::

        >>> reg = HookRegistry()
        >>> _ = reg.register("price.*", lambda d: d * 2, priority=90)
        >>> _ = reg.register("price.eur", lambda d: d + 1)
        >>> reg.trigger("price.eur", 10)
        21
    """

    def __init__(self) -> None:
        self._lock = RLock()
        # name (event or pattern) -> records in registration order
        self._exact: Dict[str, List[HookRecord]] = {}
        self._patterns: Dict[str, List[HookRecord]] = {}
        self._index = PatternIndex()  # the names in _patterns, by literal prefix/suffix
        # id(plugin) -> that plugin's records (a dict used as an ordered set)
        self._by_plugin: Dict[int, Dict[HookRecord, None]] = {}
        self._seq = 0
        # Caches, changed only under the lock: a local change pops entries,
        # a global one (strategy, tracing, clear_all) replaces both dicts.
        # Plans are immutable and a trigger holds the chain it started with,
        # so a trigger in flight keeps its snapshot.
        self._plans: Dict[str, Plan] = {}
        self._fast: Dict[str, _Chain] = {}
        # Events whose plan runs a collect/first tight loop: event -> that
        # loop, kept and dropped with the plan like _fast.
        self._runners: Dict[str, Callable[[Any], Any]] = {}
        self._cached = NameIndex()  # every key of _plans (and some old ones)
        self._strategy = "log_and_continue"
        self._tracing = False
        self._trace: Any = None  # deque of HookTrace, created when tracing starts
        self._errors_var: Optional["contextvars.ContextVar[List[Dict[str, Any]]]"] = None
        self._in_error_var: Optional["contextvars.ContextVar[bool]"] = None
        self._events: Optional[EventTable] = None  # declared events, once there are any
        self._wrappers = 0  # wrappers ever registered: plans may need a Special runner

    # -- registration ---------------------------------------------------

    def register(self, event_name: str, callback: Callable[..., Any], plugin: Any = None,
                 priority: int = 50, timeout: Optional[float] = None, *,
                 async_hook: bool = False, wrapper: bool = False,
                 replay: bool = True, checked: bool = False) -> HookRecord:
        """Subscribe ``callback`` to ``event_name`` (an event, or a pattern in
        which ``*`` matches any run of characters, dots included).

        Higher ``priority`` runs first; equal priorities keep registration
        order.  ``timeout`` (seconds) bounds the hook's run.  ``plugin`` is the
        owner: its ``enabled`` is honoured and its ``on_error`` is told of
        failures.  ``async def`` callbacks are detected; ``async_hook=True``
        marks a callable that returns an awaitable.  ``wrapper=True``: a
        generator function that runs around the event's other hooks.  The
        callable must accept the data as one positional argument
        (:class:`ValidationError` otherwise).  A hook of a historic event is
        called at once with the remembered data, unless ``replay=False``.
        ``checked=True`` skips the signature and conformance checks when the
        caller has made them already (a plugin's load checks all its hooks
        before registering any).
        Returns the new :class:`HookRecord`.  Bad input (a non-``str`` or
        empty name, a timeout that is not a finite number in ``(0,
        TIMEOUT_MAX]``, an async handler for a ``nitro.*`` lifecycle event)
        raises ``TypeError`` or ``ValueError``; see :mod:`._validate`.
        """
        is_async = async_hook or is_async_callable(callback)
        check_hook(event_name, callback, priority, timeout, is_async)
        if not checked:  # ``checked``: the caller ran admit_hook already (a plugin's load)
            admit_hook(self, event_name, callback, plugin, wrapper, timeout, is_async)
        with self._lock:
            self._seq += 1
            rec = HookRecord(event_name, callback, plugin, priority, timeout, is_async,
                             self._seq, wrapper)
            self._wrappers += wrapper
            self._file(rec)
            watch = getattr(plugin, "_nitro_watch", None)
            if watch is not None:
                watch(self)
            self._drop_plans(event_name)
        logger.debug("registered hook %r for %r (%s, priority %d, timeout %s)",
                     getattr(callback, "__qualname__", callback), event_name, rec.label,
                     priority, timeout)
        if replay and self._events is not None and self._events.history:
            replay_history(self, [rec])
        return rec

    def unregister(self, event_name: str, callback: Callable[..., Any],
                   plugin: Any = None) -> bool:
        """Remove the hooks registered as ``(event_name, callback, plugin)``.

        ``callback`` compares by equality (a bound method matches a fresh
        ``obj.method``); ``plugin`` must be the same owner (``None`` for hooks
        registered without one).  Returns whether anything was removed.
        """
        return self._remove(lambda r: r.event == event_name and r.plugin is plugin
                            and (r.callback is callback or r.callback == callback),
                            (event_name,)) > 0

    def unregister_plugin(self, plugin: Any) -> int:
        """Remove every hook owned by ``plugin``; returns how many.

        Costs in proportion to the plugin's own hooks, not the registry."""
        with self._lock:  # reentrant: _remove takes it again
            owned = self._by_plugin.get(id(plugin))
            if not owned:
                return 0
            names = list(dict.fromkeys(r.event for r in owned if r.plugin is plugin))
            return self._remove(lambda r: r.plugin is plugin, names)

    def replace_plugin(self, old: Any, new: Any,
                       hooks: Iterable[Tuple[str, Callable[..., Any], int, Optional[float],
                                             bool, bool]], checked: bool = False
                       ) -> List[HookRecord]:
        """Remove every hook of ``old`` and register ``hooks`` (``(event,
        callback, priority, timeout, async_hook, wrapper)``) owned by ``new``,
        in one step: a trigger sees ``old``'s hooks or ``new``'s, never neither,
        never both (used by reload).

        Everything happens under the lock, and chains are only built under
        the lock, so no trigger can build a chain from a half-done swap; a
        trigger already running keeps the chain it started with.  A new hook
        of the same method name and event takes the old one's place among
        equal priorities.  If a hook is refused, nothing changes.  Returns
        the new records (historic events are not replayed to them here).
        """
        records: List[HookRecord] = []
        moved: Dict[str, None] = {}  # events whose new hook took an old one's place
        with self._lock:
            owned = self._by_plugin.get(id(old), {}) if old is not None else {}
            places = {(r.event, getattr(r.callback, "__name__", None)): r.seq
                      for r in owned if r.plugin is old}
            try:
                for event, callback, priority, timeout, async_hook, wrapper in hooks:
                    rec = self.register(event, callback, plugin=new, priority=priority,
                                        timeout=timeout, async_hook=async_hook,
                                        wrapper=wrapper, replay=False, checked=checked)
                    seq = places.pop((event, getattr(callback, "__name__", None)), None)
                    if seq is not None:
                        rec.seq = seq
                        moved[event] = None
                    records.append(rec)
            except BaseException:
                self.unregister_plugin(new)
                raise
            if old is not None:
                self.unregister_plugin(old)
            for name in moved:  # keep every table in seq order (see _build)
                table = self._patterns if "*" in name else self._exact
                if name in table:
                    table[name].sort(key=_seq)
                self._drop_plans(name)
        return records

    def get_tables(self) -> List[List[HookRecord]]:
        """Every registration list (exact events and patterns), a snapshot."""
        with self._lock:
            return [list(recs) for table in (self._exact, self._patterns)
                    for recs in table.values()]

    def remove_record(self, record: HookRecord) -> bool:
        """Remove one registration by its record."""
        return self._remove(lambda r: r is record, (record.event,)) > 0

    def _remove(self, doomed: Callable[[HookRecord], bool],
                names: Optional[Iterable[str]]) -> int:
        removed = 0
        with self._lock:
            for table in (self._exact, self._patterns):
                for name in list(table if names is None else names):
                    recs = table.get(name)
                    if not recs:
                        continue
                    kept = [r for r in recs if not doomed(r)]
                    if len(kept) == len(recs):
                        continue
                    removed += len(recs) - len(kept)
                    self._forget(r for r in recs if doomed(r))
                    if kept:
                        table[name] = kept
                    else:
                        del table[name]
                        if table is self._patterns:
                            self._index.discard(name)
                    self._drop_plans(name)
        return removed

    def clear_event(self, event_name: str) -> None:
        """Remove every hook registered under exactly this name (an event or
        a pattern); patterns that merely match it stay."""
        with self._lock:
            self._forget(self._exact.pop(event_name, ()))
            pattern_recs = self._patterns.pop(event_name, None)
            if pattern_recs is not None:
                self._forget(pattern_recs)
                self._index.discard(event_name)
            self._drop_plans(event_name)

    def clear_all(self) -> None:
        """Remove every hook."""
        with self._lock:
            self._exact.clear()
            self._patterns.clear()
            self._index = PatternIndex()
            self._by_plugin.clear()
            self._invalidate()

    def _file(self, rec: HookRecord) -> None:
        """Add a new record to the tables and indexes (lock held; the
        caller drops the plans it affects, see :meth:`_drop_plans`)."""
        name = rec.event
        table = self._patterns if "*" in name else self._exact
        recs = table.get(name)
        if recs is None:
            recs = table[name] = []
            if table is self._patterns:
                self._index.add(name)
        recs.append(rec)
        if rec.plugin is not None:
            self._by_plugin.setdefault(id(rec.plugin), {})[rec] = None

    def _forget(self, records: Iterable[HookRecord]) -> None:
        """Take removed records out of the per-plugin index (lock held)."""
        by_plugin = self._by_plugin
        for rec in records:
            if rec.plugin is not None:
                owned = by_plugin.get(id(rec.plugin))
                if owned is not None:
                    owned.pop(rec, None)
                    if not owned:
                        del by_plugin[id(rec.plugin)]

    def _invalidate(self) -> None:
        # Caller holds the lock.  New dicts, so readers keep consistent ones.
        self._plans = {}
        self._fast = {}
        self._runners = {}
        self._cached = NameIndex()

    def _drop_plans(self, name: str) -> None:
        """Drop the cached plans a change to ``name`` affects (lock held):
        the event's own plan, or for a pattern the plans of every cached
        event it matches."""
        plans, fast, runners = self._plans, self._fast, self._runners
        if "*" not in name:
            plans.pop(name, None)
            fast.pop(name, None)
            runners.pop(name, None)
            return
        for event in self._cached.matching(name):
            if plans.pop(event, None) is not None:
                fast.pop(event, None)
                runners.pop(event, None)

    def _plugin_state_changed(self, plugin: Any) -> None:
        """Called by a plugin whose ``enabled`` changed: drop the plans that
        hold its hooks."""
        with self._lock:
            owned = self._by_plugin.get(id(plugin))
            if owned:
                for name in dict.fromkeys(r.event for r in owned if r.plugin is plugin):
                    self._drop_plans(name)

    # -- introspection --------------------------------------------------

    def get_hooks(self, event_name: str) -> List[HookRecord]:
        """Every hook that matches ``event_name`` (wildcards included), in
        the order they run, enabled or not."""
        return list(self._plan(check_event(event_name)).all)

    def get_all_events(self) -> List[str]:
        """Every event name and pattern with at least one hook."""
        with self._lock:
            return list(self._exact) + list(self._patterns)

    # -- configuration --------------------------------------------------

    def set_error_strategy(self, strategy: str) -> None:
        """``log_and_continue`` (default), ``fail_fast`` or ``collect_all``."""
        if strategy not in STRATEGIES:
            raise ValueError("unknown error strategy %r; choose one of %s"
                             % (strategy, ", ".join(STRATEGIES)))
        with self._lock:
            self._strategy = strategy
            self._invalidate()

    @property
    def error_strategy(self) -> str:
        return self._strategy

    def enable_hook_tracing(self, enabled: bool = True) -> None:
        """Log every hook run (logger ``nitro_dispatch.trace``, DEBUG) and
        keep the last 1,000 runs for :meth:`get_trace`.  Off, it costs
        nothing: traced chains use the general runner, untraced ones the fast
        loop."""
        with self._lock:
            self._tracing = bool(enabled)
            if enabled and self._trace is None:
                from collections import deque
                self._trace = deque(maxlen=1000)
            self._invalidate()

    def get_trace(self) -> List[HookTrace]:
        """The traced hook runs, oldest first."""
        return list(self._trace) if self._trace is not None else []

    def clear_trace(self) -> None:
        if self._trace is not None:
            self._trace.clear()

    def get_last_errors(self) -> List[Dict[str, Any]]:
        """The errors ``collect_all`` gathered in this thread's (or asyncio
        task's) last trigger: dicts with keys ``plugin``, ``error``, ``event``."""
        var = self._errors_var
        return list(var.get([])) if var is not None else []

    # -- plans ----------------------------------------------------------

    def _plan(self, event: str) -> Plan:
        plan = self._plans.get(event)
        if plan is None:
            plan = self._build(event)
        return plan

    def _build(self, event: str) -> Plan:
        with self._lock:
            plan = self._plans.get(event)
            if plan is not None:
                return plan
            recs = list(self._exact.get(event, ()))  # in registration (seq) order
            matched = self._index.matching(event) if self._patterns else ()
            if matched:
                patterns = self._patterns
                for pattern in matched:
                    recs.extend(patterns[pattern])
                recs.sort(key=_seq)
            # Stable, also reversed: equal priorities keep registration order.
            recs.sort(key=_priority, reverse=True)
            # Plugins we are told about are filtered now; others per call.
            live = [r for r in recs if not (r.plugin is not None and _watched(r.plugin)
                                            and not _enabled(r.plugin))]
            sync = [r for r in live if not r.is_async]
            plain = self._strategy != "collect_all" and not self._tracing
            fast = _fast_chain(sync) if plain else None
            afast = None
            if plain and live and all(r.is_async for r in live):
                afast = _fast_chain(live)
            plan = Plan(event, recs, sync, live, fast, afast)
            plans = self._plans
            if len(plans) >= _MAX_PLANS + len(self._exact):
                oldest = next(iter(plans))  # evict one plan, the oldest
                del plans[oldest]
                self._fast.pop(oldest, None)
                self._runners.pop(oldest, None)
            if self._events is not None or self._wrappers:
                plan = specialize(self, plan)
                special = plan.special
                if special is not None and special.trigger is special.fast_run:
                    self._runners[event] = special.trigger  # a collect/first tight loop
            plans[event] = plan
            cached = self._cached
            if event not in cached:
                if cached.oversized(len(plans)):
                    cached = self._cached = NameIndex(plans)
                else:
                    cached.add(event)
            return plan

    def _sync_chain(self, event: str) -> Optional[_Chain]:
        """Prepare ``trigger``: warn once per async hook it skips, and file
        the fast chain (if any) where the hot loop looks first."""
        plan = self._plans.get(event) or self._build(check_event(event))
        skipped = [r for r in plan.live if r.is_async and not r.warned]
        with self._lock:
            for rec in skipped:
                if not rec.warned:
                    rec.warned = True
                    logger.warning("trigger(%r) skips async %s; use trigger_async to run it",
                                   event, rec.label)
            if plan.fast is not None and self._plans.get(event) is plan:
                self._fast[event] = plan.fast
        return plan.fast

    # -- triggers -------------------------------------------------------

    def trigger(self, event_name: str, data: Any = None) -> Any:
        """Run the chain for ``event_name``: each hook gets the data and may
        return new data (``None`` keeps it); returns the final data.

        Async hooks are skipped here (one warning per hook); use
        :meth:`trigger_async` for them.
        """
        fns = self._fast.get(event_name)
        if fns is None:
            run = self._runners.get(event_name)
            if run is not None:
                return run(data)  # a collect or first event's tight loop
            plan = self._plans.get(event_name)
            if plan is not None and plan.special is not None:
                return plan.special.trigger(data)  # a mode, history or wrappers
            fns = self._sync_chain(event_name)
            if fns is None:
                return self._trigger_general(event_name, data)
        # The hot loop (PERFORMANCE.md "plain" plus StopPropagation).
        for fn in fns:
            try:
                result = fn(data)
            except StopPropagation as stop:
                return stop.result if stop.has_result else data
            except Exception as exc:
                self._fast_failed(event_name, fns, fn, exc)
                continue
            if result is not None:
                data = result
        return data

    async def trigger_async(self, event_name: str, data: Any = None) -> Any:
        """Run the chain, awaiting async hooks and calling sync ones directly."""
        plan = self._plans.get(event_name) or self._build(check_event(event_name))
        afns = plan.afast
        if afns is not None:  # only async hooks: the awaited loop
            for afn in afns:
                try:
                    result = await afn(data)
                except StopPropagation as stop:
                    return stop.result if stop.has_result else data
                except Exception as exc:
                    self._fast_failed(event_name, afns, afn, exc)
                    continue
                if result is not None:
                    data = result
            return data
        fns = plan.fast
        if fns is not None and len(fns) == len(plan.live):
            # Only plain sync hooks: trigger's loop, repeated here on purpose
            # (calling trigger would look the plan up again, and a plan
            # changed meanwhile could make it skip async hooks).
            for fn in fns:
                try:
                    result = fn(data)
                except StopPropagation as stop:
                    return stop.result if stop.has_result else data
                except Exception as exc:
                    self._fast_failed(event_name, fns, fn, exc)
                    continue
                if result is not None:
                    data = result
            return data
        return await self._trigger_general_async(plan, event_name, data)

    def _trigger_general(self, event: str, data: Any) -> Any:
        plan = self._plans.get(event) or self._build(event)
        if plan.special is not None:
            return plan.special.trigger(data)
        return drive(self._chain(plan.sync, event, data), self, event)

    async def _trigger_general_async(self, plan: Plan, event: str, data: Any) -> Any:
        if plan.special is not None:
            return await plan.special.trigger_async(data)
        return await drive_async(self._chain(plan.live, event, data), self, event)

    def _chain(self, records: Tuple[HookRecord, ...], event: str,
               data: Any) -> Generator[Step, Any, Any]:
        """Every dispatch rule but the call itself.

        Yields ``(record, data)`` for the driver to call; the driver sends
        back the result or throws in the exception.  Returns the final data.
        Under ``collect_all`` the errors are stored for
        :meth:`get_last_errors` when the chain ends.
        """
        trace = self._trace if self._tracing else None
        errors: Optional[List[Dict[str, Any]]] = [] if self._strategy == "collect_all" else None
        # Plugins that do not report ``enabled`` changes are read once, here,
        # so the chain in flight is a snapshot like any cached plan.
        records = tuple(r for r in records if _watched(r.plugin) or _enabled(r.plugin))
        try:
            for rec in records:
                started = time.perf_counter() if trace is not None else 0.0
                try:
                    result = yield rec, data
                except StopPropagation as stop:
                    if trace is not None:
                        self._record_trace(trace, event, rec, started, "stop")
                    if stop.has_result:
                        data = stop.result
                    break
                except Exception as exc:
                    if trace is not None:  # recorded before fail_fast raises
                        self._record_trace(trace, event, rec, started, "timeout" if isinstance(
                            exc, HookTimeoutError) else "error")
                    self._hook_failed(event, rec, exc, errors)
                    continue
                if trace is not None:
                    self._record_trace(trace, event, rec, started, "ok")
                if result is not None:
                    data = result
            return data
        finally:
            if errors is not None:
                self._store_errors(errors)

    def _record_trace(self, trace: Any, event: str, rec: HookRecord, started: float,
                      outcome: str) -> None:
        elapsed = time.perf_counter() - started
        trace.append(HookTrace(event, rec.plugin_name, rec.priority, elapsed, outcome))
        trace_logger.debug("event=%s plugin=%s priority=%d elapsed=%.3fms outcome=%s",
                           event, rec.plugin_name or "-", rec.priority, elapsed * 1000.0,
                           outcome)

    def _call_timed(self, rec: HookRecord, event: str, data: Any) -> Any:
        """Run a sync hook with a timeout on the shared pool (see _calls.py)."""
        from ._calls import call_timed

        return call_timed(rec, event, data)

    async def _call_async(self, rec: HookRecord, event: str, data: Any) -> Any:
        """Call one hook of ``trigger_async``'s general runner (see _calls.py)."""
        from ._calls import call_async

        return await call_async(rec, event, data)

    # -- errors ---------------------------------------------------------

    def _fast_failed(self, event: str, fns: _Chain, fn: Callable[..., Any],
                     exc: Exception) -> None:
        for index, candidate in enumerate(fns):
            if candidate is fn:
                self._hook_failed(event, fns.records[index], exc, None)
                return

    def _hook_failed(self, event: str, rec: HookRecord, exc: Exception,
                     errors: Optional[List[Dict[str, Any]]]) -> bool:
        """Tell the plugin and ``nitro.plugin.error``, then apply the strategy
        (see _failures.py).  Returns False."""
        from ._failures import hook_failed

        return hook_failed(self, event, rec, exc, errors)

    def _notify_error(self, event: str, rec: HookRecord, exc: Exception) -> None:
        from ._failures import notify_error

        notify_error(self, event, rec, exc)

    def emit_safely(self, event: str, data: Any) -> Any:
        """Run the sync chain of ``event`` with every error logged and none
        raised, whatever the strategy (used for lifecycle events)."""
        if not self._exact and not self._patterns:
            return data  # no hooks at all (discovery before any load): nothing to run
        for rec in self._plan(event).sync:
            if not _enabled(rec.plugin):
                continue
            try:
                result = rec.callback(data)
            except StopPropagation as stop:
                if stop.has_result:
                    data = stop.result
                break
            except Exception as exc:
                logger.error("%s failed on event %r: %s: %s", rec.label, event,
                             type(exc).__name__, exc, exc_info=exc)
                continue
            if result is not None:
                data = result
        return data

    def _store_errors(self, errors: List[Dict[str, Any]]) -> None:
        from ._failures import store_errors

        store_errors(self, errors)

    # -- seam for the plugin table (temporary) --
    # The methods the plugin half needs from the engine half (see the
    # seam's description), delegating to the 1.3 code; dropped when the
    # engine half is merged.

    _init_1_3 = __init__

    def __init__(self, *, reporter: Optional[Callable[..., Any]] = None,  # type: ignore[no-redef]
                 strict_events: bool = False) -> None:
        self._init_1_3()
        self._seam_reporter = reporter
        self._seam_strict = bool(strict_events)

    def _seam_table(self) -> EventTable:
        table = self._events
        if table is None:
            def report(plugin_name: Optional[str], message: str) -> None:
                if self._seam_reporter is not None:  # 1.3 passes the message only
                    import re

                    found = re.search(r"hooks (?:undeclared event|pattern) '([^']*)'", message)
                    event = found.group(1) if found else message
                    self._seam_reporter(plugin_name, "event", "undeclared:" + event, message)

            with self._lock:
                if self._events is None:
                    self._events = EventTable(self._seam_strict, report)
                table = self._events
        return table

    def hook_findings(self, event: Any, callback: Any, *, plugin: Any = None,
                      priority: Any = 50, timeout: Any = None, wrapper: bool = False,
                      is_async: Optional[bool] = None, method: bool = False
                      ) -> List[Tuple[str, str, str]]:
        """Every check :meth:`register` makes, as ``(phase, kind, message)``
        findings, registering nothing; ``method``: ``callback`` is a plain
        function that will be bound to an instance."""
        from types import MethodType

        from ._errors import ValidationError
        from ._events import check_signature

        name = getattr(callback, "__qualname__", None) or repr(callback)
        if method:
            callback = MethodType(callback, object())
        if is_async is None:
            is_async = is_async_callable(callback)
        found: List[Tuple[str, str, str]] = []
        who = "plugin %r (hook %s)" % (plugin.name, name) if getattr(plugin, "name", None) \
            else "hook %s" % (name,)
        try:
            check_hook(event, callback, priority, timeout, is_async)
        except (TypeError, ValueError) as exc:
            return [("validation", "options:%s:%s" % (event, name),
                     "%s for event %r: %s" % (who, event, exc))]
        if wrapper and timeout is not None:
            found.append(("validation", "wrapper:%s:%s" % (event, name),
                          "%s for event %r: a wrapper cannot have a timeout (its code runs "
                          "in the caller, around the chain)" % (who, event)))
        elif wrapper and is_async:
            found.append(("validation", "wrapper:%s:%s" % (event, name),
                          "%s for event %r: a wrapper must be a plain generator function "
                          "(it wraps trigger_async too), not async" % (who, event)))
        try:
            check_signature(callback, event, wrapper, plugin)
        except ValidationError as exc:
            found.append(("validation", "signature:%s:%s" % (event, name), str(exc)))
        table = self._events
        if table is not None and table.specs and not table.is_declared(event):
            plugin_name = getattr(plugin, "name", None)
            message = table.undeclared_message(
                event, "plugin %r" % (plugin_name,) if plugin_name is not None else who)
            if self._seam_strict:
                message += "; strict_events refuses it"
            found.append(("event", "undeclared:%s" % (event,), message))
        return found

    def declare(self, specs: List[Any], origin: Any = None) -> List[Any]:
        """Declare ``specs`` all or none (:class:`ValidationError` on a
        conflict)."""
        from types import SimpleNamespace

        from ._events import declare_specs

        self._seam_table()
        return declare_specs(SimpleNamespace(hooks=self),
                             specs, origin)

    def get_event_specs(self) -> Dict[str, Any]:
        table = self._events
        return dict(table.specs) if table is not None else {}

    def event_origin(self, name: str) -> Any:
        table = self._events
        return table.origins.get(name) if table is not None else None

    def clear_history(self, name: str) -> None:
        table = self._events
        if table is not None:
            table.history.pop(name, None)

    def is_declared(self, name: str) -> bool:
        table = self._events
        return table is not None and table.is_declared(name)

    def plugin_state_changed(self, plugin: Any) -> None:
        self._plugin_state_changed(plugin)


def drive(steps: Generator[Step, Any, Any], registry: HookRegistry, event: str) -> Any:
    """Run a chain generator (:meth:`HookRegistry._chain`, or a mode's)
    synchronously: call each hook it yields, send back the result or throw
    in the exception; return what the generator returns."""
    try:
        rec, current = next(steps)
        while True:
            try:
                if rec.timeout is None:
                    result = rec.callback(current)
                else:
                    result = registry._call_timed(rec, event, current)
            except BaseException as exc:
                rec, current = steps.throw(exc)
            else:
                rec, current = steps.send(result)
    except StopIteration as done:
        return done.value


async def drive_async(steps: Generator[Step, Any, Any], registry: HookRegistry,
                      event: str) -> Any:
    """:func:`drive` for ``trigger_async``: async hooks are awaited, and a
    hook's own error comes back unwrapped (see :class:`_Raised`)."""
    try:
        rec, current = next(steps)
        while True:
            try:
                result = await registry._call_async(rec, event, current)
            except _Raised as raised:  # the hook's own error, unwrapped
                rec, current = steps.throw(raised.error)
            except BaseException as exc:
                rec, current = steps.throw(exc)
            else:
                rec, current = steps.send(result)
    except StopIteration as done:
        return done.value


class _Raised(Exception):
    """Carries a hook's own error out of :meth:`HookRegistry._call_async`."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)
        self.error = error


# Sort keys that run in C without importing operator (import time counts):
# the __slots__ descriptors' own getters.
_seq = getattr(HookRecord, "seq").__get__
_priority = getattr(HookRecord, "priority").__get__
