"""Small statistics the detectors share: percentiles and bounded evidence samples."""

from __future__ import annotations

import heapq
import math

from micro_gastown.events.model import Event

MAX_SAMPLES = 5


class Histogram:
    """The exact distribution of integer measurements, as value → how many times seen.

    Latencies in ms and token counts repeat a lot, so this takes memory in proportion to
    the distinct values rather than to the calls, merges by adding counts, and needs no
    sort of every call at the end. Hot handlers update ``counts`` inline.
    """

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}

    def add(self, value: int) -> None:
        self.counts[value] = self.counts.get(value, 0) + 1

    def merge(self, other: Histogram) -> None:
        counts = self.counts
        for value, n in other.counts.items():
            counts[value] = counts.get(value, 0) + n

    def __len__(self) -> int:
        return sum(self.counts.values())

    def percentiles(self, *qs: float) -> list[int]:
        """Nearest-rank percentiles: the observed value at rank ceil(q·n), ``q`` in (0, 1]."""
        total = len(self)
        if not total:
            raise ValueError("percentile of no values")
        ranks = [max(1, math.ceil(q * total)) for q in qs]
        wanted = len(set(ranks))
        found: dict[int, int] = {}
        seen = 0
        for value in sorted(self.counts):
            seen += self.counts[value]
            for rank in ranks:
                if rank not in found and rank <= seen:
                    found[rank] = value
            if len(found) == wanted:
                break
        return [found[rank] for rank in ranks]

    def count_above(self, limit: int) -> int:
        return sum(n for value, n in self.counts.items() if value > limit)

    def summary(self) -> dict[str, int]:
        """p50/p95/p99/max."""
        p50, p95, p99 = self.percentiles(0.50, 0.95, 0.99)
        return {"p50": p50, "p95": p95, "p99": p99, "max": max(self.counts)}


class TopSamples:
    """Keeps the ``MAX_SAMPLES`` events with the highest score (ties: earliest first).

    ``order`` is the event's position in the stream, so samples kept by separate scans of
    a file's parts merge into exactly what one scan would keep. ``floor`` is the score an
    event must beat to get in; hot handlers compare against it before calling
    :meth:`offer`, which keeps the common case to one comparison.
    """

    __slots__ = ("_heap", "floor")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Event]] = []
        self.floor = -math.inf

    def offer(self, score: float, order: int, event: Event) -> None:
        self._keep((score, -order, event))

    def _keep(self, item: tuple[float, int, Event]) -> None:
        heap = self._heap
        if len(heap) < MAX_SAMPLES:
            heapq.heappush(heap, item)
        elif item[:2] > heap[0][:2]:
            heapq.heapreplace(heap, item)
        else:
            return
        if len(heap) == MAX_SAMPLES:
            self.floor = heap[0][0]

    def merge(self, other: TopSamples) -> None:
        for item in other._heap:
            self._keep(item)

    def events(self) -> list[Event]:
        return [item[2] for item in sorted(self._heap, key=lambda item: item[:2], reverse=True)]


class FirstSamples:
    """Keeps the ``MAX_SAMPLES`` events earliest in the stream (smallest ``order``)."""

    __slots__ = ("_heap",)

    def __init__(self) -> None:
        self._heap: list[tuple[int, Event]] = []  # (-order, event): the latest is on top

    def offer(self, order: int, event: Event) -> None:
        heap = self._heap
        if len(heap) < MAX_SAMPLES:
            heapq.heappush(heap, (-order, event))
        elif -order > heap[0][0]:
            heapq.heapreplace(heap, (-order, event))

    def merge(self, other: FirstSamples) -> None:
        for negative, event in other._heap:
            self.offer(-negative, event)

    def events(self) -> list[Event]:
        return [event for _, event in sorted(self._heap, key=lambda item: -item[0])]
