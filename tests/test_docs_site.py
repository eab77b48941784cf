"""The documentation site (docs/, Sphinx): every public name is in the API
reference, and the built plugins page shows the sample plugins through the
``nitro-dispatch-plugins`` directive.

The HTML checks read the site that ``tox -e docs`` builds (it sets
``NITRO_DISPATCH_DOCS_HTML`` to the build folder and installs the sample
distributions first); elsewhere they are skipped.
"""

from __future__ import annotations

import os
import re
from html import unescape
from pathlib import Path
from typing import List

import pytest

import nitro_dispatch

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
SAMPLES = REPO / "sample_plugins"
_AUTODOC = re.compile(
    r"^\.\. (?:auto(?:class|function|exception)::\s+nitro_dispatch\.|py:data::\s+)(\w+)\s*$",
    re.M)


def test_every_public_name_has_an_autodoc_entry_in_the_api_reference() -> None:
    documented = set(_AUTODOC.findall((DOCS / "api.rst").read_text(encoding="utf-8")))
    assert sorted(set(nitro_dispatch.__all__) - documented) == []
    assert sorted(documented - set(nitro_dispatch.__all__)) == []


def test_every_page_is_in_the_table_of_contents() -> None:
    index = (DOCS / "index.rst").read_text(encoding="utf-8")
    listed = set(re.findall(r"^   (\S+)$", index, re.M))
    pages = {p.relative_to(DOCS).with_suffix("").as_posix() for p in DOCS.rglob("*.rst")
             if "_build" not in p.parts} - {"index"}
    assert sorted(pages - listed) == []


def built_html() -> Path:
    folder = os.environ.get("NITRO_DISPATCH_DOCS_HTML")
    if not folder:
        pytest.skip("no built site: 'python -m tox -e docs' builds it and runs these checks")
    path = Path(folder)
    assert (path / "index.html").is_file(), "no site built in %s" % (path,)
    return path


def page_text(path: Path) -> str:
    html = path.read_text(encoding="utf-8")
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def sample_summaries() -> List[tuple]:  # type: ignore[type-arg]
    found = []
    for folder in sorted(SAMPLES.iterdir()):
        text = (folder / "pyproject.toml").read_text(encoding="utf-8")
        dist = re.search(r'^name = "([^"]+)"', text, re.M)
        summary = re.search(r'^description = "([^"]+)"', text, re.M)
        plugins = re.search(r'\[project\.entry-points\."nitro_dispatch\.plugins"\]\n(.*?)(\n\n|$)',
                            text, re.S)
        if dist and summary and plugins:
            names = [line.split("=")[0].strip() for line in plugins.group(1).splitlines()
                     if "=" in line and not line.startswith("#")]
            found.append((dist.group(1), summary.group(1), names))
    return found


def test_the_plugins_page_lists_the_sample_plugins_with_their_summaries() -> None:
    html = built_html() / "plugins.html"
    raw = html.read_text(encoding="utf-8")
    assert 'class="nitro-dispatch-plugins' in raw
    text = page_text(html)
    samples = sample_summaries()
    assert len(samples) == 3
    for dist, summary, names in samples:
        assert dist in text, dist
        for name in names:
            assert " %s %s " % (name, dist) in text, (name, dist)
        if hasattr(nitro_dispatch.InstalledPlugin, "summary"):  # SPEC 14
            assert summary in text, summary


def test_the_plugins_page_lists_the_declared_sample_events() -> None:
    html = built_html() / "plugins.html"
    assert 'class="nitro-dispatch-events' in html.read_text(encoding="utf-8")
    text = page_text(html)
    for row in ("app.request chain no", "app.menu collect no", "cache.lookup first no",
                "app.started chain yes"):
        assert row in text, row


def test_every_public_name_is_documented_in_the_built_api_reference() -> None:
    raw = (built_html() / "api.html").read_text(encoding="utf-8")
    missing = [name for name in nitro_dispatch.__all__
               if 'id="nitro_dispatch.%s"' % (name,) not in raw]
    assert missing == []
