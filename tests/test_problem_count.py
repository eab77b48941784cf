"""get_problems() does not grow without bound (SPEC section 11): a repeated
problem is kept once, with a count."""

import textwrap

import pytest

from nitro_dispatch import PluginLoadError, PluginManager, PluginProblem

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
