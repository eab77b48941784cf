"""``graph``: how the installed plugins fit together, as Mermaid or DOT
text (:func:`nitro_dispatch._graph.plugin_graph`; metadata only, nothing
imported).  This module only parses and prints."""

from __future__ import annotations

import argparse
from typing import Any

from .._graph import FORMATS
from ._common import EXIT_OK, RAW, add_common_options
from ._output import out

__all__ = ["add_parser", "run"]

_HELP = """\
Draw the installed plugins and the dependencies between their
distributions, from metadata alone (nothing is imported).  Nodes are
plugins with their distribution and version; an edge goes from a plugin
to each plugin of a distribution its distribution requires, labelled with
the requirement.  Marked: incompatible plugins (another nitro-dispatch or
--host version required), invalid versions, name conflicts, unmet
requirements (dashed), missing distributions (round, dashed) and cycles
(thick).  Mermaid (the default) renders on GitHub; DOT is for Graphviz
('... graph --format dot | dot -Tsvg > plugins.svg')."""


def add_parser(commands: Any) -> None:
    """The ``graph`` subcommand."""
    parser = commands.add_parser(
        "graph", help="draw the plugins and their dependencies (Mermaid or DOT)",
        description=_HELP, formatter_class=RAW)
    parser.add_argument("--format", choices=FORMATS, default="mermaid",
                        help="output format (default: mermaid)")
    parser.add_argument("--host", metavar="DIST", default=None,
                        help="the application's distribution (see check --host)")
    add_common_options(parser, "")
    parser.set_defaults(handler=run)


def run(opts: argparse.Namespace) -> int:
    from .._graph import plugin_graph

    out(plugin_graph(opts.group, host=opts.host).render(opts.format).rstrip("\n"))
    return EXIT_OK
