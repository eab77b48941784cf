"""The examples run as documented and show what they claim."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

REPO = Path(__file__).resolve().parent.parent


def run_example(name: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, str(REPO / "examples" / name)], cwd=str(REPO),
                          env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("name", ["basic_usage.py", "advanced_usage.py",
                                  "discovery_example.py"])
def test_example_exits_cleanly_without_tracebacks(name: str) -> None:
    proc = run_example(name)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.stdout.rstrip().endswith("done")


def test_basic_usage_shows_priority_chain_and_results() -> None:
    proc = run_example("basic_usage.py")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "loaded: auditor, discount, tax, validator" in lines
    assert "hooks ran in priority order: validator -> discount -> tax" in lines
    assert "result: total=108.00 validated=True" in lines
    assert "total with tax: 129.60" in lines
    assert "small order total with tax: 3.00" in lines
    assert "auditor saw 2 orders" in lines
    assert "error event: plugin validator failed: an order needs at least one item" in lines
    assert "empty order validated: False" in lines


def test_advanced_usage_shows_every_feature() -> None:
    proc = run_example("advanced_usage.py")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    lines = out.splitlines()
    # wildcards and StopPropagation
    assert "mallory: {'user': 'mallory'}" in lines
    assert "audit log: ['alice did something', 'bob did something']" in lines
    # error strategies
    assert "log_and_continue: 0" in lines
    assert "fail_fast raised HookError caused by ZeroDivisionError" in lines
    assert out.count("collect_all: event=compute plugin=None error=") == 2
    # async hooks
    assert ("trigger_async: {'user': 'carol', 'avatar': 'carol.png', 'display': 'Carol'}"
            in lines)
    assert "trigger (skips async hooks): {'user': 'carol', 'display': 'Carol'}" in lines
    # timeouts: control came back at about 0.2 s, not 2 s
    assert "sync hook timed out: result='query' after 0.2s" in lines
    assert "errors: ['HookTimeoutError']" in lines
    assert "async hook cancelled: result='query' after 0.2s, 1 timeout error" in lines
    # tracing
    assert "trace: event=user.login plugin=firewall priority=100 outcome=ok" in lines
    assert "trace: event=user.login plugin=audit_log priority=10 outcome=ok" in lines
    # enabling and disabling
    assert "greeter disabled: {'user': 'erin', 'checked': True}" in lines
    assert ("firewall off, mallory: {'user': 'mallory', 'greeting': 'welcome back, mallory'}"
            in lines)


def test_discovery_example_shows_discovery_reload_and_failed_reloads() -> None:
    proc = run_example("discovery_example.py")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "discovered: greeter, shouter" in lines
    assert "discovery problem: broken_plugin.py: ModuleNotFoundError" in lines
    assert "conflict reported: phase=conflict plugin=greeter" in lines
    assert "after editing and reloading: HELLO, ADA!! (greeter 1.1.0)" in lines
    assert "syntax error: PluginLoadError caused by SyntaxError" in lines
    assert lines.count("still answering: HELLO, ADA!! (greeter 1.1.0)") == 2


# -- the demo (the README's first command) -------------------------------------------

def build_leftovers() -> Dict[str, int]:
    """``build/``, ``dist/`` and ``*.egg-info`` in the repository root and in
    ``sample_plugins/*``, with the modification times of what they hold (a
    tox run may have left the root's egg-info: what counts is a change)."""
    found: Dict[str, int] = {}
    for base in [REPO, *sorted((REPO / "sample_plugins").iterdir())]:
        for pattern in ("build", "dist", "*.egg-info", "src/*.egg-info"):
            for path in base.glob(pattern):
                for item in [path, *path.rglob("*")]:
                    found[str(item)] = item.stat().st_mtime_ns
    return found


def test_demo_help_prints_usage_and_runs_nothing() -> None:
    for flag in ("--help", "-h"):
        proc = subprocess.run([sys.executable, str(REPO / "examples" / "demo.py"), flag],
                              cwd=str(REPO), capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("usage: python examples/demo.py [-h] [--keep]")
        assert "--keep" in proc.stdout and "virtual environment" in proc.stdout
        assert "Creating a virtual environment" not in proc.stdout


def test_demo_rejects_unknown_arguments_with_usage() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "demo.py"), "--frobnicate"],
                          cwd=str(REPO), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "unrecognized arguments: --frobnicate" in proc.stderr
    assert "Traceback" not in proc.stderr
