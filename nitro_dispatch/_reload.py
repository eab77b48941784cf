"""Hot reload with rollback: re-run a plugin's module from its source and
put the new class in service, or leave the previous one in service.

These functions are the manager's reload concern, kept apart from the
lifecycle in :mod:`._manager`; they work on a :class:`PluginManager`'s
entries under its lock.
"""

from __future__ import annotations

from types import ModuleType

from ._errors import DependencyError, NitroPluginError, PluginLoadError
from ._manager import version_of
from ._plugin import PluginBase, class_plugin_name, parse_dependencies, validate_plugin_class

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, Tuple, Type

    from ._manager import PluginManager  # noqa: F401

__all__ = ["reload_plugin"]


def reload_plugin(manager: "PluginManager", name: str) -> PluginBase:
    """Re-import the plugin's module from its source on disk and load
    the new class in place of the old one.

    Works for drop-ins, installed distributions and classes from any
    importable module (not ``__main__``).  Only the module that defines
    the class is re-executed; modules it imports are not.  The plugin's
    enabled state is kept, and the loaded plugins that depend on it are
    unloaded and loaded again, so none keeps the old instance.

    If the new source fails to import, no longer defines the plugin, or
    its ``on_load`` raises, the previous class and instance are back in
    service and :class:`PluginLoadError` is raised with the cause.

    A class not reachable at module level by its qualified name (defined
    inside a function) has no source to re-run: the plugin is re-created
    from the same class (unloaded, then loaded as a new instance).
    """
    from ._dropins import install_module

    with manager._lock:
        entry = manager._entry(name)
        old_cls = manager._class_of(entry)
        old_version, old_requires = entry.version, entry.requires
        module_name = old_cls.__module__
        path = entry.source.path if entry.source.kind == "dropin" else None
        try:
            if reachable(old_cls):
                module, new_cls = reimport(manager, name, module_name, path,
                                           entry.validate)
            else:  # defined in a function: re-create it from the same class (1.x)
                module, new_cls = None, old_cls
            entry.cls, entry.version = new_cls, version_of(new_cls, entry.source)
            # Before anything is unloaded: the new code's dependencies must
            # be met, and the new version must still suit the dependents.
            order, failures = manager._resolve(manager._closure([name]))
            if name in failures:
                raise failures[name]
            check_dependents_accept(manager, name, entry.version)
        except Exception as exc:
            entry.cls, entry.version, entry.requires = old_cls, old_version, old_requires
            reason = str(exc) if isinstance(exc, NitroPluginError) else "%s: %s" % (
                type(exc).__name__, exc)
            error = PluginLoadError("plugin %r could not be reloaded from %s: %s"
                                    % (name, path or "module " + module_name, reason))
            manager._report(name, "reload", "%s; the previous version stays in service"
                            % (error,), entry.source, exc)
            raise error from exc
        for dep in order:  # new dependencies of the new code
            if dep != name and dep not in manager._loaded:
                manager._load_one(manager._entries[dep])
        old = entry.instance
        dependents = manager._dependents(name) if old is not None else []
        for dependent in dependents:
            manager._unload_one(dependent)
        if old is not None:
            manager._unload_one(name)
        try:
            instance = manager._load_one(entry)
            if module is not None:
                install_module(module)
            return instance
        except PluginLoadError as exc:
            entry.cls, entry.version, entry.requires = old_cls, old_version, old_requires
            if old is not None:
                old.enabled = entry.enabled
                manager._attach(entry, old)  # the previous version, back in service
            manager._report(name, "reload", "plugin %r: reload failed, the previous "
                            "version stays in service: %s" % (name, exc), entry.source, exc)
            raise PluginLoadError("plugin %r could not be reloaded: %s"
                                  % (name, exc)) from (exc.__cause__ or exc)
        finally:
            for dependent in reversed(dependents):
                try:
                    manager._load_one(manager._entries[dependent])
                except PluginLoadError:
                    pass  # reported by _load_one


def check_dependents_accept(manager: "PluginManager", name: str, version: Optional[str]) -> None:
    """Raise :class:`DependencyError` if a loaded plugin's requirement on
    ``name`` does not admit ``version``."""
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version

    wanted = canonicalize_name(name)
    for other in manager._dependents(name):
        for req in parse_dependencies(manager._class_of(manager._entries[other]), other):
            if canonicalize_name(req.name) != wanted or not req.specifier:
                continue
            if req.marker is not None and not req.marker.evaluate():
                continue
            try:
                ok = req.specifier.contains(Version(version or "0"), prereleases=True)
            except InvalidVersion:
                ok = False
            if not ok:
                raise DependencyError("reloading plugin %r as version %s would break "
                                      "plugin %r, which requires %r"
                                      % (name, version, other, str(req)))


def reachable(cls: type) -> bool:
    """Whether re-running its module can find ``cls`` again: its module,
    as imported now, has a class at ``cls.__qualname__`` (``cls`` itself,
    or its successor after a reload of a neighbour).  A class made inside a
    function is not reachable.  A module not imported now counts as
    reachable: its source decides."""
    import sys

    obj: object = sys.modules.get(cls.__module__)
    if obj is None:
        return True
    for part in cls.__qualname__.split("."):
        obj = getattr(obj, part, None)
    return isinstance(obj, type)


def reimport(manager: "PluginManager", name: str, module_name: str,
             path: Optional[str], validate: bool = True) -> Tuple[ModuleType, Type[PluginBase]]:
    """Run the module's current source (not yet installed in
    ``sys.modules``) and find the plugin class in it."""
    from ._dropins import fresh_module, plugin_classes

    if module_name == "__main__":
        raise PluginLoadError("plugin %r is defined in __main__, which cannot be reloaded"
                              % (name,))
    module = fresh_module(module_name, path)
    for cls in plugin_classes(module, PluginBase):
        if class_plugin_name(cls) == name:
            if manager.validate_metadata and validate:
                validate_plugin_class(cls, name)
            return module, cls
    raise PluginLoadError("plugin %r: module %s no longer defines it"
                          % (name, module_name))
