"""Start-up with requirements (SPEC section 10, issue 20): every plugin
distribution requires the host and nitro-dispatch, as plugin authors are
asked to write.  A warm start decides those requirements from the kept
verdicts (``_metadata.STORE``) without importing ``packaging``; the
verdicts follow every change of what they depend on, at the very next
start; and a verdicts file that is corrupt, foreign, of another version,
ill-typed or not safely owned is never believed.

Each start is a fresh interpreter over a fake site (``tests/fixtures.py``)
with its own cache directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence

import pytest

import nitro_dispatch
from fixtures import age_tree, make_dist_info, write_module
from nitro_dispatch import _cache
from nitro_dispatch._metadata import VerdictStore

REPO = Path(__file__).resolve().parent.parent
GROUP = "ndtest.startup.requirements"
HOST = "nd-startup-host"
MAJOR = int(nitro_dispatch.__version__.split(".")[0])
NEEDS = ["%s>=2,<3" % HOST, "nitro-dispatch>=%d.0,<%d" % (MAJOR, MAJOR + 1)]

CHILD = """
import json, sys
before = set(sys.modules)
from nitro_dispatch import PluginManager
manager = PluginManager(entry_point_group=%(group)r, host=%(host)r)
manager.discover_installed_plugins()
loaded = manager.load_all()
new = set(sys.modules) - before
print(json.dumps({
    "loaded": sorted(loaded),
    "problems": sorted([p.phase, p.message] for p in manager.get_problems()),
    "imported": sorted(m for m in new if m.startswith("ndtest_sr_")),
    "packaging": sorted(m for m in new if m == "packaging" or m.startswith("packaging.")),
}))
"""


def metadata(name: str, version: str, requires: Sequence[str] = ()) -> str:
    return "Metadata-Version: 2.1\nName: %s\nVersion: %s\n%s" % (
        name, version, "".join("Requires-Dist: %s\n" % r for r in requires))


def plugin(site: Path, name: str, requires: Sequence[str]) -> Path:
    """Distribution ``ndtest-sr-<name>`` 1.0 advertising plugin ``name``."""
    module = "ndtest_sr_%s" % name
    folder = make_dist_info(site, "ndtest-sr-%s" % name, "1.0",
                            {GROUP: {name: "%s:Plugin" % module}})
    (folder / "METADATA").write_text(metadata("ndtest-sr-%s" % name, "1.0", requires),
                                     encoding="utf-8")
    write_module(site, module, "from nitro_dispatch import PluginBase\n\n\n"
                 "class Plugin(PluginBase):\n    name = %r\n" % name)
    return folder


def host(site: Path, version: str) -> Path:
    folder = make_dist_info(site, HOST, version)
    (folder / "METADATA").write_text(metadata(HOST, version), encoding="utf-8")
    return folder


@pytest.fixture()
def site(tmp_path: Path) -> Path:
    """The host 2.1.0, nitro-dispatch (this version), and three plugins
    requiring both; one of them through markers that hold here, with a
    requirement whose marker does not hold (on nothing installed)."""
    site = tmp_path / "site"
    site.mkdir()
    host(site, "2.1.0")
    make_dist_info(site, "nitro-dispatch", nitro_dispatch.__version__)
    plugin(site, "alpha", NEEDS)
    plugin(site, "beta", NEEDS)
    plugin(site, "gamma", [r + '; python_version >= "3"' for r in NEEDS]
           + ['nd-nowhere-to-be-found; sys_platform == "no-such-platform"'])
    age_tree(site)
    return site


def start(tmp_path: Path, site: Path) -> Dict[str, Any]:
    """One start-up in a fresh interpreter: discover, load_all."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(REPO)]),
               NITRO_DISPATCH_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("NITRO_DISPATCH_NO_CACHE", None)
    proc = subprocess.run([sys.executable, "-c", CHILD % {"group": GROUP, "host": HOST}],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    out: Dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


ALL = ["alpha", "beta", "gamma"]
MODULES = ["ndtest_sr_alpha", "ndtest_sr_beta", "ndtest_sr_gamma"]


def verdicts_file(tmp_path: Path) -> Path:
    return tmp_path / "cache" / VerdictStore.NAME


def test_a_warm_start_with_requirements_imports_no_packaging(tmp_path: Path, site: Path) -> None:
    cold = start(tmp_path, site)
    assert cold["loaded"] == ALL and cold["problems"] == []
    assert "packaging.specifiers" in cold["packaging"]  # the first start parses
    assert verdicts_file(tmp_path).is_file()
    for _ in range(2):
        warm = start(tmp_path, site)
        assert warm["loaded"] == ALL and warm["problems"] == [] and warm["imported"] == MODULES
        assert warm["packaging"] == []  # not even packaging.markers, for gamma's markers


def compat(plugin: str, requirement: str, found: str) -> List[str]:
    return ["compatibility", "plugin %r (distribution ndtest-sr-%s 1.0) requires %s, but %s"
            % (plugin, plugin, requirement, found)]


def test_an_upgraded_host_changes_the_verdict_at_the_next_start(
        tmp_path: Path, site: Path) -> None:
    assert start(tmp_path, site)["loaded"] == ALL
    assert start(tmp_path, site)["loaded"] == ALL  # warm
    # As pip upgrades: the old metadata folder goes, a new one comes.
    shutil.rmtree(site / "nd_startup_host-2.1.0.dist-info")
    host(site, "3.0")
    age_tree(site)
    out = start(tmp_path, site)
    assert out["loaded"] == [] and out["imported"] == []  # never imported
    assert out["problems"] == sorted(
        compat(p, "%s<3,>=2" % HOST, "%s 3.0 is installed" % HOST) for p in ALL)
    # Rewritten in place (same folder), aged: the file's stat changes.
    (site / "nd_startup_host-3.0.dist-info" / "METADATA").write_text(
        metadata(HOST, "2.5"), encoding="utf-8")
    age_tree(site, 30)
    out = start(tmp_path, site)
    assert out["loaded"] == ALL and out["problems"] == []


def test_a_changed_plugin_metadata_changes_the_verdict_at_the_next_start(
        tmp_path: Path, site: Path) -> None:
    assert start(tmp_path, site)["loaded"] == ALL
    assert start(tmp_path, site)["loaded"] == ALL  # warm
    beta = site / "ndtest_sr_beta-1.0.dist-info" / "METADATA"
    beta.write_text(metadata("ndtest-sr-beta", "1.0", [NEEDS[0], "nitro-dispatch>=99"]),
                    encoding="utf-8")
    age_tree(site, 30)
    out = start(tmp_path, site)
    assert out["loaded"] == ["alpha", "gamma"] and "ndtest_sr_beta" not in out["imported"]
    assert out["problems"] == [compat("beta", "nitro-dispatch>=99", "nitro-dispatch %s is "
                                      "installed" % nitro_dispatch.__version__)]
    assert start(tmp_path, site)["problems"] == out["problems"]  # warm, the same
    beta.write_text(metadata("ndtest-sr-beta", "1.0", NEEDS), encoding="utf-8")
    age_tree(site, 90)
    assert start(tmp_path, site)["loaded"] == ALL


def test_a_host_metadata_rewritten_within_one_timestamp_tick_is_read_again(
        tmp_path: Path, site: Path) -> None:
    """A file modified less than two seconds ago (or in the future) may
    change again without its stat changing: its version is never kept."""
    path = site / "nd_startup_host-2.1.0.dist-info" / "METADATA"
    soon = time.time_ns() + 60 * 10**9
    os.utime(path, ns=(soon, soon))
    assert start(tmp_path, site)["loaded"] == ALL
    before = os.stat(path)
    with open(path, "r+", encoding="utf-8") as fh:  # in place: same inode, same size
        fh.write(metadata(HOST, "3.1.0"))
    os.utime(path, ns=(soon, soon))
    after = os.stat(path)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino, before.st_size, before.st_mtime_ns)
    out = start(tmp_path, site)
    assert out["loaded"] == [] and out["imported"] == []
    assert out["problems"][0] == compat("alpha", "%s<3,>=2" % HOST,
                                        "%s 3.1.0 is installed" % HOST)


def warm_then(tmp_path: Path, site: Path, data: bytes, mode: int = 0o600) -> Dict[str, Any]:
    """A warm start after the verdicts file was replaced by ``data``, with
    the plugin beta now requiring a host version that is not installed."""
    assert start(tmp_path, site)["loaded"] == ALL
    beta = site / "ndtest_sr_beta-1.0.dist-info" / "METADATA"
    beta.write_text(metadata("ndtest-sr-beta", "1.0", ["%s>=2.2" % HOST, NEEDS[1]]),
                    encoding="utf-8")
    age_tree(site, 30)
    path = verdicts_file(tmp_path)
    path.write_bytes(data)
    os.chmod(path, mode)
    return start(tmp_path, site)


def refused_beta(out: Dict[str, Any]) -> None:
    assert out["loaded"] == ["alpha", "gamma"] and "ndtest_sr_beta" not in out["imported"]
    assert out["problems"] == [compat("beta", "%s>=2.2" % HOST,
                                      "%s 2.1.0 is installed" % HOST)]


def lies(writer: str = nitro_dispatch.__version__, fmt: int = VerdictStore.FORMAT) -> bytes:
    """A whole verdicts file that says every requirement is met: beta's
    requirement parses to nothing, every specifier holds, every version is 9."""
    anything = {"%s>=2.2" % HOST: ["nd-other", "", None, ""]}
    doc = {"format": fmt, "writer": writer, "requirements": anything,
           "contains": {">=2.2\0002.1.0": True}, "markers": {}, "versions": {}}
    return _cache.encode(doc)


@pytest.mark.parametrize("case", ["garbage", "truncated", "empty", "other format",
                                  "other writer", "ill-typed"])
def test_a_hostile_verdicts_file_is_never_believed(tmp_path: Path, site: Path,
                                                   case: str) -> None:
    if case == "ill-typed":
        doc = {"format": VerdictStore.FORMAT, "writer": nitro_dispatch.__version__,
               "requirements": {"%s>=2.2" % HOST: ["nd-other", 1, None]},
               "contains": {"<3,>=2.2\0002.1.0": "yes", ">=2.2\0002.1.0": 1},
               "markers": {}, "versions": ["not", "a", "table"]}
        data = _cache.encode(doc)
    elif case == "truncated":
        data = lies()[:-7]
    else:
        data = {"garbage": os.urandom(3000), "empty": b"",
                "other format": lies(fmt=VerdictStore.FORMAT + 1),
                "other writer": lies(writer="0.0.1")}[case]
    refused_beta(warm_then(tmp_path, site, data))
    refused_beta(start(tmp_path, site))  # and the file written afresh holds the truth


def test_a_verdicts_file_others_may_write_is_not_read(tmp_path: Path, site: Path) -> None:
    """Owner and mode are checked as for the listing's cache: a file that
    group or others may write is not read, however well formed."""
    if os.name != "posix":
        pytest.skip("POSIX owners and modes")
    refused_beta(warm_then(tmp_path, site, lies(), 0o666))


def test_the_marker_environment_is_a_key_of_its_verdicts(tmp_path: Path, site: Path) -> None:
    """A marker verdict kept for another environment (another Python, say)
    is not this one's: gamma's markers are evaluated again."""
    assert start(tmp_path, site)["loaded"] == ALL
    doc = _cache.decode(verdicts_file(tmp_path).read_bytes())
    assert isinstance(doc, dict) and doc["markers"]
    marker = 'python_version >= "3"'
    assert all(key.startswith(marker + "\0") or "no-such-platform" in key
               for key in doc["markers"])
    # This environment's verdicts replaced by lies filed under another one.
    doc["markers"] = {key.split("\0")[0] + "\0another environment": False
                      for key in doc["markers"]}
    verdicts_file(tmp_path).write_bytes(_cache.encode(doc))
    out = start(tmp_path, site)
    assert out["loaded"] == ALL and out["problems"] == []
    assert "packaging.markers" in out["packaging"]  # evaluated afresh, and kept again
    assert start(tmp_path, site)["packaging"] == []
