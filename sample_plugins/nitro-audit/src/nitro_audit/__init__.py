"""nitro-audit: an audit trail of application events.

Shows a plugin that depends on another plugin (with a version specifier)
and a wildcard hook that observes without changing the data.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any, Deque, Generator, List

from nitro_dispatch import PluginBase, hook

__all__ = ["AuditPlugin"]

logger = logging.getLogger(__name__)


class AuditPlugin(PluginBase):
    """Records the data of every ``app.*`` event, as it leaves the chain.

    Configuration: ``max_records``, how many records to keep (default 1000;
    the oldest are dropped first).
    """

    name = "audit"
    # version: unset, taken from the distribution (see nitro-welcome).
    description = "Keeps an audit trail of every app.* event."
    author = "The nitro_dispatch developers"
    # PEP 508 requirement strings naming *plugins*: "welcome" is loaded
    # first, and must be a 1.x version.
    dependencies = ["welcome>=1.0,<2"]

    def on_load(self) -> None:
        self._records: Deque[Any] = deque(maxlen=int(self.get_config("max_records", 1000)))
        self.timings: List[float] = []  # seconds per app.request, measured by the wrapper

    def on_unload(self) -> None:
        logger.info("audit trail closed after %d records", len(self._records))
        self._records.clear()

    @property
    def records(self) -> List[Any]:
        """The recorded data, oldest first."""
        return list(self._records)

    # "*" matches any run of characters, dots included: app.request,
    # app.user.login, ...  The lowest priority runs last, so the record shows
    # the data as the other plugins left it (welcome's greeting included).
    @hook("app.*", priority=1)
    def record(self, data: Any) -> None:
        """Keep a copy of the event's data; returning None leaves the data
        as it is for whoever runs next."""
        self._records.append(dict(data) if isinstance(data, dict) else data)
        logger.debug("audit: %r", data)

    # A wrapper: a generator around the rest of the event's hooks.  The code
    # before ``yield`` runs first (highest priority: outermost); ``yield``
    # gives the chain's result; returning None keeps that result.
    @hook("app.request", wrapper=True, priority=100)
    def time_request(self, data: Any) -> Generator[None, Any, None]:
        """Measure how long the request's hooks take."""
        started = time.perf_counter()
        yield
        self.timings.append(time.perf_counter() - started)
