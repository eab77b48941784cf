"""Distribution metadata decides what loads (SPEC section 10), in process:
fake ``*.dist-info`` folders with ``Requires-Dist`` headers on ``sys.path``
(``tests/fixtures.py``), each test with its own entry-point group and
modules that record their import.  Real installs are in
``test_packaging_contract.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence

import pytest

import nitro_dispatch
from fixtures import make_dist_info, write_module
from nitro_dispatch import (PHASES, DependencyError, PluginBase, PluginLoadError, PluginManager,
                            PluginRegistrationError)
from nitro_dispatch._distributions import list_with_index
from nitro_dispatch._requirements import check_distributions
from nitro_dispatch.testing import make_distribution

IMPORTED: List[str] = []


def dist(site: Path, name: str, version: str, *, plugins: Mapping[str, str] = {},
         group: str = "", requires: Sequence[str] = ()) -> Path:
    """A distribution with ``Requires-Dist`` headers; its plugin modules
    append their name to ``IMPORTED`` of this test module when imported."""
    folder = make_distribution(site, name, version, plugins=plugins, group=group,
                               requires=requires)
    for plugin, value in plugins.items():
        module, _, cls = value.partition(":")
        write_module(site, module, (
            "import sys\n"
            "sys.modules[%r].IMPORTED.append(%r)\n"
            "from nitro_dispatch import PluginBase\n\n"
            "class %s(PluginBase):\n"
            "    name = %r\n" % (__name__, module, cls, plugin)))
    return folder


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    IMPORTED.clear()
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def phases(manager: PluginManager) -> Dict[str, List[str]]:
    out: Dict[str, List[str]] = {}
    for problem in manager.get_problems():
        out.setdefault(problem.phase, []).append(problem.message)
    return out


def test_host_and_nitro_dispatch_requirements_make_a_plugin_incompatible(site: Path) -> None:
    group = "ndtest.req.compat"
    dist(site, "ndtest-app", "2.1")
    dist(site, "ndtest-old", "1.0", group=group, plugins={"old": "ndtest_old:Old"},
         requires=["ndtest-app>=3"])
    dist(site, "ndtest-fw", "1.0", group=group, plugins={"fw": "ndtest_fw:Fw"},
         requires=["nitro-dispatch>=99"])
    dist(site, "ndtest-fits", "1.0", group=group, plugins={"fits": "ndtest_fits:Fits"},
         requires=["NDTest_App>=2,<3", "nitro_dispatch>=1.0"])
    errors: List[Dict[str, Any]] = []
    manager = PluginManager(entry_point_group=group, host="ndtest-app")
    manager.register_hook(manager.EVENT_PLUGIN_ERROR, errors.append)
    assert sorted(manager.discover_installed_plugins()) == ["fits", "fw", "old"]
    assert phases(manager) == {"compatibility": [
        "plugin 'fw' (distribution ndtest-fw 1.0) requires nitro-dispatch>=99, but "
        "nitro-dispatch %s is installed" % (nitro_dispatch.__version__,),
        "plugin 'old' (distribution ndtest-old 1.0) requires ndtest-app>=3, but ndtest-app "
        "2.1 is installed"]}
    assert [e["phase"] for e in errors] == ["compatibility", "compatibility"]
    with pytest.raises(DependencyError, match="requires ndtest-app>=3, but ndtest-app 2.1"):
        manager.load("old")
    assert manager.load_all() == ["fits"]
    assert IMPORTED == ["ndtest_fits"]  # the incompatible ones never ran
    # Reported once, at discovery, not again by load_all.
    assert len(manager.get_problems()) == 2


def test_host_not_installed(site: Path) -> None:
    group = "ndtest.req.hostless"
    dist(site, "ndtest-needy", "1.0", group=group, plugins={"needy": "ndtest_needy:Needy"},
         requires=["ndtest-hostapp>=1"])
    manager = PluginManager(entry_point_group=group, host="ndtest-hostapp")
    manager.discover_installed_plugins()
    [problem] = manager.get_problems()
    assert problem.phase == "compatibility"
    assert problem.message == ("plugin 'needy' (distribution ndtest-needy 1.0) requires "
                               "ndtest-hostapp>=1, but ndtest-hostapp is not installed")
    assert manager.load_all() == [] and IMPORTED == []
    # Without host=, the same requirement is an ordinary one: reported, loads.
    other = PluginManager(entry_point_group=group)
    other.discover_installed_plugins()
    assert [p.phase for p in other.get_problems()] == ["requirements"]
    assert other.load_all() == ["needy"] and IMPORTED == ["ndtest_needy"]


def test_third_party_requirements_markers_extras_and_prereleases(site: Path) -> None:
    group = "ndtest.req.third"
    dist(site, "ndtest-pre", "1.1rc1")
    dist(site, "ndtest-lib", "0.5")
    dist(site, "ndtest-many", "1.0", group=group, plugins={"many": "ndtest_many:Many"},
         requires=["ndtest-pre>=1.0",  # a pre-release satisfies
                   "ndtest-never>=1; python_version < '3'",  # marker false here
                   "ndtest-never; extra == 'fancy'",  # an extra's requirement: skipped
                   "ndtest-lib>=1",  # unmet
                   "ndtest-absent",  # unmet: not installed
                   "not a requirement !!"])  # malformed
    manager = PluginManager(entry_point_group=group)
    manager.discover_installed_plugins()
    found = phases(manager)
    assert found["requirements"] == [
        "plugin 'many' (distribution ndtest-many 1.0) requires ndtest-lib>=1, but ndtest-lib "
        "0.5 is installed",
        "plugin 'many' (distribution ndtest-many 1.0) requires ndtest-absent, but "
        "ndtest-absent is not installed"]
    [malformed] = found["validation"]
    assert "malformed requirement 'not a requirement !!'" in malformed
    assert set(found) == {"requirements", "validation"}
    assert manager.load_all() == ["many"]  # unmet requirements do not refuse by default
    strict = PluginManager(entry_point_group=group, verify_requirements=True)
    strict.discover_installed_plugins()
    with pytest.raises(DependencyError, match="verify_requirements is on"):
        strict.load("many")


def test_dependencies_declared_only_in_metadata(site: Path) -> None:
    group = "ndtest.req.deps"
    dist(site, "ndtest-zbase", "2.0", group=group, plugins={"zbase": "ndtest_zbase:ZBase"})
    dist(site, "ndtest-user", "1.0", group=group, plugins={"auser": "ndtest_user:AUser"},
         requires=["ndtest-zbase>=2"])
    dist(site, "ndtest-picky", "1.0", group=group, plugins={"apicky": "ndtest_picky:APicky"},
         requires=["ndtest-zbase>=3"])
    dist(site, "ndtest-cyca", "1.0", group=group, plugins={"cyca": "ndtest_cyca:CycA"},
         requires=["ndtest-cycb"])
    dist(site, "ndtest-cycb", "1.0", group=group, plugins={"cycb": "ndtest_cycb:CycB"},
         requires=["ndtest-cyca"])
    dist(site, "ndtest-ontop", "1.0", group=group, plugins={"aontop": "ndtest_ontop:AOnTop"},
         requires=["ndtest-cyca"])
    manager = PluginManager(entry_point_group=group)
    manager.discover_installed_plugins()
    found = phases(manager)
    assert found == {"dependency": [
        "plugin 'apicky' (distribution ndtest-picky 1.0) requires ndtest-zbase>=3, but "
        "ndtest-zbase 2.0 is installed",
        "plugin 'cyca' (distribution ndtest-cyca 1.0) its distribution is in a dependency "
        "cycle: ndtest-cyca -> ndtest-cycb -> ndtest-cyca",
        "plugin 'cycb' (distribution ndtest-cycb 1.0) its distribution is in a dependency "
        "cycle: ndtest-cyca -> ndtest-cycb -> ndtest-cyca"]}
    assert manager.load_all() == ["zbase", "auser"]  # registered "auser" first
    assert sorted(IMPORTED) == ["ndtest_user", "ndtest_zbase"]  # decided before import
    with pytest.raises(DependencyError, match="which cannot load"):
        manager.load("aontop")
    assert "ndtest_ontop" not in IMPORTED
    assert manager.get_plugin("auser") is not None
    # Unloading the dependency first unloads its dependent by metadata.
    manager.unload("zbase")
    assert manager.get_loaded_plugins() == []


def test_canonical_names_conflict_from_discovery_and_register(site: Path) -> None:
    group = "ndtest.req.names"
    dist(site, "ndtest-foo1", "1.0", group=group, plugins={"Foo_Bar": "ndtest_foo1:Foo1"})
    dist(site, "ndtest-foo2", "1.0", group=group, plugins={"foo-bar": "ndtest_foo2:Foo2"})
    manager = PluginManager(entry_point_group=group)
    assert manager.discover_installed_plugins() == []
    [problem] = manager.get_problems()
    assert problem.phase == "conflict"
    assert "ndtest-foo1 1.0 as 'Foo_Bar'" in problem.message
    assert "ndtest-foo2 1.0 as 'foo-bar'" in problem.message
    assert IMPORTED == []

    class One(PluginBase):
        name = "Foo_Bar"

    class Two(PluginBase):
        name = "foo.bar"

    other = PluginManager()
    other.register(One)
    with pytest.raises(PluginRegistrationError, match="same as 'Foo_Bar'"):
        other.register(Two)
    other.unregister("Foo_Bar")
    assert other.register(Two) == "foo.bar"


def test_invalid_distribution_version(site: Path) -> None:
    group = "ndtest.req.badversion"
    dist(site, "ndtest-weird", "1.0-weird-thing", group=group,
         plugins={"weird": "ndtest_weird:Weird"})
    manager = PluginManager(entry_point_group=group)
    manager.discover_installed_plugins()
    [problem] = manager.get_problems()
    assert problem.phase == "validation"
    assert "version '1.0-weird-thing' is not a valid PEP 440 version" in problem.message
    with pytest.raises(PluginLoadError, match="not a valid PEP 440"):
        manager.load("weird")
    assert IMPORTED == []
    lax = PluginManager(entry_point_group=group, validate_metadata=False)
    lax.discover_installed_plugins()
    assert lax.load_all() == ["weird"]


def test_distribution_version_is_used_for_dependencies(site: Path) -> None:
    group = "ndtest.req.drift"
    dist(site, "ndtest-drift", "1.0", group=group, plugins={"drift": "ndtest_drift:Drift"})
    # The class says 9.0 (its module sets it below); the distribution says 1.0.
    module = site / "ndtest_drift.py"
    module.write_text(module.read_text() + "    version = '9.0'\n")

    class Needs(PluginBase):
        name = "needs"
        dependencies = ["drift>=2"]

    manager = PluginManager(entry_point_group=group)
    manager.discover_installed_plugins()
    manager.register(Needs)
    with pytest.raises(DependencyError, match="found drift 1.0"):
        manager.load("needs")


def test_requirements_and_versions_come_from_the_listing_records(site: Path) -> None:
    group = "ndtest.req.records"
    dist(site, "ndtest-rec", "3.0", group=group, plugins={"rec": "ndtest_rec:Rec"},
         requires=["ndtest-other>=1", "ndtest-eggy"])
    dist(site, "ndtest-other", "1.5")
    egg = make_dist_info(site, "ndtest-eggy", "0.7", egg_info=True, folder="ndtest_eggy.egg-info")
    assert egg.name == "ndtest_eggy.egg-info"  # no version in the name: read from PKG-INFO
    for _ in range(2):  # a scan, then (where the cache keeps it) the cache
        index: List[Any] = []
        [item] = list_with_index(group, [str(site)], index)
        assert item.requires == ("ndtest-other>=1", "ndtest-eggy")
        reports = check_distributions([item], index)
        report = reports["ndtest_rec"]
        assert (report.unmet, report.incompatible, report.plugins) == ([], [], ["rec"])
    assert nitro_dispatch.list_installed_plugins(group, [str(site)])[0].to_dict()["requires"] \
        == ["ndtest-other>=1", "ndtest-eggy"]


def test_phase_names_are_documented() -> None:
    assert {"discovery", "conflict", "configuration", "compatibility", "requirements",
            "validation", "dependency", "import", "drift", "event", "load", "hook",
            "unload", "reload"} == set(PHASES)
    assert all(isinstance(text, str) and text for text in PHASES.values())


def test_list_dropin_plugins_reads_without_running(tmp_path: Path) -> None:
    (tmp_path / "a_plugin.py").write_text(
        "raise SystemExit('must not run')\n"
        "from nitro_dispatch import PluginBase\n"
        "class A(PluginBase):\n    name = 'a'\n    version = '2.0'\n")
    (tmp_path / "broken_plugin.py").write_text("class (:\n")
    errors: List[Any] = []
    [found] = nitro_dispatch.list_dropin_plugins([tmp_path], errors=errors)
    assert (found.name, found.version, found.class_name, found.lineno) == ("a", "2.0", "A", 3)
    assert found.path == str(tmp_path / "a_plugin.py")
    [(path, message)] = errors
    assert path.endswith("broken_plugin.py") and "SyntaxError" in message
    with pytest.raises(TypeError):
        nitro_dispatch.list_dropin_plugins(str(tmp_path))  # type: ignore[arg-type]
    assert "a_plugin" not in " ".join(sys.modules)


def test_a_requirement_is_judged_by_the_first_installed_copy_on_the_path(
        site: Path, tmp_path_factory: pytest.TempPathFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # importlib.metadata's choice: the first distribution of a name in path
    # order, and within one folder the first it lists.
    group = "ndtest.req.shadowed"
    later = tmp_path_factory.mktemp("later-site")
    monkeypatch.syspath_prepend(str(later))
    monkeypatch.syspath_prepend(str(site))  # site first, then later
    dist(site, "ndtest-base", "1.0")
    dist(later, "ndtest-base", "2.0")
    dist(site, "ndtest-wants", "1.0", group=group, plugins={"wants": "ndtest_wants:Wants"},
         requires=["ndtest-base>=2"])
    manager = PluginManager(entry_point_group=group)
    manager.discover_installed_plugins()
    assert [p.message for p in manager.get_problems()] == [
        "plugin 'wants' (distribution ndtest-wants 1.0) requires ndtest-base>=2, but "
        "ndtest-base 1.0 is installed"]
    assert importlib_metadata_version("ndtest-base") == "1.0"  # what importlib sees too


def importlib_metadata_version(name: str) -> str:
    import importlib.metadata

    return importlib.metadata.version(name)
