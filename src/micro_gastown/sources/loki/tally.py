"""What a caller's Loki calls cost, per thread: attempts made and body bytes received.

``LokiClient`` also keeps totals over every thread; a tally is exact for one caller when
several threads or sources share the client (the report metadata of each source).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(slots=True)
class RequestTally:
    """What the calls made inside ``LokiClient.counting()`` cost: attempts and body bytes."""

    requests: int = 0
    bytes_received: int = 0


# Set per thread (a new thread starts with it unset) by ``counting``.
_TALLY: ContextVar[RequestTally | None] = ContextVar("loki_tally", default=None)


def current_tally() -> RequestTally | None:
    """The innermost tally open in this thread, if any."""
    return _TALLY.get()


@contextmanager
def counting() -> Iterator[RequestTally]:
    """Tally the attempts and bytes of the calls made in this block, in this thread.

    ``requests``/``bytes_received`` total every thread; this is exact per caller when
    several threads or sources share one client. A nested tally also counts outward.
    """
    tally = RequestTally()
    token = _TALLY.set(tally)
    try:
        yield tally
    finally:
        _TALLY.reset(token)
        outer = _TALLY.get()
        if outer is not None:
            outer.requests += tally.requests
            outer.bytes_received += tally.bytes_received
