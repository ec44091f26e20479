"""Scripted failures: the next N matching requests answer as GitHub does when it is down,
rate-limited or the connection breaks."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Fault", "FaultKind", "FaultQueue"]

DOCS = "https://docs.github.com/rest"


class FaultKind(StrEnum):
    BAD_GATEWAY = "502"
    PRIMARY_RATE_LIMIT = "primary"
    """403, ``x-ratelimit-remaining: 0`` and ``x-ratelimit-reset`` (epoch seconds)."""
    SECONDARY_RATE_LIMIT = "secondary"
    """403 with ``Retry-After``."""
    TOO_MANY_REQUESTS = "429"
    """429 with ``Retry-After``."""
    DROP = "drop"
    """The request is read, then the connection closes with no answer."""


@dataclass
class Fault:
    kind: FaultKind
    times: int = 1
    method: str | None = None
    path_contains: str | None = None
    retry_after_s: int = 1
    reset_in_s: int = 1

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path_contains is None or self.path_contains in path
        )

    def answer(self) -> tuple[int, list[tuple[str, str]], bytes]:
        """Status, headers and body (unused for DROP). ``x-ratelimit-reset`` is whole
        seconds, as GitHub sends it."""
        headers = [("Content-Type", "application/json; charset=utf-8")]
        if self.kind is FaultKind.BAD_GATEWAY:
            return 502, headers, b'{"message":"Server Error"}'
        if self.kind is FaultKind.PRIMARY_RATE_LIMIT:
            headers += [
                ("x-ratelimit-limit", "5000"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-used", "5000"),
                ("x-ratelimit-resource", "core"),
                ("x-ratelimit-reset", str(int(time.time()) + self.reset_in_s)),
            ]
            message = "API rate limit exceeded for user ID 1001."
            return 403, headers, _body(message)
        headers.append(("Retry-After", str(self.retry_after_s)))
        message = (
            "You have exceeded a secondary rate limit. Please wait a few minutes before you "
            "try again."
        )
        status = 429 if self.kind is FaultKind.TOO_MANY_REQUESTS else 403
        return status, headers, _body(message)


def _body(message: str) -> bytes:
    return json.dumps({"message": message, "documentation_url": DOCS}).encode()


class FaultQueue:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault matching the request, one use of it spent."""
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and fault.matches(method, path):
                    fault.times -= 1
                    return fault
        return None

    def pending(self) -> int:
        with self._lock:
            return sum(fault.times for fault in self._faults)
