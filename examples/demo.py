"""The README's first command: ``python examples/demo.py``.

Creates a fresh virtual environment, pip-installs nitro_dispatch and the
sample plugins of ``sample_plugins/`` into it as real distributions, and
runs ``examples/demo_app.py`` there: an application that lists the
installed plugins (reading metadata only), loads them in dependency order
and triggers events.  Then it runs the ``nitro-dispatch`` command of that
environment.  Needs only Python and pip (and PyPI for ``packaging`` and
setuptools); the environment is deleted afterwards unless ``--keep`` is
given.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path
from typing import List

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted(p for p in (ROOT / "sample_plugins").iterdir() if (p / "pyproject.toml").exists())


def run(args: List[str], title: str) -> None:
    print("\n$ %s   # %s" % (" ".join(Path(a).name if os.sep in a else a for a in args), title),
          flush=True)
    subprocess.run(args, check=True)


def main() -> int:
    keep = "--keep" in sys.argv[1:]
    home = Path(tempfile.mkdtemp(prefix="nitro-demo-"))
    try:
        print("Creating a virtual environment in %s ..." % home, flush=True)
        venv.create(home, with_pip=True)
        bindir = home / ("Scripts" if os.name == "nt" else "bin")
        python = str(bindir / "python")
        print("Installing nitro-dispatch and %d sample distributions: %s"
              % (len(SAMPLES), ", ".join(p.name for p in SAMPLES)), flush=True)
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        str(ROOT)] + [str(p) for p in SAMPLES], check=True)
        run([python, str(ROOT / "examples" / "demo_app.py")], "the application")
        cli = str(bindir / "nitro-dispatch")
        run([cli, "list"], "what is installed, without importing it")
        run([cli, "check"], "import, validate and resolve every plugin")
        run([cli, "info", "audit"], "one plugin in detail")
        run([cli, "events"], "the declared events and the plugins that hook them")
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
