"""Issue 17, item 11 (SPEC section 11): after any ``KeyboardInterrupt`` the
manager is consistent.  Real SIGINTs (``os.kill`` of this process, from a
thread, at random moments) arrive while plugins are loaded, unloaded and
reloaded; after each one a plugin is loaded exactly when its hooks run,
once each, and ``manager`` is set exactly on loaded instances.  Plugin code
(``on_load`` that takes a while) is still interruptible."""

from __future__ import annotations

import os
import random
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

from nitro_dispatch import PluginBase, PluginManager, hook
from nitro_dispatch._interrupts import InterruptsHeld

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "pthread_kill") or sys.platform == "win32",
    reason="needs POSIX signals delivered to this process")

PLUGIN_SOURCE = '''
import time
from nitro_dispatch import PluginBase, hook


class {cls}(PluginBase):
    name = "{name}"
    version = "1.0"
    dependencies = {deps!r}

    def on_load(self):
        time.sleep(0.0002)  # plugin code takes a moment: Ctrl-C may land in it

    @hook("tick")
    def tick(self, data):
        data.append(self.name)
        return data

    @hook("tock", priority=5)
    def tock(self, data):
        data.append(self.name)
        return data
'''


def write_plugins(directory: Path) -> List[str]:
    names = {"base": [], "middle": ["base"], "top": ["middle"], "alone": []}
    for name, deps in names.items():
        (directory / ("%s_plugin.py" % name)).write_text(
            PLUGIN_SOURCE.format(cls=name.title() + "Plugin", name=name, deps=deps),
            encoding="utf-8")
    return sorted(names)


class Interrupter:
    """Sends one SIGINT to this process at a random moment after each
    :meth:`arm` (so a caught ``KeyboardInterrupt`` is never followed by
    another one while the test handles it)."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.armed = threading.Event()
        self.stop = threading.Event()
        self.firing = threading.Lock()  # held while a signal is sent
        self.sent = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def arm(self) -> None:
        self.armed.set()

    def run(self) -> None:
        while not self.stop.is_set():
            if not self.armed.wait(0.01):
                continue
            time.sleep(self.random.uniform(0, 0.01))
            with self.firing:
                if self.armed.is_set():
                    self.armed.clear()
                    os.kill(os.getpid(), signal.SIGINT)
                    self.sent += 1

    def quiet(self) -> None:
        """No SIGINT is sent, and none is pending, after this returns."""
        self.armed.clear()
        with self.firing:
            pass
        while True:  # one sent just before is handled at the next bytecodes
            try:
                sum(range(2000))
                time.sleep(0)
                sum(range(2000))
                break
            except KeyboardInterrupt:
                continue


def consistent(manager: PluginManager, names: List[str]) -> Dict[str, Any]:
    ran = {event: manager.trigger(event, []) for event in ("tick", "tock")}
    loaded = set(manager.get_loaded_plugins())
    for name in names:
        for event, data in ran.items():
            assert data.count(name) == (1 if name in loaded else 0), (name, event, data, loaded)
        plugin = manager.get_plugin(name)
        if name in loaded:
            assert plugin is not None and plugin.manager is manager, name
    for name in loaded:  # dependencies of a loaded plugin are loaded
        deps = {"middle": "base", "top": "middle"}
        if name in deps:
            assert deps[name] in loaded, (name, loaded)
    return ran


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # Ctrl-C in __del__
def test_ctrl_c_during_load_unload_and_reload_leaves_the_manager_consistent(
        tmp_path: Path) -> None:
    names = write_plugins(tmp_path)
    manager = PluginManager()
    manager.discover_plugins(tmp_path)
    interrupter = Interrupter(seed=17)
    interrupter.thread.start()
    rng = random.Random(11)
    caught = rounds = 0
    op = name = ""
    deadline = time.monotonic() + 20
    try:
        while caught < 200 and time.monotonic() < deadline:
            rounds += 1
            interrupter.arm()
            try:
                for _ in range(20):
                    op = rng.choice(("load_all", "unload", "reload", "load", "unload_all"))
                    name = rng.choice(names)
                    try:
                        if op == "load_all":
                            manager.load_all()
                        elif op == "unload_all":
                            manager.unload_all()
                        elif op == "load":
                            manager.load(name)
                        elif op == "unload" and manager.is_loaded(name):
                            manager.unload(name)
                        elif op == "reload" and manager.is_loaded(name):
                            manager.reload(name)
                    except KeyboardInterrupt:
                        raise
                    except Exception:
                        pass  # a load interrupted in on_load fails as a load; checked below
            except KeyboardInterrupt:
                caught += 1
            interrupter.quiet()
            try:
                consistent(manager, names)
            except AssertionError as exc:
                raise AssertionError("after %s(%s): %s" % (op, name, exc)) from None
            # Whatever happened, the manager still works.
            manager.load_all()
            assert sorted(manager.get_loaded_plugins()) == names
            consistent(manager, names)
    finally:
        interrupter.stop.set()
        interrupter.armed.clear()
        interrupter.thread.join(5)
        interrupter.quiet()
    assert caught >= 50, (caught, rounds, interrupter.sent)


def test_a_held_interrupt_is_raised_after_the_block_and_plugin_code_stays_interruptible(
        ) -> None:
    steps: List[str] = []
    with pytest.raises(KeyboardInterrupt):
        with InterruptsHeld():
            signal.raise_signal(signal.SIGINT)
            steps.append("bookkeeping finished")  # not interrupted
    assert steps == ["bookkeeping finished"]

    held = InterruptsHeld()
    with pytest.raises(KeyboardInterrupt):
        with held:
            with held.open():  # plugin code: Ctrl-C goes through at once
                signal.raise_signal(signal.SIGINT)
                steps.append("not reached")
    assert steps == ["bookkeeping finished"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_applications_own_sigint_handler_gets_the_held_signal_once() -> None:
    got: List[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: got.append(signum))
    try:
        with InterruptsHeld():
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)
            assert got == []
        assert got == [signal.SIGINT]  # delivered after the block, once
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with InterruptsHeld():
            signal.raise_signal(signal.SIGINT)
        assert got == [signal.SIGINT]  # ignored, as the application asked
    finally:
        signal.signal(signal.SIGINT, previous)


def test_ctrl_c_in_on_load_leaves_the_plugin_unloaded_and_its_hooks_detached() -> None:
    class Slow(PluginBase):
        name = "slow"

        def on_load(self) -> None:
            signal.raise_signal(signal.SIGINT)  # the user presses Ctrl-C here

        @hook("tick")
        def tick(self, data: List[str]) -> List[str]:
            data.append("slow")
            return data

    manager = PluginManager()
    manager.register(Slow)
    manager.register_hook("tick", lambda data: data + ["app"])
    with pytest.raises(KeyboardInterrupt):
        manager.load("slow")
    assert not manager.is_loaded("slow")
    assert manager.trigger("tick", []) == ["app"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_block_in_another_thread_does_not_hold_the_main_threads_ctrl_c() -> None:
    inside, leave = threading.Event(), threading.Event()

    def work() -> None:
        with InterruptsHeld() as held:
            with held.open():
                inside.set()
                leave.wait(10)

    thread = threading.Thread(target=work)
    thread.start()
    try:
        assert inside.wait(10)
        with pytest.raises(KeyboardInterrupt):  # at once, not when the worker leaves
            signal.raise_signal(signal.SIGINT)
            time.sleep(5)
        assert thread.is_alive()
    finally:
        leave.set()
        thread.join()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
