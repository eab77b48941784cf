"""Real virtual environments for tests that install distributions with pip.

Fixtures (import the ``*_fixture`` functions into a test module, or list
this module in the root conftest's ``pytest_plugins``):

``plugin_venv`` (session)
    A :class:`Venv` with this project and the sample plugins
    (``sample_plugins/*``) installed from copies of their source trees, as
    real (non-editable) installs.  It is built once per test process and
    shared: a test that installs something into it uninstalls it again.
``venv_factory`` (session)
    ``venv_factory(name, *project_dirs)`` builds another :class:`Venv` with
    those projects installed (``PROJECT`` stands for this project), for tests
    that need an environment of their own.
``project_factory`` (function)
    ``project_factory(dist_name, version, plugins, modules)`` writes a
    throw-away plugin distribution's source tree into ``tmp_path``, ready
    for :meth:`Venv.pip_install`; see :func:`make_plugin_project`.

Speed: the venv is created without pip (the test interpreter's own pip
installs into it through ``pip --python``, when that pip is 22.3 or later),
setuptools is installed once, and every project is then built without build
isolation, all in one pip call.  Building, not the venv, is the cost, so
this project and the sample plugins are built into wheels once per test
process (the first venv that installs one builds it) and every later venv
installs those wheel files: a real install of the same wheel pip would
build, without building it again.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Union

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_PLUGINS_DIR = REPO_ROOT / "sample_plugins"
SAMPLE_DISTS = ("nitro-welcome", "nitro-audit", "nitro-async-cache")
GROUP = "nitro_dispatch.plugins"
PROJECT = "PROJECT"  # stands for this project in install lists

_PROJECT_FILES = ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "setup.cfg",
                  "setup.py", "nitro_dispatch")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "build", "dist", "*.egg-info",
                                 ".tox", ".venv*")
_BUILD_REQUIREMENT = "setuptools>=77"  # SPDX license strings (PEP 639), its own bdist_wheel
_PIP_FLAGS = ("--disable-pip-version-check", "--no-input", "--progress-bar", "off")


class Venv:
    """A virtual environment and ways to run its Python and pip.

    Processes run with a clean environment (no ``PYTHONPATH``, no user
    site), in :attr:`work_dir`, an empty directory, so nothing is imported
    from the repository by accident, and with ``NITRO_DISPATCH_CACHE_DIR``
    set to :attr:`cache_dir`.
    """

    def __init__(self, root: Path, host_pip: bool) -> None:
        self.root = root
        bindir = "Scripts" if sys.platform == "win32" else "bin"
        self.python = root / bindir / ("python.exe" if sys.platform == "win32" else "python")
        self.work_dir = root / "work"
        self.cache_dir = root / "nitro-cache"
        self.work_dir.mkdir(exist_ok=True)
        self._host_pip = host_pip
        self._site_packages: Optional[Path] = None

    def __repr__(self) -> str:
        return "Venv(%r)" % (str(self.root),)

    # -- running Python ------------------------------------------------------

    def env(self, extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
        """The environment processes of this venv run with."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYTHON", "NITRO_DISPATCH_")) and k != "VIRTUAL_ENV"}
        env.update(PYTHONNOUSERSITE="1", PYTHONDONTWRITEBYTECODE="1",
                   NITRO_DISPATCH_CACHE_DIR=str(self.cache_dir), PYTHONIOENCODING="utf-8")
        if extra:
            env.update(extra)
        return env

    def run(self, code_or_args: Union[str, Sequence[str]], *, check: bool = True,
            env: Optional[Mapping[str, str]] = None, cwd: Optional[Path] = None,
            timeout: float = 120, input: Optional[str] = None
            ) -> "subprocess.CompletedProcess[str]":
        """Run this venv's Python: a string is code for ``-c``, a sequence is
        the argument list after the interpreter.  With ``check`` (default) a
        non-zero exit fails the test, showing both output streams."""
        if isinstance(code_or_args, str):
            args = [str(self.python), "-c", textwrap.dedent(code_or_args)]
        else:
            args = [str(self.python), *code_or_args]
        proc = subprocess.run(args, capture_output=True, text=True, env=self.env(env),
                              cwd=str(cwd or self.work_dir), timeout=timeout, input=input)
        if check and proc.returncode != 0:
            raise AssertionError("%s exited with %d\n--- stdout\n%s\n--- stderr\n%s"
                                 % (_describe(args), proc.returncode, proc.stdout, proc.stderr))
        return proc

    def run_json(self, code: str, **kwargs: Any) -> Any:
        """Run ``code`` and parse the last line it printed as JSON."""
        out = self.run(code, **kwargs).stdout.strip().splitlines()
        assert out, "the code printed nothing"
        return json.loads(out[-1])

    @property
    def site_packages(self) -> Path:
        """The venv's ``purelib`` directory."""
        if self._site_packages is None:
            out = self.run("import sysconfig; print(sysconfig.get_paths()['purelib'])")
            self._site_packages = Path(out.stdout.strip())
        return self._site_packages

    def list_plugins(self, group: str = GROUP) -> List[Dict[str, str]]:
        """``nitro_dispatch.list_installed_plugins(group)`` run in the venv,
        as a list of dicts."""
        return self.run_json(
            "import json, nitro_dispatch\n"
            "print(json.dumps([p.to_dict() for p in "
            "nitro_dispatch.list_installed_plugins(%r)]))" % (group,))

    # -- pip -------------------------------------------------------------------

    def pip(self, *args: str, check: bool = True) -> "subprocess.CompletedProcess[str]":
        """Run pip on this venv (the test interpreter's pip via ``--python``,
        or the venv's own)."""
        if self._host_pip:
            cmd = [sys.executable, "-m", "pip", "--python", str(self.python), *args]
        else:
            cmd = [str(self.python), "-m", "pip", *args]
        env = self.env()
        env.pop("NITRO_DISPATCH_CACHE_DIR")
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                              cwd=str(self.work_dir), timeout=600)
        if check and proc.returncode != 0:
            raise AssertionError("%s exited with %d\n--- stdout\n%s\n--- stderr\n%s"
                                 % (_describe(cmd), proc.returncode, proc.stdout, proc.stderr))
        return proc

    def pip_install(self, *paths: Union[str, Path], no_deps: bool = False,
                    upgrade: bool = False, extra_args: Iterable[str] = ()
                    ) -> "subprocess.CompletedProcess[str]":
        """Install projects (source directories, wheels, requirement strings)
        in one pip call, without build isolation (setuptools is in the venv).

        A source directory inside this repository is copied first, so builds
        never write into the work tree.
        """
        args = ["install", *_PIP_FLAGS, "--no-build-isolation"]
        if no_deps:
            args.append("--no-deps")
        if upgrade:
            args.append("--upgrade")
        args.extend(extra_args)
        self._build_repo_wheels(filter(None, map(_repo_source, paths)))
        args.extend(str(self._buildable(p)) for p in paths)
        return self.pip(*args)

    def pip_uninstall(self, *names: str) -> "subprocess.CompletedProcess[str]":
        """Uninstall distributions by name."""
        return self.pip("uninstall", "--yes", *_PIP_FLAGS[:2], *names)

    def installed_versions(self) -> Dict[str, str]:
        """Distribution name -> version of everything installed in the venv."""
        return self.run_json(
            "import json, importlib.metadata as m\n"
            "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))")

    def _buildable(self, path: Union[str, Path]) -> Union[str, Path]:
        """What pip is given for ``path``: a source tree of this repository
        as the wheel built from a copy of it (see :meth:`_build_repo_wheels`),
        any other path or requirement as it is."""
        source = _repo_source(path)
        if source is None:
            return path if isinstance(path, str) and not os.path.isdir(path) \
                else Path(path).resolve()
        self._build_repo_wheels([source])
        return _REPO_WHEELS[source]

    def _build_repo_wheels(self, sources: Iterable[Path]) -> None:
        """Build the wheels of the repository's source trees ``sources`` not
        built yet in this process, from copies, in one pip call."""
        todo: Dict[str, Path] = {}  # distribution file-name prefix -> source
        for source in sources:
            wheel = _REPO_WHEELS.get(source)
            if wheel is None or not wheel.exists():
                text = (source / "pyproject.toml").read_text(encoding="utf-8")
                name = re.search(r'^name\s*=\s*"([^"]+)"', text, re.M)
                assert name, "no project name in %s" % (source / "pyproject.toml",)
                todo[re.sub(r"[-_.]+", "_", name.group(1)).lower()] = source
        if not todo:
            return
        copies = []
        for source in todo.values():
            if source == REPO_ROOT:
                copies.append(copy_project(self.root / "src" / "nitro-dispatch"))
                continue
            dest = self.root / "src" / "-".join(source.relative_to(REPO_ROOT).parts)
            if dest.exists():
                shutil.rmtree(dest)
            copies.append(Path(shutil.copytree(source, dest, ignore=_IGNORE)))
        wheel_dir = self.root / "wheels"
        self.pip("wheel", *_PIP_FLAGS, "--no-build-isolation", "--no-deps",
                 "--wheel-dir", str(wheel_dir), *map(str, copies))
        for wheel in wheel_dir.glob("*.whl"):
            prefix = wheel.name.split("-")[0].lower()
            if prefix in todo:
                _REPO_WHEELS[todo.pop(prefix)] = wheel
        assert not todo, "pip built no wheel for %s" % (sorted(todo),)


# Source tree of this repository -> the wheel built from it in this process.
_REPO_WHEELS: Dict[Path, Path] = {}


def _repo_source(path: Union[str, Path]) -> Optional[Path]:
    """The source tree of this repository ``path`` names (``PROJECT``, the
    repository, a sample plugin), else None."""
    if path == PROJECT:
        return REPO_ROOT
    if isinstance(path, str) and not os.path.isdir(path):
        return None
    source = Path(path).resolve()
    if source != REPO_ROOT and REPO_ROOT not in source.parents:
        return None
    return source


def _describe(args: Sequence[str]) -> str:
    return " ".join(a if len(a) < 200 else a[:200] + "..." for a in args)


# -- building venvs and projects -------------------------------------------

def host_pip_usable() -> bool:
    """Whether the running interpreter's pip can install into another
    environment (``pip --python``, pip 22.3 or later)."""
    proc = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        return False
    try:
        major, minor = (int(x) for x in proc.stdout.split()[1].split(".")[:2])
    except (IndexError, ValueError):
        return False
    return (major, minor) >= (22, 3)


def create_venv(root: Path, install: Sequence[Union[str, Path]] = ()) -> Venv:
    """Create a venv in ``root`` (which must not exist or be empty), put
    setuptools in it, then install ``install`` in one pip call."""
    host_pip = host_pip_usable()
    args = [sys.executable, "-m", "venv"]
    if host_pip:
        args.append("--without-pip")
    subprocess.run([*args, str(root)], check=True, capture_output=True)
    venv = Venv(root, host_pip)
    venv.pip("install", *_PIP_FLAGS, _BUILD_REQUIREMENT)
    if install:
        venv.pip_install(*install)
    return venv


def copy_project(dest: Path) -> Path:
    """Copy what building this project needs into ``dest`` (so builds never
    write ``build/`` or ``*.egg-info`` into the work tree); return ``dest``."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in _PROJECT_FILES:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=_IGNORE)
        elif source.exists():
            shutil.copy2(source, dest / name)
    return dest


def sample_plugin_dirs() -> List[Path]:
    """The source trees of the sample plugin distributions."""
    return [SAMPLE_PLUGINS_DIR / name for name in SAMPLE_DISTS]


def make_project(directory: Path, files: Mapping[str, str]) -> Path:
    """Write ``files`` (relative path -> text, dedented) under ``directory``;
    return ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        target = directory / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text), encoding="utf-8")
    return directory


def plugin_project_files(dist_name: str, version: str, plugins: Mapping[str, str],
                         modules: Mapping[str, str], group: str = GROUP,
                         dependencies: Sequence[str] = ()) -> Dict[str, str]:
    """The files of a minimal setuptools project: distribution ``dist_name``
    ``version`` advertising ``plugins`` (entry-point name -> ``"module:attr"``)
    in ``group``, shipping ``modules`` (dotted module name -> source; packages
    get an empty ``__init__.py`` unless ``"pkg.__init__"`` is given)."""
    files: Dict[str, str] = {}
    packages = set()
    py_modules = []
    for module, source in modules.items():
        parts = module.split(".")
        if len(parts) == 1:
            py_modules.append(module)
            files[module + ".py"] = source
            continue
        for i in range(1, len(parts)):
            packages.add(".".join(parts[:i]))
            files.setdefault("/".join(parts[:i]) + "/__init__.py", "")
        files["/".join(parts) + ".py"] = source  # "pkg.__init__" gives the package's code
    eps = "\n".join("%s = %s" % (json.dumps(n), json.dumps(v)) for n, v in plugins.items())
    files["pyproject.toml"] = (
        '[build-system]\nrequires = ["setuptools>=64"]\n'
        'build-backend = "setuptools.build_meta"\n\n'
        "[project]\nname = %s\nversion = %s\ndependencies = %s\n\n"
        "[tool.setuptools]\npy-modules = %s\npackages = %s\n\n"
        "[project.entry-points.%s]\n%s\n"
        % (json.dumps(dist_name), json.dumps(version), json.dumps(list(dependencies)),
           json.dumps(sorted(py_modules)), json.dumps(sorted(packages)), json.dumps(group), eps))
    return files


def make_plugin_project(directory: Path, dist_name: str, version: str,
                        plugins: Mapping[str, str], modules: Mapping[str, str],
                        **kwargs: Any) -> Path:
    """Write a throw-away plugin distribution's source tree (see
    :func:`plugin_project_files`) into ``directory``; return it."""
    return make_project(directory, plugin_project_files(dist_name, version, plugins, modules,
                                                        **kwargs))


# -- fixtures ----------------------------------------------------------------

_SHARED: Dict[str, Venv] = {}


@pytest.fixture(scope="session", name="venv_factory")
def venv_factory_fixture(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Venv]:
    """``venv_factory(name, *projects) -> Venv``: a new venv with those
    projects installed (``PROJECT`` for this project)."""
    def create(name: str, *projects: Union[str, Path]) -> Venv:
        return create_venv(tmp_path_factory.mktemp(name), projects)

    return create


@pytest.fixture(scope="session", name="plugin_venv")
def plugin_venv_fixture(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """One venv per test process with this project and the sample plugins
    installed."""
    venv = _SHARED.get("plugin_venv")
    if venv is None:
        venv = create_venv(tmp_path_factory.mktemp("plugin-venv"),
                           [PROJECT, *sample_plugin_dirs()])
        _SHARED["plugin_venv"] = venv
    return venv


@pytest.fixture(name="project_factory")
def project_factory_fixture(tmp_path: Path) -> Callable[..., Path]:
    """``project_factory(dist_name, version, plugins, modules, **kw) -> Path``:
    a throw-away plugin distribution under ``tmp_path``."""
    def make(dist_name: str, version: str, plugins: Mapping[str, str],
             modules: Mapping[str, str], **kwargs: Any) -> Path:
        directory = tmp_path / ("%s-%s" % (dist_name, version))
        return make_plugin_project(directory, dist_name, version, plugins, modules, **kwargs)

    return make
