"""The version of nitro-dispatch, in one place (``pyproject.toml`` reads it)."""

__version__ = "1.3.0"
