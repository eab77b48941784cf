"""The plugin manager: registration, dependency-ordered loading, lifecycle.

Data flows one way: sources (code, installed distributions, drop-in
directories) hand plugin classes, or loaders for them, to the manager; the
resolver orders them; the manager instantiates them and hands their hooks
to its :class:`HookRegistry`, which runs the chains.  The manager is the
lifecycle; discovery (:mod:`._discovery`), resolution (:mod:`._resolution`),
instances in and out of service (:mod:`._service`) and reload
(:mod:`._reload`) are modules of their own that it calls.
"""

from __future__ import annotations

from _thread import RLock

from ._errors import (DependencyError, PluginLoadError, PluginNotFoundError,
                      PluginRegistrationError)
from ._log import configure_level, get_logger
from ._plugin import PluginBase, class_plugin_name, validate_plugin_class, version_of
from ._events import EventSpec
from ._hooks import HookRecord
from ._plan import HookTrace
from ._registry import ERROR_EVENT, HookRegistry
from ._source import PluginProblem, PluginSource, canonical_name

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Type

    from ._events import Mode
    from ._requirements import PluginMeta

__all__ = ["PluginManager", "DEFAULT_GROUP"]

logger = get_logger("nitro_dispatch.manager")

DEFAULT_GROUP = "nitro_dispatch.plugins"


class _Entry:
    """One registered plugin: its class (or a loader for it), where it came
    from, and its instance while loaded."""

    __slots__ = ("name", "cls", "loader", "source", "version", "instance", "enabled",
                 "requires", "validate", "meta")

    def __init__(self, name: str, cls: Optional[Type[PluginBase]],
                 loader: Optional[Callable[[], Any]], source: PluginSource) -> None:
        self.name = name
        self.cls = cls
        self.loader = loader  # imports the class on first need (entry points)
        self.source = source
        self.version: Optional[str] = None  # effective version, once the class is known
        self.instance: Optional[PluginBase] = None
        self.enabled = True  # wanted state, kept across unload/load and reload
        self.requires: List[str] = []  # names of plugins this one needs while loaded
        self.validate = True  # False: register(cls, validate=False) skipped the checks
        self.meta: Optional[PluginMeta] = None  # an installed plugin's metadata verdict


class PluginManager:
    """Registers, loads and runs plugins.

    >>> from nitro_dispatch import PluginBase, hook
    >>> class Shout(PluginBase):
    ...     name = "shout"
    ...     @hook("text")
    ...     def upper(self, data):
    ...         return data.upper()
    >>> manager = PluginManager()
    >>> manager.register(Shout)
    'shout'
    >>> manager.load_all()
    ['shout']
    >>> manager.trigger("text", "hi")
    'HI'

    ``config`` maps plugin names to their settings (read with
    ``PluginBase.get_config``).  ``log_level`` sets the ``nitro_dispatch``
    logger's level (giving it a handler if it has none).  With
    ``validate_metadata`` (default) plugin names, versions and dependencies
    are checked at registration.  ``entry_point_group`` is the group
    :meth:`discover_installed_plugins` reads; ``allow_list`` and
    ``block_list`` restrict which discovered plugins register at all.
    ``host`` names the application's distribution: an installed plugin whose
    distribution requires another version of it (or of nitro-dispatch) is
    never imported.  ``verify_requirements`` refuses installed plugins with
    any other unmet ``Requires-Dist`` too (see :mod:`._requirements`).

    Lifecycle events (``EVENT_*``) run their handlers with errors logged,
    never raised, whatever the error strategy.
    """

    EVENT_PLUGIN_REGISTERED = "nitro.plugin.registered"
    EVENT_PLUGIN_LOADED = "nitro.plugin.loaded"
    EVENT_PLUGIN_UNLOADED = "nitro.plugin.unloaded"
    EVENT_PLUGIN_ERROR = ERROR_EVENT
    EVENT_APP_STARTUP = "nitro.app.startup"
    EVENT_APP_SHUTDOWN = "nitro.app.shutdown"

    def __init__(self, config: Optional[Dict[str, Any]] = None, log_level: Any = None,
                 validate_metadata: bool = True, *, entry_point_group: str = DEFAULT_GROUP,
                 allow_list: Optional[Iterable[str]] = None,
                 block_list: Optional[Iterable[str]] = None,
                 strict_events: bool = False, host: Optional[str] = None,
                 verify_requirements: bool = False) -> None:
        self.config: Dict[str, Any] = config if config is not None else {}
        self.validate_metadata = validate_metadata
        self.entry_point_group = entry_point_group
        self.allow_list = frozenset(allow_list) if allow_list is not None else None
        self.block_list = frozenset(block_list or ())
        self.strict_events = strict_events  # refuse hooks on undeclared events (see declare_event)
        self.host = host
        self.verify_requirements = verify_requirements
        self.hooks = HookRegistry()
        self._entries: Dict[str, _Entry] = {}  # registration order
        self._loaded: Dict[str, PluginBase] = {}  # load order, so dependencies come first
        self._problems: List[PluginProblem] = []
        self._problem_index: Dict[Tuple[Optional[str], str, str], PluginProblem] = {}
        # Names that cannot register (claimed twice), with why: their
        # dependents fail with this reason rather than "not registered".
        self._unavailable: Dict[str, str] = {}
        self._canonical: Dict[str, str] = {}  # canonical name -> registered name
        self._lock = RLock()
        if log_level is not None:
            configure_level(log_level)
        # Dispatch goes straight to the registry: no extra call layer on the
        # hot path (subclasses that override trigger keep their override).
        if type(self).trigger is PluginManager.trigger:
            self.trigger = self.hooks.trigger  # type: ignore[method-assign]
        if type(self).trigger_async is PluginManager.trigger_async:
            self.trigger_async = self.hooks.trigger_async  # type: ignore[method-assign]

    # -- registration ---------------------------------------------------

    def register(self, plugin_class: Type[PluginBase], validate: bool = True, *,
                 source: Optional[PluginSource] = None) -> str:
        """Register a :class:`PluginBase` subclass; returns its name.

        The class is not instantiated.  The same class again logs a warning;
        another class under a taken name raises
        :class:`PluginRegistrationError`, as does anything that is not a
        plugin class.  Invalid metadata raises :class:`ValidationError`;
        ``validate=False`` skips those checks for this class (on reload too).
        """
        if not (isinstance(plugin_class, type) and issubclass(plugin_class, PluginBase)
                and plugin_class is not PluginBase):
            raise PluginRegistrationError("cannot register %r: not a subclass of PluginBase"
                                          % (plugin_class,))
        name = class_plugin_name(plugin_class)
        if source is None:
            source = PluginSource("class", module=plugin_class.__module__,
                                  value="%s:%s" % (plugin_class.__module__,
                                                   plugin_class.__qualname__))
        return self._register_class(plugin_class, name, source, validate)

    def _register_class(self, plugin_class: Type[PluginBase], name: str, source: PluginSource,
                        validate: bool = True) -> str:
        """:meth:`register` once ``plugin_class`` is known to be a plugin
        class named ``name`` (discovery calls it directly)."""
        if self.validate_metadata and validate:
            validate_plugin_class(plugin_class, name)
        with self._lock:
            existing = self._entries.get(name)
            if existing is not None:
                if existing.cls is plugin_class:
                    logger.warning("plugin %r is already registered; ignoring the repeat", name)
                    return name
                raise PluginRegistrationError(
                    "plugin name %r is already taken by %s; %s cannot register under it"
                    % (name, existing.source.describe(), source.describe()))
            self._check_canonical(name, source)
            entry = _Entry(name, plugin_class, None, source)
            entry.version = version_of(plugin_class, source)
            entry.validate = bool(validate)
            self._entries[name] = entry
            self._canonical[_canonical(name)] = name
        logger.info("registered plugin %r %s from %s", name, entry.version, source)
        self._emit(self.EVENT_PLUGIN_REGISTERED, {"plugin_name": name,
                                                  "plugin_class": plugin_class,
                                                  "source": source})
        return name

    def register_lazy(self, name: str, loader: Callable[[], Any], source: PluginSource) -> str:
        """Register a plugin whose class is imported only when it is loaded
        or checked; ``loader()`` returns the class.  Used for entry points."""
        with self._lock:
            existing = self._entries.get(name)
            if existing is not None:
                raise PluginRegistrationError(
                    "plugin name %r is already taken by %s; %s cannot register under it"
                    % (name, existing.source.describe(), source.describe()))
            self._check_canonical(name, source)
            self._entries[name] = _Entry(name, None, loader, source)
            self._canonical[_canonical(name)] = name
        logger.info("registered plugin %r from %s (not imported yet)", name, source)
        self._emit(self.EVENT_PLUGIN_REGISTERED, {"plugin_name": name, "plugin_class": None,
                                                  "source": source})
        return name

    def _check_canonical(self, name: str, source: PluginSource) -> None:
        """Names equal after canonicalization (``Foo_Bar``, ``foo-bar``) are
        one name: the second cannot register."""
        other = self._canonical.get(_canonical(name))
        if other is not None and other != name and other in self._entries:
            raise PluginRegistrationError(
                "plugin name %r is the same as %r (names are compared canonically), which is "
                "taken by %s; %s cannot register under it"
                % (name, other, self._entries[other].source.describe(), source.describe()))

    def unregister(self, name: str) -> None:
        """Unload the plugin if loaded, then forget it."""
        self._entry(name)
        try:
            self.unload(name)
        finally:
            with self._lock:
                self._entries.pop(name, None)
                if self._canonical.get(_canonical(name)) == name:
                    del self._canonical[_canonical(name)]
            logger.info("unregistered plugin %r", name)

    def discover_installed_plugins(self, group: Optional[str] = None) -> List[str]:
        """Register the plugins that installed distributions advertise under
        the entry-point group (default ``entry_point_group``), without
        importing them.  Returns the names registered.

        Problems are reported (logged, ``nitro.plugin.error`` with phase
        "conflict" or "discovery", and :meth:`get_problems`), never raised:
        two distributions claiming one name (canonically) register neither;
        a name already registered from another source keeps its first
        registration.  The ``allow_list``/``block_list`` apply before
        anything is imported.  Each distribution's ``Requires-Dist`` is
        checked here, from metadata alone (phases "compatibility",
        "requirements", "validation", "dependency"; see
        :mod:`._requirements`); a plugin it rules out registers but its load
        fails without importing it.
        """
        from ._discovery import discover_installed

        return discover_installed(self, group or self.entry_point_group)

    # -- loading --------------------------------------------------------

    def load(self, name: str) -> PluginBase:
        """Load a plugin (its dependencies first) and return its instance.

        Raises :class:`PluginNotFoundError` for an unknown name,
        :class:`DependencyError` when its dependencies cannot be met, and
        :class:`PluginLoadError` (cause chained) when importing, creating or
        ``on_load`` fails; a failed load leaves nothing behind.
        """
        with self._lock:
            self._entry(name)
            if name in self._loaded:
                return self._loaded[name]
            order, failures = self._resolve(self._closure([name]))
            if name in failures:
                raise failures[name]
            for dep in order:
                if dep in self._loaded:
                    continue
                try:
                    self._load_one(self._entries[dep])
                except PluginLoadError as exc:
                    if dep == name:
                        raise
                    raise DependencyError("plugin %r requires %r, which failed to load: %s"
                                          % (name, dep, exc)) from exc
            return self._loaded[name]

    def load_all(self) -> List[str]:
        """Load every registered plugin in dependency order; returns the
        names loaded by this call, in order.  A broken plugin (and whatever
        depends on it) is reported and skipped; the others load."""
        loaded: List[str] = []
        with self._lock:
            order, failures = self._resolve(list(self._entries))
            for name, error in failures.items():
                meta = self._entries[name].meta
                if meta is not None and error is meta.blocked:
                    continue  # reported at discovery, with its phase
                if name not in self._loaded:
                    self._report(name, "dependency" if isinstance(error, DependencyError)
                                 else "load", str(error), self._entries[name].source, error)
            failed: Dict[str, str] = {}
            for name in order:
                if name in self._loaded:
                    continue
                entry = self._entries[name]
                bad = [dep for dep in entry.requires if dep in failed]
                if bad:
                    error = DependencyError("plugin %r requires %r, which failed to load: %s"
                                            % (name, bad[0], failed[bad[0]]))
                    failed[name] = failed[bad[0]]  # the first failure's reason: no nesting
                    self._report(name, "dependency", str(error), entry.source, error)
                    continue
                try:
                    self._load_one(entry)
                except PluginLoadError as exc:
                    failed[name] = str(exc)  # already reported by _load_one
                    continue
                loaded.append(name)
        return loaded

    # Resolution glue (see _resolution.py); reload and check call these too.

    def _closure(self, names: List[str]) -> List[str]:
        from ._resolution import closure

        return closure(self, names)

    def _resolve(self, names: List[str]) -> Tuple[List[str], Dict[str, PluginLoadError]]:
        from ._resolution import resolve

        return resolve(self, names)

    def _class_of(self, entry: _Entry) -> Type[PluginBase]:
        """The plugin class, imported on first need; see
        :func:`._resolution.class_of`."""
        if entry.cls is not None:
            return entry.cls
        from ._resolution import class_of

        return class_of(self, entry)

    def _load_one(self, entry: _Entry, replacing: Optional[PluginBase] = None) -> PluginBase:
        """Create the plugin and put it in service (see :mod:`._service`,
        also for ``replacing``)."""
        from ._service import load_one

        return load_one(self, entry, replacing)

    # -- drop-in directories ----------------------------------------------

    def discover_plugins(self, directory: Any, pattern: str = "*_plugin.py",
                         recursive: bool = False) -> List[str]:
        """Register the plugin classes defined in the files of a directory
        that match ``pattern`` (``~`` is expanded); returns their names.

        Every :class:`PluginBase` subclass defined in a matching file
        registers.  A file that fails to import, or a class that fails to
        register, is reported (path and error; see :meth:`get_problems`) and
        the rest still register.  A missing directory raises
        :class:`PluginDiscoveryError`.  Discovering a directory again
        registers nothing twice.  A name already taken by another source
        keeps its first registration and the clash is reported.
        """
        from ._discovery import discover_dropins

        return discover_dropins(self, directory, pattern, recursive)

    # -- hot reload -------------------------------------------------------

    def reload(self, name: str) -> PluginBase:
        """Re-import the plugin's module from its source on disk and load
        the new class in place of the old one (see :mod:`._reload`).

        Works for drop-ins, installed distributions and classes from any
        importable module (not ``__main__``).  Only the module that defines
        the class is re-executed; modules it imports are not.  The plugin's
        enabled state is kept, and the loaded plugins that depend on it are
        unloaded and loaded again, so none keeps the old instance.

        If the new source fails to import, no longer defines the plugin, or
        its ``on_load`` raises, the previous class and instance are back in
        service and :class:`PluginLoadError` is raised with the cause.  A
        trigger running meanwhile runs the old hooks or the new ones, never
        neither, never both.

        An installed plugin's distribution is read again first (version,
        entry point, location, requirements, as installed now).  A class
        defined inside a function has no source to re-run: the plugin is
        re-created from the same class.
        """
        from ._reload import reload_plugin

        return reload_plugin(self, name)

    # -- unloading ------------------------------------------------------

    def unload(self, name: str) -> None:
        """Unload a plugin, after the loaded plugins that depend on it.

        ``on_unload`` runs, hooks are detached and ``nitro.plugin.unloaded``
        fires even when ``on_unload`` raises; that error is then re-raised
        (a ``SystemExit`` as a :class:`NitroPluginError` caused by it).
        """
        from ._service import unload_error

        with self._lock:
            self._entry(name)
            if name not in self._loaded:
                return
            first_error: Optional[BaseException] = None
            for dependent in self._dependents(name):
                error = self._unload_one(dependent)
                if first_error is None and error is not None:
                    first_error = unload_error(dependent, error)
            error = self._unload_one(name)
            if error is not None:
                raise unload_error(name, error)
            if first_error is not None:
                raise first_error

    def unload_all(self) -> None:
        """Unload every plugin, dependents before their dependencies; an
        ``on_unload`` that raises is reported and the others go on."""
        with self._lock:
            for name in reversed(list(self._loaded)):
                self._unload_one(name)

    def _dependents(self, name: str) -> List[str]:
        """Loaded plugins that need ``name``, transitively, in the order to
        unload them (latest loaded first)."""
        needed = {name}
        found: List[str] = []
        for other in self._loaded:  # load order: dependents come later
            if other != name and needed.intersection(self._entries[other].requires):
                needed.add(other)
                found.append(other)
        return list(reversed(found))

    def _unload_one(self, name: str) -> Optional[BaseException]:
        """Take the plugin out of service; returns what ``on_unload`` raised."""
        from ._service import unload_one

        return unload_one(self, name)

    # -- reporting ------------------------------------------------------

    def _report(self, name: Optional[str], phase: str, message: str,
                source: Optional[PluginSource], error: Optional[BaseException]) -> None:
        """Log a problem, keep it for :meth:`get_problems`, fire the error
        event."""
        logger.error("%s", message)
        key = (name, phase, message)
        known = self._problem_index.get(key)
        if known is None:  # a repeat is counted, not kept again (bounded list)
            self._problem_index[key] = known = PluginProblem(name, phase, message, source, error)
            self._problems.append(known)
        else:
            known.count += 1
            known.source, known.error = source, error
        # One set of phase names (see _phases.py): the event's is the problem's.
        self._emit(self.EVENT_PLUGIN_ERROR, {"plugin_name": name, "error": error or message,
                                             "event": None, "phase": phase,
                                             "message": message})

    def _report_taken(self, name: str, source: PluginSource, holder: PluginSource) -> None:
        self._report(name, "conflict", "plugin %r from %s is ignored: the name is already "
                     "taken by %s" % (name, source.describe(), holder.describe()), source, None)

    def get_problems(self) -> List[PluginProblem]:
        """Problems reported so far (discovery, conflicts, failed loads),
        oldest first; a problem reported again is listed once, with its
        ``count`` raised."""
        return list(self._problems)

    def _emit(self, event: str, payload: Dict[str, Any]) -> None:
        self.hooks.emit_safely(event, payload)

    # -- the application's lifetime ---------------------------------------

    def __enter__(self) -> "PluginManager":
        self._emit(self.EVENT_APP_STARTUP, {"plugin_name": None, "manager": self})
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            self._emit(self.EVENT_APP_SHUTDOWN, {"plugin_name": None, "manager": self})
        finally:
            self.unload_all()

    # -- enable / disable -------------------------------------------------

    def enable_plugin(self, name: str) -> None:
        """Run the plugin's hooks again."""
        self._set_enabled(name, True)

    def disable_plugin(self, name: str) -> None:
        """Skip the plugin's hooks; it stays loaded."""
        self._set_enabled(name, False)

    def _set_enabled(self, name: str, enabled: bool) -> None:
        entry = self._entry(name)
        entry.enabled = enabled
        if entry.instance is not None:
            entry.instance.enabled = enabled

    # -- introspection --------------------------------------------------

    def _entry(self, name: str) -> _Entry:
        entry = self._entries.get(name)
        if entry is None:
            raise PluginNotFoundError("no plugin named %r is registered" % (name,))
        return entry

    def get_plugin(self, name: str) -> Optional[PluginBase]:
        """The loaded instance, or ``None``."""
        return self._loaded.get(name)

    def get_all_plugins(self) -> Dict[str, PluginBase]:
        """Loaded plugins by name, in load order."""
        return dict(self._loaded)

    def get_registered_plugins(self) -> List[str]:
        return list(self._entries)

    def get_loaded_plugins(self) -> List[str]:
        return list(self._loaded)

    def is_loaded(self, name: str) -> bool:
        return name in self._loaded

    def get_plugin_source(self, name: str) -> PluginSource:
        """Where the plugin came from."""
        return self._entry(name).source

    def get_plugin_class(self, name: str) -> Type[PluginBase]:
        """The plugin's class, importing it if it was registered lazily."""
        return self._class_of(self._entry(name))

    def get_plugin_version(self, name: str) -> Optional[str]:
        """The plugin's effective version (``None`` before a lazy plugin is
        imported)."""
        return self._entry(name).version

    def get_plugin_config(self, name: str, key: str, default: Any = None) -> Any:
        """``config[name][key]``, as ``PluginBase.get_config`` reads it."""
        section = self.config.get(name)
        if not isinstance(section, dict):
            return default
        return section.get(key, default)

    def check(self) -> List[PluginProblem]:
        """Import, validate and resolve every registered plugin without
        loading any; returns the problems found, discovery's included."""
        from ._resolution import check_problems

        return check_problems(self)

    # -- hooks (the dispatch half) -----------------------------------------

    def register_hook(self, event_name: str, callback: Callable[..., Any], plugin: Any = None,
                      priority: int = 50, timeout: Optional[float] = None, *,
                      wrapper: bool = False) -> HookRecord:
        """Attach a callable to an event (or ``*`` pattern); ``wrapper=True``
        for a generator around the event's other hooks."""
        return self.hooks.register(event_name, callback, plugin=plugin, priority=priority,
                                   timeout=timeout, wrapper=wrapper)

    def unregister_hook(self, event_name: str, callback: Callable[..., Any],
                        plugin: Any = None) -> bool:
        """Detach it; returns whether anything was removed."""
        return self.hooks.unregister(event_name, callback, plugin)

    def trigger(self, event_name: str, data: Any = None) -> Any:
        """Run the chain synchronously; see :meth:`HookRegistry.trigger`."""
        return self.hooks.trigger(event_name, data)

    async def trigger_async(self, event_name: str, data: Any = None) -> Any:
        """Run the chain, awaiting async hooks."""
        return await self.hooks.trigger_async(event_name, data)

    # -- declared events (see _events.py) ------------------------------------

    def declare_event(self, name: str, *, mode: Mode = "chain", historic: bool = False,
                      doc: Optional[str] = None) -> EventSpec:
        """Declare an event of the application: ``mode`` is "chain" (the
        data-filter chain), "collect" (list of results) or "first" (first
        non-``None`` result); ``historic`` replays earlier triggers to hooks
        attached later.  The same declaration again is a no-op; other
        settings raise :class:`ValidationError`."""
        from ._events import declare_event

        return declare_event(self, name, mode, historic, doc)

    def declare_events(self, namespace: Any) -> List[str]:
        """Declare every ``@event_spec`` function of a class or module;
        returns the names (all declared, or none on a conflict)."""
        from ._events import declare_namespace

        return declare_namespace(self, namespace)

    def declare_installed_events(self, group: str = "nitro_dispatch.events") -> List[str]:
        """Declare the events installed distributions publish under the
        entry-point group; broken or conflicting declarations are reported
        (:meth:`get_problems`, phase "event") and skipped."""
        from ._events import declare_installed

        return declare_installed(self, group)

    def get_event_specs(self) -> Dict[str, EventSpec]:
        """The declared events: ``{name: EventSpec}``, in declaration order."""
        table = self.hooks._events
        return dict(table.specs) if table is not None else {}

    def clear_history(self, name: str) -> None:
        """Forget the remembered triggers of a historic event."""
        from ._events import clear_history

        clear_history(self.hooks, name)

    def get_events(self) -> List[str]:
        """Every event name and pattern with hooks."""
        return self.hooks.get_all_events()

    def set_error_strategy(self, strategy: str) -> None:
        """``log_and_continue`` (default), ``fail_fast`` or ``collect_all``."""
        self.hooks.set_error_strategy(strategy)

    def enable_hook_tracing(self, enabled: bool = True) -> None:
        """Log and record every hook run; see :meth:`get_trace`."""
        self.hooks.enable_hook_tracing(enabled)

    def get_trace(self) -> List[HookTrace]:
        return self.hooks.get_trace()

    def clear_trace(self) -> None:
        self.hooks.clear_trace()

    def get_last_errors(self) -> List[Dict[str, Any]]:
        """Errors ``collect_all`` gathered in this thread's (or task's) last
        trigger: dicts with keys ``plugin``, ``error``, ``event``."""
        return self.hooks.get_last_errors()


_canonical = canonical_name  # a plugin or distribution name as compared (PEP 503)
