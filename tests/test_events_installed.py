"""Published declarations: distributions pip-installed into a real venv
advertise their events under ``nitro_dispatch.events``;
``declare_installed_events`` declares them, and the ``nitro-dispatch``
command's ``events`` and ``check`` read them (run as processes)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, List

import pytest

from venv_support import PROJECT, SAMPLE_PLUGINS_DIR, Venv, make_plugin_project, sample_plugin_dirs
from venv_support import venv_factory_fixture  # noqa: F401  (real venvs, pip-installed)

EVENTS = "nitro_dispatch.events"

TYPO_PLUGIN = """
from nitro_dispatch import PluginBase, hook


class TypoPlugin(PluginBase):
    name = "typo"

    @hook("app.reqest")
    def on_request(self, data):
        return data

    @hook("app.menu")
    def entry(self, data):
        return "typo entry"
"""

CONFLICT_SPEC = """
from nitro_dispatch import event_spec


@event_spec("app.menu", mode="first")
def menu(data):
    'A different idea of the menu.'


@event_spec("other.thing")
def thing(data):
    'Never declared: this module conflicts with nitro-demo-events.'
"""

EXTRA_SPEC = """
from nitro_dispatch import event_spec


@event_spec("extra.ping", mode="collect")
def ping(data):
    'Who is there?'
"""


@pytest.fixture(scope="module")
def events_venv(venv_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """nitro-dispatch, the sample plugins, the demo's declarations, a plugin
    with a typo, a declarations module (a module, not a class), a
    distribution whose declarations conflict (read later: declarations are
    read in entry-point name order), and one whose entry point does not
    import."""
    root = tmp_path_factory.mktemp("event-projects")
    typo = make_plugin_project(root / "typo", "ndtest-typo", "0.1.0",
                               {"typo": "ndtest_typo:TypoPlugin"}, {"ndtest_typo": TYPO_PLUGIN})
    extra = make_plugin_project(root / "extra", "ndtest-extra-events", "2.0.0",
                                {"extra": "ndtest_extra_events"},
                                {"ndtest_extra_events": EXTRA_SPEC}, group=EVENTS)
    conflict = make_plugin_project(root / "conflict", "ndtest-conflict", "0.2.0",
                                   {"zz-conflict": "ndtest_conflict"},  # read after "demo"
                                   {"ndtest_conflict": CONFLICT_SPEC}, group=EVENTS)
    broken = make_plugin_project(root / "broken", "ndtest-broken-events", "0.3.0",
                                 {"broken": "ndtest_missing_module:Events"},
                                 {"ndtest_broken_placeholder": ""}, group=EVENTS)
    venv: Venv = venv_factory("events-venv", PROJECT, *sample_plugin_dirs(),
                              SAMPLE_PLUGINS_DIR / "nitro-demo-events", typo, extra,
                              conflict, broken)
    return venv


def cli(venv: Venv, *args: str) -> Any:
    return venv.run(["-m", "nitro_dispatch", *args], check=False)


def hooked_by(lines: List[str], start: int) -> str:
    """The 'hooked by' line of the event whose block starts at ``start``."""
    for line in lines[start + 1:]:
        if line.startswith("    hooked by: "):
            return line[len("    hooked by: "):]
    raise AssertionError("no 'hooked by' line")


def test_declare_installed_events_in_the_venv(events_venv: Venv) -> None:
    out = events_venv.run_json("""
        import json
        from nitro_dispatch import PluginManager
        m = PluginManager()
        names = m.declare_installed_events()
        specs = {n: [s.mode, s.historic, s.doc] for n, s in m.get_event_specs().items()}
        problems = [[p.phase, p.message, p.source.dist_name] for p in m.get_problems()]
        print(json.dumps({"names": names, "specs": specs, "problems": problems}))
    """)
    assert out["names"] == ["app.started", "app.request", "app.menu", "greeting", "cache.set",
                            "cache.get", "cache.clear", "cache.lookup", "extra.ping"]
    assert out["specs"]["app.started"][:2] == ["chain", True]
    assert out["specs"]["app.menu"][:2] == ["collect", False]
    assert out["specs"]["cache.lookup"][:2] == ["first", False]
    assert out["specs"]["extra.ping"] == ["collect", False, "Who is there?"]
    assert "other.thing" not in out["specs"]  # all or nothing per distribution
    phases = sorted((p[2], p[0]) for p in out["problems"])
    assert phases == [("ndtest-broken-events", "event"), ("ndtest-conflict", "event")]
    messages = " | ".join(p[1] for p in out["problems"])
    assert "event declarations 'broken' (ndtest_missing_module:Events) from distribution " \
           "ndtest-broken-events 0.3.0 cannot be used: ModuleNotFoundError" in messages
    assert "'app.menu' is already declared with mode='collect', historic=False by " \
           "distribution nitro-demo-events 1.0.0" in messages


def test_the_sample_application_runs_its_declared_modes(events_venv: Venv) -> None:
    out = events_venv.run_json("""
        import asyncio, json
        from nitro_dispatch import PluginManager
        m = PluginManager(config={"welcome": {"greeting": "Hi"}}, block_list=["typo"])
        m.declare_installed_events()
        m.trigger("app.started", {"app": "Shop"})
        m.discover_installed_plugins()
        m.load_all()
        request = m.trigger("app.request", {"user": "ada"})
        menu = m.trigger("app.menu", None)
        async def cache():
            await m.trigger_async("cache.set", {"key": "k", "value": 7})
            return [await m.trigger_async("cache.lookup", "k"),
                    await m.trigger_async("cache.lookup", "nope")]
        looked = asyncio.run(cache())
        audit = m.get_plugin("audit")
        print(json.dumps({"request": request, "menu": menu, "looked": looked,
                          "timings": len(audit.timings), "records": audit.records,
                          "app": m.get_plugin("welcome").app_name,
                          "problems": [p.message for p in m.get_problems()
                                       if p.phase == "event" and p.plugin]}))
    """)
    assert out["request"] == {"user": "ada", "greeting": "Hi, ada!"}
    assert out["menu"] == ["Hi to Shop"]
    assert out["looked"] == [7, None]
    assert out["timings"] == 1  # the wrapper ran around app.request
    assert out["app"] == "Shop"  # app.started replayed to welcome when it loaded
    assert out["records"][0] == {"app": "Shop"}  # ... and to audit's app.* hook
    assert out["problems"] == []


def test_strict_refuses_the_installed_plugin_with_a_typo(events_venv: Venv) -> None:
    out = events_venv.run_json("""
        import json
        from nitro_dispatch import PluginManager
        m = PluginManager(strict_events=True)
        m.declare_installed_events()
        m.discover_installed_plugins()
        loaded = m.load_all()
        print(json.dumps({"loaded": sorted(loaded),
                          "menu": m.trigger("app.menu", None),
                          "problems": [p.message for p in m.get_problems()
                                       if p.plugin == "typo"]}))
    """)
    assert out["loaded"] == ["audit", "cache", "welcome"]
    assert out["menu"] == ["Welcome to the application"]  # nothing of typo left behind
    assert out["problems"] == ["plugin 'typo' failed to load: ValidationError: plugin 'typo' "
                               "hooks undeclared event 'app.reqest' (did you mean "
                               "'app.request'?); strict_events refuses it"]


def test_cli_events_lists_declarations_and_the_plugins_hooking_them(events_venv: Venv) -> None:
    proc = cli(events_venv, "events")
    assert proc.returncode == 1, proc.stderr  # two declarations cannot be read
    lines = proc.stdout.splitlines()
    assert "app.request  [chain]  declared by nitro-demo-events 1.0.0" in lines
    start = lines.index("app.request  [chain]  declared by nitro-demo-events 1.0.0")
    assert hooked_by(lines, start) == "audit (wrapper), welcome, audit via app.*"
    assert "app.started  [chain, historic]  declared by nitro-demo-events 1.0.0" in lines
    assert "cache.lookup  [first]  declared by nitro-demo-events 1.0.0" in lines
    assert "extra.ping  [collect]  declared by ndtest-extra-events 2.0.0" in lines
    menu = lines.index("app.menu  [collect]  declared by nitro-demo-events 1.0.0")
    assert hooked_by(lines, menu) == "typo, welcome, audit via app.*"  # equal priority: by name
    err = proc.stderr.splitlines()
    assert len(err) == 2 and all(e.startswith("nitro-dispatch: warning: ") for e in err)
    assert "Traceback" not in proc.stderr


def test_cli_events_json(events_venv: Venv) -> None:
    proc = cli(events_venv, "events", "--json")
    data = json.loads(proc.stdout)
    assert data["group"] == EVENTS
    events = {e["name"]: e for e in data["events"]}
    lookup = events["cache.lookup"]
    assert (lookup["mode"], lookup["historic"], lookup["dist_name"], lookup["dist_version"],
            lookup["value"]) == ("first", False, "nitro-demo-events", "1.0.0",
                                 "nitro_demo_events:DemoEvents")
    assert lookup["doc"].startswith("The value cached under ``key``")
    assert [(h["plugin"], h["method"], h["hooked"], h["wrapper"])
            for h in events["app.request"]["hooks"]] == [
        ("audit", "time_request", "app.request", True),
        ("welcome", "add_greeting", "app.request", False),
        ("audit", "record", "app.*", False)]
    assert sorted(p["source"]["dist_name"] for p in data["problems"]) == [
        "ndtest-broken-events", "ndtest-conflict"]


def test_cli_events_with_another_group_and_none_declared(events_venv: Venv) -> None:
    proc = cli(events_venv, "events", "--events-group", "nobody.declares")
    assert proc.returncode == 0
    assert proc.stdout.strip() == "No declared events in entry-point group 'nobody.declares'."
    bad = cli(events_venv, "events", "--events-group", " ")
    assert bad.returncode == 2
    assert bad.stderr.startswith("nitro-dispatch: error: --events-group needs")


def test_cli_check_reports_plugins_hooking_undeclared_events(events_venv: Venv) -> None:
    proc = cli(events_venv, "check")
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert "typo (distribution ndtest-typo 0.1.0): hooks undeclared event 'app.reqest' " \
           "(did you mean 'app.request'?)" in lines
    assert sum("ndtest-broken-events" in line for line in lines) == 1
    assert sum("ndtest-conflict" in line for line in lines) == 1
    assert lines[-1] == "4 plugins checked, 3 problems"


def test_cli_check_without_declarations_reports_no_event_problems(
        venv_factory: Any, tmp_path: Path) -> None:
    typo = make_plugin_project(tmp_path / "typo", "ndtest-typo", "0.1.0",
                               {"typo": "ndtest_typo:TypoPlugin"}, {"ndtest_typo": TYPO_PLUGIN})
    venv = venv_factory("no-declarations", PROJECT, typo)
    proc = cli(venv, "check")
    assert (proc.returncode, proc.stdout.strip()) == (0, "1 plugin checked, 0 problems")
    events = cli(venv, "events")
    assert events.returncode == 0
    assert "No declared events" in events.stdout


def test_events_includes_drop_ins_given_with_path(events_venv: Venv, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "menu_plugin.py").write_text(
        "from nitro_dispatch import PluginBase, hook\n"
        "class MenuPlugin(PluginBase):\n"
        "    name = 'dropmenu'\n"
        "    @hook('app.menu', priority=99)\n"
        "    def entry(self, data):\n"
        "        return 'drop-in'\n", encoding="utf-8")
    data = json.loads(cli(events_venv, "events", "--json", "--path", str(drop)).stdout)
    menu: List[Any] = [e for e in data["events"] if e["name"] == "app.menu"][0]["hooks"]
    assert menu[0]["plugin"] == "dropmenu"


@pytest.mark.skipif(sys.platform == "win32", reason="console script path differs")
def test_help_names_the_events_command(events_venv: Venv) -> None:
    proc = cli(events_venv, "--help")
    assert "events" in proc.stdout
    proc = cli(events_venv, "events", "--help")
    assert "nitro_dispatch.events" in proc.stdout
