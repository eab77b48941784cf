"""``check_plugins`` in stages and ``reload`` re-reading metadata (SPEC
section 10), in process, with fake ``*.dist-info`` folders on ``sys.path``
and drop-in directories; modules record their import.  The command line
over real installs is in ``test_packaging_contract.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, List, Set, Tuple

import pytest

from fixtures import make_dist_info
from nitro_dispatch import PluginLoadError, PluginManager
from nitro_dispatch._check import check_plugins, near_miss_groups
from test_requirements import IMPORTED, dist, site  # noqa: F401  (fixture)

DROPIN = '''\
import sys
sys.modules[%r].IMPORTED.append(%r)
from nitro_dispatch import PluginBase


class Plugin(PluginBase):
    name = %r
'''


def found(report: Any) -> Set[Tuple[Any, str, str]]:
    return {(p.plugin, p.stage, p.phase) for p in report.problems}


def test_static_stage_imports_nothing(site: Path, tmp_path: Path) -> None:  # noqa: F811
    group = "ndtest.chk.plugins"
    dist(site, "ndtest-chk-a", "1.0", group=group, plugins={"Chk_A": "ndtest_chk_a:Plugin"})
    dist(site, "ndtest-chk-new", "1.0", group=group, plugins={"chknew": "ndtest_chknew:Plugin"},
         requires=["nitro-dispatch>=99"])
    dist(site, "ndtest-chk-typo", "1.0", group="ndtest.chk.plugin",
         plugins={"typo": "ndtest_typo:Plugin"})
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "clash_plugin.py").write_text(DROPIN % ("test_requirements", "clash", "chk-a"))
    (drop / "bad_plugin.py").write_text("class (:\n")
    report = check_plugins(group, [str(drop)], stage="static",
                           allow_list=["chk_a", "chknew", "chknwe"])
    assert found(report) == {("chk-a", "static", "conflict"), (None, "static", "discovery"),
                             ("chknew", "static", "compatibility"),
                             (None, "static", "configuration")}
    config = sorted(p.message for p in report.problems if p.phase == "configuration")
    assert config == [  # "chk_a" allows "Chk_A": list names compare canonically
        "allow-list name 'chknwe' matches no installed or drop-in plugin; did you mean "
        "'chknew'?",
        "entry-point group 'ndtest.chk.plugin' (used by ndtest-chk-typo) is within two "
        "edits of 'ndtest.chk.plugins', the group in use: its plugins are never found; a "
        "typo?"]
    assert IMPORTED == []
    assert all(p.severity == "error" for p in report.problems)
    manager = PluginManager(entry_point_group=group, allow_list=["chk_a"], block_list=["CHKNEW"])
    assert manager.discover_installed_plugins() == ["Chk_A"]


def test_import_and_load_stages(site: Path, tmp_path: Path) -> None:  # noqa: F811
    group = "ndtest.chk2"
    dist(site, "ndtest-chk-ok", "1.0", group=group, plugins={"chkok": "ndtest_chkok:Plugin"})
    (site / "ndtest_chkok.py").write_text(
        (site / "ndtest_chkok.py").read_text() + "    version = '2.0'\n")
    dist(site, "ndtest-chk-bad", "1.0", group=group, plugins={"chkbad": "ndtest_chkbad:Plugin"})
    (site / "ndtest_chkbad.py").write_text("x = 1\n\nraise ValueError('no')\n")
    dist(site, "ndtest-chk-boom", "1.0", group=group, plugins={"chkboom": "ndtest_chkboom:Boom"})
    (site / "ndtest_chkboom.py").write_text(
        (site / "ndtest_chkboom.py").read_text()
        + "    def on_load(self):\n        raise RuntimeError('boom')\n")
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "oops_plugin.py").write_text("import os\nraise KeyError('oops')\n")
    plain = check_plugins(group, [str(drop)])
    [oops] = [p for p in plain.problems if p.phase == "discovery"]
    assert (oops.stage, oops.file, oops.lineno) == ("import", str(drop / "oops_plugin.py"), 2)
    plain = check_plugins(group)
    assert found(plain) == {("chkbad", "import", "import"), ("chkok", "import", "drift")}
    [bad] = [p for p in plain.problems if p.phase == "import"]
    assert bad.file == str(site / "ndtest_chkbad.py") and bad.lineno == 3
    [drift] = plain.warnings
    assert drift.message == ("plugin 'chkok' from distribution ndtest-chk-ok 1.0: the class "
                             "sets version '2.0', but its distribution is 1.0; 1.0 is used "
                             "for dependencies")
    assert [p.plugin for p in plain.errors] == ["chkbad"]
    loaded = check_plugins(group, stage="load")
    assert found(loaded) == found(plain) | {("chkboom", "load", "load")}
    with pytest.raises(ValueError):
        check_plugins(group, stage="everything")


def test_near_miss_groups_ignore_distant_groups(site: Path) -> None:  # noqa: F811
    make_dist_info(site, "ndtest-nm", "1.0", {"ndtest.nm.plugins": {"x": "m:X"},
                                              "ndtest.nm.plugins.extra": {"y": "m:Y"},
                                              "ndtest.nm.plugns": {"z": "m:Z"}})
    messages = near_miss_groups("ndtest.nm.plugins", [str(site)])
    assert len(messages) == 1 and "'ndtest.nm.plugns' (used by ndtest-nm)" in messages[0]


def test_reload_rereads_metadata_and_refuses_what_it_no_longer_accepts(
        site: Path) -> None:  # noqa: F811
    group = "ndtest.chk.reload"
    folder = dist(site, "ndtest-rl", "1.0", group=group, plugins={"rl": "ndtest_rl:Plugin"})
    manager = PluginManager(entry_point_group=group, host="ndtest-rlhost")
    manager.discover_installed_plugins()
    first = manager.load("rl")
    assert first.version == "1.0"
    # An upgrade: the metadata folder is replaced, the module moves.
    shutil.rmtree(folder)
    dist(site, "ndtest-rl", "1.1", group=group, plugins={"rl": "ndtest_rl2:Plugin"})
    second = manager.reload("rl")
    assert second.version == "1.1" and type(second).__module__ == "ndtest_rl2"
    source = manager.get_plugin_source("rl")
    assert (source.dist_version, source.value) == ("1.1", "ndtest_rl2:Plugin")
    # Now it needs a host that is not installed: refused, 1.1 stays.
    shutil.rmtree(site / "ndtest_rl-1.1.dist-info")
    dist(site, "ndtest-rl", "1.2", group=group, plugins={"rl": "ndtest_rl2:Plugin"},
         requires=["ndtest-rlhost>=1"])
    with pytest.raises(PluginLoadError, match="ndtest-rlhost is not installed"):
        manager.reload("rl")
    assert manager.get_plugin("rl") is second
    assert manager.get_plugin_source("rl").dist_version == "1.1"
    # Uninstalled: refused, 1.1 stays.
    shutil.rmtree(site / "ndtest_rl-1.2.dist-info")
    with pytest.raises(PluginLoadError, match="no longer installed"):
        manager.reload("rl")
    assert manager.get_plugin("rl") is second
    phases: List[str] = [p.phase for p in manager.get_problems()]
    assert phases == ["compatibility", "reload", "reload"]


def test_check_command_output_and_usage_errors(site: Path, capsys: Any) -> None:  # noqa: F811
    from nitro_dispatch.cli import main

    group = "ndtest.chk.cli"
    dist(site, "ndtest-cli-ok", "1.0", group=group, plugins={"cliok": "ndtest_cliok:Plugin"})
    (site / "ndtest_cliok.py").write_text(
        (site / "ndtest_cliok.py").read_text() + "    version = '3.0'\n")
    dist(site, "ndtest-cli-bad", "1.0", group=group, plugins={"clibad": "ndtest_clibad:Plugin"})
    (site / "ndtest_clibad.py").write_text("raise ImportError('gone')\n")
    assert main(["check", "--group", group]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "2 plugins checked, 1 problem, 1 warning"
    assert any(line.startswith("clibad (distribution ndtest-cli-bad 1.0): ") and
               line.endswith("(at %s:1)" % (site / "ndtest_clibad.py",)) for line in out)
    assert any(line.startswith("warning: cliok (distribution ndtest-cli-ok 1.0): ")
               for line in out)
    (site / "ndtest_clibad.py").write_text(
        "from nitro_dispatch import PluginBase\n\nclass Plugin(PluginBase):\n"
        "    name = 'clibad'\n")
    assert main(["check", "--group", group]) == 0  # a warning alone is not a problem
    assert main(["check", "--static", "--load"]) == 2
    assert main(["check", "--host", " "]) == 2
    assert "--host needs a distribution name" in capsys.readouterr().err
