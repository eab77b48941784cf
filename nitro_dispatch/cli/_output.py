"""The output layer of the ``nitro-dispatch`` command: robust writers,
tables, JSON, and where the library's log goes while a command runs.

Output never fails the command: characters the terminal's encoding cannot
carry are written as backslash escapes; a standard output or error that was
closed before the command started is skipped, as ``print()`` does; a
standard output that fails otherwise raises :class:`OutputFailed`, which
:func:`nitro_dispatch.cli.main` turns into an exit status.  JSON is strict
(ASCII, non-finite numbers spelled as strings).

Human output never carries a control character from a plugin's metadata,
name, description, event or docstring to the terminal: every line written
by :func:`out`, :func:`error` and :func:`warn` (and every table cell) shows
C0 and C1 control characters and DEL escaped (``\\x1b``), line breaks aside.
JSON is written exactly (it is ASCII, its control characters already
``\\u`` escapes).
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator, List, Optional, Sequence, Tuple

from .._describe import one_line

__all__ = ["PROG", "program", "program_name", "OutputFailed", "error", "warn", "out",
           "raw_out", "escape_controls",
           "flush_stdout", "silence",
           "screen_width",
           "wrap", "render_table", "print_json", "print_fields", "library_logging"]

PROG = "nitro-dispatch"
# The program name errors and warnings carry: a host's own command
# (``main(prog="myapp-plugins")``) sets it while it runs.
_PROGRAM: "ContextVar[str]" = ContextVar("nitro_dispatch_cli_program", default=PROG)
MIN_WIDTH = 40
# C0 (but the line feed), DEL and C1 controls, shown as \xNN escapes.
_CONTROLS = {code: "\\x%02x" % (code,)
             for code in list(range(0x20)) + list(range(0x7f, 0xa0)) if code != 0x0a}
_CELL_CONTROLS = dict(_CONTROLS)
_CELL_CONTROLS[0x0a] = "\\x0a"  # a table cell is one line


def escape_controls(text: str) -> str:
    r"""``text`` with its control characters (but line feeds) escaped.

    >>> print(escape_controls("a\x1b[2Jb\x07\x9b"))
    a\x1b[2Jb\x07\x9b
    """
    return text.translate(_CONTROLS)


class OutputFailed(Exception):
    """Writing to standard output failed (``__cause__`` says why)."""


def program() -> str:
    """The name of the running command (``nitro-dispatch``, or a host's)."""
    return _PROGRAM.get()


@contextmanager
def program_name(name: str) -> Iterator[None]:
    """Errors and warnings name ``name`` as the program while this runs."""
    token = _PROGRAM.set(name)
    try:
        yield
    finally:
        _PROGRAM.reset(token)


def error(message: str) -> None:
    err_line("%s: error: %s\n" % (program(), escape_controls(one_line(message))))


def warn(message: str) -> None:
    err_line("%s: warning: %s\n" % (program(), escape_controls(one_line(message))))


def err_line(line: str) -> None:
    """Write to stderr; if that fails there is nowhere left to say so."""
    stream = sys.stderr
    if stream is None:  # started without one
        return
    try:
        write(stream, line)
        stream.flush()
    except (OSError, ValueError):
        silence(stream)


def out(text: str = "") -> None:
    """One line on stdout, control characters escaped; :class:`OutputFailed`
    when it cannot be written."""
    raw_out(escape_controls(text))


def raw_out(text: str) -> None:
    """One line on stdout exactly as given (JSON)."""
    stream = sys.stdout
    if stream is None:  # started without one: discard, as print() does
        return
    try:
        write(stream, text + "\n")
    except (OSError, ValueError) as exc:  # ValueError: the stream was closed
        raise OutputFailed() from exc


def flush_stdout() -> None:
    if sys.stdout is not None:
        try:
            sys.stdout.flush()
        except (OSError, ValueError) as exc:
            raise OutputFailed() from exc


def write(stream: Any, text: str) -> None:
    """``stream.write(text)``, escaping what the stream's encoding cannot
    carry instead of failing (a text stream encodes before it writes, so a
    failed attempt wrote nothing)."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(encoding, "backslashreplace").decode(encoding))


def silence(stream: Any) -> None:
    """Point ``stream``'s descriptor at the null device, so that what is
    still buffered in it can be flushed at exit without another error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, stream.fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def screen_width() -> int:
    import shutil

    return max(MIN_WIDTH, shutil.get_terminal_size((80, 24)).columns)


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]],
                 width: int = 80) -> List[str]:
    """Lay out a table within ``width`` columns.  When the natural widths do
    not fit, the widest column is narrowed first, repeatedly, and a cell too
    long for its column wraps onto continuation lines: nothing is cut off.

    >>> for line in render_table(["NAME", "VALUE"], [["x", "pkg.module:Class"]], width=18):
    ...     print(line)
    NAME  VALUE
    x     pkg.module:
          Class
    """
    gap = 2
    count = len(headers)
    rows = [[cell.translate(_CELL_CONTROLS) for cell in row] for row in rows]
    widths = [max([len(headers[i])] + [len(row[i]) for row in rows]) for i in range(count)]
    floors = [min(widths[i], max(len(headers[i]), 8)) for i in range(count)]
    room = width - gap * (count - 1)
    while sum(widths) > room:
        candidates = [i for i in range(count) if widths[i] > floors[i]]
        if not candidates:
            break  # too narrow a screen: let lines run over
        widths[max(candidates, key=lambda i: (widths[i], i))] -= 1
    lines: List[str] = []
    for row in [list(headers)] + [list(r) for r in rows]:
        cells = [wrap(row[i], widths[i]) for i in range(count)]
        for n in range(max(len(c) for c in cells)):
            parts = [(c[n] if n < len(c) else "").ljust(widths[i]) for i, c in enumerate(cells)]
            lines.append((" " * gap).join(parts).rstrip())
    return lines


def wrap(text: str, width: int) -> List[str]:
    """Cut ``text`` into pieces of at most ``width`` characters, preferably
    after a space or a separator of paths and dotted names."""
    width = max(width, 1)
    pieces: List[str] = []
    while len(text) > width:
        cut = max(text.rfind(sep, 0, width) for sep in " /\\:.-_")
        cut = cut + 1 if cut >= width // 2 else width
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip(" ")
    pieces.append(text)
    return pieces


def print_json(data: Any) -> None:
    """Strict JSON: a non-finite float (``NaN``, ``Infinity`` are not JSON)
    becomes the string ``"nan"``, ``"inf"`` or ``"-inf"``."""
    import json

    try:
        text = json.dumps(data, indent=2, allow_nan=False)
    except ValueError:
        text = json.dumps(finite(data), indent=2, allow_nan=False)
    raw_out(text)


def finite(data: Any) -> Any:
    if isinstance(data, float):
        return data if data - data == 0.0 else repr(data)  # inf - inf and nan - nan: nan
    if isinstance(data, dict):
        return {key: finite(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite(value) for value in data]
    return data


def print_fields(fields: List[Tuple[str, str]]) -> None:
    """``Label:  value`` lines; prose (the description) wraps to the screen,
    names and paths stay whole so they can be copied."""
    import textwrap

    width = screen_width()
    for label, value in fields:
        head = "%-14s" % (label + ":")
        value = one_line(value)
        pieces = [value]
        if label == "Description":
            pieces = textwrap.wrap(value, max(20, width - len(head)),
                                   break_on_hyphens=False, break_long_words=False) or [""]
        out((head + pieces[0]).rstrip())
        for piece in pieces[1:]:
            out(" " * len(head) + piece)


@contextmanager
def library_logging(verbose: bool) -> Iterator[None]:
    """Silence the library's logger (or, verbose, send it to stderr) for the
    duration of one command; restore it afterwards."""
    import logging

    logger = logging.getLogger("nitro_dispatch")
    saved = (logger.level, logger.propagate, list(logger.handlers))
    handler: Optional[logging.Handler] = None
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
    else:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        if handler is not None:
            logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
        logger.handlers[:] = saved[2]
