"""Plugin instances in and out of service: create one, attach its hooks
and run ``on_load`` (all or nothing, or in one step in place of a previous
instance, for reload), and detach it again after ``on_unload``.

These functions are the manager's service concern, kept apart from the
lifecycle in :mod:`._manager`; they work on a :class:`PluginManager`'s
entries under its lock.
"""

from __future__ import annotations

from ._errors import NitroPluginError, PluginLoadError
from ._manager import logger
from ._plugin import PluginBase

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, List, Optional, Tuple

    from ._hooks import HookRecord
    from ._manager import PluginManager, _Entry

__all__ = ["load_one", "attach", "unload_one", "unload_error", "out_of_service"]


def load_one(manager: "PluginManager", entry: "_Entry",
             replacing: Optional[PluginBase] = None) -> PluginBase:
    """Create the plugin and attach it (see :func:`attach`, also for
    ``replacing``)."""
    name = entry.name
    try:
        cls = manager._class_of(entry)
        instance = cls()
    except (Exception, SystemExit) as exc:
        error = exc if isinstance(exc, PluginLoadError) else PluginLoadError(
            "plugin %r from %s could not be created: %s: %s"
            % (name, entry.source.describe(), type(exc).__name__, exc))
        manager._report(name, "load", str(error), entry.source, exc)
        if error is exc:
            raise
        raise error from exc
    if entry.version and "version" not in instance.__dict__ and \
            entry.version != cls.version:
        instance.version = entry.version  # inherited from the distribution
    instance.enabled = entry.enabled
    attach(manager, entry, instance, replacing)
    return instance


def attach(manager: "PluginManager", entry: "_Entry", instance: PluginBase,
           replacing: Optional[PluginBase] = None) -> None:
    """Register the instance's hooks and run ``on_load``; on failure
    detach everything again and raise :class:`PluginLoadError`.  Then
    replay historic events to the hooks (``on_load`` has run again, so
    an instance back in service after a failed reload gets them again).

    With ``replacing`` (a loaded instance of the same plugin, for
    reload), the new hooks take the place of ``replacing``'s in one
    step, and a failure puts ``replacing``'s hooks back in one step.
    ``KeyboardInterrupt`` and other ``BaseException``s propagate after
    that cleanup; ``SystemExit`` is the plugin's failure like any error.
    """
    name = entry.name
    records: List[HookRecord] = []
    instance.__dict__["_nitro_manager"] = manager
    try:
        # All checks first, all hooks or none; held from historic events
        # until the replay below, after on_load.
        records = manager.hooks.replace_plugin(replacing, instance, _hook_rows(instance))
        instance.on_load()
    except BaseException as exc:
        if replacing is None:
            manager.hooks.unregister_plugin(instance)
        else:
            manager.hooks.replace_plugin(instance, replacing, _hook_rows(replacing))
        out_of_service(instance)
        if not isinstance(exc, (Exception, SystemExit)):
            raise
        error = PluginLoadError("plugin %r failed to load: %s: %s"
                                % (name, type(exc).__name__, exc))
        manager._report(name, "load", str(error), entry.source, exc)
        raise error from exc
    entry.instance = instance
    manager._loaded[name] = instance  # a replaced plugin keeps its place
    if replacing is not None:
        out_of_service(replacing)
        logger.info("unloaded plugin %r %s", name, replacing.version)
        manager._emit(manager.EVENT_PLUGIN_UNLOADED, {"plugin_name": name})
    logger.info("loaded plugin %r %s", name, instance.version)
    manager._emit(manager.EVENT_PLUGIN_LOADED, {"plugin_name": name, "plugin": instance,
                                                "version": instance.version})
    manager.hooks.replay(records)  # historic events, now that on_load has run


def unload_one(manager: "PluginManager", name: str) -> Optional[BaseException]:
    """Run ``on_unload``, detach the hooks and forget the instance (after
    ``KeyboardInterrupt`` too); returns the error ``on_unload`` raised,
    reported, or ``None``."""
    instance = manager._loaded.get(name)
    if instance is None:
        return None
    entry = manager._entries[name]
    error: Optional[BaseException] = None
    try:
        instance.on_unload()
    except (Exception, SystemExit) as exc:
        error = exc
    finally:  # after KeyboardInterrupt too: the plugin is unloaded all the same
        manager.hooks.unregister_plugin(instance)
        del manager._loaded[name]
        entry.instance = None
        entry.enabled = instance.enabled
        out_of_service(instance)
    logger.info("unloaded plugin %r", name)
    manager._emit(manager.EVENT_PLUGIN_UNLOADED, {"plugin_name": name})
    if error is not None:
        manager._report(name, "unload", "plugin %r: on_unload raised %s: %s"
                        % (name, type(error).__name__, error), entry.source, error)
    return error


def unload_error(name: str, error: BaseException) -> BaseException:
    """What :meth:`PluginManager.unload` raises for an ``on_unload`` error:
    the error itself, but never a ``SystemExit`` (a plugin must not end the
    host), which becomes a :class:`NitroPluginError` with it as the cause."""
    if not isinstance(error, SystemExit):
        return error
    wrapped = NitroPluginError("plugin %r: on_unload raised SystemExit(%r)"
                               % (name, error.code))
    wrapped.__cause__ = error
    return wrapped


def _hook_rows(instance: PluginBase) -> List[Tuple[str, Callable[..., Any], int,
                                                   Optional[float], bool, bool]]:
    """The instance's ``@hook`` methods, then the hooks it registered before
    it was loaded (1.x), as rows for :meth:`HookRegistry.replace_plugin`."""
    rows = [(spec.event, getattr(instance, attr), spec.priority, spec.timeout,
             spec.async_hook, spec.wrapper) for attr, spec in type(instance).nitro_hook_specs()]
    rows += [(event, callback, priority, timeout, False, wrapper)
             for event, callback, priority, timeout, wrapper in instance.nitro_pending_hooks()]
    return rows


def out_of_service(instance: PluginBase) -> None:
    """An instance no longer loaded: no manager, ``enabled == False`` (1.x)."""
    instance.__dict__.pop("_nitro_manager", None)
    instance.enabled = False
