"""SPEC section 14 (issue 16): the listing sees exactly what importlib.metadata
sees.

``tests/metadata_corpus`` holds metadata shapes taken from real
distributions (multi-line headers with whitespace-only continuation lines,
Metadata 2.4 licensing and ``Dynamic``, extras-only requirements and
markers, egg-info with ``requires.txt`` sections, a PEP 660 editable
install, a ``setup.py develop`` source folder, an unzipped and a zipped egg,
a namespace-package pair, one distribution twice on the path, latin-1
bytes, CRLF line endings); each is listed with ``list_installed_plugins``
and with ``importlib.metadata`` and the answers compared.  The same
comparison runs over every entry-point group of this test environment.
Then one test for each finding of the issue.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, Iterator, List, Optional, Tuple

import pytest

from fixtures import GROUP, age_tree, bump_mtime, importlib_metadata, make_dist_info, write_module
from nitro_dispatch import PluginManager, list_installed_plugins
from venv_support import REPO_ROOT

CORPUS = Path(__file__).resolve().parent / "metadata_corpus"

pytestmark = pytest.mark.usefixtures("cache_dir")  # every test: a cache of its own

Row = Tuple[str, str, str, str, Tuple[str, ...], str, str, str]


@pytest.fixture
def corpus(tmp_path: Path) -> List[Path]:
    """The corpus copied out (its zipped egg zipped), as a search path:
    site-packages, a second site directory, the ``setup.py develop`` source
    folder, an unzipped egg and a zipped egg."""
    top = tmp_path / "corpus"
    shutil.copytree(CORPUS, top)
    source = top / "eggs" / "zipped" / "nd_zipegg-1.0-py3.11.egg"
    archive = top / "eggs" / "nd_zipegg-1.0-py3.11.egg.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(source).as_posix())
    shutil.rmtree(top / "eggs" / "zipped")
    zipped = top / "eggs" / "nd_zipegg-1.0-py3.11.egg"
    archive.rename(zipped)
    return [top / "site", top / "site2", top / "develop_src",
            top / "eggs" / "nd_egg-1.0-py3.11.egg", zipped]


@pytest.fixture
def search_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``use(path)`` makes ``path`` the interpreter's search path, as
    importlib_metadata.entry_points() reads it."""
    # What importlib.metadata (or the backport, and its zipp) imports only
    # when first used: from the real path, not from the corpus.
    for name in ("email.message", "importlib.metadata._adapters", "importlib_metadata._adapters",
                 "zipp", "zipfile"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass

    def use(path: List[Path]) -> None:
        monkeypatch.setattr(sys, "path", [str(p) for p in path])
        importlib.invalidate_caches()

    yield use
    importlib.invalidate_caches()


def part(ep: Any, name: str) -> str:
    """``ep.module`` / ``ep.attr`` ("" where EntryPoint cannot parse the value)."""
    try:
        return getattr(ep, name) or ""
    except AttributeError:
        return ""


def reencoded(dist: Any, tmp_path: Path) -> Any:
    """The same distribution with its non-UTF-8 bytes replaced: what the
    listing reads where importlib.metadata raises UnicodeDecodeError."""
    source = Path(str(dist.locate_file(""))) / "nd_latin-1.0.egg-info"
    copy = tmp_path / "reencoded" / source.name
    if not copy.exists():
        shutil.copytree(source, copy)
        for path in copy.iterdir():
            path.write_text(path.read_bytes().decode("utf-8", "replace"), encoding="utf-8")
    return importlib_metadata.PathDistribution(copy)


def importlib_rows(group: str, tmp_path: Optional[Path] = None) -> List[Row]:
    """What importlib_metadata.entry_points(group=...) lists, with each
    entry point's distribution (name, version, requires, summary)."""
    rows = []
    for ep in importlib_metadata.entry_points(group=group):
        dist = ep.dist
        try:
            meta = dist.metadata
        except UnicodeDecodeError:
            assert tmp_path is not None, "non-UTF-8 metadata outside the corpus"
            dist = reencoded(dist, tmp_path)
            meta = dist.metadata
        rows.append((ep.name, ep.value, meta.get("Name"), meta.get("Version"),
                     tuple(dist.requires or ()), meta.get("Summary") or "",
                     part(ep, "module"), part(ep, "attr")))
    return sorted(rows)


def our_rows(group: str, path: Optional[List[Path]] = None) -> List[Row]:
    found = list_installed_plugins(group, path=path)
    return sorted((p.name, p.value, p.dist_name, p.dist_version, p.requires, p.summary,
                   p.module, p.attr) for p in found)


# -- the corpus ----------------------------------------------------------------

def test_corpus_lists_as_importlib_metadata_lists_it(corpus: List[Path], search_path: Any,
                                                     tmp_path: Path) -> None:
    search_path(corpus)
    expected = importlib_rows(GROUP, tmp_path)
    assert len(expected) == 17  # every shape is in the comparison
    assert our_rows(GROUP) == expected  # scanned
    for top in corpus:
        if top.is_dir():
            age_tree(top)
    assert our_rows(GROUP) == expected  # scanned, and cached
    assert our_rows(GROUP) == expected  # from the cache
    assert our_rows(GROUP, corpus) == expected  # the same path given explicitly
    for entry in corpus:  # and each path entry alone, as distributions(path=[entry])
        search_path([entry])
        assert our_rows(GROUP, [entry]) == importlib_rows(GROUP, tmp_path), entry


def test_corpus_shapes_read_as_the_issue_asks(corpus: List[Path]) -> None:
    """Spot checks of the comparison above, so a change of importlib.metadata
    itself cannot hide a regression."""
    found = {p.name: p for p in list_installed_plugins(path=corpus)}
    assert found["ndlic"].requires[0] == "nitro-dispatch>=99"  # after the long License
    assert found["ndlic"].summary == "A plugin whose long License header hides nothing"
    assert "not-a-header-in-the-body" not in " ".join(found["ndlic"].requires)
    assert found["legacy"].requires == (
        "six>=1.10", "requests", 'importlib-metadata; python_version < "3.8"',
        'pytest; extra == "dev"', 'flake8>=3; extra == "dev"',
        'pywin32; (sys_platform == "win32") and extra == "test"',
        'ndurl @ https://example.invalid/ndurl-1.0.tar.gz ; extra == "url"')
    assert found["blackishd"].value == "blackishd:patched_main [d]"
    assert (found["ndblack"].module, found["ndblack"].attr) == ("nd_blackish.plugin", "Plugin")
    assert found["hatch_fast"].dist_name == "nd-hatch"
    assert found["twice"].dist_version == "2.0" and "only_old" not in found
    assert found["second"].location == str(corpus[1])
    assert found["develop"].requires == ("nitro-dispatch>=1.0", 'click; extra == "cli"')
    assert found["nd_egg"].location == str(corpus[3])
    assert found["nd_zipegg"].location == str(corpus[4])
    assert found["nd_zipegg"].requires == ("six", 'nd-hatch>=2; extra == "extra"')
    assert found["latin"].summary == "Caf\ufffd plugin"
    assert found["crlf"].requires == ("nd-legacy>=0.5",)
    assert found["renamed"].dist_name == "nd-really-renamed"


def test_every_group_of_this_environment_lists_as_importlib_metadata_lists_it() -> None:
    groups = importlib_metadata.entry_points().groups
    assert groups, "the test environment has entry points"
    for group in sorted(groups):
        assert our_rows(group) == importlib_rows(group), group


# -- a custom finder on sys.meta_path ------------------------------------------------

class MemoryDistribution(importlib_metadata.Distribution):
    """A distribution whose metadata lives in memory."""

    def __init__(self, files: dict) -> None:  # type: ignore[type-arg]
        self.files_ = files

    def read_text(self, filename: str) -> Optional[str]:
        return self.files_.get(filename)  # type: ignore[no-any-return]

    def locate_file(self, path: Any) -> Any:
        return Path("/memory") / path


class MemoryFinder(importlib_metadata.DistributionFinder):
    def __init__(self, dists: List[MemoryDistribution]) -> None:
        self.dists = dists

    def find_spec(self, *args: Any) -> None:
        return None

    def find_distributions(self, context: Any = None) -> List[MemoryDistribution]:
        name = getattr(context, "name", None)
        return [d for d in self.dists if name is None or d.metadata["Name"] == name]


def test_a_custom_finders_distributions_are_listed_and_discovered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_module(tmp_path, "ndtest_memory", (
        "from nitro_dispatch import PluginBase\n\n"
        "class MemoryPlugin(PluginBase):\n    name = 'memory'\n"))
    monkeypatch.syspath_prepend(str(tmp_path))
    finder = MemoryFinder([MemoryDistribution({
        "METADATA": "Metadata-Version: 2.1\nName: nd-memory\nVersion: 4.2\n"
                    "Summary: from a custom finder\n",
        "entry_points.txt": "[%s]\nmemory = ndtest_memory:MemoryPlugin\n" % GROUP})])
    monkeypatch.setattr(sys, "meta_path", [finder] + sys.meta_path)

    (found,) = [p for p in list_installed_plugins() if p.name == "memory"]
    assert (found.dist_name, found.dist_version, found.summary) == (
        "nd-memory", "4.2", "from a custom finder")
    assert [ep.name for ep in importlib_metadata.entry_points(group=GROUP)
            if ep.name == "memory"] == ["memory"]

    manager = PluginManager()
    assert "memory" in manager.discover_installed_plugins()
    manager.load("memory")
    assert manager.get_plugin("memory").version == "4.2"


class BrokenFinder(importlib_metadata.DistributionFinder):
    def find_spec(self, *args: Any) -> None:
        return None

    def find_distributions(self, context: Any = None) -> List[Any]:
        raise RuntimeError("this finder is broken")


def test_a_finder_that_raises_is_warned_about_and_skipped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    make_dist_info(tmp_path, "nd-ok", "1.0", {GROUP: {"ok": "ok:P"}})
    monkeypatch.setattr(sys, "meta_path", [BrokenFinder()] + sys.meta_path)
    with caplog.at_level("WARNING", logger="nitro_dispatch"):
        assert [p.name for p in list_installed_plugins(path=[tmp_path])] == ["ok"]
    assert "this finder is broken" in caplog.text


# -- one test per finding of the issue ------------------------------------------------

def plugin_dist(site: Path, name: str, metadata: str, plugin: str, *,
                egg_info: bool = False, requires_txt: Optional[str] = None) -> Path:
    """A plugin distribution with the exact METADATA/PKG-INFO text given,
    and an importable module for its plugin ``plugin``."""
    folder = make_dist_info(site, name, "1.0", {GROUP: {plugin: "ndtest_%s:P" % plugin}},
                            egg_info=egg_info)
    (folder / ("PKG-INFO" if egg_info else "METADATA")).write_text(metadata, encoding="utf-8")
    if requires_txt is not None:
        (folder / "requires.txt").write_text(requires_txt, encoding="utf-8")
    write_module(site, "ndtest_%s" % plugin, (
        "from nitro_dispatch import PluginBase\n\n"
        "class P(PluginBase):\n    name = %r\n" % plugin))
    return folder


def problems(manager: PluginManager) -> List[Tuple[Optional[str], str, str]]:
    return [(p.plugin, p.phase, p.message) for p in manager.get_problems()]


def check_static(site: Path) -> "subprocess.CompletedProcess[str]":
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(REPO_ROOT)]))
    return subprocess.run([sys.executable, "-m", "nitro_dispatch", "check", "--static"],
                          capture_output=True, text=True, env=env, timeout=120)


LICENSED = ("Metadata-Version: 2.1\nName: ndlic\nVersion: 1.0\nLicense: MIT License\n"
            "        \n        Copyright (c) 2024\nRequires-Dist: nitro-dispatch>=99\n")


def test_a_requirement_after_a_long_license_header_is_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's reproduction: the plugin is incompatible, never imported,
    and check --static says so."""
    plugin_dist(tmp_path, "ndlic", LICENSED, "ndlic")
    (found,) = list_installed_plugins(path=[tmp_path])
    assert found.requires == ("nitro-dispatch>=99",)
    assert importlib_metadata.distributions(path=[str(tmp_path)]).__next__().requires == [
        "nitro-dispatch>=99"]

    monkeypatch.syspath_prepend(str(tmp_path))
    manager = PluginManager()
    manager.discover_installed_plugins()
    assert manager.load_all() == []
    assert "ndtest_ndlic" not in sys.modules
    assert any(phase == "compatibility" and "requires nitro-dispatch>=99" in message
               for _, phase, message in problems(manager))
    proc = check_static(tmp_path)
    assert proc.returncode == 1 and "requires nitro-dispatch>=99" in proc.stdout, proc.stdout


def test_egg_info_requires_txt_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg_info = "Metadata-Version: 1.2\nName: nd-egg-needy\nVersion: 1.0\n"
    plugin_dist(tmp_path, "nd-egg-needy", pkg_info, "eggneedy", egg_info=True,
                requires_txt="nitro-dispatch>=99\n\n[dev]\nnd-not-needed\n\n"
                             "[:python_version >= \"3\"]\nnd-missing-marked\n")
    (found,) = list_installed_plugins(path=[tmp_path])
    assert found.requires == ("nitro-dispatch>=99", 'nd-not-needed; extra == "dev"',
                              'nd-missing-marked; python_version >= "3"')

    monkeypatch.syspath_prepend(str(tmp_path))
    manager = PluginManager()
    manager.discover_installed_plugins()
    assert manager.load_all() == []
    messages = " | ".join(message for _, _, message in problems(manager))
    assert "requires nitro-dispatch>=99" in messages
    assert "nd-missing-marked is not installed" in messages
    assert "nd-not-needed" not in messages  # a requirement of an extra


def test_extras_stay_in_entry_point_values(tmp_path: Path) -> None:
    make_dist_info(tmp_path, "nd-black", "24.1", {GROUP: {"blackd": "blackd:patched_main [d]"}})
    (found,) = list_installed_plugins(path=[tmp_path])
    assert (found.value, found.module, found.attr) == ("blackd:patched_main [d]", "blackd",
                                                       "patched_main")


def test_a_metadata_only_rewrite_is_seen_by_the_cache(tmp_path: Path) -> None:
    folder = make_dist_info(tmp_path, "nd-rewrite", "1.0", {GROUP: {"rw": "rw:P"}})
    age_tree(tmp_path)
    assert [p.dist_version for p in list_installed_plugins(path=[tmp_path])] == ["1.0"]
    assert [p.dist_version for p in list_installed_plugins(path=[tmp_path])] == ["1.0"]

    for version, summary in (("2.0", "same size"), ("2.0.1", "another size")):
        meta = folder / "METADATA"
        meta.write_text("Metadata-Version: 2.1\nName: nd-rewrite\nVersion: %s\nSummary: %s\n"
                        % (version, summary), encoding="utf-8")
        bump_mtime(meta)
        found = list_installed_plugins(path=[tmp_path])
        assert [(p.dist_version, p.summary) for p in found] == [(version, summary)]


HUGE = "1" * 4400  # past int()'s 4,300-digit limit: packaging raises ValueError


def test_a_version_past_the_digit_limit_is_that_distributions_invalid_metadata(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plugin_dist(tmp_path, "nd-huge", "Metadata-Version: 2.1\nName: nd-huge\nVersion: %s\n"
                % HUGE, "huge")
    plugin_dist(tmp_path, "nd-huge-spec", "Metadata-Version: 2.1\nName: nd-huge-spec\n"
                "Version: 1.0\nRequires-Dist: nd-fine>=%s\n" % HUGE, "hugespec")
    plugin_dist(tmp_path, "nd-fine", "Metadata-Version: 2.1\nName: nd-fine\nVersion: 1.0\n"
                "Requires-Dist: nd-huge>=1\n", "fine")
    monkeypatch.syspath_prepend(str(tmp_path))

    manager = PluginManager()
    assert sorted(manager.discover_installed_plugins()) == ["fine", "huge", "hugespec"]
    loaded = manager.load_all()
    assert "hugespec" in loaded and "huge" not in loaded
    found = problems(manager)
    assert any(plugin == "huge" and phase == "validation" and "not a valid PEP 440" in message
               and len(message) < 400 for plugin, phase, message in found), found
    assert any(plugin == "hugespec" and "malformed requirement" in message
               and len(message) < 400 for plugin, _, message in found), found
    assert all(len(message) < 400 for _, _, message in found), found
    proc = check_static(tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "not a valid PEP 440 version" in proc.stdout


def test_a_class_version_past_the_digit_limit_never_breaks_load_all() -> None:
    from nitro_dispatch import PluginBase

    class Huge(PluginBase):
        name = "ndhuge"
        version = HUGE  # a plain release, so registration takes it

    class Needs(PluginBase):
        name = "ndneeds"
        dependencies = ["ndhuge>=1"]

    class Alone(PluginBase):
        name = "ndalone"

    manager = PluginManager()
    for cls in (Huge, Needs, Alone):
        manager.register(cls)
    loaded = manager.load_all()
    assert "ndalone" in loaded and "ndhuge" in loaded and "ndneeds" not in loaded


def test_required_versions_are_the_version_headers_as_they_are_now(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A required distribution's version is its Version header, as
    importlib.metadata reads it (not its folder's name), and a rewrite of
    that header alone is seen by the next check."""
    plugin_dist(tmp_path, "nd-needs-host", "Metadata-Version: 2.1\nName: nd-needs-host\n"
                "Version: 1.0\nRequires-Dist: nd-the-host>=2\n", "needshost")
    host = make_dist_info(tmp_path, "nd-the-host", "9.9")  # the folder says 9.9
    meta = host / "METADATA"
    meta.write_text("Metadata-Version: 2.1\nName: nd-the-host\nVersion: 2.5\n", encoding="utf-8")
    age_tree(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))

    def verdict() -> List[str]:
        manager = PluginManager(host="nd-the-host")
        manager.discover_installed_plugins()
        return [message for _, _, message in problems(manager)]

    assert verdict() == []
    meta.write_text("Metadata-Version: 2.1\nName: nd-the-host\nVersion: 1.5\n", encoding="utf-8")
    bump_mtime(meta)
    assert verdict() == ["plugin 'needshost' (distribution nd-needs-host 1.0) requires "
                         "nd-the-host>=2, but nd-the-host 1.5 is installed"]
