"""Shared test setup: an isolated listing cache, and the library's logger
restored after every test (some tests give it a level and a handler)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Iterator

import pytest

# The testing kit, as an installed nitro-dispatch provides it through its
# pytest11 entry point (the same plugin name: never registered twice).
pytest_plugins = ["nitro_dispatch.testing"]


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The listing cache of nitro_dispatch goes to a temporary folder, never
    to the user's ~/.cache."""
    old = os.environ.get("NITRO_DISPATCH_CACHE_DIR")
    os.environ["NITRO_DISPATCH_CACHE_DIR"] = str(tmp_path_factory.mktemp("nitro-cache"))
    yield
    if old is None:
        os.environ.pop("NITRO_DISPATCH_CACHE_DIR", None)
    else:
        os.environ["NITRO_DISPATCH_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def mypy_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache for every test that runs mypy in this process: the
    standard library and nitro_dispatch are analysed once, not by every
    run (mypy re-checks whatever changed, so sharing it changes no verdict)."""
    return tmp_path_factory.mktemp("mypy-cache")


@pytest.fixture(autouse=True)
def _restore_library_logger() -> Iterator[None]:
    logger = logging.getLogger("nitro_dispatch")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate


@pytest.fixture(autouse=True)
def _forget_test_modules() -> Iterator[None]:
    """Drop the modules a test imported from its temporary folders (drop-in
    packages, and modules the tests name ``ndtest_*``)."""
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith(("nitro_dispatch_dropins.", "ndtest_")):
            del sys.modules[name]


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A listing cache of the test's own, and the cache on (modules that
    want it for every test say ``pytestmark = pytest.mark.usefixtures
    ("cache_dir")``)."""
    directory = tmp_path / "cache"
    monkeypatch.setenv("NITRO_DISPATCH_CACHE_DIR", str(directory))
    monkeypatch.delenv("NITRO_DISPATCH_NO_CACHE", raising=False)
    return directory
