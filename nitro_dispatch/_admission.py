"""The admission pipeline: the ordered stages a plugin passes, whoever asks
(the manager loading it, ``check``, ``events``, ``info``).

1. **metadata** (:func:`metadata_verdict`): its distribution's
   ``Requires-Dist`` and version, from metadata alone (SPEC section 10).
   Its findings carry the phases :mod:`._requirements` decides
   (``compatibility``, ``requirements``, ``validation``, ``dependency``); a
   plugin this stage refuses is never imported.
2. **import** (:func:`import_class`): the class, imported on first need,
   must be a :class:`PluginBase` subclass of the entry's name with valid
   metadata.  Phase :data:`IMPORT_PHASE` (:data:`VALIDATION_PHASE` for the
   class's own invalid metadata).
3. **hooks** (:func:`hook_findings`): every ``@hook`` of the class goes
   through the registry's admission checks (conformance to declared events,
   signature, wrapper shape, options) without an instance; the findings
   carry the registry's phases (``event``, ``validation``).  Under
   ``strict_events`` a hook on an undeclared event is refused, otherwise
   reported; every other finding refuses the plugin.
4. **load** (:func:`load_plugin`): create the instance, attach its hooks,
   run ``on_load``, all or nothing.  Phase :data:`LOAD_PHASE`.

A refusal is a :class:`Refusal`: the phase and kind a finding is reported
with, and the :class:`PluginLoadError` a load raises.  The phase of each
stage is named here and nowhere else.
"""

from __future__ import annotations

from ._errors import NitroPluginError, PluginLoadError, ValidationError
from ._events import replay
from ._interrupts import InterruptsHeld
from ._log import get_logger
from ._phases import DEPENDENCY, EVENT, IMPORT, LOAD, VALIDATION
from ._plugin import PluginBase, class_plugin_name, validate_plugin_class, version_of
from ._source import PluginProblem
from ._metadata import canonical_name
from ._table import UNLOADED_EVENT

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Type

    from ._hooks import HookRecord, HookSpec
    from ._registry import HookRegistry
    from ._requirements import PluginMeta
    from ._source import PluginSource
    from ._table import Entry, PluginTable

    Finding = Tuple[str, str, str]  # (phase, kind, message)
    Row = Tuple[str, Callable[..., Any], int, Optional[float], bool, bool]

__all__ = ["Refusal", "refused_message", "metadata_verdict", "admits", "import_class",
           "spec_findings", "hook_findings",
           "refusing", "load_plugin", "IMPORT_PHASE", "VALIDATION_PHASE", "LOAD_PHASE",
           "DEPENDENCY_PHASE"]

IMPORT_PHASE = IMPORT  # stage 2
VALIDATION_PHASE = VALIDATION  # stage 2, the class's own metadata
LOAD_PHASE = LOAD  # stage 4
DEPENDENCY_PHASE = DEPENDENCY  # a plugin it needs is refused, missing or unsuitable
LOADED_EVENT = "nitro.plugin.loaded"

logger = get_logger("nitro_dispatch.manager")


class Refusal:
    """Why a plugin cannot load: the ``phase`` and ``kind`` its problem is
    reported with, and the ``error`` a load raises."""

    __slots__ = ("phase", "kind", "error", "reported")

    def __init__(self, phase: str, kind: str, error: PluginLoadError,
                 reported: bool = False) -> None:
        self.phase = phase
        self.kind = kind
        self.error = error
        self.reported = reported  # already in the problem log (metadata, at discovery)

    def problem(self, name: str, source: Optional[PluginSource]) -> PluginProblem:
        return PluginProblem(name, self.phase, str(self.error), source, self.error,
                             kind=self.kind)


class Refused(Exception):
    """Carries a :class:`Refusal` out of a stage (never seen by users)."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(str(refusal.error))
        self.refusal = refusal


# -- stage 1: metadata ----------------------------------------------------------------


def metadata_verdict(table: PluginTable, name: str, group: str, reports: Dict[str, Any],
                     item: Any, source: PluginSource, *, verify: bool,
                     validate: bool) -> PluginMeta:
    """Report what ``item``'s distribution metadata says about the plugin
    (``reports``: :func:`check_distributions` of its group); the verdict
    says whether its load is refused without importing it."""
    from ._requirements import PluginMeta, plugin_findings

    report = reports[canonical_name(item.dist_name)]
    meta = PluginMeta(group, report, reports)
    findings, meta.blocked, meta.phase = plugin_findings(name, report, verify=verify,
                                                         validate=validate)
    for phase, message in findings:  # worded from metadata alone: the message is the kind
        table.report(name, phase, message, message, source)
    return meta


def metadata_refusal(entry: Entry) -> Optional[Refusal]:
    """The refusal stage 1 made for an installed plugin (reported at
    discovery already), or ``None``."""
    meta = entry.meta
    if meta is None or meta.blocked is None:
        return None
    blocked = meta.blocked
    if not isinstance(blocked, PluginLoadError):
        blocked = PluginLoadError(str(blocked))
    return Refusal(meta.phase or DEPENDENCY, meta.phase or DEPENDENCY, blocked, reported=True)


def admits(name: str, allow_list: Optional[Iterable[str]], block_list: Iterable[str]) -> bool:
    """Allowed and not blocked; list names compare canonically."""
    if allow_list is None and not block_list:
        return True  # no lists: the common case costs nothing
    canon = canonical_name(name)
    if name in block_list or any(canonical_name(b) == canon for b in block_list):
        return False
    return allow_list is None or name in allow_list or \
        any(canonical_name(a) == canon for a in allow_list)


# -- stage 2: import --------------------------------------------------------------------


def import_class(table: PluginTable, entry: Entry, validate_metadata: bool
                 ) -> Type[PluginBase]:
    """The plugin class, imported for lazily registered plugins; raises
    :class:`Refused` (carrying the :class:`Refusal`, whose error names the
    source) when it does not import or is not this plugin's class."""
    if entry.cls is not None:
        return entry.cls
    assert entry.loader is not None
    where = entry.source.describe()
    try:
        obj = entry.loader()
    except (Exception, SystemExit) as exc:  # sys.exit() in a plugin: its failure
        error = PluginLoadError("plugin %r from %s does not import (%s): %s: %s"
                                % (entry.name, where, entry.source.value,
                                   type(exc).__name__, exc))
        error.__cause__ = exc
        raise Refused(Refusal(IMPORT_PHASE, "import", error)) from exc
    if not (isinstance(obj, type) and issubclass(obj, PluginBase)):
        what = "%s %s" % (type(obj).__name__, getattr(obj, "__qualname__", "")) \
            if not isinstance(obj, type) else "class %s" % (obj.__qualname__,)
        raise Refused(Refusal(IMPORT_PHASE, "import", PluginLoadError(
            "plugin %r from %s: entry point %s names %s, not a PluginBase subclass"
            % (entry.name, where, entry.source.value, what.strip()))))
    declared = class_plugin_name(obj)
    if declared != entry.name:
        raise Refused(Refusal(IMPORT_PHASE, "import", PluginLoadError(
            "plugin %r from %s: entry point name %r differs from the class's name %r"
            % (entry.name, where, entry.name, declared))))
    if validate_metadata:
        try:
            validate_plugin_class(obj, entry.name)
        except ValidationError as exc:
            error = PluginLoadError(str(exc))
            error.__cause__ = exc
            raise Refused(Refusal(VALIDATION_PHASE, "validation", error)) from exc
    table.set_class(entry, obj, version_of(obj, entry.source))
    return obj


def as_refusal(exc: NitroPluginError, phase: str = DEPENDENCY_PHASE,
               kind: str = "dependency") -> Refusal:
    """A refusal for an error raised outside the stages (class-level
    dependency strings that do not parse, say)."""
    if isinstance(exc, PluginLoadError):
        return Refusal(phase, kind, exc)
    error = PluginLoadError(str(exc))
    error.__cause__ = exc
    return Refusal(VALIDATION_PHASE if isinstance(exc, ValidationError) else phase,
                   "validation" if isinstance(exc, ValidationError) else kind, error)


# -- stage 3: hook admission ------------------------------------------------------------


def _as_bound(cls: type, attr: str) -> Tuple[Any, bool]:
    """What ``getattr(instance, attr)`` will be, without an instance: the
    function and whether it will be bound to the instance."""
    for klass in cls.__mro__:
        if attr in vars(klass):
            value = vars(klass)[attr]
            if isinstance(value, staticmethod):
                return value.__func__, False
            if isinstance(value, classmethod):
                return getattr(cls, attr), False
            return value, callable(value) and hasattr(value, "__get__")
    return getattr(cls, attr, None), False


def spec_findings(registry: HookRegistry, cls: Type[PluginBase], attr: str,
                  spec: HookSpec) -> List[Finding]:
    """Stage 3 for one ``@hook`` of a class: the registry's admission
    findings on it, registering nothing."""
    callback, method = _as_bound(cls, attr)
    return registry.hook_findings(
        spec.event, callback, plugin=cls, priority=spec.priority, timeout=spec.timeout,
        wrapper=spec.wrapper, is_async=True if spec.async_hook else None, method=method)


def hook_findings(registry: HookRegistry, cls: Type[PluginBase]) -> List[Finding]:
    """Stage 3 for a class: every finding the registry's admission checks
    make on its ``@hook`` methods, registering nothing."""
    found: List[Finding] = []
    for attr, spec in cls.nitro_hook_specs():
        found.extend(spec_findings(registry, cls, attr, spec))
    return found


def row_findings(registry: HookRegistry, instance: PluginBase, rows: List[Row]) -> List[Finding]:
    """Stage 3 for hooks an instance registered before its load (1.x)."""
    found: List[Finding] = []
    for event, callback, priority, timeout, _async_hook, wrapper in rows:
        found.extend(registry.hook_findings(event, callback, plugin=instance,
                                            priority=priority, timeout=timeout,
                                            wrapper=wrapper))
    return found


def refusing(findings: List[Finding], strict_events: bool) -> List[Finding]:
    """The findings that refuse the plugin: all but lenient conformance."""
    return [f for f in findings if f[0] != EVENT or strict_events]


def refused_message(name: str, message: str) -> str:
    """How a load, and ``check``, word a hook admission refusal."""
    return "plugin %r failed to load: ValidationError: %s" % (name, message)


def _refusal_of(name: str, findings: List[Finding]) -> Refusal:
    phase, kind, message = findings[0]
    error = PluginLoadError(refused_message(name, message))
    error.__cause__ = ValidationError(message)
    return Refusal(phase, kind, error)


# -- stage 4: load ----------------------------------------------------------------------


def load_plugin(table: PluginTable, registry: HookRegistry, manager: Any, entry: Entry, *,
                validate_metadata: bool, strict_events: bool,
                replacing: Optional[PluginBase] = None) -> PluginBase:
    """Stages 2 to 4 for one registered plugin (stage 1 was discovery's):
    import, admit its hooks, create it, attach the hooks and run
    ``on_load``; a refusal is reported with its phase and raised as its
    :class:`PluginLoadError`, leaving nothing behind.  With ``replacing``
    (a loaded instance of the same plugin, for reload), the new hooks take
    the place of ``replacing``'s in one step, and a failure leaves
    ``replacing``'s in service exactly as they were.  The caller holds the
    table's lock."""
    name = entry.name
    try:
        cls = import_class(table, entry, validate_metadata)
        findings = hook_findings(registry, cls)
        refused = refusing(findings, strict_events)
        if refused:
            raise Refused(_refusal_of(name, refused))
    except Refused as exc:
        refusal = exc.refusal
        table.report(name, refusal.phase, refusal.kind, str(refusal.error), entry.source,
                     refusal.error.__cause__ or refusal.error)
        raise refusal.error from refusal.error.__cause__
    for phase, kind, message in findings:  # lenient conformance: reported, admitted
        table.report(name, phase, kind, message, entry.source, warning=True)
    try:
        instance = cls()
    except (Exception, SystemExit) as exc:
        error = PluginLoadError("plugin %r from %s could not be created: %s: %s"
                                % (name, entry.source.describe(), type(exc).__name__, exc))
        table.report(name, LOAD_PHASE, "create", str(error), entry.source, exc)
        raise error from exc
    if entry.version and "version" not in instance.__dict__ and \
            entry.version != cls.version:
        instance.version = entry.version  # inherited from the distribution
    instance.enabled = entry.enabled
    held = InterruptsHeld()
    try:
        with held:  # a Ctrl-C outside on_load waits until table and hooks agree
            records = _attach(table, registry, manager, entry, instance, replacing,
                              strict_events, held)
            table.put_in_service(entry, instance)
            if replacing is not None:
                replacing.nitro_leave_service()
    except Refused as exc:  # reported outside: nitro.plugin.error runs plugin code
        refusal = exc.refusal
        table.report(name, refusal.phase, refusal.kind, str(refusal.error), entry.source,
                     refusal.error.__cause__)
        raise refusal.error from refusal.error.__cause__
    if replacing is not None:
        logger.info("unloaded plugin %r %s", name, replacing.version)
        table.fire(UNLOADED_EVENT, {"plugin_name": name})
    logger.info("loaded plugin %r %s", name, instance.version)
    table.fire(LOADED_EVENT, {"plugin_name": name, "plugin": instance,
                              "version": instance.version})
    replay(registry, records)  # historic events, now that on_load has run
    return instance


def _attach(table: PluginTable, registry: HookRegistry, manager: Any, entry: Entry,
            instance: PluginBase, replacing: Optional[PluginBase],
            strict_events: bool, held: InterruptsHeld) -> List[HookRecord]:
    """Register the instance's hooks (all admitted already) and run
    ``on_load``; on failure detach them again (or put ``replacing``'s
    back, if they were swapped out).  ``KeyboardInterrupt`` and other
    ``BaseException``s propagate after that cleanup; ``SystemExit`` is the
    plugin's failure like any error, raised as :class:`Refused` for the
    caller to report.  The caller holds SIGINT (``held``); only ``on_load``
    lets it through."""
    name = entry.name
    records: List[HookRecord] = []
    swapped = False
    instance.nitro_enter_service(manager)
    phase, kind = LOAD_PHASE, "on_load"
    try:
        rows = hook_rows(instance)
        pending = rows[len(type(instance).nitro_hook_specs()):]
        findings = row_findings(registry, instance, pending)
        refused = refusing(findings, strict_events)
        if refused:
            refusal = _refusal_of(name, refused)
            phase, kind = refusal.phase, refusal.kind
            raise refusal.error.__cause__ or refusal.error
        for finding in findings:  # lenient conformance: reported, admitted
            table.report(name, *finding, source=entry.source, warning=True)
        if replacing is None:
            for event, callback, priority, timeout, async_hook, wrapper in rows:
                records.append(registry.register(
                    event, callback, plugin=instance, priority=priority, timeout=timeout,
                    async_hook=async_hook, wrapper=wrapper, replay=False, checked=True))
        else:
            records = registry.replace_plugin(replacing, instance, rows, checked=True)
            swapped = True  # from here on, a failure must swap back
        with held.open():
            instance.on_load()
    except BaseException as exc:
        if swapped:
            assert replacing is not None
            registry.replace_plugin(instance, replacing, hook_rows(replacing), checked=True)
        else:  # the registry left replacing's hooks as they were
            registry.unregister_plugin(instance)
        instance.nitro_leave_service()
        if not isinstance(exc, (Exception, SystemExit)):
            raise
        error = PluginLoadError("plugin %r failed to load: %s: %s"
                                % (name, type(exc).__name__, exc))
        error.__cause__ = exc
        raise Refused(Refusal(phase, kind, error)) from exc
    return records


def hook_rows(instance: PluginBase) -> List[Row]:
    """The instance's ``@hook`` methods, then the hooks it registered before
    it was loaded (1.x), as rows for :meth:`HookRegistry.replace_plugin`."""
    rows: List[Row] = [(spec.event, getattr(instance, attr), spec.priority, spec.timeout,
                        spec.async_hook, spec.wrapper)
                       for attr, spec in type(instance).nitro_hook_specs()]
    rows += [(event, callback, priority, timeout, False, wrapper)
             for event, callback, priority, timeout, wrapper in instance.nitro_pending_hooks()]
    return rows
