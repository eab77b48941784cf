"""Installing and removing plugin distributions for an end user (SPEC
section 15): :func:`install_plugins` refuses what cannot work before
anything is installed; :func:`uninstall_plugins` refuses to remove what
other plugins need.  This module owns the two procedures and their typed
reports; pip itself is run by :mod:`._pip`, and the verdicts are SPEC
section 10's, decided by :func:`._graph.read_state`.

Installing, step by step:

1. Every requirement must parse as PEP 508 (or name an existing file or
   directory, or be a URL, as pip accepts); pip must be 22.2 or later.
2. ``python -m pip install --dry-run --report FILE REQ...`` (with the
   finding options) says what pip would install: the *plan*.  The report
   goes to a temporary file, so pip's own output can stream to the user.
3. The plan's wheels are read for their entry points (the report has core
   metadata only): a wheel the report points to on disk is read in place,
   any other is fetched with ``pip wheel --no-deps`` into a temporary
   directory (a wheel is copied, an sdist built).  ``entry_points.txt`` is
   read with :mod:`importlib.metadata`, from inside the wheel.
4. The installed plugins are checked as they would be after the install
   (each planned distribution in place of the installed one of its name):
   every problem that is not there already (``check --static``'s phases
   compatibility, conflict, dependency and validation) refuses the whole
   install.  So do plans that would install another version of
   nitro-dispatch or of the host application: ``install`` never changes
   what the plugins are checked against.  New ``requirements`` problems
   (an installed plugin's non-plugin requirement that the plan breaks) are
   warnings, as they are when the application runs.
5. Otherwise ``pip install --no-deps`` of exactly the planned set, pinned
   (``name==version``, or ``name @ url`` for what was asked for by URL or
   path), with the fetched wheels offered through ``--find-links``, and the
   plugins listed before and after say which are new.

When pip cannot resolve the requirements at all (say a plugin requires
``nitro-dispatch>=99`` and no index has it), the requirements are read
layer by layer with ``--no-deps`` (requested distributions, then what they
require and is not installed, up to five layers); if those reveal a
finding, the install is refused with it; otherwise pip's own error is
raised.

Nothing here changes the environment before the last step; a failure
before it raises :class:`~._pip.PluginInstallError` with one line.
"""

from __future__ import annotations

import os

from ._graph import PlannedDist, read_state
from ._pip import (PluginInstallError, check_pip, finding_args, pip_failure, run_pip)
from ._metadata import canonical_name

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

    from ._distributions import InstalledPlugin
    from ._graph import MetadataState

__all__ = ["PlannedDistribution", "InstallFinding", "InstallReport", "install_plugins",
           "RemovalTarget", "Dependent", "UninstallReport", "uninstall_plugins",
           "PluginInstallError"]

SELF = "nitro_dispatch"  # our canonical distribution name
#: The phases of a new problem that refuses an install.
REFUSING_PHASES = ("compatibility", "conflict", "dependency", "validation")
_DIAGNOSE_LAYERS = 5


# -- records -----------------------------------------------------------------


class PlannedDistribution:
    """One distribution pip would install: ``name``, ``version``, whether it
    was ``requested`` (else it comes as a dependency), ``replaces`` (the
    installed version it would replace, None when not installed), its
    ``requires`` (``Requires-Dist``) and the ``plugins`` it advertises in
    the group (``(name, entry-point value)`` pairs)."""

    __slots__ = ("name", "version", "requested", "replaces", "requires", "plugins", "url",
                 "direct", "wheel")

    def __init__(self, name: str, version: str, *, requested: bool = False,
                 replaces: Optional[str] = None, requires: Sequence[str] = (),
                 url: str = "", direct: bool = False) -> None:
        self.name = name
        self.version = version
        self.requested = requested
        self.replaces = replaces
        self.requires = tuple(requires)
        self.plugins: List[Tuple[str, str]] = []
        self.url = url  # where pip found it (download_info.url; for a VCS: "git+...@commit")
        self.direct = direct  # asked for by URL or path: installed as "name @ url"
        self.wheel: Optional[str] = None  # the wheel file read for its entry points

    @property
    def canonical(self) -> str:
        return canonical_name(self.name)

    def pin(self) -> str:
        """The requirement that installs exactly this distribution."""
        return "%s @ %s" % (self.name, self.url) if self.direct else \
            "%s==%s" % (self.name, self.version)

    def to_dict(self) -> Dict[str, Any]:
        return {"name": self.name, "version": self.version, "requested": self.requested,
                "replaces": self.replaces, "requires": list(self.requires),
                "plugins": [{"name": n, "value": v} for n, v in self.plugins]}

    def __repr__(self) -> str:
        return "PlannedDistribution(%r, %r)" % (self.name, self.version)


class InstallFinding:
    """A reason the install is refused (or, for a warning, a problem it
    would cause): ``phase`` as in :data:`nitro_dispatch.PHASES`, the
    ``plugin`` concerned (None for the plan as a whole), its distribution,
    and the message; :meth:`line` is the line ``check`` prints for it."""

    __slots__ = ("plugin", "phase", "message", "dist_name", "dist_version")

    def __init__(self, plugin: Optional[str], phase: str, message: str,
                 dist_name: Optional[str] = None, dist_version: Optional[str] = None) -> None:
        self.plugin = plugin
        self.phase = phase
        self.message = message
        self.dist_name = dist_name
        self.dist_version = dist_version

    def line(self) -> str:
        from ._describe import format_problem
        from ._source import PluginProblem, PluginSource

        source = None
        if self.dist_name is not None:
            source = PluginSource("distribution", dist_name=self.dist_name,
                                  dist_version=self.dist_version)
        return format_problem(PluginProblem(self.plugin, self.phase, self.message, source))

    def to_dict(self) -> Dict[str, Any]:
        out = {slot: getattr(self, slot) for slot in self.__slots__}
        out["line"] = self.line()
        return out

    def __repr__(self) -> str:
        return "InstallFinding(%r, %r, %r)" % (self.plugin, self.phase, self.message)


class InstallReport:
    """What :func:`install_plugins` decided and did.

    ``to_install``: the plan (:class:`PlannedDistribution`); ``findings``:
    why it is refused (empty when it is not); ``warnings``: problems it
    causes that do not refuse it; ``installed``: what was installed (empty
    on a refusal or a dry run); ``new_plugins``: the plugins listed after
    the install that were not before (or with another version);
    ``without_plugins``: requested distributions that advertise no plugin
    in the group."""

    __slots__ = ("requirements", "group", "host", "dry_run", "to_install", "findings",
                 "warnings", "installed", "new_plugins", "without_plugins")

    def __init__(self, requirements: Sequence[str], group: str, host: Optional[str],
                 dry_run: bool) -> None:
        self.requirements = list(requirements)
        self.group = group
        self.host = host
        self.dry_run = dry_run
        self.to_install: List[PlannedDistribution] = []
        self.findings: List[InstallFinding] = []
        self.warnings: List[InstallFinding] = []
        self.installed: List[PlannedDistribution] = []
        self.new_plugins: List[InstalledPlugin] = []
        self.without_plugins: List[str] = []

    @property
    def refused(self) -> bool:
        return bool(self.findings)

    def to_dict(self) -> Dict[str, Any]:
        return {"requirements": self.requirements, "group": self.group, "host": self.host,
                "dry_run": self.dry_run, "refused": self.refused,
                "to_install": [d.to_dict() for d in self.to_install],
                "findings": [f.to_dict() for f in self.findings],
                "warnings": [f.to_dict() for f in self.warnings],
                "installed": [d.to_dict() for d in self.installed],
                "new_plugins": [p.to_dict() for p in self.new_plugins],
                "without_plugins": self.without_plugins}


# -- install -------------------------------------------------------------------


def install_plugins(requirements: Iterable[str], *, host: Optional[str] = None,
                    pip_args: Sequence[str] = (), dry_run: bool = False,
                    group: Optional[str] = None,
                    progress: Optional[Callable[[str], None]] = None) -> InstallReport:
    """Install plugin distributions into the running interpreter's
    environment, refusing the whole install when any distribution pip would
    install cannot work here (see the module docstring).

    ``requirements``: PEP 508 requirements (or paths, URLs) as for ``pip
    install``; ``host``: the application's distribution (its installed
    version is what plugins are checked against, and is never changed);
    ``pip_args``: pip's finding options (``--index-url``,
    ``--extra-index-url``, ``--find-links``, ``--no-index``, ``--pre``,
    ``--upgrade``); ``dry_run``: decide only; ``group``: the entry-point
    group (default ``nitro_dispatch.plugins``); ``progress``: called with
    each line of pip's output.  Raises :class:`PluginInstallError` (one
    line, nothing changed) when pip is missing or too old, a requirement
    does not parse, pip cannot reach an index or fails.
    """
    from ._distributions import DEFAULT_GROUP

    reqs = [_checked_requirement(r) for r in _strings(requirements, "requirements")]
    if not reqs:
        raise PluginInstallError("nothing to install: give at least one requirement")
    if host is not None and not host.strip():
        raise PluginInstallError("host needs a distribution name")
    args = finding_args(pip_args)
    report = InstallReport(reqs, group or DEFAULT_GROUP, host, dry_run)
    check_pip()
    import tempfile

    with tempfile.TemporaryDirectory(prefix="nitro-dispatch-install-") as tmp:
        plan, failure = _plan(reqs, args, tmp, progress)
        if failure is not None:
            plan = _diagnose(reqs, args, tmp)
        _fetch_wheels(plan, args, os.path.join(tmp, "wheels"), progress)
        for dist in plan:
            dist.plugins = _wheel_plugins(dist, report.group)
        report.to_install = plan
        report.findings, report.warnings = _findings(plan, report.group, host)
        if failure is not None and not report.findings:
            raise failure
        report.without_plugins = [d.name for d in plan if d.requested and not d.plugins]
        if report.findings or dry_run or not plan:
            return report
        before = _plugin_keys(report.group)
        fetched = os.path.join(tmp, "wheels")  # offered again, so nothing is fetched twice
        offer = ["--find-links", fetched] if os.listdir(fetched) else []
        run = run_pip(["install", "--no-deps", *args, *offer, *[d.pin() for d in plan]],
                      progress)
        if run.returncode != 0:
            raise pip_failure(run, "installing %s" % (", ".join(d.pin() for d in plan),))
    report.installed = list(plan)
    from ._distributions import list_installed_plugins

    report.new_plugins = [p for p in list_installed_plugins(report.group)
                          if _key(p) not in before]
    return report


def _strings(items: Iterable[str], what: str) -> List[str]:
    if isinstance(items, (str, bytes)):
        raise TypeError("%s must be a list of strings, not a single %s (%r); write [%r]"
                        % (what, type(items).__name__, items, items))
    return [str(item) for item in items]


def _checked_requirement(text: str) -> str:
    """``text`` stripped when pip may be given it as a requirement."""
    stripped = text.strip()
    if not stripped:
        raise PluginInstallError("an empty requirement was given")
    if stripped.startswith("-"):
        raise PluginInstallError("%r is not a requirement (pip options go in pip_args)"
                                 % (stripped,))
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        Requirement(stripped)
        return stripped
    except InvalidRequirement as exc:
        if os.path.exists(stripped) or "://" in stripped:
            return stripped  # a wheel, an sdist, a project directory, a URL: as pip takes them
        reason = str(exc).splitlines()[0] if str(exc) else "not PEP 508"
        raise PluginInstallError("requirement %r does not parse: %s" % (stripped, reason)) \
            from None


def _plan(reqs: Sequence[str], args: Sequence[str], tmp: str,
          progress: Optional[Callable[[str], None]]
          ) -> Tuple[List[PlannedDistribution], Optional[PluginInstallError]]:
    """What pip would install for ``reqs``, or pip's failure."""
    path = os.path.join(tmp, "report.json")
    run = run_pip(["install", "--dry-run", "--report", path, *args, *reqs], progress)
    if run.returncode != 0:
        return [], pip_failure(run, "resolving %s" % (" ".join(reqs),))
    return _read_report(path), None


def _read_report(path: str) -> List[PlannedDistribution]:
    """The distributions of a pip installation report (format version 1)."""
    import json

    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as exc:
        raise PluginInstallError("cannot read pip's installation report %s: %s"
                                 % (path, exc)) from None
    if not isinstance(doc, dict) or str(doc.get("version")) != "1":
        raise PluginInstallError("pip's installation report has an unknown format (version %r)"
                                 % (doc.get("version") if isinstance(doc, dict) else None,))
    plan: List[PlannedDistribution] = []
    for item in doc.get("install") or ():
        meta = item.get("metadata") or {}
        info = item.get("download_info") or {}
        url = str(info.get("url") or "")
        vcs = info.get("vcs_info")
        if vcs:
            url = "%s+%s@%s" % (vcs.get("vcs"), url, vcs.get("commit_id"))
        name, version = str(meta.get("name") or ""), str(meta.get("version") or "")
        plan.append(PlannedDistribution(
            name, version, requested=bool(item.get("requested")),
            replaces=_installed_version(name), requires=meta.get("requires_dist") or (),
            url=url, direct=bool(item.get("is_direct"))))
    return plan


def _diagnose(reqs: Sequence[str], args: Sequence[str], tmp: str) -> List[PlannedDistribution]:
    """When pip cannot resolve ``reqs``: the distributions they name and,
    layer by layer, what those require that is not installed (each layer one
    ``--dry-run --no-deps`` report), so the checks can say why.  Stops at a
    layer pip cannot read either."""
    from packaging.requirements import InvalidRequirement, Requirement

    found: List[PlannedDistribution] = []
    seen: Set[str] = set()
    layer = list(reqs)
    for depth in range(_DIAGNOSE_LAYERS):
        path = os.path.join(tmp, "diagnose-%d.json" % (depth,))
        run = run_pip(["install", "--dry-run", "--no-deps", "--report", path, *args, *layer])
        if run.returncode != 0:
            break
        layer = []
        for dist in _read_report(path):
            if dist.canonical in seen:
                continue
            seen.add(dist.canonical)
            found.append(dist)
            for text in dist.requires:
                try:
                    req = Requirement(text)
                except InvalidRequirement:
                    continue  # the checks report it
                if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                    continue
                canon = canonical_name(req.name)
                if canon in seen or canon == SELF or _installed_version(req.name) is not None:
                    continue  # checked against what is installed
                req.marker = None
                layer.append(str(req))
        if not layer:
            break
    return found


def _fetch_wheels(plan: Sequence[PlannedDistribution], args: Sequence[str], wheel_dir: str,
                  progress: Optional[Callable[[str], None]]) -> None:
    """Give every planned distribution its wheel: a local wheel file in
    place, any other fetched (built, for an sdist) by one ``pip wheel
    --no-deps`` into ``wheel_dir``."""
    need = []
    for dist in plan:
        local = _local_file(dist.url)
        if local is not None and local.endswith(".whl") and os.path.isfile(local):
            dist.wheel = local
        else:
            need.append(dist)
    os.makedirs(wheel_dir, exist_ok=True)
    if not need:
        return
    # pip wheel takes the finding options but --upgrade (it installs nothing).
    run = run_pip(["wheel", "--no-deps", "--wheel-dir", wheel_dir,
                   *[a for a in args if a != "--upgrade"], *[d.pin() for d in need]], progress)
    if run.returncode != 0:
        raise pip_failure(run, "fetching %s" % (", ".join(d.pin() for d in need),))
    made = {}
    for fname in os.listdir(wheel_dir):
        if fname.endswith(".whl"):
            made[canonical_name(fname.split("-")[0])] = os.path.join(wheel_dir, fname)
    for dist in need:
        dist.wheel = made.get(dist.canonical)
        if dist.wheel is None:
            raise PluginInstallError("pip wheel made no wheel for %s %s" % (dist.name,
                                                                            dist.version))


def _local_file(url: str) -> Optional[str]:
    """The path of a ``file:`` URL, else None."""
    if not url.startswith("file:"):
        return None
    from urllib.parse import unquote, urlparse
    from urllib.request import url2pathname

    parsed = urlparse(url)
    if parsed.netloc not in ("", "localhost"):
        return None
    return url2pathname(unquote(parsed.path))


def _wheel_plugins(dist: PlannedDistribution, group: str) -> List[Tuple[str, str]]:
    """The entry points of ``group`` in ``dist``'s wheel, read as
    importlib.metadata reads an installed ``entry_points.txt``."""
    import zipfile

    assert dist.wheel is not None
    try:
        with zipfile.ZipFile(dist.wheel) as archive:
            folders = {n.split("/")[0] for n in archive.namelist()
                       if n.count("/") == 1 and n.split("/")[0].endswith(".dist-info")}
            if len(folders) != 1:
                raise PluginInstallError("wheel %s has %d .dist-info folders, not one"
                                         % (os.path.basename(dist.wheel), len(folders)))
            folder = folders.pop()
            if "%s/entry_points.txt" % (folder,) not in archive.namelist():
                return []  # no entry points at all
            # importlib.metadata reads the file inside the wheel, as it would installed.
            found = _metadata().PathDistribution(zipfile.Path(archive, folder + "/"))
            return [(ep.name, ep.value) for ep in found.entry_points if ep.group == group]
    except (OSError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise PluginInstallError("cannot read wheel %s: %s" % (dist.wheel, exc)) from None


def _metadata() -> Any:
    import sys

    if sys.version_info >= (3, 10):
        from importlib import metadata
    else:  # pragma: no cover - the backport, as the runtime requirement says
        import importlib_metadata as metadata
    return metadata


def _installed_version(name: str) -> Optional[str]:
    if not name:
        return None
    metadata = _metadata()
    try:
        return str(metadata.version(name))
    except metadata.PackageNotFoundError:
        return None


def _findings(plan: Sequence[PlannedDistribution], group: str, host: Optional[str]
              ) -> Tuple[List[InstallFinding], List[InstallFinding]]:
    """The problems the plan would bring (refusing ones, then warnings)."""
    vital = {SELF}
    if host:
        vital.add(canonical_name(host))
    refusing: List[InstallFinding] = []
    for dist in plan:
        if dist.canonical in vital and dist.replaces != dist.version:
            what = "the host application" if dist.canonical != SELF else "nitro-dispatch itself"
            change = ("replace %s %s with %s" % (dist.name, dist.replaces, dist.version)
                      if dist.replaces is not None else
                      "install %s %s, which is not installed" % (dist.name, dist.version))
            refusing.append(InstallFinding(
                None, "compatibility",
                "the install would %s (%s); plugins are checked against what is installed "
                "and install never changes it: upgrade it with pip first if you mean to"
                % (change, what)))
    planned = [PlannedDist(d.name, d.version, d.requires, d.plugins) for d in plan
               if d.canonical not in vital]
    known = {(f.plugin, f.phase, f.message) for f in _problems(read_state(group, host))}
    warnings: List[InstallFinding] = []
    for finding in _problems(read_state(group, host, planned)):
        key = (finding.plugin, finding.phase, finding.message)
        if key in known:
            continue  # there already, or said once
        known.add(key)
        (refusing if finding.phase in REFUSING_PHASES else warnings).append(finding)
    return refusing, warnings


def _problems(state: MetadataState) -> List[InstallFinding]:
    return [InstallFinding(plugin, phase, message, dist, version)
            for plugin, phase, message, dist, version in state.findings()]


def _plugin_keys(group: str) -> Set[Tuple[str, str, str]]:
    from ._distributions import list_installed_plugins

    return {_key(p) for p in list_installed_plugins(group)}


def _key(plugin: InstalledPlugin) -> Tuple[str, str, str]:
    return (plugin.name, canonical_name(plugin.dist_name), plugin.dist_version)


# -- uninstall -------------------------------------------------------------------


class RemovalTarget:
    """A plugin distribution to remove: name, version, the plugins it
    advertises in the group, and the names asked for that chose it."""

    __slots__ = ("dist_name", "dist_version", "plugins", "asked")

    def __init__(self, dist_name: str, dist_version: str) -> None:
        self.dist_name = dist_name
        self.dist_version = dist_version
        self.plugins: List[str] = []
        self.asked: List[str] = []

    def to_dict(self) -> Dict[str, Any]:
        return {slot: getattr(self, slot) for slot in self.__slots__}


class Dependent:
    """An installed plugin distribution (not being removed) that requires
    a :class:`RemovalTarget`: its name, version, plugins, the requirement
    and the required distribution's name."""

    __slots__ = ("dist_name", "dist_version", "plugins", "requirement", "target")

    def __init__(self, dist_name: str, dist_version: str, plugins: Sequence[str],
                 requirement: str, target: str) -> None:
        self.dist_name = dist_name
        self.dist_version = dist_version
        self.plugins = list(plugins)
        self.requirement = requirement
        self.target = target

    def line(self) -> str:
        """``nitro-shout 1.0 (plugin 'shout') requires nitro-greet>=1``"""
        return "%s %s (%s %s) requires %s" % (
            self.dist_name, self.dist_version, "plugin" if len(self.plugins) == 1 else "plugins",
            ", ".join(repr(p) for p in self.plugins), self.requirement)

    def to_dict(self) -> Dict[str, Any]:
        out = {slot: getattr(self, slot) for slot in self.__slots__}
        out["line"] = self.line()
        return out


class UninstallReport:
    """What :func:`uninstall_plugins` decided and did: ``targets`` (the
    distributions to remove), ``dependents`` (installed plugin distributions
    requiring one of them), ``refused`` (dependents exist and ``force`` is
    off: nothing removed), ``removed`` (the plugins listed before and not
    after; empty on a refusal or a dry run)."""

    __slots__ = ("names", "group", "force", "dry_run", "targets", "dependents", "removed")

    def __init__(self, names: Sequence[str], group: str, force: bool, dry_run: bool) -> None:
        self.names = list(names)
        self.group = group
        self.force = force
        self.dry_run = dry_run
        self.targets: List[RemovalTarget] = []
        self.dependents: List[Dependent] = []
        self.removed: List[InstalledPlugin] = []

    @property
    def refused(self) -> bool:
        return bool(self.dependents) and not self.force

    def to_dict(self) -> Dict[str, Any]:
        return {"names": self.names, "group": self.group, "force": self.force,
                "dry_run": self.dry_run, "refused": self.refused,
                "targets": [t.to_dict() for t in self.targets],
                "dependents": [d.to_dict() for d in self.dependents],
                "removed": [p.to_dict() for p in self.removed]}


def uninstall_plugins(names: Iterable[str], *, group: Optional[str] = None,
                      force: bool = False, dry_run: bool = False,
                      progress: Optional[Callable[[str], None]] = None) -> UninstallReport:
    """Remove plugin distributions from the running interpreter's
    environment with ``pip uninstall``, unless another installed plugin
    distribution requires one of them (then nothing is removed and the
    report is ``refused``), or ``force``.

    ``names`` are plugin or distribution names of ``group`` (default
    ``nitro_dispatch.plugins``), compared as canonical names; a
    distribution name is tried first.  A name that matches nothing
    installed, or a plugin name several distributions claim, raises
    :class:`PluginInstallError` before anything changes.
    """
    from ._distributions import DEFAULT_GROUP

    asked = [n.strip() for n in _strings(names, "names")]
    if not asked or not all(asked):
        raise PluginInstallError("nothing to uninstall: give plugin or distribution names")
    report = UninstallReport(asked, group or DEFAULT_GROUP, force, dry_run)
    state = read_state(report.group)
    by_dist: Dict[str, List[InstalledPlugin]] = {}
    by_plugin: Dict[str, List[InstalledPlugin]] = {}
    for plugin in state.plugins:
        by_dist.setdefault(canonical_name(plugin.dist_name), []).append(plugin)
        by_plugin.setdefault(canonical_name(plugin.name), []).append(plugin)
    targets: Dict[str, RemovalTarget] = {}
    for name in asked:
        canon = canonical_name(name)
        dist = canon if canon in by_dist else None
        if dist is None:
            claims = {canonical_name(p.dist_name) for p in by_plugin.get(canon, ())}
            if len(claims) > 1:
                raise PluginInstallError(
                    "plugin %r is advertised by several distributions (%s); name the "
                    "distribution to remove" % (name, ", ".join(sorted(
                        "%s %s" % (p.dist_name, p.dist_version) for p in by_plugin[canon]))))
            if not claims:
                raise PluginInstallError(_not_installed(name, report.group, by_dist, by_plugin))
            dist = claims.pop()
        target = targets.get(dist)
        if target is None:
            first = by_dist[dist][0]
            target = targets[dist] = RemovalTarget(first.dist_name, first.dist_version)
            target.plugins = [p.name for p in by_dist[dist]]
        target.asked.append(name)
    report.targets = list(targets.values())
    for canon, dist_report in state.reports.items():
        if canon in targets:
            continue
        for required, _, shown in dist_report.depends:
            if required in targets:
                report.dependents.append(Dependent(
                    dist_report.dist_name, dist_report.dist_version, dist_report.plugins,
                    shown, targets[required].dist_name))
    if report.refused or dry_run:
        return report
    check_pip()
    from ._distributions import list_installed_plugins

    before = list_installed_plugins(report.group)
    dists = [t.dist_name for t in report.targets]
    run = run_pip(["uninstall", "--yes", *dists], progress)
    if run.returncode != 0:
        raise pip_failure(run, "uninstalling %s" % (", ".join(dists),))
    after = _plugin_keys(report.group)
    report.removed = [p for p in before if _key(p) not in after]
    return report


def _not_installed(name: str, group: str, by_dist: Dict[str, Any],
                   by_plugin: Dict[str, Any]) -> str:
    version = _installed_version(name)
    if version is not None:
        return ("distribution %r (%s) is installed but advertises no plugin in entry-point "
                "group %r; remove it with pip if you mean to" % (name, version, group))
    import difflib

    known = sorted({p.name for ps in by_plugin.values() for p in ps} |
                   {p.dist_name for ps in by_dist.values() for p in ps})
    close = difflib.get_close_matches(name, known, n=3)
    hint = " (did you mean %s?)" % " or ".join(repr(c) for c in close) if close else ""
    return "no plugin or plugin distribution named %r is installed in entry-point group %r%s" \
        % (name, group, hint)
