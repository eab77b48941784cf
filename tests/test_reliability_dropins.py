"""SPEC section 11: drop-in module names never collide; a file reached
through two names registers once; a file name with extra dots works."""

from __future__ import annotations

import os
import sys
import zlib
from pathlib import Path
from types import ModuleType
from typing import Dict, Tuple

import pytest

from nitro_dispatch import PluginManager
from nitro_dispatch._digest import blake2b
from nitro_dispatch._dropins import ROOT_PACKAGE

POSIX_ONLY = pytest.mark.skipif(os.name != "posix", reason="symbolic links")

PLUGIN_WITH_HELPER = '''\
from nitro_dispatch import PluginBase
from . import helpers


class Plugin(PluginBase):
    name = %r
    where = helpers.WHERE
'''


def drop(directory: Path, filename: str, plugin: str, where: str = "") -> Path:
    """A drop-in file whose plugin records what its relative import found."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "helpers.py").write_text("WHERE = %r\n" % (where or str(directory),))
    path = directory / filename
    path.write_text(PLUGIN_WITH_HELPER % (plugin,))
    return path


def crc32_twins(parent: Path) -> Tuple[Path, Path]:
    """Two directories named ``plugins`` under ``parent`` whose paths have
    equal CRC-32 (a birthday search over random middle names: about 2**16
    of them)."""
    seen: Dict[int, str] = {}
    while True:
        middle = os.urandom(8).hex()
        crc = zlib.crc32(os.path.join(str(parent), middle, "plugins").encode("utf-8"))
        other = seen.get(crc)
        if other is not None and other != middle:
            return parent / other / "plugins", parent / middle / "plugins"
        seen[crc] = middle


def test_directories_whose_crc32_collide_get_packages_of_their_own(tmp_path: Path) -> None:
    first, second = crc32_twins(tmp_path)
    assert zlib.crc32(str(first).encode()) == zlib.crc32(str(second).encode())
    drop(first, "one_plugin.py", "one")
    drop(second, "two_plugin.py", "two")

    manager = PluginManager()
    assert manager.discover_plugins(first) == ["one"]
    assert manager.discover_plugins(second) == ["two"]
    assert manager.get_problems() == []
    one, two = manager.get_plugin_class("one"), manager.get_plugin_class("two")
    # Each plugin's relative import found its own neighbour.
    assert (one.where, two.where) == (str(first), str(second))  # type: ignore[attr-defined]
    assert one.__module__.rpartition(".")[0] != two.__module__.rpartition(".")[0]


def test_a_package_name_taken_by_another_module_is_an_error(tmp_path: Path) -> None:
    directory = tmp_path / "dropins"
    drop(directory, "x_plugin.py", "x")
    real = os.path.realpath(directory)
    name = "%s.dropins_%s" % (ROOT_PACKAGE, blake2b(real.encode(), 16).hex())
    impostor = ModuleType(name)
    impostor.__path__ = [str(tmp_path / "elsewhere")]
    sys.modules[name] = impostor
    try:
        manager = PluginManager()
        assert manager.discover_plugins(directory) == []
        (problem,) = manager.get_problems()
        assert "x_plugin.py" in problem.message and "is taken by" in problem.message
    finally:
        del sys.modules[name]


@POSIX_ONLY
def test_a_file_reached_through_two_names_registers_once(tmp_path: Path) -> None:
    directory = tmp_path / "dropins"
    real = drop(directory, "real_plugin.py", "real")
    (directory / "alias_plugin.py").symlink_to(real.name)
    (directory / "zz_plugin.py").symlink_to(real)  # absolute this time

    manager = PluginManager()
    assert manager.discover_plugins(directory) == ["real"]
    assert manager.get_problems() == []
    assert manager.get_plugin_source("real").path == str(real)


@POSIX_ONLY
def test_a_file_linked_from_another_directory_registers_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    real = drop(home, "shared_plugin.py", "shared")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "linked_plugin.py").symlink_to(real)

    manager = PluginManager()
    assert manager.discover_plugins(elsewhere) == ["shared"]
    assert manager.discover_plugins(home) == []  # the very same file: nothing twice
    assert manager.get_problems() == []
    # It runs beside its real neighbours.
    assert manager.get_plugin_class("shared").where == str(home)  # type: ignore[attr-defined]


def test_file_names_with_extra_dots(tmp_path: Path) -> None:
    directory = tmp_path / "dropins"
    drop(directory, "my.extra_plugin.py", "dotted")
    (directory / "my_extra_plugin.py").write_text(
        "from nitro_dispatch import PluginBase\n\n\n"
        "class Plain(PluginBase):\n    name = 'plain'\n")

    manager = PluginManager()
    assert sorted(manager.discover_plugins(directory)) == ["dotted", "plain"]
    assert manager.get_problems() == []
    dotted = manager.get_plugin_class("dotted")
    plain = manager.get_plugin_class("plain")
    assert dotted.__module__ != plain.__module__
    package, _, leaf = dotted.__module__.rpartition(".")
    assert leaf.isidentifier() and leaf.startswith("my_extra_plugin_")
    assert package == plain.__module__.rpartition(".")[0]  # same directory, same package
    assert dotted.where == str(directory)  # type: ignore[attr-defined]

    # And it reloads from its file like any other drop-in.
    (directory / "my.extra_plugin.py").write_text(
        (PLUGIN_WITH_HELPER % ("dotted",)) + "    version = '2.0'\n")
    manager.load_all()
    manager.reload("dotted")
    assert manager.get_plugin_version("dotted") == "2.0"


def test_module_names_are_made_as_a_regex_would_make_them() -> None:
    # Package and module names replace what is not a word character by "_"
    # without importing re; every character, in every Unicode category,
    # must come out as re.sub(r"\W", "_", ...) would have it.
    import re

    from nitro_dispatch._dropins import _word_chars

    every = "".join(chr(i) for i in range(0x110000))
    assert _word_chars(every) == re.sub(r"\W", "_", every)
    for name in ["plugins", "my plugins", "my.extra", "ünïcode-dir", "", "x\udcff"]:
        assert _word_chars(name) == re.sub(r"\W", "_", name)
