"""Listing installed plugins from distribution metadata (SPEC section 3,
PERFORMANCE.md scenario E): fake site directories for the details, a real
virtual environment for the end-to-end path."""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
import textwrap
import warnings
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

import fixtures
from fixtures import (GROUP, age, age_tree, bump_mtime, importlib_metadata, make_dist_info,
                      make_plugin_dist)
from nitro_dispatch import _cache
from nitro_dispatch._distributions import (InstalledPlugin, list_installed_plugins,
                                           load_entry_point)
from venv_support import plugin_venv_fixture  # noqa: F401  (provides plugin_venv)
from venv_support import REPO_ROOT, Venv, make_plugin_project

pytestmark = pytest.mark.usefixtures("cache_dir")  # every test: a cache of its own


@pytest.fixture
def site(tmp_path: Path) -> Path:
    directory = tmp_path / "site"
    directory.mkdir()
    return directory


def summary(plugins: List[InstalledPlugin]) -> List[Tuple[str, str, str, str]]:
    return [(p.name, p.value, p.dist_name, p.dist_version) for p in plugins]


def cache_files(cache_dir: Path) -> List[Path]:
    return sorted(cache_dir.glob("*.marshal")) if cache_dir.exists() else []


def read_doc(cache_file: Path) -> Any:
    doc = _cache.decode(cache_file.read_bytes())
    assert doc is not None, "not a cache file written whole by the library"
    return doc


def write_doc(cache_file: Path, doc: Any) -> None:
    """Doctor the cache as the library itself would write it (checked envelope)."""
    cache_file.write_bytes(_cache.encode(doc))


def site_dists(doc: Any, site: Path) -> Any:
    """The cached distributions of one path entry."""
    return doc["entries"][os.path.abspath(str(site))]["dists"]


# -- what is read -------------------------------------------------------------

def test_names_values_and_distributions_are_read(site: Path) -> None:
    make_plugin_dist(site, "nitro-welcome", "1.2.0", {"welcome": "nitro_welcome:WelcomePlugin"})
    make_plugin_dist(site, "Acme.Tools", "0.1.dev3", {"acme": "acme.plugins.core:Acme.Inner"})
    make_dist_info(site, "unrelated", "3.0", {"console_scripts": {"tool": "unrelated:main"}})
    make_dist_info(site, "bare", "1.0")

    found = list_installed_plugins(path=[site])

    assert summary(found) == [
        ("acme", "acme.plugins.core:Acme.Inner", "Acme.Tools", "0.1.dev3"),
        ("welcome", "nitro_welcome:WelcomePlugin", "nitro-welcome", "1.2.0"),
    ]
    acme = found[0]
    assert (acme.module, acme.attr, acme.group) == ("acme.plugins.core", "Acme.Inner", GROUP)
    assert acme.location == str(site)


def test_egg_info_directories_are_read(site: Path) -> None:
    make_plugin_dist(site, "legacy-plugin", "0.9", {"legacy": "legacy_mod:Plugin"},
                     egg_info=True)
    # A PKG-INFO style egg-info *file* is a distribution without entry points.
    (site / "oldstyle-1.0-py3.9.egg-info").write_text("Name: oldstyle\nVersion: 1.0\n")

    assert summary(list_installed_plugins(path=[site])) == [
        ("legacy", "legacy_mod:Plugin", "legacy-plugin", "0.9")]


def test_an_unzipped_egg_on_the_path_is_read(tmp_path: Path) -> None:
    egg = tmp_path / "eggy-2.0-py3.9.egg"
    make_dist_info(egg, "eggy", "2.0", {GROUP: {"eggy": "eggy:Plugin"}}, egg_info=True,
                   folder="EGG-INFO")

    assert summary(list_installed_plugins(path=[egg])) == [
        ("eggy", "eggy:Plugin", "eggy", "2.0")]


def test_zip_archives_on_the_path_are_read(tmp_path: Path) -> None:
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zipped-1.5.dist-info/METADATA", "Name: zipped\nVersion: 1.5\n\n")
        zf.writestr("zipped-1.5.dist-info/entry_points.txt",
                    "[%s]\nzipped = zipped_mod:Plugin\n" % GROUP)
        zf.writestr("zipped_mod.py", "Plugin = 1\n")
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not an archive")

    expected = [("zipped", "zipped_mod:Plugin", "zipped", "1.5")]
    assert summary(list_installed_plugins(path=[archive, text_file])) == expected
    assert summary(list_installed_plugins(path=[archive])) == expected  # from the cache


def test_metadata_without_name_falls_back_to_the_folder_name(site: Path) -> None:
    meta = make_plugin_dist(site, "nameless", "4.5", {"nl": "nl:Plugin"})
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nSummary: no name\n\n")

    assert summary(list_installed_plugins(path=[site])) == [("nl", "nl:Plugin", "nameless", "4.5")]


def test_path_entries_may_be_paths_relative_or_missing(site: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    make_plugin_dist(site, "here", "1.0", {"here": "here:P"})
    monkeypatch.chdir(site)

    for path in ([""], ["."], [Path(site)], [str(tmp_path / "missing"), str(site)]):
        found = list_installed_plugins(path=path)
        assert [(p.name, p.location) for p in found] == [("here", str(site))], path


def test_default_path_is_sys_path(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_plugin_dist(site, "on-sys-path", "1.0", {"onsyspath": "onsyspath:P"})
    monkeypatch.setattr(sys, "path", [str(site)])

    assert [p.name for p in list_installed_plugins()] == ["onsyspath"]


# -- which plugins are listed ----------------------------------------------------

def test_group_filtering(site: Path) -> None:
    make_dist_info(site, "multi", "1.0", {
        GROUP: {"mine": "multi.a:A"},
        "other.group": {"theirs": "multi.b:B"},
        "console_scripts": {"multi": "multi:main"},
    })
    make_dist_info(site, "mentions-group-in-a-value", "1.0",
                   {"console_scripts": {"x": "nitro_dispatch.plugins:main"}})

    assert [p.name for p in list_installed_plugins(path=[site])] == ["mine"]
    other = list_installed_plugins("other.group", path=[site])
    assert [(p.name, p.group) for p in other] == [("theirs", "other.group")]
    assert list_installed_plugins("no.such.group", path=[site]) == []


def test_same_distribution_on_two_path_entries_is_listed_once(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    make_plugin_dist(first, "Twice_Installed", "2.0", {"twice": "twice:New"})
    make_plugin_dist(second, "twice-installed", "1.0", {"twice": "twice:Old"})

    found = list_installed_plugins(path=[first, second])
    assert summary(found) == [("twice", "twice:New", "Twice_Installed", "2.0")]
    assert found[0].location == str(first)
    # Order decides, as on sys.path.
    assert summary(list_installed_plugins(path=[second, first])) == [
        ("twice", "twice:Old", "twice-installed", "1.0")]
    # The same directory listed twice on the path changes nothing.
    assert list_installed_plugins(path=[first, first, second]) == found


def test_first_occurrence_wins_even_without_plugins(tmp_path: Path) -> None:
    """As importlib.metadata: a distribution shadowed by an earlier copy on
    the path that advertises no plugin is not listed."""
    first, second = tmp_path / "first", tmp_path / "second"
    make_dist_info(first, "shadowed", "2.0")
    make_plugin_dist(second, "shadowed", "1.0", {"shadowed": "shadowed:P"})

    assert list_installed_plugins(path=[first, second]) == []


def test_two_versions_in_one_directory_are_listed_once(site: Path) -> None:
    make_plugin_dist(site, "dup", "1.0", {"dup": "dup:P"})
    make_plugin_dist(site, "dup", "2.0", {"dup": "dup:P"})

    assert len(list_installed_plugins(path=[site])) == 1


def test_two_distributions_claiming_one_name_are_both_listed(site: Path) -> None:
    make_plugin_dist(site, "zeta-auth", "1.0", {"auth": "zeta_auth:Auth"})
    make_plugin_dist(site, "alpha-auth", "2.0", {"auth": "alpha_auth:Auth"})
    make_plugin_dist(site, "beta", "1.0", {"beta": "beta:B"})

    assert summary(list_installed_plugins(path=[site])) == [
        ("auth", "alpha_auth:Auth", "alpha-auth", "2.0"),
        ("auth", "zeta_auth:Auth", "zeta-auth", "1.0"),
        ("beta", "beta:B", "beta", "1.0"),
    ]


def test_hand_made_entry_points_parse_as_importlib_metadata_parses_them(site: Path) -> None:
    """Comments, sections, spacing, extras and names repeated within one
    distribution: what importlib.metadata lists is listed, with the same
    values (issue 16)."""
    text = """\
# a comment
; not a comment for importlib.metadata: a name ";"-something in the group above
[other]
ignored = other:Thing

[nitro_dispatch.plugins]
good = good_mod:Good
  spaced   =   spaced.mod : Spaced
with_extras = extras_mod:Extra [fast, small]
module_only = some.module
; d = semi:Colon
digits = 1mod:Attr
good = good_mod:Duplicate
[ nitro_dispatch.plugins ]
in_spaced_section = mod:Ignored
[nitro_dispatch.plugins]
again = again_mod:Again
"""
    make_dist_info(site, "messy", "1.0", entry_points_text_override=text)

    found = list_installed_plugins(path=[site])

    expected = sorted((ep.name, ep.value)
                      for d in importlib_metadata.distributions(path=[str(site)])
                      for ep in d.entry_points if ep.group == GROUP)
    assert sorted((p.name, p.value) for p in found) == expected
    assert [(p.name, p.value, p.module, p.attr) for p in found] == [
        ("; d", "semi:Colon", "semi", "Colon"),
        ("again", "again_mod:Again", "again_mod", "Again"),
        ("digits", "1mod:Attr", "1mod", "Attr"),
        ("good", "good_mod:Good", "good_mod", "Good"),
        ("good", "good_mod:Duplicate", "good_mod", "Duplicate"),
        ("module_only", "some.module", "some.module", ""),
        ("spaced", "spaced.mod : Spaced", "spaced.mod", "Spaced"),
        ("with_extras", "extras_mod:Extra [fast, small]", "extras_mod", "Extra"),
    ]


def test_a_value_entry_point_cannot_parse_is_what_importlib_metadata_makes_of_it(
        site: Path, caplog: pytest.LogCaptureFixture) -> None:
    """``not-a-module:x`` is no object reference.  The importlib.metadata of
    Python 3.10 to 3.13 lists it (its ``module`` fails only when asked); the
    importlib_metadata backport nitro_dispatch reads with on 3.9 refuses the
    whole ``entry_points.txt``.  The listing follows whichever is in use:
    listed with empty ``module``/``attr`` (loading it is an ImportError that
    names the value), or the distribution's entry points skipped with a
    warning naming its folder; the other distribution is listed either way."""
    make_dist_info(site, "badref", "1.0", entry_points_text_override=(
        "[%s]\nbad_value = not-a-module:x\nfine_too = fine_mod:Fine\n" % GROUP))
    make_plugin_dist(site, "fine", "1.0", {"fine": "fine:P"})
    try:
        expected = sorted((ep.name, ep.value)
                          for d in importlib_metadata.distributions(path=[str(site)])
                          for ep in d.entry_points if ep.group == GROUP)
    except ValueError:  # the backport: the whole file is refused
        expected = [("fine", "fine:P")]
    with caplog.at_level("WARNING", logger="nitro_dispatch"):
        found = list_installed_plugins(path=[site])
    assert sorted((p.name, p.value) for p in found) == expected
    if ("bad_value", "not-a-module:x") in expected:
        (bad,) = [p for p in found if p.name == "bad_value"]
        assert (bad.module, bad.attr) == ("", "")
        with pytest.raises(ImportError, match="not-a-module:x"):
            load_entry_point(bad)
        assert not caplog.records
    else:
        (warning,) = [r.getMessage() for r in caplog.records]
        assert "badref-1.0.dist-info" in warning and "not-a-module:x" in warning


def test_entry_points_importlib_metadata_cannot_parse_are_skipped_with_a_warning(
        site: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A line without "=" in a section makes importlib.metadata raise for
    the whole environment; here that distribution's entry points are
    skipped, with a warning at every listing, and the others are listed."""
    make_dist_info(site, "broken", "1.0",
                   entry_points_text_override="[%s]\nno_equals_sign\n" % GROUP)
    make_plugin_dist(site, "fine", "1.0", {"fine": "fine:P"})
    age_tree(site)
    with pytest.raises(TypeError):
        [d.entry_points for d in importlib_metadata.distributions(path=[str(site)])]
    for _ in range(2):  # scanned, then cached
        caplog.clear()
        with caplog.at_level("WARNING", logger="nitro_dispatch"):
            assert [p.name for p in list_installed_plugins(path=[site])] == ["fine"]
        assert "broken-1.0.dist-info" in caplog.text and "does not parse" in caplog.text


def test_undecodable_entry_points_are_skipped(site: Path) -> None:
    meta = make_plugin_dist(site, "latin", "1.0", {"latin": "latin:P"})
    (meta / "entry_points.txt").write_bytes(b"[nitro_dispatch.plugins]\nlatin = l\xe4tin:P\n")
    make_plugin_dist(site, "fine", "1.0", {"fine": "fine:P"})

    assert [p.name for p in list_installed_plugins(path=[site])] == ["fine"]


# -- the record -----------------------------------------------------------------

def test_installed_plugin_record() -> None:
    a = InstalledPlugin("x", "pkg.mod:Cls.Inner", GROUP, "dist-x", "1.0", "/site")
    b = InstalledPlugin("x", "pkg.mod:Cls.Inner", GROUP, "dist-x", "1.0", "/site")
    c = InstalledPlugin("x", "pkg.mod:Cls.Inner", GROUP, "dist-x", "1.1", "/site")

    assert (a.module, a.attr) == ("pkg.mod", "Cls.Inner")
    assert a == b and hash(a) == hash(b) and a != c
    assert a != ("x",)
    assert eval(repr(a), {"InstalledPlugin": InstalledPlugin}) == a
    assert a.to_dict() == {"name": "x", "value": "pkg.mod:Cls.Inner", "module": "pkg.mod",
                           "attr": "Cls.Inner", "group": GROUP, "dist_name": "dist-x",
                           "dist_version": "1.0", "location": "/site", "requires": [],
                           "summary": ""}
    d = InstalledPlugin("x", "pkg.mod : Cls [fast, small]", GROUP, "dist-x", "1.0", "/site",
                        ["dep>=1"], "A summary.")
    assert (d.module, d.attr, d.requires, d.summary) == ("pkg.mod", "Cls", ("dep>=1",),
                                                         "A summary.")
    assert (d.to_dict()["requires"], d.to_dict()["summary"]) == (["dep>=1"], "A summary.")
    bad = InstalledPlugin("x", "not-a-module:x", GROUP, "dist-x", "1.0", "/site")
    assert (bad.module, bad.attr) == ("", "")  # importlib.metadata's EntryPoint cannot parse it
    with pytest.raises(AttributeError):
        a.extra = 1  # type: ignore[attr-defined]


# -- loading, and not loading -------------------------------------------------------

def test_listing_imports_nothing_and_load_entry_point_imports(
        site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_plugin_dist(site, "loadable", "1.0", {
        "cls": "loadable_pkg.plugins:Outer.Inner",
        "mod": "loadable_pkg.plugins",
    })
    make_plugin_dist(site, "broken", "1.0", {"missing": "no_such_module_xyz:P",
                                             "noattr": "loadable_pkg.plugins:Nope"})
    fixtures.write_module(site, "loadable_pkg.plugins",
                          "class Outer:\n    class Inner:\n        pass\n")
    monkeypatch.syspath_prepend(str(site))
    for name in ("loadable_pkg", "loadable_pkg.plugins"):
        monkeypatch.delitem(sys.modules, name, raising=False)

    found = {p.name: p for p in list_installed_plugins(path=[site])}
    assert "loadable_pkg" not in sys.modules

    inner = load_entry_point(found["cls"])
    assert inner.__qualname__ == "Outer.Inner"
    assert load_entry_point(found["mod"]) is sys.modules["loadable_pkg.plugins"]
    with pytest.raises(ModuleNotFoundError):
        load_entry_point(found["missing"])
    with pytest.raises(AttributeError):
        load_entry_point(found["noattr"])


def test_importing_and_listing_stay_light(site: Path, cache_dir: Path) -> None:
    """Importing the module imports no parser; a listing that must parse
    uses importlib.metadata's; a repeated listing (in a new process, from
    the cache) imports neither importlib.metadata, email nor packaging."""
    make_plugin_dist(site, "light", "1.0", {"light": "light:P"})
    age_tree(site)
    code = textwrap.dedent("""
        import sys
        sys.path.insert(0, %r)
        import nitro_dispatch._distributions as d
        heavy = ("importlib.metadata", "email", "packaging")
        after_import = any(m in sys.modules for m in heavy)
        names = [p.name for p in d.list_installed_plugins(path=[%r])]
        print(after_import, any(m in sys.modules for m in heavy), *names)
    """) % (str(REPO_ROOT), str(site))
    env = dict(os.environ, PYTHONPATH="", NITRO_DISPATCH_CACHE_DIR=str(cache_dir))
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env=env)
    assert first.stdout.split() == ["False", "True", "light"]
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env=env)
    assert again.stdout.split() == ["False", "False", "light"]


# -- the cache ---------------------------------------------------------------------

def test_repeated_listing_comes_from_the_cache(site: Path, cache_dir: Path) -> None:
    make_plugin_dist(site, "cached", "1.0", {"cached": "cached:P"})
    age_tree(site)

    first = list_installed_plugins(path=[site])
    files = cache_files(cache_dir)
    assert len(files) == 1
    assert list_installed_plugins(path=[site]) == first

    # Prove the second listing read the cache: doctor it, and see the change.
    doc = read_doc(files[0])
    site_dists(doc, site)[0][4][4][0][0] = "from-the-cache"
    write_doc(files[0], doc)
    assert [p.name for p in list_installed_plugins(path=[site])] == ["from-the-cache"]


def test_cache_is_kept_per_group(site: Path) -> None:
    make_dist_info(site, "both", "1.0", {GROUP: {"a": "a:A"}, "other": {"b": "b:B"}})
    age_tree(site)

    for _ in range(2):
        assert [p.name for p in list_installed_plugins(path=[site])] == ["a"]
        assert [p.name for p in list_installed_plugins("other", path=[site])] == ["b"]


def test_no_cache_setting(site: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_plugin_dist(site, "real", "1.0", {"real": "real:P"})
    age_tree(site)
    list_installed_plugins(path=[site])
    (cache_file,) = cache_files(cache_dir)
    doc = read_doc(cache_file)
    site_dists(doc, site)[0][4][4][0][0] = "doctored"
    write_doc(cache_file, doc)
    assert [p.name for p in list_installed_plugins(path=[site])] == ["doctored"]

    monkeypatch.setenv("NITRO_DISPATCH_NO_CACHE", "1")
    assert [p.name for p in list_installed_plugins(path=[site])] == ["real"]
    cache_file.unlink()
    list_installed_plugins(path=[site])
    assert cache_files(cache_dir) == []  # nothing written either


def test_install_uninstall_and_upgrade_are_seen_at_once(site: Path) -> None:
    make_plugin_dist(site, "base", "1.0", {"base": "base:P"})
    age_tree(site)
    assert [p.name for p in list_installed_plugins(path=[site])] == ["base"]

    # A real creation, no timestamps touched: the directory's mtime moves.
    added = make_plugin_dist(site, "added", "1.0", {"added": "added:P"})
    assert [p.name for p in list_installed_plugins(path=[site])] == ["added", "base"]

    # Uninstall.
    for child in added.iterdir():
        child.unlink()
    added.rmdir()
    age(site, 30)
    assert [p.name for p in list_installed_plugins(path=[site])] == ["base"]

    # Upgrade: the old folder goes, a new one comes.
    old = site / fixtures.dist_folder_name("base", "1.0")
    for child in old.iterdir():
        child.unlink()
    old.rmdir()
    make_plugin_dist(site, "base", "2.0", {"base": "base:P"})
    age_tree(site, 20)
    assert summary(list_installed_plugins(path=[site])) == [("base", "base:P", "base", "2.0")]


def test_in_place_rewrite_of_entry_points_is_seen(site: Path) -> None:
    """An editable re-install may rewrite entry_points.txt inside an existing
    folder: the directory's mtime does not move, the file's does."""
    meta = make_plugin_dist(site, "editable", "1.0", {"old": "editable:Old"})
    plain = make_dist_info(site, "plain", "1.0", {"console_scripts": {"p": "plain:main"}})
    nothing = make_dist_info(site, "nothing", "1.0")
    age_tree(site)
    assert [p.name for p in list_installed_plugins(path=[site])] == ["old"]

    site_mtime = os.stat(site).st_mtime_ns
    (meta / "entry_points.txt").write_text("[%s]\nnew = editable:New\n" % GROUP)
    assert [p.name for p in list_installed_plugins(path=[site])] == ["new"]

    # A distribution without plugins gains some, in place.
    (plain / "entry_points.txt").write_text("[%s]\nplain = plain:P\n" % GROUP)
    age_tree(site)
    assert [p.name for p in list_installed_plugins(path=[site])] == ["new", "plain"]

    # A distribution without entry_points.txt gets one.
    (nothing / "entry_points.txt").write_text("[%s]\nnothing = nothing:P\n" % GROUP)
    age(nothing / "entry_points.txt", 120)
    bump_mtime(nothing)
    os.utime(site, ns=(site_mtime, site_mtime))
    assert [p.name for p in list_installed_plugins(path=[site])] == ["new", "nothing", "plain"]
    assert os.stat(site).st_mtime_ns == site_mtime


def test_recently_changed_directories_are_not_cached(site: Path, cache_dir: Path) -> None:
    """A change within one timestamp tick of a scan could keep the mtime the
    scan saw, so a scan of a directory changed just now is not cached."""
    make_plugin_dist(site, "fresh", "1.0", {"fresh": "fresh:P"})
    assert [p.name for p in list_installed_plugins(path=[site])] == ["fresh"]
    assert cache_files(cache_dir) == []

    # Same tick: a new folder, and the directory's mtime as the scan saw it.
    mtime = os.stat(site).st_mtime_ns
    make_plugin_dist(site, "same-tick", "1.0", {"same_tick": "same_tick:P"})
    os.utime(site, ns=(mtime, mtime))
    assert [p.name for p in list_installed_plugins(path=[site])] == ["fresh", "same_tick"]

    age_tree(site)
    list_installed_plugins(path=[site])
    assert len(cache_files(cache_dir)) == 1


@pytest.mark.parametrize("content", [
    b"", b"\x00\xff garbage", b"{not marshal", marshal.dumps([]),
    marshal.dumps({"format": 1}),
    marshal.dumps({"format": 2, "group": "elsewhere", "entries": {}}),
    marshal.dumps({"format": 2, "group": GROUP, "entries": []}),
    b'{"format": 1, "path": "/elsewhere", "group": "g", "stat": [], "dists": []}',
])
def test_corrupt_cache_is_ignored_and_replaced(site: Path, cache_dir: Path,
                                               content: bytes) -> None:
    make_plugin_dist(site, "sturdy", "1.0", {"sturdy": "sturdy:P"})
    age_tree(site)
    expected = list_installed_plugins(path=[site])
    (cache_file,) = cache_files(cache_dir)

    cache_file.write_bytes(content)
    assert list_installed_plugins(path=[site]) == expected
    assert site_dists(read_doc(cache_file), site)[0][0] == "sturdy"  # rewritten


@pytest.mark.parametrize("relative_stat", [True, False], ids=["stat-at", "stat-joined"])
def test_structurally_wrong_cache_is_ignored(site: Path, cache_dir: Path, relative_stat: bool,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # Both ways of checking a record's files: relative to a descriptor of
    # the directory (POSIX), and by joined paths (where that is missing).
    from nitro_dispatch import _distributions
    monkeypatch.setattr(_distributions, "_AT", relative_stat and _distributions._AT)
    make_plugin_dist(site, "sturdy", "1.0", {"sturdy": "sturdy:P"})
    age_tree(site)
    expected = list_installed_plugins(path=[site])
    (cache_file,) = cache_files(cache_dir)
    good = read_doc(cache_file)
    record = site_dists(good, site)

    def doctored(change: Any) -> Dict[str, Any]:
        doc = marshal.loads(marshal.dumps(good))
        change(site_dists(doc, site))
        return doc  # type: ignore[no-any-return]

    def no_dists(doc: Any) -> Any:
        doc["entries"][os.path.abspath(str(site))]["dists"] = None
        return doc

    assert record[0][0] == "sturdy"
    variants = [
        doctored(lambda d: d.__setitem__(0, [1, 2])),
        doctored(lambda d: d[0].__setitem__(0, ["not", "a", "name"])),
        doctored(lambda d: d[0][4].__setitem__(4, [[1, 2]])),
        doctored(lambda d: d[0].__setitem__(4, ["sturdy"])),
        doctored(lambda d: d[0].__setitem__(5, 42)),
        doctored(lambda d: d[0].__setitem__(2, [["x", 1.5, 0, 0]])),
        doctored(lambda d: d[0].__setitem__(1, 42)),
        no_dists(marshal.loads(marshal.dumps(good))),
    ]
    # A file name that is not a string: os.stat would take an int for a
    # descriptor, raising OverflowError for one out of range and warning for
    # a bool (found by the fuzzer, tests/test_reliability_cache_fuzz.py).
    for rel in [2 ** 70, -2 ** 70, 2 ** 40, 7, -1, True, None, 1.5, b"x", "a\0", ("x",), {}]:
        variants.append(doctored(lambda d, rel=rel: d[0].__setitem__(2, [[rel, 0, 0, 0]])))
        variants.append(doctored(lambda d, rel=rel: d[0][2].insert(0, [rel, 0, 0, 0])))
    variants += [doctored(lambda d, row=row: d[0].__setitem__(2, [row]))
                 for row in [[], ["x"], {"a": 1, "b": 2, "c": 3, "d": 4}, "abcd", 2 ** 70]]
    for doc in variants:
        write_doc(cache_file, doc)
        with warnings.catch_warnings():  # nor a warning (3.12: "bool is used as a file descriptor")
            warnings.simplefilter("error")
            assert list_installed_plugins(path=[site]) == expected, doc


def test_unwritable_cache_never_breaks_listing(site: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    make_plugin_dist(site, "sturdy", "1.0", {"sturdy": "sturdy:P"})
    age_tree(site)
    blocker = tmp_path / "a-file"
    blocker.write_text("the cache directory cannot be created below a file")
    monkeypatch.setenv("NITRO_DISPATCH_CACHE_DIR", str(blocker / "cache"))

    for _ in range(2):
        assert [p.name for p in list_installed_plugins(path=[site])] == ["sturdy"]


def test_cache_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NITRO_DISPATCH_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(sys, "platform", "linux")
    assert _cache.cache_dir() == str(tmp_path / "xdg" / "nitro_dispatch")

    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    assert _cache.cache_dir() == str(tmp_path / "home" / ".cache" / "nitro_dispatch")

    monkeypatch.setenv("NITRO_DISPATCH_CACHE_DIR", str(tmp_path / "mine"))
    assert _cache.cache_dir() == str(tmp_path / "mine")

    monkeypatch.setenv("NITRO_DISPATCH_NO_CACHE", "0")
    assert _cache.cache_dir() == str(tmp_path / "mine")
    monkeypatch.setenv("NITRO_DISPATCH_NO_CACHE", "1")
    assert _cache.cache_dir() is None


# -- a real virtual environment -------------------------------------------------------

LIST_AND_CHECK_IMPORTS = """
    import json, sys
    import nitro_dispatch
    plugins = nitro_dispatch.list_installed_plugins()
    samples = ("nitro_welcome", "nitro_audit", "nitro_async_cache")
    imported_after_listing = sorted(m for m in sys.modules if m.split(".")[0] in samples)
    from nitro_dispatch._distributions import load_entry_point
    welcome = [p for p in plugins if p.name == "welcome"][0]
    cls = load_entry_point(welcome)
    print(json.dumps({
        "plugins": [p.to_dict() for p in plugins],
        "imported_after_listing": imported_after_listing,
        "imported_after_load": sorted(m for m in sys.modules if m.split(".")[0] in samples),
        "loaded": cls.__module__ + ":" + cls.__qualname__,
        "package": nitro_dispatch.__file__,
    }))
"""


def test_real_venv_lists_sample_plugins_without_importing_them(plugin_venv: Venv) -> None:
    out = plugin_venv.run_json(LIST_AND_CHECK_IMPORTS)

    site_packages = str(plugin_venv.site_packages)
    assert [(p["name"], p["value"], p["dist_name"], p["dist_version"], p["location"])
            for p in out["plugins"]] == [
        ("audit", "nitro_audit:AuditPlugin", "nitro-audit", "1.0.0", site_packages),
        ("cache", "nitro_async_cache:CachePlugin", "nitro-async-cache", "0.3.0", site_packages),
        ("welcome", "nitro_welcome:WelcomePlugin", "nitro-welcome", "1.2.0", site_packages),
    ]
    assert out["imported_after_listing"] == []
    # The check above can fail: loading one does import it.
    assert out["imported_after_load"] == ["nitro_welcome"]
    assert out["loaded"] == "nitro_welcome:WelcomePlugin"
    assert out["package"].startswith(site_packages)


def test_real_venv_sees_pip_install_upgrade_and_uninstall(plugin_venv: Venv,
                                                          tmp_path: Path) -> None:
    def project(version: str) -> Path:
        return make_plugin_project(
            tmp_path / ("v" + version), "nitro-throwaway", version,
            {"throwaway": "nitro_throwaway:Plugin"},
            {"nitro_throwaway": "VERSION = %r\nclass Plugin:\n    pass\n" % version})

    def listed() -> List[Tuple[str, str]]:
        return [(p["name"], p["dist_version"]) for p in plugin_venv.list_plugins()]

    samples = [("audit", "1.0.0"), ("cache", "0.3.0"), ("welcome", "1.2.0")]
    # Let the cache trust site-packages, so what follows runs against a cache.
    age(plugin_venv.site_packages, 60)
    assert listed() == samples
    assert list(plugin_venv.cache_dir.glob("*.marshal")), "the listing wrote no cache"

    try:
        plugin_venv.pip_install(project("1.0"), no_deps=True)
        assert listed() == [samples[0], samples[1], ("throwaway", "1.0"), samples[2]]
        plugin_venv.pip_install(project("2.0"), no_deps=True)
        assert listed() == [samples[0], samples[1], ("throwaway", "2.0"), samples[2]]
    finally:
        plugin_venv.pip_uninstall("nitro-throwaway")
    assert listed() == samples
