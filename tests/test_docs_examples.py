"""The examples of the documentation (docs/*.rst) run and type-check.

Each page's ``.. code-block:: python`` blocks are joined in order into one
module, as a reader would paste them, and run with pytest (module-level
code runs when it is collected, and the ``test_*`` functions a page shows
run as tests, with the fixtures of nitro_dispatch.testing); all pages pass
``mypy --strict``, one module a page.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, List

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
_BLOCK = re.compile(r"^\.\. code-block:: python\n((?:\n|   .*\n)+)", re.M)


def python_blocks(page: Path) -> List[str]:
    return [textwrap.dedent(block) for block in _BLOCK.findall(page.read_text(encoding="utf-8"))]


def pages_with_examples() -> Dict[str, str]:
    """``{module name: joined source}`` for every page with python blocks."""
    found = {}
    for page in sorted(DOCS.rglob("*.rst")):
        blocks = python_blocks(page)
        if blocks:
            rel = page.relative_to(DOCS).with_suffix("").as_posix()
            found["test_doc_" + re.sub(r"\W+", "_", rel)] = "\n\n".join(blocks)
    return found


PAGES = pages_with_examples()


def test_the_pages_that_teach_have_examples() -> None:
    for name in ("tutorial_host", "tutorial_plugin", "howto_testing", "howto_declared_events",
                 "guide_dispatch"):
        assert "test_doc_" + name in PAGES, name


def clean_env() -> Dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("PYTEST_ADDOPTS", None)
    return env


@pytest.mark.parametrize("module", sorted(PAGES))
def test_the_examples_of_a_page_run(tmp_path: Path, module: str) -> None:
    (tmp_path / (module + ".py")).write_text(PAGES[module], encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "nitro_dispatch.testing", "-W", "error", module + ".py"],
                          cwd=str(tmp_path), env=clean_env(), capture_output=True, text=True,
                          timeout=300)
    shown_tests = len(re.findall(r"^def test_", PAGES[module], re.M))
    if shown_tests:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert proc.stdout.splitlines()[-1].startswith("%d passed" % shown_tests), proc.stdout
    else:  # status 5, no tests: the page's module code ran at collection, without error
        assert proc.returncode == 5, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_the_examples_pass_mypy_strict(tmp_path: Path, mypy_cache_dir: Path) -> None:
    for module, source in PAGES.items():
        (tmp_path / (module + ".py")).write_text(source, encoding="utf-8")
    (tmp_path / "mypy.ini").write_text("[mypy]\n", encoding="utf-8")  # not the user's
    env = dict(os.environ, MYPYPATH=str(REPO))
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--config-file", "mypy.ini",
                           "--cache-dir", str(mypy_cache_dir), "--no-error-summary",
                           "--show-error-codes", *sorted(m + ".py" for m in PAGES)],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
