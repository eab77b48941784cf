"""One cryptographic digest for the library's names and checksums.

BLAKE2b is taken from the small ``_blake2`` extension when it exists: it
imports in a fifth of a millisecond, where :mod:`hashlib` (which loads
OpenSSL) costs several, more than a cached listing of 1,000 distributions.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs more to import than all of nitro_dispatch
if TYPE_CHECKING:
    from typing import Union

__all__ = ["blake2b"]

try:
    from _blake2 import blake2b as _impl
except ImportError:  # an interpreter built without it: hashlib has one
    from hashlib import blake2b as _impl


def blake2b(data: Union[bytes, memoryview], size: int = 32) -> bytes:
    """The BLAKE2b digest of ``data``, ``size`` bytes long (at most 64)."""
    return _impl(data, digest_size=size).digest()
