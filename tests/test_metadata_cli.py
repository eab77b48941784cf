"""The command line shows what the metadata layer reads (issue 16):
``list --json`` carries each distribution's ``summary`` and ``requires``,
``info`` shows the distribution's requirements (also for a plugin that is
never imported because of them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fixtures import GROUP, make_dist_info, write_module
from venv_support import REPO_ROOT


def run(site: Path, cache: Path, *args: str) -> "subprocess.CompletedProcess[str]":
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(site)]),
               NITRO_DISPATCH_CACHE_DIR=str(cache), COLUMNS="100", PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-m", "nitro_dispatch", *args], env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    for dist, plugin, requires in (
            ("nd-cli-ok", "cliok", ["nitro-dispatch>=1.0", 'nd-extra-dep; extra == "x"']),
            ("nd-cli-bad", "clibad", ["nitro-dispatch>=99"])):
        folder = make_dist_info(site, dist, "1.0", {GROUP: {plugin: "ndtest_%s:P" % plugin}})
        (folder / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: %s\nVersion: 1.0\nSummary: the %s plugin\n"
            "License: MIT\n        \n        (c) 2024\n%s" % (
                dist, plugin, "".join("Requires-Dist: %s\n" % r for r in requires)),
            encoding="utf-8")
        write_module(site, "ndtest_%s" % plugin, (
            "from nitro_dispatch import PluginBase\n\n"
            "class P(PluginBase):\n    name = %r\n" % plugin))
    (site / "loose_plugin.py").write_text(
        "from nitro_dispatch import PluginBase\n\nclass Loose(PluginBase):\n"
        "    name = 'loose'\n", encoding="utf-8")
    return site


def test_list_json_carries_summary_and_requires(site: Path, tmp_path: Path) -> None:
    result = run(site, tmp_path / "cache", "list", "--json", "--path", str(site))
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["cliok"]["summary"] == "the cliok plugin"
    assert rows["cliok"]["requires"] == ["nitro-dispatch>=1.0", 'nd-extra-dep; extra == "x"']
    assert rows["clibad"]["requires"] == ["nitro-dispatch>=99"]
    assert rows["loose"]["summary"] is None and rows["loose"]["requires"] == []


def test_info_shows_the_distributions_requirements(site: Path, tmp_path: Path) -> None:
    result = run(site, tmp_path / "cache", "info", "cliok")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    at = lines.index("Distribution requires:")
    assert lines[at + 1:at + 3] == ["  nitro-dispatch>=1.0", '  nd-extra-dep; extra == "x"']
    data: Any = json.loads(run(site, tmp_path / "cache", "info", "cliok", "--json").stdout)
    assert data["requires"] == ["nitro-dispatch>=1.0", 'nd-extra-dep; extra == "x"']


def test_info_of_an_incompatible_plugin_shows_why(site: Path, tmp_path: Path) -> None:
    result = run(site, tmp_path / "cache", "info", "clibad")
    assert result.returncode == 1
    assert "Distribution requires:\n  nitro-dispatch>=99\n" in result.stdout
    assert "requires nitro-dispatch>=99" in result.stdout
    data = json.loads(run(site, tmp_path / "cache", "info", "clibad", "--json").stdout)
    assert data["requires"] == ["nitro-dispatch>=99"] and "error" in data
