"""Dependency resolution (SPEC section 4): PEP 508 requirements between plugins."""

import logging

import pytest
from packaging.requirements import Requirement

from nitro_dispatch import (
    DependencyError,
    PluginBase,
    PluginLoadError,
    PluginManager,
    hook,
)


def make(plugin_name, deps=(), version="1.0.0", log=None, fail_on_load=False):
    log = [] if log is None else log

    class P(PluginBase):
        name = plugin_name
        dependencies = list(deps)

        def on_load(self):
            if fail_on_load:
                raise RuntimeError("%s cannot start" % plugin_name)
            log.append(("load", plugin_name))

        def on_unload(self):
            log.append(("unload", plugin_name))

        @hook("dep.evt")
        def h(self, data):
            return data + [plugin_name]

    P.version = version
    P.__name__ = P.__qualname__ = "Dep_%s" % plugin_name
    return P


def manager_with(*classes):
    m = PluginManager()
    errors = []
    m.register_hook("nitro.plugin.error", errors.append)
    for cls in classes:
        m.register(cls)
    return m, errors


def load_errors(errors):
    """plugin name -> error, for nitro.plugin.error payloads of failed loads."""
    return {e["plugin_name"]: e["error"] for e in errors
            if e.get("phase") in ("load", "dependency", "import", "validation")}


def req_forms(text):
    return {text, str(Requirement(text))}


def mentions_requirement(message, text):
    return any(form in message for form in req_forms(text))


def test_dependency_error_is_a_load_error():
    assert issubclass(DependencyError, PluginLoadError)


# -- ordering --------------------------------------------------------------------


def test_load_all_loads_in_topological_order():
    log = []
    # registered dependents first, so registration order is not load order
    m, errors = manager_with(
        make("app", ["web", "db"], log=log),
        make("web", ["auth>=1.2,<2", "core"], log=log),
        make("auth", ["core"], version="1.3.0", log=log),
        make("db", ["core"], log=log),
        make("core", log=log),
    )
    loaded = m.load_all()
    assert errors == []
    assert sorted(loaded) == ["app", "auth", "core", "db", "web"]
    order = [n for kind, n in log if kind == "load"]
    assert loaded == order
    pos = {n: i for i, n in enumerate(order)}
    for dependent, dependency in [("app", "web"), ("app", "db"), ("web", "auth"),
                                  ("web", "core"), ("auth", "core"), ("db", "core")]:
        assert pos[dependency] < pos[dependent], (dependent, dependency, order)


def test_plain_name_means_any_version():
    m, errors = manager_with(make("user", ["lib"]), make("lib", version="0.0.1.dev3"))
    assert sorted(m.load_all()) == ["lib", "user"]
    assert errors == []


def test_satisfied_specifier_loads():
    m, errors = manager_with(make("user", ["lib>=1.2,<2"]), make("lib", version="1.5"))
    assert sorted(m.load_all()) == ["lib", "user"]


def test_false_marker_requirement_is_ignored():
    m, errors = manager_with(make("user", ['ghost; python_version < "3"', "lib"]), make("lib"))
    assert sorted(m.load_all()) == ["lib", "user"]
    assert errors == []
    m2, _ = manager_with(make("solo", ['ghost>=2; python_version < "3"']))
    assert m2.load("solo").name == "solo"


def test_true_marker_requirement_is_honoured():
    m, errors = manager_with(make("user", ['ghost; python_version >= "3"']))
    assert m.load_all() == []
    assert isinstance(load_errors(errors).get("user"), DependencyError)


# -- failures in load_all --------------------------------------------------------


def test_missing_dependency(caplog):
    m, errors = manager_with(make("needy", ["absent>=1.0"]), make("bystander"))
    with caplog.at_level(logging.ERROR):
        loaded = m.load_all()
    assert loaded == ["bystander"]
    assert not m.is_loaded("needy")
    err = load_errors(errors)["needy"]
    assert isinstance(err, DependencyError)
    msg = str(err)
    assert "needy" in msg
    assert mentions_requirement(msg, "absent>=1.0")
    assert any(r.levelno >= logging.ERROR and "needy" in r.getMessage()
               for r in caplog.records)
    assert m.trigger("dep.evt", []) == ["bystander"]


def test_unsatisfied_version():
    m, errors = manager_with(make("needy", ["lib>=2"]), make("lib", version="1.5"))
    loaded = m.load_all()
    assert loaded == ["lib"]
    assert m.is_loaded("lib") and not m.is_loaded("needy")
    err = load_errors(errors)["needy"]
    assert isinstance(err, DependencyError)
    msg = str(err)
    assert "needy" in msg
    assert mentions_requirement(msg, "lib>=2")
    assert "1.5" in msg  # what was found
    # ... and where it came from (for a class registered directly: its module / value)
    src = m.get_plugin_source("lib")
    hints = [getattr(src, k, None) for k in ("dist_name", "path", "value", "module")]
    hints = [str(h) for h in hints if h]
    assert hints, src
    assert any(h in msg for h in hints), (msg, hints)


def test_cycle_of_two_names_the_whole_cycle():
    m, errors = manager_with(make("a", ["b"]), make("b", ["a"]), make("c"))
    assert m.load_all() == ["c"]
    errs = load_errors(errors)
    for n in ("a", "b"):
        assert isinstance(errs[n], DependencyError), n
        msg = str(errs[n])
        assert "a -> b -> a" in msg or "b -> a -> b" in msg, msg
    assert not m.is_loaded("a") and not m.is_loaded("b")


def test_cycle_of_three_names_the_whole_cycle():
    m, errors = manager_with(make("x", ["y"]), make("y", ["z"]), make("z", ["x"]),
                             make("free"))
    assert m.load_all() == ["free"]
    errs = load_errors(errors)
    rotations = ("x -> y -> z -> x", "y -> z -> x -> y", "z -> x -> y -> z")
    for n in ("x", "y", "z"):
        assert isinstance(errs[n], DependencyError)
        assert any(r in str(errs[n]) for r in rotations), str(errs[n])


def test_self_dependency_is_a_cycle():
    m, errors = manager_with(make("narcissus", ["narcissus"]), make("other"))
    assert m.load_all() == ["other"]
    err = load_errors(errors)["narcissus"]
    assert isinstance(err, DependencyError)
    assert "narcissus -> narcissus" in str(err)


def test_dependents_of_a_cycle_fail_too():
    m, errors = manager_with(make("top", ["a"]), make("a", ["b"]), make("b", ["a"]),
                             make("ok"))
    assert m.load_all() == ["ok"]
    errs = load_errors(errors)
    assert isinstance(errs["top"], DependencyError)
    assert not m.is_loaded("top")


def test_transitive_failure_propagates_and_others_load():
    m, errors = manager_with(
        make("top", ["mid"]), make("mid", ["gone"]), make("side", ["base"]), make("base"))
    loaded = m.load_all()
    assert sorted(loaded) == ["base", "side"]
    errs = load_errors(errors)
    assert isinstance(errs["mid"], DependencyError)
    assert isinstance(errs["top"], DependencyError)
    assert "top" in str(errs["top"])
    assert "mid" in str(errs["top"])


def test_dependents_of_a_plugin_whose_on_load_fails_fail_too():
    log = []
    m, errors = manager_with(
        make("child", ["parent"], log=log),
        make("parent", fail_on_load=True, log=log),
        make("unrelated", log=log),
    )
    loaded = m.load_all()
    assert loaded == ["unrelated"]
    assert ("load", "child") not in log
    errs = load_errors(errors)
    parent_err = errs["parent"]
    assert "parent cannot start" in "%s %s" % (parent_err, parent_err.__cause__)
    assert isinstance(errs["child"], DependencyError)
    assert "parent" in str(errs["child"])
    assert not m.is_loaded("child") and not m.is_loaded("parent")
    assert m.trigger("dep.evt", []) == ["unrelated"]


def test_load_all_does_not_raise_for_any_kind_of_breakage():
    m, errors = manager_with(
        make("missing_dep", ["nothing"]),
        make("bad_version", ["fine>=9"]),
        make("cyc1", ["cyc2"]), make("cyc2", ["cyc1"]),
        make("crash", fail_on_load=True),
        make("fine"),
    )
    assert m.load_all() == ["fine"]
    assert set(load_errors(errors)) == {"missing_dep", "bad_version", "cyc1", "cyc2", "crash"}


# -- load(name) ------------------------------------------------------------------


def test_load_loads_dependencies_first():
    log = []
    m, errors = manager_with(
        make("top", ["mid"], log=log), make("mid", ["base"], log=log), make("base", log=log),
        make("unrelated", log=log))
    plugin = m.load("top")
    assert plugin.name == "top"
    assert log == [("load", "base"), ("load", "mid"), ("load", "top")]
    assert not m.is_loaded("unrelated")


def test_load_does_not_reload_loaded_dependencies():
    log = []
    m, errors = manager_with(make("top", ["base"], log=log), make("base", log=log))
    base = m.load("base")
    m.load("top")
    assert log == [("load", "base"), ("load", "top")]
    assert m.get_plugin("base") is base


@pytest.mark.parametrize("deps,others", [
    (["absent"], []),
    (["lib>=3"], [("lib", [])]),
    (["loop"], [("loop", ["target"])]),
], ids=["missing", "unsatisfied", "cycle"])
def test_load_with_dependency_problem_raises(deps, others):
    m, errors = manager_with(make("target", deps), *[make(n, d) for n, d in others])
    with pytest.raises(DependencyError) as info:
        m.load("target")
    assert "target" in str(info.value)
    assert not m.is_loaded("target")
    assert "target" not in m.get_loaded_plugins()
    assert m.trigger("dep.evt", []) in ([], ["lib"])


def test_load_with_cycle_message():
    m, errors = manager_with(make("a", ["b"]), make("b", ["a"]))
    with pytest.raises(DependencyError) as info:
        m.load("a")
    assert "a -> b -> a" in str(info.value) or "b -> a -> b" in str(info.value)
    assert not m.is_loaded("b")


def test_load_with_failing_dependency_raises_load_error():
    m, errors = manager_with(make("child", ["parent"]), make("parent", fail_on_load=True))
    with pytest.raises(PluginLoadError):
        m.load("child")
    assert not m.is_loaded("child")
    assert not m.is_loaded("parent")


# -- unloading -------------------------------------------------------------------


def test_unload_unloads_dependents_first():
    log = []
    m, errors = manager_with(
        make("top", ["mid"], log=log), make("mid", ["base"], log=log), make("base", log=log),
        make("unrelated", log=log))
    m.load_all()
    del log[:]
    m.unload("base")
    assert log == [("unload", "top"), ("unload", "mid"), ("unload", "base")]
    assert m.is_loaded("unrelated")
    assert not any(m.is_loaded(n) for n in ("top", "mid", "base"))
    assert m.trigger("dep.evt", []) == ["unrelated"]


def test_unloading_a_dependent_keeps_its_dependency():
    log = []
    m, errors = manager_with(make("top", ["base"], log=log), make("base", log=log))
    m.load_all()
    m.unload("top")
    assert m.is_loaded("base")
    assert ("unload", "base") not in log


def test_unload_all_in_reverse_dependency_order():
    log = []
    m, errors = manager_with(
        make("leaf", log=log), make("top", ["mid"], log=log), make("mid", ["leaf"], log=log))
    m.load_all()
    del log[:]
    m.unload_all()
    assert log == [("unload", "top"), ("unload", "mid"), ("unload", "leaf")]
    assert list(m.get_loaded_plugins()) == []


def test_unregister_of_a_dependency_unloads_dependents():
    m, errors = manager_with(make("top", ["base"]), make("base"))
    m.load_all()
    m.unregister("base")
    assert not m.is_loaded("top")
    assert "base" not in m.get_registered_plugins()
    assert m.trigger("dep.evt", []) == []


def test_diamond():
    log = []
    m, errors = manager_with(
        make("d", ["b", "c"], log=log), make("b", ["a"], log=log), make("c", ["a"], log=log),
        make("a", log=log))
    m.load_all()
    order = [n for k, n in log if k == "load"]
    assert order.count("a") == 1
    assert order[0] == "a" and order[-1] == "d"
    del log[:]
    m.unload("a")
    unload_order = [n for k, n in log if k == "unload"]
    assert unload_order[0] == "d" and unload_order[-1] == "a"
    assert sorted(unload_order) == ["a", "b", "c", "d"]
