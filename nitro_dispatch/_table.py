"""The plugin table: the one owner of a manager's plugin set.

Each registered plugin is an :class:`Entry` (its class or a loader for it,
where it came from, its effective version, its metadata verdict, the
plugins it needs while loaded, its wanted ``enabled`` state, and its
instance while loaded).  :class:`PluginTable` keeps the entries in
registration order, the loaded instances in load order (dependencies
first), the canonical-name index, and the names that cannot register, and
has a method for every change: discovery, resolution, loading, unloading
and reload call those methods and read entries, never change them.

The table's lock is the manager's lock.  Lifecycle events (``nitro.*``,
``nitro.plugin.error`` included) announced while it is held are queued and
fired once the outermost holder releases it (:meth:`PluginTable.fire`), so
no lifecycle handler ever runs while the lock is held.
"""

from __future__ import annotations

from _thread import RLock, get_ident

from ._errors import PluginNotFoundError, PluginRegistrationError
from ._interrupts import InterruptsHeld
from ._log import get_logger
from ._metadata import canonical_name

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional, Tuple, Type

    from ._plugin import PluginBase
    from ._problems import ProblemLog
    from ._registry import HookRegistry
    from ._requirements import PluginMeta
    from ._source import PluginSource

__all__ = ["Entry", "PluginTable", "UNLOADED_EVENT"]

logger = get_logger("nitro_dispatch.manager")

UNLOADED_EVENT = "nitro.plugin.unloaded"


class Entry:
    """One registered plugin, as the table keeps it.  Read its fields
    freely; change them only through :class:`PluginTable`'s methods."""

    __slots__ = ("name", "cls", "loader", "source", "version", "instance", "enabled",
                 "requires", "validate", "meta")

    def __init__(self, name: str, cls: Optional[Type[PluginBase]],
                 loader: Optional[Callable[[], Any]], source: PluginSource,
                 validate: bool = True) -> None:
        self.name = name
        self.cls = cls
        self.loader = loader  # imports the class on first need (entry points)
        self.source = source
        self.version: Optional[str] = None  # effective version, once the class is known
        self.instance: Optional[PluginBase] = None
        self.enabled = True  # wanted state, kept across unload/load and reload
        self.requires: List[str] = []  # names of plugins this one needs while loaded
        self.validate = validate  # False: register(cls, validate=False) skipped the checks
        self.meta: Optional[PluginMeta] = None  # an installed plugin's metadata verdict


class Snapshot:
    """What reload may change on an entry, to put back on failure."""

    __slots__ = ("cls", "version", "requires", "source", "meta")

    def __init__(self, entry: Entry) -> None:
        self.cls, self.version, self.requires = entry.cls, entry.version, entry.requires
        self.source, self.meta = entry.source, entry.meta


class PluginTable:
    """The plugin set of one manager, and its lock (``with table:``)."""

    __slots__ = ("_registry", "_problems", "_entries", "_loaded", "_canonical",
                 "_unavailable", "_lock", "_depth", "_owner", "_pending")

    def __init__(self, registry: HookRegistry, problems: ProblemLog) -> None:
        self._registry = registry
        self._problems = problems
        self._entries: Dict[str, Entry] = {}  # registration order
        self._loaded: Dict[str, PluginBase] = {}  # load order: dependencies first
        self._canonical: Dict[str, str] = {}  # canonical name -> registered name
        # Names that cannot register (claimed twice), with why: their
        # dependents fail with this reason rather than "not registered".
        self._unavailable: Dict[str, str] = {}
        self._lock = RLock()
        self._depth = 0
        self._owner: Optional[int] = None  # the thread holding the lock
        self._pending: List[Tuple[str, Dict[str, Any]]] = []  # events to fire on release

    # -- the lock, and lifecycle events outside it ---------------------------

    def __enter__(self) -> "PluginTable":
        self._lock.acquire()
        self._depth += 1
        self._owner = get_ident()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._depth -= 1
        pending: List[Tuple[str, Dict[str, Any]]] = []
        if self._depth == 0:
            self._owner = None
            pending, self._pending = self._pending, []
        self._lock.release()
        for event, payload in pending:
            self._registry.emit_safely(event, payload)

    def fire(self, event: str, payload: Dict[str, Any]) -> None:
        """Run the handlers of a lifecycle event now, or, when this thread
        holds the lock, as soon as it releases it (in the order fired)."""
        if self._owner == get_ident():
            self._pending.append((event, payload))
        else:
            self._registry.emit_safely(event, payload)

    def report(self, plugin: Optional[str], phase: str, kind: str, message: str,
               source: Optional[PluginSource] = None,
               error: Optional[BaseException] = None, *, warning: bool = False) -> None:
        """Keep a finding in the problem log (which announces a new one
        through ``nitro.plugin.error``) and log it: an error each time, a
        ``warning`` (a finding that refuses nothing) only the first time."""
        if source is None and plugin is not None and plugin in self._entries:
            source = self._entries[plugin].source
        new = self._problems.report(plugin, phase, kind, message, source, error)
        if not warning:
            logger.error("%s", message)
        elif new:
            logger.warning("%s", message)

    # -- reading ------------------------------------------------------------

    def get(self, name: str) -> Optional[Entry]:
        return self._entries.get(name)

    def entry(self, name: str) -> Entry:
        """The entry of a registered name, else :class:`PluginNotFoundError`."""
        entry = self._entries.get(name)
        if entry is None:
            raise PluginNotFoundError("no plugin named %r is registered" % (name,))
        return entry

    def names(self) -> List[str]:
        """Registered names, in registration order."""
        return list(self._entries)

    def loaded(self) -> Dict[str, PluginBase]:
        """Loaded instances by name, in load order (a copy)."""
        return dict(self._loaded)

    def loaded_names(self) -> List[str]:
        return list(self._loaded)

    def instance(self, name: str) -> Optional[PluginBase]:
        return self._loaded.get(name)

    def is_loaded(self, name: str) -> bool:
        return name in self._loaded

    def find(self, name: str) -> Optional[str]:
        """The registered name that ``name`` denotes (names compare in
        canonical form; no two registered names share one)."""
        if name in self._entries:
            return name
        found = self._canonical.get(canonical_name(name))
        return found if found in self._entries else None

    def unavailable(self) -> Dict[str, str]:
        """Names that cannot register (claimed twice) and not registered,
        with the reason."""
        return {n: why for n, why in self._unavailable.items() if n not in self._entries}

    def dependents(self, name: str) -> List[str]:
        """Loaded plugins that need ``name``, transitively, in the order to
        unload them (latest loaded first)."""
        needed = {name}
        found: List[str] = []
        for other in self._loaded:  # load order: dependents come later
            if other != name and needed.intersection(self._entries[other].requires):
                needed.add(other)
                found.append(other)
        return list(reversed(found))

    # -- registration -------------------------------------------------------

    def add(self, name: str, cls: Optional[Type[PluginBase]], loader: Optional[Callable[[], Any]],
            source: PluginSource, version: Optional[str] = None, validate: bool = True,
            meta: Optional[PluginMeta] = None) -> Entry:
        """Register ``name``; :class:`PluginRegistrationError` when it, or a
        name equal to it canonically, is taken."""
        existing = self._entries.get(name)
        if existing is not None:
            raise PluginRegistrationError(
                "plugin name %r is already taken by %s; %s cannot register under it"
                % (name, existing.source.describe(), source.describe()))
        canon = canonical_name(name)
        other = self._canonical.get(canon)
        if other is not None and other != name and other in self._entries:
            raise PluginRegistrationError(
                "plugin name %r is the same as %r (names are compared canonically), which is "
                "taken by %s; %s cannot register under it"
                % (name, other, self._entries[other].source.describe(), source.describe()))
        entry = Entry(name, cls, loader, source, bool(validate))
        entry.version = version
        entry.meta = meta
        self._entries[name] = entry
        self._canonical[canon] = name
        return entry

    def remove(self, name: str) -> None:
        """Forget a registered (and no longer loaded) plugin."""
        self._entries.pop(name, None)
        canon = canonical_name(name)
        if self._canonical.get(canon) == name:
            del self._canonical[canon]

    def mark_unavailable(self, names: List[str], why: str) -> None:
        for name in names:
            self._unavailable[name] = why

    def set_class(self, entry: Entry, cls: Type[PluginBase], version: Optional[str]) -> None:
        entry.cls, entry.version = cls, version

    def set_source(self, entry: Entry, source: PluginSource, meta: Optional[PluginMeta]) -> None:
        entry.source, entry.meta = source, meta

    def set_requires(self, name: str, requires: List[str]) -> None:
        self._entries[name].requires = requires

    def set_enabled(self, name: str, enabled: bool) -> None:
        """The wanted state, applied to the instance too while loaded."""
        entry = self.entry(name)
        entry.enabled = enabled
        if entry.instance is not None:
            entry.instance.enabled = enabled

    def keep_enabled(self, entry: Entry) -> None:
        """Take the loaded instance's ``enabled`` as the wanted state (before
        it leaves service)."""
        if entry.instance is not None:
            entry.enabled = entry.instance.enabled

    def snapshot(self, entry: Entry) -> Snapshot:
        return Snapshot(entry)

    def restore(self, entry: Entry, snapshot: Snapshot) -> None:
        entry.cls, entry.version, entry.requires = snapshot.cls, snapshot.version, \
            snapshot.requires
        entry.source, entry.meta = snapshot.source, snapshot.meta

    # -- service --------------------------------------------------------------

    def put_in_service(self, entry: Entry, instance: PluginBase) -> None:
        """``instance`` is the loaded plugin (a replaced one keeps its place
        in the load order)."""
        entry.instance = instance
        self._loaded[entry.name] = instance

    def take_out_of_service(self, name: str, announce: bool = True) -> Optional[PluginBase]:
        """The one way a loaded plugin leaves: its hooks are detached, the
        instance forgotten (its ``enabled`` kept as the wanted state) and
        told it is out of service; ``nitro.plugin.unloaded`` is announced
        unless ``announce`` is false.  Returns the instance, if any."""
        entry = self._entries[name]
        with InterruptsHeld():  # a Ctrl-C waits until table and hooks agree
            instance = self._loaded.pop(name, None)
            if instance is None:
                instance, entry.instance = entry.instance, None
                if instance is None:
                    return None
            entry.instance = None
            try:
                self._registry.unregister_plugin(instance)
            finally:
                entry.enabled = instance.enabled
                instance.nitro_leave_service()
        logger.info("unloaded plugin %r", name)
        if announce:
            self.fire(UNLOADED_EVENT, {"plugin_name": name})
        return instance
