"""Issue 17 (reliability, third round), part B: each guarantee as a test
named after it (SPEC section 11)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional
from unittest import mock

import pytest

from fixtures import make_dist_info, write_module
from nitro_dispatch import PluginBase, PluginManager, hook
from nitro_dispatch._hooks import is_async_callable


# -- 9: mocks are not async ----------------------------------------------------------


def test_mock_hooks_are_sync_and_run_under_trigger() -> None:
    for factory in (mock.Mock, mock.MagicMock):
        callback = factory(return_value="seen")
        assert not is_async_callable(callback)
        m = PluginManager()
        m.register_hook("app.ping", callback)
        assert m.trigger("app.ping", "data") == "seen"
        callback.assert_called_once_with("data")


def test_only_real_coroutine_functions_count_as_async() -> None:
    async def coro(data: Any) -> Any:
        return data

    class Callable:
        async def __call__(self, data: Any) -> Any:
            return data

    assert is_async_callable(coro) and is_async_callable(Callable())
    assert is_async_callable(mock.AsyncMock())  # carries asyncio's real marker
    assert not is_async_callable(lambda data: data)


def test_async_detection_sees_methods_partials_and_markers() -> None:
    import functools
    import inspect

    class Owner:
        async def coro(self, data: Any) -> Any:
            return data

        def sync(self, data: Any) -> Any:
            return data

    owner = Owner()
    assert is_async_callable(owner.coro) and not is_async_callable(owner.sync)
    assert is_async_callable(functools.partial(owner.coro))
    assert not is_async_callable(functools.partial(owner.sync))

    def marked(data: Any) -> Any:
        return data

    def lookalike(data: Any) -> Any:
        return data

    lookalike._is_coroutine_marker = object()  # type: ignore[attr-defined]
    assert not is_async_callable(lookalike)  # only the real marker counts
    if hasattr(inspect, "markcoroutinefunction"):  # Python 3.12+
        inspect.markcoroutinefunction(marked)
        assert is_async_callable(marked)
        bound = types_method(marked, owner)
        assert is_async_callable(bound)  # a method of a marked function
    else:
        assert not is_async_callable(marked)


def types_method(func: Any, obj: Any) -> Any:
    import types
    return types.MethodType(func, obj)


# -- 10: patterns over the lifecycle events conform ------------------------------------


@pytest.mark.parametrize("pattern", ["*.unloaded", "*.error", "*shutdown", "*.registered",
                                     "nitro.*", "*.loaded", "*startup"])
def test_strict_events_admits_patterns_matching_lifecycle_events(pattern: str) -> None:
    seen: List[Any] = []

    class Watcher(PluginBase):
        name = "watcher"

        @hook(pattern)
        def watch(self, data: Any) -> Any:
            seen.append(data)
            return data

    m = PluginManager(strict_events=True)
    m.declare_event("app.open")
    m.register(Watcher)
    m.load("watcher")
    assert m.is_loaded("watcher") and m.get_problems() == []


# -- CLI helpers ---------------------------------------------------------------------------

REPO = Path(__file__).resolve().parent.parent
EVENTS = "nitro_dispatch.events"
CONTROLS = "".join(chr(c) for c in list(range(0x20)) + list(range(0x7f, 0xa0)) if c != 0x0a)


def run_cli(site: Path, *args: "str | bytes", extra_env: Optional[Dict[str, str]] = None
            ) -> "subprocess.CompletedProcess[bytes]":
    env = dict(os.environ)
    for var in ("PYTHONSTARTUP", "PYTHONHOME", "PYTHONWARNINGS"):
        env.pop(var, None)
    env.update(PYTHONPATH=os.pathsep.join([str(REPO), str(site)]),
               NITRO_DISPATCH_CACHE_DIR=str(site.parent / "cache"), COLUMNS="200",
               PYTHONDONTWRITEBYTECODE="1", PYTHONIOENCODING="utf-8")
    env.update(extra_env or {})
    return subprocess.run([sys.executable, "-m", "nitro_dispatch"] + list(args),
                          cwd=str(site.parent), env=env, capture_output=True, timeout=60)


# -- 13: control characters are escaped in human output ------------------------------------

HOSTILE = '''\
from nitro_dispatch import PluginBase, event_spec, hook


class Evil(PluginBase):
    """Doc \\x1b]0;pwned\\x07 here."""
    name = "evil\\x1b[2J"
    version = "1.0"
    description = "Clears \\x1b[2J\\x1b[H your screen\\x08\\x7f\\x9b"

    @hook("app.open\\x07")
    def grab(self, data):
        """Hook \\x1b[31m doc."""
        return data


@event_spec("app.open\\x07")
def app_open(data):
    """The event \\x1b[31m doc \\x07."""
'''


def test_human_output_escapes_control_characters_and_json_stays_exact(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    make_dist_info(site, "evil-dist", "1.0", {
        "nitro_dispatch.plugins": {"evil\x1b[2J": "evil_mod:Evil"},
        "nitro_dispatch.events": {"evil": "evil_mod"}})
    # A value no module can have: listed on Python 3.10+, the whole file
    # refused by the importlib_metadata backport of 3.9 (see
    # test_distributions_listing); escaped either way.
    make_dist_info(site, "gone-dist", "1.0", {
        "nitro_dispatch.plugins": {"gone\x1b[2J": "gone_mod\x07:Gone"}})
    write_module(site, "evil_mod", HOSTILE)
    for args in (["list"], ["list", "--verbose"], ["info", "evil\x1b[2J"], ["events"],
                 ["check"], ["info", "nope\x1b[2J"]):
        result = run_cli(site, *args)
        shown = (result.stdout + result.stderr).decode("utf-8")
        assert not set(shown) & set(CONTROLS), (args, shown)
        assert "\\x1b" in shown or "\\x07" in shown, (args, shown)  # shown, escaped
    listing = json.loads(run_cli(site, "list", "--json").stdout.decode("utf-8"))
    assert "evil\x1b[2J" in [entry["name"] for entry in listing]
    info = json.loads(run_cli(site, "info", "evil\x1b[2J", "--json").stdout.decode("utf-8"))
    assert "Clears \x1b[2J\x1b[H your screen\x08\x7f\x9b" in info.values()


def test_check_reports_a_distribution_whose_entry_points_do_not_parse(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``list`` skips (and, verbose, warns about) a distribution whose
    ``entry_points.txt`` names the group but does not parse; discovery
    reports it as a problem naming the distribution and its folder (so
    ``get_problems()`` and ``check`` tell the operator why its plugins never
    appear), once however often it is discovered."""
    site = tmp_path / "site"
    site.mkdir()
    make_dist_info(site, "half-written", "2.0", entry_points_text_override=(
        "[nitro_dispatch.plugins]\nno_equals_sign\n"))
    make_dist_info(site, "sound", "1.0", {"nitro_dispatch.plugins": {"sound": "sound_mod:P"}})
    write_module(site, "sound_mod", "from nitro_dispatch import PluginBase\n\n"
                                    "class P(PluginBase):\n    name = 'sound'\n")
    listing = run_cli(site, "list")
    assert listing.returncode == 0
    assert b"sound" in listing.stdout and b"half" not in listing.stdout + listing.stderr
    assert b"half_written-2.0.dist-info" in run_cli(site, "list", "--verbose").stderr
    for args in (["check", "--static"], ["check"]):
        result = run_cli(site, *args)
        out = result.stdout.decode("utf-8")
        assert result.returncode == 1, out
        (line,) = [x for x in out.splitlines() if "half" in x]
        assert line.startswith("distribution half_written 2.0 (") and \
            "half_written-2.0.dist-info): its plugins are never found: entry_points.txt " \
            "does not parse" in line, line
        assert out.rstrip().endswith("1 plugin checked, 1 problem"), out
    report = json.loads(run_cli(site, "check", "--json").stdout.decode("utf-8"))
    (problem,) = report["problems"]
    assert (problem["phase"], problem["source"]["kind"], problem["source"]["dist_name"]) == (
        "discovery", "distribution", "half_written")

    monkeypatch.syspath_prepend(str(site))
    manager = PluginManager()
    assert manager.discover_installed_plugins() == ["sound"]
    assert manager.discover_installed_plugins() == []  # registered already
    (found,) = [p for p in manager.get_problems() if p.plugin is None]
    assert found.phase == "discovery" and "half_written-2.0.dist-info" in found.message
    assert found.count == 2


# -- 4: sys.exit() in a published declarations module -------------------------------------

EXITING = "import sys\nsys.exit('declarations refuse to load')\n"
GOOD_EVENTS = '''\
from nitro_dispatch import event_spec


@event_spec("app.good", mode="collect")
def good(data):
    """Still declared."""
'''


def test_sys_exit_in_a_declarations_module_is_reported_and_the_others_declared(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    site.mkdir()
    make_dist_info(site, "nd-exiting", "1.0", {EVENTS: {"exiting": "nd_exiting_events"}})
    make_dist_info(site, "nd-good", "1.0", {EVENTS: {"good": "nd_good_events"}})
    write_module(site, "nd_exiting_events", EXITING)
    write_module(site, "nd_good_events", GOOD_EVENTS)
    for args in (["events"], ["check"], ["events", "--json"]):
        result = run_cli(site, *args)
        shown = (result.stdout + result.stderr).decode("utf-8")
        assert result.returncode == 1, (args, shown)
        assert "app.good" in shown or args == ["check"], (args, shown)
        assert "nd-exiting" in shown and "SystemExit" in shown, (args, shown)
    monkeypatch.syspath_prepend(str(site))
    m = PluginManager()
    assert m.declare_installed_events() == ["app.good"]
    [problem] = m.get_problems()
    assert problem.phase == "event" and problem.source is not None
    assert problem.source.dist_name == "nd-exiting" and "SystemExit" in problem.message


# -- 8: the application's and the host's declarations take precedence -------------------

def events_module(mode: str) -> str:
    return ('from nitro_dispatch import event_spec\n\n\n'
            '@event_spec("app.save", mode=%r)\ndef save(data):\n    """Save."""\n' % (mode,))


@pytest.fixture
def shadowing_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The host nd-host declares app.save as a chain; nd-aaa (sorted first)
    publishes a conflicting declaration."""
    site = tmp_path / "site"
    site.mkdir()
    make_dist_info(site, "nd-aaa", "1.0", {EVENTS: {"aaa": "nd_aaa_events"}})
    make_dist_info(site, "nd-host", "2.0", {EVENTS: {"host": "nd_host_events"}})
    write_module(site, "nd_aaa_events", events_module("first"))
    write_module(site, "nd_host_events", events_module("chain"))
    monkeypatch.syspath_prepend(str(site))
    return site


def test_host_declarations_take_precedence_and_conflicts_are_reported(
        shadowing_site: Path) -> None:
    m = PluginManager(host="nd-host", strict_events=True)
    assert m.declare_installed_events() == ["app.save"]
    assert m.get_event_specs()["app.save"].mode == "chain"
    assert m.hooks.event_origin("app.save").dist_name == "nd-host"
    [problem] = m.get_problems()
    assert problem.phase == "event" and problem.source.dist_name == "nd-aaa"
    assert "nd-aaa" in problem.message and "nd-host" in problem.message
    m.register_hook("app.save", lambda data: data + 1)
    m.register_hook("app.save", lambda data: data * 10)
    assert m.trigger("app.save", 1) in (11, 20)  # a chain, not "first"


def test_application_declarations_take_precedence_over_every_distribution(
        shadowing_site: Path) -> None:
    m = PluginManager(host="nd-host")
    m.declare_event("app.save", mode="collect")
    assert m.declare_installed_events() == []
    assert m.get_event_specs()["app.save"].mode == "collect"
    problems = sorted(m.get_problems(), key=lambda p: p.source.dist_name)
    assert [(p.phase, p.source.dist_name) for p in problems] == [
        ("event", "nd-aaa"), ("event", "nd-host")]
    assert all("the application" in p.message for p in problems)


def test_cli_events_uses_the_host_declaration(shadowing_site: Path) -> None:
    result = run_cli(shadowing_site, "events", "--host", "nd-host", "--json")
    assert result.returncode == 1
    listed = json.loads(result.stdout.decode("utf-8"))
    assert "chain" in json.dumps(listed) and "nd-host" in json.dumps(listed)


# -- 12: info on a drop-in that list shows but that does not import ----------------------

BROKEN_DROPIN = '''\
from nitro_dispatch import PluginBase


class X(PluginBase):
    name = "x"


import nd_missing_module_for_x  # noqa
'''


def test_info_on_a_listed_dropin_that_fails_to_import_reports_the_import_error(
        tmp_path: Path) -> None:
    site = tmp_path / "site"
    dropins = tmp_path / "dropins"
    site.mkdir()
    dropins.mkdir()
    (dropins / "x_plugin.py").write_text(BROKEN_DROPIN, encoding="utf-8")
    listed = run_cli(site, "list", "--path", str(dropins), "--json")
    assert [row["name"] for row in json.loads(listed.stdout.decode("utf-8"))] == ["x"]
    result = run_cli(site, "info", "x", "--path", str(dropins))
    err = result.stderr.decode("utf-8")
    assert result.returncode == 1, err
    assert "nd_missing_module_for_x" in err and "x_plugin.py" in err
    assert "no plugin named" not in err
    assert run_cli(site, "info", "y", "--path", str(dropins)).returncode == 2


# -- 14: arguments are text, decoded as Python decodes argv -------------------------------

C_LOCALE = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}


@pytest.mark.skipif(os.name != "posix", reason="bytes in argv are a POSIX matter")
@pytest.mark.parametrize("args", [[b"list", b"--group", b"\xff"],
                                  [b"--group", b"g\xff", b"check"],
                                  [b"events", b"--events-group", b"\xff"],
                                  [b"info", b"x\xff"]])
@pytest.mark.parametrize("locale", ["utf-8", "C"])
def test_undecodable_arguments_are_a_one_line_usage_error(
        tmp_path: Path, args: List[bytes], locale: str) -> None:
    site = tmp_path / "site"
    site.mkdir()
    result = run_cli(site, *args, extra_env=C_LOCALE if locale == "C" else None)
    err = result.stderr.decode("utf-8")
    assert result.returncode == 2, err
    assert err.count("\n") == 1 and "not valid text" in err and "unexpected" not in err


@pytest.mark.skipif(os.name != "posix", reason="bytes in argv are a POSIX matter")
def test_non_ascii_names_typed_under_the_c_locale_match(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    make_dist_info(site, "nd-cafe", "1.0", {"nitro_dispatch.plugins": {"caf\u00e9": "nd_cafe:C"}})
    write_module(site, "nd_cafe", "from nitro_dispatch import PluginBase\n\n\n"
                                  "class C(PluginBase):\n    name = 'caf\\u00e9'\n")
    result = run_cli(site, "info", "caf\u00e9".encode("utf-8"), "--json", extra_env=C_LOCALE)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.decode("utf-8"))["name"] == "caf\u00e9"


def test_listing_refuses_bytes_path_entries_and_groups_that_are_not_text() -> None:
    from nitro_dispatch import list_installed_plugins

    with pytest.raises(TypeError, match="path entries must be str or path objects, not bytes"):
        list_installed_plugins(path=[b"dir"])
    with pytest.raises(ValueError, match="not valid text"):
        list_installed_plugins("nitro\udcff.plugins")
    with pytest.raises(TypeError, match="group must be a str"):
        list_installed_plugins(b"nitro.plugins")  # type: ignore[arg-type]
    assert list_installed_plugins(path=[Path("/nonexistent-dir")]) == []


# -- 5: a timed async hook returns control at its timeout whatever it does ----------------


def test_timed_async_hook_that_swallows_cancellation_returns_control_at_its_timeout(
        caplog: pytest.LogCaptureFixture) -> None:
    import asyncio
    import time

    from nitro_dispatch import HookError, HookTimeoutError

    ended: List[str] = []

    async def stubborn(data: Any) -> Any:
        for _ in range(3):  # shrugs off the cancellation, twice over, then ends
            try:
                await asyncio.sleep(0.6)
            except asyncio.CancelledError:
                continue
        ended.append("stubborn")
        return "late"

    async def after(data: Any) -> Any:
        return data + "+after"

    m = PluginManager()
    m.register_hook("app.slow", stubborn, timeout=0.2, priority=90)
    m.register_hook("app.slow", after, priority=10)

    async def main() -> Any:
        started = time.monotonic()
        result = await m.trigger_async("app.slow", "data")
        elapsed = time.monotonic() - started
        await asyncio.sleep(2.0)  # the abandoned hook ends in the background
        return result, elapsed

    result, elapsed = asyncio.run(main())
    assert result == "data+after" and elapsed < 0.5, (result, elapsed)
    assert ended == ["stubborn"]
    assert "timed out after 0.2s on event 'app.slow'" in caplog.text

    m.set_error_strategy("fail_fast")
    with pytest.raises(HookError, match="timed out after 0.2s") as raised:
        asyncio.run(m.trigger_async("app.slow", "data"))
    assert isinstance(raised.value.__cause__ or raised.value, HookTimeoutError)


# -- 6: one plugin's stuck timed hooks hold only a bounded share of the pool --------------


def test_one_plugins_stuck_timed_hooks_hold_only_a_share_of_the_pool() -> None:
    import threading

    from nitro_dispatch._timeouts import get_pool

    pool = get_pool()
    release = threading.Event()

    class Stuck(PluginBase):
        name = "stuck"

        @hook("app.work", timeout=0.01)
        def block(self, data: Any) -> Any:
            release.wait(30)
            return data

    class Other(PluginBase):
        name = "other"

        @hook("app.other", timeout=5)
        def fine(self, data: Any) -> Any:
            return data + 1

    m = PluginManager()
    m.register(Stuck)
    m.register(Other)
    m.load_all()
    try:
        for _ in range(pool.share + 10):  # more stuck calls than its share
            m.trigger("app.work", None)
        assert m.trigger("app.other", 1) == 2  # other plugins still get workers
        m.set_error_strategy("fail_fast")
        with pytest.raises(Exception, match="still running"):
            m.trigger("app.work", None)
    finally:
        release.set()


def test_async_detection_allocates_nothing_per_function() -> None:
    # Reading a function's __dict__ would create one for it: 64 bytes or
    # more per registered hook (benchmark M).
    import gc
    import tracemalloc

    def make() -> Any:
        def hook(data: Any) -> Any:
            return data
        return hook

    functions = [make() for _ in range(2000)]
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        assert not any(is_async_callable(f) for f in functions)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 2000 * 8, grown
