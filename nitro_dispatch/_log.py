"""Loggers that import :mod:`logging` only when first used.

``import logging`` costs several milliseconds, more than the whole of
nitro_dispatch; an application that never logs through us should not pay
for it at import time.  :class:`LazyLogger` behaves like the
``logging.Logger`` of the same name from its first method call on.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Any

__all__ = ["LazyLogger", "get_logger", "configure_level"]

_METHODS = ("debug", "info", "warning", "error", "exception", "critical", "log",
            "isEnabledFor")


class LazyLogger:
    """Stands in for ``logging.getLogger(name)`` until a method is needed.

    ``debug`` and ``info`` records are dropped without importing
    :mod:`logging` while nothing has imported it: then nobody can have
    given any logger a level or a handler, so the root logger's default
    level (WARNING) would drop them anyway.  Warnings and errors import it
    (Python's last-resort handler shows them on stderr).
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, attr: str) -> Any:
        import logging

        real = logging.getLogger(self.name)
        # Bind the common methods once, so later calls skip __getattr__
        # (and the class's debug/info below).
        self.__dict__.update({m: getattr(real, m) for m in _METHODS})
        return getattr(real, attr)

    def debug(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        if "logging" in sys.modules:
            self.__getattr__("debug")(msg, *args, **kwargs)

    def info(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        if "logging" in sys.modules:
            self.__getattr__("info")(msg, *args, **kwargs)


def get_logger(name: str) -> Any:
    """A lazily imported logger for ``name`` (typed loosely, like Logger)."""
    return LazyLogger(name)


def configure_level(level: Any) -> None:
    """SPEC section 8: set the ``nitro_dispatch`` logger's level and, when it
    has no handler of its own, give it one (so ``log_level="DEBUG"`` shows
    output at once).  The root logger is never touched."""
    import logging

    logger = logging.getLogger("nitro_dispatch")
    if isinstance(level, str):
        resolved = logging.getLevelName(level.upper())
        if not isinstance(resolved, int):
            raise ValueError("unknown log level %r" % (level,))
        level = resolved
    logger.setLevel(level)
    if not any(not isinstance(h, logging.NullHandler) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
