"""Hot reload: PluginManager.reload for drop-ins, installed distributions and
plugins registered from an importable module.

Every test writes real plugin files into a temporary folder and edits them
between reloads.  Edits keep the file's size and mtime where it matters, so a
reload that trusted a cached ``.pyc`` (or the mtime) would be caught.
"""

import importlib
import json
import os
import sys
import textwrap
import uuid

import pytest

from fixtures import make_dist_info, write_module
from nitro_dispatch import (PluginBase, PluginLoadError, PluginManager, PluginNotFoundError,
                            hook)
from venv_support import plugin_venv_fixture  # noqa: F401  (the real venv, built once)

DROPIN_ROOT = "nitro_dispatch_dropins"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NITRO_DISPATCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("NITRO_DISPATCH_NO_CACHE", raising=False)


def plugin_source(reply="v1", version="1.0.1", name="relo", class_name="ReloPlugin",
                  body=""):
    """A plugin whose ``ask`` hook appends ``reply``; edits that change only
    ``reply`` and ``version`` to strings of equal length keep the file size."""
    return textwrap.dedent("""
        from nitro_dispatch import PluginBase, hook


        class {cls}(PluginBase):
            name = {name!r}
            version = {version!r}

            @hook("ask")
            def answer(self, data):
                return data + [{reply!r}]
        """).lstrip().format(cls=class_name, name=name, version=version,
                             reply=reply) + textwrap.indent(textwrap.dedent(body), "    ")


def rewrite(path, text, same_stat=False):
    """Replace the file's content; with ``same_stat`` the new content must
    have the same length and the mtime is set back to the old one."""
    old = os.stat(path)
    data = text.encode("utf-8")
    if same_stat:
        assert len(data) == old.st_size, "test bug: edit must keep the size"
    with open(path, "wb") as handle:
        handle.write(data)
    if same_stat:
        os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))
        assert os.stat(path).st_mtime_ns == old.st_mtime_ns


class Source:
    """One plugin named ``relo`` from one kind of source, with the file that
    holds its code and the module name it runs under."""

    def __init__(self, kind, tmp_path, monkeypatch, manager):
        self.kind = kind
        self.manager = manager
        if kind == "dropin":
            directory = tmp_path / "drop"
            directory.mkdir()
            self.path = directory / "relo_plugin.py"
            self.path.write_text(plugin_source(), encoding="utf-8")
            assert manager.discover_plugins(directory) == ["relo"]
            self.module = manager.get_plugin_source("relo").module
        elif kind == "module":
            directory = tmp_path / "mods"
            directory.mkdir()
            self.module = "ndtest_mod_%s" % uuid.uuid4().hex[:8]
            self.path = directory / (self.module + ".py")
            self.path.write_text(plugin_source(), encoding="utf-8")
            monkeypatch.syspath_prepend(str(directory))
            imported = importlib.import_module(self.module)
            manager.register(imported.ReloPlugin)
        elif kind == "distribution":
            site = tmp_path / "site"
            site.mkdir()
            self.module = "ndtest_dist_%s" % uuid.uuid4().hex[:8]
            self.path = write_module(site, self.module, plugin_source())
            make_dist_info(site, "ndtest-relo", "5.0.0",
                           {"nitro_dispatch.plugins": {"relo": self.module + ":ReloPlugin"}})
            monkeypatch.syspath_prepend(str(site))
            assert "relo" in manager.discover_installed_plugins()
        else:
            raise AssertionError(kind)

    def edit(self, text, same_stat=False):
        rewrite(self.path, text, same_stat)


KINDS = ["dropin", "module", "distribution"]


@pytest.fixture(params=KINDS)
def source(request, tmp_path, monkeypatch):
    return Source(request.param, tmp_path, monkeypatch, PluginManager())


def events_of(manager, *events):
    seen = []
    for event in events:
        manager.register_hook(event, lambda data, event=event: seen.append((event, data)))
    return seen


# -- successful reloads --------------------------------------------------------------


def test_reload_after_edit_answers_with_new_code(source):
    manager = source.manager
    old = manager.load("relo")
    old_cls = type(old)
    assert manager.trigger("ask", []) == ["v1"]
    assert manager.get_plugin_version("relo") == "1.0.1"

    source.edit(plugin_source(reply="v2", version="1.0.2"), same_stat=True)
    new = manager.reload("relo")

    assert new is manager.get_plugin("relo")
    assert new is not old
    assert type(new) is not old_cls
    assert manager.get_plugin_class("relo") is type(new)
    assert manager.trigger("ask", []) == ["v2"]  # the old hooks are gone
    assert new.version == "1.0.2"
    assert manager.get_plugin_version("relo") == "1.0.2"
    assert manager.is_loaded("relo")
    assert new.manager is manager
    module = sys.modules[source.module]
    assert type(new).__module__ == source.module
    assert module.ReloPlugin is type(new)
    assert importlib.import_module(source.module) is module


def test_reload_twice(source):
    manager = source.manager
    manager.load("relo")
    for n in (2, 3):
        source.edit(plugin_source(reply="v%d" % n, version="1.0.%d" % n), same_stat=True)
        manager.reload("relo")
        assert manager.trigger("ask", []) == ["v%d" % n]
        assert manager.get_plugin_version("relo") == "1.0.%d" % n


def test_reload_keeps_the_source_record(source):
    manager = source.manager
    before = manager.get_plugin_source("relo")
    manager.load("relo")
    source.edit(plugin_source(reply="v2", version="1.0.2"))
    manager.reload("relo")
    assert manager.get_plugin_source("relo") == before
    assert manager.get_registered_plugins() == ["relo"]


def test_reload_keeps_disabled_state(source):
    manager = source.manager
    manager.load("relo")
    manager.disable_plugin("relo")
    assert manager.trigger("ask", []) == []

    source.edit(plugin_source(reply="v2", version="1.0.2"))
    new = manager.reload("relo")
    assert new.enabled is False
    assert manager.trigger("ask", []) == []
    manager.enable_plugin("relo")
    assert manager.trigger("ask", []) == ["v2"]


def test_reload_keeps_state_set_on_the_instance(source):
    manager = source.manager
    manager.load("relo").enabled = False
    source.edit(plugin_source(reply="v2", version="1.0.2"))
    assert manager.reload("relo").enabled is False
    assert manager.trigger("ask", []) == []


def test_reload_keeps_enabled_state(source):
    manager = source.manager
    manager.load("relo")
    manager.disable_plugin("relo")
    manager.enable_plugin("relo")
    source.edit(plugin_source(reply="v2", version="1.0.2"))
    assert manager.reload("relo").enabled is True
    assert manager.trigger("ask", []) == ["v2"]


def test_reload_fires_unloaded_then_loaded_and_runs_lifecycle(tmp_path, monkeypatch):
    manager = PluginManager()
    src = Source("dropin", tmp_path, monkeypatch, manager)
    log = []
    manager.config["log"] = log
    body = """
        def on_load(self):
            self.manager.config["log"].append(("load", {reply!r}))

        def on_unload(self):
            self.manager.config["log"].append(("unload", {reply!r}))
    """
    src.edit(plugin_source(body=body.format(reply="v1")))
    # The first discovery imported the plain source; reload picks up the hooks.
    manager.reload("relo")
    log.clear()
    seen = events_of(manager, PluginManager.EVENT_PLUGIN_UNLOADED,
                     PluginManager.EVENT_PLUGIN_LOADED)
    src.edit(plugin_source(reply="v2", version="2.0.0",
                           body=body.format(reply="v2")))
    manager.reload("relo")
    assert log == [("unload", "v1"), ("load", "v2")]
    assert [event for event, _ in seen] == [PluginManager.EVENT_PLUGIN_UNLOADED,
                                            PluginManager.EVENT_PLUGIN_LOADED]
    assert seen[1][1]["plugin_name"] == "relo"
    assert seen[1][1]["version"] == "2.0.0"
    assert seen[1][1]["plugin"] is manager.get_plugin("relo")


def test_reload_of_registered_but_not_loaded_plugin(source):
    manager = source.manager
    assert not manager.is_loaded("relo")
    source.edit(plugin_source(reply="v2", version="1.0.2"), same_stat=True)
    plugin = manager.reload("relo")
    assert manager.get_plugin("relo") is plugin
    assert manager.get_plugin_version("relo") == "1.0.2"
    assert manager.trigger("ask", []) == ["v2"]


def test_reload_of_unloaded_plugin_keeps_disabled_state(source):
    manager = source.manager
    manager.load("relo")
    manager.disable_plugin("relo")
    manager.unload("relo")
    source.edit(plugin_source(reply="v2", version="1.0.2"))
    assert manager.reload("relo").enabled is False
    assert manager.trigger("ask", []) == []


def test_reload_unknown_name_raises_not_found():
    manager = PluginManager()
    with pytest.raises(PluginNotFoundError, match="ghost"):
        manager.reload("ghost")


def test_edit_within_the_same_second_with_same_size_is_picked_up(tmp_path, monkeypatch):
    """A module imported the normal way has a ``.pyc`` keyed on the source's
    mtime and size; an edit that keeps both must still be seen."""
    manager = PluginManager()
    src = Source("module", tmp_path, monkeypatch, manager)
    manager.load("relo")
    for n in range(2, 5):
        src.edit(plugin_source(reply="v%d" % n, version="1.0.%d" % n), same_stat=True)
        manager.reload("relo")
        assert manager.trigger("ask", []) == ["v%d" % n]


def test_distribution_plugin_without_version_takes_dist_version_after_reload(
        tmp_path, monkeypatch):
    manager = PluginManager()
    src = Source("distribution", tmp_path, monkeypatch, manager)
    unversioned = plugin_source().replace("    version = '1.0.1'\n", "")
    src.edit(unversioned)
    manager.reload("relo")  # imports the class now
    assert manager.get_plugin_version("relo") == "5.0.0"
    src.edit(unversioned.replace("'v1'", "'v2'"), same_stat=True)
    plugin = manager.reload("relo")
    assert plugin.version == "5.0.0"
    assert manager.trigger("ask", []) == ["v2"]
    src.edit(plugin_source(reply="v3", version="6.1.0"))
    assert manager.reload("relo").version == "6.1.0"
    assert manager.get_plugin_source("relo").dist_version == "5.0.0"


def test_dropin_reload_then_discover_again_registers_nothing(tmp_path, monkeypatch):
    manager = PluginManager()
    src = Source("dropin", tmp_path, monkeypatch, manager)
    manager.load("relo")
    src.edit(plugin_source(reply="v2", version="1.0.2"))
    manager.reload("relo")
    assert manager.discover_plugins(src.path.parent) == []
    assert manager.get_problems() == []
    assert manager.trigger("ask", []) == ["v2"]


def test_dropin_reload_with_relative_import(tmp_path):
    (tmp_path / "words.py").write_text("WORD = 'neighbour'\n", encoding="utf-8")
    path = tmp_path / "rel_plugin.py"
    template = textwrap.dedent("""
        from nitro_dispatch import PluginBase, hook

        from .words import WORD


        class Rel(PluginBase):
            name = "rel"

            @hook("ask")
            def answer(self, data):
                return data + [WORD + {n!r}]
        """)
    path.write_text(template.format(n="1"), encoding="utf-8")
    manager = PluginManager()
    manager.discover_plugins(tmp_path)
    manager.load("rel")
    rewrite(path, template.format(n="2"), same_stat=True)
    manager.reload("rel")
    assert manager.trigger("ask", []) == ["neighbour2"]


def test_reload_of_one_plugin_leaves_others_from_the_same_file(tmp_path):
    path = tmp_path / "pair_plugin.py"
    template = textwrap.dedent("""
        from nitro_dispatch import PluginBase, hook


        class Left(PluginBase):
            name = "left"

            @hook("ask", priority=60)
            def answer(self, data):
                return data + ["left" + {n!r}]


        class Right(PluginBase):
            name = "right"

            @hook("ask", priority=40)
            def answer(self, data):
                return data + ["right" + {n!r}]
        """)
    path.write_text(template.format(n="1"), encoding="utf-8")
    manager = PluginManager()
    manager.discover_plugins(tmp_path)
    manager.load_all()
    right = manager.get_plugin("right")
    rewrite(path, template.format(n="2"), same_stat=True)
    manager.reload("left")
    assert manager.get_plugin("right") is right
    assert manager.trigger("ask", []) == ["left2", "right1"]
    manager.reload("right")
    assert manager.trigger("ask", []) == ["left2", "right2"]


# -- failed reloads: the previous version stays in service ---------------------------

FAILURES = {
    "syntax": ("def broken(:\n    pass\n", SyntaxError),
    "import": ("import ndtest_module_that_does_not_exist\n", ImportError),
    "runtime": ("raise RuntimeError('exploded at import')\n", RuntimeError),
    "class removed": (plugin_source(name="somebody_else", class_name="Other"), None),
    "on_load raises": (plugin_source(reply="v2", version="1.0.2", body="""
        def on_load(self):
            raise RuntimeError("on_load refused")
        """), RuntimeError),
    "bad version": (plugin_source(reply="v2", version="not-a-version"), None),
}


@pytest.mark.parametrize("failure", list(FAILURES))
def test_failed_reload_keeps_previous_version(source, failure):
    manager = source.manager
    old = manager.load("relo")
    old_cls = type(old)
    old_module = sys.modules[source.module]
    errors = []
    manager.register_hook(PluginManager.EVENT_PLUGIN_ERROR, errors.append)
    text, cause_type = FAILURES[failure]
    source.edit(text)

    with pytest.raises(PluginLoadError) as info:
        manager.reload("relo")

    error = info.value
    assert "relo" in str(error)
    assert error.__cause__ is not None
    assert error.__cause__ is not error
    if cause_type is not None:
        assert isinstance(error.__cause__, cause_type)
    # The previous version is back in service, answering triggers.
    assert manager.get_plugin("relo") is old
    assert manager.is_loaded("relo")
    assert old.enabled is True
    assert manager.trigger("ask", []) == ["v1"]
    assert manager.get_plugin_class("relo") is old_cls
    assert manager.get_plugin_version("relo") == "1.0.1"
    assert sys.modules[source.module] is old_module
    assert importlib.import_module(source.module) is old_module
    # Reported as a reload problem.
    assert any(p.phase == "reload" and p.plugin == "relo" for p in manager.get_problems())
    assert any(e["phase"] == "reload" and e["plugin_name"] == "relo" for e in errors)

    # Fixing the file makes the next reload work.
    source.edit(plugin_source(reply="v3", version="1.0.3"))
    manager.reload("relo")
    assert manager.trigger("ask", []) == ["v3"]
    assert sys.modules[source.module] is not old_module


def test_failed_reload_keeps_disabled_state(source):
    manager = source.manager
    old = manager.load("relo")
    manager.disable_plugin("relo")
    source.edit(FAILURES["on_load raises"][0])
    with pytest.raises(PluginLoadError):
        manager.reload("relo")
    assert manager.get_plugin("relo") is old
    assert old.enabled is False
    assert manager.trigger("ask", []) == []
    manager.enable_plugin("relo")
    assert manager.trigger("ask", []) == ["v1"]


def test_failed_on_load_leaves_no_hooks_of_the_new_version(tmp_path, monkeypatch):
    manager = PluginManager()
    src = Source("dropin", tmp_path, monkeypatch, manager)
    manager.load("relo")
    src.edit(plugin_source(reply="v2", version="1.0.2", body="""
        def on_load(self):
            self.register_hook("other", lambda data: data + ["leak"])
            raise RuntimeError("half-way")
    """))
    with pytest.raises(PluginLoadError, match="half-way"):
        manager.reload("relo")
    assert manager.trigger("ask", []) == ["v1"]
    assert manager.trigger("other", []) == []


def test_failed_reload_of_deleted_file(tmp_path, monkeypatch):
    manager = PluginManager()
    src = Source("dropin", tmp_path, monkeypatch, manager)
    old = manager.load("relo")
    src.path.unlink()
    with pytest.raises(PluginLoadError) as info:
        manager.reload("relo")
    assert info.value.__cause__ is not None
    assert manager.get_plugin("relo") is old
    assert manager.trigger("ask", []) == ["v1"]


def test_failed_reload_of_unloaded_plugin_keeps_old_class(source):
    manager = source.manager
    old_cls = manager.get_plugin_class("relo")
    source.edit("raise RuntimeError('nope')\n")
    with pytest.raises(PluginLoadError):
        manager.reload("relo")
    assert not manager.is_loaded("relo")
    assert manager.get_plugin_class("relo") is old_cls
    manager.load("relo")
    assert manager.trigger("ask", []) == ["v1"]


def test_plugin_defined_in_main_cannot_be_reloaded(monkeypatch):
    class Scripted(PluginBase):
        __module__ = "__main__"
        __qualname__ = "Scripted"
        name = "scripted"

        @hook("ask")
        def answer(self, data):
            return data + ["script"]

    # A script's module-level class (a function's class is re-created: test_compat_1x).
    monkeypatch.setattr(sys.modules["__main__"], "Scripted", Scripted, raising=False)
    manager = PluginManager()
    manager.register(Scripted)
    old = manager.load("scripted")
    with pytest.raises(PluginLoadError, match="__main__"):
        manager.reload("scripted")
    assert manager.get_plugin("scripted") is old
    assert manager.trigger("ask", []) == ["script"]


# -- dependents are re-attached --------------------------------------------------------

ALPHA = textwrap.dedent("""
    from nitro_dispatch import PluginBase, hook


    class Alpha(PluginBase):
        name = "alpha"
        version = {version!r}
        tag = {tag!r}
        {extra}
        @hook("ask", priority=90)
        def answer(self, data):
            return data + ["alpha:" + self.tag]
    """)

DEPENDENT = textwrap.dedent("""
    from nitro_dispatch import PluginBase, hook


    class {cls}(PluginBase):
        name = {name!r}
        dependencies = [{needs!r}]

        def on_load(self):
            self.needed = self.manager.get_plugin({needs!r})

        @hook("ask", priority={priority})
        def answer(self, data):
            return data + [{name!r} + "->" + self.needed.tag]
    """)


@pytest.fixture
def chain(tmp_path):
    """alpha <- beta <- gamma, as drop-ins, all loaded; delta stands alone."""
    (tmp_path / "alpha_plugin.py").write_text(
        ALPHA.format(version="1.0.1", tag="t1", extra=""), encoding="utf-8")
    (tmp_path / "beta_plugin.py").write_text(
        DEPENDENT.format(cls="Beta", name="beta", needs="alpha", priority=70), encoding="utf-8")
    (tmp_path / "gamma_plugin.py").write_text(
        DEPENDENT.format(cls="Gamma", name="gamma", needs="beta", priority=10)
        .replace("self.needed.tag", "self.needed.needed.tag"), encoding="utf-8")
    (tmp_path / "delta_plugin.py").write_text(
        plugin_source(name="delta", class_name="Delta", reply="delta"), encoding="utf-8")
    manager = PluginManager()
    manager.discover_plugins(tmp_path)
    manager.load_all()
    assert manager.trigger("ask", []) == ["alpha:t1", "beta->t1", "delta", "gamma->t1"]
    return manager, tmp_path / "alpha_plugin.py"


def test_dependents_are_reattached_to_the_new_instance(chain):
    manager, alpha_path = chain
    old_alpha = manager.get_plugin("alpha")
    old_beta = manager.get_plugin("beta")
    old_gamma = manager.get_plugin("gamma")
    delta = manager.get_plugin("delta")
    rewrite(alpha_path, ALPHA.format(version="1.0.2", tag="t2", extra=""), same_stat=True)

    new_alpha = manager.reload("alpha")

    assert new_alpha is not old_alpha
    beta = manager.get_plugin("beta")
    gamma = manager.get_plugin("gamma")
    assert beta is not old_beta and gamma is not old_gamma
    assert beta.needed is new_alpha
    assert gamma.needed is beta
    assert beta.manager.get_plugin("alpha") is new_alpha
    assert manager.get_plugin("delta") is delta  # not a dependent: untouched
    assert manager.trigger("ask", []) == ["alpha:t2", "beta->t2", "delta", "gamma->t2"]
    assert set(manager.get_loaded_plugins()) == {"alpha", "beta", "gamma", "delta"}
    hooked = {rec.plugin for rec in manager.hooks.get_hooks("ask")}
    assert hooked == {new_alpha, beta, gamma, delta}


def test_dependents_keep_their_disabled_state(chain):
    manager, alpha_path = chain
    manager.disable_plugin("beta")
    rewrite(alpha_path, ALPHA.format(version="1.0.2", tag="t2", extra=""), same_stat=True)
    manager.reload("alpha")
    assert manager.get_plugin("beta").enabled is False
    assert manager.trigger("ask", []) == ["alpha:t2", "delta", "gamma->t2"]


def test_failed_reload_keeps_dependents_on_the_previous_instance(chain):
    manager, alpha_path = chain
    old_alpha = manager.get_plugin("alpha")
    failing = ALPHA.format(version="1.0.2", tag="t2",
                           extra="def on_load(self):\n"
                                 "        raise RuntimeError('alpha v2 refuses')\n")
    alpha_path.write_text(failing, encoding="utf-8")
    with pytest.raises(PluginLoadError) as info:
        manager.reload("alpha")
    assert isinstance(info.value.__cause__, RuntimeError)
    assert manager.get_plugin("alpha") is old_alpha
    beta = manager.get_plugin("beta")
    assert beta is not None and beta.needed is old_alpha
    assert manager.get_plugin("gamma").needed is beta
    assert manager.trigger("ask", []) == ["alpha:t1", "beta->t1", "delta", "gamma->t1"]


def test_failed_import_leaves_dependents_untouched(chain):
    manager, alpha_path = chain
    beta = manager.get_plugin("beta")
    alpha_path.write_text("raise RuntimeError('no alpha today')\n", encoding="utf-8")
    with pytest.raises(PluginLoadError):
        manager.reload("alpha")
    assert manager.get_plugin("beta") is beta
    assert manager.trigger("ask", []) == ["alpha:t1", "beta->t1", "delta", "gamma->t1"]


def test_reload_of_a_dependent_keeps_its_dependency(chain):
    manager, alpha_path = chain
    alpha = manager.get_plugin("alpha")
    manager.reload("beta")  # unchanged source, fresh class
    assert manager.get_plugin("alpha") is alpha
    assert manager.get_plugin("beta").needed is alpha
    assert manager.trigger("ask", []) == ["alpha:t1", "beta->t1", "delta", "gamma->t1"]


def test_reload_of_unloaded_dependent_loads_its_dependency_too(tmp_path):
    (tmp_path / "alpha_plugin.py").write_text(
        ALPHA.format(version="1.0.1", tag="t1", extra=""), encoding="utf-8")
    (tmp_path / "beta_plugin.py").write_text(
        DEPENDENT.format(cls="Beta", name="beta", needs="alpha", priority=70), encoding="utf-8")
    manager = PluginManager()
    manager.discover_plugins(tmp_path)
    beta = manager.reload("beta")
    # Never running without its dependency (SPEC section 4).
    assert manager.is_loaded("alpha")
    assert beta.needed is manager.get_plugin("alpha")
    assert manager.trigger("ask", []) == ["alpha:t1", "beta->t1"]


# -- dependencies of the new code ------------------------------------------------------

LONER = textwrap.dedent("""
    from nitro_dispatch import PluginBase, hook


    class Beta(PluginBase):
        name = "beta"

        @hook("ask", priority=70)
        def answer(self, data):
            return data + ["beta alone"]
    """)


def _alpha_and_beta(tmp_path, beta_source, load=("alpha", "beta")):
    (tmp_path / "alpha_plugin.py").write_text(
        ALPHA.format(version="1.0.1", tag="t1", extra=""), encoding="utf-8")
    beta_path = tmp_path / "beta_plugin.py"
    beta_path.write_text(beta_source, encoding="utf-8")
    manager = PluginManager()
    manager.discover_plugins(tmp_path)
    for name in load:
        manager.load(name)
    return manager, beta_path


def test_reload_with_a_new_dependency_loads_it(tmp_path):
    manager, beta_path = _alpha_and_beta(tmp_path, LONER, load=("beta",))
    assert not manager.is_loaded("alpha")
    beta_path.write_text(
        DEPENDENT.format(cls="Beta", name="beta", needs="alpha", priority=70), encoding="utf-8")
    beta = manager.reload("beta")
    assert manager.is_loaded("alpha")
    assert beta.needed is manager.get_plugin("alpha")
    assert manager.trigger("ask", []) == ["alpha:t1", "beta->t1"]


def test_reload_with_a_new_dependency_is_unloaded_with_it(tmp_path):
    manager, beta_path = _alpha_and_beta(tmp_path, LONER)
    beta_path.write_text(
        DEPENDENT.format(cls="Beta", name="beta", needs="alpha", priority=70), encoding="utf-8")
    manager.reload("beta")
    manager.unload("alpha")
    # Never left running without its dependency (SPEC section 4).
    assert not manager.is_loaded("beta")


def test_reload_with_an_unmet_new_dependency_keeps_previous_version(tmp_path):
    manager, beta_path = _alpha_and_beta(tmp_path, LONER)
    old = manager.get_plugin("beta")
    beta_path.write_text(
        DEPENDENT.format(cls="Beta", name="beta", needs="ndtest-missing", priority=70),
        encoding="utf-8")
    with pytest.raises(PluginLoadError, match="ndtest-missing"):
        manager.reload("beta")
    assert manager.get_plugin("beta") is old
    assert manager.trigger("ask", []) == ["alpha:t1", "beta alone"]


def test_reload_never_leaves_a_dependent_on_an_unsatisfying_version(tmp_path):
    strict = DEPENDENT.format(cls="Beta", name="beta", needs="alpha", priority=70).replace(
        "dependencies = ['alpha']", "dependencies = ['alpha<2']")
    assert "alpha<2" in strict
    manager, _ = _alpha_and_beta(tmp_path, strict)
    (tmp_path / "alpha_plugin.py").write_text(
        ALPHA.format(version="2.0.0", tag="t2", extra=""), encoding="utf-8")
    try:
        manager.reload("alpha")
    except PluginLoadError:
        pass  # refusing the new version is one acceptable outcome
    running = manager.get_plugin("alpha")
    assert running is not None
    assert not (manager.is_loaded("beta") and running.version == "2.0.0"), \
        "beta requires alpha<2 but runs with alpha 2.0.0"


def test_reload_survives_on_unload_error_of_the_old_version(tmp_path, monkeypatch):
    manager = PluginManager()
    src = Source("dropin", tmp_path, monkeypatch, manager)
    src.edit(plugin_source(body="""
        def on_unload(self):
            raise RuntimeError("old version will not go quietly")
        """))
    manager.reload("relo")
    src.edit(plugin_source(reply="v2", version="1.0.2"))
    manager.reload("relo")
    assert manager.trigger("ask", []) == ["v2"]
    assert any(p.phase == "unload" and "quietly" in str(p) for p in manager.get_problems())


def test_reload_of_module_inside_a_package(tmp_path, monkeypatch):
    package = "ndtest_pkg_%s" % uuid.uuid4().hex[:8]
    write_module(tmp_path, package + ".helpers", "WORD = 'helped'\n")
    template = textwrap.dedent("""
        from nitro_dispatch import PluginBase, hook

        from .helpers import WORD


        class Packed(PluginBase):
            name = "packed"

            @hook("ask")
            def answer(self, data):
                return data + [WORD + {n!r}]
        """)
    path = write_module(tmp_path, package + ".plug", template.format(n="1"))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(package + ".plug")
    manager = PluginManager()
    manager.register(module.Packed)
    manager.load("packed")
    rewrite(path, template.format(n="2"), same_stat=True)
    manager.reload("packed")
    assert manager.trigger("ask", []) == ["helped2"]
    assert sys.modules[package + ".plug"] is not module
    assert getattr(sys.modules[package], "plug") is sys.modules[package + ".plug"]


def test_reload_of_plugin_defined_in_package_init(tmp_path, monkeypatch):
    package = "ndtest_init_%s" % uuid.uuid4().hex[:8]
    path = write_module(tmp_path, package + ".__init__", plugin_source())
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(package)
    manager = PluginManager()
    manager.register(module.ReloPlugin)
    manager.load("relo")
    rewrite(path, plugin_source(reply="v2", version="1.0.2"), same_stat=True)
    manager.reload("relo")
    assert manager.trigger("ask", []) == ["v2"]
    assert sys.modules[package].ReloPlugin is type(manager.get_plugin("relo"))


# -- through a real virtual environment ------------------------------------------------

VENV_RELOAD_SCRIPT = """
import json, sys
from nitro_dispatch import PluginManager

new_source = open(sys.argv[1], encoding="utf-8").read()
manager = PluginManager()
found = manager.discover_installed_plugins()
manager.load("welcome")
before = manager.trigger("greeting", {"name": "ada"})["message"]
old = manager.get_plugin("welcome")
source = manager.get_plugin_source("welcome")
module_file = sys.modules[type(old).__module__].__file__
with open(module_file, "w", encoding="utf-8") as handle:
    handle.write(new_source)
new = manager.reload("welcome")
after = manager.trigger("greeting", {"name": "ada"})["message"]
print(json.dumps({
    "found": found, "before": before, "after": after, "file": module_file,
    "same_instance": new is old, "version": new.version,
    "kind": source.kind, "dist": source.dist_name,
}))
"""


def test_reload_of_installed_sample_plugin_in_a_real_venv(plugin_venv, tmp_path):
    module_file = plugin_venv.site_packages / "nitro_welcome" / "__init__.py"
    original = module_file.read_text(encoding="utf-8")
    marker = '"message": "%s, %s!"'
    assert original.count(marker) == 1
    edited = tmp_path / "edited.py"
    edited.write_text(original.replace(marker, '"message": "[v2] %s, %s?"'), encoding="utf-8")
    script = tmp_path / "reload_in_venv.py"
    script.write_text(VENV_RELOAD_SCRIPT, encoding="utf-8")
    try:
        proc = plugin_venv.run([str(script), str(edited)])
    finally:
        module_file.write_text(original, encoding="utf-8")  # the venv is shared
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "welcome" in result["found"]
    assert result["kind"] == "distribution" and result["dist"] == "nitro-welcome"
    assert os.path.samefile(result["file"], module_file)
    assert result["before"] == "Welcome, ada!"
    assert result["after"] == "[v2] Welcome, ada?"
    assert result["same_instance"] is False
    assert result["version"] == "1.2.0"  # unset in the class: the distribution's version
