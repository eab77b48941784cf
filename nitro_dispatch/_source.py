"""Records at the bottom of the house: where a registered plugin came from
(:class:`PluginSource`), what went wrong with it (:class:`PluginProblem`),
and the default entry-point group (:data:`DEFAULT_GROUP`).

Sources (installed distributions, drop-in directories, explicit
registration) describe plugins with these records; the problem log keeps
the problems and the CLI prints them.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Dict, Optional

__all__ = ["PluginSource", "PluginProblem", "DEFAULT_GROUP"]

#: The entry-point group plugins are advertised under, unless an application
#: chooses its own.
DEFAULT_GROUP = "nitro_dispatch.plugins"


class PluginSource:
    """``kind`` is "class" (registered in code), "distribution" (an entry
    point of an installed distribution) or "dropin" (a file in a directory)."""

    __slots__ = ("kind", "dist_name", "dist_version", "path", "module", "value")

    def __init__(self, kind: str, *, dist_name: Optional[str] = None,
                 dist_version: Optional[str] = None, path: Optional[str] = None,
                 module: Optional[str] = None, value: Optional[str] = None) -> None:
        self.kind = kind
        self.dist_name = dist_name
        self.dist_version = dist_version
        self.path = path
        self.module = module
        self.value = value

    def describe(self) -> str:
        """A short phrase for messages: ``distribution nitro-audit 1.0.0``."""
        if self.kind == "distribution":
            return "distribution %s %s" % (self.dist_name, self.dist_version)
        if self.kind == "dropin":
            return "file %s" % (self.path,)
        return "class %s" % (self.value or self.module or "?",)

    __str__ = describe  # so log calls can pass the source, formatted only when emitted

    def as_dict(self) -> Dict[str, Any]:
        return {slot: getattr(self, slot) for slot in self.__slots__}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PluginSource) and self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.as_dict().values()))

    def __repr__(self) -> str:
        return "PluginSource(%s)" % ", ".join(
            "%s=%r" % (k, v) for k, v in self.as_dict().items() if v is not None)


class PluginProblem:
    """Something that keeps a plugin from loading, in one line a person can
    act on.  ``phase``: one of :data:`nitro_dispatch.PHASES` (see
    ``_phases.py``), the same name ``nitro.plugin.error`` and ``check --json``
    give.

    ``count`` is how many times the same problem (same plugin, phase and
    ``kind``: what went wrong, whatever the details of the message) was
    reported; a manager keeps one record per problem (see
    :class:`~nitro_dispatch._problems.ProblemLog`), with ``message`` and
    ``error`` the latest occurrence's, so repeats never grow its list."""

    __slots__ = ("plugin", "phase", "message", "source", "error", "count", "kind")

    def __init__(self, plugin: Optional[str], phase: str, message: str,
                 source: Optional[PluginSource] = None,
                 error: Optional[BaseException] = None, count: int = 1, *,
                 kind: str = "") -> None:
        self.plugin = plugin
        self.phase = phase
        self.message = message
        self.source = source
        self.error = error
        self.count = count
        self.kind = kind or phase

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        more = ", count=%d" % (self.count,) if self.count != 1 else ""
        return "PluginProblem(%r, %r, %r%s)" % (self.plugin, self.phase, self.message, more)
