"""A finding's series: its counts bucket by bucket over the window (``Pattern.series``).

Why this shape: the PR's charts draw the series, and the rollback watcher compares the same
counts, normalised by exposure, before and after a merge, so both must be cheap to keep
during the scan and reproducible in Loki afterwards.

**Counting.** Detectors count into plain ``dict[int, int]`` timelines keyed by a coarse
*unit* of time, ``(ts_ns - 1) // unit_ns`` (no object per event). The unit is a minute,
or the final step when the window's two ends are known before the scan
(:func:`counting_unit_ns`); every step is a whole number of units, so the timelines are
re-bucketed once, at the end (:func:`rebucket`), and partial scans merge by adding.

**Buckets** follow Loki: a range query's sample at ``t`` counts the lines of
``(t - step, t]``, so bucket ``i`` holds the events of
``(start + i·step, start + (i + 1)·step]``, and ``query`` run as a range query with
``step`` over the window gives sample ``start + (i + 1)·step`` = ``values[i]``. ``start``
is the window's start floored to the step (on Loki's grid, multiples of the step since the
epoch); an event at exactly that instant is counted in bucket 0.

**The step** (:func:`bucket_layout`): an hour for windows of 12 h or more, coarser (2 h, 3 h,
6 h, 12 h, then whole days) where an hour would give more than ``MAX_BUCKETS`` (a month
hourly); for shorter windows the largest of ``FINE_STEPS`` that still gives
``MIN_BUCKETS`` buckets (a 1 h window: 5 min), a minute at least.

**Queries** are ``sum(count_over_time(<log query> [step]))`` over the same selector as the
finding's ``grafana_query`` (:class:`~micro_gastown.logql.LogQL`). Their log queries parse
JSON and drop lines that fail to (``__error__=""``); a line the local parser skips for a
missing or mistyped field that Loki still parses (say an ``llm_call`` without
``latency_ms``) is the residual difference. A detector that cannot select its events with
LogQL (attribution by span order) leaves the query None and says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from micro_gastown.logql import LogQL, escape_regex, quote, quote_regex

NS_PER_SECOND: Final = 1_000_000_000
MINUTE_NS: Final = 60 * NS_PER_SECOND
HOUR_S: Final = 3600
DAY_S: Final = 86_400
HOURLY_FROM_NS: Final = 12 * HOUR_S * NS_PER_SECOND
"""Windows at least this long are bucketed by the hour (or coarser)."""
FINE_STEPS: Final = (1800, 900, 600, 300, 60)
"""Steps for windows under 12 h, largest first; all whole minutes."""
COARSE_STEPS: Final = (HOUR_S, 2 * HOUR_S, 3 * HOUR_S, 6 * HOUR_S, 12 * HOUR_S, DAY_S)
"""Steps for windows of 12 h or more, finest first; past a day, whole days."""
MIN_BUCKETS: Final = 12
MAX_BUCKETS: Final = 24 * 31

Timeline = dict[int, int]
"""Counts by unit of time (``(ts_ns - 1) // unit_ns``)."""


@dataclass(frozen=True, slots=True)
class BucketLayout:
    """Where a window's buckets lie: ``buckets`` of ``step_seconds`` from bucket ``first``
    of Loki's grid (``start_ns = first · step``)."""

    first: int
    step_seconds: int
    buckets: int

    @property
    def step_ns(self) -> int:
        return self.step_seconds * NS_PER_SECOND

    @property
    def start_ns(self) -> int:
        return self.first * self.step_ns

    @property
    def range(self) -> str:
        """The step as a LogQL range (``5m``, ``1h``, ``2d``)."""
        return logql_duration(self.step_seconds)


def _layout(start_ns: int, end_ns: int, step_seconds: int) -> BucketLayout:
    """Buckets of ``step_seconds`` covering ``[start_ns, end_ns)``."""
    step_ns = step_seconds * NS_PER_SECOND
    first = start_ns // step_ns
    last = max((end_ns - 2) // step_ns, first)  # the bucket of the last nanosecond, end - 1
    return BucketLayout(first, step_seconds, last - first + 1)


def bucket_layout(start_ns: int, end_ns: int) -> BucketLayout:
    """The buckets of the window ``[start_ns, end_ns)`` by the step rule (module docstring)."""
    end_ns = max(end_ns, start_ns + 1)
    if end_ns - start_ns < HOURLY_FROM_NS:
        for step in FINE_STEPS:
            layout = _layout(start_ns, end_ns, step)
            if layout.buckets >= MIN_BUCKETS:
                return layout
        return _layout(start_ns, end_ns, FINE_STEPS[-1])
    for step in COARSE_STEPS:
        layout = _layout(start_ns, end_ns, step)
        if layout.buckets <= MAX_BUCKETS:
            return layout
    days = max(2, -(-(end_ns - start_ns) // (MAX_BUCKETS * DAY_S * NS_PER_SECOND)))
    while (layout := _layout(start_ns, end_ns, days * DAY_S)).buckets > MAX_BUCKETS:
        days += 1  # flooring the start can add a bucket: at most a step or two more
    return layout


def counting_unit_ns(start_ns: int | None, end_ns: int | None) -> int:
    """The unit detectors count in: the final step when both ends of the window are known
    now (fewer, larger buckets), else a minute, which divides every step."""
    if start_ns is None or end_ns is None:
        return MINUTE_NS
    return bucket_layout(start_ns, end_ns).step_ns


def unit_of(ts_ns: int, unit_ns: int) -> int:
    """The unit holding ``ts_ns``: ``(t - unit, t]`` as Loki counts (hot paths inline it)."""
    return (ts_ns - 1) // unit_ns


def count_into(timeline: Timeline, unit: int, n: int = 1) -> None:
    timeline[unit] = timeline.get(unit, 0) + n


def merge_timeline(into: Timeline, other: Timeline) -> None:
    for unit, n in other.items():
        into[unit] = into.get(unit, 0) + n


def merged_timelines(timelines: Iterable[Timeline]) -> Timeline:
    total: Timeline = {}
    for timeline in timelines:
        merge_timeline(total, timeline)
    return total


def rebucket(timeline: Timeline, unit_ns: int, layout: BucketLayout) -> list[int]:
    """Counts per bucket of ``layout`` from counts per unit (the unit divides the step).

    A unit before the first bucket is the instant the window starts on (see the module
    docstring) and counts in bucket 0; a unit past the last counts in the last bucket
    (the window ended inside it), so nothing counted is ever lost.
    """
    per_bucket = layout.step_ns // unit_ns
    values = [0] * layout.buckets
    last = layout.buckets - 1
    first = layout.first
    for unit, n in timeline.items():
        index = unit // per_bucket - first
        values[0 if index < 0 else last if index > last else index] += n
    return values


def logql_duration(seconds: int) -> str:
    for size, suffix in ((DAY_S, "d"), (HOUR_S, "h"), (60, "m")):
        if seconds % size == 0:
            return f"{seconds // size}{suffix}"
    return f"{seconds}s"


@dataclass(slots=True)
class FindingSeries:
    """What a detector counted for one finding, by unit of time, before bucketing."""

    metric: str
    values: Timeline
    unit_ns: int
    exposure: Timeline | None = None
    exposure_unit: str | None = None
    query: str | None = None
    """A log query whose lines ``values`` counts (None: LogQL cannot select them)."""
    exposure_query: str | None = None


def count_query(log_query: str, layout: BucketLayout) -> str:
    """The metric query whose range samples with ``layout``'s step are the bucket counts."""
    return f"sum(count_over_time({log_query} [{layout.range}]))"


# -- the log queries series count (reusing the LogQL selector of grafana_query) ----------


def _parsed(logql: LogQL, event_type: str) -> str:
    return f'{logql.stream(event_type)} | json | __error__=""'


def llm_calls(
    logql: LogQL,
    node: str | None,
    model: str | None = None,
    *,
    latency_over_ms: int | None = None,
    prompt_from: int | None = None,
) -> str:
    """``llm_call`` lines of one node (no ``node`` field: ``node=""``), maybe one model,
    maybe only the slow ones or those with large prompts."""
    query = f"{_parsed(logql, 'llm_call')} | node={quote(node or '')}"
    if model is not None:
        query += f" | model={quote(model)}"
    if latency_over_ms is not None:
        query += f" | latency_ms > {latency_over_ms}"
    if prompt_from is not None:
        query += f" | prompt_tokens >= {prompt_from}"
    return query


def transitions(logql: LogQL, source: str, target: str | None = None) -> str:
    """Traversals of ``source → target``, or every exit from ``source``."""
    query = f"{_parsed(logql, 'graph_transition')} | from={quote(source)}"
    return query if target is None else f"{query} | to={quote(target)}"


def node_visits(logql: LogQL, entered: Iterable[str], not_entered: Iterable[str]) -> str:
    """Transitions into the ``entered`` nodes or out of the ``not_entered`` ones (a node
    never entered in the window, the entry node, is visited when it is left); every
    transition when both are empty."""
    base = _parsed(logql, "graph_transition")
    filters = [
        f"{label}=~{quote_regex('|'.join(escape_regex(n) for n in sorted(nodes)))}"
        for label, nodes in (("to", set(entered)), ("from", set(not_entered)))
        if nodes
    ]
    return f"{base} | {' or '.join(filters)}" if filters else base


def effect_executions(logql: LogQL, effect_type: str, *, failed: bool = False) -> str:
    query = f"{_parsed(logql, 'effect_execution')} | effect_type={quote(effect_type)}"
    return f'{query} | success="false"' if failed else query
