"""The plugin model: :class:`PluginBase` (its class attributes, hook
marks, ``enabled`` state and service membership) and the checks of a
plugin class's metadata (name, version, dependencies)."""

from __future__ import annotations

from ._errors import ValidationError
from ._hooks import HookSpec
from ._version import DEFAULT_VERSION, plain_release

try:  # the weakref module's ref, without importing that module
    from _weakref import ref as _weakref
except ImportError:  # an interpreter without CPython's module
    from weakref import ref as _weakref

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional, Protocol, Set, Tuple

    from ._registry import HookRegistry
    from ._source import PluginSource

    class PluginManager(Protocol):
        """What a plugin uses of the manager that loaded it (the manager
        sits above this module, so it is described, not imported)."""

        config: Dict[str, Any]

        def register_hook(self, event_name: str, callback: Callable[..., Any],
                          plugin: Any = ..., priority: int = ...,
                          timeout: Optional[float] = ..., *, wrapper: bool = ...) -> Any: ...

        def unregister_hook(self, event_name: str, callback: Callable[..., Any],
                            plugin: Any = ...) -> bool: ...

        def trigger(self, event_name: str, data: Any = ...) -> Any: ...

__all__ = ["PluginBase", "validate_plugin_class", "class_plugin_name", "version_of",
           "own_version", "parse_dependencies"]


class PluginBase:
    """Base class of every plugin.

    Class attributes describe the plugin and are read without creating an
    instance: ``name`` (unique; defaults to the class's own name),
    ``version`` (PEP 440; defaults to ``"1.0.0"``, or to the distribution's
    version for a plugin installed from one), ``description``, ``author``,
    and ``dependencies``, a list of PEP 508 requirement strings naming other
    plugins (``["auth>=1.2,<2", "cache"]``).

    Methods marked with :func:`hook` are collected once per class, when the
    class is created, from the class dictionaries (properties are never
    run).  A subclass that overrides a hooked method without ``@hook``
    removes that hook.

    ``enabled`` may be set directly: ``plugin.enabled = False`` skips the
    plugin's hooks from the next trigger on, in every registry that holds
    them, exactly like ``manager.disable_plugin(name)``.  An instance that
    is not in service (not loaded by a manager, or unloaded, and whose hooks
    no registry holds) reports ``enabled == False``, as in 1.x; the manager
    keeps the wanted state itself, across unload/load and reload.

    Before the plugin is loaded (in ``__init__``, say), ``register_hook``
    keeps the hook and the manager attaches it at load (and detaches it at
    unload); ``trigger`` returns ``data`` unchanged and ``get_config``
    returns the default.

    >>> from nitro_dispatch import hook
    >>> class Greeter(PluginBase):
    ...     name = "greeter"
    ...     @hook("greet")
    ...     def hello(self, data):
    ...         return data + ", hello"
    >>> Greeter.name, [spec.event for _, spec in Greeter.nitro_hook_specs()]
    ('greeter', ['greet'])
    """

    name: str = ""
    version: str = DEFAULT_VERSION
    description: str = ""
    author: str = ""
    dependencies: List[str] = []

    _nitro_auto_name = True
    _nitro_hookspecs: Tuple[Tuple[str, HookSpec], ...] = ()
    _nitro_default_enabled = True
    _nitro_empty_name = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own_name = cls.__dict__.get("name")
        # ``name = ""`` written on the class is invalid (1.x); only a class
        # that leaves ``name`` unset takes its class name.
        cls._nitro_empty_name = own_name == ""
        if own_name is None or own_name == "":
            if cls._nitro_auto_name:  # no explicit name anywhere above
                cls.name = cls.__name__
                cls._nitro_auto_name = True
        else:
            cls._nitro_auto_name = False
        if isinstance(cls.__dict__.get("enabled"), bool):
            # ``enabled = False`` as a class attribute would hide the property.
            cls._nitro_default_enabled = cls.__dict__["enabled"]
            delattr(cls, "enabled")
        cls._nitro_hookspecs = _collect_hookspecs(cls)

    # -- state ----------------------------------------------------------

    @property
    def enabled(self) -> bool:
        """Whether this plugin's hooks run; ``False`` while not in service."""
        state = self.__dict__
        value = state.get("_nitro_enabled")
        if value is None:  # never set: in service once a registry holds our hooks
            return bool(self._nitro_default_enabled and self._nitro_registries())
        return bool(value)

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self.__dict__["_nitro_enabled"] = bool(value)
        for registry in self._nitro_registries():
            registry.plugin_state_changed(self)

    def nitro_watch(self, registry: "HookRegistry") -> None:
        """A registry that holds our hooks asks to hear of ``enabled`` changes
        (held weakly: a plugin does not keep a registry alive).  The
        watchers are weak references by ``id`` (a plain dict, cheaper than
        a ``WeakSet`` per plugin); a dead one is dropped when next read."""
        watchers = self.__dict__.get("_nitro_watchers")
        if watchers is None:
            watchers = self.__dict__["_nitro_watchers"] = {}
        key = id(registry)
        held = watchers.get(key)
        if held is None or held() is not registry:  # new, or an id reused
            watchers[key] = _weakref(registry)

    def _nitro_registries(self) -> List["HookRegistry"]:
        """The live registries watching this plugin."""
        watchers = self.__dict__.get("_nitro_watchers")
        if not watchers:
            return []
        live = []
        for key, held in list(watchers.items()):
            registry = held()
            if registry is None:
                watchers.pop(key, None)
            else:
                live.append(registry)
        return live

    def nitro_enter_service(self, manager: "PluginManager") -> None:
        """Called by the manager when it starts loading this instance: from
        now on :attr:`manager` is that manager."""
        self.__dict__["_nitro_manager"] = manager

    def nitro_leave_service(self) -> None:
        """Called by the manager when this instance leaves service (unloaded,
        replaced, or its load failed): no manager, ``enabled == False``
        (1.x)."""
        self.__dict__.pop("_nitro_manager", None)
        self.enabled = False

    @property
    def manager(self) -> Optional["PluginManager"]:
        """The manager that loaded this plugin, or ``None`` (before it is
        loaded and after it is unloaded)."""
        return self.__dict__.get("_nitro_manager")

    @classmethod
    def nitro_hook_specs(cls) -> Tuple[Tuple[str, HookSpec], ...]:
        """``(method name, HookSpec)`` for every ``@hook`` of this class."""
        return cls._nitro_hookspecs

    # -- lifecycle callbacks ----------------------------------------------

    def on_load(self) -> None:
        """Called after the plugin's hooks are attached."""

    def on_unload(self) -> None:
        """Called before the plugin's hooks are detached."""

    def on_error(self, error: Exception) -> None:
        """Called when one of this plugin's hooks raises (or times out)."""

    # -- working with the manager -----------------------------------------

    def register_hook(self, event_name: str, callback: Callable[..., Any], priority: int = 50,
                      timeout: Optional[float] = None, *, wrapper: bool = False) -> Any:
        """Attach ``callback`` as a hook owned by this plugin; it is detached
        when the plugin unloads.  Returns its :class:`HookRecord`.

        Before the plugin is loaded (``__init__``), the hook is kept and
        attached at every load of this instance; ``None`` is returned."""
        manager = self.manager
        if manager is None:
            pending: List[Tuple[str, Callable[..., Any], int, Optional[float], bool]] = \
                self.__dict__.setdefault("_nitro_pending", [])
            pending.append((event_name, callback, priority, timeout, wrapper))
            return None
        return manager.register_hook(event_name, callback, plugin=self, priority=priority,
                                     timeout=timeout, wrapper=wrapper)

    def unregister_hook(self, event_name: str, callback: Callable[..., Any]) -> None:
        """Detach a hook this plugin attached (or forget one kept for load)."""
        manager = self.manager
        if manager is None:
            pending = self.__dict__.get("_nitro_pending", [])
            pending[:] = [p for p in pending if p[0] != event_name
                          or not (p[1] is callback or p[1] == callback)]
            return
        manager.unregister_hook(event_name, callback, plugin=self)

    def nitro_pending_hooks(self) -> List[Tuple[str, Callable[..., Any], int, Optional[float],
                                                bool]]:
        """``(event, callback, priority, timeout, wrapper)`` of the hooks
        registered before load, which the manager attaches at load."""
        return list(self.__dict__.get("_nitro_pending", ()))

    def trigger(self, event_name: str, data: Any = None) -> Any:
        """Trigger an event through the manager that loaded this plugin;
        with no manager, ``data`` is returned unchanged (as in 1.x)."""
        manager = self.manager
        if manager is None:
            return data
        return manager.trigger(event_name, data)

    def get_config(self, key: str, default: Any = None) -> Any:
        """``config[self.name][key]`` from the manager's ``config``, or
        ``default``."""
        manager = self.manager
        if manager is None:
            return default
        section = manager.config.get(self.name)
        if not isinstance(section, dict):
            return default
        return section.get(key, default)

    def __repr__(self) -> str:
        return "<%s %s %s%s>" % (type(self).__name__, self.name, self.version,
                                 "" if self.enabled else " (disabled)")


def _collect_hookspecs(cls: type) -> Tuple[Tuple[str, HookSpec], ...]:
    """``@hook`` methods as the class resolves them: base classes first, in
    definition order; the most derived definition of a name decides."""
    # PluginBase and object define no hooks: leaving them out of the walk
    # halves the cost of collecting a small plugin class's hooks.
    mro = [klass for klass in cls.__mro__ if klass is not PluginBase and klass is not object]
    seen: Dict[str, Any] = {}
    for klass in mro:
        for attr, value in vars(klass).items():
            seen.setdefault(attr, value)
    found: List[Tuple[str, HookSpec]] = []
    done: Set[str] = set()
    for klass in reversed(mro):
        for attr in vars(klass):
            if attr in done:
                continue
            value = seen[attr]
            func = getattr(value, "__func__", value)  # staticmethod/classmethod
            specs = getattr(func, "__nitro_hooks__", None) if not isinstance(value, property) \
                else None
            if specs:
                done.add(attr)
                # Decorators apply bottom-up; register them top-down as written.
                found.extend((attr, spec) for spec in reversed(specs))
    return tuple(found)


def class_plugin_name(cls: type) -> str:
    """The name a plugin class registers under, read without instantiating."""
    return getattr(cls, "name", "") or cls.__name__


def validate_plugin_class(cls: type, name: str) -> None:
    """Check ``name``, ``version`` and ``dependencies`` of a plugin class;
    raise :class:`ValidationError` naming the plugin and the field."""
    if cls.__dict__.get("_nitro_empty_name"):
        name = ""  # written on the class as ``name = ""``: not "unset"
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("plugin class %s: 'name' must be a non-empty string, got %r"
                              % (cls.__qualname__, name))
    version = getattr(cls, "version", None)
    if not isinstance(version, str):
        raise ValidationError("plugin %r: 'version' must be a string, got %r" % (name, version))
    if version not in _VALID_VERSIONS:
        if not plain_release(version):  # "1.0.0" needs no parser (nor its import)
            from packaging.version import Version

            try:
                Version(version)
            except ValueError:  # InvalidVersion, or past int()'s digit limit
                raise ValidationError("plugin %r: 'version' %r is not a valid PEP 440 version"
                                      % (name, version)) from None
        if len(_VALID_VERSIONS) < 100_000:
            _VALID_VERSIONS.add(version)
    parse_dependencies(cls, name)


_VALID_VERSIONS: Set[str] = set()  # checked once per process (bounded below)


def parse_dependencies(cls: type, name: str) -> List[Any]:
    """The plugin's ``dependencies`` as ``packaging`` Requirements; a
    :class:`ValidationError` names the plugin and the bad string."""
    deps = getattr(cls, "dependencies", None) or []
    if isinstance(deps, str) or not isinstance(deps, (list, tuple)):
        raise ValidationError("plugin %r: 'dependencies' must be a list of requirement "
                              "strings, got %r" % (name, deps))
    parsed = []
    for item in deps:
        if not isinstance(item, str):
            raise ValidationError("plugin %r: dependency %r is not a string" % (name, item))
        from ._metadata import parse_requirement  # the one requirement-parse cache

        found = parse_requirement(item)
        if found.requirement is None:
            raise ValidationError("plugin %r: dependency %r is not a valid PEP 508 "
                                  "requirement (%s)" % (name, item, found.error))
        req = found.requirement
        parsed.append(req)
    return parsed


def own_version(cls: type) -> Optional[str]:
    """The version the class (or one of its plugin bases) sets, or ``None``
    when it leaves PluginBase's default."""
    for klass in cls.__mro__:
        if klass is PluginBase:
            break
        if "version" in vars(klass):
            return str(vars(klass)["version"])
    return None


def version_of(cls: type, source: PluginSource) -> str:
    """The class's own version, or its distribution's when the class (and
    its plugin bases) leave it unset."""
    own = own_version(cls)
    if own is not None:
        return own
    if source.kind == "distribution" and source.dist_version:
        return source.dist_version
    return str(getattr(cls, "version", DEFAULT_VERSION))
