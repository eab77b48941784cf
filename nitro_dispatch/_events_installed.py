"""What the installed distributions declare and hook: the library half of
``nitro-dispatch events``.

It works on a :class:`PluginManager` whose plugins are registered (not
loaded): the declarations are read from the entry-point group
``nitro_dispatch.events``, and each plugin's ``@hook`` marks are read from
its class through the admission pipeline (a plugin its metadata refuses is
never imported; a hook that hook admission refuses is reported, not
listed).  ``check`` reports hooks on undeclared events through
:meth:`PluginManager.check`, with the same declarations.
"""

from __future__ import annotations

from ._admission import refused_message, refusing, spec_findings
from ._errors import NitroPluginError
from ._events import EVENTS_GROUP
from ._hooks import match_pattern
from ._manager import PluginManager
from ._phases import EVENT
from ._source import PluginProblem

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Dict, List, Tuple

    from ._hooks import HookSpec

__all__ = ["InstalledEvent", "EventHookUse", "describe_installed_events"]


class EventHookUse:
    """One plugin hook that an event runs: the plugin, the method, the
    event or pattern it is registered under, its priority, whether it is a
    wrapper."""

    __slots__ = ("plugin", "method", "hooked", "priority", "wrapper")

    def __init__(self, plugin: str, method: str, hooked: str, priority: int,
                 wrapper: bool) -> None:
        self.plugin = plugin
        self.method = method
        self.hooked = hooked
        self.priority = priority
        self.wrapper = wrapper

    def to_dict(self) -> Dict[str, Any]:
        return {slot: getattr(self, slot) for slot in self.__slots__}

    def __repr__(self) -> str:
        return "EventHookUse(%r, %r)" % (self.plugin, self.hooked)


class InstalledEvent:
    """A declared event with its declaring distribution (``None`` when it
    was declared in code) and the installed plugins' hooks that run on it,
    in the order they would run."""

    __slots__ = ("name", "mode", "historic", "doc", "dist_name", "dist_version", "value",
                 "hooks")

    def __init__(self, name: str, mode: str, historic: bool, doc: Any, dist_name: Any,
                 dist_version: Any, value: Any, hooks: List[EventHookUse]) -> None:
        self.name = name
        self.mode = mode
        self.historic = historic
        self.doc = doc
        self.dist_name = dist_name
        self.dist_version = dist_version
        self.value = value
        self.hooks = hooks

    def to_dict(self) -> Dict[str, Any]:
        data = {slot: getattr(self, slot) for slot in self.__slots__}
        data["hooks"] = [h.to_dict() for h in self.hooks]
        return data

    def __repr__(self) -> str:
        return "InstalledEvent(%r, mode=%r, from=%r)" % (self.name, self.mode, self.dist_name)


def _plugin_hooks(manager: PluginManager, strict_events: bool
                  ) -> Tuple[List[Tuple[str, str, HookSpec]], List[PluginProblem]]:
    """``(plugin, method, HookSpec)`` of every hook that the admission
    pipeline admits (a plugin refused by its metadata is never imported; one
    that does not import is ``check``'s problem), and a problem for each
    hook that hook admission refuses."""
    found: List[Tuple[str, str, HookSpec]] = []
    problems: List[PluginProblem] = []
    for name in manager.get_registered_plugins():
        try:
            cls = manager.get_plugin_class(name)
        except NitroPluginError:
            continue
        for method, spec in cls.nitro_hook_specs():
            refused = refusing(spec_findings(manager.hooks, cls, method, spec), strict_events)
            if refused:
                phase, kind, message = refused[0]
                problems.append(PluginProblem(name, phase, refused_message(name, message),
                                              manager.get_plugin_source(name), kind=kind))
                continue
            found.append((name, method, spec))
    return found, problems


def describe_installed_events(manager: PluginManager, group: str = EVENTS_GROUP
                              ) -> Tuple[List[InstalledEvent], List[PluginProblem]]:
    """Declare the events published under ``group`` and describe every
    declared event with the plugins that hook it.  Returns the events (in
    declaration order) and the problems met: declarations that cannot be
    used, and hooks that hook admission refuses (those are left out)."""
    manager.declare_installed_events(group)
    problems = [p for p in manager.get_problems() if p.phase == EVENT and p.plugin is None]
    hooks, refused = _plugin_hooks(manager, manager.strict_events)
    events: List[InstalledEvent] = []
    for name, spec in manager.get_event_specs().items():
        uses = [EventHookUse(plugin, method, hs.event, hs.priority, hs.wrapper)
                for plugin, method, hs in hooks if match_pattern(hs.event, name)]
        uses.sort(key=lambda u: -u.priority)  # stable: equal priorities keep plugin order
        origin = manager.hooks.event_origin(name)
        events.append(InstalledEvent(
            name, spec.mode, spec.historic, spec.doc,
            origin.dist_name if origin is not None else None,
            origin.dist_version if origin is not None else None,
            origin.value if origin is not None else None, uses))
    return events, problems + refused
