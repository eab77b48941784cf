"""The metadata layer's tools (``nitro_dispatch._metadata``): one spelling of
canonical names, one bounded requirement-parse cache, verdicts instead of
exceptions for versions and specifiers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import List

import packaging.requirements
import pytest

from fixtures import GROUP, age_tree, make_dist_info
from venv_support import REPO_ROOT

from nitro_dispatch import _metadata
from nitro_dispatch._metadata import (BoundedCache, canonical_name, parse_requirement,
                                      plain_release, specifier_contains, version_problem)


def test_canonical_name_is_importlib_metadatas_normalized_name() -> None:
    import re

    def importlib_normalize(name: str) -> str:  # Prepared.normalize, written out
        return re.sub(r"[-_.]+", "-", name).lower().replace("-", "_")

    for name in ("Foo_Bar", "foo-bar", "foo.bar", "FOO--_.bar", "a", "nd.ns-a", "x__y"):
        assert canonical_name(name) == importlib_normalize(name), name
    assert canonical_name("Foo_Bar") == canonical_name("foo-bar") == "foo_bar"


def test_the_other_modules_use_the_one_canonical_name() -> None:
    from pathlib import Path

    import nitro_dispatch

    package = Path(nitro_dispatch.__file__).parent
    sources = {p.name: p.read_text(encoding="utf-8") for p in package.rglob("*.py")}
    assert [n for n, text in sources.items() if "def canonical_name" in text] == [
        "_metadata.py"]
    assert [n for n, text in sources.items() if "canonicalize_name" in text] == []


def test_bounded_cache_evicts_the_oldest_one_at_a_time() -> None:
    cache = BoundedCache(3)
    for key in "abcd":
        cache.put(key, key.upper())
    assert len(cache) == 3 and cache.get("a") is None and cache.get("d") == "D"
    cache.put("b", "again")  # a present key takes no room
    assert len(cache) == 3 and cache.get("b") == "again"


def test_module_caches_are_bounded() -> None:
    for cache in (_metadata._NAMES, _metadata._REQUIREMENTS, _metadata._VERSIONS,
                  _metadata._CONTAINS):
        assert isinstance(cache, BoundedCache) and 0 < cache.limit <= 100_000
    limit = _metadata._NAMES.limit
    for i in range(limit + 10):
        canonical_name("bounded-%d" % i)
    assert len(_metadata._NAMES) == limit


def test_requirements_are_parsed_once_by_packaging(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: List[str] = []
    real = packaging.requirements.Requirement

    class Counting(real):  # type: ignore[misc, valid-type]
        def __init__(self, text: str) -> None:
            calls.append(text)
            super().__init__(text)

    monkeypatch.setattr(packaging.requirements, "Requirement", Counting)
    monkeypatch.setattr(_metadata, "_REQUIREMENTS", BoundedCache(10))
    store = _metadata.VerdictStore()
    store.loaded = True  # nothing on disk
    monkeypatch.setattr(_metadata, "STORE", store)
    first = parse_requirement("Nd_Dep[extra]>=1.0,<2; python_version >= '3'")
    assert parse_requirement("Nd_Dep[extra]>=1.0,<2; python_version >= '3'") is first
    assert calls == ["Nd_Dep[extra]>=1.0,<2; python_version >= '3'"]
    assert (first.name, first.canonical, first.shown, first.active, first.error) == (
        "Nd_Dep", "nd_dep", "Nd_Dep<2,>=1.0", True, "")
    assert isinstance(first.requirement, real)
    assert store.recall("requirements", first.text) == [
        "Nd_Dep", "<2,>=1.0", 'python_version >= "3"', ""]


def test_a_warm_start_imports_no_packaging(tmp_path: Path) -> None:
    """The verdicts that depend on nothing but their strings are kept beside
    the listing's cache: the next process checks the same requirements
    (reading the host's version too) without importing packaging or a
    metadata parser (a marker would need packaging.markers)."""
    site = tmp_path / "site"
    folder = make_dist_info(site, "nd-warm", "1.0", {GROUP: {"warm": "ndtest_warm:P"}})
    (folder / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: nd-warm\nVersion: 1.0\n"
        "Requires-Dist: nitro-dispatch>=1.0\nRequires-Dist: nd-warm-host>=1,<3\n"
        "Requires-Dist: nd-absent\n", encoding="utf-8")
    make_dist_info(site, "nd-warm-host", "2.0")
    age_tree(site)
    code = textwrap.dedent("""
        import sys
        from nitro_dispatch import PluginManager
        manager = PluginManager(host="nd-warm-host")
        manager.discover_installed_plugins()
        print(sorted(p.phase for p in manager.get_problems()),
              any(m.startswith(("packaging", "importlib.metadata", "email"))
                  for m in sys.modules))
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(REPO_ROOT)]),
               NITRO_DISPATCH_CACHE_DIR=str(tmp_path / "cache"))
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=env, check=True).stdout.strip() for _ in range(2)]
    assert runs == ["['requirements'] True", "['requirements'] False"]


def test_requirement_verdicts() -> None:
    extra = parse_requirement('pytest; extra == "dev"')
    assert extra.active is False and extra.error == ""
    assert parse_requirement("x; python_version < '3'").active is False
    assert parse_requirement("x; no_such_variable == '1'").active is False
    bad = parse_requirement("not a requirement!")
    assert bad.requirement is None and bad.error and "\n" not in bad.error
    huge = parse_requirement("x>=" + "1" * 4400)  # packaging raises ValueError on use
    assert huge.requirement is None and "4300" in huge.error


def test_version_verdicts_never_raise() -> None:
    assert version_problem("1.0.0") is None and plain_release("1.0.0")
    assert version_problem("2.0rc1.post3.dev4+local.7") is None
    assert version_problem("1.0-weird-thing")
    huge = "1" * 4400
    assert not plain_release(huge)
    assert "4300" in (version_problem(huge) or "")
    assert specifier_contains(">=1", "2.0a1") is True  # pre-releases satisfy
    assert specifier_contains(">=1", "0.9") is False
    assert specifier_contains(">=1", huge) is False
    assert specifier_contains(">=1", "not a version") is False
