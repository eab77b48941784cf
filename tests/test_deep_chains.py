"""No recursion limit anywhere (SPEC section 11): a chain of 10,000
plugins, each requiring the previous, registers, loads, checks and unloads,
in seconds; broken and cyclic chains fail with messages of bounded size."""

import sys

import pytest

from nitro_dispatch import DependencyError, PluginBase, PluginManager, hook

N = 10_000


def chain_classes(n, first_requires=None, cyclic=False):
    classes = []
    for i in range(n):
        if i:
            deps = ["c%d" % (i - 1)]
        elif cyclic:
            deps = ["c%d" % (n - 1)]
        else:
            deps = [first_requires] if first_requires else []
        classes.append(type("C%d" % i, (PluginBase,), {"name": "c%d" % i, "dependencies": deps}))
    return classes


class Last(PluginBase):
    """The chain's last link has a hook, to see the chain really serves."""

    name = "last"
    dependencies = ["c%d" % (N - 1)]

    @hook("ping")
    def ping(self, data):
        return data + ["pong"]


@pytest.fixture(params=["forward", "reversed"])
def chain_manager(request):
    assert sys.getrecursionlimit() < N  # the chain is deeper than the limit
    classes = chain_classes(N) + [Last]
    if request.param == "reversed":
        classes.reverse()
    manager = PluginManager()
    for cls in classes:
        manager.register(cls)
    assert len(manager.get_registered_plugins()) == N + 1
    return manager


def test_load_of_the_last_loads_the_chain_in_order(chain_manager):
    assert chain_manager.load("last").name == "last"
    loaded = chain_manager.get_loaded_plugins()
    assert loaded == ["c%d" % i for i in range(N)] + ["last"]
    assert chain_manager.trigger("ping", []) == ["pong"]
    assert chain_manager.check() == []


def test_load_all_check_and_unload_of_the_first(chain_manager):
    loaded = chain_manager.load_all()
    assert loaded == ["c%d" % i for i in range(N)] + ["last"]
    assert chain_manager.check() == []
    chain_manager.unload("c0")  # everything depends on it
    assert chain_manager.get_loaded_plugins() == []
    assert chain_manager.trigger("ping", []) == []


def test_unload_all_after_load_all(chain_manager):
    chain_manager.load_all()
    chain_manager.unload_all()
    assert chain_manager.get_loaded_plugins() == []
    assert chain_manager.load("c5").name == "c5"
    assert chain_manager.get_loaded_plugins() == ["c0", "c1", "c2", "c3", "c4", "c5"]


def test_a_chain_on_a_missing_plugin_fails_whole_with_short_messages():
    manager = PluginManager()
    for cls in chain_classes(N, first_requires="absent"):
        manager.register(cls)
    assert manager.load_all() == []
    problems = manager.get_problems()
    assert len(problems) == N
    assert all(p.phase == "dependency" for p in problems)
    assert max(len(p.message) for p in problems) < 400
    assert "'absent'" in problems[-1].message  # the root cause is named at the end
    with pytest.raises(DependencyError, match="absent"):
        manager.load("c%d" % (N - 1))
    assert len(manager.check()) == N


def test_a_cycle_of_the_whole_chain_is_reported_for_each_with_short_messages():
    manager = PluginManager()
    for cls in chain_classes(N, cyclic=True):
        manager.register(cls)
    problems = manager.check()
    assert len(problems) == N
    assert all("dependency cycle" in p.message for p in problems)
    assert max(len(p.message) for p in problems) < 400
    assert manager.load_all() == []
    assert manager.get_loaded_plugins() == []


def test_a_chain_named_in_other_spellings_loads():
    # Requirements name the previous plugin in another spelling of the same
    # canonical name (``Link_1`` as ``link-1``).
    manager = PluginManager()
    for i in range(N):
        deps = ["link-%d" % (i - 1)] if i else []
        manager.register(type("L%d" % i, (PluginBase,), {"name": "Link_%d" % i,
                                                         "dependencies": deps}))
    assert manager.load("Link_%d" % (N - 1)).name == "Link_%d" % (N - 1)
    assert len(manager.get_loaded_plugins()) == N
    assert manager.check() == []
    manager.unload("Link_0")
    assert manager.get_loaded_plugins() == []
