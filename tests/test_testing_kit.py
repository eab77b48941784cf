"""nitro_dispatch.testing: the plugin_manager fixture, make_distribution
and assert_plugin_conforms, as plugin and host authors use them."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, Generator, List

import pytest

from nitro_dispatch import (PluginBase, PluginLoadError, PluginManager, event_spec, hook,
                            list_installed_plugins)
from nitro_dispatch.testing import assert_plugin_conforms, make_distribution

REPO = Path(__file__).resolve().parent.parent


# -- plugin_manager ------------------------------------------------------------

class Counter(PluginBase):
    name = "counter"

    @hook("count")
    def add(self, data: int) -> int:
        return data + 1


def test_plugin_manager_fixture_is_a_fresh_manager(plugin_manager: PluginManager) -> None:
    assert isinstance(plugin_manager, PluginManager)
    assert plugin_manager.get_registered_plugins() == []
    plugin_manager.register(Counter)
    plugin_manager.load("counter")
    assert plugin_manager.trigger("count", 1) == 2


def run_pytest(folder: Path, *args: str) -> "subprocess.CompletedProcess[str]":
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "nitro_dispatch.testing", *args], cwd=str(folder), env=env,
                          capture_output=True, text=True, timeout=120)


def test_plugin_manager_unloads_at_teardown_without_a_conftest(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    (tmp_path / "test_author.py").write_text(textwrap.dedent("""
        from nitro_dispatch import PluginBase

        class Noisy(PluginBase):
            name = "noisy"

            def on_unload(self):
                with open(%r, "a") as f:
                    f.write("unloaded\\n")

        def test_uses_the_fixture(plugin_manager):
            plugin_manager.register(Noisy)
            plugin_manager.load("noisy")
            assert plugin_manager.is_loaded("noisy")
    """ % (str(log),)), encoding="utf-8")
    proc = run_pytest(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
    assert log.read_text() == "unloaded\n"


def test_importing_nitro_dispatch_never_imports_pytest() -> None:
    code = ("import sys, nitro_dispatch\n"
            "print(sorted(m for m in sys.modules if m.startswith(('pytest', '_pytest',"
            " 'nitro_dispatch.testing', 'nitro_dispatch.sphinxext', 'sphinx'))))")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# -- make_distribution ---------------------------------------------------------

def test_make_distribution_writes_what_importlib_metadata_reads(tmp_path: Path) -> None:
    from importlib.metadata import distributions

    folder = make_distribution(tmp_path, "nitro-hello.world", "1.2.0",
                               plugins={"hello": "nitro_hello:Hello"},
                               requires=["nitro-dispatch>=1.3", "myapp>=2; python_version>'3'"],
                               events={"hello": "nitro_hello.events:Events"},
                               summary="Says hello")
    assert folder == tmp_path / "nitro_hello_world-1.2.0.dist-info"
    found = list(distributions(path=[str(tmp_path)]))
    assert len(found) == 1
    dist = found[0]
    assert dist.metadata["Name"] == "nitro-hello.world"
    assert dist.version == "1.2.0"
    assert dist.metadata["Summary"] == "Says hello"
    assert dist.requires == ["nitro-dispatch>=1.3", "myapp>=2; python_version>'3'"]
    eps = {(ep.group, ep.name): ep.value for ep in dist.entry_points}
    assert eps == {("nitro_dispatch.plugins", "hello"): "nitro_hello:Hello",
                   ("nitro_dispatch.events", "hello"): "nitro_hello.events:Events"}


def test_make_distribution_record_lists_every_file_with_its_hash(tmp_path: Path) -> None:
    folder = make_distribution(tmp_path, "nitro-rec", "0.1", plugins={"rec": "rec:Rec"})
    rows = [line.split(",") for line in (folder / "RECORD").read_text().splitlines()]
    listed = {row[0] for row in rows}
    assert listed == {"nitro_rec-0.1.dist-info/%s" % p.name for p in folder.iterdir()}
    for path, digest, size in rows:
        if path.endswith("RECORD"):
            assert (digest, size) == ("", "")
            continue
        data = (tmp_path / path).read_bytes()
        expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        assert digest == "sha256=" + expected.decode() and int(size) == len(data)


def test_make_distribution_is_listed_by_nitro_dispatch(tmp_path: Path) -> None:
    make_distribution(tmp_path, "nitro-a", "2.0", plugins={"a": "nitro_a:A"},
                      requires=["nitro-dispatch>=1.3"], summary="Plugin A")
    make_distribution(tmp_path, "other", "1.0")  # no entry points: not a plugin
    make_distribution(tmp_path, "nitro-b", "1.0", plugins={"b": "nitro_b:B"},
                      group="myapp.plugins")
    listed = list_installed_plugins(path=[str(tmp_path)])
    assert [(p.name, p.value, p.dist_name, p.dist_version, p.requires) for p in listed] == [
        ("a", "nitro_a:A", "nitro-a", "2.0", ("nitro-dispatch>=1.3",))]
    assert getattr(listed[0], "summary", "Plugin A") == "Plugin A"
    assert [p.name for p in list_installed_plugins("myapp.plugins", path=[str(tmp_path)])] \
        == ["b"]


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "-bad"}, "invalid distribution name '-bad'"),
    ({"name": "a b"}, "invalid distribution name 'a b'"),
    ({"version": ""}, "invalid version ''"),
    ({"plugins": {"x=y": "m:C"}}, "invalid entry-point name 'x=y'"),
    ({"plugins": {"x": "not a value"}}, "invalid entry-point value 'not a value'"),
    ({"requires": ["ok", "two\nlines"]}, "invalid Requires-Dist 'two\\nlines'"),
    ({"summary": "one\ntwo"}, "must be one line"),
])
def test_make_distribution_refuses_bad_input(tmp_path: Path, kwargs: Dict[str, Any],
                                             message: str) -> None:
    args: Dict[str, Any] = {"name": "good", "version": "1.0"}
    args.update(kwargs)
    with pytest.raises(ValueError) as info:
        make_distribution(tmp_path, args.pop("name"), args.pop("version"), **args)
    assert message in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_make_distribution_refuses_an_existing_folder(tmp_path: Path) -> None:
    make_distribution(tmp_path, "twice", "1.0")
    with pytest.raises(FileExistsError):
        make_distribution(tmp_path, "twice", "1.0")


# -- assert_plugin_conforms ----------------------------------------------------

class AppEvents:
    @event_spec("app.request")
    @staticmethod
    def request(data: Dict[str, Any]) -> None:
        """A request."""

    @event_spec("app.menu", mode="collect")
    @staticmethod
    def menu(data: Dict[str, Any]) -> None:
        """Menu entries."""


class Good(PluginBase):
    name = "good"

    @hook("app.request")
    def on_request(self, data: Dict[str, Any]) -> Dict[str, Any]:
        return data

    @hook("app.*", wrapper=True)
    def around(self, data: Any) -> Generator[None, Any, None]:
        yield

    @hook("nitro.plugin.loaded")
    def seen(self, data: Dict[str, Any]) -> None:
        return None


class Bad(PluginBase):
    name = "bad"

    def __init__(self) -> None:
        super().__init__()
        self.register_hook("app.manu", self.typo_in_init)

    @hook("app.requst")
    def typo(self, data: Dict[str, Any]) -> None:
        return None

    @hook("app.request")
    def no_data(self) -> None:
        return None

    @hook("app.menu", wrapper=True)
    def not_a_generator(self, data: Any) -> None:
        return None

    def typo_in_init(self, data: Any) -> None:
        return None


@pytest.fixture
def host() -> PluginManager:
    manager = PluginManager()
    manager.declare_events(AppEvents)
    return manager


def test_a_conforming_plugin_passes(host: PluginManager) -> None:
    assert_plugin_conforms(Good, host)
    assert_plugin_conforms(Good, PluginManager())  # nothing declared: nothing to conform to


def test_every_problem_is_listed_and_the_manager_is_untouched(host: PluginManager) -> None:
    events_before = sorted(host.get_events())
    with pytest.raises(AssertionError) as info:
        assert_plugin_conforms(Bad, host)
    message = str(info.value)
    assert message.startswith("plugin class Bad does not conform (4 problems):")
    lines = message.splitlines()[1:]
    assert len(lines) == 4, message
    assert any("hook typo on 'app.requst'" in line and "did you mean 'app.request'?" in line
               for line in lines), message
    assert any("hook no_data on 'app.request'" in line for line in lines), message
    assert any("hook not_a_generator on 'app.menu'" in line for line in lines), message
    assert any("registered in __init__ on 'app.manu'" in line
               and "did you mean 'app.menu'?" in line for line in lines), message
    assert host.get_registered_plugins() == []
    assert sorted(host.get_events()) == events_before


def test_the_problems_are_the_ones_a_strict_manager_refuses() -> None:
    strict = PluginManager(strict_events=True)
    strict.declare_events(AppEvents)
    strict.register(Bad)
    with pytest.raises(PluginLoadError):
        strict.load("bad")
    strict.register(Good)
    strict.load("good")
    strict.unload_all()


class BadVersion(PluginBase):
    name = "badversion"
    version = "not a version"


def test_metadata_and_the_class_itself_are_checked(host: PluginManager) -> None:
    with pytest.raises(AssertionError) as info:
        assert_plugin_conforms(BadVersion, host)
    assert "'version' 'not a version' is not a valid PEP 440 version" in str(info.value)
    with pytest.raises(AssertionError) as info:
        assert_plugin_conforms(dict, host)
    assert "<class 'dict'> is not a PluginBase subclass" in str(info.value)


def test_metadata_is_checked_as_the_manager_checks_it() -> None:
    assert_plugin_conforms(BadVersion, PluginManager(validate_metadata=False))


def test_a_plugin_that_cannot_be_created_is_reported(host: PluginManager) -> None:
    class Broken(PluginBase):
        name = "broken"

        def __init__(self) -> None:
            raise RuntimeError("no database")

    with pytest.raises(AssertionError) as info:
        assert_plugin_conforms(Broken, host)
    assert "plugin 'broken': creating it raised RuntimeError: no database" in str(info.value)


def test_seen_events_are_recorded_by_the_fixture_manager(plugin_manager: PluginManager) -> None:
    seen: List[str] = []
    plugin_manager.register_hook("nitro.plugin.loaded", lambda d: seen.append(d["plugin_name"]))
    plugin_manager.register(Good)
    plugin_manager.load("good")
    assert seen == ["good"]
