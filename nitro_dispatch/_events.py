"""Declared events: the application's hook API (SPEC section 9).

An application declares its events (:class:`EventSpec`: name, mode,
historic, doc) in code, with ``@event_spec`` functions of a class or module,
or from an installed distribution's entry point in the group
``nitro_dispatch.events``.  A declaration decides how the event runs:

``chain`` (default)
    today's data-filter chain.
``collect``
    every hook receives the same data; ``trigger`` returns the list of the
    non-``None`` results in chain order.
``first``
    every hook receives the same data; the first non-``None`` result ends
    the chain and is returned (``None`` when there is none).

A ``historic`` event remembers the data of every trigger and replays it to
hooks attached later.  Wrapper hooks (``wrapper=True``) are generators that
run around the rest of the event.

Where the work happens:

* at registration (:func:`admit_hook`): the hook's signature, wrapper rules
  and conformance (is the event declared?), never per trigger;
* at plan build (:func:`._modes.specialize`): an event that is not a
  plain chain (a mode, history or wrappers) gets a runner in its plan;
  plain chains keep the registry's fast loop untouched;
* per trigger: that runner (:mod:`._modes`) runs the mode, the history and
  the wrappers.

This module holds the declarations, the conformance and signature checks
and the history; :mod:`._modes` runs the events.
"""

from __future__ import annotations

from ._errors import StopPropagation, ValidationError
from ._hooks import match_pattern
from ._log import get_logger

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Literal, Optional, Set, Tuple, TypeVar

    from ._hooks import HookRecord
    from ._manager import PluginManager
    from ._registry import HookRegistry
    from ._source import PluginSource

    F = TypeVar("F", bound=Callable[..., Any])
    Mode = Literal["chain", "collect", "first"]  # the declarable modes, for type checkers

__all__ = ["EventSpec", "event_spec", "MODES", "EVENTS_GROUP", "EventTable", "specs_in"]

logger = get_logger("nitro_dispatch.events")

MODES = ("chain", "collect", "first")
EVENTS_GROUP = "nitro_dispatch.events"
RESERVED_PREFIX = "nitro."  # the framework's own events: always declared, always chains
_CO_VARARGS = 0x04
_CO_GENERATOR = 0x20


class EventSpec:
    """One declared event: ``name``, ``mode`` ("chain", "collect" or
    "first"), ``historic`` (replay earlier triggers to later hooks) and
    ``doc``."""

    __slots__ = ("name", "mode", "historic", "doc")

    def __init__(self, name: str, mode: str = "chain", historic: bool = False,
                 doc: Optional[str] = None) -> None:
        check_declaration(name, mode, historic)
        self.name = name
        self.mode = mode
        self.historic = bool(historic)
        self.doc = doc

    def same_settings(self, other: "EventSpec") -> bool:
        return self.mode == other.mode and self.historic == other.historic

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EventSpec) and (self.name, self.mode, self.historic,
                                                 self.doc) == (other.name, other.mode,
                                                               other.historic, other.doc)

    def __hash__(self) -> int:
        return hash((self.name, self.mode, self.historic))

    def __repr__(self) -> str:
        return "EventSpec(%r, mode=%r, historic=%r)" % (self.name, self.mode, self.historic)


def check_declaration(name: Any, mode: Any, historic: Any) -> None:
    """Raise :class:`ValidationError` for a name, mode or flag that cannot
    be declared."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("an event name must be a non-empty string, got %r" % (name,))
    if "*" in name:
        raise ValidationError("event %r: a declared name cannot contain '*' (wildcards are "
                              "for hooks, not declarations)" % (name,))
    if mode not in MODES:
        raise ValidationError("event %r: unknown mode %r; choose one of %s"
                              % (name, mode, ", ".join(MODES)))
    if not isinstance(historic, bool):
        raise ValidationError("event %r: 'historic' must be True or False, got %r"
                              % (name, historic))


def event_spec(name: str, mode: Mode = "chain", historic: bool = False) -> Callable[[F], F]:
    """Mark a function of a class or module as the declaration of event
    ``name``; its docstring becomes the event's ``doc``.  The function is
    not called: its signature documents the data the event carries.

    >>> class AppEvents:
    ...     @event_spec("app.menu", mode="collect")
    ...     def menu(data):
    ...         '''Menu entries for the page in ``data``.'''
    >>> AppEvents.menu.__nitro_event__
    EventSpec('app.menu', mode='collect', historic=False)
    """
    check_declaration(name, mode, historic)

    def mark(func: F) -> F:
        target = getattr(func, "__func__", func)  # staticmethod / classmethod
        spec = EventSpec(name, mode, historic, _cleandoc(getattr(target, "__doc__", None)))
        try:
            setattr(target, "__nitro_event__", spec)
        except AttributeError:
            raise TypeError("@event_spec cannot mark %r" % (func,)) from None
        return func

    return mark


def _cleandoc(doc: Optional[str]) -> Optional[str]:
    """A docstring without its common indentation (``inspect.cleandoc``,
    without importing inspect)."""
    if not doc or not doc.strip():
        return None
    lines = doc.expandtabs().splitlines()
    rest = [line for line in lines[1:] if line.strip()]
    indent = min((len(line) - len(line.lstrip()) for line in rest), default=0)
    cleaned = [lines[0].strip()] + [line[indent:].rstrip() for line in lines[1:]]
    return "\n".join(cleaned).strip()


def specs_in(namespace: Any) -> List[EventSpec]:
    """The :class:`EventSpec` of every ``@event_spec`` function of a class
    (its bases included) or module, in definition order."""
    if isinstance(namespace, type):
        members: Dict[str, Any] = {}
        for klass in reversed(namespace.__mro__):
            members.update(vars(klass))
    else:
        members = dict(getattr(namespace, "__dict__", {}))
    found: List[EventSpec] = []
    for value in members.values():
        target = getattr(value, "__func__", value)
        try:
            spec = getattr(target, "__nitro_event__", None)
        except Exception:  # exotic objects in a module: not ours
            continue
        if isinstance(spec, EventSpec):
            found.append(spec)
    return found


# -- the per-registry table ---------------------------------------------------------


class EventTable:
    """A registry's declared events, where they came from, their history,
    and the conformance settings."""

    __slots__ = ("specs", "origins", "history", "strict", "reported", "report", "tasks")

    def __init__(self, strict: bool = False,
                 report: Optional[Callable[[Optional[str], str], None]] = None) -> None:
        self.specs: Dict[str, EventSpec] = {}
        self.origins: Dict[str, PluginSource] = {}
        self.history: Dict[str, List[Any]] = {}  # historic event -> data, oldest first
        self.strict = strict
        self.reported: Set[Tuple[str, str]] = set()
        self.report = report  # (plugin name, message) of a lenient conformance problem
        self.tasks: Set[Any] = set()  # async replays in flight (kept from the GC)

    def is_declared(self, name: str) -> bool:
        """Declared, reserved (``nitro.*``), or a pattern matching one of
        those."""
        if name in self.specs or name.startswith(RESERVED_PREFIX):
            return True
        if "*" in name:
            if match_pattern(name, RESERVED_PREFIX + "plugin.loaded") or \
                    match_pattern(name, RESERVED_PREFIX + "app.startup"):
                return True
            return any(match_pattern(name, declared) for declared in self.specs)
        return False

    def undeclared_message(self, name: str, who: str) -> str:
        import difflib

        if "*" in name:
            what = "pattern %r, which matches no declared event" % (name,)
        else:
            what = "undeclared event %r" % (name,)
        close = difflib.get_close_matches(name, list(self.specs), n=1)
        hint = " (did you mean %r?)" % (close[0],) if close else ""
        return "%s hooks %s%s" % (who, what, hint)


def table_of(registry: "HookRegistry") -> Optional[EventTable]:
    table: Optional[EventTable] = registry._events
    return table


# -- registration checks ---------------------------------------------------------------


def _who(callback: Any, plugin: Any) -> str:
    name = getattr(callback, "__qualname__", None) or repr(callback)
    plugin_name = getattr(plugin, "name", None) if plugin is not None else None
    if plugin_name is not None:
        return "plugin %r (hook %s)" % (plugin_name, name)
    return "hook %s" % (name,)


def check_signature(callback: Any, event: str, wrapper: bool, plugin: Any = None) -> None:
    """Raise :class:`ValidationError` unless ``callback`` can be called with
    one positional argument (the data) and, for a wrapper, is a generator
    function.  Callables without a signature are let through."""
    func, bound = callback, 0
    inner = getattr(func, "__func__", None)
    if inner is not None and getattr(func, "__self__", None) is not None:
        func, bound = inner, 1
    code = getattr(func, "__code__", None)
    if code is not None and not hasattr(func, "__wrapped__") and \
            not hasattr(func, "__signature__") and hasattr(func, "__defaults__"):
        positional = code.co_argcount - bound
        required = positional - len(func.__defaults__ or ())
        kwonly = code.co_kwonlyargcount - len(func.__kwdefaults__ or {})
        varargs = bool(code.co_flags & _CO_VARARGS)
        ok = required <= 1 and kwonly <= 0 and (positional >= 1 or varargs)
        if wrapper and not code.co_flags & _CO_GENERATOR:
            raise ValidationError("%s for event %r is not a generator function: a wrapper "
                                  "must yield exactly once" % (_who(callback, plugin), event))
        if not ok:
            raise ValidationError("%s for event %r cannot take the event's data as its one "
                                  "positional argument; give it a parameter for the data"
                                  % (_who(callback, plugin), event))
        return
    import inspect

    try:
        signature = inspect.signature(callback)
    except (TypeError, ValueError):
        return  # no signature to check (some builtins)
    try:
        signature.bind(None)
    except TypeError:
        raise ValidationError("%s for event %r cannot take the event's data as its one "
                              "positional argument %s" % (_who(callback, plugin), event,
                                                          signature)) from None
    target = inspect.unwrap(getattr(callback, "__func__", callback))
    if wrapper and inspect.isfunction(target) and not inspect.isgeneratorfunction(target):
        raise ValidationError("%s for event %r is not a generator function: a wrapper must "
                              "yield exactly once" % (_who(callback, plugin), event))


def admit_hook(registry: "HookRegistry", event: str, callback: Any, plugin: Any,
               wrapper: bool, timeout: Optional[float], is_async: bool) -> None:
    """Everything checked when a hook is registered: its signature, the
    wrapper rules, and (once the registry has declared events) whether its
    event is declared.  Raises :class:`ValidationError`; a lenient
    conformance problem is reported once and the hook is admitted."""
    if wrapper:
        if timeout is not None:
            raise ValidationError("%s for event %r: a wrapper cannot have a timeout (its code "
                                  "runs in the caller, around the chain)"
                                  % (_who(callback, plugin), event))
        if is_async:
            raise ValidationError("%s for event %r: a wrapper must be a plain generator "
                                  "function (it wraps trigger_async too), not async"
                                  % (_who(callback, plugin), event))
    check_signature(callback, event, wrapper, plugin)
    table = registry._events
    if table is None or not table.specs or table.is_declared(event):
        return
    who = _who(callback, plugin)
    plugin_name = getattr(plugin, "name", None) if plugin is not None else None
    message = table.undeclared_message(event, "plugin %r" % (plugin_name,)
                                       if plugin_name is not None else who)
    if table.strict:
        raise ValidationError(message + "; strict_events refuses it")
    _report_once(table, plugin_name, event, message)


def _report_once(table: EventTable, plugin_name: Optional[str], event: str,
                 message: str) -> None:
    key = (plugin_name or "", event)
    if key in table.reported:
        return
    table.reported.add(key)
    logger.warning("%s", message)
    if table.report is not None:
        table.report(plugin_name, message)


def admit_plugin_hooks(registry: "HookRegistry", instance: Any) -> None:
    """Check every ``@hook`` of a plugin instance before any is registered,
    so a plugin refused by a check leaves nothing behind."""
    from ._hooks import is_async_callable

    for attr, spec in type(instance).nitro_hook_specs():
        callback = getattr(instance, attr)
        admit_hook(registry, spec.event, callback, instance, spec.wrapper, spec.timeout,
                   spec.async_hook or is_async_callable(callback))


# -- declaring (the manager's methods call these) ----------------------------------------


def _table_for(manager: "PluginManager") -> EventTable:
    registry = manager.hooks
    table = registry._events
    if table is None:
        def report(plugin_name: Optional[str], message: str) -> None:
            _add_problem(manager, plugin_name, message)

        table = EventTable(manager.strict_events, report)
        with registry._lock:
            if registry._events is None:
                registry._events = table
            table = registry._events
    return table


def _add_problem(manager: "PluginManager", plugin_name: Optional[str], message: str,
                 source: Optional[PluginSource] = None,
                 error: Optional[BaseException] = None) -> None:
    from ._source import PluginProblem

    if source is None and plugin_name is not None and plugin_name in manager._entries:
        source = manager._entries[plugin_name].source
    manager._problems.append(PluginProblem(plugin_name, "event", message, source, error))


def declare_event(manager: "PluginManager", name: str, mode: str = "chain",
                  historic: bool = False, doc: Optional[str] = None) -> EventSpec:
    return declare_specs(manager, [EventSpec(name, mode, historic, doc)])[0]


def declare_specs(manager: "PluginManager", specs: List[EventSpec],
                  origin: Optional[PluginSource] = None) -> List[EventSpec]:
    """Declare ``specs`` all or none: a conflict raises
    :class:`ValidationError` before anything is declared."""
    table = _table_for(manager)
    registry = manager.hooks
    result: List[EventSpec] = []
    with registry._lock:
        fresh: Dict[str, EventSpec] = {}
        for spec in specs:
            if spec.name.startswith(RESERVED_PREFIX):
                if spec.mode != "chain" or spec.historic:
                    raise ValidationError("event %r: names under 'nitro.' are the framework's "
                                          "own events, always declared as plain chains"
                                          % (spec.name,))
                result.append(spec)
                continue
            known = fresh.get(spec.name) or table.specs.get(spec.name)
            if known is not None:
                if not known.same_settings(spec):
                    where = table.origins.get(spec.name)
                    raise ValidationError(
                        "event %r is already declared with mode=%r, historic=%r%s; it cannot "
                        "be declared again with mode=%r, historic=%r"
                        % (spec.name, known.mode, known.historic,
                           " by %s" % where.describe() if where is not None else "",
                           spec.mode, spec.historic))
                result.append(known)
                continue
            fresh[spec.name] = spec
            result.append(spec)
        for name, spec in fresh.items():
            table.specs[name] = spec
            if origin is not None:
                table.origins[name] = origin
        if fresh:
            registry._invalidate()
    if fresh:
        logger.debug("declared events %s", ", ".join(fresh))
        _recheck(registry, table)
    return result


def _recheck(registry: "HookRegistry", table: EventTable) -> None:
    """Report the hooks registered before the declarations that do not
    conform to them (they stay registered, even under ``strict_events``)."""
    with registry._lock:
        records = [r for recs in list(registry._exact.values()) + list(
            registry._patterns.values()) for r in recs]
    for rec in records:
        if not table.is_declared(rec.event):
            who = "plugin %r" % (rec.plugin_name,) if rec.plugin_name is not None \
                else _who(rec.callback, None)
            _report_once(table, rec.plugin_name, rec.event,
                         table.undeclared_message(rec.event, who))


def declare_namespace(manager: "PluginManager", namespace: Any,
                      origin: Optional[PluginSource] = None) -> List[str]:
    specs = specs_in(namespace)
    if not specs:
        raise ValidationError("%s has no @event_spec functions to declare"
                              % (getattr(namespace, "__qualname__", None)
                                 or getattr(namespace, "__name__", None) or repr(namespace),))
    return [spec.name for spec in declare_specs(manager, specs, origin)]


def declare_installed(manager: "PluginManager", group: str = EVENTS_GROUP) -> List[str]:
    """Declare the events that installed distributions publish under
    ``group``; a declaration that does not import or conflicts is reported
    (logged, :meth:`get_problems` phase "event") and the others still
    count."""
    from ._distributions import list_installed_plugins, load_entry_point
    from ._source import PluginSource

    names: List[str] = []
    for item in list_installed_plugins(group):
        origin = PluginSource("distribution", dist_name=item.dist_name,
                              dist_version=item.dist_version, path=item.location,
                              module=item.module, value=item.value)
        try:
            namespace = load_entry_point(item)
            declared = declare_namespace(manager, namespace, origin)
        except Exception as exc:
            message = ("event declarations %r (%s) from %s cannot be used: %s: %s"
                       % (item.name, item.value, origin.describe(), type(exc).__name__, exc))
            logger.error("%s", message)
            _add_problem(manager, None, message, origin, exc)
            continue
        names.extend(n for n in declared if n not in names)
    return names


def clear_history(registry: "HookRegistry", name: str) -> None:
    table = registry._events
    if table is not None:
        table.history.pop(name, None)


def event_origin(manager: "PluginManager", name: str) -> Optional[PluginSource]:
    """Where a declared event came from (a distribution), or ``None``."""
    table = manager.hooks._events
    return table.origins.get(name) if table is not None else None


# -- history replay ------------------------------------------------------------------------


def replay(registry: "HookRegistry", records: List[HookRecord]) -> None:
    """Call each newly attached hook with the remembered data of the
    historic events it matches, oldest first.  Results go nowhere; errors
    are reported like a hook's (``on_error``, ``nitro.plugin.error``, the
    log) and never raised.  Async hooks are replayed as a task of the
    running event loop, or skipped with a warning when there is none."""
    table = registry._events
    if table is None or not table.history:
        return
    for rec in records:
        if rec.wrapper or not _enabled(rec.plugin):
            continue
        for event, remembered in list(table.history.items()):
            if not remembered or not match_pattern(rec.event, event):
                continue
            datas = list(remembered)
            if rec.is_async:
                _replay_async(registry, table, rec, event, datas)
                continue
            for data in datas:
                try:
                    if rec.timeout is None:
                        rec.callback(data)
                    else:
                        registry._call_timed(rec, event, data)
                except StopPropagation:
                    continue
                except Exception as exc:
                    _replay_failed(registry, rec, event, exc)


def _replay_failed(registry: "HookRegistry", rec: HookRecord, event: str,
                   exc: Exception) -> None:
    logger.error("%s failed replaying historic event %r: %s: %s", rec.label, event,
                 type(exc).__name__, exc, exc_info=exc)
    registry._notify_error(event, rec, exc)


def _replay_async(registry: "HookRegistry", table: EventTable, rec: HookRecord, event: str,
                  datas: List[Any]) -> None:
    import asyncio

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        logger.warning("%s is async and no event loop is running: historic event %r is not "
                       "replayed to it", rec.label, event)
        return

    async def run() -> None:
        for data in datas:
            try:
                await registry._call_async(rec, event, data)
            except StopPropagation:
                continue
            except Exception as exc:
                _replay_failed(registry, rec, event, exc)

    task = loop.create_task(run())
    table.tasks.add(task)
    task.add_done_callback(table.tasks.discard)


# -- small helpers -------------------------------------------------------------------------


def _enabled(plugin: Any) -> bool:
    return plugin is None or getattr(plugin, "enabled", True) is not False


def _watched(plugin: Any) -> bool:
    return plugin is None or hasattr(plugin, "_nitro_watch")
