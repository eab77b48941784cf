"""What a plugin distribution needs, decided from metadata alone (SPEC
section 10), before any plugin code runs.

:func:`check_distributions` takes the listing (each
:class:`~nitro_dispatch.InstalledPlugin` carries its distribution's
``Requires-Dist``) and the index of every installed distribution that the
same scan produced, and answers, for each plugin distribution:

* ``incompatible``: unmet requirements on ``nitro-dispatch`` or on the host
  application's distribution.  Such plugins are never imported.
* ``unmet``: any other unmet requirement (reported; refused only with
  ``verify_requirements=True``).
* ``depends``: requirements on other *plugin* distributions of the group.
  Each plugin of the requiring distribution depends on each plugin of the
  required one; the specifier is checked against that distribution's
  version here, and cycles among distributions are found here too.
* ``invalid_version``: the distribution's own version is not PEP 440.

Decisions: markers are evaluated for this interpreter with no extra
selected, so requirements that need an extra are skipped; names compare as
canonical names (:func:`._metadata.canonical_name`); pre-releases satisfy a
specifier (we check what is installed, we do not choose what to install).
The version of ``nitro-dispatch`` is the one running
(``nitro_dispatch.__version__``), so a source checkout on ``sys.path``
counts as itself.  Other distributions' versions are their ``Version``
headers, as importlib.metadata reads them (:func:`._distributions.installed_version`),
read only for distributions some requirement names.  A requirement on the
host (or on nitro-dispatch) is a compatibility requirement only, even when
the host ships plugins of its own in the group: those are not made
dependencies.  A distribution requiring itself (through an extra) needs
nothing.  A distribution's requirements are ``Distribution.requires``:
the ``Requires-Dist`` headers, else an egg-info ``requires.txt``.

Whatever ``packaging`` raises for a distribution's version (not PEP 440,
or a number of more than 4,300 digits) makes it an invalid version of that
distribution; for a requirement string (not PEP 508, or a specifier whose
version cannot be compared), a malformed requirement of it.  Both are
verdicts in the report, never exceptions: discovery goes on.

Cost: requirement strings are parsed by ``packaging.requirements`` once per
process (:func:`._metadata.parse_requirement`), each (specifier, version)
pair checked once, and both verdicts are kept for the next process
(:data:`._metadata.STORE`); within one check each distinct requirement
string is decided once, and only the distributions some requirement names
are looked up.
"""

from __future__ import annotations

from ._distributions import NORM, installed_version
from ._metadata import STORE, BoundedCache, canonical_name, parse_requirement, \
    specifier_contains, version_problem

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

    from ._distributions import InstalledPlugin
    from ._metadata import ParsedRequirement

__all__ = ["DistributionReport", "PluginMeta", "Unmet", "check_distributions",
           "plugin_findings", "plugin_requirements", "PluginRequirement", "SELF"]

SELF = "nitro_dispatch"  # our own normalized distribution name


class Unmet:
    """One requirement that the installed distributions do not meet."""

    __slots__ = ("requirement", "name", "found")

    def __init__(self, requirement: str, name: str, found: Optional[str]) -> None:
        self.requirement = requirement  # as shown: "myapp>=3" (marker left out)
        self.name = name  # the required distribution's name, as the requirement spells it
        self.found = found  # its installed version, None when not installed

    def describe(self, plugin: str, dist: str, version: str) -> str:
        """``plugin 'x' (distribution nitro-x 1.0) requires myapp>=3, but ...``"""
        found = ("%s %s is installed" % (self.name, _short(self.found)) if self.found is not None
                 else "%s is not installed" % (self.name,))
        return "plugin %r (distribution %s %s) requires %s, but %s" % (
            plugin, dist, version, _short(self.requirement), found)


class DistributionReport:
    """What the metadata says about one plugin distribution."""

    __slots__ = ("dist_name", "dist_version", "canonical", "plugins", "incompatible",
                 "unmet", "malformed", "invalid_version", "version_problem", "depends",
                 "dependency_errors")

    def __init__(self, dist_name: str, dist_version: str, canonical: str = "") -> None:
        self.dist_name = dist_name
        self.dist_version = dist_version
        self.canonical = canonical or canonical_name(dist_name)
        self.plugins: List[str] = []
        self.incompatible: List[Unmet] = []
        self.unmet: List[Unmet] = []
        self.malformed: List[str] = []  # "'x>>1': reason"
        self.invalid_version = False
        self.version_problem = ""  # why the version is invalid
        # (required distribution's canonical name, specifier text, requirement as shown)
        self.depends: List[Tuple[str, str, str]] = []
        # Why the plugins of this distribution cannot load by metadata alone
        # (an unsatisfied requirement on a plugin distribution, a cycle).
        self.dependency_errors: List[str] = []

    def where(self) -> str:
        return "distribution %s %s" % (self.dist_name, self.dist_version)


class PluginMeta:
    """What the manager keeps about an installed plugin's metadata: the
    group it was found in, its distribution's report, and, when metadata
    alone already rules it out, the error its load fails with (and the
    phase of that problem).  ``reports`` tells which plugins each required
    distribution advertises."""

    __slots__ = ("group", "report", "reports", "blocked", "phase")

    def __init__(self, group: str, report: DistributionReport,
                 reports: Dict[str, DistributionReport]) -> None:
        self.group = group
        self.report = report
        self.reports = reports  # every plugin distribution of the group, by canonical name
        self.blocked: Optional[Exception] = None
        self.phase = ""


def check_distributions(plugins: Sequence[InstalledPlugin], index: List[Tuple[str, Any]],
                        host: Optional[str] = None) -> Dict[str, DistributionReport]:
    """A :class:`DistributionReport` for every distribution shipping one of
    ``plugins``, by canonical distribution name.  ``index`` lists every path
    entry's distribution records, ``(path entry, records)`` in path order,
    as :func:`._distributions.list_with_index` fills it."""
    reports: Dict[str, DistributionReport] = {}
    requires: Dict[str, Sequence[str]] = {}
    for item in plugins:
        canon = canonical_name(item.dist_name)
        report = reports.get(canon)
        if report is None:
            report = reports[canon] = DistributionReport(item.dist_name, item.dist_version,
                                                         canon)
            problem = version_problem(item.dist_version)
            report.invalid_version = problem is not None
            report.version_problem = problem or ""
            requires[canon] = item.requires
        report.plugins.append(item.name)
    vital = {SELF}
    if host:
        vital.add(canonical_name(host))
    # Each distinct requirement string is decided once: what it requires does
    # not depend on who requires it (a distribution requiring itself aside).
    texts: Set[str] = set()
    for reqs in requires.values():
        texts.update(reqs)
    parsed_of = {text: parse_requirement(text) for text in texts}
    versions = _Versions(index, {p.canonical for p in parsed_of.values() if not p.error})
    outcome = {text: _outcome(parsed, reports, vital, versions)
               for text, parsed in parsed_of.items()}
    for canon, report in reports.items():
        for text in requires[canon]:
            out = outcome[text]
            if out is None or out[1] == canon:
                continue  # met, not for here, or a distribution requiring itself (an extra)
            kind = out[0]
            if kind == "depends":
                report.depends.append(out[2])
                if out[3]:
                    report.dependency_errors.append(out[3])
            elif kind == "incompatible":
                report.incompatible.append(out[2])
            elif kind == "unmet":
                report.unmet.append(out[2])
            else:
                report.malformed.append("'%s': %s" % (_short(text), out[2]))
    STORE.save()  # what was parsed or compared for the first time, for the next process
    for cycle in _cycles(reports) if any(r.depends for r in reports.values()) else ():
        text = " -> ".join(reports[c].dist_name for c in cycle)
        for canon in cycle[:-1]:
            reports[canon].dependency_errors.append(
                "its distribution is in a dependency cycle: %s" % (text,))
    return reports


def _outcome(parsed: ParsedRequirement, reports: Dict[str, DistributionReport],
             vital: Set[str], versions: "_Versions") -> Any:
    """What one requirement means here: ``None`` (met, or its marker is
    false), or ``(kind, required canonical name, detail, error)`` with kind
    "depends" (on a plugin distribution; error when its version does not
    fit), "incompatible", "unmet" or "malformed" (detail: the reason)."""
    if parsed.error:
        return ("malformed", None, parsed.error, None)
    if not parsed.active:
        return None
    name, target, spec, shown = parsed.name, parsed.canonical, parsed.specifier, parsed.shown
    if target in reports and target not in vital:
        dep = reports[target]
        error = None
        if spec and not specifier_contains(spec, dep.dist_version):
            error = "requires %s, but %s %s is installed" % (
                _short(shown), dep.dist_name, _short(dep.dist_version))
        return ("depends", target, (target, spec, shown), error)
    found = versions.get(target)
    if found is not None and (not spec or specifier_contains(spec, found)):
        return None
    return ("incompatible" if target in vital else "unmet", target,
            Unmet(shown, name, found), None)


def plugin_findings(name: str, report: DistributionReport, *, verify: bool,
                    validate: bool) -> Tuple[List[Tuple[str, str]], Optional[Exception], str]:
    """The problems of one plugin of ``report``'s distribution, as
    ``[(phase, message)]``, and the error its load fails with when metadata
    alone rules it out (with that problem's phase), else ``(.., None, "")``."""
    if not (report.invalid_version or report.malformed or report.incompatible or report.unmet
            or report.dependency_errors):
        return [], None, ""  # the common case: every requirement met
    from ._errors import DependencyError, PluginLoadError

    dist, version = report.dist_name, _short(report.dist_version)
    where = "plugin %r (distribution %s %s)" % (name, dist, version)
    found: List[Tuple[str, str]] = []
    blocked: Optional[Exception] = None
    phase = ""
    if report.invalid_version:
        message = ("%s: the distribution's version '%s' is not a valid PEP 440 version (%s)"
                   % (where, version, report.version_problem))
        found.append(("validation", message))
        if validate:
            blocked, phase = PluginLoadError(message + "; it is not loaded"), "validation"
    for text in report.malformed:
        found.append(("validation", "%s: malformed requirement %s" % (where, text)))
    for unmet in report.incompatible:
        message = unmet.describe(name, dist, version)
        found.append(("compatibility", message))
        if blocked is None:
            blocked, phase = DependencyError(message), "compatibility"
    for unmet in report.unmet:
        message = unmet.describe(name, dist, version)
        found.append(("requirements", message))
        if verify and blocked is None:
            blocked, phase = DependencyError(
                message + " (verify_requirements is on)"), "requirements"
    for reason in report.dependency_errors:
        message = "%s %s" % (where, reason)
        found.append(("dependency", message))
        if blocked is None:
            blocked, phase = DependencyError(message), "dependency"
    return found, blocked, phase


class PluginRequirement:
    """A requirement on a plugin that comes from distribution metadata:
    shaped like ``packaging``'s Requirement as the resolver reads it."""

    __slots__ = ("name", "specifier", "marker", "via")

    def __init__(self, name: str, spec: str, via: str) -> None:
        self.name = name
        self.specifier: Any = ""
        if spec:
            from packaging.specifiers import SpecifierSet

            self.specifier = SpecifierSet(spec)
        self.marker = None
        self.via = via  # the distribution requirement: "nitro-auth>=2"

    def __str__(self) -> str:
        return "%s%s (distribution requirement %s)" % (self.name, self.specifier, self.via)


_PLUGIN_REQS: BoundedCache = BoundedCache(20_000)


def plugin_requirements(report: DistributionReport,
                        reports: Dict[str, DistributionReport]) -> List[Any]:
    """The requirements on plugins that ``report``'s distribution declares
    in its metadata: every plugin of every plugin distribution it requires."""
    reqs: List[Any] = []
    for target, spec, shown in report.depends:
        dep = reports.get(target)
        if dep is None:
            continue
        for plugin in dep.plugins:
            key = (plugin, spec, shown)
            req = _PLUGIN_REQS.get(key)
            if req is None:
                req = _PLUGIN_REQS.put(key, PluginRequirement(plugin, spec, shown))
            reqs.append(req)
    return reqs


# -- installed versions --------------------------------------------------------

class _Versions:
    """Installed distributions' versions, read on demand from the index."""

    __slots__ = ("index", "needed", "by_name", "known")

    def __init__(self, index: List[Tuple[str, Any]], needed: Set[str]) -> None:
        from ._version import __version__

        self.index = index
        self.needed = needed  # the names that may be asked for
        self.by_name: Optional[Dict[str, Tuple[str, Any]]] = None
        self.known: Dict[str, Optional[str]] = {SELF: __version__}

    def get(self, canon: str) -> Optional[str]:
        if canon in self.known:
            return self.known[canon]
        if self.by_name is None:  # built once, on the first need
            self.by_name = self._locate()
        found = self.by_name.get(canon)
        version = None if found is None else installed_version(*found)
        self.known[canon] = version
        return version

    def _locate(self) -> Dict[str, Tuple[str, Any]]:
        """Where each needed name is installed: the first record of it in
        path order (importlib.metadata's choice), the scan ending once
        every needed name is found."""
        needed = self.needed
        found: Dict[str, Tuple[str, Any]] = {}
        for where, dists in self.index:
            for d in dists:
                name = d[NORM]
                if name in needed and name not in found:
                    found[name] = (where, d)
            if len(found) == len(needed):
                break
        return found


def _short(text: str) -> str:
    """A version or requirement for a message, cut when absurdly long."""
    if len(text) <= 80:
        return text
    return "%s... (%d characters)" % (text[:30], len(text))


def _cycles(reports: Dict[str, DistributionReport]) -> List[List[str]]:
    """Elementary cycles among plugin distributions, as closed paths."""
    from ._cycles import find_cycles

    return find_cycles(reports, lambda dist: [step[0] for step in reports[dist].depends])
