"""pip, run in the running interpreter's environment (``sys.executable -m
pip``): the one way ``install`` and ``uninstall`` (SPEC section 15) change
an environment, and what goes wrong doing so.

This module owns: the pip version check (``--dry-run --report`` needs pip
22.2), the finding options that pass through to pip, running pip with its
output streamed to a callback (and the last lines kept to explain a
failure), and :class:`PluginInstallError`, whose message is one line.

pip's output is read from one pipe (its standard error joined to its
standard output) line by line, so a caller can show progress as it comes
and still say in one line why pip failed: an index that cannot be reached
is recognised from pip's connection warnings, anything else is pip's last
``ERROR:`` line.  pip runs with ``--no-input`` (it never waits for a
password prompt nobody sees) and ``--disable-pip-version-check``.
"""

from __future__ import annotations

import os
import sys

from ._errors import NitroPluginError

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Callable, Dict, List, Optional, Sequence, Tuple

__all__ = ["PluginInstallError", "MIN_PIP", "FINDING_OPTIONS", "PipRun", "check_pip",
           "parse_pip_version", "finding_args", "run_pip", "pip_failure"]

MIN_PIP = (22, 2)  # the first pip with ``install --dry-run --report``

#: pip's options for finding packages, which pass through to pip: option ->
#: whether it takes a value.  Short spellings map to the long ones.
FINDING_OPTIONS = {"--index-url": True, "--extra-index-url": True, "--find-links": True,
                   "--no-index": False, "--pre": False, "--upgrade": False}
_SHORT = {"-i": "--index-url", "-f": "--find-links", "-U": "--upgrade"}

# Text of pip's warnings and errors when it cannot reach an index (urllib3 and
# requests exception names, socket errors as pip shows them).
_UNREACHABLE = ("NewConnectionError", "Failed to establish a new connection",
                "ConnectTimeoutError", "ConnectionError", "Could not fetch URL",
                "Name or service not known", "Temporary failure in name resolution",
                "nodename nor servname", "ProxyError", "SSLError",
                "Connection refused", "Network is unreachable")
_TAIL = 200  # lines of pip's output kept to explain a failure


class PluginInstallError(NitroPluginError):
    """``install`` or ``uninstall`` could not do what was asked, and
    changed nothing: pip is missing or too old, an index cannot be reached,
    a requirement does not parse, a name is not installed, pip failed.
    The message is one line."""


class PipRun:
    """One finished pip process: its exit status and its output's last
    lines (standard output and error, as they came)."""

    __slots__ = ("args", "returncode", "lines")

    def __init__(self, args: Sequence[str], returncode: int, lines: List[str]) -> None:
        self.args = list(args)
        self.returncode = returncode
        self.lines = lines


def parse_pip_version(text: str) -> Tuple[int, ...]:
    """The release numbers in ``pip --version``'s answer (``"pip 23.2.1
    from ..."`` -> ``(23, 2, 1)``); ``()`` when it says no version."""
    words = text.split()
    if len(words) < 2 or words[0] != "pip":
        return ()
    numbers: List[int] = []
    for part in words[1].split("."):
        digits = ""
        for char in part:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        numbers.append(int(digits))
        if len(digits) < len(part):  # "23.0b1": the rest is a pre-release tag
            break
    return tuple(numbers)


def check_pip() -> Tuple[int, ...]:
    """pip's version in this environment; :class:`PluginInstallError` when
    pip is missing or older than :data:`MIN_PIP`."""
    import subprocess

    try:
        proc = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True,
                              text=True, env=_pip_env(), stdin=subprocess.DEVNULL, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        raise PluginInstallError("cannot run pip (%s -m pip): %s" % (sys.executable, exc)) \
            from None
    version = parse_pip_version(proc.stdout) if proc.returncode == 0 else ()
    if not version:
        said = _last_line(proc.stderr.splitlines() or proc.stdout.splitlines()) or \
            "exit status %d" % (proc.returncode,)
        raise PluginInstallError("pip is not available in this environment (%s -m pip: %s); "
                                 "install it with '%s -m ensurepip'"
                                 % (sys.executable, said, sys.executable))
    if version < MIN_PIP:
        raise PluginInstallError(
            "pip %s is too old: installing plugins needs pip %s or later (for 'pip install "
            "--dry-run --report'); upgrade it with '%s -m pip install --upgrade pip'"
            % (".".join(map(str, version)), ".".join(map(str, MIN_PIP)), sys.executable))
    return version


def finding_args(args: Sequence[str]) -> List[str]:
    """``args`` checked to be pip's finding options only (see
    :data:`FINDING_OPTIONS`; ``--opt value``, ``--opt=value`` and the short
    spellings), in long spelling; :class:`PluginInstallError` otherwise.
    Anything else (``--target``, ``--no-deps``, a requirement) would change
    what gets installed behind the check."""
    out: List[str] = []
    items = list(args)
    i = 0
    while i < len(items):
        item = str(items[i])
        name, eq, value = item.partition("=")
        name = _SHORT.get(name, name)
        takes_value = FINDING_OPTIONS.get(name)
        if takes_value is None:
            raise PluginInstallError(
                "pip option %r is not accepted here; the options that pass through to pip "
                "are %s" % (item, ", ".join(sorted(FINDING_OPTIONS))))
        if not takes_value:
            if eq:
                raise PluginInstallError("pip option %s takes no value" % (name,))
            out.append(name)
        elif eq:
            out.extend([name, value])
        elif i + 1 < len(items):
            i += 1
            out.extend([name, str(items[i])])
        else:
            raise PluginInstallError("pip option %s needs a value" % (name,))
        i += 1
    return out


def run_pip(args: Sequence[str], echo: Optional[Callable[[str], None]] = None) -> PipRun:
    """Run ``python -m pip ARGS`` in this environment; each line of its
    output goes to ``echo`` as it comes (without its line end).  Should
    ``echo`` raise, pip's output is still read to the end (pip is never cut
    off mid-install by a full pipe), and then the error is raised."""
    import subprocess

    cmd = [sys.executable, "-m", "pip", *args[:1], "--no-input",
           "--disable-pip-version-check", *args[1:]]
    lines: List[str] = []
    failed: Optional[Exception] = None  # echo's, raised once pip is done
    try:
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, env=_pip_env(), encoding="utf-8",
                              errors="replace") as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                line = line.rstrip("\r\n")
                lines.append(line)
                if len(lines) > 2 * _TAIL:
                    del lines[:_TAIL]
                if echo is not None and failed is None:
                    try:
                        echo(line)
                    except Exception as exc:  # a closed stdout: pip still finishes its work
                        failed = exc
            returncode = proc.wait()
    except OSError as exc:
        raise PluginInstallError("cannot run pip (%s -m pip): %s" % (sys.executable, exc)) \
            from None
    if failed is not None:
        raise failed
    return PipRun(cmd, returncode, lines[-_TAIL:])


def pip_failure(run: PipRun, doing: str) -> PluginInstallError:
    """The one-line error for a pip run that failed while ``doing`` (e.g.
    "resolving nitro-x")."""
    for line in run.lines:
        if any(marker in line for marker in _UNREACHABLE):
            return PluginInstallError("cannot reach the package index while %s: %s"
                                      % (doing, _connection_reason(line)))
    errors = [line for line in run.lines if line.startswith("ERROR:")]
    said = errors[-1][len("ERROR:"):] if errors else _last_line(run.lines)
    return PluginInstallError("pip failed while %s (exit status %d): %s"
                              % (doing, run.returncode, _short(said or "no message")))


def _connection_reason(line: str) -> str:
    """The gist of one of pip's connection warnings: the socket error (as
    ``[Errno 111] Connection refused``) and the URL path, else the line."""
    import re

    errno = re.search(r"\[Errno -?\d+\][^'\")]*", line)
    where = line.rsplit("': ", 1)[1].strip() if "': " in line else ""
    if errno is None:
        return _short(line)
    return errno.group(0).strip() + (" (%s)" % (where,) if where else "")


def _pip_env() -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONIOENCODING"] = "utf-8"  # read back as UTF-8 whatever the locale says
    env["PIP_NO_INPUT"] = "1"
    return env


def _last_line(lines: Sequence[str]) -> str:
    for line in reversed(lines):
        if line.strip():
            return line.strip()
    return ""


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."
