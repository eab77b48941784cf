"""The command line (SPEC section 7), run as a real process.

Each test builds a fake site directory with ``tests/fixtures.py`` and runs
``python -m nitro_dispatch`` with ``PYTHONPATH`` set to the repository and
that directory.  Plugin modules written here leave a marker file when they
are imported, which proves what ``list`` does not do.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

import pytest

import nitro_dispatch
from nitro_dispatch.cli import format_problem, render_table, scan_dropin_source
from nitro_dispatch import PluginProblem, PluginSource

from fixtures import make_plugin_dist, write_module
from venv_support import Venv, plugin_venv_fixture  # noqa: F401  (the shared real venv)

REPO = Path(__file__).resolve().parent.parent
OTHER_GROUP = "acme.extensions"

SUMMARY = re.compile(r"^(\d+) plugins? checked, (\d+) problems?$")


def marker_prelude(tag: str) -> str:
    """Source that records, at import time, that ``tag`` was imported."""
    return ("import os as _os\n"
            "open(_os.path.join(_os.environ['CLI_TEST_MARKERS'], %r), 'w').close()\n" % (tag,))


def plugin_source(class_name: str, name: str, body: str = "", tag: Optional[str] = None,
                  header: str = "") -> str:
    return ("%sfrom nitro_dispatch import PluginBase, hook\n%s\n\n"
            "class %s(PluginBase):\n    name = %r\n%s\n"
            % (marker_prelude(tag or name), header, class_name, name, body or "    pass\n"))


WELCOME_BODY = '''\
    description = "Greets users."
    author = "Ada"

    @hook("app.request", priority=60)
    def add_greeting(self, data):
        return data

    @hook("greeting")
    def greet(self, data):
        return data
'''

AUDIT_BODY = '''\
    description = "Keeps an audit trail."
    dependencies = ["welcome>=1.0,<2"]

    @hook("app.*", priority=1)
    def record(self, data):
        return None
'''

CACHE_BODY = '''\
    @hook("cache.get", timeout=2.5)
    async def fetch(self, data):
        return data
'''


class Env:
    """A fake installation: site directory, markers, and a way to run the CLI."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.site = tmp_path / "site"
        self.site.mkdir()
        self.markers = tmp_path / "markers"
        self.markers.mkdir()
        self.cache = tmp_path / "cache"

    def dist(self, dist_name: str, version: str, plugins: Dict[str, str],
             group: str = "nitro_dispatch.plugins") -> None:
        make_plugin_dist(self.site, dist_name, version, plugins, group=group)

    def module(self, module: str, source: str) -> None:
        write_module(self.site, module, source)

    def plugin(self, dist_name: str, version: str, name: str, class_name: str,
               body: str = "", module: Optional[str] = None) -> None:
        """A distribution shipping one plugin in a module of its own."""
        module = module or dist_name.replace("-", "_")
        self.dist(dist_name, version, {name: "%s:%s" % (module, class_name)})
        self.module(module, plugin_source(class_name, name, body))

    def imported(self) -> List[str]:
        return sorted(p.name for p in self.markers.iterdir())

    def run(self, *args: str, cwd: Optional[Path] = None,
            extra_env: Optional[Dict[str, str]] = None) -> "subprocess.CompletedProcess[str]":
        env = dict(os.environ)
        for var in ("PYTHONSTARTUP", "PYTHONHOME", "PYTHONWARNINGS"):
            env.pop(var, None)
        env.update(PYTHONPATH=os.pathsep.join([str(REPO), str(self.site)]),
                   NITRO_DISPATCH_CACHE_DIR=str(self.cache), CLI_TEST_MARKERS=str(self.markers),
                   COLUMNS="80", PYTHONDONTWRITEBYTECODE="1", PYTHONIOENCODING="utf-8")
        env.update(extra_env or {})
        return subprocess.run([sys.executable, "-m", "nitro_dispatch"] + list(args),
                              cwd=str(cwd or self.tmp), env=env, capture_output=True,
                              text=True, timeout=60)


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


@pytest.fixture
def samples(env: Env) -> Env:
    """welcome, audit (needs welcome>=1.0,<2) and cache (async hooks)."""
    env.plugin("nitro-welcome", "1.2.0", "welcome", "WelcomePlugin", WELCOME_BODY)
    env.plugin("nitro-audit", "1.0.0", "audit", "AuditPlugin", AUDIT_BODY)
    env.plugin("nitro-async-cache", "0.3.0", "cache", "CachePlugin", CACHE_BODY)
    return env


def lines(text: str) -> List[str]:
    return [line for line in text.splitlines() if line.strip()]


def assert_usage_error(result: "subprocess.CompletedProcess[str]", *words: str) -> str:
    """Exit status 2, one line on stderr in the CLI's format, no traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    err = lines(result.stderr)
    assert len(err) == 1, result.stderr
    assert err[0].startswith("nitro-dispatch: error: "), err[0]
    for word in words:
        assert word in err[0]
    return err[0]


def row(table: str, name: str) -> List[str]:
    """The cells (split on runs of 2+ spaces) of the table row for ``name``."""
    for line in table.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells[0] == name:
            return cells
    raise AssertionError("no row for %r in:\n%s" % (name, table))


# -- list ---------------------------------------------------------------------


def test_list_table_shows_name_version_distribution_and_summary(samples: Env) -> None:
    result = samples.run("list")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert re.split(r"\s{2,}", out.splitlines()[0].strip()) == [
        "NAME", "VERSION", "DISTRIBUTION", "SUMMARY"]
    assert row(out, "welcome") == ["welcome", "1.2.0", "nitro-welcome", "test distribution"]
    assert row(out, "audit")[3] == "test distribution"  # each distribution's Summary header
    assert all(len(line) <= 80 for line in out.splitlines())


def test_list_entry_points_shows_name_version_distribution_and_entry_point(samples: Env
                                                                           ) -> None:
    result = samples.run("list", "--entry-points")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert re.split(r"\s{2,}", out.splitlines()[0].strip()) == [
        "NAME", "VERSION", "DISTRIBUTION", "ENTRY POINT"]
    assert row(out, "welcome") == ["welcome", "1.2.0", "nitro-welcome",
                                   "nitro_welcome:WelcomePlugin"]
    assert row(out, "audit") == ["audit", "1.0.0", "nitro-audit", "nitro_audit:AuditPlugin"]
    assert row(out, "cache") == ["cache", "0.3.0", "nitro-async-cache",
                                 "nitro_async_cache:CachePlugin"]
    assert all(len(line) <= 80 for line in out.splitlines())
    assert "!" not in out  # no conflict here


def test_list_json_for_machines(samples: Env) -> None:
    result = samples.run("list", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    by_name = {item["name"]: item for item in data}
    assert sorted(by_name) == ["audit", "cache", "welcome"]
    welcome = by_name["welcome"]
    assert welcome["value"] == "nitro_welcome:WelcomePlugin"
    assert welcome["dist_name"] == "nitro-welcome"
    assert welcome["dist_version"] == "1.2.0"
    assert welcome["location"] == str(samples.site)
    assert welcome["kind"] == "distribution"
    assert welcome["conflict"] is False


def test_list_imports_no_plugin_code(samples: Env) -> None:
    drop = samples.tmp / "drop"
    drop.mkdir()
    (drop / "spy_plugin.py").write_text(plugin_source("Spy", "spy", tag="spy"))
    for args, lists_spy in ((["list"], False), (["list", "--json"], False),
                            (["list", "--path", str(drop)], True)):
        result = samples.run(*args)
        assert result.returncode == 0, result.stderr
        assert ("spy" in result.stdout) is lists_spy  # read from the file, not imported
    assert samples.imported() == []
    # The markers do work: check imports every plugin.
    assert samples.run("check", "--path", str(drop)).returncode == 0
    assert samples.imported() == ["audit", "cache", "spy", "welcome"]


def test_list_reads_another_group(samples: Env) -> None:
    samples.dist("acme-tools", "2.0", {"hammer": "acme_tools:Hammer"}, group=OTHER_GROUP)
    default = samples.run("list")
    assert "hammer" not in default.stdout and "welcome" in default.stdout
    for args in (["list", "--entry-points", "--group", OTHER_GROUP],
                 ["--group", OTHER_GROUP, "list", "--entry-points"]):
        result = samples.run(*args)
        assert result.returncode == 0, result.stderr
        assert row(result.stdout, "hammer") == ["hammer", "2.0", "acme-tools",
                                                "acme_tools:Hammer"]
        assert "welcome" not in result.stdout


def test_list_empty_group_says_so(env: Env) -> None:
    result = env.run("list", "--group", OTHER_GROUP)
    assert result.returncode == 0
    assert OTHER_GROUP in result.stdout and "No plugins" in result.stdout
    assert json.loads(env.run("list", "--json", "--group", OTHER_GROUP).stdout) == []


def test_list_path_includes_drop_in_files(samples: Env) -> None:
    drop = samples.tmp / "drop"
    drop.mkdir()
    (drop / "greet_plugin.py").write_text(plugin_source(
        "Greeter", "greeter", '    version = "2.5"\n'))
    (drop / "helpers.py").write_text(plugin_source("Helper", "helper"))  # not *_plugin.py
    result = samples.run("list", "--path", "drop")
    assert result.returncode == 0, result.stderr
    assert row(result.stdout, "greeter") == ["greeter", "2.5", "(drop-in)",
                                             os.path.join("drop", "greet_plugin.py:Greeter")]
    assert "helper" not in result.stdout
    assert "welcome" in result.stdout  # installed plugins are still listed
    data = json.loads(samples.run("list", "--json", "--path", "drop").stdout)
    greeter = [item for item in data if item["name"] == "greeter"][0]
    assert greeter["kind"] == "dropin"
    assert greeter["version"] == "2.5"
    assert greeter["dist_name"] is None
    assert greeter["location"] == str(drop / "greet_plugin.py")
    assert samples.imported() == []


def test_list_marks_a_name_claimed_twice(samples: Env) -> None:
    drop = samples.tmp / "drop"
    drop.mkdir()
    (drop / "mywelcome_plugin.py").write_text(plugin_source("MyWelcome", "welcome"))
    samples.plugin("welcome-fork", "9.0", "welcome", "ForkPlugin", module="welcome_fork")
    result = samples.run("list", "--path", str(drop))
    assert result.returncode == 0, result.stderr
    marked = [line for line in result.stdout.splitlines() if line.startswith("welcome !")]
    assert len(marked) == 3
    assert "audit !" not in result.stdout
    note = " ".join(result.stdout.split("\n\n", 1)[1].split())  # after the table
    assert "'welcome' is claimed by 3 sources" in note
    assert "nitro-welcome 1.2.0" in note and "welcome-fork 9.0" in note
    data = json.loads(samples.run("list", "--json", "--path", str(drop)).stdout)
    assert sorted((d["name"], d["conflict"]) for d in data) == [
        ("audit", False), ("cache", False), ("welcome", True), ("welcome", True),
        ("welcome", True)]


def test_list_wraps_long_values_within_80_columns(env: Env) -> None:
    value = "company.platform.extensions.notifications.backends.smtp:SmtpNotifier"
    env.dist("company-platform-notifications-smtp-backend", "2024.10.1.post3",
             {"smtp_notifier": value})
    result = env.run("list", "--entry-points")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in out), out
    # Wrapped, not cut: the pieces of the last column put together give the value.
    start = out[0].index("ENTRY POINT")
    assert "".join(line[start:].strip() for line in out[1:]) == value


def test_list_warns_about_an_unparsable_drop_in_and_goes_on(env: Env) -> None:
    drop = env.tmp / "drop"
    drop.mkdir()
    (drop / "broken_plugin.py").write_text("class Oops(:\n")
    (drop / "fine_plugin.py").write_text(plugin_source("Fine", "fine"))
    result = env.run("list", "--path", str(drop))
    assert result.returncode == 0
    assert "fine" in result.stdout
    warning = lines(result.stderr)
    assert len(warning) == 1 and "broken_plugin.py" in warning[0]
    assert warning[0].startswith("nitro-dispatch: warning: ")


# -- check ----------------------------------------------------------------------


def test_check_clean_set_exits_0(samples: Env) -> None:
    result = samples.run("check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines(result.stdout) == ["3 plugins checked, 0 problems"]
    assert result.stderr == ""


def _module_missing(env: Env) -> None:
    env.dist("nitro-ghost", "1.0", {"ghost": "nitro_ghost_gone:GhostPlugin"})


def _import_error(env: Env) -> None:
    env.dist("nitro-boom", "1.1", {"boom": "nitro_boom:BoomPlugin"})
    env.module("nitro_boom", "raise RuntimeError('database driver not configured')\n")


def _not_a_plugin(env: Env) -> None:
    env.dist("nitro-plain", "0.1", {"plain": "nitro_plain:make_plugin"})
    env.module("nitro_plain", "def make_plugin():\n    return None\n")


def _name_differs(env: Env) -> None:
    env.dist("nitro-named", "3.0", {"named": "nitro_named:NamedPlugin"})
    env.module("nitro_named", plugin_source("NamedPlugin", "renamed"))


def _unsatisfied(env: Env) -> None:
    env.plugin("nitro-strict", "1.0.0", "strict", "StrictPlugin",
               '    dependencies = ["welcome>=2"]\n')


def _missing_dependency(env: Env) -> None:
    env.plugin("nitro-lonely", "1.0.0", "lonely", "LonelyPlugin",
               '    dependencies = ["auth>=1.2"]\n')


def _cycle(env: Env) -> None:
    env.plugin("nitro-egg", "1.0.0", "egg", "EggPlugin", '    dependencies = ["hen"]\n')
    env.plugin("nitro-hen", "1.0.0", "hen", "HenPlugin", '    dependencies = ["egg"]\n')


def _two_claims(env: Env) -> None:
    env.plugin("welcome-fork", "9.0", "welcome", "ForkPlugin", module="welcome_fork")


PROBLEMS = {
    # kind: (setup, plugin, words the plugin's line must contain)
    "module missing": (_module_missing, "ghost",
                       ["ghost (distribution nitro-ghost 1.0)", "nitro_ghost_gone",
                        "ModuleNotFoundError"]),
    "import error": (_import_error, "boom",
                     ["boom (distribution nitro-boom 1.1)", "RuntimeError",
                      "database driver not configured"]),
    "not a PluginBase subclass": (_not_a_plugin, "plain",
                                  ["plain (distribution nitro-plain 0.1)",
                                   "nitro_plain:make_plugin", "not a PluginBase subclass"]),
    "entry-point name differs": (_name_differs, "named",
                                 ["named (distribution nitro-named 3.0)", "'named'",
                                  "'renamed'", "differs"]),
    "unsatisfied version": (_unsatisfied, "strict",
                            ["strict (distribution nitro-strict 1.0.0)", "'welcome>=2'",
                             "welcome 1.2.0", "nitro-welcome 1.2.0"]),
    "missing dependency": (_missing_dependency, "lonely",
                           ["lonely (distribution nitro-lonely 1.0.0)", "auth>=1.2",
                            "no plugin named 'auth'"]),
    "cycle": (_cycle, "egg", ["egg (distribution nitro-egg 1.0.0)", "cycle"]),
    "two distributions claim a name": (_two_claims, "welcome",
                                       ["welcome", "nitro-welcome 1.2.0", "welcome-fork 9.0"]),
}


@pytest.mark.parametrize("kind", sorted(PROBLEMS))
def test_check_reports_each_problem_in_one_line_naming_the_distribution(
        samples: Env, kind: str) -> None:
    setup, plugin, words = PROBLEMS[kind]
    setup(samples)
    result = samples.run("check")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr == ""  # the library's log records are not repeated
    out = lines(result.stdout)
    summary = SUMMARY.match(out[-1])
    assert summary is not None, out
    problems = out[:-1]
    assert int(summary.group(2)) == len(problems) >= 1
    mine = [line for line in problems if line.startswith(plugin + " ") or
            line.startswith(plugin + ":")]
    assert len(mine) == 1, problems
    for word in words:
        assert word in mine[0], (word, mine[0])


def test_check_cycle_names_the_whole_cycle(samples: Env) -> None:
    _cycle(samples)
    out = lines(samples.run("check").stdout)
    egg = [line for line in out if line.startswith("egg ")][0]
    hen = [line for line in out if line.startswith("hen ")][0]
    assert "egg -> hen -> egg" in egg or "hen -> egg -> hen" in egg
    assert "nitro-hen 1.0.0" in hen
    assert out[-1] == "5 plugins checked, 2 problems"


def test_check_counts_every_plugin_and_problem(samples: Env) -> None:
    _import_error(samples)
    _missing_dependency(samples)
    out = lines(samples.run("check").stdout)
    assert out[-1] == "5 plugins checked, 2 problems"


def test_check_includes_drop_in_directories(samples: Env) -> None:
    drop = samples.tmp / "drop"
    drop.mkdir()
    (drop / "good_plugin.py").write_text(plugin_source("Good", "good",
                                                       '    dependencies = ["audit"]\n'))
    (drop / "bad_plugin.py").write_text("import no_such_module_here\n")
    result = samples.run("check", "--path", str(drop))
    assert result.returncode == 1
    out = lines(result.stdout)
    assert len(out) == 2 and out[-1] == "4 plugins checked, 1 problem"
    assert str(drop / "bad_plugin.py") in out[0] and "no_such_module_here" in out[0]
    (drop / "bad_plugin.py").unlink()
    assert samples.run("check", "--path", str(drop)).returncode == 0


def test_check_reports_a_drop_in_that_takes_an_installed_name(samples: Env) -> None:
    drop = samples.tmp / "drop"
    drop.mkdir()
    (drop / "mywelcome_plugin.py").write_text(plugin_source("MyWelcome", "welcome"))
    out = lines(samples.run("check", "--path", str(drop)).stdout)
    assert len(out) == 2
    assert out[0].startswith("welcome (file %s)" % (drop / "mywelcome_plugin.py"))
    assert "nitro-welcome 1.2.0" in out[0]


def test_check_json(samples: Env) -> None:
    _unsatisfied(samples)
    result = samples.run("check", "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["checked"] == 4
    (problem,) = data["problems"]
    assert problem["plugin"] == "strict" and problem["phase"] == "dependency"
    assert problem["source"]["dist_name"] == "nitro-strict"
    assert problem["line"].startswith("strict (distribution nitro-strict 1.0.0): ")


def test_verbose_turns_library_logging_on(samples: Env) -> None:
    _import_error(samples)
    quiet = samples.run("check")
    assert quiet.stderr == ""
    loud = samples.run("check", "-v")
    assert loud.returncode == 1
    assert "INFO nitro_dispatch.manager: registered plugin 'boom'" in loud.stderr
    assert "Traceback" not in loud.stderr
    before = samples.run("-v", "check")
    assert "INFO nitro_dispatch.manager: registered plugin 'boom'" in before.stderr


# -- info --------------------------------------------------------------------------


def test_info_text(samples: Env) -> None:
    result = samples.run("info", "audit")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    fields = dict(re.split(r":\s+", line, maxsplit=1) for line in out.splitlines()
                  if not line.startswith(" ") and re.search(r":\s+\S", line))
    assert fields["Name"] == "audit"
    assert fields["Version"] == "1.0.0"  # unset in the class: the distribution's
    assert fields["Description"] == "Keeps an audit trail."
    assert fields["Source"] == "distribution nitro-audit 1.0.0"
    assert fields["Entry point"].startswith("nitro_audit:AuditPlugin")
    dep = [line for line in out.splitlines() if "welcome>=1.0,<2" in line]
    assert len(dep) == 1 and "[ok]" in dep[0] and "welcome 1.2.0" in dep[0]
    assert "nitro-welcome 1.2.0" in dep[0]
    hook_row = [line.split() for line in out.splitlines() if "app.*" in line]
    assert hook_row == [["app.*", "1", "-", "sync", "record"]]


def test_info_marks_wrappers_and_hooks_on_undeclared_events(env: Env) -> None:
    env.dist("shop-events", "1.0", {"shop": "shop_events:ShopEvents"},
             group="nitro_dispatch.events")
    env.module("shop_events", "from nitro_dispatch import event_spec\n\n\n"
                              "class ShopEvents:\n"
                              "    @event_spec('shop.menu', mode='collect')\n"
                              "    def menu(self, data):\n        'The menu.'\n")
    env.plugin("nd-timer", "1.0", "timer", "TimerPlugin",
               "    @hook('shop.menu', wrapper=True)\n"
               "    def around(self, data):\n        result = yield\n        return result\n\n"
               "    @hook('shop.manu')\n"
               "    def typo(self, data):\n        return data\n")
    result = env.run("info", "timer")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()
            if line.startswith("  shop.")}
    assert rows["shop.menu"][3] == "wrapper" and rows["shop.manu"][3] == "sync"
    assert ("  ! plugin 'timer' hooks undeclared event 'shop.manu' (did you mean "
            "'shop.menu'?)") in result.stdout.splitlines()
    data = json.loads(env.run("info", "timer", "--json").stdout)
    hooks = {h["event"]: h for h in data["hooks"]}
    assert hooks["shop.menu"]["wrapper"] is True and hooks["shop.menu"]["problem"] is None
    assert "did you mean 'shop.menu'?" in hooks["shop.manu"]["problem"]


def test_info_json(samples: Env) -> None:
    result = samples.run("info", "cache", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["name"] == "cache" and data["version"] == "0.3.0"
    assert data["source"]["kind"] == "distribution"
    assert data["source"]["dist_name"] == "nitro-async-cache"
    assert data["source"]["value"] == "nitro_async_cache:CachePlugin"
    assert data["dependencies"] == []
    assert data["hooks"] == [{"event": "cache.get", "priority": 50, "timeout": 2.5,
                              "async": True, "wrapper": False, "method": "fetch",
                              "problem": None}]
    audit = json.loads(samples.run("info", "audit", "--json").stdout)
    (dep,) = audit["dependencies"]
    assert dep["requirement"] == "welcome>=1.0,<2"
    assert dep["satisfied"] is True and dep["found_version"] == "1.2.0"


def test_info_shows_unmet_dependencies(samples: Env) -> None:
    samples.plugin("nitro-needy", "1.0.0", "needy", "NeedyPlugin",
                   '    dependencies = ["welcome>=2", "auth", "win; sys_platform == \'nope\'"]\n')
    data = json.loads(samples.run("info", "needy", "--json").stdout)
    status = {d["requirement"]: (d["status"], d["satisfied"]) for d in data["dependencies"]}
    assert status == {"welcome>=2": ("unsatisfied", False), "auth": ("missing", False),
                      "win; sys_platform == 'nope'": ("ignored", True)}
    text = samples.run("info", "needy").stdout
    assert "[unsatisfied] found welcome 1.2.0" in text
    assert "[missing] no plugin named 'auth'" in text


def test_info_of_a_drop_in(samples: Env) -> None:
    drop = samples.tmp / "drop"
    drop.mkdir()
    (drop / "greet_plugin.py").write_text(plugin_source("Greeter", "greeter",
                                                        '    version = "2.5"\n'))
    result = samples.run("info", "greeter", "--path", str(drop))
    assert result.returncode == 0, result.stderr
    assert "drop-in file %s" % (drop / "greet_plugin.py") in result.stdout
    assert re.search(r"^Version:\s+2\.5$", result.stdout, re.M)


def test_info_of_a_plugin_that_does_not_import(samples: Env) -> None:
    _import_error(samples)
    result = samples.run("info", "boom")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    problem = [line for line in result.stdout.splitlines() if line.startswith("Problem:")]
    assert len(problem) == 1 and "database driver not configured" in problem[0]
    assert "distribution nitro-boom 1.1" in result.stdout


def test_info_unknown_name_exits_2(samples: Env) -> None:
    result = samples.run("info", "welcom")
    line = assert_usage_error(result, "'welcom'", "did you mean 'welcome'")
    assert result.stdout == ""
    assert "nitro_dispatch.plugins" in line


def test_info_of_a_name_claimed_twice_reports_the_conflict(samples: Env) -> None:
    _two_claims(samples)
    result = samples.run("info", "welcome")
    assert result.returncode == 1
    err = lines(result.stderr)
    assert len(err) == 1 and "nitro-welcome 1.2.0" in err[0] and "welcome-fork 9.0" in err[0]


# -- usage errors ------------------------------------------------------------------


@pytest.mark.parametrize("args", [["list", "--bogus"], ["frobnicate"], ["info"],
                                  ["check", "--group"], ["list", "--group", ""],
                                  ["--group", " ", "list"], []])
def test_bad_arguments_exit_2_in_one_line(env: Env, args: List[str]) -> None:
    assert_usage_error(env.run(*args))


@pytest.mark.parametrize("command", [["list"], ["check"], ["info", "welcome"]])
def test_missing_path_exits_2(samples: Env, command: List[str]) -> None:
    missing = samples.tmp / "no-such-dir"
    assert_usage_error(samples.run(*command, "--path", str(missing)), str(missing),
                       "no such directory")
    afile = samples.tmp / "a-file"
    afile.write_text("")
    assert_usage_error(samples.run("--path", str(afile), *command), "not a directory")


def test_version(env: Env) -> None:
    result = env.run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == "nitro-dispatch %s" % nitro_dispatch.__version__


def test_help_documents_how_drop_ins_are_listed(env: Env) -> None:
    result = env.run("list", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "ast" in text and "without importing" in text


# -- the installed console script ---------------------------------------------------


def test_console_script_in_a_real_venv(plugin_venv: Venv) -> None:
    """pip installed nitro-dispatch and the sample plugins: the
    ``nitro-dispatch`` script of the venv lists, checks and describes them."""
    bindir = plugin_venv.python.parent
    script = bindir / ("nitro-dispatch.exe" if sys.platform == "win32" else "nitro-dispatch")
    assert script.is_file()

    def run(*args: str) -> "subprocess.CompletedProcess[str]":
        return subprocess.run([str(script), *args], env=plugin_venv.env(),
                              cwd=str(plugin_venv.work_dir), capture_output=True, text=True,
                              timeout=120)

    listed = run("list", "--entry-points")
    assert listed.returncode == 0, listed.stderr
    assert row(listed.stdout, "welcome") == ["welcome", "1.2.0", "nitro-welcome",
                                             "nitro_welcome:WelcomePlugin"]
    summaries = run("list", "--json")
    assert {p["name"]: p["summary"] for p in json.loads(summaries.stdout)}["welcome"] == (
        "A nitro_dispatch plugin that greets users: the smallest complete plugin "
        "distribution.")
    assert row(listed.stdout, "audit") == ["audit", "1.0.0", "nitro-audit",
                                           "nitro_audit:AuditPlugin"]
    assert row(listed.stdout, "cache") == ["cache", "0.3.0", "nitro-async-cache",
                                           "nitro_async_cache:CachePlugin"]
    checked = run("check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert lines(checked.stdout) == ["3 plugins checked, 0 problems"]
    info = run("info", "audit")
    assert info.returncode == 0, info.stderr
    dep = [line for line in info.stdout.splitlines() if line.strip().startswith("welcome")]
    assert len(dep) == 1 and "[ok]" in dep[0]
    assert "welcome 1.2.0 from distribution nitro-welcome 1.2.0" in dep[0]
    version = run("--version")
    assert version.stdout.strip() == "nitro-dispatch %s" % nitro_dispatch.__version__


# -- pieces, in process ------------------------------------------------------------


def test_scan_dropin_source_follows_plugin_base_rules() -> None:
    source = '''
import nitro_dispatch as nd
from nitro_dispatch import PluginBase as Base
NAME = "const-name"

class Mixin:
    name = "not-a-plugin"

class Plain(Base):
    pass

class Named(nd.PluginBase, Mixin):
    name = NAME
    version: str = "3.1"

class Child(Named):
    pass

class Renamed(Named):
    name = "renamed"
    version = compute()

class Dynamic(Base):
    name = "dyn" + "amic"

class Blank(Plain):
    name = ""
'''
    found = [(c.class_name, c.name, c.version) for c in scan_dropin_source(source)]
    assert found == [("Plain", "Plain", "1.0.0"), ("Named", "const-name", "3.1"),
                     ("Child", "const-name", "3.1"), ("Renamed", "renamed", None),
                     ("Dynamic", None, "1.0.0"), ("Blank", "Blank", "1.0.0")]


def test_scan_dropin_source_rejects_bad_syntax() -> None:
    with pytest.raises(SyntaxError):
        scan_dropin_source("class (:\n", "bad_plugin.py")


def test_render_table_fits_the_width_and_loses_nothing() -> None:
    rows = [["plugin-%d" % i, "1.0", "distribution-with-a-long-name-%d" % i,
             "package.module_%d.deeper.still:PluginClass%d" % (i, i)] for i in range(3)]
    out = render_table(["NAME", "VERSION", "DISTRIBUTION", "ENTRY POINT"], rows, 60)
    assert all(len(line) <= 60 for line in out)
    flat = "".join(out).replace(" ", "")
    for cells in rows:
        assert cells[0] in flat
    assert out[0].split() == ["NAME", "VERSION", "DISTRIBUTION", "ENTRY", "POINT"]


def test_format_problem_puts_plugin_and_source_first() -> None:
    src = PluginSource("distribution", dist_name="nitro-audit", dist_version="1.0.0")
    problem = PluginProblem("audit", "dependency",
                            "plugin 'audit' requires 'welcome>=2', but found welcome 1.0.0 "
                            "(from distribution nitro-welcome 1.0.0)", src)
    assert format_problem(problem) == (
        "audit (distribution nitro-audit 1.0.0): requires 'welcome>=2', but found welcome "
        "1.0.0 (from distribution nitro-welcome 1.0.0)")
    multi = PluginProblem("x", "import", "plugin 'x' from distribution nitro-audit 1.0.0 "
                          "does not import:\n  line two", src)
    assert format_problem(multi) == ("x (distribution nitro-audit 1.0.0): does not import: "
                                     "line two")
    dropin = PluginSource("dropin", path="/d/x_plugin.py")
    twice = PluginProblem("x", "discovery", "plugin 'x' in /d/x_plugin.py: plugin 'x': "
                          "'version' 'abc' is not a valid PEP 440 version", dropin)
    assert format_problem(twice) == ("x (file /d/x_plugin.py): 'version' 'abc' is not a valid "
                                     "PEP 440 version")
    bare = PluginProblem(None, "discovery", "group cannot be read")
    assert format_problem(bare) == "group cannot be read"


def test_cli_docstring_examples_run() -> None:
    import doctest

    import nitro_dispatch.cli._output
    import nitro_dispatch._describe
    import nitro_dispatch._dropin_listing
    import nitro_dispatch.cli

    # The examples moved with their code: the static reading of drop-in files
    # to the library, tables to the output layer, problem lines to _describe.
    modules = [nitro_dispatch.cli, nitro_dispatch.cli._output, nitro_dispatch._describe,
               nitro_dispatch._dropin_listing]
    results = [doctest.testmod(module) for module in modules]
    assert sum(r.attempted for r in results) >= 2 and sum(r.failed for r in results) == 0
