"""Hot reload as one transaction over the plugin table: re-run a plugin's
module from its source and put the new class in service, or leave the
previous one in service exactly as it was.

:class:`Reload` holds what the transaction may change (the entry's class,
version, source, metadata verdict and requirements, snapshotted first) and
changes the table only through its methods.  The steps: read the source
again (an installed plugin's distribution first), check the new code's
dependencies and that loaded dependents still accept its version, load new
dependencies, retire the old instances (``on_unload``, dependents first,
their hooks still serving), swap each old instance's hooks for the new
one's in one registry step, and renew the dependents.  Any failure puts the
snapshot back and the old hooks stay (or come back) in service once.
"""

from __future__ import annotations

from types import ModuleType

from ._admission import Refused, import_class, load_plugin
from ._discovery import installed_source
from ._errors import DependencyError, NitroPluginError, PluginLoadError
from ._events import replay
from ._interrupts import InterruptsHeld
from ._phases import RELOAD, UNLOAD
from ._plugin import (PluginBase, class_plugin_name, parse_dependencies, validate_plugin_class,
                      version_of)
from ._resolution import closure, dependency_version, meta_requirements, resolve

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, List, Optional, Tuple, Type

    from ._table import Entry, PluginTable

__all__ = ["Reload"]


class Reload:
    """One reload of plugin ``name`` of ``manager`` (whose table is
    ``table``, its lock held by the caller)."""

    def __init__(self, manager: Any, table: PluginTable, name: str) -> None:
        self.manager = manager
        self.table = table
        self.name = name
        self.entry = table.entry(name)
        self.snapshot = table.snapshot(self.entry)
        self.held = InterruptsHeld()

    def run(self) -> PluginBase:
        """:meth:`PluginManager.reload` (its docstring says what a user sees).

        A class not reachable at module level by its qualified name (defined
        inside a function) has no source to re-run: the plugin is re-created
        from the same class (unloaded, then loaded as a new instance).

        A Ctrl-C is held through the bookkeeping and passes only while
        plugin code runs (the module's source, ``on_unload``, ``on_load``):
        the transaction then puts everything back as for any failure, and
        the ``KeyboardInterrupt`` goes on up once the table and the hooks
        agree again.
        """
        with self.held:
            return self._run()

    def _run(self) -> PluginBase:
        from ._dropins import install_module

        table, entry, name = self.table, self.entry, self.name
        installed = entry.source.kind == "distribution"
        old_cls = entry.cls if installed else self._class(entry)
        module_name = old_cls.__module__ if old_cls is not None else str(entry.source.module)
        path = entry.source.path if entry.source.kind == "dropin" else None
        where = path or "module " + module_name
        module: Optional[ModuleType]
        try:
            if installed:
                module_name, path = self._reread_metadata()
                module, new_cls = self._reimport(module_name, path)
            elif old_cls is not None and reachable(old_cls):
                module, new_cls = self._reimport(module_name, path)
            else:  # defined in a function: re-create it from the same class (1.x)
                assert old_cls is not None
                module, new_cls = None, old_cls
            table.set_class(entry, new_cls, version_of(new_cls, entry.source))
            # Before anything is unloaded: the new code's dependencies must
            # be met, and the new version must still suit the dependents.
            validate = self.manager.validate_metadata
            order, failures = resolve(table, closure(table, [name], validate), validate)
            if name in failures:
                raise failures[name].error
            self._check_dependents_accept()
            for dep in order:  # new dependencies of the new code
                if dep != name and not table.is_loaded(dep):
                    self._put_in_service(table.entry(dep), None)
        except BaseException as exc:  # sys.exit() in the new source included
            table.restore(entry, self.snapshot)
            if not isinstance(exc, (Exception, SystemExit)):
                raise  # KeyboardInterrupt: the old version is in service; go on up
            reason = str(exc) if isinstance(exc, NitroPluginError) else "%s: %s" % (
                type(exc).__name__, exc)
            error = PluginLoadError("plugin %r could not be reloaded from %s: %s"
                                    % (name, where, reason))
            # One record per kind of cause: retries of the same broken edit
            # count on it, a different failure gets its own.
            table.report(name, RELOAD, "reload:" + type(exc).__name__, "%s; the previous "
                         "version stays in service" % (error,), entry.source, exc)
            raise error from exc
        old = entry.instance
        if old is None:
            try:
                instance = self._put_in_service(entry, None)
            except BaseException as exc:
                table.restore(entry, self.snapshot)
                if isinstance(exc, PluginLoadError):
                    raise self._failed(exc) from (exc.__cause__ or exc)
                raise
            if module is not None:
                install_module(module)
            return instance
        # The old instances leave (on_unload, dependents first) while their
        # hooks still serve; then each new instance's hooks take the place
        # of the old one's in one step (a concurrent trigger runs either),
        # the plugin first, then its dependents in load order.
        retired: List[str] = []  # the dependents to renew, whatever happens
        try:
            for dependent in table.dependents(name):
                self._retire(dependent)
                retired.append(dependent)
            self._retire(name)
            try:
                instance = self._put_in_service(entry, old)
            except BaseException as exc:
                table.restore(entry, self.snapshot)  # the old hooks are in service
                comeback = self._reinstate(old)
                if isinstance(exc, PluginLoadError):
                    comeback = comeback or self._failed(exc)
                    raise comeback from (exc.__cause__ or exc)
                raise
            if module is not None:
                install_module(module)
            return instance
        finally:
            self._renew_all(list(reversed(retired)))

    def _renew_all(self, names: List[str]) -> None:
        """:meth:`_renew` each retired dependent, in load order, all of them
        even when one is interrupted (Ctrl-C in its ``on_load``): that one is
        out of service, so are the ones that need it, and the first
        ``KeyboardInterrupt`` goes on up afterwards."""
        interrupted: Optional[BaseException] = None
        for name in names:
            try:
                self._renew(name)
            except BaseException as exc:
                interrupted = interrupted or exc
        if interrupted is not None:
            raise interrupted

    # -- steps ---------------------------------------------------------------------

    def _class(self, entry: Entry) -> Type[PluginBase]:
        """The entry's class (stage 2 of the admission pipeline)."""
        try:
            return import_class(self.table, entry, self.manager.validate_metadata)
        except Refused as exc:
            raise exc.refusal.error from exc.refusal.error.__cause__

    def _put_in_service(self, entry: Entry, replacing: Optional[PluginBase]) -> PluginBase:
        manager = self.manager
        return load_plugin(self.table, manager.hooks, manager, entry,
                           validate_metadata=manager.validate_metadata,
                           strict_events=manager.strict_events, replacing=replacing)

    def _failed(self, exc: PluginLoadError) -> PluginLoadError:
        name = self.name
        self.table.report(name, RELOAD, "reload:load", "plugin %r: reload failed, the previous "
                          "version stays in service: %s" % (name, exc), self.entry.source, exc)
        return PluginLoadError("plugin %r could not be reloaded: %s" % (name, exc))

    def _retire(self, name: str) -> None:
        """Run the loaded plugin's ``on_unload`` (its hooks stay for now); an
        error or ``SystemExit`` there is reported, and the reload goes on."""
        table = self.table
        entry = table.entry(name)
        instance = entry.instance
        if instance is None:
            return
        table.keep_enabled(entry)  # the wanted state, for the new instance
        try:
            with self.held.open():
                instance.on_unload()
        except (Exception, SystemExit) as exc:
            table.report(name, UNLOAD, "on_unload", "plugin %r: on_unload raised %s: %s"
                         % (name, type(exc).__name__, exc), entry.source, exc)

    def _reinstate(self, old: PluginBase) -> Optional[PluginLoadError]:
        """Bring ``old`` (retired, its hooks back in service) back to life by
        running its ``on_load`` again.  If that fails, ``old`` is taken out
        of service and the error returned (``KeyboardInterrupt`` propagates,
        after that)."""
        table, name = self.table, self.name
        old.enabled = self.entry.enabled
        try:
            with self.held.open():
                old.on_load()
        except BaseException as exc:
            table.take_out_of_service(name)
            if not isinstance(exc, (Exception, SystemExit)):
                raise
            error = PluginLoadError("plugin %r: the previous version could not be put back "
                                    "either (%s: %s); it is unloaded"
                                    % (name, type(exc).__name__, exc))
            table.report(name, RELOAD, "reinstate", str(error), self.entry.source, exc)
            return error
        # on_load ran again, so historic events are replayed again, as at a load.
        registry = self.manager.hooks
        replay(registry, [rec for recs in registry.get_tables() for rec in recs
                          if rec.plugin is old])
        return None

    def _renew(self, name: str) -> None:
        """Replace a retired dependent by a new instance of its class, hooks
        swapped in one step; if that fails (reported), the dependent is
        taken out of service."""
        table = self.table
        entry = table.entry(name)
        old = entry.instance
        if old is None:
            return
        if not all(table.is_loaded(dep) for dep in entry.requires):
            table.take_out_of_service(name)  # a dependency did not come back (Ctrl-C)
            return
        try:
            self._put_in_service(entry, old)
        except PluginLoadError:  # reported; the old instance already left (on_unload)
            table.take_out_of_service(name)
        except BaseException:
            table.take_out_of_service(name, announce=False)
            raise

    def _reread_metadata(self) -> Tuple[str, Optional[str]]:
        """Read an installed plugin's distribution again, as installed now,
        and put its source and metadata verdict on the entry; return the
        module to import and its source file (``None``: let the import
        system find it).

        Raises :class:`PluginLoadError` when the plugin is no longer
        installed or is claimed twice, and the metadata verdict's error when
        the new distribution is refused (incompatible, say)."""
        import importlib

        from ._admission import metadata_verdict
        from ._distributions import list_with_index
        from ._requirements import check_distributions
        from ._metadata import canonical_name

        table, entry, name, manager = self.table, self.entry, self.name, self.manager
        group = entry.meta.group if entry.meta is not None else manager.entry_point_group
        index: List[Any] = []
        found = list_with_index(group, None, index)
        items = [i for i in found if canonical_name(i.name) == canonical_name(name)]
        if not items:
            raise PluginLoadError("plugin %r is no longer installed (entry-point group %r)"
                                  % (name, group))
        if len(items) > 1:
            raise PluginLoadError("plugin %r is now claimed by several distributions (%s)"
                                  % (name, ", ".join("%s %s" % (i.dist_name, i.dist_version)
                                                     for i in items)))
        item = items[0]
        reports = check_distributions(found, index, manager.host)
        source = installed_source(item)
        meta = metadata_verdict(table, name, group, reports, item, source,
                                verify=manager.verify_requirements,
                                validate=manager.validate_metadata)
        table.set_source(entry, source, meta)
        if meta.blocked is not None:
            raise meta.blocked
        importlib.invalidate_caches()  # pip may have added files the finders have not seen
        return item.module, _module_file(item.module)

    def _check_dependents_accept(self) -> None:
        """Raise :class:`DependencyError` if a loaded plugin's requirement on
        the plugin (in its class or its distribution's metadata) does not
        admit its new version (an installed plugin's distribution
        version)."""
        from packaging.version import Version

        from ._metadata import canonical_name

        table, name = self.table, self.name
        version = dependency_version(self.entry)
        wanted = canonical_name(name)
        for other in table.dependents(name):
            other_entry = table.entry(other)
            for req in meta_requirements(other_entry) + parse_dependencies(
                    self._class(other_entry), other):
                if canonical_name(req.name) != wanted or not req.specifier:
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

    def _reimport(self, module_name: str, path: Optional[str]
                  ) -> Tuple[ModuleType, Type[PluginBase]]:
        """Run the module's current source (not yet installed in
        ``sys.modules``) and find the plugin class in it."""
        from ._dropins import fresh_module, plugin_classes

        name = self.name
        if module_name == "__main__":
            raise PluginLoadError("plugin %r is defined in __main__, which cannot be reloaded"
                                  % (name,))
        with self.held.open():  # the plugin's source runs
            module = fresh_module(module_name, path)
        for cls in plugin_classes(module, PluginBase):
            if class_plugin_name(cls) == name:
                if self.manager.validate_metadata and self.entry.validate:
                    validate_plugin_class(cls, name)
                return module, cls
        raise PluginLoadError("plugin %r: module %s no longer defines it"
                              % (name, module_name))


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
