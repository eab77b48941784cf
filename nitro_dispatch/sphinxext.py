"""A Sphinx extension: the plugins and declared events of the environment
that builds the docs, as tables.

It owns two directives, so a host application's documentation lists the
plugins installed with it and the hook API they are written against::

    extensions = ["nitro_dispatch.sphinxext"]        # conf.py

    .. nitro-dispatch-plugins::
       :group: myapp.plugins

    .. nitro-dispatch-events::
       :group: myapp.events

``nitro-dispatch-plugins`` lists the plugins installed in the entry-point
group (default ``nitro_dispatch.plugins``): name, distribution, version and
summary, read from metadata only (no plugin code runs).
``nitro-dispatch-events`` declares what installed distributions publish in
the group (default ``nitro_dispatch.events``) in a throw-away
:class:`~nitro_dispatch.PluginManager`, which imports those declarations,
and lists each event: name, mode, historic, doc.  A declaration that cannot
be used is a Sphinx warning (an error under ``-W``).

Sphinx imports this module; :mod:`nitro_dispatch` never does.
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from ._manager import DEFAULT_GROUP, PluginManager
from ._version import __version__

__all__ = ["PluginsDirective", "EventsDirective", "setup"]

logger = logging.getLogger(__name__)

EVENTS_GROUP = "nitro_dispatch.events"


def _table(kind: str, headers: Sequence[str], rows: Sequence[Sequence[Any]],
           widths: Sequence[int]) -> Any:
    table = nodes.table(classes=["nitro-dispatch-" + kind])
    group = nodes.tgroup(cols=len(headers))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    head += _row(headers)
    body = nodes.tbody()
    group += body
    for cells in rows:
        body += _row(cells)
    return table


def _row(cells: Sequence[Any]) -> Any:
    row = nodes.row()
    for cell in cells:
        entry = nodes.entry()
        if isinstance(cell, str):
            entry += nodes.paragraph(text=cell)
        else:  # nodes already parsed
            entry += nodes.paragraph("", "", *cell)
        row += entry
    return row


def _one_paragraph(doc: Any) -> str:
    return " ".join(str(doc).split()) if doc else ""


class PluginsDirective(SphinxDirective):
    """``.. nitro-dispatch-plugins::`` with option ``:group:``: the
    installed plugins of that group as a table (name, distribution, version,
    summary), read from metadata."""

    has_content = False
    option_spec = {"group": directives.unchanged_required}

    def run(self) -> List[Any]:
        from ._distributions import list_installed_plugins

        group = self.options.get("group", DEFAULT_GROUP)
        found = list_installed_plugins(group)
        if not found:
            return [nodes.paragraph(text="No plugins are installed in the entry-point "
                                         "group %s." % (group,))]
        rows = [(item.name, item.dist_name, item.dist_version,
                 _one_paragraph(getattr(item, "summary", "")))
                for item in sorted(found, key=lambda p: (p.name, p.dist_name))]
        return [_table("plugins", ("Plugin", "Distribution", "Version", "Summary"), rows,
                       (15, 20, 10, 55))]


class EventsDirective(SphinxDirective):
    """``.. nitro-dispatch-events::`` with option ``:group:``: the events
    that installed distributions declare in that group, as a table (name,
    mode, historic, doc)."""

    has_content = False
    option_spec = {"group": directives.unchanged_required}

    def run(self) -> List[Any]:
        group = self.options.get("group", EVENTS_GROUP)
        manager = PluginManager()
        manager.declare_installed_events(group)
        for problem in manager.get_problems():
            logger.warning("nitro-dispatch-events: %s", problem.message,
                           location=self.get_location())
        specs = list(manager.get_event_specs().values())
        if not specs:
            return [nodes.paragraph(text="No events are declared in the entry-point "
                                         "group %s." % (group,))]
        rows = [(spec.name, spec.mode, "yes" if spec.historic else "no",
                 self._inline(_one_paragraph(spec.doc))) for spec in specs]
        return [_table("events", ("Event", "Mode", "Historic", "Documentation"), rows,
                       (20, 10, 10, 60))]

    def _inline(self, text: str) -> List[Any]:
        """An event's doc as inline reStructuredText (``code``, *emphasis*)."""
        parsed, messages = self.state.inline_text(text, self.lineno)
        return list(parsed) + list(messages)


def setup(app: Any) -> Dict[str, Any]:
    """Register the directives (Sphinx calls this for ``extensions``)."""
    app.add_directive("nitro-dispatch-plugins", PluginsDirective)
    app.add_directive("nitro-dispatch-events", EventsDirective)
    return {"version": __version__, "parallel_read_safe": True,
            "parallel_write_safe": True}
