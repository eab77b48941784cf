"""Install the sample distributions of ``sample_plugins/`` into the running
environment, for the documentation build (``tox -e docs``): the plugins
page lists them with the directives of ``nitro_dispatch.sphinxext``.

Each source tree is copied to a temporary folder and built there, so no
``build/`` or ``*.egg-info`` is written into the repository (a test run in
parallel watches for those).  nitro-dispatch itself must be installed
already: the samples require it.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_NOT_COPIED = shutil.ignore_patterns("__pycache__", "*.pyc", "build", "dist", "*.egg-info")


def main() -> int:
    samples = sorted(p for p in (ROOT / "sample_plugins").iterdir()
                     if (p / "pyproject.toml").is_file())
    with tempfile.TemporaryDirectory() as tmp:
        copies = []
        for sample in samples:
            dest = Path(tmp) / sample.name
            shutil.copytree(sample, dest, ignore=_NOT_COPIED)
            copies.append(str(dest))
        return subprocess.call([sys.executable, "-m", "pip", "install", "--quiet",
                                "--disable-pip-version-check", *copies])


if __name__ == "__main__":
    sys.exit(main())
