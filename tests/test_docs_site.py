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
import subprocess
import sys
import textwrap
from html import unescape
from pathlib import Path
from typing import List

import pytest

import nitro_dispatch
from nitro_dispatch.testing import make_distribution

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


# -- the directives, on a project of their own (where Sphinx is installed) ------------------

def sphinx_build(tmp_path: Path, index: str, site: Path) -> "subprocess.CompletedProcess[str]":
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "conf.py").write_text('extensions = ["nitro_dispatch.sphinxext"]\n',
                                  encoding="utf-8")
    (docs / "index.rst").write_text(textwrap.dedent(index), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(REPO)]))
    return subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html",
                           str(docs), str(tmp_path / "html")], env=env, capture_output=True,
                          text=True, timeout=300)


def acme_site(tmp_path: Path, events_source: str) -> Path:
    site = tmp_path / "site"
    make_distribution(site, "acme-tools", "2.1", plugins={"hammer": "acme_tools:Hammer"},
                      summary="Hits nails", group="acme.plugins",
                      events={"acme": "acme_events:Events"}, events_group="acme.events")
    (site / "acme_events.py").write_text(textwrap.dedent(events_source), encoding="utf-8")
    return site


def test_the_directives_render_the_groups_they_are_given(tmp_path: Path) -> None:
    pytest.importorskip("sphinx")
    site = acme_site(tmp_path, '''
        from nitro_dispatch import event_spec

        class Events:
            @event_spec("acme.build", mode="collect")
            @staticmethod
            def build(data):
                """Parts to build: each plugin adds ``one``."""

            @event_spec("acme.started", historic=True)
            @staticmethod
            def started(data):
                """Up."""
    ''')
    proc = sphinx_build(tmp_path, """
        Acme
        ====

        .. nitro-dispatch-plugins::
           :group: acme.plugins

        .. nitro-dispatch-events::
           :group: acme.events

        .. nitro-dispatch-plugins::
           :group: acme.nothing
    """, site)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = tmp_path / "html" / "index.html"
    text = page_text(html)
    assert "Plugin Distribution Version Summary hammer acme-tools 2.1" in text
    assert "acme-tools 2.1 Hits nails" in text
    assert "Event Mode Historic Documentation acme.build collect no Parts to build" in text
    assert "acme.started chain yes Up." in text
    assert "No plugins are installed in the entry-point group acme.nothing." in text
    assert "<code" in html.read_text(encoding="utf-8")  # ``one`` rendered as code


def test_a_declaration_that_cannot_be_used_fails_the_build(tmp_path: Path) -> None:
    pytest.importorskip("sphinx")
    site = acme_site(tmp_path, "raise RuntimeError('acme events are broken')\n")
    proc = sphinx_build(tmp_path, """
        Acme
        ====

        .. nitro-dispatch-events::
           :group: acme.events
    """, site)
    assert proc.returncode != 0
    assert "nitro-dispatch-events:" in proc.stderr and "acme events are broken" in proc.stderr


def test_every_command_is_in_the_docs() -> None:
    from nitro_dispatch.cli import COMMANDS

    text = "".join(p.read_text(encoding="utf-8") for p in [DOCS / "cli.rst",
                                                           *(DOCS / "howto").glob("*.rst")])
    names = [command.__name__.rsplit("._", 1)[-1] for command in COMMANDS]
    assert "new" in names and "list" in names
    assert [name for name in names if "nitro-dispatch %s" % (name,) not in text] == []
