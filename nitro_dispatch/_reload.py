"""Hot reload with rollback: re-run a plugin's module from its source and
put the new class in service, or leave the previous one in service.

These functions are the manager's reload concern, kept apart from the
lifecycle in :mod:`._manager`; they work on a :class:`PluginManager`'s
entries under its lock.
"""

from __future__ import annotations

from types import ModuleType

from ._errors import DependencyError, NitroPluginError, PluginLoadError
from ._plugin import (PluginBase, class_plugin_name, parse_dependencies, validate_plugin_class,
                      version_of)
from ._service import out_of_service

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, List, Optional, Tuple, Type

    from ._manager import PluginManager, _Entry  # noqa: F401

__all__ = ["reload_plugin"]


def reload_plugin(manager: "PluginManager", name: str) -> PluginBase:
    """:meth:`PluginManager.reload` (its docstring says what a user sees).

    A class not reachable at module level by its qualified name (defined
    inside a function) has no source to re-run: the plugin is re-created
    from the same class (unloaded, then loaded as a new instance).

    An installed plugin's distribution is read again first, as installed
    now (version, entry-point value, location, Requires-Dist; see
    :func:`reread_metadata`): after ``pip install`` of another version the
    reloaded plugin has the new version, and loaded dependents are checked
    against it.
    """
    from ._dropins import install_module

    with manager._lock:
        entry = manager._entry(name)
        old_cls = manager._class_of(entry)
        old_version, old_requires = entry.version, entry.requires
        old_source, old_meta = entry.source, entry.meta
        module_name = old_cls.__module__
        path = entry.source.path if entry.source.kind == "dropin" else None
        where = path or "module " + module_name

        def restore() -> None:
            entry.cls, entry.version, entry.requires = old_cls, old_version, old_requires
            entry.source, entry.meta = old_source, old_meta

        try:
            if entry.source.kind == "distribution":
                module_name, path = reread_metadata(manager, entry)
                module, new_cls = reimport(manager, name, module_name, path, entry.validate)
            elif reachable(old_cls):
                module, new_cls = reimport(manager, name, module_name, path, entry.validate)
            else:  # defined in a function: re-create it from the same class (1.x)
                module, new_cls = None, old_cls
            entry.cls, entry.version = new_cls, version_of(new_cls, entry.source)
            # Before anything is unloaded: the new code's dependencies must
            # be met, and the new version must still suit the dependents.
            order, failures = manager._resolve(manager._closure([name]))
            if name in failures:
                raise failures[name]
            check_dependents_accept(manager, name, entry.version)
            for dep in order:  # new dependencies of the new code
                if dep != name and dep not in manager._loaded:
                    manager._load_one(manager._entries[dep])
        except BaseException as exc:  # sys.exit() in the new source included
            restore()
            if not isinstance(exc, (Exception, SystemExit)):
                raise  # KeyboardInterrupt: the old version is in service; go on up
            reason = str(exc) if isinstance(exc, NitroPluginError) else "%s: %s" % (
                type(exc).__name__, exc)
            error = PluginLoadError("plugin %r could not be reloaded from %s: %s"
                                    % (name, where, reason))
            manager._report(name, "reload", "%s; the previous version stays in service"
                            % (error,), entry.source, exc)
            raise error from exc
        old = entry.instance
        if old is None:
            try:
                instance = manager._load_one(entry)
            except BaseException as exc:
                restore()
                if isinstance(exc, PluginLoadError):
                    raise _reload_failed(manager, name, entry, exc) from (exc.__cause__ or exc)
                raise
            if module is not None:
                install_module(module)
            return instance
        # The old instances leave (on_unload, dependents first) while their
        # hooks still serve; then each new instance's hooks take the place
        # of the old one's in one step (a concurrent trigger runs either),
        # the plugin first, then its dependents in load order.
        dependents = manager._dependents(name)
        retired: List[str] = []  # the dependents to renew, whatever happens
        try:
            for dependent in dependents:
                retire(manager, dependent)
                retired.append(dependent)
            retire(manager, name)
            try:
                instance = manager._load_one(entry, replacing=old)
            except BaseException as exc:
                restore()  # _load_one left the old hooks in service
                comeback = reinstate(manager, name, old)
                if isinstance(exc, PluginLoadError):
                    comeback = comeback or _reload_failed(manager, name, entry, exc)
                    raise comeback from (exc.__cause__ or exc)
                raise
            if module is not None:
                install_module(module)
            return instance
        finally:
            for dependent in reversed(retired):
                renew(manager, dependent)


def _reload_failed(manager: "PluginManager", name: str, entry: "_Entry",
                   exc: PluginLoadError) -> PluginLoadError:
    manager._report(name, "reload", "plugin %r: reload failed, the previous "
                    "version stays in service: %s" % (name, exc), entry.source, exc)
    return PluginLoadError("plugin %r could not be reloaded: %s" % (name, exc))


def retire(manager: "PluginManager", name: str) -> None:
    """Run the loaded plugin's ``on_unload`` (its hooks stay for now); an
    error or ``SystemExit`` there is reported, and the reload goes on."""
    entry = manager._entries[name]
    instance = entry.instance
    if instance is None:
        return
    entry.enabled = instance.enabled  # the wanted state, for the new instance
    try:
        instance.on_unload()
    except (Exception, SystemExit) as exc:
        manager._report(name, "unload", "plugin %r: on_unload raised %s: %s"
                        % (name, type(exc).__name__, exc), entry.source, exc)


def reinstate(manager: "PluginManager", name: str,
              old: PluginBase) -> Optional[PluginLoadError]:
    """Bring ``old`` (retired, its hooks back in service) back to life by
    running its ``on_load`` again.  If that fails, ``old`` is unloaded and
    the error returned (``KeyboardInterrupt`` propagates, after unloading)."""
    entry = manager._entries[name]
    old.enabled = entry.enabled
    try:
        old.on_load()
    except BaseException as exc:
        manager.hooks.unregister_plugin(old)
        manager._loaded.pop(name, None)
        entry.instance = None
        out_of_service(old)
        manager._emit(manager.EVENT_PLUGIN_UNLOADED, {"plugin_name": name})
        if not isinstance(exc, (Exception, SystemExit)):
            raise
        error = PluginLoadError("plugin %r: the previous version could not be put back "
                                "either (%s: %s); it is unloaded" % (name, type(exc).__name__,
                                                                     exc))
        manager._report(name, "reload", str(error), entry.source, exc)
        return error
    # on_load ran again, so historic events are replayed again, as at a load.
    from ._events import replay

    replay(manager.hooks, [rec for recs in manager.hooks.get_tables() for rec in recs
                           if rec.plugin is old])
    return None


def renew(manager: "PluginManager", name: str) -> None:
    """Replace a retired dependent by a new instance of its class, hooks
    swapped in one step; if that fails (reported), the dependent is
    unloaded."""
    entry = manager._entries[name]
    old = entry.instance
    if old is None:
        return
    try:
        manager._load_one(entry, replacing=old)
    except PluginLoadError:
        # Reported by _load_one; the old instance already left (on_unload).
        manager.hooks.unregister_plugin(old)
        manager._loaded.pop(name, None)
        entry.instance = None
        out_of_service(old)
        manager._emit(manager.EVENT_PLUGIN_UNLOADED, {"plugin_name": name})
    except BaseException:
        manager.hooks.unregister_plugin(old)
        manager._loaded.pop(name, None)
        entry.instance = None
        out_of_service(old)
        raise


def reread_metadata(manager: "PluginManager", entry: "_Entry") -> Tuple[str, Optional[str]]:
    """Read an installed plugin's distribution again, as installed now, and
    put its source and metadata verdict on ``entry``; return the module to
    import and its source file (``None``: let the import system find it).

    Raises :class:`PluginLoadError` when the plugin is no longer installed
    or is claimed twice, and the metadata verdict's error when the new
    distribution is refused (incompatible, say)."""
    import importlib

    from ._discovery import metadata_verdict
    from ._distributions import _list_installed, _normalize
    from ._requirements import check_distributions
    from ._source import PluginSource

    name = entry.name
    group = entry.meta.group if entry.meta is not None else manager.entry_point_group
    index: List[Any] = []
    found = _list_installed(group, None, index)
    items = [i for i in found if _normalize(i.name) == _normalize(name)]
    if not items:
        raise PluginLoadError("plugin %r is no longer installed (entry-point group %r)"
                              % (name, group))
    if len(items) > 1:
        raise PluginLoadError("plugin %r is now claimed by several distributions (%s)"
                              % (name, ", ".join("%s %s" % (i.dist_name, i.dist_version)
                                                 for i in items)))
    item = items[0]
    reports = check_distributions(found, index, manager.host)
    entry.source = PluginSource("distribution", dist_name=item.dist_name,
                                dist_version=item.dist_version, path=item.location,
                                module=item.module, value=item.value)
    entry.meta = metadata_verdict(manager, name, group, reports, item, entry.source)
    if entry.meta.blocked is not None:
        raise entry.meta.blocked
    importlib.invalidate_caches()  # pip may have added files the finders have not seen
    return item.module, _module_file(item.module)


def _module_file(module_name: str) -> Optional[str]:
    """Where the import system would find ``module_name``'s source now
    (ignoring ``sys.modules``): a reinstall may have moved it."""
    import sys
    from importlib.machinery import PathFinder

    parent, _, _ = module_name.rpartition(".")
    search = None
    if parent:
        package = sys.modules.get(parent)
        search = list(getattr(package, "__path__", None) or []) or None
        if search is None:
            return None
    spec = PathFinder.find_spec(module_name, search)
    origin = spec.origin if spec is not None else None
    return origin if origin and origin.endswith(".py") else None


def check_dependents_accept(manager: "PluginManager", name: str, version: Optional[str]) -> None:
    """Raise :class:`DependencyError` if a loaded plugin's requirement on
    ``name`` (in its class or its distribution's metadata) does not admit
    ``version`` (an installed plugin's distribution version)."""
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    from ._resolution import dependency_version, meta_requirements

    version = dependency_version(manager._entries[name])
    wanted = canonicalize_name(name)
    for other in manager._dependents(name):
        other_entry = manager._entries[other]
        for req in meta_requirements(other_entry) + parse_dependencies(
                manager._class_of(other_entry), other):
            if canonicalize_name(req.name) != wanted or not req.specifier:
                continue
            if req.marker is not None and not req.marker.evaluate():
                continue
            try:
                ok = req.specifier.contains(Version(version or "0"), prereleases=True)
            except ValueError:  # InvalidVersion, or past int()'s digit limit
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
