"""Small statistics the detectors share: percentiles and bounded evidence samples."""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from itertools import count

from micro_gastown.events.model import Event

MAX_SAMPLES = 5


def percentile(sorted_values: Sequence[int], q: float) -> int:
    """Nearest-rank percentile: the observed value at rank ceil(q·n); ``q`` in (0, 1]."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def summarize(values: Iterable[int]) -> dict[str, int]:
    """p50/p95/p99/max of integer measurements."""
    ordered = sorted(values)
    return {
        "p50": percentile(ordered, 0.50),
        "p95": percentile(ordered, 0.95),
        "p99": percentile(ordered, 0.99),
        "max": ordered[-1],
    }


class TopSamples:
    """Keeps the ``MAX_SAMPLES`` events with the highest score (ties: earliest first).

    ``floor`` is the score an event must beat to get in; hot handlers compare against it
    before calling :meth:`offer`, which keeps the common case to one comparison.
    """

    __slots__ = ("_heap", "_order", "floor")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Event]] = []
        self._order = count()
        self.floor = -math.inf

    def offer(self, score: float, event: Event) -> None:
        heap = self._heap
        if len(heap) < MAX_SAMPLES:
            heapq.heappush(heap, (score, -next(self._order), event))
        elif score > heap[0][0]:
            heapq.heapreplace(heap, (score, -next(self._order), event))
        else:
            return
        if len(heap) == MAX_SAMPLES:
            self.floor = heap[0][0]

    def events(self) -> list[Event]:
        return [event for _, _, event in sorted(self._heap, key=lambda item: (-item[0], -item[1]))]


class FirstSamples:
    """Keeps the first ``MAX_SAMPLES`` events offered."""

    __slots__ = ("_events",)

    def __init__(self) -> None:
        self._events: list[Event] = []

    def offer(self, event: Event) -> None:
        if len(self._events) < MAX_SAMPLES:
            self._events.append(event)

    def events(self) -> list[Event]:
        return list(self._events)
