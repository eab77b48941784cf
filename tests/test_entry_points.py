"""Installed plugin distributions on the PluginManager side (SPEC sections 3
and 4): discovery, lazy registration, dependency order across
distributions, version inheritance, broken and duplicate entry points,
allow and block lists, custom groups, uninstalling.

Two layers, as importlib_metadata tests itself:

* real virtual environments (``tests/venv_support.py``): the shared
  ``plugin_venv`` with the sample plugins, and one venv of this module's own
  (``extra_venv``) with throw-away distributions, all built in one pip call;
  the code under test runs inside the venv and prints JSON;
* fast in-process tests with fake ``*.dist-info`` folders on ``sys.path``
  (``tests/fixtures.py``), each with its own module names and entry-point
  group.

Listing (``list_installed_plugins``) and the CLI are tested elsewhere.
"""

from __future__ import annotations

import importlib
import re
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional

import pytest

from fixtures import make_plugin_dist, plugin_module_source, write_module
from nitro_dispatch import DependencyError, PluginBase, PluginManager
from venv_support import plugin_venv_fixture, venv_factory_fixture  # noqa: F401  (fixtures)
from venv_support import (PROJECT, SAMPLE_PLUGINS_DIR, Venv, make_plugin_project,
                          sample_plugin_dirs)

DEFAULT_GROUP = "nitro_dispatch.plugins"
SAMPLE_MODULES = ("nitro_welcome", "nitro_audit", "nitro_async_cache")

# ---------------------------------------------------------------------------
# Real virtual environments
# ---------------------------------------------------------------------------

# Prepended to every snippet run in a venv: recorders for lifecycle events
# and problems, and JSON output on the last line.
PRELUDE = textwrap.dedent('''
    import asyncio, json, os, sys
    from nitro_dispatch import PluginManager

    EVENTS = []

    def watch(manager):
        """Record the manager's lifecycle events in EVENTS."""
        def recorder(kind):
            def record(data):
                entry = {"kind": kind, "plugin": data.get("plugin_name")}
                if kind == "loaded":
                    entry["version"] = data.get("version")
                if kind == "error":
                    entry.update(phase=data.get("phase"), message=data.get("message"),
                                 error=str(data.get("error")),
                                 error_type=type(data.get("error")).__name__)
                EVENTS.append(entry)
            return record
        for kind, event in (("registered", manager.EVENT_PLUGIN_REGISTERED),
                            ("loaded", manager.EVENT_PLUGIN_LOADED),
                            ("unloaded", manager.EVENT_PLUGIN_UNLOADED),
                            ("error", manager.EVENT_PLUGIN_ERROR),
                            ("startup", manager.EVENT_APP_STARTUP),
                            ("shutdown", manager.EVENT_APP_SHUTDOWN)):
            manager.register_hook(event, recorder(kind))
        return manager

    def problems(items):
        return [{"plugin": p.plugin, "phase": p.phase, "message": p.message,
                 "dist": p.source.dist_name if p.source is not None else None,
                 "error_type": type(p.error).__name__ if p.error is not None else None}
                for p in items]

    def imported(*prefixes):
        return sorted(m for m in sys.modules if m.startswith(prefixes))

    def markers():
        directory = os.environ.get("NITRO_EP_MARKERS")
        return sorted(os.listdir(directory)) if directory else []

    def emit(**values):
        print(json.dumps(values, default=str))
''')

# Top of every throw-away plugin module: importing it leaves a marker file
# named after the module (``_mark`` is also used by on_load), so a test can
# prove what was, or was never, imported, even by an import that failed.
MARK = textwrap.dedent('''
    import os as _os


    def _mark(what):
        directory = _os.environ.get("NITRO_EP_MARKERS")
        if directory:
            open(_os.path.join(directory, what), "w").close()


    _mark(__name__)
''')


def plugin_code(class_name: str, body: str) -> str:
    """A throw-away module defining a PluginBase subclass with ``body``."""
    return MARK + "\nfrom nitro_dispatch import PluginBase, hook\n\n\nclass %s(PluginBase):\n%s" % (
        class_name, textwrap.indent(textwrap.dedent(body), "    "))


# Distributions of extra_venv: (dist name, version, entry-point group,
# {plugin name: "module:attr"}, {module: source}).
EXTRA_DISTS = [
    # The default group: the sample plugins plus these, broken and good.
    ("nitro-ep-missing", "0.1.0", DEFAULT_GROUP,
     {"ghost": "nitro_ep_ghost:GhostPlugin"}, {}),
    ("nitro-ep-explodes", "0.2.0", DEFAULT_GROUP,
     {"explodes": "nitro_ep_explodes:ExplodesPlugin"},
     {"nitro_ep_explodes": MARK + 'raise ImportError("libfoo is not installed")\n'}),
    ("nitro-ep-notplugin", "0.3.0", DEFAULT_GROUP,
     {"notaplugin": "nitro_ep_notplugin:NotAPlugin"},
     {"nitro_ep_notplugin": MARK + "\n\nclass NotAPlugin:\n    name = 'notaplugin'\n"}),
    ("nitro-ep-misnamed", "0.4.0", DEFAULT_GROUP,
     {"misnamed": "nitro_ep_misnamed:MisnamedPlugin"},
     {"nitro_ep_misnamed": plugin_code("MisnamedPlugin", "name = 'other_name'\n")}),
    ("nitro-ep-future", "0.5.0", DEFAULT_GROUP,
     {"future": "nitro_ep_future:FuturePlugin"},
     {"nitro_ep_future": plugin_code("FuturePlugin", """
         name = "future"
         dependencies = ["welcome>=2"]

         def on_load(self):
             _mark("nitro_ep_future.on_load")
         """)}),
    ("nitro-ep-good", "0.6.0", DEFAULT_GROUP,
     {"good": "nitro_ep_good:GoodPlugin"},
     {"nitro_ep_good": plugin_code("GoodPlugin", """
         name = "good"

         def on_load(self):
             _mark("nitro_ep_good.on_load")

         @hook("app.request", priority=10)
         def flag(self, data):
             return {**data, "good": True}
         """)}),
    # Group nitro_test.dup: two distributions claim "dup"; "dupuser" needs it.
    ("nitro-ep-dup-one", "1.0.0", "nitro_test.dup",
     {"dup": "nitro_ep_dup_one:DupPlugin"},
     {"nitro_ep_dup_one": plugin_code("DupPlugin", "name = 'dup'\n")}),
    ("nitro-ep-dup-two", "2.0.0", "nitro_test.dup",
     {"dup": "nitro_ep_dup_two:DupPlugin"},
     {"nitro_ep_dup_two": plugin_code("DupPlugin", "name = 'dup'\n")}),
    ("nitro-ep-dup-user", "1.0.0", "nitro_test.dup",
     {"dupuser": "nitro_ep_dup_user:DupUser"},
     {"nitro_ep_dup_user": plugin_code("DupUser", """
         name = "dupuser"
         dependencies = ["dup>=1"]
         """)}),
    # An application's own group; the class sets its own version.
    ("nitro-ep-myapp", "0.5.0", "myapp.plugins",
     {"myplug": "nitro_ep_myapp:MyPlug"},
     {"nitro_ep_myapp": plugin_code("MyPlug", """
         name = "myplug"
         version = "3.1.4"

         @hook("myapp.ping")
         def pong(self, data):
             return data + ["pong"]
         """)}),
]

BROKEN = {  # plugin -> (distribution, a detail its message must give)
    "ghost": ("nitro-ep-missing", "nitro_ep_ghost"),
    "explodes": ("nitro-ep-explodes", "libfoo is not installed"),
    "notaplugin": ("nitro-ep-notplugin", "not a PluginBase subclass"),
    "misnamed": ("nitro-ep-misnamed", "'other_name'"),
}


@pytest.fixture(scope="module")
def extra_venv(venv_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A venv of this module's own: this project, the sample plugins and
    the throw-away distributions of EXTRA_DISTS, installed in one pip call."""
    root = tmp_path_factory.mktemp("ep-projects")
    projects = [make_plugin_project(root / dist, dist, version, plugins, modules, group=group)
                for dist, version, group, plugins, modules in EXTRA_DISTS]
    return venv_factory("ep-venv", PROJECT, *sample_plugin_dirs(), *projects)


@pytest.fixture
def marker_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "markers"
    directory.mkdir()
    return directory


def run_in(venv: Venv, code: str, marker_dir: Optional[Path] = None) -> Any:
    """Run ``code`` (after PRELUDE) in the venv; return what it emitted."""
    env = {"NITRO_EP_MARKERS": str(marker_dir)} if marker_dir is not None else None
    return venv.run_json(PRELUDE + textwrap.dedent(code), env=env)


def by_plugin(items: List[Dict[str, Any]]) -> Dict[str, List[Dict[str, Any]]]:
    grouped: Dict[str, List[Dict[str, Any]]] = {}
    for item in items:
        grouped.setdefault(item["plugin"], []).append(item)
    return grouped


def kinds(events: List[Dict[str, Any]], kind: str) -> List[Optional[str]]:
    return [e["plugin"] for e in events if e["kind"] == kind]


def test_real_discovery_registers_samples_without_importing_them(plugin_venv: Venv) -> None:
    out = run_in(plugin_venv, """
        m = PluginManager()
        names = m.discover_installed_plugins()
        before = imported("nitro_welcome", "nitro_audit", "nitro_async_cache")
        sources = {n: m.get_plugin_source(n).as_dict() for n in names}
        versions = {n: m.get_plugin_version(n) for n in names}
        loaded = m.get_loaded_plugins()
        m.get_plugin_class("welcome")  # the control: now it is imported
        emit(names=names, before=before, sources=sources, versions=versions, loaded=loaded,
             after=imported("nitro_welcome", "nitro_audit", "nitro_async_cache"),
             welcome_version=m.get_plugin_version("welcome"))
    """)
    assert sorted(out["names"]) == ["audit", "cache", "welcome"]
    assert out["before"] == [], "discovery imported plugin code"
    assert out["loaded"] == []
    assert out["versions"] == {"audit": None, "cache": None, "welcome": None}
    site = str(plugin_venv.site_packages)
    expected = {"welcome": ("nitro-welcome", "1.2.0", "nitro_welcome:WelcomePlugin"),
                "audit": ("nitro-audit", "1.0.0", "nitro_audit:AuditPlugin"),
                "cache": ("nitro-async-cache", "0.3.0", "nitro_async_cache:CachePlugin")}
    for name, (dist, version, value) in expected.items():
        source = out["sources"][name]
        assert source["kind"] == "distribution"
        assert (source["dist_name"], source["dist_version"]) == (dist, version)
        assert (source["value"], source["module"]) == (value, value.partition(":")[0])
        assert source["path"] == site
    assert out["after"] == ["nitro_welcome"]
    assert out["welcome_version"] == "1.2.0"


def test_real_load_all_orders_across_distributions_and_inherits_versions(
        plugin_venv: Venv) -> None:
    out = run_in(plugin_venv, """
        m = watch(PluginManager(config={"welcome": {"greeting": "Hello"}}))
        with m:
            m.discover_installed_plugins()
            loaded = m.load_all()
            versions = {n: m.get_plugin_version(n) for n in loaded}
            instance_versions = {n: m.get_plugin(n).version for n in loaded}
            request = m.trigger("app.request", {"user": "ada"})
            greeting = m.trigger("greeting", {"name": "Bob"})
            records = m.get_plugin("audit").records

            async def use_cache():
                await m.trigger_async("cache.set", {"key": "k", "value": 42})
                return await m.trigger_async("cache.get", {"key": "k"})

            cached = asyncio.run(use_cache())
        emit(loaded=loaded, versions=versions, instance_versions=instance_versions,
             request=request, greeting=greeting, records=records, cached=cached,
             events=EVENTS, problems=problems(m.get_problems()),
             still_loaded=m.get_loaded_plugins())
    """)
    loaded = out["loaded"]
    assert sorted(loaded) == ["audit", "cache", "welcome"]
    assert loaded.index("welcome") < loaded.index("audit")
    expected_versions = {"welcome": "1.2.0", "audit": "1.0.0", "cache": "0.3.0"}
    assert out["versions"] == expected_versions
    assert out["instance_versions"] == expected_versions
    assert out["request"] == {"user": "ada", "greeting": "Hello, ada!"}
    assert out["greeting"] == {"name": "Bob", "message": "Hello, Bob!"}
    assert out["records"] == [{"user": "ada", "greeting": "Hello, ada!"}]
    assert out["cached"] == {"key": "k", "hit": True, "value": 42}
    assert out["problems"] == []

    events = out["events"]
    sequence = [e["kind"] for e in events]
    assert sequence[0] == "startup"
    assert sorted(kinds(events, "registered")) == ["audit", "cache", "welcome"]
    last_registered = max(i for i, k in enumerate(sequence) if k == "registered")
    first_loaded = sequence.index("loaded")
    assert last_registered < first_loaded
    assert kinds(events, "loaded") == loaded
    assert {e["plugin"]: e["version"] for e in events if e["kind"] == "loaded"} == \
        expected_versions
    shutdown = sequence.index("shutdown")
    assert shutdown > max(i for i, k in enumerate(sequence) if k == "loaded")
    unloaded = kinds(events, "unloaded")
    assert sorted(unloaded) == ["audit", "cache", "welcome"]
    assert unloaded.index("audit") < unloaded.index("welcome")
    assert min(i for i, k in enumerate(sequence) if k == "unloaded") > shutdown
    assert "error" not in sequence
    assert out["still_loaded"] == []


def test_real_broken_entry_points_are_reported_and_the_others_load(
        extra_venv: Venv, marker_dir: Path) -> None:
    out = run_in(extra_venv, """
        m = watch(PluginManager())
        names = m.discover_installed_plugins()
        before = imported("nitro_welcome", "nitro_audit", "nitro_async_cache", "nitro_ep_")
        checked = problems(m.check())
        after_check = {"loaded": m.get_loaded_plugins(), "markers": markers(),
                       "kinds": sorted(set(e["kind"] for e in EVENTS))}
        loaded = m.load_all()
        emit(names=names, before=before, checked=checked, after_check=after_check,
             loaded=loaded, problems=problems(m.get_problems()), events=EVENTS,
             markers=markers(), request=m.trigger("app.request", {"user": "ada"}))
    """, marker_dir)
    assert sorted(out["names"]) == sorted(["welcome", "audit", "cache", "good", "future",
                                           *BROKEN])
    assert out["before"] == []

    # check(): every problem, nothing loaded, no on_load ran.
    checked = by_plugin(out["checked"])
    assert set(checked) == {"future", *BROKEN}
    for name, (dist, detail) in BROKEN.items():
        [problem] = checked[name]
        assert problem["phase"] == "import"
        assert dist in problem["message"] and detail in problem["message"], problem
        assert problem["dist"] == dist
    assert checked["future"][0]["phase"] == "dependency"
    after_check = out["after_check"]
    assert after_check["loaded"] == []
    assert after_check["kinds"] == ["registered"]
    assert "nitro_ep_good" in after_check["markers"]  # imported to be checked ...
    assert not [f for f in after_check["markers"] if f.endswith(".on_load")]  # ... not loaded

    # load_all(): the others load, in dependency order.
    loaded = out["loaded"]
    assert sorted(loaded) == ["audit", "cache", "good", "welcome"]
    assert loaded.index("welcome") < loaded.index("audit")
    assert "nitro_ep_good.on_load" in out["markers"]
    assert "nitro_ep_future.on_load" not in out["markers"]
    assert out["request"] == {"user": "ada", "greeting": "Welcome, ada!", "good": True}

    reported = by_plugin(out["problems"])
    assert set(reported) == {"future", *BROKEN}
    errors = by_plugin([e for e in out["events"] if e["kind"] == "error"])
    assert set(errors) == {"future", *BROKEN}
    for name, (dist, detail) in BROKEN.items():
        [problem] = reported[name]
        assert problem["dist"] == dist
        assert dist in problem["message"] and detail in problem["message"], problem
        assert problem["error_type"] == "PluginLoadError"
        [event] = errors[name]
        assert event["phase"] == "import"
        assert dist in event["message"] and dist in event["error"], event

    # The unsatisfied version: names the plugin, the requirement, what was
    # found and where it came from; the problem's source is its own dist.
    [future] = reported["future"]
    assert future["error_type"] == "DependencyError"
    assert future["dist"] == "nitro-ep-future"
    for part in ("'future'", "welcome>=2", "1.2.0", "nitro-welcome"):
        assert part in future["message"], future
    [event] = errors["future"]
    assert event["error_type"] == "DependencyError" and "welcome>=2" in event["message"]


def test_real_duplicate_plugin_name_registers_neither(extra_venv: Venv,
                                                      marker_dir: Path) -> None:
    out = run_in(extra_venv, """
        m = watch(PluginManager(entry_point_group="nitro_test.dup"))
        names = m.discover_installed_plugins()
        registered = m.get_registered_plugins()
        checked = problems(m.check())
        loaded = m.load_all()
        m2 = PluginManager(entry_point_group="nitro_test.dup")
        m2.discover_installed_plugins()
        try:
            m2.load("dupuser")
            failure = None
        except Exception as exc:
            failure = [type(exc).__name__, str(exc)]
        emit(names=names, registered=registered, checked=checked, loaded=loaded,
             problems=problems(m.get_problems()), events=EVENTS, failure=failure,
             imported=imported("nitro_ep_dup_one", "nitro_ep_dup_two"), markers=markers())
    """, marker_dir)
    both = ("nitro-ep-dup-one", "nitro-ep-dup-two")
    assert out["names"] == ["dupuser"]
    assert out["registered"] == ["dupuser"]
    assert out["loaded"] == []
    reported = by_plugin(out["problems"])
    [conflict] = reported["dup"]
    assert conflict["phase"] == "conflict"
    assert all(d in conflict["message"] for d in both), conflict
    assert "1.0.0" in conflict["message"] and "2.0.0" in conflict["message"]
    [event] = [e for e in out["events"] if e["kind"] == "error" and e["plugin"] == "dup"]
    assert event["phase"] == "conflict"
    assert all(d in event["message"] for d in both)
    [user] = reported["dupuser"]
    assert user["error_type"] == "DependencyError"
    assert all(d in user["message"] for d in both), user
    assert {p["plugin"] for p in out["checked"]} == {"dup", "dupuser"}
    assert out["failure"][0] == "DependencyError"
    assert all(d in out["failure"][1] for d in both), out["failure"]
    assert out["imported"] == []
    assert "nitro_ep_dup_one" not in out["markers"]
    assert "nitro_ep_dup_two" not in out["markers"]
    assert "nitro_ep_dup_user" in out["markers"]  # the control: markers work


def test_real_block_list_keeps_plugins_unimported(extra_venv: Venv, marker_dir: Path) -> None:
    out = run_in(extra_venv, """
        m = PluginManager(block_list=["explodes", "good", "cache"])
        names = m.discover_installed_plugins()
        loaded = m.load_all()
        emit(names=names, loaded=loaded, problems=problems(m.get_problems()),
             imported=imported("nitro_async_cache", "nitro_welcome"), markers=markers())
    """, marker_dir)
    assert not {"explodes", "good", "cache"} & set(out["names"])
    assert {"welcome", "audit", "misnamed"} <= set(out["names"])
    assert sorted(out["loaded"]) == ["audit", "welcome"]
    assert "nitro_ep_explodes" not in out["markers"]
    assert "nitro_ep_good" not in out["markers"]
    assert "nitro_ep_misnamed" in out["markers"]  # the control: an admitted one was imported
    assert out["imported"] == ["nitro_welcome"]
    assert not {"explodes", "good", "cache"} & {p["plugin"] for p in out["problems"]}


def test_real_allow_list_restricts_to_the_listed_names(extra_venv: Venv,
                                                       marker_dir: Path) -> None:
    out = run_in(extra_venv, """
        m = PluginManager(allow_list=["welcome"])
        names = m.discover_installed_plugins()
        loaded = m.load_all()
        emit(names=names, loaded=loaded, problems=problems(m.get_problems()),
             imported=imported("nitro_"), markers=markers())
    """, marker_dir)
    assert out["names"] == ["welcome"]
    assert out["loaded"] == ["welcome"]
    assert out["problems"] == []
    assert out["markers"] == []
    assert [m for m in out["imported"] if not m.startswith("nitro_dispatch")] == \
        ["nitro_welcome"]


def test_real_custom_entry_point_group(extra_venv: Venv, marker_dir: Path) -> None:
    out = run_in(extra_venv, """
        m = PluginManager(entry_point_group="myapp.plugins")
        names = m.discover_installed_plugins()
        loaded = m.load_all()
        source = m.get_plugin_source("myplug").as_dict()
        pong = m.trigger("myapp.ping", [])
        default = PluginManager()
        default_names = default.discover_installed_plugins()
        explicit = PluginManager().discover_installed_plugins(group="myapp.plugins")
        emit(names=names, loaded=loaded, source=source, pong=pong,
             version=m.get_plugin_version("myplug"), default_names=default_names,
             explicit=explicit, imported=imported(*%r))
    """ % (SAMPLE_MODULES,), marker_dir)
    assert out["names"] == ["myplug"]
    assert out["loaded"] == ["myplug"]
    assert out["pong"] == ["pong"]
    source = out["source"]
    assert (source["dist_name"], source["dist_version"]) == ("nitro-ep-myapp", "0.5.0")
    assert out["version"] == "3.1.4"  # the class's own version wins over the dist's
    assert "myplug" not in out["default_names"] and "welcome" in out["default_names"]
    assert out["explicit"] == ["myplug"]
    assert out["imported"] == []


def test_real_uninstall_and_reinstall_a_plugin_distribution(extra_venv: Venv) -> None:
    code = """
        m = PluginManager(allow_list=["welcome", "audit"])
        names = m.discover_installed_plugins()
        loaded = m.load_all()
        m2 = PluginManager(allow_list=["welcome", "audit"])
        m2.discover_installed_plugins()
        try:
            m2.load("audit")
            failure = None
        except Exception as exc:
            failure = [type(exc).__name__, str(exc)]
        emit(names=names, loaded=loaded, problems=problems(m.get_problems()), failure=failure)
    """
    extra_venv.pip_uninstall("nitro-welcome")
    try:
        gone = run_in(extra_venv, code)
    finally:
        extra_venv.pip_install(SAMPLE_PLUGINS_DIR / "nitro-welcome", no_deps=True)
    back = run_in(extra_venv, code)

    assert gone["names"] == ["audit"]
    assert gone["loaded"] == []
    # Its distribution's Requires-Dist is unmet (SPEC section 10), and its
    # class-level dependency is missing.
    [unmet] = [p for p in gone["problems"] if p["phase"] == "requirements"]
    assert "nitro-welcome is not installed" in unmet["message"]
    [problem] = [p for p in gone["problems"] if p["phase"] != "requirements"]
    assert problem["plugin"] == "audit" and problem["error_type"] == "DependencyError"
    assert "'welcome" in problem["message"] and "no plugin named" in problem["message"]
    assert gone["failure"][0] == "DependencyError"
    assert "welcome" in gone["failure"][1]

    assert sorted(back["names"]) == ["audit", "welcome"]
    assert back["loaded"] == ["welcome", "audit"]
    assert back["problems"] == [] and back["failure"] is None


# ---------------------------------------------------------------------------
# Fast tests: fake dist-info folders on sys.path
# ---------------------------------------------------------------------------

class FakeSite:
    """A site directory on ``sys.path`` whose module names start with
    ``prefix`` and whose distributions advertise ``group`` (both unique to
    the test)."""

    def __init__(self, directory: Path, prefix: str) -> None:
        self.directory = directory
        self.prefix = prefix
        self.group = "nitro_test." + prefix

    def module(self, suffix: str) -> str:
        """The real module name for ``suffix`` (or a ``suffix:attr`` value)."""
        return "%s_%s" % (self.prefix, suffix)

    def dist(self, dist_name: str, version: str, plugins: Mapping[str, str],
             modules: Mapping[str, str], group: Optional[str] = None) -> None:
        """Install ``dist_name`` advertising ``plugins`` (entry-point name ->
        ``"suffix:attr"``) and shipping ``modules`` (suffix -> source)."""
        for suffix, source in modules.items():
            write_module(self.directory, self.module(suffix), source)
        make_plugin_dist(self.directory, dist_name, version,
                         {n: self.module(v) for n, v in plugins.items()}, group or self.group)
        importlib.invalidate_caches()

    def manager(self, **kwargs: Any) -> PluginManager:
        kwargs.setdefault("entry_point_group", self.group)
        return PluginManager(**kwargs)

    def imported(self) -> List[str]:
        return sorted(m for m in sys.modules if m.startswith(self.prefix))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
         request: pytest.FixtureRequest) -> Iterator[FakeSite]:
    directory = tmp_path / "site"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    prefix = "nitro_ep_" + re.sub(r"\W+", "_", request.node.name).strip("_").lower()
    fake = FakeSite(directory, prefix)
    yield fake
    for name in fake.imported():
        del sys.modules[name]


def plugin(class_name: str, name: str, extra: str = "") -> str:
    """Module source of a plugin class; ``extra`` is its dedented body."""
    return plugin_module_source(class_name, name,
                                textwrap.indent(textwrap.dedent(extra), "    "))


def watch_errors(manager: PluginManager) -> List[Dict[str, Any]]:
    events: List[Dict[str, Any]] = []
    manager.register_hook(manager.EVENT_PLUGIN_ERROR, events.append)
    return events


def test_discovery_is_lazy_and_records_the_distribution(site: FakeSite) -> None:
    site.dist("acme-greeter", "2.3.4", {"greeter": "greet:Greeter"},
              {"greet": plugin("Greeter", "greeter")})
    manager = site.manager()

    assert manager.discover_installed_plugins() == ["greeter"]

    assert site.imported() == []
    source = manager.get_plugin_source("greeter")
    assert source.kind == "distribution"
    assert (source.dist_name, source.dist_version) == ("acme-greeter", "2.3.4")
    assert source.path == str(site.directory)
    assert (source.module, source.value) == (site.module("greet"),
                                             site.module("greet:Greeter"))
    assert manager.get_plugin_version("greeter") is None
    assert not manager.is_loaded("greeter")

    instance = manager.load("greeter")
    assert site.imported() == [site.module("greet")]
    assert type(instance).__module__ == site.module("greet")
    assert manager.get_plugin_version("greeter") == instance.version == "2.3.4"


def test_default_group_is_the_one_read_by_default(site: FakeSite) -> None:
    name = site.prefix + "_plugin"
    site.dist("acme-default", "1.0", {name: "mod:P"}, {"mod": plugin("P", name)},
              group=DEFAULT_GROUP)
    assert name in PluginManager().discover_installed_plugins()
    assert name not in site.manager().discover_installed_plugins()


def test_version_inherited_only_when_the_class_leaves_it_unset(site: FakeSite) -> None:
    site.dist("acme-inherits", "4.5.6", {"inherits": "a:A"}, {"a": plugin("A", "inherits")})
    site.dist("acme-own", "4.5.6", {"own": "b:B"},
              {"b": plugin("B", "own", "version = '0.9.1'\n")})
    manager = site.manager()
    loaded_versions: Dict[str, str] = {}
    manager.register_hook(manager.EVENT_PLUGIN_LOADED,
                          lambda d: loaded_versions.update({d["plugin_name"]: d["version"]}))
    manager.discover_installed_plugins()

    assert sorted(manager.load_all()) == ["inherits", "own"]

    expected = {"inherits": "4.5.6", "own": "0.9.1"}
    assert {n: manager.get_plugin_version(n) for n in expected} == expected
    assert {n: p.version for n, p in manager.get_all_plugins().items()} == expected
    assert loaded_versions == expected


BROKEN_CASES = {
    "missing-module": ({}, "ModuleNotFoundError"),
    "import-error": ({"bad": "raise ImportError('needs libfoo')\n"}, "needs libfoo"),
    "missing-attribute": ({"bad": "X = 1\n"}, "AttributeError"),
    "function": ({"bad": "def Bad():\n    pass\n"}, "not a PluginBase subclass"),
    "plain-class": ({"bad": "class Bad:\n    name = 'bad'\n"}, "not a PluginBase subclass"),
    "name-mismatch": ({"bad": plugin("Bad", "other")}, "'other'"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_CASES))
def test_broken_entry_point_names_its_distribution(site: FakeSite, case: str) -> None:
    modules, detail = BROKEN_CASES[case]
    site.dist("acme-bad", "0.7", {"bad": "bad:Bad"}, modules)
    site.dist("acme-fine", "1.0", {"fine": "fine:Fine"}, {"fine": plugin("Fine", "fine")})
    manager = site.manager()
    errors = watch_errors(manager)
    assert sorted(manager.discover_installed_plugins()) == ["bad", "fine"]

    checked = manager.check()
    assert [(p.plugin, p.phase) for p in checked] == [("bad", "import")]
    assert manager.get_loaded_plugins() == []

    assert manager.load_all() == ["fine"]
    [problem] = manager.get_problems()
    assert problem.plugin == "bad"
    assert problem.source is not None and problem.source.dist_name == "acme-bad"
    for text in (problem.message, checked[0].message):
        assert "acme-bad" in text and detail in text, text
    [event] = errors
    # One failure, one phase: the problem log, the error event and check().
    assert (event["plugin_name"], event["phase"]) == ("bad", "import")
    assert problem.phase == checked[0].phase == "import"
    assert "acme-bad" in event["message"] and "acme-bad" in str(event["error"])


def test_dependency_order_and_unsatisfied_version_across_distributions(
        site: FakeSite) -> None:
    site.dist("acme-top", "1.0", {"top": "top:Top"},
              {"top": plugin("Top", "top", "dependencies = ['base>=1,<2']\n")})
    site.dist("acme-base", "1.5", {"base": "base:Base"}, {"base": plugin("Base", "base")})
    site.dist("acme-future", "1.0", {"future": "fut:Future"},
              {"fut": plugin("Future", "future", "dependencies = ['base>=2']\n")})
    manager = site.manager()
    manager.discover_installed_plugins()

    assert manager.load_all() == ["base", "top"]

    [problem] = manager.get_problems()
    assert problem.plugin == "future" and isinstance(problem.error, DependencyError)
    assert problem.source is not None and problem.source.dist_name == "acme-future"
    for part in ("'future'", "base>=2", "1.5", "acme-base"):
        assert part in problem.message, problem.message


def test_duplicate_plugin_name_across_distributions(site: FakeSite) -> None:
    site.dist("acme-one", "1.0", {"dup": "one:Dup"}, {"one": plugin("Dup", "dup")})
    site.dist("acme-two", "2.0", {"dup": "two:Dup"}, {"two": plugin("Dup", "dup")})
    site.dist("acme-user", "1.0", {"user": "user:User"},
              {"user": plugin("User", "user", "dependencies = ['dup']\n")})
    manager = site.manager()
    errors = watch_errors(manager)

    assert manager.discover_installed_plugins() == ["user"]

    assert manager.get_registered_plugins() == ["user"]
    [conflict] = manager.get_problems()
    assert (conflict.plugin, conflict.phase) == ("dup", "conflict")
    assert "acme-one" in conflict.message and "acme-two" in conflict.message
    assert [(e["plugin_name"], e["phase"]) for e in errors] == [("dup", "conflict")]
    assert manager.load_all() == []
    user_problem = manager.get_problems()[-1]
    assert user_problem.plugin == "user" and isinstance(user_problem.error, DependencyError)
    assert "acme-one" in user_problem.message and "acme-two" in user_problem.message
    with pytest.raises(DependencyError, match="acme-one"):
        manager.load("user")
    assert site.module("one") not in sys.modules and site.module("two") not in sys.modules


def test_block_list_keeps_a_plugin_unimported(site: FakeSite) -> None:
    site.dist("acme-a", "1.0", {"alpha": "a:A"}, {"a": plugin("A", "alpha")})
    # Importing beta would fail and be reported: it must never be tried.
    site.dist("acme-b", "1.0", {"beta": "b:B"}, {"b": "raise RuntimeError('imported!')\n"})
    manager = site.manager(block_list=["beta"])

    assert manager.discover_installed_plugins() == ["alpha"]
    assert manager.load_all() == ["alpha"]
    assert manager.check() == []
    assert manager.get_problems() == []
    assert site.imported() == [site.module("a")]


def test_allow_list_restricts_to_the_listed_names(site: FakeSite) -> None:
    site.dist("acme-a", "1.0", {"alpha": "a:A"}, {"a": plugin("A", "alpha")})
    site.dist("acme-b", "1.0", {"beta": "b:B"}, {"b": "raise RuntimeError('imported!')\n"})
    site.dist("acme-c", "1.0", {"gamma": "c:C"}, {"c": plugin("C", "gamma")})
    manager = site.manager(allow_list=["alpha", "not-installed"])

    assert manager.discover_installed_plugins() == ["alpha"]
    assert manager.load_all() == ["alpha"]
    assert manager.get_problems() == []
    assert site.imported() == [site.module("a")]


def test_entry_point_group_is_configurable(site: FakeSite) -> None:
    other = site.group + ".other"
    site.dist("acme-a", "1.0", {"alpha": "a:A"}, {"a": plugin("A", "alpha")})
    site.dist("acme-b", "1.0", {"beta": "b:B"}, {"b": plugin("B", "beta")}, group=other)

    assert site.manager().discover_installed_plugins() == ["alpha"]
    assert site.manager(entry_point_group=other).discover_installed_plugins() == ["beta"]
    assert site.manager().discover_installed_plugins(group=other) == ["beta"]
    assert site.imported() == []


def test_discovering_twice_registers_nothing_twice(site: FakeSite) -> None:
    site.dist("acme-a", "1.0", {"alpha": "a:A"}, {"a": plugin("A", "alpha")})
    manager = site.manager()
    registered: List[str] = []
    manager.register_hook(manager.EVENT_PLUGIN_REGISTERED,
                          lambda d: registered.append(d["plugin_name"]))

    assert manager.discover_installed_plugins() == ["alpha"]
    assert manager.discover_installed_plugins() == []

    assert manager.get_registered_plugins() == ["alpha"]
    assert registered == ["alpha"]
    assert manager.get_problems() == []


def test_name_registered_in_code_first_keeps_its_registration(site: FakeSite) -> None:
    site.dist("acme-clash", "1.0", {"clash": "c:Clash"}, {"c": plugin("Clash", "clash")})

    class Clash(PluginBase):
        name = "clash"

    manager = site.manager()
    errors = watch_errors(manager)
    manager.register(Clash)

    assert manager.discover_installed_plugins() == []

    assert manager.get_plugin_source("clash").kind == "class"
    [problem] = manager.get_problems()
    assert (problem.plugin, problem.phase) == ("clash", "conflict")
    assert "acme-clash" in problem.message and "class" in problem.message
    assert [(e["plugin_name"], e["phase"]) for e in errors] == [("clash", "conflict")]
    assert manager.load_all() == ["clash"]
    assert type(manager.get_plugin("clash")) is Clash
    assert site.imported() == []


def test_check_imports_but_loads_nothing(site: FakeSite) -> None:
    site.dist("acme-a", "1.0", {"alpha": "a:A"},
              {"a": "CALLS = []\n" + plugin("A", "alpha", """
                   def on_load(self):
                       CALLS.append("on_load")
                   """)})
    site.dist("acme-bad", "1.0", {"bad": "bad:Bad"}, {"bad": "Bad = 42\n"})
    manager = site.manager()
    manager.discover_installed_plugins()

    problems = manager.check()

    assert [(p.plugin, p.phase) for p in problems] == [("bad", "import")]
    assert "acme-bad" in problems[0].message
    assert manager.get_loaded_plugins() == []
    assert sys.modules[site.module("a")].CALLS == []  # type: ignore[attr-defined]
    assert manager.get_plugin_version("alpha") == "1.0"
    assert manager.load_all() == ["alpha"]
    assert sys.modules[site.module("a")].CALLS == ["on_load"]  # type: ignore[attr-defined]
