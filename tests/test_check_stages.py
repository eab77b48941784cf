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


EVENTS_MODULE = '''\
from nitro_dispatch import event_spec


class Events:
    @event_spec("app.request")
    def request(data):
        "A request."
'''

HOOKS_PLUGIN = '''\
import sys
sys.modules["test_requirements"].IMPORTED.append(%(module)r)
from nitro_dispatch import PluginBase, hook


class Plugin(PluginBase):
    name = %(name)r

%(body)s
'''


def hooked(folder: Path, module: str, name: str, body: str) -> None:
    text = HOOKS_PLUGIN % {"module": module, "name": name, "body": body}
    (folder / (module + ".py")).write_text(text)


def test_check_and_events_never_import_what_metadata_refuses(
        site: Path, capsys: Any) -> None:  # noqa: F811
    from nitro_dispatch.cli import main

    group = "ndtest.chk.host"
    dist(site, "ndtest-host", "2.1")
    make_dist_info(site, "ndtest-host-events", "1.0",
                   {"nitro_dispatch.events": {"app": "ndtest_host_events:Events"}})
    (site / "ndtest_host_events.py").write_text(EVENTS_MODULE)
    dist(site, "ndtest-old", "1.0", group=group, plugins={"old": "ndtest_hostold:Plugin"},
         requires=["ndtest-host>=3"])
    dist(site, "ndtest-fits", "1.0", group=group, plugins={"fits": "ndtest_hostfits:Plugin"},
         requires=["ndtest-host>=2"])
    report = check_plugins(group, host="ndtest-host")
    assert found(report) == {("old", "static", "compatibility")}
    assert IMPORTED == ["ndtest_hostfits"]  # checked; the incompatible one never imported
    assert main(["check", "--group", group, "--host", "ndtest-host"]) == 1
    assert "old" in capsys.readouterr().out
    assert main(["events", "--group", group, "--host", "ndtest-host"]) == 0
    assert "app.request" in capsys.readouterr().out
    assert IMPORTED == ["ndtest_hostfits"]


REFUSED_HOOKS = '''\
    @hook("app.request")
    def no_data(self):
        return None

    @hook("app.request", wrapper=True)
    def not_a_generator(self, data):
        return data

    @hook("app.request", priority="high")
    def string_priority(self, data):
        return data

    @hook("app.request")
    def fine(self, data):
        return data
'''


def test_plain_check_reports_every_hook_registration_refuses(
        site: Path, capsys: Any) -> None:  # noqa: F811
    import json

    from nitro_dispatch.cli import main

    group = "ndtest.chk.hooks"
    make_dist_info(site, "ndtest-refused", "1.0", {group: {"refused": "ndtest_refused:Plugin"}})
    hooked(site, "ndtest_refused", "refused", REFUSED_HOOKS)
    report = check_plugins(group)
    problems = [(p.plugin, p.stage, p.phase) for p in report.problems]
    assert problems == [("refused", "import", "validation")] * 3
    messages = " | ".join(p.message for p in report.problems)
    for method in ("no_data", "not_a_generator", "string_priority"):
        assert method in messages
    assert "fine" not in messages
    # The application refuses it with the same phase, and check --json says so.
    manager = PluginManager(entry_point_group=group)
    manager.discover_installed_plugins()
    assert manager.load_all() == []
    [problem] = manager.get_problems()
    assert (problem.plugin, problem.phase) == ("refused", "validation")
    assert problem.message in messages
    assert main(["check", "--json", "--group", group]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [(p["plugin"], p["phase"]) for p in data["problems"]] == [("refused", "validation")] * 3
    # events does not abort on the string priority: it reports the refused hooks.
    make_dist_info(site, "ndtest-refused-events", "1.0",
                   {"ndtest.chk.hooks.events": {"app": "ndtest_refused_events:Events"}})
    (site / "ndtest_refused_events.py").write_text(EVENTS_MODULE)
    assert main(["events", "--json", "--group", group,
                 "--events-group", "ndtest.chk.hooks.events"]) == 1
    data = json.loads(capsys.readouterr().out)
    [event] = data["events"]
    assert [(h["plugin"], h["method"]) for h in event["hooks"]] == [("refused", "fine")]
    refused = data["problems"]
    assert [(p["plugin"], p["phase"]) for p in refused] == [("refused", "validation")] * 3
    for method, problem in zip(("no_data", "not_a_generator", "string_priority"), refused):
        assert "(hook Plugin.%s)" % (method,) in problem["message"]


BROKEN_ENTRY_POINTS = {
    "import-error": ("ndtest_ep_raises", "raise ImportError('needs libfoo')\n"),
    "name-mismatch": ("ndtest_ep_other", "from nitro_dispatch import PluginBase\n\n\n"
                                         "class Plugin(PluginBase):\n    name = 'other'\n"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_ENTRY_POINTS))
def test_one_failure_has_one_phase_everywhere(site: Path, capsys: Any,  # noqa: F811
                                              case: str) -> None:
    import json

    from nitro_dispatch.cli import main

    group = "ndtest.chk.phase." + case
    module, source = BROKEN_ENTRY_POINTS[case]
    make_dist_info(site, "ndtest-broken-ep", "1.0", {group: {"broken": module + ":Plugin"}})
    (site / (module + ".py")).write_text(source)
    manager = PluginManager(entry_point_group=group)
    errors: List[Any] = []
    manager.register_hook("nitro.plugin.error", errors.append)
    manager.discover_installed_plugins()
    checked = manager.check()
    assert manager.load_all() == []
    [problem] = manager.get_problems()
    [event] = errors
    assert main(["check", "--json", "--group", group]) == 1
    [cli_problem] = json.loads(capsys.readouterr().out)["problems"]
    assert {problem.phase, event["phase"], cli_problem["phase"]} == {"import"}
    assert [p.phase for p in checked] == ["import"]
