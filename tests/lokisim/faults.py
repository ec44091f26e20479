"""Scripted failures, so client retry, timeout and error paths meet real sockets.

A test queues faults; each applies to the next request whose path matches (FIFO), then
normal service resumes. Kinds mirror what a client sees in production: Loki's 429 with
``Retry-After``, a gateway's 5xx, a slow answer, a body cut short, a reset connection.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import Enum

_DEFAULT_BODIES = {
    429: "too many outstanding requests",
    500: "internal server error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class FaultKind(Enum):
    """What the server does instead of (or before) answering."""

    STATUS = "status"
    DELAY = "delay"
    TRUNCATE = "truncate"
    RESET = "reset"


@dataclass(frozen=True)
class Fault:
    """One scripted failure; build with the ``status``/``delay``/``truncate``/``reset``."""

    kind: FaultKind
    status_code: int = 0
    body: str = ""
    retry_after: str | None = None
    seconds: float = 0.0

    @classmethod
    def status(cls, code: int, *, retry_after: str | None = None, body: str | None = None) -> Fault:
        """Answer ``code`` with a plain-text body (Loki's wording for 429 by default)."""
        text = body if body is not None else _DEFAULT_BODIES.get(code, f"status {code}")
        return cls(FaultKind.STATUS, status_code=code, body=text, retry_after=retry_after)

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Sleep before answering normally (to trip client timeouts)."""
        return cls(FaultKind.DELAY, seconds=seconds)

    @classmethod
    def truncate(cls) -> Fault:
        """Send headers with the full Content-Length, half the body, then close."""
        return cls(FaultKind.TRUNCATE)

    @classmethod
    def reset(cls) -> Fault:
        """Close the connection with a TCP reset and no response at all."""
        return cls(FaultKind.RESET)


@dataclass
class _Queued:
    fault: Fault
    path: str | None
    remaining: int


class FaultPlan:
    """FIFO of faults; thread-safe because handler threads pop concurrently."""

    def __init__(self) -> None:
        self._queue: list[_Queued] = []
        self._lock = threading.Lock()

    def queue(self, fault: Fault, *, path: str | None = None, times: int = 1) -> None:
        """Apply ``fault`` to the next ``times`` requests for ``path`` (any path if None).

        ``path`` is the API path without the server's prefix, e.g.
        ``/loki/api/v1/query_range``.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._queue.append(_Queued(fault, path, times))

    def take_for(self, path: str, api_path: str | None) -> Fault | None:
        """The fault for this request, if one is queued for its path.

        A queued path matches either the path as received or the path without the
        server's prefix.
        """
        with self._lock:
            for queued in self._queue:
                if queued.path is None or queued.path in (path, api_path):
                    queued.remaining -= 1
                    if queued.remaining == 0:
                        self._queue.remove(queued)
                    return queued.fault
        return None

    def clear(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._queue.clear()

    @property
    def pending(self) -> int:
        """How many fault applications are still queued (assert all were consumed)."""
        with self._lock:
            return sum(q.remaining for q in self._queue)
