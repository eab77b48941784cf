"""``nitro-dispatch new``: the plugin distribution it writes installs, its
tests pass, it lists, and it is clean under mypy --strict and flake8; bad
names are refused in one line with exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, List

import pytest

from nitro_dispatch._scaffold import DEFAULT_EVENT, plan_project, write_project
from nitro_dispatch.cli import main
from venv_support import PROJECT, Venv
from venv_support import venv_factory_fixture  # noqa: F401  (fixture)

REPO = Path(__file__).resolve().parent.parent


def new(tmp_path: Path, *args: str) -> "subprocess.CompletedProcess[str]":
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "nitro_dispatch", "new", *args],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True,
                          timeout=60)


def test_names_are_derived_from_the_distribution_name() -> None:
    plan = plan_project("Acme.Greeter_tool", ["app.request", "app.request", "user.login"],
                        host="myapp>=2")
    assert (plan.dist_name, plan.package, plan.plugin_name, plan.class_name) == (
        "Acme.Greeter_tool", "acme_greeter_tool", "acme-greeter-tool", "AcmeGreeterToolPlugin")
    assert plan.hooks == [("app.request", "on_app_request"), ("user.login", "on_user_login")]
    pyproject = plan.files["pyproject.toml"]
    assert 'dependencies = ["nitro-dispatch>=1.3", "myapp>=2"]' in pyproject
    assert 'acme-greeter-tool = "acme_greeter_tool:AcmeGreeterToolPlugin"' in pyproject
    assert sorted(plan.files) == [
        ".gitignore", "README.md", "pyproject.toml", "src/acme_greeter_tool/__init__.py",
        "src/acme_greeter_tool/plugin.py", "src/acme_greeter_tool/py.typed",
        "tests/test_plugin.py"]


def test_one_example_event_without_events() -> None:
    plan = plan_project("hello")
    assert plan.hooks == [(DEFAULT_EVENT, "on_app_request")]
    assert plan.class_name == "HelloPlugin"


def test_methods_of_events_that_look_alike_get_distinct_names() -> None:
    plan = plan_project("x", ["a.b", "a-b", "a_b"])
    assert [m for _, m in plan.hooks] == ["on_a_b", "on_a_b_2", "on_a_b_3"]


@pytest.mark.parametrize("args, message", [
    (["bad name"], "invalid distribution name 'bad name'"),
    (["x-"], "invalid distribution name 'x-'"),
    (["9lives"], "invalid distribution name '9lives': its package name '9lives' is not"),
    (["class"], "invalid distribution name 'class'"),
    (["nitro_dispatch"], "the package name 'nitro_dispatch' is taken"),
    (["ok", "--event", "a b"], "invalid event name 'a b'"),
    (["ok", "--event", ""], "invalid event name ''"),
    (["ok", "--event", "app.*"], "invalid event name 'app.*': a pattern"),
    (["ok", "--event", 'a"b'], "invalid event name 'a\"b'"),
    (["ok", "--host", "my app"], "invalid host 'my app'"),
    (["ok", "--host", "myapp; python_version>'3'"], "invalid host"),
])
def test_bad_names_are_refused_in_one_line(tmp_path: Path, args: List[str],
                                           message: str) -> None:
    proc = new(tmp_path, *args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("nitro-dispatch: error: "), proc.stderr
    assert message in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_that_is_not_empty_is_refused(tmp_path: Path) -> None:
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "notes.txt").write_text("mine")
    proc = new(tmp_path, "acme")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "nitro-dispatch: error: acme exists and is not an empty folder"
    assert [p.name for p in (tmp_path / "acme").iterdir()] == ["notes.txt"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError):
        write_project(plan_project("file"), tmp_path / "file")


def test_an_empty_folder_is_filled_and_dir_is_honoured(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    (tmp_path / "out" / "acme").mkdir(parents=True)
    assert main(["new", "acme", "--dir", str(tmp_path / "out"), "--event", "shop.menu"]) == 0
    printed = capsys.readouterr().out
    assert "Created the plugin distribution acme in %s" % (tmp_path / "out" / "acme") in printed
    assert "python -m pip install %s" % (tmp_path / "out" / "acme") in printed
    source = (tmp_path / "out" / "acme" / "src" / "acme" / "plugin.py").read_text()
    assert '@hook("shop.menu")' in source


def test_the_project_is_clean_under_flake8_and_mypy_strict(tmp_path: Path,
                                                           mypy_cache_dir: Path) -> None:
    assert new(tmp_path, "acme-greeter", "--event", "app.request", "--event",
               "nitro.plugin.loaded", "--host", "myapp").returncode == 0
    folder = tmp_path / "acme-greeter"
    flake8 = subprocess.run([sys.executable, "-m", "flake8", "--isolated", "."],
                            cwd=str(folder), capture_output=True, text=True, timeout=120)
    assert flake8.returncode == 0, flake8.stdout + flake8.stderr
    env = dict(os.environ, MYPYPATH=str(REPO))
    env.pop("PYTHONPATH", None)
    mypy = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--cache-dir",
                           str(mypy_cache_dir)], cwd=str(folder), env=env,
                          capture_output=True, text=True, timeout=300)
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
    assert "Success: no issues found in 3 source files" in mypy.stdout


def test_acceptance_installed_in_a_fresh_venv_its_tests_pass_and_it_lists(
        tmp_path: Path, venv_factory: Callable[..., Venv]) -> None:
    """`nitro-dispatch new acme-greeter --event app.request`, then in a fresh
    virtual environment `pip install <repo> ./acme-greeter`, `pytest
    acme-greeter` and `nitro-dispatch list`."""
    assert new(tmp_path, "acme-greeter", "--event", "app.request").returncode == 0
    venv = venv_factory("kit-new", PROJECT, tmp_path / "acme-greeter")
    venv.pip_install("pytest>=7")
    proc = venv.run(["-m", "pytest", "-p", "no:cacheprovider", str(tmp_path / "acme-greeter")],
                    check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout
    listed = venv.run(["-m", "nitro_dispatch", "list", "--entry-points"])
    row = [line for line in listed.stdout.splitlines() if line.startswith("acme-greeter ")]
    assert row and "acme_greeter:AcmeGreeterPlugin" in row[0], listed.stdout
    script = venv.python.parent / "nitro-dispatch"
    checked = subprocess.run([str(script), "check"], capture_output=True, text=True,
                             env=venv.env(), cwd=str(venv.work_dir), timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("events", [["nitro.plugin.loaded"], ["a.b", "a-b", "x:y/z"]])
def test_the_written_tests_pass_for_any_events(tmp_path: Path, events: List[str]) -> None:
    # Without installing (the entry-point test needs an install: the venv test runs it).
    args = ["acme"] + [arg for event in events for arg in ("--event", event)]
    assert new(tmp_path, *args).returncode == 0
    folder = tmp_path / "acme"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(folder / "src"), str(REPO)]))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "nitro_dispatch.testing", "-k", "not entry_point"],
                          cwd=str(folder), env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed, 1 deselected" in proc.stdout
