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

This module owns the declarations (:class:`EventSpec`, ``@event_spec``,
:func:`specs_in`) and the checks a hook meets at registration that depend
on nothing but the hook and the declared names (:func:`signature_problem`,
:func:`is_declared`, :func:`undeclared_message`).  A registry keeps each
declaration in its event object (:mod:`._event`) and runs the checks
(:meth:`HookRegistry.hook_findings`); :mod:`._runner` runs the modes.
"""

from __future__ import annotations

from ._errors import ValidationError
from ._hooks import generator_code, match_pattern
from ._log import get_logger

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Iterable, List, Literal, Optional, TypeVar

    F = TypeVar("F", bound=Callable[..., Any])
    Mode = Literal["chain", "collect", "first"]  # the declarable modes, for type checkers

__all__ = ["EventSpec", "event_spec", "MODES", "EVENTS_GROUP", "RESERVED_PREFIX", "specs_in",
           "is_declared", "undeclared_message", "signature_problem", "wrapper_problem", "who",
           "declare_namespace", "replay"]

logger = get_logger("nitro_dispatch.events")

MODES = ("chain", "collect", "first")
EVENTS_GROUP = "nitro_dispatch.events"
RESERVED_PREFIX = "nitro."  # the framework's own events: always declared, always chains
# Every event the framework fires (after RESERVED_PREFIX); a pattern matching
# any of them conforms.
_RESERVED_EVENTS = ("plugin.registered", "plugin.loaded", "plugin.unloaded", "plugin.error",
                    "app.startup", "app.shutdown")
_CO_VARARGS = 0x04


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


# -- registration checks -----------------------------------------------------------


def is_declared(name: str, declared: "Iterable[str]") -> bool:
    """Whether a hook on ``name`` conforms to the ``declared`` names: declared,
    reserved (``nitro.*``), or a pattern matching one of those."""
    if name in declared or name.startswith(RESERVED_PREFIX):
        return True
    if "*" in name:
        if any(match_pattern(name, RESERVED_PREFIX + event) for event in _RESERVED_EVENTS):
            return True
        return any(match_pattern(name, known) for known in declared)
    return False


def undeclared_message(name: str, hooker: str, declared: "Iterable[str]") -> str:
    """Why a hook of ``hooker`` on ``name`` does not conform, with the
    nearest declared name ("did you mean")."""
    import difflib

    if "*" in name:
        what = "pattern %r, which matches no declared event" % (name,)
    else:
        what = "undeclared event %r" % (name,)
    close = difflib.get_close_matches(name, list(declared), n=1)
    hint = " (did you mean %r?)" % (close[0],) if close else ""
    return "%s hooks %s%s" % (hooker, what, hint)


def who(callback: Any, plugin: Any) -> str:
    """How messages name a hook: its plugin and callable."""
    name = getattr(callback, "__qualname__", None) or repr(callback)
    plugin_name = getattr(plugin, "name", None) if plugin is not None else None
    if plugin_name is not None:
        return "plugin %r (hook %s)" % (plugin_name, name)
    return "hook %s" % (name,)


def signature_problem(callback: Any, event: str, wrapper: bool, plugin: Any = None,
                      method: bool = False) -> Optional[str]:
    """Why ``callback`` cannot be a hook (it cannot be called with one
    positional argument, the data; a wrapper that is not a generator
    function), or ``None``.  ``method``: ``callback`` is a function that
    will be bound to an instance (its first parameter is skipped).
    Callables without a signature pass."""
    func, bound = callback, int(method)
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
        if wrapper and not generator_code(code):
            return ("%s for event %r is not a generator function: a wrapper must yield "
                    "exactly once" % (who(callback, plugin), event))
        if not ok:
            extra = max(required - 1, 0) + max(kwonly, 0)
            if extra == 1:
                fix = "it requires 1 more argument: give it a default"
            elif extra > 1:
                fix = "it requires %d more arguments: give them defaults" % (extra,)
            else:
                fix = "give it a parameter for the data"
            return ("%s for event %r cannot take the event's data as its one positional "
                    "argument; %s" % (who(callback, plugin), event, fix))
        return None
    import inspect

    try:
        signature = inspect.signature(callback)
    except (TypeError, ValueError):
        return None  # no signature to check (some builtins)
    try:
        if method:
            signature.bind(None, None)
        else:
            signature.bind(None)
    except TypeError:
        return ("%s for event %r cannot take the event's data as its one positional "
                "argument %s" % (who(callback, plugin), event, signature))
    target = inspect.unwrap(getattr(callback, "__func__", callback))
    if wrapper and inspect.isfunction(target) and not inspect.isgeneratorfunction(target):
        return ("%s for event %r is not a generator function: a wrapper must yield "
                "exactly once" % (who(callback, plugin), event))
    return None


def wrapper_problem(callback: Any, event: str, plugin: Any, timeout: Optional[float],
                    is_async: bool) -> Optional[str]:
    """Why a wrapper hook cannot have these options, or ``None``."""
    if timeout is not None:
        return ("%s for event %r: a wrapper cannot have a timeout (its code runs in the "
                "caller, around the chain)" % (who(callback, plugin), event))
    if is_async:
        return ("%s for event %r: a wrapper must be a plain generator function (it wraps "
                "trigger_async too), not async" % (who(callback, plugin), event))
    return None


def declare_namespace(registry: Any, namespace: Any, origin: Any = None) -> List[str]:
    """Declare every ``@event_spec`` function of ``namespace`` in
    ``registry`` (:meth:`HookRegistry.declare`); returns the names."""
    specs = specs_in(namespace)
    if not specs:
        raise ValidationError("%s has no @event_spec functions to declare"
                              % (getattr(namespace, "__qualname__", None)
                                 or getattr(namespace, "__name__", None) or repr(namespace),))
    return [spec.name for spec in registry.declare(specs, origin)]


def replay(registry: Any, records: Iterable[Any]) -> None:
    """Hand newly attached hooks the history of their historic events
    (:meth:`HookRegistry.replay`)."""
    registry.replay(records)
