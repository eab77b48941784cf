"""The plugin manager: the facade an application sees.

:class:`PluginManager` keeps SPEC section 1's methods and signatures and
delegates: the plugin set belongs to its :class:`~._table.PluginTable`
(whose lock is the manager's lock), the stages a plugin passes to the
admission pipeline (:mod:`._admission`), dependency order to
:mod:`._resolution`, discovery to :mod:`._discovery`, reload to
:mod:`._reload`, every finding to its :class:`~._problems.ProblemLog`, and
hooks, events and dispatch to its :class:`HookRegistry` (``hooks``).
Lifecycle events are fired by the table, never while its lock is held.
"""

from __future__ import annotations

from ._admission import DEPENDENCY_PHASE, load_plugin
from ._errors import (DependencyError, NitroPluginError, PluginLoadError,
                      PluginRegistrationError, ValidationError)
from ._events import EventSpec, specs_in
from ._hooks import HookRecord
from ._log import configure_level, get_logger
from ._phases import UNLOAD
from ._plan import HookTrace
from ._plugin import PluginBase, class_plugin_name, validate_plugin_class, version_of
from ._problems import ProblemLog
from ._registry import ERROR_EVENT, HookRegistry
from ._source import DEFAULT_GROUP, PluginProblem, PluginSource
from ._table import PluginTable

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Type

    from ._admission import Refusal
    from ._table import Entry
    from ._events import Mode

__all__ = ["PluginManager", "DEFAULT_GROUP"]

logger = get_logger("nitro_dispatch.manager")

_PROBLEM_LIMIT = 100_000  # a chain of 10,000 broken plugins keeps every record


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
        # One record per (plugin, phase, kind): bounded by the plugins and
        # events there are, and by the limit beyond that (the oldest go).
        self._problems = ProblemLog(emit=self._problem_found, limit=_PROBLEM_LIMIT)
        self.hooks = HookRegistry(reporter=self._problems.report,
                                  strict_events=strict_events)
        self._table = PluginTable(self.hooks, self._problems)
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
        if self.validate_metadata and validate:
            validate_plugin_class(plugin_class, name)
        with self._table as table:
            existing = table.get(name)
            if existing is not None and existing.cls is plugin_class:
                logger.warning("plugin %r is already registered; ignoring the repeat", name)
                return name
            entry = table.add(name, plugin_class, None, source,
                              version_of(plugin_class, source), validate)
            logger.info("registered plugin %r %s from %s", name, entry.version, source)
            table.fire(self.EVENT_PLUGIN_REGISTERED, {"plugin_name": name,
                                                      "plugin_class": plugin_class,
                                                      "source": source})
        return name

    def register_lazy(self, name: str, loader: Callable[[], Any], source: PluginSource) -> str:
        """Register a plugin whose class is imported only when it is loaded
        or checked; ``loader()`` returns the class.  Used for entry points."""
        with self._table as table:
            table.add(name, None, loader, source)
            logger.info("registered plugin %r from %s (not imported yet)", name, source)
            table.fire(self.EVENT_PLUGIN_REGISTERED, {"plugin_name": name, "plugin_class": None,
                                                      "source": source})
        return name

    def unregister(self, name: str) -> None:
        """Unload the plugin if loaded, then forget it."""
        self._table.entry(name)
        try:
            self.unload(name)
        finally:
            with self._table as table:
                table.remove(name)
            logger.info("unregistered plugin %r", name)

    def discover_installed_plugins(self, group: Optional[str] = None) -> List[str]:
        """Register the plugins that installed distributions advertise under
        the entry-point group (default ``entry_point_group``), without
        importing them.  Returns the names registered.

        Problems are reported (logged, ``nitro.plugin.error`` with phase
        "conflict" or "discovery", and :meth:`get_problems`), never raised:
        two distributions claiming one name (canonically) register neither;
        a name already registered from another source keeps its first
        registration; a distribution whose ``entry_points.txt`` names the
        group but does not parse (importlib.metadata refuses it) is reported
        with phase "discovery", naming its folder.  The
        ``allow_list``/``block_list`` apply before anything is imported.
        Each distribution's ``Requires-Dist`` is
        checked here, from metadata alone (phases "compatibility",
        "requirements", "validation", "dependency"; see
        :mod:`._requirements`); a plugin it rules out registers but its load
        fails without importing it.
        """
        from ._discovery import discover_installed

        with self._table as table:
            return discover_installed(self, table, group or self.entry_point_group)

    # -- loading --------------------------------------------------------

    def load(self, name: str) -> PluginBase:
        """Load a plugin (its dependencies first) and return its instance.

        Raises :class:`PluginNotFoundError` for an unknown name,
        :class:`DependencyError` when its dependencies cannot be met, and
        :class:`PluginLoadError` (cause chained) when importing, creating or
        ``on_load`` fails; a failed load leaves nothing behind and is
        reported (:meth:`get_problems`).
        """
        with self._table as table:
            table.entry(name)
            instance = table.instance(name)
            if instance is not None:
                return instance
            order, failures = self._resolve(self._closure([name]))
            refusal = failures.get(name)
            if refusal is not None:
                if not refusal.reported:
                    table.report(name, refusal.phase, refusal.kind, str(refusal.error),
                                 None, refusal.error)
                raise refusal.error
            for dep in order:
                if table.is_loaded(dep):
                    continue
                try:
                    self._load_one(table.entry(dep))
                except PluginLoadError as exc:
                    if dep == name:
                        raise
                    error = DependencyError("plugin %r requires %r, which failed to load: %s"
                                            % (name, dep, exc))
                    table.report(name, DEPENDENCY_PHASE, "dependency", str(error), None, error)
                    raise error from exc
            loaded = table.instance(name)
            assert loaded is not None
            return loaded

    def load_all(self) -> List[str]:
        """Load every registered plugin in dependency order; returns the
        names loaded by this call, in order.  A broken plugin (and whatever
        depends on it) is reported and skipped; the others load."""
        loaded: List[str] = []
        with self._table as table:
            order, failures = self._resolve(table.names())
            for name, refusal in failures.items():
                if not refusal.reported and not table.is_loaded(name):
                    table.report(name, refusal.phase, refusal.kind, str(refusal.error), None,
                                 refusal.error)
            failed: Dict[str, str] = {}
            for name in order:
                if table.is_loaded(name):
                    continue
                entry = table.entry(name)
                bad = [dep for dep in entry.requires if dep in failed]
                if bad:
                    error = DependencyError("plugin %r requires %r, which failed to load: %s"
                                            % (name, bad[0], failed[bad[0]]))
                    failed[name] = failed[bad[0]]  # the first failure's reason: no nesting
                    table.report(name, DEPENDENCY_PHASE, "dependency", str(error), None, error)
                    continue
                try:
                    self._load_one(entry)
                except PluginLoadError as exc:
                    failed[name] = str(exc)  # already reported by the load stage
                    continue
                loaded.append(name)
        return loaded

    def _closure(self, names: List[str]) -> List[str]:
        from ._resolution import closure

        return closure(self._table, names, self.validate_metadata)

    def _resolve(self, names: List[str]) -> Tuple[List[str], Dict[str, Refusal]]:
        from ._resolution import resolve

        return resolve(self._table, names, self.validate_metadata)

    def _load_one(self, entry: Entry, replacing: Optional[PluginBase] = None) -> PluginBase:
        """Stages 2 to 4 of the admission pipeline for one plugin (see
        :func:`._admission.load_plugin`, also for ``replacing``)."""
        return load_plugin(self._table, self.hooks, self, entry,
                           validate_metadata=self.validate_metadata,
                           strict_events=self.strict_events, replacing=replacing)

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

        with self._table as table:
            return discover_dropins(self, table, directory, pattern, recursive)

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
        from ._reload import Reload

        with self._table as table:
            return Reload(self, table, name).run()

    # -- unloading ------------------------------------------------------

    def unload(self, name: str) -> None:
        """Unload a plugin, after the loaded plugins that depend on it.

        ``on_unload`` runs, hooks are detached and ``nitro.plugin.unloaded``
        fires even when ``on_unload`` raises; that error is then re-raised
        (a ``SystemExit`` as a :class:`NitroPluginError` caused by it).
        """
        with self._table as table:
            table.entry(name)
            if not table.is_loaded(name):
                return
            first_error: Optional[BaseException] = None
            for dependent in table.dependents(name):
                error = self._unload_one(dependent)
                if first_error is None and error is not None:
                    first_error = _unload_error(dependent, error)
            error = self._unload_one(name)
            if error is not None:
                raise _unload_error(name, error)
            if first_error is not None:
                raise first_error

    def unload_all(self) -> None:
        """Unload every plugin, dependents before their dependencies; an
        ``on_unload`` that raises is reported and the others go on."""
        with self._table as table:
            for name in reversed(table.loaded_names()):
                self._unload_one(name)

    def _unload_one(self, name: str) -> Optional[BaseException]:
        """Run ``on_unload``, then take the plugin out of service (after
        ``KeyboardInterrupt`` too); returns the error ``on_unload`` raised,
        reported, or ``None``."""
        table = self._table
        instance = table.instance(name)
        if instance is None:
            return None
        error: Optional[BaseException] = None
        try:
            instance.on_unload()
        except (Exception, SystemExit) as exc:
            error = exc
        finally:  # after KeyboardInterrupt too: the plugin is unloaded all the same
            table.take_out_of_service(name)
        if error is not None:
            table.report(name, UNLOAD, "on_unload", "plugin %r: on_unload raised %s: %s"
                         % (name, type(error).__name__, error), None, error)
        return error

    # -- reporting ------------------------------------------------------

    def _problem_found(self, problem: PluginProblem) -> None:
        """The problem log's ``emit``: a new finding fires
        ``nitro.plugin.error`` (after the manager's lock is released)."""
        self._table.fire(self.EVENT_PLUGIN_ERROR, {
            "plugin_name": problem.plugin, "error": problem.error or problem.message,
            "event": None, "phase": problem.phase, "message": problem.message})

    def get_problems(self) -> List[PluginProblem]:
        """Problems reported so far (discovery, conflicts, failed loads),
        oldest first; a problem reported again (same plugin, phase and
        kind) is listed once, with its ``count`` raised.  Hooks registered
        before the events were declared are checked first
        (:meth:`HookRegistry.check_pending`)."""
        self.hooks.check_pending()
        return self._problems.items()

    # -- the application's lifetime ---------------------------------------

    def __enter__(self) -> "PluginManager":
        self._table.fire(self.EVENT_APP_STARTUP, {"plugin_name": None, "manager": self})
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            self._table.fire(self.EVENT_APP_SHUTDOWN, {"plugin_name": None, "manager": self})
        finally:
            self.unload_all()

    # -- enable / disable -------------------------------------------------

    def enable_plugin(self, name: str) -> None:
        """Run the plugin's hooks again."""
        self._table.set_enabled(name, True)

    def disable_plugin(self, name: str) -> None:
        """Skip the plugin's hooks; it stays loaded."""
        self._table.set_enabled(name, False)

    # -- introspection --------------------------------------------------

    def get_plugin(self, name: str) -> Optional[PluginBase]:
        """The loaded instance, or ``None``."""
        return self._table.instance(name)

    def get_all_plugins(self) -> Dict[str, PluginBase]:
        """Loaded plugins by name, in load order."""
        return self._table.loaded()

    def get_registered_plugins(self) -> List[str]:
        return self._table.names()

    def get_loaded_plugins(self) -> List[str]:
        return self._table.loaded_names()

    def is_loaded(self, name: str) -> bool:
        return self._table.is_loaded(name)

    def get_plugin_source(self, name: str) -> PluginSource:
        """Where the plugin came from."""
        return self._table.entry(name).source

    def get_plugin_class(self, name: str) -> Type[PluginBase]:
        """The plugin's class, importing it if it was registered lazily (the
        admission pipeline's metadata and import stages: a plugin its
        distribution's metadata refuses is never imported, and raises that
        refusal's :class:`PluginLoadError`)."""
        from ._admission import Refused, import_class, metadata_refusal

        with self._table as table:
            entry = table.entry(name)
            refusal = metadata_refusal(entry)
            if refusal is not None:
                raise refusal.error
            try:
                return import_class(table, entry, self.validate_metadata)
            except Refused as exc:
                raise exc.refusal.error from exc.refusal.error.__cause__

    def get_plugin_version(self, name: str) -> Optional[str]:
        """The plugin's effective version (``None`` before a lazy plugin is
        imported)."""
        return self._table.entry(name).version

    def get_plugin_config(self, name: str, key: str, default: Any = None) -> Any:
        """``config[name][key]``, as ``PluginBase.get_config`` reads it."""
        section = self.config.get(name)
        if not isinstance(section, dict):
            return default
        return section.get(key, default)

    def check(self) -> List[PluginProblem]:
        """The admission pipeline up to hook admission for every registered
        plugin (import, validate, resolve, check its hooks) without loading
        any or reporting anything; returns the problems found, discovery's
        included, each with the phase a load would report it with."""
        from ._resolution import check_problems

        return check_problems(self._table, self.hooks, self._problems,
                              validate_metadata=self.validate_metadata,
                              strict_events=self.strict_events)

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
        return self.hooks.declare([EventSpec(name, mode, historic, doc)])[0]

    def declare_events(self, namespace: Any) -> List[str]:
        """Declare every ``@event_spec`` function of a class or module;
        returns the names (all declared, or none on a conflict)."""
        return [spec.name for spec in self.hooks.declare(_specs_of(namespace))]

    def declare_installed_events(self, group: str = "nitro_dispatch.events") -> List[str]:
        """Declare the events installed distributions publish under the
        entry-point group; broken or conflicting declarations are reported
        (:meth:`get_problems`, phase "event", once per declaration however
        often it is retried) and skipped.  Precedence: the application's
        declarations in code made before this call, then those of the
        ``host`` distribution, then the others in sort order; a declaration
        that conflicts with one in force is reported (naming both origins)
        and not applied."""
        from ._discovery import declare_installed

        return declare_installed(self.hooks, self._table, group, _specs_of, self.host)

    def get_event_specs(self) -> Dict[str, EventSpec]:
        """The declared events: ``{name: EventSpec}``, in declaration order."""
        return self.hooks.get_event_specs()

    def clear_history(self, name: str) -> None:
        """Forget the remembered triggers of a historic event."""
        self.hooks.clear_history(name)

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


def _specs_of(namespace: Any) -> List[EventSpec]:
    """The ``@event_spec`` declarations of a class or module; a namespace
    without any is a :class:`ValidationError`."""
    specs = specs_in(namespace)
    if not specs:
        raise ValidationError("%s has no @event_spec functions to declare"
                              % (getattr(namespace, "__qualname__", None)
                                 or getattr(namespace, "__name__", None) or repr(namespace),))
    return specs


def _unload_error(name: str, error: BaseException) -> BaseException:
    """What :meth:`PluginManager.unload` raises for an ``on_unload`` error:
    the error itself, but never a ``SystemExit`` (a plugin must not end the
    host), which becomes a :class:`NitroPluginError` with it as the cause."""
    if not isinstance(error, SystemExit):
        return error
    wrapped = NitroPluginError("plugin %r: on_unload raised SystemExit(%r)"
                               % (name, error.code))
    wrapped.__cause__ = error
    return wrapped
