"""What ``nitro-dispatch info`` and ``check`` say about a plugin: the
library half of describing it.

Given a :class:`PluginManager` whose plugins are registered, these gather
plain data (dicts, label and value pairs, one-line messages) about a
plugin's dependencies (each checked against the plugins found), hooks and
source; the CLI only renders them.  Imported on demand, never with
``nitro_dispatch``.
"""

from __future__ import annotations

from ._errors import NitroPluginError
from ._version import DEFAULT_VERSION
from ._source import PluginProblem

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Tuple, Type

    from ._manager import PluginManager
    from ._plugin import PluginBase
    from ._source import PluginSource

__all__ = ["describe_plugin", "describe_dependency", "describe_hooks", "source_fields",
           "format_problem", "one_line"]


def one_line(text: str) -> str:
    """``text`` with its lines joined by single spaces, blank lines dropped."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def format_problem(problem: PluginProblem) -> str:
    """One line: the plugin, where it comes from, what is wrong.

    The library's messages start with ``plugin 'x' from <source>``; that
    becomes the line's prefix ``x (<source>): ``.

    >>> from nitro_dispatch import PluginProblem, PluginSource
    >>> source = PluginSource("dropin", path="/d/x_plugin.py")
    >>> print(format_problem(PluginProblem("x", "import", "plugin 'x' from file "
    ...                                    "/d/x_plugin.py: no module named 'y'", source)))
    x (file /d/x_plugin.py): no module named 'y'
    """
    message = one_line(problem.message)
    source = problem.source
    where = source.describe() if source is not None else None
    if problem.plugin is None:
        path = source.path if source is not None else None
        if where is None or (path and path in message):
            return message
        return "%s: %s" % (where, message)
    rest = message
    lead = "plugin %r" % (problem.plugin,)
    while rest.startswith(lead):  # wrapped errors may repeat it: "plugin 'x' in f: plugin 'x': .."
        rest = rest[len(lead):].lstrip()
        for filler in ("from %s" % (where,), "(%s)" % (where,),
                       "in %s" % (source.path if source else None,)):
            if rest.startswith(filler):
                rest = rest[len(filler):]
                break
        rest = rest.lstrip(" :,")
    rest = rest or message
    return "%s%s: %s" % (problem.plugin, " (%s)" % where if where else "", rest)


def describe_dependency(manager: PluginManager, text: Any) -> Dict[str, Any]:
    """One requirement and whether the plugins found satisfy it."""
    from packaging.requirements import InvalidRequirement, Requirement
    from ._metadata import canonical_name
    from packaging.version import Version

    result: Dict[str, Any] = {"requirement": str(text), "status": "", "satisfied": False,
                              "found": None, "found_version": None, "detail": ""}
    try:
        req = Requirement(str(text))
    except InvalidRequirement:
        result.update(status="invalid", detail="not a valid PEP 508 requirement")
        return result
    if req.marker is not None and not req.marker.evaluate():
        result.update(status="ignored", satisfied=True,
                      detail="not needed here: its environment marker is false")
        return result
    wanted = canonical_name(req.name)
    targets = [n for n in manager.get_registered_plugins() if canonical_name(n) == wanted]
    if not targets:
        result.update(status="missing", detail="no plugin named %r is installed" % (req.name,))
        return result
    target = targets[0]
    where = manager.get_plugin_source(target).describe()
    result["found"] = target
    try:
        manager.get_plugin_class(target)
    except NitroPluginError as exc:
        problem = PluginProblem(target, "import", str(exc), manager.get_plugin_source(target))
        result.update(status="broken", detail=format_problem(problem))
        return result
    version = manager.get_plugin_version(target) or DEFAULT_VERSION
    result["found_version"] = version
    try:
        ok = not req.specifier or req.specifier.contains(Version(version), prereleases=True)
    except ValueError:  # InvalidVersion, or past int()'s digit limit
        ok = False
    found = "%s %s from %s" % (target, version, where)
    if ok:
        result.update(status="ok", satisfied=True, detail=found)
    else:
        result.update(status="unsatisfied", detail="found %s" % (found,))
    return result


def describe_hooks(cls: Type[PluginBase], declared: Optional[Dict[str, Any]] = None,
                   name: Optional[str] = None) -> List[Dict[str, Any]]:
    """The class's ``@hook`` methods: event, priority, timeout, async,
    wrapper, method, and ``problem``: when events are ``declared``, why a
    hook on an undeclared one does not conform (with "did you mean", as
    ``check`` says it), else ``None``."""
    from ._events import is_declared, undeclared_message
    from ._hooks import is_async_callable

    hooks = []
    for method, spec in cls.nitro_hook_specs():
        is_async = bool(spec.async_hook) or is_async_callable(getattr(cls, method, None))
        problem = None
        if declared and not is_declared(spec.event, declared):
            problem = undeclared_message(spec.event, "plugin %r" % (name or cls.__name__,),
                                         declared)
        hooks.append({"event": spec.event, "priority": spec.priority,
                      "timeout": spec.timeout, "async": is_async,
                      "wrapper": bool(spec.wrapper), "method": method, "problem": problem})
    return hooks


def source_fields(source: PluginSource, group: str) -> List[Tuple[str, str]]:
    """Where the plugin comes from, as ``(label, value)`` pairs
    (``group``: the entry-point group it was read from)."""
    if source.kind == "distribution":
        lines = [("Source", "distribution %s %s" % (source.dist_name, source.dist_version)),
                 ("Entry point", "%s (group %s)" % (source.value, group))]
        if source.path:
            lines.append(("Location", source.path))
        return lines
    if source.kind == "dropin":
        lines = [("Source", "drop-in file %s" % (source.path,))]
        if source.value:
            lines.append(("Class", source.value.rpartition(":")[2]))
        return lines
    return [("Source", source.describe())]


def describe_plugin(manager: PluginManager, name: str, cls: Type[PluginBase]
                    ) -> Dict[str, Any]:
    """What ``info --json`` prints for the registered plugin ``name``, whose
    class ``cls`` is imported."""
    return {
        "name": name,
        "version": manager.get_plugin_version(name),
        "description": str(getattr(cls, "description", "") or ""),
        "author": str(getattr(cls, "author", "") or ""),
        "source": manager.get_plugin_source(name).as_dict(),
        "dependencies": [describe_dependency(manager, d)
                         for d in (getattr(cls, "dependencies", None) or [])],
        "hooks": describe_hooks(cls, manager.get_event_specs(), name),
        "error": None,
    }
