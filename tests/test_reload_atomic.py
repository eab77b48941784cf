"""Reload is atomic for concurrent triggers (SPEC section 11): a trigger
that runs during a reload runs the old hook or the new one, never neither,
never both; the same holds for the dependents reload renews."""

import asyncio
import sys
import textwrap
import threading
import time
import uuid

from nitro_dispatch import HookRegistry, PluginBase, PluginManager, hook

# Creating an instance takes a while (as real plugins' set-up does), which
# widens any window in which neither version's hooks are registered.
SOURCE = textwrap.dedent("""
    import time

    from nitro_dispatch import PluginBase, hook


    class {cls}(PluginBase):
        name = "atom"
        version = {version!r}

        def __init__(self):
            time.sleep(0.002)

        @hook("ask")
        def answer(self, data):
            return data + ["atom " + {version!r}]
""")


class Dependent(PluginBase):
    name = "dependent"
    dependencies = ["atom"]

    def __init__(self):
        time.sleep(0.002)

    @hook("ask", priority=10)
    def answer(self, data):
        return data + ["dependent"]


def write(path, version):
    path.write_text(SOURCE.format(cls="Atom_" + uuid.uuid4().hex[:8], version=version))


def test_concurrent_triggers_see_exactly_one_version(tmp_path):
    path = tmp_path / "atom_plugin.py"
    write(path, "1.0.0")
    manager = PluginManager()
    manager.discover_plugins(tmp_path)
    manager.register(Dependent)
    manager.load_all()
    assert manager.trigger("ask", []) == ["atom 1.0.0", "dependent"]

    stop = threading.Event()
    bad = []
    counts = {"triggers": 0}

    def trigger_loop():
        while not stop.is_set():
            result = manager.trigger("ask", [])
            counts["triggers"] += 1
            if len(result) != 2 or not result[0].startswith("atom ") or \
                    result[1] != "dependent":
                bad.append(result)

    def async_loop():
        async def run():
            while not stop.is_set():
                result = await manager.trigger_async("ask", [])
                if len(result) != 2 or result[1] != "dependent":
                    bad.append(("async", result))
                await asyncio.sleep(0)
        asyncio.run(run())

    threads = [threading.Thread(target=trigger_loop) for _ in range(3)]
    threads.append(threading.Thread(target=async_loop))
    # Switch threads often: more interleavings, and the reloading thread is
    # not starved by the triggering ones.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    for thread in threads:
        thread.start()
    reloads = 0
    deadline = time.monotonic() + 3.0
    try:
        while time.monotonic() < deadline and not bad:
            version = "2.0.%d" % reloads
            write(path, version)
            manager.reload("atom")
            reloads += 1
            assert manager.get_plugin_version("atom") == version
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        sys.setswitchinterval(interval)
    assert bad == []
    assert reloads > 10 and counts["triggers"] > reloads
    assert manager.trigger("ask", []) == ["atom %s" % version, "dependent"]
    assert manager.get_loaded_plugins() == ["atom", "dependent"]


def test_replace_plugin_swaps_in_one_step_and_keeps_places():
    class Owner:
        enabled = True

    reg = HookRegistry()
    old, new = Owner(), Owner()
    reg.register("e", lambda d: d + ["first"])
    reg.register("e", lambda d: d + ["old"], plugin=old)
    reg.register("e", lambda d: d + ["last"])

    def answer(d):
        return d + ["new"]

    answer.__name__ = "<lambda>"  # the same method name: takes the old one's place
    reg.replace_plugin(old, new, [("e", answer, 50, None, False, False)])
    assert reg.trigger("e", []) == ["first", "new", "last"]
    assert [r.plugin for r in reg.get_hooks("e")] == [None, new, None]


def test_replace_plugin_refused_hook_changes_nothing():
    reg = HookRegistry()

    class Owner:
        pass

    old, new = Owner(), Owner()
    reg.register("e", lambda d: d + ["old"], plugin=old)
    try:
        reg.replace_plugin(old, new, [("e", lambda d: d, 50, None, False, False),
                                      ("e", lambda d: d, 50, float("nan"), False, False)])
    except ValueError:
        pass
    else:
        raise AssertionError("a nan timeout was accepted")
    assert reg.trigger("e", []) == ["old"]
    assert [r.plugin for r in reg.get_hooks("e")] == [old]


REFUSED_IN_INIT = textwrap.dedent("""
    from nitro_dispatch import PluginBase, hook


    class Atom(PluginBase):
        name = "atom"

        def __init__(self):
            self.register_hook("ask", lambda: None)  # no parameter for the data: refused

        @hook("ask")
        def answer(self, data):
            return data + ["new"]
""")


def test_a_reload_failing_in_the_registry_swap_keeps_the_old_hooks_once(tmp_path):
    import pytest

    from nitro_dispatch import PluginLoadError

    path = tmp_path / "atom_plugin.py"
    write(path, "1.0.0")
    manager = PluginManager()
    manager.discover_plugins(tmp_path)
    manager.load_all()
    path.write_text(REFUSED_IN_INIT)
    for _ in range(3):
        with pytest.raises(PluginLoadError, match="data"):
            manager.reload("atom")
    assert manager.trigger("ask", []) == ["atom 1.0.0"]
    assert len(manager.hooks.get_hooks("ask")) == 1
    manager.unload("atom")
    assert manager.trigger("ask", []) == []
