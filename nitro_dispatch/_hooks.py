"""Hook markers and hook records (owns ``@hook``, :class:`HookSpec`,
:class:`HookRecord`, :func:`is_async_callable` and the wildcard rule
:func:`match_pattern`).

``@hook`` leaves the decorated function as it is (no wrapper, so no extra
call per dispatch) and notes what it subscribes to in ``__nitro_hooks__``;
:class:`PluginBase` collects those notes once per class.  A
:class:`HookRecord` is one registration in a :class:`HookRegistry`.
"""

from __future__ import annotations

import sys

from ._validate import check_timeout

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Callable, List, Optional, TypeVar
    F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["hook", "HookSpec", "HookRecord", "is_async_callable", "match_pattern"]


_CO_COROUTINE = 0x0080  # inspect.CO_COROUTINE, without importing inspect
_CO_GENERATOR = 0x0020  # inspect.CO_GENERATOR
_CODE_TYPE = type((lambda: None).__code__)  # types.CodeType
_FUNCTION_TYPE: Any = type(lambda: None)  # types.FunctionType


class _Bound:
    def method(self) -> None:
        """A method, for its type."""


_METHOD_TYPE: Any = type(_Bound().method)  # types.MethodType


class HookSpec:
    """What one ``@hook(...)`` decorator asked for."""

    __slots__ = ("event", "priority", "timeout", "async_hook", "wrapper")

    def __init__(self, event: str, priority: int, timeout: Optional[float],
                 async_hook: bool, wrapper: bool = False) -> None:
        self.event = event
        self.priority = priority
        self.timeout = timeout
        self.async_hook = async_hook
        self.wrapper = wrapper

    def __repr__(self) -> str:
        return "HookSpec(%r, priority=%r, timeout=%r)" % (self.event, self.priority, self.timeout)


def hook(event_name: str, priority: int = 50, timeout: Optional[float] = None,
         async_hook: bool = False, wrapper: bool = False) -> Callable[[F], F]:
    """Mark a plugin method as a hook for ``event_name``.

    The method is called with the event's data and may return new data
    (``None`` keeps it).  Higher ``priority`` runs first.  ``async def``
    methods are detected; ``async_hook=True`` forces a method that returns
    an awaitable to be treated as async.  A method may carry several
    ``@hook`` decorators to subscribe to several events.  ``wrapper=True``
    marks a generator method that wraps the event's other hooks (see
    :mod:`nitro_dispatch._runner`).

    >>> class Shout:
    ...     @hook("greeting", priority=10)
    ...     @hook("farewell")
    ...     def upper(self, data):
    ...         return data.upper()
    >>> [s.event for s in Shout.upper.__nitro_hooks__]
    ['farewell', 'greeting']
    """
    if not isinstance(event_name, str) or not event_name:
        raise TypeError("@hook needs a non-empty event name, got %r" % (event_name,))

    check_timeout(timeout, "@hook(%r)" % (event_name,))

    def mark(func: F) -> F:
        # Above @staticmethod/@classmethod: mark the function they wrap,
        # where the plugin class looks (the wrapper's own attributes are not
        # the function's on every Python version).
        target: Any = func.__func__ if isinstance(func, (staticmethod, classmethod)) \
            else func
        specs: List[HookSpec] = list(getattr(target, "__nitro_hooks__", ()))
        specs.append(HookSpec(event_name, priority, timeout, async_hook, wrapper))
        try:
            target.__nitro_hooks__ = tuple(specs)
        except AttributeError:
            raise TypeError("@hook cannot mark %r" % (func,)) from None
        return func

    return mark


def is_async_callable(obj: Any) -> bool:
    """True for ``async def`` functions, methods, partials of them, objects
    whose ``__call__`` is ``async def``, and callables carrying the genuine
    coroutine marker of :func:`inspect.markcoroutinefunction` or
    :class:`unittest.mock.AsyncMock` (without importing inspect).

    Only real code objects and the real marker objects count: a
    :class:`unittest.mock.Mock` answers every attribute, so it is sync.
    """
    func = obj.__func__ if type(obj) is _METHOD_TYPE else obj
    if type(func) is _FUNCTION_TYPE:  # the common case, without failing lookups
        if func.__code__.co_flags & _CO_COROUTINE:
            return True
        return _marked(func)  # (not via func.__dict__: reading it creates one per function)
    for _ in range(8):  # unwrap bound methods and functools.partial
        inner = getattr(obj, "__func__", None)
        if inner is None:
            inner = getattr(obj, "func", None) if type(obj).__name__ == "partial" else None
        if inner is None:
            break
        obj = inner
    if _coroutine_code(getattr(obj, "__code__", None)) or _marked(obj):
        return True
    return _coroutine_code(getattr(getattr(type(obj), "__call__", None), "__code__", None))


def _coroutine_code(code: Any) -> bool:
    return type(code) is _CODE_TYPE and bool(code.co_flags & _CO_COROUTINE)


def generator_code(code: Any) -> bool:
    """Whether ``code`` is the real code object of a generator function
    (``inspect.isgeneratorfunction`` without importing inspect; a ``Mock``'s
    ``__code__`` is not one)."""
    return type(code) is _CODE_TYPE and bool(code.co_flags & _CO_GENERATOR)


def _marked(obj: Any) -> bool:
    """The marker attributes, compared by identity with the real markers
    (their modules are loaded whenever something carries them)."""
    inspect = sys.modules.get("inspect")
    # inspect.markcoroutinefunction's marker: named _is_coroutine_marker in
    # Python 3.12, _is_coroutine_mark from 3.13 (the attribute it sets on the
    # function is _is_coroutine_marker in both).
    mark = getattr(inspect, "_is_coroutine_mark", None) or \
        getattr(inspect, "_is_coroutine_marker", None)
    if mark is not None and getattr(obj, "_is_coroutine_marker", None) is mark:
        return True
    coroutines = sys.modules.get("asyncio.coroutines")
    mark = getattr(coroutines, "_is_coroutine", None)
    return mark is not None and getattr(obj, "_is_coroutine", None) is mark


def match_pattern(pattern: str, event: str) -> bool:
    """Glob match where ``*`` (any run of characters, dots included) is the
    only special character; everything else is literal.

    >>> match_pattern("user.*", "user.profile.save")
    True
    >>> match_pattern("price.(usd)+", "price.(usd)+"), match_pattern("price.(usd)+", "price.usd")
    (True, False)
    """
    parts = pattern.split("*")
    if len(parts) == 1:
        return pattern == event
    first, last = parts[0], parts[-1]
    if not event.startswith(first):
        return False
    pos = len(first)
    for middle in parts[1:-1]:
        found = event.find(middle, pos)
        if found < 0:
            return False
        pos = found + len(middle)
    return len(event) - len(last) >= pos and event.endswith(last)


class HookRecord:
    """One registration: ``callback`` subscribed to ``event`` (an event name
    or a pattern with ``*``).

    Records compare by identity.  ``record["priority"]`` works too, for code
    written against nitro-dispatch 1.x, which returned dicts.
    """

    __slots__ = ("event", "callback", "plugin", "plugin_name", "priority", "timeout",
                 "is_async", "seq", "warned", "wrapper")

    def __init__(self, event: str, callback: Callable[..., Any], plugin: Any,
                 priority: int, timeout: Optional[float], is_async: bool, seq: int,
                 wrapper: bool = False) -> None:
        self.event = event
        self.callback = callback
        self.plugin = plugin
        self.plugin_name: Optional[str] = getattr(plugin, "name", None) if plugin is not None \
            else None
        self.priority = priority
        self.timeout = timeout
        self.is_async = is_async
        self.seq = seq
        self.warned = False
        self.wrapper = wrapper  # a generator around the rest of the chain

    @property
    def label(self) -> str:
        """How messages name this hook: its callable, and its plugin if any."""
        name = getattr(self.callback, "__qualname__", None) or repr(self.callback)
        if self.plugin_name is not None:
            return "hook %s of plugin %r" % (name, self.plugin_name)
        return "hook %s" % (name,)

    def __getitem__(self, key: str) -> Any:
        if key in self.__slots__:
            return getattr(self, key)
        raise KeyError(key)

    def __repr__(self) -> str:
        return "HookRecord(%r, %r, plugin=%r, priority=%r, timeout=%r%s%s)" % (
            self.event, self.callback, self.plugin_name, self.priority, self.timeout,
            ", async" if self.is_async else "", ", wrapper" if self.wrapper else "")
