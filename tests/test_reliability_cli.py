"""SPEC section 11: the command line never fails on output.  Everything runs
as real processes: the console script of a real virtual environment (with a
distribution whose plugin names are not ASCII) and ``python -m
nitro_dispatch`` over a fake site directory."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import pytest

from fixtures import make_plugin_dist, write_module
from nitro_dispatch.cli._output import print_json
from venv_support import PROJECT, REPO_ROOT, Venv, make_plugin_project
from venv_support import venv_factory_fixture  # noqa: F401  (provides venv_factory)

POSIX_ONLY = pytest.mark.skipif(os.name != "posix", reason="POSIX pipes and descriptors")
MANY = 4000  # plugins in one distribution: a table far larger than a pipe's buffer
CLOSED_PIPE = 141

UNICODE_PLUGIN = '''\
from nitro_dispatch import PluginBase, hook


class Cafe(PluginBase):
    name = "caf\\u00e9"


class Plain(PluginBase):
    name = "plain"
    description = "Sert un caf\\u00e9 \\u2615"

    @hook("commande.pass\\u00e9e")
    def serve(self, data):
        return data
'''


@pytest.fixture(scope="module")
def venv(venv_factory: Callable[..., Venv], tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A venv with nitro_dispatch and one distribution advertising "café"
    and MANY plain plugins (listing them imports nothing)."""
    plugins = {"caf\u00e9": "nitro_unicode:Cafe", "plain": "nitro_unicode:Plain"}
    plugins.update(("many%04d" % i, "nitro_unicode:Plain") for i in range(MANY))
    project = make_plugin_project(tmp_path_factory.mktemp("unicode-project"), "nitro-unicode",
                                  "1.0", plugins, {"nitro_unicode": UNICODE_PLUGIN})
    return venv_factory("cli-output", PROJECT, project)  # type: ignore[no-any-return]


def script(venv: Venv) -> str:
    bindir = "Scripts" if sys.platform == "win32" else "bin"
    return str(venv.root / bindir / "nitro-dispatch")


C_LOCALE = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": "",
            "PYTHONCOERCECLOCALE": "0"}


def run(venv: Venv, args: Sequence[str], extra: Optional[Dict[str, str]] = None,
        **kwargs: Any) -> "subprocess.CompletedProcess[bytes]":
    return subprocess.run([script(venv), *args], env=venv.env(extra), cwd=str(venv.work_dir),
                          timeout=120, **kwargs)


def no_traceback(*streams: bytes) -> None:
    for stream in streams:
        assert b"Traceback" not in stream and b"Exception ignored" not in stream, stream[-2000:]


# -- encodings ----------------------------------------------------------------------

def test_a_terminal_that_cannot_encode_gets_escapes(venv: Venv) -> None:
    proc = run(venv, ["list"], C_LOCALE, capture_output=True)
    no_traceback(proc.stdout, proc.stderr)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.decode("ascii").splitlines()  # pure ASCII: it was written as such
    assert any(line.startswith("caf\\xe9 ") for line in lines), lines[:5]
    assert len([line for line in lines if line.startswith("many")]) == MANY

    info = run(venv, ["info", "plain"], C_LOCALE, capture_output=True)
    no_traceback(info.stdout, info.stderr)
    assert info.returncode == 0, info.stderr
    text = info.stdout.decode("ascii")
    assert "caf\\xe9" in text and "\\u2615" in text and "commande.pass\\xe9e" in text

    # A C-locale terminal hands the name over as UTF-8 bytes: decoded as
    # such (issue 17, item 14), it names the plugin, shown escaped.
    found = run(venv, ["info", "caf\u00e9"], C_LOCALE, capture_output=True)
    no_traceback(found.stdout, found.stderr)
    assert found.returncode == 0, found.stderr
    assert "Name:         caf\\xe9" in found.stdout.decode("ascii")


def test_json_is_ascii_whatever_the_locale(venv: Venv) -> None:
    proc = run(venv, ["list", "--json"], C_LOCALE, capture_output=True)
    assert proc.returncode == 0, proc.stderr
    names = [row["name"] for row in json.loads(proc.stdout.decode("ascii"))]
    assert "caf\u00e9" in names


# -- pipes and closed streams -----------------------------------------------------------

@POSIX_ONLY
def test_a_real_pipe_into_head(venv: Venv) -> None:
    writer = subprocess.Popen([script(venv), "list"], env=venv.env(), cwd=str(venv.work_dir),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    head = subprocess.Popen(["head", "-1"], stdin=writer.stdout, stdout=subprocess.PIPE)
    assert writer.stdout is not None and writer.stderr is not None
    writer.stdout.close()  # only head reads it now
    first, _ = head.communicate(timeout=120)
    err = writer.stderr.read()
    writer.stderr.close()
    status = writer.wait(timeout=120)
    assert first.decode().startswith("NAME"), first
    no_traceback(err)
    assert err == b""
    assert status == CLOSED_PIPE


@POSIX_ONLY
@pytest.mark.parametrize("args", [["list"], ["list", "--json"], ["check"], ["--help"],
                                  ["info", "plain"]])
def test_stdout_closed_by_its_reader(venv: Venv, args: List[str]) -> None:
    """The reading end is closed before the command writes at all."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = run(venv, args, stdout=write_end, stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    no_traceback(proc.stderr)
    assert proc.stderr == b""
    assert proc.returncode == CLOSED_PIPE


@POSIX_ONLY
def test_closed_descriptors(venv: Venv) -> None:
    shell = shutil.which("sh")
    if shell is None:
        pytest.skip("no sh to close descriptors with")

    def closed(redirect: str, *args: str) -> "subprocess.CompletedProcess[bytes]":
        command = '"$0" "$@" %s' % redirect
        return subprocess.run([shell, "-c", command, script(venv), *args], env=venv.env(),
                              cwd=str(venv.work_dir), capture_output=True, timeout=120)

    # No stdout at all: the output is dropped (as print() drops it), the status is the command's.
    proc = closed(">&-", "list")
    no_traceback(proc.stderr)
    assert (proc.returncode, proc.stderr) == (0, b"")
    # No stderr: the one-line error has nowhere to go; the status still says so.
    proc = closed("2>&-", "info", "no-such-plugin")
    no_traceback(proc.stdout)
    assert (proc.returncode, proc.stdout) == (2, b"")
    # Neither.
    proc = closed(">&- 2>&-", "info", "plain")
    assert proc.returncode == 0


@POSIX_ONLY
def test_stderr_closed_by_its_reader(venv: Venv) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = run(venv, ["info", "no-such-plugin"], stdout=subprocess.PIPE, stderr=write_end)
    finally:
        os.close(write_end)
    assert proc.returncode == 2 and proc.stdout == b""


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_is_one_line(venv: Venv) -> None:
    with open("/dev/full", "wb") as full:
        proc = run(venv, ["list"], stdout=full, stderr=subprocess.PIPE)
    no_traceback(proc.stderr)
    assert proc.returncode == 2
    (line,) = proc.stderr.decode().splitlines()
    assert line.startswith("nitro-dispatch: error: cannot write to standard output")


# -- strict JSON ------------------------------------------------------------------------

def test_info_json_is_strict_json(tmp_path: Path) -> None:
    """A hook whose timeout is not finite (whether or not registration
    accepts it) never makes ``info --json`` print ``Infinity``."""
    site = tmp_path / "site"
    make_plugin_dist(site, "nitro-endless", "1.0", {"endless": "nitro_endless:Endless"})
    write_module(site, "nitro_endless",
                 "from nitro_dispatch import PluginBase, hook\n\n\n"
                 "class Endless(PluginBase):\n"
                 "    name = 'endless'\n\n"
                 "    @hook('wait', timeout=float('inf'))\n"
                 "    def wait(self, data):\n"
                 "        return data\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(site)]),
               NITRO_DISPATCH_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, "-m", "nitro_dispatch", "info", "endless", "--json"],
                          env=env, capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
    assert "Traceback" not in proc.stderr

    def refuse(constant: str) -> None:
        raise AssertionError("not JSON: %s" % (constant,))

    data = json.loads(proc.stdout, parse_constant=refuse)
    assert data["name"] == "endless"
    if data.get("error") is None:  # accepted: the timeout is spelled as a string
        assert [h["timeout"] for h in data["hooks"]] == ["inf"]


def test_print_json_spells_non_finite_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    print_json({"a": [float("nan"), float("-inf"), 1.5, "x"], "b": float("inf"), "c": 2})
    assert json.loads(out.getvalue()) == {"a": ["nan", "-inf", 1.5, "x"], "b": "inf", "c": 2}
