"""Packaging: the project and the sample plugins build with no deprecation
warnings, carry the MIT licence as an SPDX expression with its file, and
the sdist holds everything its tests need (so ``pytest`` runs in an
unpacked sdist) while the wheel holds the package only."""

from __future__ import annotations

import shutil
import tarfile
import zipfile
from pathlib import Path
from typing import Callable, List, Tuple

import pytest

import nitro_dispatch
from venv_support import SAMPLE_PLUGINS_DIR, SAMPLE_DISTS, Venv
from venv_support import venv_factory_fixture  # noqa: F401  (fixture)

REPO = Path(__file__).resolve().parent.parent
_SKIP = shutil.ignore_patterns(".git", ".tox", "build", "dist", "*.egg-info", "__pycache__",
                               "*.pyc", ".venv*", ".mypy_cache", ".pytest_cache", ".venvs")
BUILD = ("from setuptools import build_meta as backend\n"
         "sdist = backend.build_sdist('dist')\n"
         "wheel = backend.build_wheel('dist')\n"
         "print('BUILT', sdist, wheel)\n")


@pytest.fixture(scope="module")
def builder(venv_factory: Callable[..., Venv]) -> Venv:
    """A venv with the build requirement (setuptools>=77), nothing else."""
    return venv_factory("packaging")


def build(venv: Venv, source: Path, dest: Path, *, bytecode: bool = False
          ) -> Tuple[Path, Path, str]:
    """Copy ``source`` to ``dest``, build an sdist and a wheel there with the
    project's backend; return their paths and everything the build printed.
    ``bytecode``: put ``__pycache__`` files in the copy first, as a work tree
    has them after a test run."""
    shutil.copytree(source, dest, ignore=_SKIP)
    if bytecode:
        for folder in ("tests", "examples", "sample_plugins/nitro-welcome/src/nitro_welcome",
                       "docs", "nitro_dispatch"):
            cache = dest / folder / "__pycache__"
            cache.mkdir(exist_ok=True)
            (cache / "planted.cpython-311.pyc").write_bytes(b"\0" * 16)
        (dest / "tests" / "stray.pyc").write_bytes(b"\0" * 16)
    proc = venv.run(["-c", BUILD], cwd=dest, timeout=300)
    built = [line.split() for line in proc.stdout.splitlines() if line.startswith("BUILT ")]
    sdist_name, wheel_name = built[-1][1:]
    return dest / "dist" / sdist_name, dest / "dist" / wheel_name, proc.stdout + proc.stderr


def wheel_metadata(wheel: Path) -> Tuple[List[str], str]:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
        return names, archive.read(meta).decode("utf-8")


def project_files(root: Path, *dirs: str) -> List[str]:
    """Files under ``dirs`` of ``root`` that a source tree ships."""
    found = []
    for name in dirs:
        for path in (root / name).rglob("*"):
            rel = path.relative_to(root)
            if path.is_file() and not any(p == "__pycache__" or p.endswith(".egg-info")
                                          or p in ("build", "_build") for p in rel.parts):
                found.append(rel.as_posix())
    return sorted(found)


def test_project_builds_without_warnings_with_spdx_licence_and_urls(
        builder: Venv, tmp_path: Path) -> None:
    sdist, wheel, output = build(builder, REPO, tmp_path / "project")
    assert "deprecat" not in output.lower(), output
    assert "SetuptoolsWarning" not in output, output
    names, metadata = wheel_metadata(wheel)
    assert "License-Expression: MIT" in metadata.splitlines()
    assert "License-File: LICENSE" in metadata.splitlines()
    assert not any(line.startswith("Classifier: License ::") for line in metadata.splitlines())
    for label in ("Homepage", "Documentation", "Repository", "Issues"):
        assert any(line.startswith("Project-URL: %s, https://" % label)
                   for line in metadata.splitlines()), label
    dist_info = "nitro_dispatch-%s.dist-info" % (nitro_dispatch.__version__,)
    assert sdist.name == "nitro_dispatch-%s.tar.gz" % (nitro_dispatch.__version__,)
    assert dist_info + "/licenses/LICENSE" in names
    # The wheel is the package alone.
    assert {n.split("/")[0] for n in names} == {"nitro_dispatch", dist_info}
    assert "nitro_dispatch/py.typed" in names


def test_sdist_holds_everything_the_tests_need(builder: Venv, tmp_path: Path) -> None:
    sdist, _, _ = build(builder, REPO, tmp_path / "project", bytecode=True)
    with tarfile.open(sdist) as archive:
        top = archive.getnames()[0].split("/")[0]
        shipped = {n[len(top) + 1:] for n in archive.getnames()}
    needed = project_files(REPO, "tests", "examples", "sample_plugins", "nitro_dispatch", "docs")
    needed += ["LICENSE", "README.md", "pyproject.toml", "tox.ini", "toxfile.py", ".ci/run",
               "setup.cfg"]
    assert [f for f in needed if f not in shipped] == []
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in shipped)


@pytest.mark.parametrize("dist", SAMPLE_DISTS)
def test_sample_plugins_build_without_warnings_with_spdx_licence(
        builder: Venv, tmp_path: Path, dist: str) -> None:
    _, wheel, output = build(builder, SAMPLE_PLUGINS_DIR / dist, tmp_path / dist)
    assert "deprecat" not in output.lower(), output
    names, metadata = wheel_metadata(wheel)
    assert "License-Expression: MIT" in metadata.splitlines()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
