"""``import nitro_dispatch`` stays cheap: no asyncio, concurrent.futures,
packaging or importlib.metadata (COMMON rules).  Checked in fresh
interpreters against a baseline, since the environment itself (site
customisations, .pth files) may import some of these already."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import List, Set

import pytest

REPO = Path(__file__).resolve().parent.parent
FORBIDDEN = ["asyncio", "concurrent.futures", "packaging", "importlib.metadata",
             "importlib_metadata"]


def modules_after(code: str) -> Set[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    script = code + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))\n"
    proc = subprocess.run([sys.executable, "-c", script], cwd=str(REPO), env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


def new_forbidden(after: Set[str], baseline: Set[str]) -> List[str]:
    return sorted(m for m in after - baseline
                  if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))


@pytest.fixture(scope="module")
def baseline() -> Set[str]:
    return modules_after("")


def test_baseline_is_a_real_module_list(baseline: Set[str]) -> None:
    assert "sys" in baseline and "nitro_dispatch" not in baseline


def test_import_nitro_dispatch_imports_no_heavy_modules(baseline: Set[str]) -> None:
    after = modules_after("import nitro_dispatch")
    assert "nitro_dispatch" in after
    assert new_forbidden(after, baseline) == []


def test_public_names_are_importable_without_heavy_modules(baseline: Set[str]) -> None:
    after = modules_after(
        "from nitro_dispatch import (HookRegistry, PluginBase, PluginManager, hook, HookError,"
        " HookTimeoutError, StopPropagation, NitroPluginError)")
    assert new_forbidden(after, baseline) == []


def test_sync_dispatch_without_timeouts_needs_no_asyncio(baseline: Set[str]) -> None:
    after = modules_after(
        "from nitro_dispatch import HookRegistry\n"
        "r = HookRegistry()\n"
        "r.register('a', lambda d: d + 1)\n"
        "r.register('a.*', lambda d: d * 2)\n"
        "assert r.trigger('a', 1) == 2\n"
        "assert r.trigger('a.b', 1) == 2\n")
    assert new_forbidden(after, baseline) == []
