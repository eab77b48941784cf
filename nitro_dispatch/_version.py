"""Version facts at the bottom of the house: this package's own version
(``__version__``), the version a plugin class has when it sets none, and
the cheap test for a plain release number.  Imports nothing."""

from __future__ import annotations

__all__ = ["__version__", "DEFAULT_VERSION", "plain_release"]

__version__ = "1.3.0"

DEFAULT_VERSION = "1.0.0"  # PluginBase.version unless a class or its distribution says


def plain_release(version: str) -> bool:
    """A bare PEP 440 release segment (``N(.N)*``, ASCII digits), which is
    always a valid version: no parser (nor its import) is needed for it."""
    return all(part.isascii() and part.isdigit() for part in version.split("."))
