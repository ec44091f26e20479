"""``LokiSim``: a Loki-compatible server on 127.0.0.1 for tests that need real sockets.

Start it with ``with LokiSim() as loki:``; load data with ``loki.push`` (fast, in-process)
or over HTTP; script failures with ``loki.faults``; read back what clients sent from
``loki.requests``. Everything is in memory, so runs are fast and deterministic.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from .api import LokiApi
from .config import Auth, Limits, Loki3Labels, Patterns
from .faults import FaultPlan
from .server import LokiRequestHandler
from .store import Store
from localserver import BackgroundServer


class RecordedRequest(NamedTuple):
    """A request as received: method, path (with any prefix), query/form params."""

    method: str
    path: str
    params: dict[str, list[str]]


class LokiSim(BackgroundServer):
    """An in-memory Loki speaking HTTP API v1 on an ephemeral port.

    ``url`` includes ``path_prefix``, so a client given ``url`` as its base address talks
    to the API exactly as it would through a reverse proxy. ``clock`` (nanoseconds, or a
    fixed int) decides "now" for defaulted ``start``/``end``/``time`` parameters and for
    the pattern ingester's retention. ``patterns`` turns on ``/loki/api/v1/patterns``
    (``True``, or ``Patterns(enabled=True, retention_ns=...)``); change it in place later.
    """

    handler = LokiRequestHandler

    def __init__(
        self,
        *,
        limits: Limits | None = None,
        auth: Auth | None = None,
        path_prefix: str = "",
        loki3_labels: Loki3Labels | bool = False,
        patterns: Patterns | bool = False,
        clock: Callable[[], int] | int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.store = Store()
        self.limits = limits or Limits()
        self.auth = auth or Auth()
        self.path_prefix = "/" + path_prefix.strip("/") if path_prefix.strip("/") else ""
        if isinstance(loki3_labels, bool):
            loki3_labels = Loki3Labels(enabled=loki3_labels)
        self.loki3_labels = loki3_labels
        if isinstance(patterns, bool):
            patterns = Patterns(enabled=patterns)
        self.patterns = patterns
        if isinstance(clock, int):
            frozen = clock
            clock = lambda: frozen  # noqa: E731 - a fixed clock is a one-liner
        self.clock: Callable[[], int] = clock or time.time_ns
        self.api = LokiApi(
            self.store, self.limits, self.loki3_labels, lambda: self.clock(), self.patterns
        )
        self.faults = FaultPlan()
        self.requests: list[RecordedRequest] = []
        self.request_headers: list[dict[str, str]] = []
        self.bytes_sent = 0
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """Base URL including the path prefix, e.g. ``http://127.0.0.1:53211/loki``."""
        return super().url + self.path_prefix

    # -- test helpers -----------------------------------------------------------------

    def push(self, labels: Mapping[str, str], entries: Iterable[tuple[int, str]]) -> None:
        """Load entries into one stream without HTTP (fast path for big fixtures)."""
        self.api.ingest(labels, list(entries))

    def reset(self) -> None:
        """Forget data, faults, recorded requests and counters."""
        self.store.clear()
        self.faults.clear()
        with self._lock:
            self.requests.clear()
            self.request_headers.clear()
            self.errors.clear()
            self.bytes_sent = 0

    # -- hooks for the request handler ------------------------------------------------

    def _strip_prefix(self, path: str) -> str | None:
        """The API path without the prefix; None when the prefix is missing (404)."""
        if not self.path_prefix:
            return path
        if path.startswith(self.path_prefix + "/"):
            return path[len(self.path_prefix) :]
        return None

    def _record(
        self, method: str, path: str, params: dict[str, list[str]], headers: dict[str, str]
    ) -> None:
        with self._lock:
            self.requests.append(RecordedRequest(method, path, params))
            self.request_headers.append(headers)

    def _count_sent(self, size: int) -> None:
        with self._lock:
            self.bytes_sent += size
