"""Discovery: register the plugins that installed distributions advertise
(without importing them) and the plugin classes that drop-in directories
define, and declare the events installed distributions publish.

These functions find plugins and hand them to the manager's public
registration methods; they read the plugin table and change it only
through its methods, and report through it.
"""

from __future__ import annotations

from ._admission import admits, metadata_verdict
from ._errors import NitroPluginError
from ._log import get_logger
from ._phases import CONFLICT, DISCOVERY, EVENT
from ._plugin import PluginBase, class_plugin_name
from ._source import PluginSource
from ._metadata import canonical_name

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional, Tuple

    from ._events import EventSpec
    from ._registry import HookRegistry
    from ._table import PluginTable

__all__ = ["discover_installed", "discover_dropins", "declare_installed", "installed_source"]

logger = get_logger("nitro_dispatch.manager")


def installed_source(item: Any) -> PluginSource:
    """The source record of a listed entry point."""
    return PluginSource("distribution", dist_name=item.dist_name,
                        dist_version=item.dist_version, path=item.location,
                        module=item.module, value=item.value)


def discover_installed(manager: Any, table: PluginTable, group: str) -> List[str]:
    """Register, without importing them, the plugins installed distributions
    advertise under ``group``; see
    :meth:`PluginManager.discover_installed_plugins`."""
    from ._distributions import list_with_index, load_entry_point
    from ._requirements import check_distributions

    index: List[Any] = []
    refused: List[Tuple[str, str, str, str]] = []
    found = list_with_index(group, None, index, refused)
    for dist_name, version, path, reason in refused:  # their plugins are never found
        table.report(None, DISCOVERY, "entry-points:" + path,
                     "distribution %s %s (%s): its plugins are never found: %s"
                     % (dist_name, version, path, reason),
                     PluginSource("distribution", dist_name=dist_name, dist_version=version,
                                  path=path))
    reports = check_distributions(found, index, manager.host)
    claims: Dict[str, List[Any]] = {}
    for item in found:  # names equal after canonicalization are one name
        claims.setdefault(canonical_name(item.name), []).append(item)
    registered: List[str] = []
    for items in claims.values():
        name = items[0].name
        if not all(admits(i.name, manager.allow_list, manager.block_list) for i in items):
            logger.info("installed plugin %r (%s) is not allowed here; skipped", name,
                        items[0].dist_name)
            continue
        if len(items) > 1:
            dists = ", ".join("%s %s" % (i.dist_name, i.dist_version) for i in items)
            spellings = sorted({i.name for i in items})
            if len(spellings) > 1:
                dists = ", ".join("%s %s as %r" % (i.dist_name, i.dist_version, i.name)
                                  for i in items)
                name = " / ".join(spellings)
            message = ("plugin %r is claimed by several distributions (%s); none of them "
                       "is loaded until only one remains" % (name, dists))
            table.mark_unavailable(spellings, message)
            table.report(items[0].name, CONFLICT, CONFLICT, message)
            continue
        item = items[0]
        source = installed_source(item)
        holder = table.find(name)
        if holder is not None:
            held = table.entry(holder).source
            if held != source:  # else: discovered before
                report_taken(table, name, source, held)
            continue
        manager.register_lazy(name, _bind(load_entry_point, item), source)
        table.set_source(table.entry(name), source, metadata_verdict(
            table, name, group, reports, item, source, verify=manager.verify_requirements,
            validate=manager.validate_metadata))
        registered.append(name)
    return registered


def report_taken(table: PluginTable, name: str, source: PluginSource,
                 holder: PluginSource) -> None:
    table.report(name, CONFLICT, "taken", "plugin %r from %s is ignored: the name is already "
                 "taken by %s" % (name, source.describe(), holder.describe()), source)


def discover_dropins(manager: Any, table: PluginTable, directory: Any, pattern: str,
                     recursive: bool) -> List[str]:
    """Register the plugin classes defined in a directory's matching files;
    see :meth:`PluginManager.discover_plugins`."""
    from ._dropin_files import find_plugin_files
    from ._dropins import import_dropin, plugin_classes

    _, files = find_plugin_files(directory, pattern, recursive)
    names: List[str] = []
    for path in files:
        try:
            module = import_dropin(path)
        except (Exception, SystemExit) as exc:  # sys.exit() in a file: its failure
            table.report(None, DISCOVERY, "file:" + path, "plugin file %s does not import: "
                         "%s: %s" % (path, type(exc).__name__, exc),
                         PluginSource("dropin", path=path), exc)
            continue
        for cls in plugin_classes(module, PluginBase):
            name = class_plugin_name(cls)
            source = PluginSource("dropin", path=path, module=module.__name__,
                                  value="%s:%s" % (module.__name__, cls.__qualname__))
            if not admits(name, manager.allow_list, manager.block_list):
                logger.info("drop-in plugin %r (%s) is not allowed here; skipped", name, path)
                continue
            holder = table.find(name)
            existing = table.entry(holder) if holder is not None else None
            if existing is not None and (existing.cls is cls or existing.source == source):
                continue  # this very file was discovered before
            if existing is not None:
                report_taken(table, name, source, existing.source)
                continue
            try:
                names.append(manager.register(cls, source=source))
            except NitroPluginError as exc:
                table.report(name, DISCOVERY, "register", "%s (in %s)" % (exc, path), source,
                             exc)
    return names


def declare_installed(registry: HookRegistry, table: PluginTable, group: str,
                      specs_of: Callable[[Any], List[EventSpec]],
                      host: Optional[str] = None) -> List[str]:
    """Declare the events that installed distributions publish under
    ``group`` (``specs_of`` reads a namespace's declarations); a
    declaration that does not import (``sys.exit()`` included) is reported
    through the problem log (phase "event", one record per declaration
    however often it fails) and the others still count.

    Precedence: what is already declared (the application's declarations
    in code) stands; then the ``host`` distribution's declarations are
    declared, then the others in sort order.  A namespace with a declaration
    that conflicts with one in force is reported, naming both origins, and
    not applied (a namespace is declared all or none).  See
    :meth:`PluginManager.declare_installed_events`."""
    from ._distributions import list_installed_plugins, load_entry_point

    items = list_installed_plugins(group)
    if host is not None:
        wanted = canonical_name(host)
        items = [item for item in items if canonical_name(item.dist_name) == wanted] + \
            [item for item in items if canonical_name(item.dist_name) != wanted]
    names: List[str] = []
    for item in items:
        origin = installed_source(item)
        what = "event declarations %r (%s) from %s" % (item.name, item.value, origin.describe())
        try:
            specs = specs_of(load_entry_point(item))
        except (Exception, SystemExit) as exc:  # sys.exit() in a module: its failure
            table.report(None, EVENT, "declarations:%s/%s" % (item.dist_name, item.name),
                         "%s cannot be used: %s: %s" % (what, type(exc).__name__, exc),
                         origin, exc)
            continue
        try:
            declared = registry.declare(specs, origin)
        except Exception as exc:  # a conflict: nothing of this namespace is applied
            table.report(None, EVENT, "declarations:%s/%s" % (item.dist_name, item.name),
                         "%s cannot be used: %s: %s" % (what, type(exc).__name__, exc),
                         origin, exc)
            continue
        names.extend(spec.name for spec in declared if spec.name not in names)
    return names


def _bind(func: Callable[[Any], Any], arg: Any) -> Callable[[], Any]:
    return lambda: func(arg)
