"""Drop-in directories: PluginManager.discover_plugins and source precedence.

Every test writes real plugin files into a temporary folder.
"""

import logging
import os
import sys
import textwrap
import uuid

import pytest

from fixtures import make_dist_info, write_module
from nitro_dispatch import PluginBase, PluginDiscoveryError, PluginManager

DROPIN_ROOT = "nitro_dispatch_dropins"


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """Keep the installed-plugin listing cache inside the test's folder."""
    path = tmp_path / "cache"
    monkeypatch.setenv("NITRO_DISPATCH_CACHE_DIR", str(path))
    monkeypatch.delenv("NITRO_DISPATCH_NO_CACHE", raising=False)
    return path


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def plugin_source(class_name, plugin_name, reply, event="ask", extra=""):
    """A plugin class whose hook on ``event`` appends ``reply`` to the list."""
    return textwrap.dedent("""
        from nitro_dispatch import PluginBase, hook


        class {cls}(PluginBase):
            name = {name!r}

            @hook({event!r})
            def answer(self, data):
                return data + [{reply!r}]
        """).format(cls=class_name, name=plugin_name, event=event, reply=reply) + extra


def errors_of(manager):
    seen = []
    manager.register_hook(PluginManager.EVENT_PLUGIN_ERROR, seen.append)
    return seen


# -- finding files ---------------------------------------------------------------------


def test_default_pattern_registers_plugin_files_only(tmp_path):
    write(tmp_path / "alpha_plugin.py", plugin_source("Alpha", "alpha", "a"))
    write(tmp_path / "beta_plugin.py", plugin_source("Beta", "beta", "b"))
    # Files that do not match would fail loudly if they were imported.
    write(tmp_path / "helpers.py", "raise RuntimeError('helpers must not be imported')\n")
    write(tmp_path / "gamma_plugin.txt", "raise RuntimeError('not python')\n")
    manager = PluginManager()
    assert manager.discover_plugins(tmp_path) == ["alpha", "beta"]
    assert manager.get_registered_plugins() == ["alpha", "beta"]
    assert manager.get_problems() == []
    assert manager.load_all() == ["alpha", "beta"]
    assert manager.trigger("ask", []) == ["a", "b"]


def test_discover_accepts_str_and_returns_names_in_file_order(tmp_path):
    write(tmp_path / "b_plugin.py", plugin_source("B", "second", "b"))
    write(tmp_path / "a_plugin.py", plugin_source("A", "first", "a"))
    manager = PluginManager()
    assert manager.discover_plugins(str(tmp_path)) == ["first", "second"]


def test_custom_pattern(tmp_path):
    write(tmp_path / "ext_one.py", plugin_source("One", "one", "1"))
    write(tmp_path / "two_plugin.py", plugin_source("Two", "two", "2"))
    manager = PluginManager()
    assert manager.discover_plugins(tmp_path, pattern="ext_*.py") == ["one"]
    assert "two" not in manager.get_registered_plugins()


def test_pattern_only_matches_python_files(tmp_path):
    write(tmp_path / "one_plugin.py", plugin_source("One", "one", "1"))
    write(tmp_path / "notes_plugin.pyc", "garbage")
    manager = PluginManager()
    assert manager.discover_plugins(tmp_path, pattern="*_plugin.*") == ["one"]
    assert manager.get_problems() == []


def test_recursive_option(tmp_path):
    write(tmp_path / "top_plugin.py", plugin_source("Top", "top", "t"))
    write(tmp_path / "sub" / "inner_plugin.py", plugin_source("Inner", "inner", "i"))
    write(tmp_path / "sub" / "deeper" / "deep_plugin.py", plugin_source("Deep", "deep", "d"))
    write(tmp_path / ".hidden" / "secret_plugin.py", plugin_source("Secret", "secret", "s"))

    flat = PluginManager()
    assert flat.discover_plugins(tmp_path) == ["top"]

    deep = PluginManager()
    names = deep.discover_plugins(tmp_path, recursive=True)
    assert sorted(names) == ["deep", "inner", "top"]
    assert "secret" not in names
    assert deep.get_plugin_source("inner").path == str(tmp_path / "sub" / "inner_plugin.py")


def test_tilde_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    path = write(tmp_path / "plugins" / "home_plugin.py", plugin_source("Home", "home", "h"))
    manager = PluginManager()
    assert manager.discover_plugins("~/plugins") == ["home"]
    source = manager.get_plugin_source("home")
    assert source.kind == "dropin"
    assert source.path == str(path)
    assert "~" not in source.module


def test_missing_directory_raises(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(PluginDiscoveryError, match="nowhere"):
        PluginManager().discover_plugins(missing)


def test_missing_directory_under_tilde_names_expanded_path(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(PluginDiscoveryError) as info:
        PluginManager().discover_plugins("~/absent")
    assert str(tmp_path / "absent") in str(info.value)


def test_file_instead_of_directory_raises(tmp_path):
    path = write(tmp_path / "lonely_plugin.py", plugin_source("Lonely", "lonely", "l"))
    manager = PluginManager()
    with pytest.raises(PluginDiscoveryError, match="not a directory"):
        manager.discover_plugins(path)
    assert manager.get_registered_plugins() == []


def test_empty_directory_registers_nothing(tmp_path):
    manager = PluginManager()
    assert manager.discover_plugins(tmp_path) == []
    assert manager.get_problems() == []


# -- module names ----------------------------------------------------------------------


def test_same_file_name_in_two_directories_never_clash(tmp_path):
    write(tmp_path / "one" / "x_plugin.py", plugin_source("XPlugin", "x_one", "from one"))
    write(tmp_path / "two" / "x_plugin.py", plugin_source("XPlugin", "x_two", "from two"))
    path_before = list(sys.path)
    manager = PluginManager()
    assert manager.discover_plugins(tmp_path / "one") == ["x_one"]
    assert manager.discover_plugins(tmp_path / "two") == ["x_two"]
    assert sys.path == path_before

    cls_one = manager.get_plugin_class("x_one")
    cls_two = manager.get_plugin_class("x_two")
    assert cls_one is not cls_two
    assert cls_one.__module__ != cls_two.__module__
    assert sys.modules[cls_one.__module__].__file__ == str(tmp_path / "one" / "x_plugin.py")
    assert sys.modules[cls_two.__module__].__file__ == str(tmp_path / "two" / "x_plugin.py")
    assert "x_plugin" not in sys.modules
    for cls in (cls_one, cls_two):
        assert cls.__module__.startswith(DROPIN_ROOT + ".")
        assert cls.__module__.endswith(".x_plugin")
        assert manager.get_plugin_source(cls.name).module == cls.__module__

    manager.load_all()
    assert manager.trigger("ask", []) == ["from one", "from two"]


def test_same_directory_name_in_two_places_never_clash(tmp_path):
    write(tmp_path / "a" / "plugins" / "x_plugin.py", plugin_source("X", "xa", "a"))
    write(tmp_path / "b" / "plugins" / "x_plugin.py", plugin_source("X", "xb", "b"))
    manager = PluginManager()
    manager.discover_plugins(tmp_path / "a" / "plugins")
    manager.discover_plugins(tmp_path / "b" / "plugins")
    assert manager.get_plugin_source("xa").module != manager.get_plugin_source("xb").module


def test_module_name_is_stable_and_file_is_imported_once(tmp_path):
    write(tmp_path / "count_plugin.py", """
        import builtins

        from nitro_dispatch import PluginBase

        builtins.ndtest_import_count = getattr(builtins, "ndtest_import_count", 0) + 1


        class Count(PluginBase):
            name = "count"
        """)
    import builtins

    try:
        first = PluginManager()
        first.discover_plugins(tmp_path)
        again = PluginManager()
        again.discover_plugins(tmp_path)
        assert builtins.ndtest_import_count == 1
        assert first.get_plugin_class("count") is again.get_plugin_class("count")
    finally:
        del builtins.ndtest_import_count


# -- several classes, packages and relative imports ------------------------------------


def test_file_with_several_plugin_classes(tmp_path):
    write(tmp_path / "shared.py", plugin_source("Imported", "imported", "nope"))
    write(tmp_path / "multi_plugin.py", """
        from nitro_dispatch import PluginBase, hook

        from .shared import Imported  # defined elsewhere: not this file's plugin


        class First(PluginBase):
            name = "first"

            @hook("ask")
            def answer(self, data):
                return data + ["first"]


        class NotAPlugin:
            name = "not_a_plugin"


        class Second(First):
            name = "second"
            version = "2.0.0"

            @hook("ask")
            def answer(self, data):
                return data + ["second"]
        """)
    manager = PluginManager()
    assert manager.discover_plugins(tmp_path) == ["first", "second"]
    assert manager.get_plugin_version("second") == "2.0.0"
    assert manager.get_plugin_source("first").path == \
        manager.get_plugin_source("second").path == str(tmp_path / "multi_plugin.py")
    assert manager.get_plugin_source("first").value.endswith(":First")
    assert manager.get_plugin_source("second").value.endswith(":Second")
    manager.load_all()
    assert manager.trigger("ask", []) == ["first", "second"]


def test_relative_imports_in_a_package_folder(tmp_path):
    write(tmp_path / "__init__.py", "PREFIX = 'pkg:'\n")
    write(tmp_path / "helpers.py", "WORD = 'helped'\n")
    write(tmp_path / "rel_plugin.py", """
        from nitro_dispatch import PluginBase, hook

        from . import PREFIX
        from .helpers import WORD


        class Rel(PluginBase):
            name = "rel"

            @hook("ask")
            def answer(self, data):
                return data + [PREFIX + WORD]
        """)
    path_before = list(sys.path)
    manager = PluginManager()
    assert manager.discover_plugins(tmp_path) == ["rel"]
    assert sys.path == path_before
    assert manager.get_problems() == []
    module = manager.get_plugin_source("rel").module
    package = module.rpartition(".")[0]
    assert sys.modules[package + ".helpers"].WORD == "helped"
    assert "helpers" not in sys.modules  # the neighbour is the package's, not a top-level module
    manager.load("rel")
    assert manager.trigger("ask", []) == ["pkg:helped"]


def test_relative_imports_without_init_file(tmp_path):
    write(tmp_path / "words.py", "WORD = 'neighbour'\n")
    write(tmp_path / "near_plugin.py", """
        from nitro_dispatch import PluginBase, hook

        from .words import WORD


        class Near(PluginBase):
            name = "near"

            @hook("ask")
            def answer(self, data):
                return data + [WORD]
        """)
    manager = PluginManager()
    assert manager.discover_plugins(tmp_path) == ["near"]
    manager.load("near")
    assert manager.trigger("ask", []) == ["neighbour"]


def test_same_helper_name_in_two_folders_stays_apart(tmp_path):
    for folder in ("left", "right"):
        write(tmp_path / folder / "helpers.py", "WORD = %r\n" % folder)
        write(tmp_path / folder / "side_plugin.py", """
            from nitro_dispatch import PluginBase, hook

            from .helpers import WORD


            class Side(PluginBase):
                name = "side_" + WORD

                @hook("ask")
                def answer(self, data):
                    return data + [WORD]
            """)
    manager = PluginManager()
    manager.discover_plugins(tmp_path / "left")
    manager.discover_plugins(tmp_path / "right")
    manager.load_all()
    assert manager.trigger("ask", []) == ["left", "right"]


def test_plugin_file_importing_another_plugin_file(tmp_path):
    write(tmp_path / "z_plugin.py", plugin_source("Z", "z", "z"))
    write(tmp_path / "a_plugin.py", """
        from nitro_dispatch import hook

        from .z_plugin import Z


        class A(Z):
            name = "a"

            @hook("ask")
            def answer(self, data):
                return data + ["a"]
        """)
    manager = PluginManager()
    assert sorted(manager.discover_plugins(tmp_path)) == ["a", "z"]
    assert manager.get_problems() == []
    z_cls = manager.get_plugin_class("z")
    assert issubclass(manager.get_plugin_class("a"), z_cls)  # one module for z_plugin.py
    assert manager.get_plugin_source("z").path == str(tmp_path / "z_plugin.py")


# -- failures are reported, the rest registers -----------------------------------------


def test_file_that_fails_to_import_is_reported_and_others_register(tmp_path, caplog):
    bad = write(tmp_path / "bad_plugin.py", """
        from nitro_dispatch import PluginBase

        raise RuntimeError("kaput at import")
        """)
    write(tmp_path / "good_plugin.py", plugin_source("Good", "good", "fine"))
    manager = PluginManager()
    errors = errors_of(manager)
    with caplog.at_level(logging.ERROR, logger="nitro_dispatch"):
        assert manager.discover_plugins(tmp_path) == ["good"]

    problems = manager.get_problems()
    assert len(problems) == 1
    problem = problems[0]
    assert problem.phase == "discovery"
    assert str(bad) in str(problem)
    assert "kaput at import" in str(problem)
    assert problem.source.path == str(bad)
    assert isinstance(problem.error, RuntimeError)

    assert len(errors) == 1
    payload = errors[0]
    assert payload["phase"] == "discovery"
    assert isinstance(payload["error"], RuntimeError)
    assert str(bad) in payload["message"]
    assert "plugin_name" in payload

    assert any(str(bad) in rec.getMessage() for rec in caplog.records
               if rec.levelno >= logging.ERROR)
    assert not any(name.endswith(".bad_plugin") for name in sys.modules)

    manager.load_all()
    assert manager.trigger("ask", []) == ["fine"]


def test_syntax_error_file_is_reported_with_path(tmp_path):
    bad = write(tmp_path / "broken_plugin.py", "def oops(:\n    pass\n")
    write(tmp_path / "ok_plugin.py", plugin_source("Ok", "ok", "ok"))
    manager = PluginManager()
    assert manager.discover_plugins(tmp_path) == ["ok"]
    (problem,) = manager.get_problems()
    assert str(bad) in str(problem)
    assert isinstance(problem.error, SyntaxError)


def test_missing_import_inside_a_file_is_reported(tmp_path):
    bad = write(tmp_path / "needy_plugin.py", "import ndtest_module_that_does_not_exist\n")
    manager = PluginManager()
    assert manager.discover_plugins(tmp_path) == []
    (problem,) = manager.get_problems()
    assert str(bad) in str(problem)
    assert "ndtest_module_that_does_not_exist" in str(problem)
    assert isinstance(problem.error, ImportError)


def test_class_that_fails_validation_is_reported_and_others_register(tmp_path):
    path = write(tmp_path / "mixed_plugin.py", """
        from nitro_dispatch import PluginBase


        class Bad(PluginBase):
            name = "badver"
            version = "not a version"


        class Fine(PluginBase):
            name = "fine"
        """)
    manager = PluginManager()
    errors = errors_of(manager)
    assert manager.discover_plugins(tmp_path) == ["fine"]
    (problem,) = manager.get_problems()
    assert problem.plugin == "badver"
    assert str(path) in str(problem)
    assert "version" in str(problem)
    assert [e["plugin_name"] for e in errors] == ["badver"]


def test_failed_file_is_tried_again_on_next_discovery(tmp_path):
    path = write(tmp_path / "later_plugin.py", "raise RuntimeError('not yet')\n")
    manager = PluginManager()
    assert manager.discover_plugins(tmp_path) == []
    write(path, plugin_source("Later", "later", "now"))
    assert manager.discover_plugins(tmp_path) == ["later"]


# -- discovering again ------------------------------------------------------------------


def test_discovering_twice_registers_nothing_twice(tmp_path, monkeypatch):
    write(tmp_path / "plugins" / "once_plugin.py", plugin_source("Once", "once", "1"))
    monkeypatch.setenv("HOME", str(tmp_path))
    manager = PluginManager()
    registered = []
    manager.register_hook(PluginManager.EVENT_PLUGIN_REGISTERED, registered.append)
    assert manager.discover_plugins(tmp_path / "plugins") == ["once"]
    assert manager.discover_plugins(tmp_path / "plugins") == []
    assert manager.discover_plugins(str(tmp_path / "plugins") + os.sep) == []
    assert manager.discover_plugins("~/plugins") == []
    assert manager.get_registered_plugins() == ["once"]
    assert [r["plugin_name"] for r in registered] == ["once"]
    assert manager.get_problems() == []
    manager.load_all()
    assert manager.trigger("ask", []) == ["1"]


def test_discovering_twice_finds_new_files(tmp_path):
    write(tmp_path / "a_plugin.py", plugin_source("A", "a", "a"))
    manager = PluginManager()
    assert manager.discover_plugins(tmp_path) == ["a"]
    write(tmp_path / "b_plugin.py", plugin_source("B", "b", "b"))
    assert manager.discover_plugins(tmp_path) == ["b"]
    assert manager.get_problems() == []


def test_registered_event_carries_dropin_source(tmp_path):
    path = write(tmp_path / "ev_plugin.py", plugin_source("Ev", "ev", "e"))
    manager = PluginManager()
    seen = []
    manager.register_hook(PluginManager.EVENT_PLUGIN_REGISTERED, seen.append)
    manager.discover_plugins(tmp_path)
    (payload,) = seen
    assert payload["plugin_name"] == "ev"
    assert payload["plugin_class"] is manager.get_plugin_class("ev")
    assert payload["source"].kind == "dropin"
    assert payload["source"].path == str(path)


def test_block_and_allow_lists_apply_to_dropins(tmp_path):
    write(tmp_path / "a_plugin.py", plugin_source("A", "a", "a"))
    write(tmp_path / "b_plugin.py", plugin_source("B", "b", "b"))
    assert PluginManager(block_list=["a"]).discover_plugins(tmp_path) == ["b"]
    assert PluginManager(allow_list=["a"]).discover_plugins(tmp_path) == ["a"]


# -- precedence between sources ----------------------------------------------------------


def test_dropin_vs_dropin_conflict_first_wins_and_is_reported(tmp_path, caplog):
    first = write(tmp_path / "one" / "dup_plugin.py", plugin_source("Dup", "dup", "one"))
    second = write(tmp_path / "two" / "dup_plugin.py", plugin_source("Dup", "dup", "two"))
    manager = PluginManager()
    errors = errors_of(manager)
    assert manager.discover_plugins(tmp_path / "one") == ["dup"]
    with caplog.at_level(logging.ERROR, logger="nitro_dispatch"):
        assert manager.discover_plugins(tmp_path / "two") == []

    assert manager.get_plugin_source("dup").path == str(first)
    (problem,) = manager.get_problems()
    assert problem.phase == "conflict"
    assert problem.plugin == "dup"
    assert str(first) in str(problem) and str(second) in str(problem)
    assert problem.source.path == str(second)
    (payload,) = errors
    assert payload["phase"] == "conflict"
    assert payload["plugin_name"] == "dup"
    assert any("dup" in rec.getMessage() and str(second) in rec.getMessage()
               for rec in caplog.records)

    manager.load_all()
    assert manager.trigger("ask", []) == ["one"]


def test_conflict_within_one_directory_keeps_the_first_file(tmp_path):
    write(tmp_path / "a_plugin.py", plugin_source("Same", "same", "from a"))
    second = write(tmp_path / "b_plugin.py", plugin_source("Same", "same", "from b"))
    manager = PluginManager()
    assert manager.discover_plugins(tmp_path) == ["same"]
    (problem,) = manager.get_problems()
    assert problem.phase == "conflict"
    assert str(second) in str(problem)
    manager.load("same")
    assert manager.trigger("ask", []) == ["from a"]


def test_dropin_vs_class_registered_in_code(tmp_path):
    class Code(PluginBase):
        name = "coded"

    path = write(tmp_path / "coded_plugin.py", plugin_source("Coded", "coded", "file"))
    manager = PluginManager()
    manager.register(Code)
    assert manager.discover_plugins(tmp_path) == []
    assert manager.get_plugin_class("coded") is Code
    (problem,) = manager.get_problems()
    assert problem.phase == "conflict"
    assert str(path) in str(problem)


def _fake_distribution(site, module, plugin_name, reply):
    """An installed distribution (dist-info on ``site``) advertising one plugin."""
    write_module(site, module, plugin_source("DistPlugin", plugin_name, reply))
    make_dist_info(site, "ndtest-dist-" + plugin_name, "3.2.1",
                   {"nitro_dispatch.plugins": {plugin_name: "%s:DistPlugin" % module}})


@pytest.fixture
def clash_setup(tmp_path, monkeypatch, cache_dir):
    """A drop-in directory and an installed distribution both claiming
    the plugin name ``clash``."""
    site = tmp_path / "site"
    site.mkdir()
    module = "ndtest_clash_%s" % uuid.uuid4().hex[:8]
    _fake_distribution(site, module, "clash", "installed")
    monkeypatch.syspath_prepend(str(site))
    dropin = write(tmp_path / "drop" / "clash_plugin.py", plugin_source("Clash", "clash", "file"))
    return dropin.parent, dropin


def test_installed_then_dropin_first_registration_wins(clash_setup):
    directory, dropin = clash_setup
    manager = PluginManager()
    errors = errors_of(manager)
    assert "clash" in manager.discover_installed_plugins()
    assert manager.discover_plugins(directory) == []

    source = manager.get_plugin_source("clash")
    assert source.kind == "distribution"
    assert source.dist_name == "ndtest-dist-clash"
    conflicts = [p for p in manager.get_problems() if p.phase == "conflict"]
    assert len(conflicts) == 1
    assert conflicts[0].plugin == "clash"
    assert str(dropin) in str(conflicts[0])
    assert "ndtest-dist-clash" in str(conflicts[0])
    assert [e["phase"] for e in errors if e["plugin_name"] == "clash"] == ["conflict"]

    manager.load("clash")
    assert manager.trigger("ask", []) == ["installed"]
    assert manager.get_plugin_version("clash") == "3.2.1"


def test_dropin_then_installed_first_registration_wins(clash_setup):
    directory, dropin = clash_setup
    manager = PluginManager()
    errors = errors_of(manager)
    assert manager.discover_plugins(directory) == ["clash"]
    assert "clash" not in manager.discover_installed_plugins()

    source = manager.get_plugin_source("clash")
    assert source.kind == "dropin"
    assert source.path == str(dropin)
    conflicts = [p for p in manager.get_problems() if p.phase == "conflict"]
    assert len(conflicts) == 1
    assert conflicts[0].plugin == "clash"
    assert str(dropin) in str(conflicts[0])
    assert "ndtest-dist-clash" in str(conflicts[0])
    assert conflicts[0].source.kind == "distribution"
    assert [e["phase"] for e in errors if e["plugin_name"] == "clash"] == ["conflict"]

    manager.load("clash")
    assert manager.trigger("ask", []) == ["file"]


def test_conflict_is_reported_again_but_nothing_registers_twice(clash_setup):
    directory, _ = clash_setup
    manager = PluginManager()
    manager.discover_installed_plugins()
    manager.discover_plugins(directory)
    manager.discover_installed_plugins()  # the same distribution again: not a conflict
    assert manager.get_registered_plugins().count("clash") == 1
    assert manager.get_plugin_source("clash").kind == "distribution"
    conflicts = [p for p in manager.get_problems() if p.phase == "conflict"]
    assert len(conflicts) == 1
