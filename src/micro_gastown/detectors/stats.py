"""Small statistics the detectors share: percentiles and bounded evidence samples."""

from __future__ import annotations

import heapq
import math
from typing import Protocol

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

    def merge(self, other: Distribution) -> None:
        if not isinstance(other, Histogram):
            raise TypeError("only local histograms merge")
        counts = self.counts
        for value, n in other.counts.items():
            counts[value] = counts.get(value, 0) + n

    def __len__(self) -> int:
        return sum(self.counts.values())

    def percentiles(self, *qs: float) -> list[float]:
        """Percentiles as Loki's ``quantile_over_time`` computes them (see :func:`quantile`)."""
        total = len(self)
        if not total:
            raise ValueError("percentile of no values")
        plans = [_ranks(q, total) for q in qs]
        pending = sorted({rank for lower, upper, _ in plans for rank in (lower, upper)})
        wanted: dict[int, int] = {}  # index into the sorted values -> its value
        seen = 0
        for value in sorted(self.counts):
            seen += self.counts[value]
            while pending and pending[0] < seen:
                wanted[pending.pop(0)] = value
            if not pending:
                break
        return [_interpolate(wanted[lo], wanted[hi], w) for lo, hi, w in plans]

    def count_above(self, limit: int) -> int:
        return sum(n for value, n in self.counts.items() if value > limit)

    def maximum(self) -> int:
        return max(self.counts)

    def summary(self) -> dict[str, float]:
        """p50/p95/p99/max."""
        p50, p95, p99 = self.percentiles(0.50, 0.95, 0.99)
        return {"p50": p50, "p95": p95, "p99": p99, "max": self.maximum()}


def _ranks(q: float, total: int) -> tuple[int, int, float]:
    rank = q * (total - 1)
    lower = math.floor(rank)
    return lower, min(lower + 1, total - 1), rank - lower


def _interpolate(low: float, high: float, weight: float) -> float:
    return low * (1 - weight) + high * weight


_EXACT = 1 << 53  # beyond this a float is not an exact integer; int() would invent digits


def tidy(value: float) -> float:
    """A figure for a report: two decimals, an integral value as an int.

    Only where the int is exact: a huge or non-finite figure stays a float (JSON writes it).
    """
    rounded = round(value, 2)
    return int(rounded) if abs(rounded) < _EXACT and float(rounded).is_integer() else rounded


def quantile(q: float, values: list[float]) -> float:
    """The φ-quantile of ``values`` (0 ≤ q ≤ 1) the way Prometheus and Loki compute it.

    Linear interpolation between the two closest ranks of the sorted values, in the same
    floating-point steps as Loki's ``quantile_over_time``, so a percentile computed here
    from all values equals the one Loki sends for the same values, bit for bit. This
    matters for push-down (:mod:`micro_gastown.analysis.pushdown`): findings from Loki's
    aggregates must equal findings from the raw lines.
    """
    ordered = sorted(values)
    lower, upper, weight = _ranks(q, len(ordered))
    return _interpolate(ordered[lower], ordered[upper], weight)


class Distribution(Protocol):
    """What the detectors ask of a distribution: a local Histogram or Loki's aggregates."""

    def __len__(self) -> int: ...

    def percentiles(self, *qs: float) -> list[float]: ...

    def count_above(self, limit: int) -> int: ...

    def maximum(self) -> int: ...

    def summary(self) -> dict[str, float]: ...

    def merge(self, other: Distribution) -> None: ...


class RemoteDistribution:
    """A distribution known only by the aggregates Loki computed for it (push-down).

    Holds exactly the figures the detectors ask for; asking for another is a programming
    error, raised loudly rather than answered approximately.
    """

    __slots__ = ("_above", "_count", "_max", "_quantiles")

    def __init__(
        self,
        count: int,
        quantiles: dict[float, float],
        *,
        maximum: float | None = None,
        above: dict[int, int] | None = None,
    ) -> None:
        self._count = count
        self._quantiles = quantiles
        self._max = maximum
        self._above = above or {}

    def __len__(self) -> int:
        return self._count

    def percentiles(self, *qs: float) -> list[float]:
        try:
            return [self._quantiles[q] for q in qs]
        except KeyError as exc:
            raise LookupError(f"quantile {exc} was not fetched from Loki") from None

    def count_above(self, limit: int) -> int:
        try:
            return self._above[limit]
        except KeyError:
            raise LookupError(f"count above {limit} was not fetched from Loki") from None

    def maximum(self) -> int:
        if self._max is None:
            raise LookupError("the maximum was not fetched from Loki")
        return int(self._max)

    def summary(self) -> dict[str, float]:
        p50, p95, p99 = self.percentiles(0.50, 0.95, 0.99)
        return {"p50": p50, "p95": p95, "p99": p99, "max": self.maximum()}

    def merge(self, other: Distribution) -> None:
        raise TypeError("aggregates computed by Loki cannot be merged")


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
