"""``install``, ``uninstall`` and ``graph`` for end users (SPEC section 15),
run as processes in a real virtual environment with real wheels.

The wheels are built in the test (``pip wheel`` of throw-away projects) into
a local directory, and every install runs with ``--no-index --find-links
DIR``: no network.  One venv (with its own pip, which ``install`` runs) is
shared by the module; each test leaves it as it found it (checked with
``pip freeze``).  Built there: the host application ``myapp`` 2.1
(installed, with a console script ``myapp-plugins`` calling
``nitro_dispatch.cli.main(prog=..., host="myapp")``) and the wheels of

* nitro-greet 1.0 (plugin ``greet``; requires nitro-dispatch>=1, myapp>=2,<3)
* nitro-shout 1.0 (plugin ``shout``; requires nitro-greet>=1)
* nitro-future 1.0 (plugin ``future``; requires myapp>=3) and myapp 3.0
* nitro-next 1.0 (plugin ``next``; requires nitro-dispatch>=99, which no
  index here has: pip cannot resolve it)
* nitro-foo-a 1.0 and nitro-foo-b 1.0 (plugins ``Foo_Bar`` and ``foo-bar``)
* plain-helper 1.0 (no plugin)
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence

import pytest

from graph_formats import parse_dot, parse_mermaid
from nitro_dispatch._pip import PluginInstallError, finding_args, parse_pip_version
from venv_support import PROJECT, Venv, make_plugin_project, make_project

_PIP_FLAGS = ("--disable-pip-version-check", "--no-input", "--progress-bar", "off")


class Env:
    """The shared venv, the wheel directory, and ways to run the CLI."""

    def __init__(self, venv: Venv, wheels: Path) -> None:
        self.venv = venv
        self.wheels = wheels

    def cli(self, *args: str, find: bool = True, script: str = "",
            stdin: Optional[str] = None) -> "subprocess.CompletedProcess[str]":
        """``python -m nitro_dispatch ARGS`` (or the venv's console script
        ``script``), with ``--no-index --find-links WHEELS`` when ``find``."""
        extra = ["--no-index", "--find-links", str(self.wheels)] if find else []
        cmd = ([str(self.venv.python.parent / script)] if script
               else [str(self.venv.python), "-m", "nitro_dispatch"])
        return subprocess.run([*cmd, *args, *extra], capture_output=True, text=True,
                              env=self.env(), cwd=str(self.venv.work_dir), timeout=300,
                              input=stdin)

    def env(self) -> Dict[str, str]:
        """The venv's environment, without this machine's pip settings
        (config files, ``PIP_*`` variables); pip gives up on an unreachable
        index after one retry."""
        env = {k: v for k, v in self.venv.env().items() if not k.startswith("PIP_")}
        env.update(PIP_CONFIG_FILE=os.devnull, PIP_RETRIES="1", PIP_TIMEOUT="10")
        return env

    def freeze(self) -> List[str]:
        return sorted(self.venv.pip("freeze", "--all").stdout.splitlines())

    def plugins(self) -> List[str]:
        return sorted(p["name"] for p in self.venv.list_plugins())

    def remove(self, *dists: str) -> None:
        self.venv.pip("uninstall", "-y", *dists)


def _plugin(src: Path, dist: str, version: str, name: Optional[str],
            requires: Sequence[str] = ()) -> Path:
    module = "ndtest_" + dist.replace("-", "_")
    source = ("from nitro_dispatch import PluginBase\n\n\nclass Plugin(PluginBase):\n"
              "    name = %r\n" % (name,))
    return make_plugin_project(src / ("%s-%s" % (dist, version)), dist, version,
                               {name: module + ":Plugin"} if name else {}, {module: source},
                               dependencies=list(requires))


def _host(src: Path, version: str) -> Path:
    return make_project(src / ("myapp-" + version), {
        "pyproject.toml": """\
            [build-system]
            requires = ["setuptools>=64"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "myapp"
            version = "%s"
            dependencies = ["nitro-dispatch"]

            [project.scripts]
            myapp-plugins = "myapp.plugins_cli:main"

            [tool.setuptools]
            packages = ["myapp"]
            """ % (version,),
        "myapp/__init__.py": "",
        "myapp/plugins_cli.py": """\
            from nitro_dispatch.cli import main as _main


            def main() -> int:
                return _main(prog="myapp-plugins", host="myapp")
            """,
    })


def _clean_env() -> Dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("install")
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True,
                   capture_output=True, env=_clean_env())
    venv = Venv(root / "venv", host_pip=False)
    venv.pip("install", *_PIP_FLAGS, "setuptools>=77")
    src, wheels = root / "src", root / "wheels"
    projects = [_plugin(src, "nitro-greet", "1.0", "greet", ["nitro-dispatch>=1", "myapp>=2,<3"]),
                _plugin(src, "nitro-shout", "1.0", "shout", ["nitro-greet>=1"]),
                _plugin(src, "nitro-future", "1.0", "future", ["myapp>=3"]),
                _plugin(src, "nitro-next", "1.0", "next", ["nitro-dispatch>=99"]),
                _plugin(src, "nitro-foo-a", "1.0", "Foo_Bar"),
                _plugin(src, "nitro-foo-b", "1.0", "foo-bar"),
                _plugin(src, "plain-helper", "1.0", None)]
    build = ("wheel", *_PIP_FLAGS, "--no-deps", "--no-build-isolation", "--wheel-dir",
             str(wheels))
    venv.pip(*build, *map(str, projects))
    venv.pip(*build, str(_host(src, "3.0")))  # one version of a name per pip call
    venv.pip_install(PROJECT, _host(src, "2.1"))
    yield Env(venv, wheels)


@pytest.fixture()
def untouched(env: Env) -> Iterator[List[str]]:
    """The test must leave the venv's distributions as it found them."""
    before = env.freeze()
    yield before
    assert env.freeze() == before


# -- install -------------------------------------------------------------------


def test_install_compatible_plugins_lists_them_then_uninstall_protects_dependents(
        env: Env, untouched: List[str]) -> None:
    proc = env.cli("install", "nitro-shout", "--host", "myapp")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Would install nitro-greet-1.0 nitro-shout-1.0" in proc.stdout  # pip's own output
    assert "Installed: nitro-shout 1.0, nitro-greet 1.0" in proc.stdout
    new = proc.stdout.split("New plugins:")[1].split()
    assert new[:3] == ["NAME", "VERSION", "DISTRIBUTION"]
    assert new[3:] == ["greet", "1.0", "nitro-greet", "shout", "1.0", "nitro-shout"]
    try:
        assert env.plugins() == ["greet", "shout"]
        listed = env.cli("list", "--json", find=False)
        assert sorted(p["name"] for p in json.loads(listed.stdout)) == ["greet", "shout"]
        # Installing again: nothing to do.
        again = env.cli("install", "nitro-shout", "--quiet")
        assert (again.returncode, again.stdout) == (
            0, "Nothing to install: the requirements are already satisfied.\n")

        # uninstall of what shout needs is refused, by plugin or distribution name
        frozen = env.freeze()
        for name in ("GREET", "nitro_greet"):
            refused = env.cli("uninstall", name, "--yes", find=False)
            assert refused.returncode == 1, refused.stdout + refused.stderr
            assert refused.stdout.splitlines() == [
                "cannot uninstall nitro-greet: nitro-shout 1.0 (plugin 'shout') requires "
                "nitro-greet>=1",
                "nothing was removed; use --force to remove it anyway"]
        assert env.freeze() == frozen
        # not confirmed: nothing goes
        asked = env.cli("uninstall", "shout", find=False, stdin="n\n")
        assert asked.returncode == 1
        assert "Uninstall nitro-shout 1.0 (plugin shout)? [y/N]" in asked.stderr
        assert env.freeze() == frozen
        forced = env.cli("uninstall", "greet", "--force", "--yes", find=False)
        assert forced.returncode == 0, forced.stdout + forced.stderr
        assert "Successfully uninstalled nitro-greet-1.0" in forced.stdout  # pip's output
        assert forced.stdout.splitlines()[-1] == "Removed nitro-greet 1.0; plugins gone: greet"
        assert "nitro-shout 1.0 (plugin 'shout') requires nitro-greet>=1; it will not load " \
            "without nitro-greet" in forced.stderr
        assert env.plugins() == ["shout"]
        confirmed = env.cli("uninstall", "nitro-shout", "--json", find=False, stdin="y\n")
        assert confirmed.returncode == 0, confirmed.stderr
        report = json.loads(confirmed.stdout)
        assert [p["name"] for p in report["removed"]] == ["shout"]
        assert report["refused"] is False
    finally:
        env.venv.pip("uninstall", "-y", "nitro-greet", "nitro-shout")


def test_dry_run_changes_nothing_and_reports_a_distribution_without_plugins(
        env: Env, untouched: List[str]) -> None:
    proc = env.cli("install", "nitro-shout", "plain-helper", "--dry-run", "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == [
        "Would install: nitro-shout 1.0, plain-helper 1.0, nitro-greet 1.0",
        "Plugins it would bring: shout (nitro-shout 1.0), greet (nitro-greet 1.0)"]
    assert "warning: plain-helper advertises no plugin in entry-point group " \
        "'nitro_dispatch.plugins'" in proc.stderr
    as_json = env.cli("install", "nitro-shout", "--dry-run", "--json")
    report = json.loads(as_json.stdout)
    assert (report["dry_run"], report["refused"], report["installed"]) == (True, False, [])
    assert [(d["name"], d["requested"], [p["name"] for p in d["plugins"]])
            for d in report["to_install"]] == [("nitro-shout", True, ["shout"]),
                                               ("nitro-greet", False, ["greet"])]
    assert env.plugins() == []


def test_a_plugin_for_another_host_version_is_refused(env: Env, untouched: List[str]) -> None:
    proc = env.cli("install", "nitro-future", "--host", "myapp")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert "future (distribution nitro-future 1.0): requires myapp>=3, but myapp 2.1 is " \
        "installed" in lines
    assert any(line.startswith("the install would replace myapp 2.1 with 3.0 (the host "
                               "application)") for line in lines)
    assert lines[-1] == "install refused: 2 problems; nothing was installed"


def test_a_plugin_needing_a_newer_nitro_dispatch_is_refused_though_pip_cannot_resolve_it(
        env: Env, untouched: List[str]) -> None:
    proc = env.cli("install", "nitro-next", "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert [f["line"] for f in report["findings"]] == [
        "next (distribution nitro-next 1.0): requires nitro-dispatch>=99, but nitro-dispatch "
        "1.3.0 is installed"]
    assert report["findings"][0]["phase"] == "compatibility"


def test_two_spellings_of_one_plugin_name_are_refused(env: Env, untouched: List[str]) -> None:
    both = env.cli("install", "nitro-foo-a", "nitro-foo-b", "--quiet")
    assert both.returncode == 1
    assert "claimed by several distributions (nitro-foo-a 1.0 as 'Foo_Bar', nitro-foo-b 1.0 " \
        "as 'foo-bar')" in both.stdout
    first = env.cli("install", "nitro-foo-a", "--quiet")
    assert first.returncode == 0, first.stdout + first.stderr
    try:
        frozen = env.freeze()
        second = env.cli("install", "nitro-foo-b", "--quiet")
        assert second.returncode == 1, second.stdout + second.stderr
        assert second.stdout.splitlines() == [
            "Foo_Bar (distribution nitro-foo-a 1.0): plugin 'Foo_Bar / foo-bar' is claimed by "
            "several distributions (nitro-foo-a 1.0 as 'Foo_Bar', nitro-foo-b 1.0 as "
            "'foo-bar'); none of them is loaded until only one remains",
            "install refused: 1 problem; nothing was installed"]
        assert env.freeze() == frozen
    finally:
        env.remove("nitro-foo-a")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_wheels_from_an_index_are_fetched_to_read_their_entry_points(
        env: Env, untouched: List[str]) -> None:
    # The wheel directory served over HTTP (on this machine): pip's report then
    # points to URLs, and the wheels are fetched with pip wheel to be read.
    handler = functools.partial(_QuietHandler, directory=str(env.wheels))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = "http://127.0.0.1:%d/" % (server.server_address[1],)
        proc = env.cli("install", "nitro-shout", "--dry-run", "--json", "--no-index",
                       "--find-links", url, find=False)
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert [(d["name"], [p["name"] for p in d["plugins"]]) for d in report["to_install"]] == [
        ("nitro-shout", ["shout"]), ("nitro-greet", ["greet"])]


# -- graph -----------------------------------------------------------------------


def test_graph_of_installed_plugins_as_mermaid_and_dot(env: Env, untouched: List[str]) -> None:
    # Installed behind install's back: an incompatible plugin, and one missing its dependency.
    env.venv.pip_install(*(str(w) for w in sorted(env.wheels.glob("nitro_*.whl"))
                           if w.name.startswith(("nitro_shout", "nitro_future", "nitro_next"))),
                         no_deps=True)
    try:
        mermaid = env.cli("graph", "--host", "myapp", find=False)
        assert mermaid.returncode == 0, mermaid.stderr
        chart = parse_mermaid(mermaid.stdout)
        labels = {label.split("\n")[0]: node for node, label in chart.nodes.items()}
        assert set(labels) == {"future", "next", "shout", "nitro-greet"}
        assert chart.nodes[labels["shout"]].startswith("shout\nnitro-shout 1.0")
        assert chart.classes[labels["future"]] == "incompatible"
        assert chart.classes[labels["next"]] == "incompatible"
        assert chart.classes[labels["nitro-greet"]] == "missing"
        assert chart.edges == [(labels["shout"], "-.->", "nitro-greet>=1", labels["nitro-greet"])]
        dot = env.cli("graph", "--format", "dot", "--host", "myapp", find=False)
        assert dot.returncode == 0, dot.stderr
        graph = parse_dot(dot.stdout)
        dot_labels = {attrs["label"].split("\\n")[0]: node for node, attrs in graph.nodes.items()}
        assert set(dot_labels) == set(labels)
        assert [(s, t) for s, t, _ in graph.edges] == [(dot_labels["shout"],
                                                        dot_labels["nitro-greet"])]
        bad = env.cli("graph", "--format", "svg", find=False)
        assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    finally:
        env.remove("nitro-shout", "nitro-future", "nitro-next")


# -- errors: one line, status 2, nothing changed -----------------------------------


def test_errors_are_one_line_with_status_2(env: Env, untouched: List[str]) -> None:
    # (--quiet: pip's own output, which streams through otherwise, stays out)
    cases = [
        (("install", "nitro-x>>1"), "requirement 'nitro-x>>1' does not parse"),
        (("uninstall", "gret", "--yes"), "no plugin or plugin distribution named 'gret'"),
        (("uninstall", "setuptools", "--yes"),
         "distribution 'setuptools' ("),
        (("install", "--quiet", "nitro-greet", "--index-url", "http://127.0.0.1:9/simple"),
         "cannot reach the package index while resolving nitro-greet: [Errno 111]"),
        (("install", "--quiet", "no-such-dist-anywhere"),
         "pip failed while resolving no-such-dist-anywhere (exit status 1): "),
    ]
    for args, message in cases:
        proc = env.cli(*args, find=args[0] == "install" and "--index-url" not in args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert proc.stderr.startswith("nitro-dispatch: error: " + message), proc.stderr
        assert proc.stderr.count("\n") == 1, proc.stderr
        assert proc.stdout == "", proc.stdout


def test_pip_missing_or_too_old_is_one_line(env: Env, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True,
                   capture_output=True)
    bindir = "Scripts" if sys.platform == "win32" else "bin"
    python = bare / bindir / ("python.exe" if sys.platform == "win32" else "python")
    # The shared venv's nitro_dispatch and packaging, without its pip.
    lib = tmp_path / "lib"
    lib.mkdir()
    for name in ("nitro_dispatch", "packaging"):
        os.symlink(env.venv.site_packages / name, lib / name)
    proc = subprocess.run([str(python), "-m", "nitro_dispatch", "install", "nitro-greet"],
                          capture_output=True, text=True, cwd=str(tmp_path), timeout=120,
                          env=dict(env.env(), PYTHONPATH=str(lib)))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("nitro-dispatch: error: pip is not available in this "
                                  "environment"), proc.stderr
    assert proc.stderr.count("\n") == 1
    # A pip older than 22.2 (a stand-in that answers --version as pip 21.3.1 does).
    (lib / "pip").mkdir()
    (lib / "pip" / "__init__.py").write_text("", encoding="utf-8")
    (lib / "pip" / "__main__.py").write_text(
        "import sys\nprint('pip 21.3.1 from %s (python 3)' % __file__)\n"
        "sys.exit(0 if sys.argv[1:] == ['--version'] else 3)\n", encoding="utf-8")
    proc = subprocess.run([str(python), "-m", "nitro_dispatch", "install", "nitro-greet"],
                          capture_output=True, text=True, cwd=str(tmp_path), timeout=120,
                          env=dict(env.env(), PYTHONPATH=str(lib)))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("nitro-dispatch: error: pip 21.3.1 is too old: installing "
                                  "plugins needs pip 22.2 or later"), proc.stderr
    assert proc.stderr.count("\n") == 1


def test_pip_versions_and_finding_options() -> None:
    assert parse_pip_version("pip 23.2.1 from /x/pip (python 3.11)") == (23, 2, 1)
    assert parse_pip_version("pip 22.2b1 from /x") == (22, 2)
    assert parse_pip_version("pip 24.0") >= (22, 2) > parse_pip_version("pip 22.1.2 from x")
    assert parse_pip_version("not pip") == ()
    assert finding_args(["-i", "https://x/simple", "--find-links=dir", "-U", "--pre",
                         "--no-index", "--extra-index-url", "https://y"]) == [
        "--index-url", "https://x/simple", "--find-links", "dir", "--upgrade", "--pre",
        "--no-index", "--extra-index-url", "https://y"]
    for bad, message in ((["--target", "x"], "pip option '--target' is not accepted here"),
                         (["--no-deps"], "pip option '--no-deps' is not accepted here"),
                         (["--index-url"], "pip option --index-url needs a value"),
                         (["--pre=1"], "pip option --pre takes no value")):
        with pytest.raises(PluginInstallError, match=message.replace("-", r"\-")):
            finding_args(bad)


def test_install_plugins_refuses_bad_requirements_before_running_pip() -> None:
    from nitro_dispatch import install_plugins

    for bad, message in (("nitro-x>>1", "requirement 'nitro-x>>1' does not parse"),
                         ("--target=/tmp", "'--target=/tmp' is not a requirement"),
                         ("  ", "an empty requirement was given")):
        with pytest.raises(PluginInstallError, match=message):
            install_plugins([bad])
    with pytest.raises(PluginInstallError, match="nothing to install"):
        install_plugins([])
    with pytest.raises(TypeError, match="not a single str"):
        install_plugins("nitro-x")


# -- the host's own command --------------------------------------------------------


def test_a_hosts_console_script_has_every_command_under_its_name(
        env: Env, untouched: List[str]) -> None:
    helped = env.cli("--help", find=False, script="myapp-plugins")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("usage: myapp-plugins")
    for command in ("list", "check", "info", "events", "install", "uninstall", "graph"):
        assert "    %s " % (command,) in helped.stdout, command
    wrong = env.cli("frobnicate", find=False, script="myapp-plugins")
    assert wrong.returncode == 2
    assert wrong.stderr.startswith("myapp-plugins: error: ")
    assert wrong.stderr.count("\n") == 1
    # The host is fixed to myapp: a plugin for myapp 3 is refused without --host.
    refused = env.cli("install", "nitro-future", "--quiet", script="myapp-plugins")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "future (distribution nitro-future 1.0): requires myapp>=3, but myapp 2.1 is " \
        "installed" in refused.stdout
    installed = env.cli("install", "nitro-shout", "--quiet", script="myapp-plugins")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    try:
        listed = env.cli("list", "--json", find=False, script="myapp-plugins")
        assert [p["name"] for p in json.loads(listed.stdout)] == ["greet", "shout"]
    finally:
        env.remove("nitro-greet", "nitro-shout")
