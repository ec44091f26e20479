"""Loki's step grid: buckets ``(t - step, t]`` on multiples of the step tile any window."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from micro_gastown.sources.loki.grid import (
    MAX_POINTS,
    bucket_of,
    busy_windows,
    grid_bounds,
    grid_step,
    snap,
)
from micro_gastown.timewindow import TimeWindow

SECOND = 10**9
HOUR = 3600 * SECOND
T = 1_796_000_400 * SECOND  # a whole hour


def test_an_unaligned_window_is_asked_from_the_bucket_holding_its_start() -> None:
    start = T + 51 * 60 * SECOND  # 05:51 -> 07:51
    first, last = grid_bounds(start, start + 2 * HOUR, HOUR)
    assert (first, last) == (T + HOUR, T + 3 * HOUR)  # 06:00 (05:00, 06:00], 08:00


def test_a_line_on_the_grid_belongs_to_the_bucket_it_ends() -> None:
    assert bucket_of(T, HOUR) == T
    assert bucket_of(T + 1, HOUR) == T + HOUR


def test_busy_buckets_become_the_parts_of_the_window_they_cover() -> None:
    start, end = T + 51 * 60 * SECOND, T + 51 * 60 * SECOND + 2 * HOUR
    # Only 06:00 (05:00, 06:00] and 08:00 (07:00, 08:00] have lines.
    samples = [(T + HOUR, 3.0), (T + 2 * HOUR, 0.0), (T + 3 * HOUR, 1.0)]
    assert busy_windows(samples, HOUR, start, end) == [
        TimeWindow(start, T + HOUR + 1),
        TimeWindow(T + 2 * HOUR + 1, end),
    ]


def test_adjacent_buckets_merge_and_outside_ones_are_dropped() -> None:
    start, end = T + 10, T + 2 * HOUR - 10
    samples = [(T, 1.0), (T + HOUR, 1.0), (T + 2 * HOUR, 1.0), (T + 5 * HOUR, 2.0)]
    assert busy_windows(samples, HOUR, start, end) == [TimeWindow(start, end)]


def test_matrix_timestamps_in_float_seconds_snap_to_the_grid() -> None:
    approximate = round(float(T / SECOND) * 1e9)  # what parsing "1796000400" gives
    assert snap(approximate + 700, HOUR) == T
    assert snap(approximate - 700, HOUR) == T


def test_the_step_is_whole_milliseconds_and_keeps_points_within_lokis_limit() -> None:
    assert grid_step(HOUR, T, T + 2 * HOUR) == HOUR
    assert grid_step(1, T, T + SECOND) == 1_000_000
    step = grid_step(SECOND, T, T + 30 * 24 * HOUR)  # a month in 1 s buckets: too many
    first, last = grid_bounds(T, T + 30 * 24 * HOUR, step)
    assert (last - first) // step <= MAX_POINTS
    assert step % 1_000_000 == 0


@given(
    start=st.integers(T - 3 * HOUR, T + 3 * HOUR),
    length=st.integers(1, 5 * HOUR),
    step=st.sampled_from([SECOND, 60 * SECOND, 15 * 60 * SECOND, HOUR]),
    probes=st.lists(st.integers(0, 5 * HOUR - 1), min_size=1, max_size=20),
)
def test_every_nanosecond_of_the_window_is_in_exactly_one_read(
    start: int, length: int, step: int, probes: list[int]
) -> None:
    """Whatever the window, a line is read once exactly when its bucket counts it."""
    end = start + length
    lines = [start + probe % length for probe in probes]
    first, last = grid_bounds(start, end, step)
    counts: dict[int, float] = {}
    for line in lines:
        bucket = bucket_of(line, step)
        assert first <= bucket <= last
        assert bucket % step == 0
        counts[bucket] = counts.get(bucket, 0) + 1
    windows = busy_windows(sorted(counts.items()), step, start, end)
    for line in lines:
        assert sum(1 for w in windows if w.contains(line)) == 1
    assert all(start <= (w.start_ns or 0) < (w.end_ns or 0) <= end for w in windows)
