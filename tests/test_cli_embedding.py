"""``nitro_dispatch.cli.main(argv, *, prog, host, group, events_group)``:
a host application's own command (SPEC section 15), run in-process.  The
console-script path in a real venv is in ``test_install.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures import make_plugin_dist
from nitro_dispatch.cli import build_parser, main

COMMANDS = ("list", "check", "info", "events", "install", "uninstall", "graph", "new")


def test_help_and_errors_carry_the_hosts_program_name(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"], prog="myapp-plugins", host="myapp") == 0
    help_text = capsys.readouterr().out
    assert help_text.startswith("usage: myapp-plugins ")
    assert "Plugins are checked against the installed myapp (the default of --host)." \
        in help_text
    for command in COMMANDS:
        assert "\n    %s " % (command,) in help_text
    assert main(["install", "--help"], prog="myapp-plugins") == 0
    assert capsys.readouterr().out.startswith("usage: myapp-plugins install ")
    assert main(["--version"], prog="myapp-plugins") == 0
    assert capsys.readouterr().out.startswith("myapp-plugins (nitro-dispatch ")
    assert main(["frobnicate"], prog="myapp-plugins") == 2
    err = capsys.readouterr().err
    assert err.startswith("myapp-plugins: error: argument COMMAND: invalid choice")
    assert err.count("\n") == 1
    assert main([], prog="myapp-plugins") == 2
    assert capsys.readouterr().err == (
        "myapp-plugins: error: a command is required: %s (see 'myapp-plugins --help')\n"
        % ", ".join(COMMANDS))
    # The name is the host's only while its main() runs.
    assert main(["frobnicate"]) == 2
    assert capsys.readouterr().err.startswith("nitro-dispatch: error: ")


def test_host_group_and_events_group_are_the_defaults(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    make_plugin_dist(site, "nd-embedded", "1.0", {"emb": "ndtest_emb:P"},
                     group="ndtest.myapp.plugins")
    meta = next(site.glob("*.dist-info")) / "METADATA"
    meta.write_text(meta.read_text(encoding="utf-8").rstrip("\n")
                    + "\nRequires-Dist: ndtest-myapp>=3\n\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    assert main(["graph"], host="ndtest-myapp", group="ndtest.myapp.plugins") == 0
    out = capsys.readouterr().out
    assert 'p0["emb<br/>nd-embedded 1.0<br/>incompatible: requires ndtest-myapp>=3, but ' \
        'ndtest-myapp is not installed"]' in out
    # --host and --group given on the command line win
    assert main(["graph", "--host", "other", "--group", "ndtest.none"],
                host="ndtest-myapp", group="ndtest.myapp.plugins") == 0
    assert "no plugins in ndtest.none" in capsys.readouterr().out
    assert main(["events"], events_group="ndtest.myapp.events") == 0
    assert capsys.readouterr().out == \
        "No declared events in entry-point group 'ndtest.myapp.events'.\n"
    opts = build_parser("x", host="ndtest-myapp").parse_args(["install", "nitro-x"])
    assert opts.host == "ndtest-myapp"
