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
canonical names; pre-releases satisfy a specifier (we check what is
installed, we do not choose what to install).  The version of
``nitro-dispatch`` is the one running (``nitro_dispatch.__version__``), so a
source checkout on ``sys.path`` counts as itself.  Other distributions'
versions come from their metadata folder names (``name-1.2.dist-info``),
which installers write from the ``Version`` header, and from the header
itself when the folder name has none; nothing is read for distributions no
requirement names.  A requirement on the host (or on nitro-dispatch) is a
compatibility requirement only, even when the host ships plugins of its own
in the group: those are not made dependencies.  A distribution requiring
itself (through an extra) needs nothing.  For egg-info only the
``Requires-Dist`` headers of ``PKG-INFO`` count; ``requires.txt`` is not read.

Cost: each requirement string is parsed once per process (bare names and
``name>=1,<2`` shapes without ``packaging.requirements``), each marker
evaluated once, each (specifier, version) pair checked once; within one
check each distinct requirement string is decided once, and only the
distributions some requirement names are looked up.
"""

from __future__ import annotations

import os

from ._distributions import _normalize
from ._plugin import _plain_release

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

    from ._distributions import InstalledPlugin

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
        found = ("%s %s is installed" % (self.name, self.found) if self.found is not None
                 else "%s is not installed" % (self.name,))
        return "plugin %r (distribution %s %s) requires %s, but %s" % (
            plugin, dist, version, self.requirement, found)


class DistributionReport:
    """What the metadata says about one plugin distribution."""

    __slots__ = ("dist_name", "dist_version", "canonical", "plugins", "incompatible",
                 "unmet", "malformed", "invalid_version", "depends", "dependency_errors")

    def __init__(self, dist_name: str, dist_version: str, canonical: str = "") -> None:
        self.dist_name = dist_name
        self.dist_version = dist_version
        self.canonical = canonical or _normalize(dist_name)
        self.plugins: List[str] = []
        self.incompatible: List[Unmet] = []
        self.unmet: List[Unmet] = []
        self.malformed: List[str] = []  # "'x>>1': reason"
        self.invalid_version = False
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
    as :func:`nitro_dispatch._distributions._list_installed` fills it."""
    reports: Dict[str, DistributionReport] = {}
    requires: Dict[str, Sequence[str]] = {}
    for item in plugins:
        canon = _normalize(item.dist_name)
        report = reports.get(canon)
        if report is None:
            report = reports[canon] = DistributionReport(item.dist_name, item.dist_version,
                                                         canon)
            report.invalid_version = not _valid_version(item.dist_version)
            requires[canon] = item.requires
        report.plugins.append(item.name)
    vital = {SELF}
    if host:
        vital.add(_normalize(host))
    # Each distinct requirement string is decided once: what it requires does
    # not depend on who requires it (a distribution requiring itself aside).
    texts: Set[str] = set()
    for reqs in requires.values():
        texts.update(reqs)
    parsed_of = {text: _requirement(text) for text in texts}
    versions = _Versions(index, {p[1] for p in parsed_of.values() if not isinstance(p, str)})
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
                report.malformed.append("%r: %s" % (text, out[2]))
    for cycle in _cycles(reports) if any(r.depends for r in reports.values()) else ():
        text = " -> ".join(reports[c].dist_name for c in cycle)
        for canon in cycle[:-1]:
            reports[canon].dependency_errors.append(
                "its distribution is in a dependency cycle: %s" % (text,))
    return reports


def _outcome(parsed: Any, reports: Dict[str, DistributionReport], vital: Set[str],
             versions: "_Versions") -> Any:
    """What one requirement means here: ``None`` (met, or its marker is
    false), or ``(kind, required canonical name, detail, error)`` with kind
    "depends" (on a plugin distribution; error when its version does not
    fit), "incompatible", "unmet" or "malformed" (detail: the reason)."""
    if isinstance(parsed, str):
        return ("malformed", None, parsed, None)
    name, target, spec, shown, active = parsed
    if not active:
        return None
    if target in reports and target not in vital:
        dep = reports[target]
        error = None
        if spec and not _satisfies(spec, dep.dist_version):
            error = "requires %s, but %s %s is installed" % (
                shown, dep.dist_name, dep.dist_version)
        return ("depends", target, (target, spec, shown), error)
    found = versions.get(target)
    if found is not None and (not spec or _satisfies(spec, found)):
        return None
    return ("incompatible" if target in vital else "unmet", target,
            Unmet(shown, name, found), None)


def plugin_findings(name: str, report: DistributionReport, *, verify: bool,
                    validate: bool) -> Tuple[List[Tuple[str, str]], Optional[Exception], str]:
    """The problems of one plugin of ``report``'s distribution, as
    ``[(phase, message)]``, and the error its load fails with when metadata
    alone rules it out (with that problem's phase), else ``(.., None, "")``."""
    from ._errors import DependencyError, PluginLoadError

    dist, version = report.dist_name, report.dist_version
    where = "plugin %r (distribution %s %s)" % (name, dist, version)
    found: List[Tuple[str, str]] = []
    blocked: Optional[Exception] = None
    phase = ""
    if report.invalid_version:
        message = ("%s: the distribution's version %r is not a valid PEP 440 version"
                   % (where, version))
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


_PLUGIN_REQS: Dict[Tuple[str, str, str], PluginRequirement] = {}


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
                req = _PLUGIN_REQS[key] = PluginRequirement(plugin, spec, shown)
            reqs.append(req)
    return reqs


# -- installed versions --------------------------------------------------------

class _Versions:
    """Installed distributions' versions, read on demand from the index."""

    __slots__ = ("index", "needed", "by_name", "known")

    def __init__(self, index: List[Tuple[str, Any]], needed: Any) -> None:
        from ._version import __version__

        self.index = index
        self.needed = needed  # the names that may be asked for
        self.by_name: Optional[Dict[str, Tuple[str, Any]]] = None
        self.known: Dict[str, Optional[str]] = {SELF: __version__}

    def get(self, canon: str) -> Optional[str]:
        if canon in self.known:
            return self.known[canon]
        if self.by_name is None:  # built once, on the first need
            needed = self.needed
            self.by_name = {}
            for root, dists in reversed(self.index):  # the first on the path wins
                self.by_name.update([(d[0], (root, d)) for d in dists if d[0] in needed])
        found = self.by_name.get(canon)
        if found is None:
            version = None
        elif len(found[1]) > 5:
            version = found[1][6]
        else:  # the same record (path, mtime) gives the same version
            key = (found[0], found[1][1], found[1][2])
            version = _RECORD_VERSIONS.get(key, _UNKNOWN)
            if version is _UNKNOWN:
                version = _RECORD_VERSIONS[key] = _record_version(*found)
        self.known[canon] = version
        return version


_UNKNOWN: Any = object()
_RECORD_VERSIONS: Dict[Tuple[str, Any, Any], Optional[str]] = {}


def _record_version(root: str, dist: Any) -> Optional[str]:
    """A distribution's version from its cached record: the listing's for a
    plugin distribution, else the folder name's, else its metadata file's."""
    if len(dist) > 5:
        return str(dist[6])
    rel = dist[1]
    if rel is None:  # inside a zip archive: importlib.metadata reads those
        from importlib import metadata

        for d in metadata.distributions(path=[root]):
            if _normalize(d.metadata["Name"] or "") == dist[0]:
                return str(d.version)
        return None
    folder = str(rel).replace("\\", "/").split("/")[0]
    low = folder.lower()
    stem = folder[:-len(".dist-info")] if low.endswith(".dist-info") else \
        folder[:-len(".egg-info")] if low.endswith(".egg-info") else folder
    version = stem.partition("-")[2].partition("-")[0]
    if version:
        return version
    from ._distributions import _read_headers, _Unreadable

    path = os.path.join(root, folder)
    if os.path.isdir(path):
        path = os.path.join(path, "METADATA" if low.endswith(".dist-info") else "PKG-INFO")
    try:  # else a PKG-INFO style egg-info file
        return _read_headers(path)[1]
    except _Unreadable:  # the listing warned about it already
        return None


# -- requirements ----------------------------------------------------------------

# requirement string -> (name, normalized name, specifier text, shown, marker
# true here), or the reason it does not parse
_PARSED: Dict[str, Any] = {}
_SATISFIES: Dict[Tuple[str, str], bool] = {}
_VALID: Dict[str, bool] = {}


def _requirement(text: str) -> Any:
    parsed = _PARSED.get(text)
    if parsed is None:
        parsed = _PARSED[text] = _parse(text)
    return parsed


def _parse(text: str) -> Any:
    stripped = text.strip()
    if stripped and stripped[0].isalnum() and stripped.replace("-", "").replace(
            "_", "").replace(".", "").isalnum() and stripped.isascii():
        # a bare name: no need for packaging
        return (stripped, _normalize(stripped), "", stripped, True)
    if ";" not in stripped and "@" not in stripped:
        simple = _parse_simple(stripped)
        if simple is not None:
            return simple
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        return str(exc).splitlines()[0] if str(exc) else "not a PEP 508 requirement"
    active = True
    if req.marker is not None:
        try:
            # No extra is selected: requirements of an extra are skipped.
            active = bool(req.marker.evaluate({"extra": ""}))
        except Exception:  # an undefined marker variable, say: not applicable here
            active = False
    spec = str(req.specifier)
    return (req.name, _normalize(req.name), spec, req.name + spec, active)


def _parse_simple(text: str) -> Any:
    """``name[extras] specifiers`` without a marker, parsed without
    ``packaging.requirements`` (which costs more to import than a warm
    listing); None when it is not of that shape."""
    end = 0
    while end < len(text) and (text[end].isalnum() or text[end] in "._-"):
        end += 1
    name, rest = text[:end], text[end:].strip()
    if not name or not name[0].isalnum() or not name[-1].isalnum() or not name.isascii():
        return None
    if rest.startswith("["):
        close = rest.find("]")
        if close < 0:
            return None
        rest = rest[close + 1:].strip()
    if rest.startswith("(") and rest.endswith(")"):
        rest = rest[1:-1].strip()
    if not rest or rest[0] not in "<>=!~" or "(" in rest or "[" in rest:
        return None
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        spec = str(SpecifierSet(rest))
    except InvalidSpecifier:
        return None  # packaging.requirements says why
    return (name, _normalize(name), spec, name + spec, True)


def _satisfies(spec: str, version: str) -> bool:
    key = (spec, version)
    ok = _SATISFIES.get(key)
    if ok is None:
        from packaging.specifiers import SpecifierSet
        from packaging.version import InvalidVersion, Version

        try:
            ok = SpecifierSet(spec).contains(Version(version), prereleases=True)
        except InvalidVersion:
            ok = False
        _SATISFIES[key] = ok
    return ok


def _valid_version(version: str) -> bool:
    ok = _VALID.get(version)
    if ok is None and _plain_release(version):  # "1.0.0" needs no parser (nor its import)
        ok = _VALID[version] = True
    if ok is None:
        from packaging.version import InvalidVersion, Version

        try:
            Version(version)
            ok = True
        except InvalidVersion:
            ok = False
        _VALID[version] = ok
    return ok


def _cycles(reports: Dict[str, DistributionReport]) -> List[List[str]]:
    """Elementary cycles among plugin distributions, as closed paths
    (iterative depth-first search: no recursion limit)."""
    found: List[List[str]] = []
    state: Dict[str, int] = {}  # 1 on the stack, 2 finished
    for start in reports:
        if start in state:
            continue
        stack: List[Tuple[str, Any]] = [(start, iter(reports[start].depends))]
        path = [start]
        state[start] = 1
        while stack:
            node, deps = stack[-1]
            step = next(deps, None)
            if step is None:
                stack.pop()
                path.pop()
                state[node] = 2
                continue
            dep = step[0]
            if state.get(dep) == 1:
                found.append(path[path.index(dep):] + [dep])
            elif dep not in state:
                state[dep] = 1
                path.append(dep)
                stack.append((dep, iter(reports[dep].depends)))
    return found
