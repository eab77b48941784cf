"""The dispatch engine's front: :class:`HookRegistry` (owns the event
objects by name, the patterns and their index, the per-plugin index, the
conformance settings, and which plans a change drops).

Each event name the registry knows is one :class:`~._event.Event`: its
declaration, its own hooks, its cached plan, its history.  Patterns (hooks
on names with ``*``) are kept apart, indexed by their literal prefix or
suffix (:mod:`._patterns`), and joined in when a plan is built.  The first
trigger of an event resolves its chain into a :class:`~._plan.Plan`
(patterns matched, priorities sorted, disabled, held and async-only hooks
set aside) with a :class:`~._runner.Runner`; a trigger then costs one dict
lookup plus the hooks themselves, however many unrelated events and
patterns the registry holds.

Changes are local (SPEC section 12): a change to an exact event drops that
event's plan, a change to a pattern drops the cached plans of the events it
matches (found through a :class:`~._patterns.NameIndex` of the planned
names), and a plugin toggled drops the plans holding its hooks; every other
plan survives.  Events that hold nothing but a plan (names triggered
without hooks of their own) are bounded (:data:`_MAX_TRANSIENT`), the
oldest going first.

Conformance (SPEC section 9) costs in proportion to what a change can
touch.  A hook is checked when it is registered, against the declared names
(a pattern through a :class:`~._patterns.NameIndex` of them), and the "did
you mean" of its report is computed only when the finding is new.  Hooks
registered before the first declaration are checked once the declaring is
done (:meth:`HookRegistry.check_pending`): each declaration only takes the
hooks it makes conform (its exact name, and the patterns the index finds
for it) off the pending set, so declaring after loading reports what is
still undeclared then, the same findings as declaring first.  Historic
events are indexed the same way, so registering a hook never scans them.
"""

from __future__ import annotations

from _thread import RLock

from ._errors import ValidationError
from ._event import Event
from ._events import (RESERVED_PREFIX, EventSpec, is_declared, signature_problem,
                      undeclared_message, who, wrapper_problem)
from ._hooks import HookRecord, is_async_callable
from ._log import get_logger
from ._patterns import NameIndex, PatternIndex
from ._phases import EVENT, VALIDATION
from ._plan import (ERROR_EVENT, QUIET, REPLAY, STRATEGIES, HookTrace, Plan, RunContext,
                    fast_chain, is_enabled, is_watched)
from ._runner import CHAIN, FIRST, Runner, drive, drive_async, steps
from ._validate import check_event, check_hook

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import (Any, Callable, Dict, Iterable, List, Optional, Sequence, Set,
                        Tuple)

    from ._plan import Chain

    Row = Tuple[str, Callable[..., Any], int, Optional[float], bool, bool]
    Finding = Tuple[str, str, str]
    Reporter = Callable[..., Any]
    Trigger = Tuple[Optional[Chain], Optional[Chain], Callable[[Any], Any]]

__all__ = ["HookRegistry", "HookTrace", "Plan", "ERROR_EVENT", "STRATEGIES"]

logger = get_logger("nitro_dispatch.registry")

# Events kept only for their plan (names triggered that have no hooks or
# declaration of their own: matched by patterns only, or by nothing) must
# not grow the registry forever.  Beyond this many, the oldest goes, one at
# a time (first in, first out: a hit costs no bookkeeping in the hot loop).
_MAX_TRANSIENT = 16384

# The modes whose happy path ``trigger`` runs itself, without a call more.
_LOOPED = (CHAIN, FIRST)


class HookRegistry:
    """Hooks by event, and the triggers that run them.

    Usable on its own, without plugins::

        >>> reg = HookRegistry()
        >>> _ = reg.register("price.*", lambda d: d * 2, priority=90)
        >>> _ = reg.register("price.eur", lambda d: d + 1)
        >>> reg.trigger("price.eur", 10)
        21

    ``reporter(plugin_name, phase, kind, message, error=None)`` hears of
    every finding the registry makes itself (a hook on an undeclared event
    under lenient conformance: phase "event", kind "undeclared:<event>");
    without one they are logged as warnings.  ``strict_events=True``
    refuses such hooks instead.
    """

    def __init__(self, *, reporter: Optional[Reporter] = None,
                 strict_events: bool = False) -> None:
        self._lock = RLock()
        self._events: Dict[str, Event] = {}  # every known name (no "*")
        self._patterns: Dict[str, List[HookRecord]] = {}  # pattern -> records, seq order
        self._index = PatternIndex()  # the keys of _patterns, by literal prefix/suffix
        # id(plugin) -> that plugin's records (a dict used as an ordered set)
        self._by_plugin: Dict[int, Dict[HookRecord, None]] = {}
        self._seq = 0
        self._cached = NameIndex()  # every name with a plan (and some old ones)
        self._transient: Dict[str, None] = {}  # events holding only a plan, oldest first
        self._declared: Dict[str, Event] = {}  # in declaration order
        self._declared_names = NameIndex()  # the same names, for patterns to match
        self._historic: Dict[str, Event] = {}
        self._historic_names = NameIndex()  # the same names, for patterns to match
        self._historic_rank: Dict[str, int] = {}  # name -> place in declaration order
        # Hooks registered before the first declaration, not yet checked
        # against the declarations (see check_pending): a dict as an ordered set.
        self._unchecked: Dict[HookRecord, None] = {}
        self._ctx = RunContext(self._emit_without, self._lock)
        self._trace: Any = None  # deque of HookTrace, created when tracing starts
        self._reporter = reporter
        self._reported: Set[Tuple[str, str]] = set()
        self._tasks: Set[Any] = set()  # async replays in flight (kept from the GC)
        self.strict_events = strict_events
        # The trigger table: what ``trigger`` does with each planned event,
        # as (chain, first, run): a chain to loop over, or a ``first``
        # event's chain to loop over until an answer, or neither: then the
        # data goes to ``run`` (the plan's, or the historic trigger).  Written by _build, emptied by
        # the plan drops; bound once, in ``trigger``'s closure.
        self._triggers: Dict[str, Trigger] = {}
        self._trigger = self._make_trigger()
        if type(self).trigger is HookRegistry.trigger:  # (a subclass's override stays)
            self.trigger = self._trigger  # type: ignore[method-assign]

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
        (:class:`ValidationError` otherwise).

        A hook of a historic event receives the remembered data before it
        takes part in any trigger of that event, once each and in order
        (data triggered meanwhile included).  ``replay=False`` holds it back
        from its historic events until :meth:`replay` is called with it (a
        plugin's load replays after ``on_load``).  ``checked=True`` skips
        the admission checks when the caller has made them already
        (:meth:`hook_findings`).

        Returns the new :class:`HookRecord`.  Bad input (a non-``str`` or
        empty name, a timeout that is not a finite number in ``(0,
        TIMEOUT_MAX]``, an async handler for a ``nitro.*`` lifecycle event)
        raises ``TypeError`` or ``ValueError``; see :mod:`._validate`.
        """
        is_async = async_hook or is_async_callable(callback)
        check_hook(event_name, callback, priority, timeout, is_async)
        if self._unchecked:
            self.check_pending()
        report = None if checked else self._admit(event_name, callback, plugin, wrapper,
                                                  timeout, is_async)
        with self._lock:
            self._seq += 1
            rec = HookRecord(event_name, callback, plugin, priority, timeout, is_async,
                             self._seq, wrapper)
            held = self._file(rec)
            self._drop_plans(event_name)
        if plugin is not None:
            self._watch(plugin)
        logger.debug("registered hook %r for %r (%s, priority %d, timeout %s)",
                     getattr(callback, "__qualname__", callback), event_name, rec.label,
                     priority, timeout)
        if report is not None:
            self._report(*report)
        if replay and held:
            self._catch_up([rec])
        return rec

    def unregister(self, event_name: str, callback: Callable[..., Any],
                   plugin: Any = None) -> bool:
        """Remove the hooks registered as ``(event_name, callback, plugin)``.

        ``callback`` compares by equality (a bound method matches a fresh
        ``obj.method``); ``plugin`` must be the same owner (``None`` for hooks
        registered without one).  Returns whether anything was removed.
        """
        with self._lock:
            doomed = [r for r in self._registered(event_name) if r.plugin is plugin
                      and (r.callback is callback or r.callback == callback)]
            self._unfile(doomed)
        return bool(doomed)

    def unregister_plugin(self, plugin: Any) -> int:
        """Remove every hook owned by ``plugin``; returns how many.

        Costs in proportion to the plugin's own hooks, not the registry."""
        with self._lock:
            doomed = self._owned(plugin)
            self._unfile(doomed)
        return len(doomed)

    def replace_plugin(self, old: Any, new: Any, hooks: Iterable[Row],
                       checked: bool = False, *, replay: bool = False) -> List[HookRecord]:
        """Make ``new`` own exactly ``hooks`` (``(event, callback, priority,
        timeout, async_hook, wrapper)`` rows) and ``old`` none, in one step:
        a trigger sees the hooks from before or from after, never neither,
        never both (used by load, reload and its undo).

        Every admission check runs first (unless ``checked``); if one
        refuses, nothing changes and the error propagates.  A new hook of
        the same method name and event takes the place of a removed one
        among equal priorities.  The new hooks are held back from historic
        events until :meth:`replay` is called with them (a plugin's load
        replays after ``on_load``); data triggered meanwhile waits for them,
        so each gets every remembered and new data once, in order.
        ``replay=True`` replays before returning; should that raise a
        ``BaseException`` (``KeyboardInterrupt``), the swap is undone first.
        Returns the new records.
        """
        if self._unchecked:
            self.check_pending()
        prepared: List[Tuple[Row, bool]] = []
        reports: List[Tuple[Any, ...]] = []
        for row in hooks:
            event, callback, priority, timeout, async_hook, wrapper = row
            is_async = async_hook or is_async_callable(callback)
            check_hook(event, callback, priority, timeout, is_async)
            if not checked:
                report = self._admit(event, callback, new, wrapper, timeout, is_async)
                if report is not None:
                    reports.append(report)
            prepared.append((row, is_async))
        with self._lock:
            previous = self._owned(old) if old is not None else []
            if new is not None and new is not old:
                previous += self._owned(new)
            places = {(r.event, getattr(r.callback, "__name__", None)): r.seq
                      for r in previous}
            records: List[HookRecord] = []
            for (event, callback, priority, timeout, _, wrapper), is_async in prepared:
                seq = places.pop((event, getattr(callback, "__name__", None)), None)
                if seq is None:
                    self._seq += 1
                    seq = self._seq
                records.append(HookRecord(event, callback, new, priority, timeout, is_async,
                                          seq, wrapper))
            self._swap(previous, records)
        self._watch(new)
        for rec in records:
            logger.debug("registered hook %r for %r (%s, priority %d, timeout %s)",
                         getattr(rec.callback, "__qualname__", rec.callback), rec.event,
                         rec.label, rec.priority, rec.timeout)
        for report in reports:
            self._report(*report)
        if replay and self._historic:
            try:
                self._catch_up(records)
            except BaseException:
                with self._lock:
                    self._swap(records, previous, hold=False)  # back in service as they were
                raise
        return records

    def replay(self, records: Iterable[HookRecord]) -> None:
        """Hand each record the remembered data of the historic events it
        matches, oldest first, then let it take part in their triggers.  A
        record held back (``replay=False``) also receives, in order, the
        data triggered while it waited; one already in service gets the
        whole history again.  Results go nowhere; errors are reported like
        a hook's (``on_error``, ``nitro.plugin.error``, the log) and never
        raised.  Hooks of disabled plugins get nothing.  Async hooks are
        replayed as a task of the running event loop, or skipped with a
        warning when there is none."""
        if not self._historic:
            return  # no historic event: nothing to hand over, no hook held back
        records = list(records)
        with self._lock:
            for rec in records:
                if rec.wrapper or rec not in self._registered(rec.event):
                    continue
                for ev in self._historic_of(rec.event):
                    if rec not in ev.held:
                        ev.held[rec] = 0
                        self._drop_event_plan(ev)
        self._catch_up(records)

    def get_tables(self) -> List[List[HookRecord]]:
        """Every registration list (exact events and patterns), a snapshot."""
        with self._lock:
            return [list(ev.hooks) for ev in self._events.values() if ev.hooks] + \
                [list(recs) for recs in self._patterns.values()]

    def remove_record(self, record: HookRecord) -> bool:
        """Remove one registration by its record."""
        with self._lock:
            doomed = [r for r in self._registered(record.event) if r is record]
            self._unfile(doomed)
        return bool(doomed)

    def clear_event(self, event_name: str) -> None:
        """Remove every hook registered under exactly this name (an event or
        a pattern); patterns that merely match it stay."""
        with self._lock:
            self._unfile(list(self._registered(event_name)))

    def clear_all(self) -> None:
        """Remove every hook (declarations and history stay)."""
        with self._lock:
            self._patterns.clear()
            self._index = PatternIndex()
            self._by_plugin.clear()
            for ev in self._events.values():
                ev.hooks = []
                if ev.history is not None:
                    ev.held.clear()
            self._invalidate()

    # -- filing (lock held) ----------------------------------------------

    def _event(self, name: str) -> Event:
        ev = self._events.get(name)
        if ev is None:
            ev = self._events[name] = Event(name)
        return ev

    def _registered(self, name: str) -> Sequence[HookRecord]:
        if "*" in name:
            return self._patterns.get(name, ())
        ev = self._events.get(name)
        return ev.hooks if ev is not None else ()

    def _owned(self, plugin: Any) -> List[HookRecord]:
        return [r for r in self._by_plugin.get(id(plugin), ()) if r.plugin is plugin]

    def _historic_of(self, name: str) -> List[Event]:
        """The historic events a hook registered under ``name`` runs on."""
        if "*" not in name:
            ev = self._historic.get(name)
            return [ev] if ev is not None else []
        matched = self._historic_names.matching(name)
        if len(matched) > 1:
            matched.sort(key=self._historic_rank.__getitem__)  # in declaration order
        historic = self._historic
        return [historic[event] for event in matched]

    def _file(self, rec: HookRecord, hold: bool = True) -> bool:
        """Add a record to the tables and indexes, held back from its
        historic events unless ``hold`` is false (the caller drops the
        plans it affects); returns whether it was held back."""
        name = rec.event
        if "*" in name:
            recs = self._patterns.get(name)
            if recs is None:
                recs = self._patterns[name] = []
                self._index.add(name)
            recs.append(rec)
        else:
            self._event(name).hooks.append(rec)
            self._transient.pop(name, None)
        if rec.plugin is not None:
            self._by_plugin.setdefault(id(rec.plugin), {})[rec] = None
        held = False
        if hold and self._historic and not rec.wrapper:
            for ev in self._historic_of(name):
                ev.held[rec] = 0
                held = True
        return held

    def _unfile(self, doomed: List[HookRecord]) -> None:
        """Take records out of every table and index, dropping the plans
        they were part of."""
        if not doomed:
            return
        gone = set(doomed)
        names = list(dict.fromkeys(r.event for r in doomed))
        for name in names:
            if "*" in name:
                kept = [r for r in self._patterns.get(name, ()) if r not in gone]
                if kept:
                    self._patterns[name] = kept
                else:
                    self._patterns.pop(name, None)
                    self._index.discard(name)
            else:
                ev = self._events.get(name)
                if ev is not None:
                    ev.hooks = [r for r in ev.hooks if r not in gone]
            if self._historic:
                for ev in self._historic_of(name):
                    for rec in doomed:
                        ev.held.pop(rec, None)
        if self._unchecked:
            for rec in doomed:
                self._unchecked.pop(rec, None)
        by_plugin = self._by_plugin
        for rec in doomed:
            if rec.plugin is not None:
                owned = by_plugin.get(id(rec.plugin))
                if owned is not None:
                    owned.pop(rec, None)
                    if not owned:
                        del by_plugin[id(rec.plugin)]
        for name in names:
            self._drop_plans(name)

    def _swap(self, removed: List[HookRecord], added: List[HookRecord],
              hold: bool = True) -> None:
        """Replace ``removed`` by ``added`` in one step, every table kept in
        seq order."""
        self._unfile(removed)
        for rec in added:
            self._file(rec, hold)
        for name in dict.fromkeys(r.event for r in added):
            recs = self._registered(name)
            if isinstance(recs, list):
                recs.sort(key=_seq)
            self._drop_plans(name)

    def _watch(self, plugin: Any) -> None:
        watch = getattr(plugin, "nitro_watch", None) if plugin is not None else None
        if watch is not None:
            watch(self)

    # -- plans ----------------------------------------------------------

    def _invalidate(self) -> None:
        """Drop every plan (lock held)."""
        self._triggers.clear()
        events = self._events
        for name in list(events):
            ev = events[name]
            ev.drop_plan()
            if not ev.owns_state():
                del events[name]
        self._transient = {}
        self._cached = NameIndex()

    def _drop_event_plan(self, ev: Event) -> None:
        ev.plan = None  # (Event.drop_plan, inlined: frequent)
        self._triggers.pop(ev.name, None)
        if not ev.hooks and ev.spec is None and self._events.get(ev.name) is ev:
            del self._events[ev.name]
            self._transient.pop(ev.name, None)

    def _drop_plans(self, name: str) -> None:
        """Drop the cached plans a change to ``name`` affects (lock held):
        the event's own plan, or for a pattern the plans of every cached
        event it matches."""
        events = self._events
        if "*" not in name:
            ev = events.get(name)
            if ev is not None:
                self._drop_event_plan(ev)
            return
        for event in self._cached.matching(name):
            ev = events.get(event)
            if ev is not None and ev.plan is not None:
                self._drop_event_plan(ev)

    def plugin_state_changed(self, plugin: Any) -> None:
        """Called by a plugin whose ``enabled`` changed: drop the plans that
        hold its hooks."""
        with self._lock:
            for name in dict.fromkeys(r.event for r in self._owned(plugin)):
                self._drop_plans(name)

    def _build(self, name: str) -> Runner:
        """The plan of ``name``, built and cached if there is none."""
        with self._lock:
            ev = self._events.get(name)
            if ev is not None and ev.plan is not None:
                return ev.plan
            if ev is None:
                ev = self._events[name] = Event(name)
                transient = self._transient
                transient[name] = None
                if len(transient) > _MAX_TRANSIENT:
                    oldest = next(iter(transient))  # evict one, the oldest
                    old = self._events.get(oldest)
                    if old is not None:
                        self._drop_event_plan(old)
                    transient.pop(oldest, None)
            recs = list(ev.hooks)  # in registration (seq) order
            matched = self._index.matching(name) if self._patterns else ()
            if matched:
                patterns = self._patterns
                for pattern in matched:
                    recs.extend(patterns[pattern])
                recs.sort(key=_seq)
            # Stable, also reversed: equal priorities keep registration order.
            recs.sort(key=_priority, reverse=True)
            # Plugins we are told about are filtered now; others per call.
            held = ev.held
            live = [r for r in recs if not (r.plugin is not None and is_watched(r.plugin)
                                            and not is_enabled(r.plugin)) and r not in held]
            wrappers = [r for r in live if r.wrapper]
            if wrappers:
                live = [r for r in live if not r.wrapper]
            sync = [r for r in live if not r.is_async]
            ctx = self._ctx
            plain = ctx.strategy != "collect_all" and ctx.trace is None
            fast = fast_chain(sync) if plain else None
            afast = None
            if plain and live and ev.mode == CHAIN and all(r.is_async for r in live):
                afast = fast_chain(live)  # the awaited loop is a chain's
            historic = ev.history is not None
            plan = Runner(ctx, name, ev.mode, historic, recs, sync, live, wrappers, fast, afast)
            ev.plan = plan
            if historic:
                self._triggers[name] = (None, None, self._historic_trigger(name))
            elif plan.fast is not None and not plan.skipped and not plan.wrappers \
                    and ev.mode in _LOOPED:
                # ``trigger`` loops over the chain itself (see _make_trigger).
                if ev.mode == CHAIN:
                    self._triggers[name] = (plan.fast, None, plan.run)
                else:
                    self._triggers[name] = (None, plan.fast, plan.run)
            else:
                self._triggers[name] = (None, None, plan.run)
            cached = self._cached
            if name not in cached:
                if cached.oversized(len(self._events)):
                    self._cached = NameIndex(n for n, e in self._events.items()
                                             if e.plan is not None)
                else:
                    cached.add(name)
            return plan

    def _historic_trigger(self, name: str) -> Callable[[Any], Any]:
        def run(data: Any) -> Any:
            return self._remember(name, data).run(data)
        return run

    def _remember(self, name: str, data: Any) -> Runner:
        """Add ``data`` to a historic event's history and return the plan
        to run it with, in one step (see :meth:`replay`)."""
        with self._lock:
            ev = self._events[name]
            if ev.history is not None:
                ev.history.append(data)
            return ev.plan if ev.plan is not None else self._build(name)

    # -- declarations ---------------------------------------------------

    def declare(self, specs: Iterable[EventSpec], origin: Any = None) -> List[EventSpec]:
        """Declare ``specs`` all or none: a conflict raises
        :class:`ValidationError` before anything is declared.  Returns the
        specs in force (an earlier equal declaration stays).  ``origin``
        (a :class:`PluginSource`) says where they came from.  When these are
        the first declarations, the hooks registered before become pending:
        each declaration takes off the ones it makes conform, and
        :meth:`check_pending` reports the rest (never removes them)."""
        result: List[EventSpec] = []
        with self._lock:
            first = not self._declared
            fresh: Dict[str, EventSpec] = {}
            for spec in specs:
                if spec.name.startswith(RESERVED_PREFIX):
                    if spec.mode != "chain" or spec.historic:
                        raise ValidationError("event %r: names under 'nitro.' are the "
                                              "framework's own events, always declared as "
                                              "plain chains" % (spec.name,))
                    result.append(spec)
                    continue
                known_ev = self._declared.get(spec.name)
                known = fresh.get(spec.name) or (known_ev.spec if known_ev is not None
                                                 else None)
                if known is not None:
                    if not known.same_settings(spec):
                        where = known_ev.origin if known_ev is not None else None
                        raise ValidationError(
                            "event %r is already declared with mode=%r, historic=%r%s; it "
                            "cannot be declared again with mode=%r, historic=%r"
                            % (spec.name, known.mode, known.historic,
                               " by %s" % (where.describe() if where is not None
                                           else "the application"),
                               spec.mode, spec.historic))
                    result.append(known)
                    continue
                fresh[spec.name] = spec
                result.append(spec)
            if fresh and first:
                self._unchecked = dict.fromkeys(self._all_records())
            for name, spec in fresh.items():
                ev = self._event(name)
                self._transient.pop(name, None)
                ev.declare(spec, origin)
                self._declared[name] = ev
                self._declared_names.add(name)
                if spec.historic:
                    self._historic[name] = ev
                    self._historic_names.add(name)
                    self._historic_rank[name] = len(self._historic_rank)
                self._drop_event_plan(ev)
                if self._unchecked:
                    self._conforming(name)
        if fresh:
            logger.debug("declared events %s", ", ".join(fresh))
        return result

    def _conforming(self, name: str) -> None:
        """Take the hooks a declaration of ``name`` makes conform off the
        pending set: those on ``name`` itself and on the patterns matching
        it, nothing else (lock held)."""
        unchecked = self._unchecked
        ev = self._events.get(name)
        for rec in ev.hooks if ev is not None else ():
            unchecked.pop(rec, None)
        if self._patterns:
            patterns = self._patterns
            for pattern in self._index.matching(name):
                for rec in patterns[pattern]:
                    unchecked.pop(rec, None)

    def check_pending(self) -> None:
        """Report the hooks registered before the first declaration whose
        event is still undeclared (SPEC section 9: registered, reported
        once; kept even under ``strict_events``).

        Runs by itself at the next registration, load, trigger of an event
        without a plan, and :meth:`PluginManager.get_problems`; call it
        when the declaring is done to hear of them at once.  Declaring the
        events one at a time after the hooks therefore reports what is
        still undeclared then, as declaring them first would have (pluggy's
        ``check_pending`` likewise waits until asked, but raises)."""
        with self._lock:
            pending, self._unchecked = list(self._unchecked), {}
        for rec in pending:
            report = self._conformance(rec.event, rec.callback, rec.plugin, lenient=True)
            if report is not None:
                self._report(*report)

    def get_event_specs(self) -> Dict[str, EventSpec]:
        """The declared events: ``{name: EventSpec}``, in declaration order."""
        with self._lock:
            return {name: ev.spec for name, ev in self._declared.items()
                    if ev.spec is not None}

    def event_origin(self, name: str) -> Any:
        """Where a declared event came from (a :class:`PluginSource`), or ``None``."""
        ev = self._declared.get(name)
        return ev.origin if ev is not None else None

    def is_declared(self, name: str) -> bool:
        """Whether a hook on ``name`` conforms: a declared or reserved
        (``nitro.*``) event, or a pattern matching one."""
        if "*" not in name:
            return is_declared(name, self._declared)
        # A pattern: the index finds the declared names it matches without
        # a scan of every one; the reserved names are checked apart.
        return self._declared_names.matches_any(name) or is_declared(name, ())

    def clear_history(self, name: str) -> None:
        """Forget the remembered triggers of a historic event."""
        with self._lock:
            ev = self._historic.get(name)
            if ev is not None:
                ev.clear_history()

    def _all_records(self) -> List[HookRecord]:
        return [r for ev in self._events.values() for r in ev.hooks] + \
            [r for recs in self._patterns.values() for r in recs]

    # -- admission --------------------------------------------------------

    def hook_findings(self, event: str, callback: Callable[..., Any], *, plugin: Any = None,
                      priority: int = 50, timeout: Optional[float] = None,
                      wrapper: bool = False, is_async: Optional[bool] = None,
                      method: bool = False) -> List[Finding]:
        """Every admission check registration makes, without registering:
        ``(phase, kind, message)`` for each finding.  Phase "validation":
        registration refuses the hook; kind "options:<event>:<hook>" (event
        name, priority, timeout, async lifecycle handler), "wrapper:..." (a
        wrapper's options) or "signature:..." (no parameter for the data,
        a wrapper that is not a generator).  Phase "event", kind
        "undeclared:<event>": the event is not declared (refused under
        ``strict_events``, else registered and reported).  ``method=True``:
        ``callback`` is a function to be bound to an instance (its first
        parameter is skipped)."""
        if is_async is None:
            is_async = is_async_callable(callback)
        name = getattr(callback, "__qualname__", None) or repr(callback)
        try:
            check_hook(event, callback, priority, timeout, is_async)
        except (TypeError, ValueError) as exc:
            return [(VALIDATION, "options:%s:%s" % (event, name),
                     "%s for event %r: %s" % (who(callback, plugin), event, exc))]
        findings: List[Finding] = []
        problem = wrapper_problem(callback, event, plugin, timeout, is_async) \
            if wrapper else None
        if problem is not None:
            findings.append((VALIDATION, "wrapper:%s:%s" % (event, name), problem))
        problem = signature_problem(callback, event, wrapper, plugin, method)
        if problem is not None:
            findings.append((VALIDATION, "signature:%s:%s" % (event, name), problem))
        report = self._conformance(event, callback, plugin, lenient=False)
        if report is not None:
            findings.append((report[1], report[2], report[3]))
        return findings

    def _admit(self, event: str, callback: Callable[..., Any], plugin: Any, wrapper: bool,
               timeout: Optional[float], is_async: bool) -> Optional[Tuple[Any, ...]]:
        """Raise :class:`ValidationError` for a hook registration refuses;
        return the report to make once it is registered, if any."""
        problem = wrapper_problem(callback, event, plugin, timeout, is_async) \
            if wrapper else None
        if problem is None:
            problem = signature_problem(callback, event, wrapper, plugin)
        if problem is not None:
            raise ValidationError(problem)
        report = self._conformance(event, callback, plugin, lenient=True) \
            if self._declared else None
        if report is not None and self.strict_events:
            raise ValidationError(report[3])
        return report

    def _conformance(self, event: str, callback: Any, plugin: Any,
                     lenient: bool) -> Optional[Tuple[Any, ...]]:
        """The report for a hook on an undeclared event, or ``None``.  With
        ``lenient``, one already reported is ``None`` too (and the message,
        with its "did you mean", is not even made)."""
        declared = self._declared
        if not declared or self.is_declared(event):
            return None
        plugin_name = getattr(plugin, "name", None) if plugin is not None else None
        if lenient and not self.strict_events and (plugin_name or "", event) in self._reported:
            return None
        hooker = "plugin %r" % (plugin_name,) if plugin_name is not None \
            else who(callback, plugin)
        message = undeclared_message(event, hooker, list(declared))
        if self.strict_events:
            message += "; strict_events refuses it"
        return (plugin_name, EVENT, "undeclared:%s" % (event,), message)

    def _report(self, plugin_name: Optional[str], phase: str, kind: str, message: str
                ) -> None:
        key = (plugin_name or "", kind.partition(":")[2])
        with self._lock:
            if key in self._reported:
                return
            self._reported.add(key)
        if self._reporter is None:
            logger.warning("%s", message)
        else:
            self._reporter(plugin_name, phase, kind, message)

    # -- introspection --------------------------------------------------

    def get_hooks(self, event_name: str) -> List[HookRecord]:
        """Every hook that matches ``event_name`` (wildcards included), in
        the order they run, enabled or not."""
        return list(self._plan(check_event(event_name)).all)

    def get_all_events(self) -> List[str]:
        """Every event name and pattern with at least one hook."""
        with self._lock:
            return [name for name, ev in self._events.items() if ev.hooks] + \
                list(self._patterns)

    def _plan(self, name: str) -> Runner:
        ev = self._events.get(name)
        plan = ev.plan if ev is not None else None
        return plan if plan is not None else self._build(name)

    # -- configuration --------------------------------------------------

    def set_error_strategy(self, strategy: str) -> None:
        """``log_and_continue`` (default), ``fail_fast`` or ``collect_all``."""
        if strategy not in STRATEGIES:
            raise ValueError("unknown error strategy %r; choose one of %s"
                             % (strategy, ", ".join(STRATEGIES)))
        with self._lock:
            self._ctx.strategy = strategy
            self._invalidate()

    def enable_hook_tracing(self, enabled: bool = True) -> None:
        """Log every hook run (logger ``nitro_dispatch.trace``, DEBUG) and
        keep the last 1,000 runs for :meth:`get_trace`.  Off, it costs
        nothing: traced events run through the step loop, untraced ones the
        happy-path loops."""
        with self._lock:
            if enabled and self._trace is None:
                from collections import deque
                self._trace = deque(maxlen=1000)
            self._ctx.trace = self._trace if enabled else None
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
        from ._failures import last_errors

        return last_errors(self._ctx)

    # -- triggers -------------------------------------------------------

    def trigger(self, event_name: str, data: Any = None) -> Any:
        """Run the hooks of ``event_name`` by its mode: a chain (default)
        passes each hook's non-``None`` result on as the data and returns
        the final data; ``first`` returns the first non-``None`` result;
        ``collect`` the list of them.

        Async hooks are skipped here (one warning per hook); use
        :meth:`trigger_async` for them.  (An instance calls the function
        ``_make_trigger`` made for it, without this method's frame.)
        """
        return self._trigger(event_name, data)

    def _make_trigger(self) -> Callable[..., Any]:
        """This registry's ``trigger``: a function with the trigger table in
        its closure, so a trigger costs one dictionary lookup and one tuple
        unpacking before its loop, and no attribute read (PERFORMANCE.md S1
        and C9: on 3.9, where attribute reads are not specialised, a method
        reading ``self._events`` and an event object's fields cost a
        ``first`` event answered by its 1st hook 1.5x the plain loop).  The
        chain and first loops are written out here, not called: one call
        frame more is what an early answer would notice.  Everything else
        is the plan's ``run``; the first exception hands the rest of a loop
        to the step loop."""
        table = self._triggers
        cold = self._cold

        def trigger(event_name: str, data: Any = None) -> Any:
            try:
                fns, first, run = table[event_name]
            except KeyError:
                return cold(event_name, data)
            if fns is not None:
                # The hot loop (PERFORMANCE.md "plain").
                for fn in fns:
                    try:
                        result = fn(data)
                    except Exception as exc:
                        return fns.runner.resume(fn, exc, data)
                    if result is not None:
                        data = result
                return data
            if first is not None:
                for fn in first:
                    try:
                        result = fn(data)
                    except Exception as exc:
                        return first.runner.resume(fn, exc, data)
                    if result is not None:
                        return result
                return None
            return run(data)
        trigger.__doc__ = HookRegistry.trigger.__doc__
        return trigger

    def _cold(self, name: str, data: Any) -> Any:
        """Trigger an event without a plan: build it (checking the name)."""
        if self._unchecked:
            self.check_pending()
        self._build(check_event(name))
        return self._trigger(name, data)  # now in the trigger table (or built again)

    async def trigger_async(self, event_name: str, data: Any = None) -> Any:
        """Run the hooks, awaiting async hooks and calling sync ones directly."""
        ev = self._events.get(event_name)
        plan = ev.plan if ev is not None else None
        if plan is None:
            if self._unchecked:
                self.check_pending()
            plan = self._build(check_event(event_name))
        if plan.historic:
            plan = self._remember(event_name, data)
        afns = plan.afast
        if afns is not None:  # only plain async hooks: the awaited loop
            for afn in afns:
                try:
                    result = await afn(data)
                except Exception as exc:
                    return await afns.runner.resume_async(afn, exc, data)
                if result is not None:
                    data = result
            return data
        if plan.asyncfree and plan.fast is not None and not plan.wrappers:
            return plan.loop()(data)
        return await plan.run_async(data)

    def emit_safely(self, event: str, data: Any) -> Any:
        """Run the sync hooks of a lifecycle event with every error logged
        and none raised, whatever the strategy; timeouts hold as for any
        hook, and a ``KeyboardInterrupt`` propagates (after the wrappers)."""
        return self._emit_without(event, data, None)

    def _emit_without(self, event: str, data: Any, skip: Optional[HookRecord]) -> Any:
        """:meth:`emit_safely` without the hook ``skip`` (the one whose
        failure ``nitro.plugin.error`` reports)."""
        if not self._patterns and event not in self._events:
            return data  # no hooks for it at all: nothing to run
        plan = self._plan(event)
        records, wrappers = plan.sync, plan.wrappers
        if skip is not None:
            records = tuple(r for r in records if r is not skip)
            wrappers = tuple(r for r in wrappers if r is not skip)
        if not records and not wrappers:
            return data
        return drive(steps(self._ctx, QUIET, event, CHAIN, records, wrappers, data), event)

    # -- historic replay --------------------------------------------------

    def _catch_up(self, records: List[HookRecord]) -> None:
        """Hand each held record its historic events' data (see :meth:`replay`)."""
        for rec in records:
            with self._lock:
                events = [ev for ev in self._historic_of(rec.event) if rec in ev.held]
            for ev in events:
                if rec.is_async:
                    self._catch_up_later(ev, rec)
                    continue
                try:
                    if rec.timeout is None and self._ctx.trace is None:
                        self._replay_quickly(ev, rec)
                        continue
                    while True:
                        data, more = self._next_replay(ev, rec)
                        if not more:
                            break
                        drive(steps(self._ctx, REPLAY, ev.name, CHAIN, (rec,), (), data),
                              ev.name)
                except BaseException:  # KeyboardInterrupt: the hook joins as it is
                    with self._lock:
                        if ev.held.pop(rec, None) is not None:
                            self._drop_event_plan(ev)
                    raise

    def _replay_quickly(self, ev: Event, rec: HookRecord) -> None:
        """The replay of a sync hook without timeout or tracing: a plain
        loop over the remembered data, taken in batches (data triggered
        meanwhile comes in the next one); a failure goes to the step loop,
        which reports it like any replayed hook's."""
        fn, plugin, name = rec.callback, rec.plugin, ev.name
        while True:
            batch = self._next_replays(ev, rec)
            if not batch:
                return
            for data in batch:
                try:
                    fn(data)
                except Exception as exc:
                    drive(steps(self._ctx, REPLAY, name, CHAIN, (rec,), (), data, 0, exc), name)
                if plugin is not None and getattr(plugin, "enabled", True) is False:
                    break  # disabled meanwhile: the next batch lets it go

    def _next_replays(self, ev: Event, rec: HookRecord) -> List[Any]:
        """Every remembered data a held ``rec`` has not had yet (it has them
        once this returns), or ``[]`` when it has them all: then it joins
        the event's triggers."""
        with self._lock:
            cursor = ev.held.get(rec)
            if cursor is None:
                return []
            history = ev.history or []
            if cursor >= len(history) or not is_enabled(rec.plugin):
                del ev.held[rec]
                self._drop_event_plan(ev)
                return []
            ev.held[rec] = len(history)
            return history[cursor:]

    def _next_replay(self, ev: Event, rec: HookRecord) -> Tuple[Any, bool]:
        """The next remembered data for a held ``rec``, or ``(None, False)``
        when it has them all: then it joins the event's triggers."""
        with self._lock:
            cursor = ev.held.get(rec)
            if cursor is None:
                return None, False
            history = ev.history or []
            if cursor >= len(history) or not is_enabled(rec.plugin):
                del ev.held[rec]
                self._drop_event_plan(ev)
                return None, False
            ev.held[rec] = cursor + 1
            return history[cursor], True

    def _catch_up_later(self, ev: Event, rec: HookRecord) -> None:
        import asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            logger.warning("%s is async and no event loop is running: historic event %r is "
                           "not replayed to it", rec.label, ev.name)
            with self._lock:
                if ev.held.pop(rec, None) is not None:
                    self._drop_event_plan(ev)
            return

        async def run() -> None:
            while True:
                data, more = self._next_replay(ev, rec)
                if not more:
                    return
                await drive_async(steps(self._ctx, REPLAY, ev.name, CHAIN, (rec,), (), data),
                                  ev.name)

        task = loop.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


# Sort keys that run in C without importing operator (import time counts):
# the __slots__ descriptors' own getters.
_seq = getattr(HookRecord, "seq").__get__
_priority = getattr(HookRecord, "priority").__get__
