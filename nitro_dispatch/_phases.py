"""The one set of phase names (SPEC section 10) and the stages of ``check``.

A problem's *phase* says where it arose.  The same strings appear as
:attr:`PluginProblem.phase` (``manager.get_problems()``), as the ``phase``
key of the ``nitro.plugin.error`` payload, and as ``phase`` in
``nitro-dispatch check --json``.  The admission pipeline
(:mod:`._admission`) says which phase each of its stages reports.  A
*stage* of ``check`` says which part of ``check`` found it: ``static``
imports nothing, ``import`` imports the plugins, ``load`` also runs their
``on_load``.
"""

from __future__ import annotations

__all__ = ["PHASES", "STAGES", "DISCOVERY", "CONFLICT", "CONFIGURATION", "COMPATIBILITY",
           "REQUIREMENTS", "VALIDATION", "DEPENDENCY", "IMPORT", "DRIFT", "EVENT", "LOAD",
           "HOOK", "UNLOAD", "RELOAD", "STAGE_STATIC", "STAGE_IMPORT", "STAGE_LOAD",
           "WARNING_PHASES"]

DISCOVERY = "discovery"
CONFLICT = "conflict"
CONFIGURATION = "configuration"
COMPATIBILITY = "compatibility"
REQUIREMENTS = "requirements"
VALIDATION = "validation"
DEPENDENCY = "dependency"
IMPORT = "import"
DRIFT = "drift"
EVENT = "event"
LOAD = "load"
HOOK = "hook"
UNLOAD = "unload"
RELOAD = "reload"

#: Every phase, in the order a plugin meets them, with what it means.
PHASES = {
    DISCOVERY: "a source could not be read: a drop-in file that does not import, "
               "a class that does not register",
    CONFLICT: "two sources claim one plugin name (equal after canonicalization); "
              "neither or only the first registers",
    CONFIGURATION: "the application's setup looks wrong: an entry-point group within two "
                   "edits of the one in use, an allow/block-list name that matches nothing",
    COMPATIBILITY: "the plugin's distribution requires another version of nitro-dispatch or "
                   "of the host application; it is never imported",
    REQUIREMENTS: "another Requires-Dist of the plugin's distribution is not met; it still "
                  "loads unless verify_requirements=True",
    VALIDATION: "invalid metadata: a version that is not PEP 440 (the distribution's or the "
                "class's), a malformed requirement; or a hook that registration refuses (no "
                "parameter for the data, a wrapper that is not a generator, a bad priority or "
                "timeout)",
    DEPENDENCY: "a required plugin is missing, has an unsuitable version, failed itself, "
                "or the requirements form a cycle",
    IMPORT: "the plugin's code does not import, or does not name a PluginBase subclass "
            "of that name",
    DRIFT: "warning: the class sets a version other than its distribution's (the "
           "distribution's is used)",
    EVENT: "a hook attaches to an event the host did not declare (refused under "
           "strict_events), or published event declarations cannot be used",
    LOAD: "creating the plugin or its on_load failed",
    HOOK: "a hook raised or timed out while an event ran (nitro.plugin.error only)",
    UNLOAD: "the plugin's on_unload raised (the unload still completed)",
    RELOAD: "a reload failed; the previous version stays in service",
}

STAGE_STATIC = "static"
STAGE_IMPORT = "import"
STAGE_LOAD = "load"
#: The stages of ``check``, each including the ones before it.
STAGES = (STAGE_STATIC, STAGE_IMPORT, STAGE_LOAD)

#: Phases that are reported but do not count as problems for ``check``'s
#: exit status.
WARNING_PHASES = frozenset({DRIFT})
