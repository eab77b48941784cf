"""The README's examples type-check for users: ``mypy --strict`` on the
README's python code blocks, joined in order into one module as a reader
would paste them (the same file tests/test_docs.py runs), with this
package on the path.  mypy comes with the ``test`` extra."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def readme_module() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 3
    return "\n\n".join(blocks)


def run_mypy(tmp_path: Path, source: str,
             cache: Path) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    (tmp_path / "readme_examples.py").write_text(source, encoding="utf-8")
    (tmp_path / "mypy.ini").write_text("[mypy]\n", encoding="utf-8")  # not the user's
    env = dict(os.environ, MYPYPATH=str(REPO))
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--config-file", "mypy.ini",
         "--cache-dir", str(cache), "--no-error-summary",
         "--show-error-codes", "readme_examples.py"],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300)


def test_readme_examples_pass_mypy_strict(tmp_path: Path, mypy_cache_dir: Path) -> None:
    proc = run_mypy(tmp_path, readme_module(), mypy_cache_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_check_catches_a_type_error_in_the_examples(tmp_path: Path,
                                                         mypy_cache_dir: Path) -> None:
    # The check is real: the public names are typed, so misuse is reported.
    source = readme_module() + textwrap_block(
        "for q in list_installed_plugins():\n    q.no_such_field\n",
        "PluginManager().register(42)\n")
    proc = run_mypy(tmp_path, source, mypy_cache_dir)
    assert proc.returncode == 1
    assert '"InstalledPlugin" has no attribute "no_such_field"' in proc.stdout, proc.stdout
    assert "[arg-type]" in proc.stdout, proc.stdout


def textwrap_block(*lines: str) -> str:
    return "\n\nfrom nitro_dispatch import PluginManager, list_installed_plugins\n" + \
        "".join(lines)


def test_every_public_name_has_a_real_type_for_mypy(tmp_path: Path,
                                                    mypy_cache_dir: Path) -> None:
    # A name served only by the module's __getattr__ would be "object".
    import nitro_dispatch

    names = sorted(nitro_dispatch.__all__)
    source = "import nitro_dispatch\n" + "".join(
        "reveal_type(nitro_dispatch.%s)\n" % name for name in names)
    proc = run_mypy(tmp_path, source, mypy_cache_dir)
    revealed = [line for line in proc.stdout.splitlines() if "Revealed type is" in line]
    assert len(revealed) == len(names), proc.stdout
    assert [line for line in revealed if line.endswith(('"object"', '"builtins.object"'))] == []
    assert proc.returncode == 0, proc.stdout  # reveal_type notes only, no errors


def test_a_misspelt_event_mode_is_a_type_error(tmp_path: Path, mypy_cache_dir: Path) -> None:
    source = ("from nitro_dispatch import PluginManager, event_spec\n\n"
              "PluginManager().declare_event('a', mode='colect')\n\n\n"
              "class Events:\n"
              "    @event_spec('b', mode='frist')\n"
              "    @staticmethod\n"
              "    def b(data: int) -> None:\n"
              "        '''B.'''\n\n\n"
              "PluginManager().declare_event('c', mode='collect')\n")
    proc = run_mypy(tmp_path, source, mypy_cache_dir)
    assert proc.returncode == 1
    errors = [line for line in proc.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 2, proc.stdout
    assert "\"Literal['colect']\"; expected \"Literal['chain', 'collect', 'first']\"" in errors[0]
    assert "\"Literal['frist']\"" in errors[1]
