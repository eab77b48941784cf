"""The documentation runs: docstring examples, the README's code blocks,
and the README's first command (the demo)."""

from __future__ import annotations

import doctest
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from test_examples import build_leftovers

REPO = Path(__file__).resolve().parent.parent
MODULES = ["nitro_dispatch._hooks", "nitro_dispatch._plugin", "nitro_dispatch._registry",
           "nitro_dispatch._manager", "nitro_dispatch.cli._output", "nitro_dispatch._describe",
           "nitro_dispatch.testing"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, "no examples found in %s" % name
    assert result.failed == 0


def readme_blocks() -> list:  # type: ignore[type-arg]
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_readme_python_blocks_run_in_order(tmp_path: Path) -> None:
    blocks = readme_blocks()
    assert len(blocks) >= 3
    # One namespace, as a reader would paste them one after another; the
    # first block is a plugin module, importable under its file's name.
    script = "\n\n".join(blocks)
    (tmp_path / "readme_blocks.py").write_text(script, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "readme_blocks.py"], cwd=str(tmp_path), env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr


def test_readme_opens_with_the_two_commands() -> None:
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("```sh")
    assert lines[start + 1:start + 4] == [
        "python examples/demo.py", "python -m pip install tox && python -m tox -p auto", "```"]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert ("python -m pip install --quiet --disable-pip-version-check tox "
            "&& python -m tox -p auto") in ci


def test_demo_installs_the_samples_and_runs_the_application() -> None:
    """The README's first command, as a new user runs it.  The samples
    require nitro-dispatch>=1.3, which no index needs to provide: the demo
    installs this repository in the same pip call, from copies, and leaves
    no build/ or *.egg-info behind."""
    before = build_leftovers()
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "demo.py")],
                          cwd=str(REPO), capture_output=True, text=True, timeout=600,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    out = proc.stdout
    for line in ["  audit    nitro_audit:AuditPlugin",
                 "Discovered 3 plugins: audit, cache, welcome",
                 "  loaded welcome 1.2.0", "  loaded audit 1.0.0",
                 "'greeting': 'Hello, ada!'", "cache.get     -> {'key': 'ada', 'hit': True",
                 "  unloaded audit", "3 plugins checked, 0 problems",
                 "welcome>=1.0,<2  [ok]"]:
        assert line in out, line
    # Dependency order: welcome loads before audit, audit unloads before welcome.
    assert out.index("loaded welcome") < out.index("loaded audit")
    assert out.index("unloaded audit") < out.index("unloaded welcome")
    assert build_leftovers() == before


def test_readme_is_a_short_page_whose_links_into_the_docs_resolve() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) < 250
    links = re.findall(r"\]\(((?:docs/)[^)#]+)\)", text)
    assert len(links) >= 15
    assert [link for link in links if not (REPO / link).exists()] == []
