"""get_problems() does not grow without bound (SPEC section 11): a repeated
problem is kept once, with a count."""

import textwrap
from pathlib import Path
from typing import Any, Dict, List

import pytest

from fixtures import make_dist_info
from nitro_dispatch import PluginLoadError, PluginManager, PluginProblem
from nitro_dispatch._problems import ProblemLog
from test_requirements import site  # noqa: F401  (fixture: a folder on sys.path)

GOOD = textwrap.dedent("""
    from nitro_dispatch import PluginBase, hook

    class Flaky(PluginBase):
        name = "flaky"

        @hook("ask")
        def ask(self, data):
            return data + ["good"]
""")


def test_problem_record_is_compatible_and_counts():
    problem = PluginProblem("p", "load", "boom")
    assert problem.count == 1
    assert PluginProblem("p", "load", "boom", None, None, 3).count == 3
    assert repr(problem) == "PluginProblem('p', 'load', 'boom')"
    assert "count=3" in repr(PluginProblem("p", "load", "boom", count=3))


def test_hundred_failed_reloads_keep_the_problem_list_bounded(tmp_path):
    plugin_file = tmp_path / "flaky_plugin.py"
    plugin_file.write_text(GOOD)
    manager = PluginManager()
    assert manager.discover_plugins(tmp_path) == ["flaky"]
    manager.load_all()
    plugin_file.write_text(GOOD + "\nraise RuntimeError('broken edit')\n")
    for _ in range(100):
        with pytest.raises(PluginLoadError):
            manager.reload("flaky")
    problems = manager.get_problems()
    assert len(problems) <= 2
    assert sum(p.count for p in problems) >= 100
    reload_problem = [p for p in problems if p.phase == "reload"]
    assert len(reload_problem) == 1 and reload_problem[0].count == 100
    assert "broken edit" in reload_problem[0].message
    assert manager.trigger("ask", []) == ["good"]  # the old version in service


def test_different_problems_are_kept_apart_and_repeats_counted(tmp_path):
    for i in range(3):
        (tmp_path / ("bad%d_plugin.py" % i)).write_text("raise ValueError('bad %d')\n" % i)
    manager = PluginManager()
    manager.discover_plugins(tmp_path)
    manager.discover_plugins(tmp_path)  # the files fail again
    problems = manager.get_problems()
    assert [p.count for p in problems] == [2, 2, 2]
    assert ["bad %d" % i in p.message for i, p in enumerate(problems)] == [True] * 3


def test_the_log_keeps_one_record_per_plugin_phase_and_kind() -> None:
    emitted: List[PluginProblem] = []
    log = ProblemLog(emit=emitted.append, limit=3)
    assert log.report("p", "load", "on_load", "boom at 0x1") is True
    assert log.report("p", "load", "on_load", "boom at 0x2", error=KeyError("k")) is False
    assert log.report("p", "import", "import", "no module") is True
    [first, second] = log.items()
    assert (first.count, first.message, first.kind) == (2, "boom at 0x2", "on_load")
    assert isinstance(first.error, KeyError) and second.count == 1
    assert emitted == [first, second]  # once per new finding
    for i in range(5):  # bounded: the oldest records go
        log.report("q%d" % i, "load", "on_load", "boom")
    assert [p.plugin for p in log.items()] == ["q2", "q3", "q4"]
    log.clear()
    assert log.items() == [] and len(log) == 0


BROKEN_DECLARATIONS = """\
import sys
sys.ndtest_declaration_attempts = getattr(sys, "ndtest_declaration_attempts", 0) + 1
raise RuntimeError("attempt %d" % sys.ndtest_declaration_attempts)
"""

GOOD_DECLARATIONS = """\
from nitro_dispatch import event_spec


@event_spec("app.ready")
def ready(data):
    "Ready."
"""


def test_declare_installed_events_reports_through_the_problem_log(
        site: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    import sys

    monkeypatch.setattr(sys, "ndtest_declaration_attempts", 0, raising=False)
    group = "ndtest.problem.events"
    make_dist_info(site, "ndtest-decl-bad", "1.0", {group: {"bad": "ndtest_decl_bad"}})
    (site / "ndtest_decl_bad.py").write_text(BROKEN_DECLARATIONS)
    make_dist_info(site, "ndtest-decl-good", "1.0", {group: {"good": "ndtest_decl_good"}})
    (site / "ndtest_decl_good.py").write_text(GOOD_DECLARATIONS)
    manager = PluginManager()
    errors: List[Dict[str, Any]] = []
    manager.register_hook("nitro.plugin.error", errors.append)
    for _ in range(3):
        assert manager.declare_installed_events(group) == ["app.ready"]
    [problem] = manager.get_problems()
    assert (problem.plugin, problem.phase, problem.count) == (None, "event", 3)
    assert "attempt 3" in problem.message and "ndtest-decl-bad" in problem.message
    first = problem.message.replace("attempt 3", "attempt 1")
    assert [(e["phase"], e["message"]) for e in errors] == [("event", first)]  # fired once
    for _ in range(5000):  # every message differs in a detail: still one record
        manager.declare_installed_events(group)
    [problem] = manager.get_problems()
    assert problem.count == 5003 and "attempt 5003" in problem.message
    assert len(errors) == 1
