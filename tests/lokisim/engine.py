"""Evaluates parsed LogQL against the store: log selections and step-wise metrics.

Log queries keep Loki's pagination contract within one of its split intervals (``start``
inclusive, ``end`` exclusive, the first ``limit`` entries in direction order across all
streams); over several, the frontend merges the pieces as Loki does (``frontend``).
Metric queries evaluate each step ``t`` over the window ``(t - range, t]`` like Loki's
range vector iterator; a range query's steps are multiples of the step when the frontend
splits it (:func:`align_to_step`), as in a real Loki with its default
``split_queries_by_interval``.
"""

from __future__ import annotations

import math
import statistics
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

from .errors import BadRequest, PipelineError
from .logql.syntax import Grouping, LogQuery, MetricExpr, RangeAggregation, VectorAggregation
from .pipeline import ERROR_LABEL, Pipeline
from .store import LabelKey, Store, format_labels, label_key
from .timeparse import NS_PER_MS, NS_PER_SECOND

MAX_POINTS = 11_000

# series labels -> {step time ns: value}
Series = dict[LabelKey, dict[int, float]]


@dataclass
class Work:
    """What a query touched, reported in the ``stats`` block."""

    lines: int = 0
    bytes: int = 0
    returned: int = 0
    splits: int = 0
    """Split answers the frontend merged (0: the query fell in one interval)."""


@dataclass
class LogEntry:
    """One selected entry with the ordering keys Loki's merge iterator uses."""

    ts: int
    stream: str
    index: int
    line: str
    labels: LabelKey


def select_logs(
    store: Store, query: LogQuery, start: int, end: int, limit: int, forward: bool, work: Work
) -> list[tuple[LabelKey, list[LogEntry]]]:
    """Entries with ``start <= ts < end``, the first ``limit`` in direction order, grouped
    by their final label set; groups are ordered by label string, as Loki sorts streams."""
    pipeline = Pipeline(query.stages)
    candidates: list[LogEntry] = []
    for stream in store.select(query.matchers):
        stamps = stream.timestamps
        if not stamps or stamps[0] >= end or stamps[-1] < start:
            continue  # cheap, and most streams (one per span) miss any one window
        lo, hi = stream.span(start, end)
        base, name = stream.labels, stream.name
        indices = range(lo, hi) if forward else range(hi - 1, lo - 1, -1)
        taken = 0
        for index in indices:
            line = stream.lines[index]
            work.lines += 1
            work.bytes += len(line)
            key = stream.key
            if not pipeline.trivial:
                outcome = pipeline.run(line, base)
                if outcome is None:
                    continue
                key = label_key(outcome[0].labels())
            candidates.append(LogEntry(stream.timestamps[index], name, index, line, key))
            taken += 1
            if taken >= limit:
                break
    candidates.sort(key=lambda e: (e.ts, e.stream, e.index), reverse=not forward)
    groups: dict[LabelKey, list[LogEntry]] = {}
    for entry in candidates[:limit]:
        groups.setdefault(entry.labels, []).append(entry)
    work.returned = min(limit, len(candidates))
    return sorted(groups.items(), key=lambda item: format_labels(item[0]))


def step_times(start: int, end: int, step: int) -> list[int]:
    """Evaluation instants ``start, start+step, ... <= end``."""
    if step <= 0:
        raise BadRequest(
            "zero or negative query resolution step widths are not accepted. Try a positive integer"
        )
    if (end - start) // step > MAX_POINTS:
        raise BadRequest(
            "exceeded maximum resolution of 11,000 points per timeseries. "
            "Try decreasing the query resolution (?step=XX)"
        )
    return list(range(start, end + 1, step))


def align_to_step(start: int, end: int, step: int) -> tuple[int, int]:
    """``start`` rounded down and ``end`` up to multiples of the step, as Loki's frontend
    does (``alignStartEnd``) before splitting a metric range query by interval; the step
    counts in whole milliseconds there."""
    grid = max(step // NS_PER_MS * NS_PER_MS, 1)
    start -= start % grid
    if end % grid:
        end += grid - end % grid
    return start, end


def _quantile(q: float, values: list[float]) -> float:
    """Prometheus ``quantile``: linear interpolation between closest ranks."""
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    lower = math.floor(rank)
    upper = min(lower + 1, len(ordered) - 1)
    weight = rank - lower
    return ordered[lower] * (1 - weight) + ordered[upper] * weight


def _range_function(agg: RangeAggregation) -> Callable[[list[float]], float]:
    seconds = agg.range_ns / NS_PER_SECOND
    op = agg.op
    table: dict[str, Callable[[list[float]], float]] = {
        "count_over_time": lambda v: float(len(v)),
        "rate": lambda v: math.fsum(v) / seconds,
        "bytes_over_time": math.fsum,
        "bytes_rate": lambda v: math.fsum(v) / seconds,
        "sum_over_time": math.fsum,
        "avg_over_time": lambda v: math.fsum(v) / len(v),
        "max_over_time": max,
        "min_over_time": min,
        "first_over_time": lambda v: v[0],
        "last_over_time": lambda v: v[-1],
        "stdvar_over_time": statistics.pvariance,
        "stddev_over_time": statistics.pstdev,
        "quantile_over_time": lambda v: _quantile(agg.param or 0.0, v),
    }
    return table[op]


def _collect_samples(
    store: Store, agg: RangeAggregation, first: int, last: int, work: Work
) -> dict[LabelKey, tuple[list[int], list[float]]]:
    """Samples with ``first < ts <= last`` per series (after the range grouping)."""
    pipeline = Pipeline(agg.query.stages)
    unwrapped = agg.query.unwrap is not None
    by_bytes = agg.op.startswith("bytes_")
    series: dict[LabelKey, list[tuple[int, float]]] = {}
    for stream in store.select(agg.query.matchers):
        lo, hi = stream.span(first + 1, last, end_inclusive=True)
        base = stream.labels
        for index in range(lo, hi):
            line = stream.lines[index]
            work.lines += 1
            work.bytes += len(line)
            labels = base
            value = float(len(line.encode())) if by_bytes else 1.0
            if not pipeline.trivial:
                outcome = pipeline.run(line, base)
                if outcome is None:
                    continue
                entry, extracted = outcome
                labels = entry.labels()
                if unwrapped and extracted is not None:
                    value = extracted
            if ERROR_LABEL in labels:
                raise PipelineError(labels[ERROR_LABEL], format_labels(label_key(labels)))
            if agg.grouping is not None:
                labels = agg.grouping.apply(labels)
            key = label_key(labels)
            series.setdefault(key, []).append((stream.timestamps[index], value))
    result: dict[LabelKey, tuple[list[int], list[float]]] = {}
    for key, samples in series.items():
        samples.sort(key=lambda s: s[0])
        result[key] = ([ts for ts, _ in samples], [v for _, v in samples])
    return result


def _eval_range(store: Store, agg: RangeAggregation, steps: list[int], work: Work) -> Series:
    func = _range_function(agg)
    samples = _collect_samples(store, agg, steps[0] - agg.range_ns, steps[-1], work)
    out: Series = {}
    for key, (times, values) in samples.items():
        points: dict[int, float] = {}
        for t in steps:
            lo, hi = bisect_right(times, t - agg.range_ns), bisect_right(times, t)
            if hi > lo:
                points[t] = func(values[lo:hi])
        if points:
            out[key] = points
    return out


def _vector_function(op: str) -> Callable[[list[float]], float]:
    table: dict[str, Callable[[list[float]], float]] = {
        "sum": math.fsum,
        "avg": lambda v: math.fsum(v) / len(v),
        "min": min,
        "max": max,
        "count": lambda v: float(len(v)),
        "stddev": statistics.pstdev,
        "stdvar": statistics.pvariance,
    }
    return table[op]


def _eval_vector(store: Store, agg: VectorAggregation, steps: list[int], work: Work) -> Series:
    inner = evaluate(store, agg.inner, steps, work)
    grouping = agg.grouping or Grouping(())
    grouped: dict[LabelKey, dict[int, list[float]]] = {}
    for key, points in inner.items():
        target = label_key(grouping.apply(dict(key)))
        bucket = grouped.setdefault(target, {})
        for t, value in points.items():
            bucket.setdefault(t, []).append(value)
    func = _vector_function(agg.op)
    return {
        key: {t: func(values) for t, values in sorted(buckets.items())}
        for key, buckets in grouped.items()
    }


def evaluate(store: Store, expr: MetricExpr, steps: list[int], work: Work) -> Series:
    """Evaluate a metric expression at every step."""
    if isinstance(expr, RangeAggregation):
        return _eval_range(store, expr, steps, work)
    return _eval_vector(store, expr, steps, work)
