"""The README's first command: ``python examples/demo.py``.

Creates a fresh virtual environment, builds wheels of nitro_dispatch and of
the sample distributions of ``sample_plugins/`` into a local wheelhouse,
pip-installs nitro_dispatch and the demo application's event declarations
from it, installs the sample plugins by name from the same wheelhouse with
``nitro-dispatch install --no-index --find-links WHEELHOUSE`` (as an end
user installs from an index: checked before pip installs anything), and
runs ``examples/demo_app.py`` there: an application that lists the
installed plugins (reading metadata only), loads them in dependency order
and triggers events.  Then it runs the ``nitro-dispatch`` command of that
environment: list, graph, check, info, events, and an uninstall that is
refused because another plugin needs what it would remove.  Needs only
Python and pip (and PyPI for ``packaging`` and setuptools); the environment
is deleted afterwards unless ``--keep`` is given.

Decisions: the wheels are built once, without build isolation, by the
setuptools installed in the demo's environment (one build backend instead
of one isolated build environment per project, so the demo takes about 15
seconds rather than 30); the source trees are copied into the temporary
directory first, so no ``build/`` or ``*.egg-info`` is left in the
repository or in ``sample_plugins/``.  The plugins are installed with
``--no-index``: names such as ``nitro-welcome`` might exist on PyPI, and
the demo must install these (nitro-dispatch and the events are installed
from their wheel files, so only ``packaging`` comes from an index).  The
samples require ``nitro-dispatch>=1.3``, which no index needs to provide:
the wheelhouse has this repository's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted(p for p in (ROOT / "sample_plugins").iterdir() if (p / "pyproject.toml").exists())
# What building nitro_dispatch needs, copied out of the work tree first.
PROJECT_FILES = ["pyproject.toml", "README.md", "LICENSE", "setup.cfg", "nitro_dispatch"]
_NOT_COPIED = shutil.ignore_patterns("__pycache__", "*.pyc", "build", "dist", "*.egg-info")
# Installed with pip as the application would be; the other samples are
# plugins, installed with ``nitro-dispatch install``.
APPLICATION = ("nitro-demo-events",)
# Builds every wheel of the demo (the projects require setuptools>=77).
BUILD_BACKEND = "setuptools>=77"


def copy_sources(dest: Path) -> List[Path]:
    """Copy nitro_dispatch and the sample plugins into ``dest``, where pip
    builds them (so nothing is written into the repository); return the
    copies, nitro_dispatch first."""
    project = dest / "nitro-dispatch"
    project.mkdir(parents=True)
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=_NOT_COPIED)
        elif source.exists():
            shutil.copy2(source, project / name)
    copies = [project]
    for sample in SAMPLES:
        copies.append(Path(shutil.copytree(sample, dest / sample.name, ignore=_NOT_COPIED)))
    return copies


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python examples/demo.py",
        description="Create a fresh virtual environment, pip-install nitro_dispatch into it, "
                    "install the sample plugin distributions of sample_plugins/ by name from "
                    "a local wheelhouse with nitro-dispatch install, run an "
                    "application that lists, loads and triggers them, then the "
                    "nitro-dispatch command's install, list, graph, check, info, events "
                    "and uninstall.")
    parser.add_argument("--keep", action="store_true",
                        help="keep the virtual environment afterwards and print where it is")
    return parser.parse_args(argv)


def run(args: List[str], title: str, status: int = 0) -> None:
    """Show and run a command; it must exit with ``status``."""
    print("\n$ %s   # %s" % (" ".join(Path(a).name if os.sep in a else a for a in args), title),
          flush=True)
    proc = subprocess.run(args)
    if proc.returncode != status:
        raise subprocess.CalledProcessError(proc.returncode, args)


def main(argv: Optional[List[str]] = None) -> int:
    keep = parse_args(argv).keep
    home = Path(tempfile.mkdtemp(prefix="nitro-demo-"))
    try:
        print("Creating a virtual environment in %s ..." % home, flush=True)
        venv.create(home, with_pip=True)
        bindir = home / ("Scripts" if os.name == "nt" else "bin")
        python = str(bindir / "python")
        sources = copy_sources(home / "src")
        wheels = home / "wheels"
        pip = [python, "-m", "pip", "--disable-pip-version-check"]
        print("Building wheels of nitro-dispatch and the samples into %s" % wheels, flush=True)
        subprocess.run(pip + ["install", "--quiet", BUILD_BACKEND], check=True)
        subprocess.run(pip + ["wheel", "--quiet", "--no-deps", "--no-build-isolation",
                              "--wheel-dir", str(wheels)] + [str(p) for p in sources],
                       check=True)
        names = [p.name for p in sources[1:] if p.name not in APPLICATION]
        print("Installing nitro-dispatch and the application's events (%s)"
              % ", ".join(APPLICATION), flush=True)
        # Each copy's folder is named after its distribution; its wheel file is
        # installed (not the name: an index could offer another of that name).
        own = [str(w) for p in sources if p.name not in names
               for w in wheels.glob(p.name.replace("-", "_") + "-*.whl")]
        subprocess.run(pip + ["install", "--quiet"] + own, check=True)
        cli = str(bindir / "nitro-dispatch")
        run([cli, "install", "--quiet", "--no-index", "--find-links", str(wheels)] + names,
            "install the sample plugins, checked before pip installs them")
        run([python, str(ROOT / "examples" / "demo_app.py")], "the application")
        run([cli, "list"], "what is installed, without importing it")
        run([cli, "graph"], "how the plugins fit together (Mermaid; --format dot for Graphviz)")
        run([cli, "check"], "import, validate and resolve every plugin")
        run([cli, "info", "audit"], "one plugin in detail")
        run([cli, "events"], "the declared events and the plugins that hook them")
        run([cli, "uninstall", "welcome"], "refused: the audit plugin needs it", status=1)
    except subprocess.CalledProcessError as exc:
        print("demo failed: %s exited with %s" % (exc.cmd[0], exc.returncode), file=sys.stderr)
        return 1
    finally:
        if keep:
            print("\nThe environment stays in %s" % home)
        else:
            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
