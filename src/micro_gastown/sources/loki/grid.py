"""Where Loki evaluates a metric range query, and which lines each of its samples counts.

Loki does not evaluate ``/query_range`` at ``start, start + step, ...`` as asked: its query
frontend, splitting the query by ``split_queries_by_interval`` (1h by default), first
rounds ``start`` down and ``end`` up to multiples of the step (``alignStartEnd`` in
``pkg/querier/queryrange``). Samples land on that grid, and the one at ``t`` counts the
lines of ``(t - range, t]``. A caller that maps samples back to its own unaligned
instants files counts under the wrong sub-range and skips lines; one that asks on the
grid itself, with ``range == step``, gets buckets that tile time, whether or not the Loki
it talks to aligns (a Loki without splitting evaluates exactly where it is asked).

Matrix timestamps come back as float seconds (millisecond precision), so a sample is
placed by snapping it to the nearest grid instant.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from micro_gastown.timewindow import TimeWindow

NS_PER_MS: Final = 1_000_000
MAX_POINTS: Final = 11_000
"""Loki refuses a range query with more points per series than this."""


def grid_step(split_ns: int, start_ns: int, end_ns: int) -> int:
    """A bucket width for counting ``[start_ns, end_ns)``: ``split_ns`` rounded up to
    whole milliseconds (Loki's step resolution), widened if the window would need more
    than ``MAX_POINTS`` buckets."""
    step = max(split_ns, 1)
    step = max(step, -(-(end_ns - start_ns) // (MAX_POINTS - 2)))
    return -(-step // NS_PER_MS) * NS_PER_MS


def bucket_of(ts_ns: int, step_ns: int) -> int:
    """The grid instant whose sample counts a line at ``ts_ns``: the bucket
    ``(t - step, t]`` holding it, i.e. the first multiple of the step at or after it."""
    return -(-ts_ns // step_ns) * step_ns


def grid_bounds(start_ns: int, end_ns: int, step_ns: int) -> tuple[int, int]:
    """The first and last grid instants whose buckets hold a nanosecond of
    ``[start_ns, end_ns)``: the ``start``/``end`` to ask ``/query_range`` for."""
    return bucket_of(start_ns, step_ns), bucket_of(max(end_ns - 1, start_ns), step_ns)


def snap(sample_ns: int, step_ns: int) -> int:
    """A sample's timestamp (float seconds in the answer) back on the grid."""
    return (sample_ns + step_ns // 2) // step_ns * step_ns


def busy_windows(
    samples: Iterable[tuple[int, float]], step_ns: int, start_ns: int, end_ns: int
) -> list[TimeWindow]:
    """The parts of ``[start_ns, end_ns)`` whose buckets count lines, adjacent ones merged.

    A bucket ``(t - step, t]`` is the half-open ``[t - step + 1ns, t + 1ns)`` a log query
    asks for, clipped to the window; every nanosecond of the window is in exactly one.
    """
    busy = sorted({snap(ts, step_ns) for ts, value in samples if value > 0})
    windows: list[TimeWindow] = []
    for instant in busy:
        low, high = max(instant - step_ns + 1, start_ns), min(instant + 1, end_ns)
        if low >= high:
            continue  # a bucket Loki added outside the window
        if windows and windows[-1].end_ns == low:
            windows[-1] = TimeWindow(windows[-1].start_ns, high)
        else:
            windows.append(TimeWindow(low, high))
    return windows
