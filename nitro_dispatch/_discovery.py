"""Discovery: register the plugins that installed distributions advertise
and the plugin classes that drop-in directories define.

These functions are the manager's discovery concern, kept apart from the
lifecycle in :mod:`._manager`; they register what they find through the
manager's own ``register``/``register_lazy`` and report through it.
"""

from __future__ import annotations

from ._errors import NitroPluginError
from ._manager import _canonical, logger
from ._plugin import PluginBase, class_plugin_name
from ._source import PluginSource

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List

    from ._manager import PluginManager
    from ._requirements import PluginMeta

__all__ = ["discover_installed", "discover_dropins", "metadata_verdict", "admits"]


def discover_installed(manager: "PluginManager", group: str) -> List[str]:
    """Register, without importing them, the plugins installed distributions
    advertise under ``group``; see
    :meth:`PluginManager.discover_installed_plugins`."""
    from ._distributions import _list_installed, load_entry_point
    from ._requirements import check_distributions

    index: List[Any] = []
    found = _list_installed(group, None, index)
    reports = check_distributions(found, index, manager.host)
    claims: Dict[str, List[Any]] = {}
    for item in found:  # names equal after canonicalization are one name
        claims.setdefault(_canonical(item.name), []).append(item)
    registered: List[str] = []
    for canon, items in claims.items():
        name = items[0].name
        if not all(admits(manager, i.name) for i in items):
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
            for spelling in spellings:
                manager._unavailable[spelling] = message
            manager._report(items[0].name, "conflict", message, None, None)
            continue
        item = items[0]
        source = PluginSource("distribution", dist_name=item.dist_name,
                              dist_version=item.dist_version, path=item.location,
                              module=item.module, value=item.value)
        holder = manager._canonical.get(canon)
        if holder is not None and holder in manager._entries:
            if manager._entries[holder].source != source:  # else: discovered before
                manager._report_taken(name, source, manager._entries[holder].source)
            continue
        manager.register_lazy(name, _bind(load_entry_point, item), source)
        manager._entries[name].meta = metadata_verdict(manager, name, group, reports, item,
                                                       source)
        registered.append(name)
    return registered


def metadata_verdict(manager: "PluginManager", name: str, group: str, reports: Dict[str, Any],
                     item: Any, source: PluginSource) -> PluginMeta:
    """Report what ``item``'s distribution metadata says about the plugin
    (``reports``: :func:`check_distributions` of its group); the record
    says whether its load is refused without importing it."""
    from ._requirements import PluginMeta, plugin_findings

    report = reports[_canonical(item.dist_name)]
    meta = PluginMeta(group, report, reports)
    findings, meta.blocked, meta.phase = plugin_findings(
        name, report, verify=manager.verify_requirements, validate=manager.validate_metadata)
    for phase, message in findings:
        manager._report(name, phase, message, source, None)
    return meta


def admits(manager: "PluginManager", name: str) -> bool:
    """Allowed and not blocked; list names compare canonically."""
    block_list, allow_list = manager.block_list, manager.allow_list
    if allow_list is None and not block_list:
        return True  # no lists: the common case costs nothing
    canon = _canonical(name)
    if name in block_list or any(_canonical(b) == canon for b in block_list):
        return False
    return allow_list is None or name in allow_list or \
        any(_canonical(a) == canon for a in allow_list)


def discover_dropins(manager: "PluginManager", directory: Any, pattern: str,
                     recursive: bool) -> List[str]:
    """Register the plugin classes defined in a directory's matching files;
    see :meth:`PluginManager.discover_plugins`."""
    from ._dropins import find_plugin_files, import_dropin, plugin_classes

    _, files = find_plugin_files(directory, pattern, recursive)
    names: List[str] = []
    for path in files:
        try:
            module = import_dropin(path)
        except (Exception, SystemExit) as exc:  # sys.exit() in a file: its failure
            manager._report(None, "discovery", "plugin file %s does not import: %s: %s"
                            % (path, type(exc).__name__, exc),
                            PluginSource("dropin", path=path), exc)
            continue
        for cls in plugin_classes(module, PluginBase):
            name = class_plugin_name(cls)
            source = PluginSource("dropin", path=path, module=module.__name__,
                                  value="%s:%s" % (module.__name__, cls.__qualname__))
            if not admits(manager, name):
                logger.info("drop-in plugin %r (%s) is not allowed here; skipped", name, path)
                continue
            existing = manager._entries.get(manager._canonical.get(_canonical(name), name))
            if existing is not None and (existing.cls is cls or existing.source == source):
                continue  # this very file was discovered before
            if existing is not None:
                manager._report_taken(name, source, existing.source)
                continue
            try:
                names.append(manager._register_class(cls, name, source))
            except NitroPluginError as exc:
                manager._report(name, "discovery", "%s (in %s)" % (exc, path), source, exc)
    return names


def _bind(func: Callable[[Any], Any], arg: Any) -> Callable[[], Any]:
    return lambda: func(arg)
