"""Histogram percentiles and evidence samples: exact, and the same however data is split."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micro_gastown.detectors.stats import (
    FirstSamples,
    Histogram,
    RemoteDistribution,
    TopSamples,
    quantile,
    tidy,
)
from micro_gastown.events.model import LlmCall


def _type7(values: list[int], q: float) -> float:
    """Hyndman & Fan type 7 (R's default, Prometheus' and Loki's quantile), written out."""
    ordered = sorted(values)
    h = (len(ordered) - 1) * q
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


def _histogram(values: list[int]) -> Histogram:
    histogram = Histogram()
    for value in values:
        histogram.add(value)
    return histogram


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=500), min_size=1, max_size=300))
def test_percentiles_interpolate_like_loki_over_all_values(values: list[int]) -> None:
    histogram = _histogram(values)
    qs = (0.0, 0.5, 0.95, 0.99, 1.0)
    got = histogram.percentiles(*qs)
    # Bit for bit what Loki sends for the same values (push-down relies on it) ...
    assert got == [quantile(q, [float(v) for v in values]) for q in qs]
    # ... and the textbook definition, up to float rounding.
    assert got == pytest.approx([_type7(values, q) for q in qs], rel=1e-12, abs=1e-9)
    assert len(histogram) == len(values)
    assert histogram.summary()["max"] == max(values)
    assert histogram.count_above(250) == sum(1 for v in values if v > 250)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=50), min_size=1), st.data())
def test_merged_halves_equal_the_whole(values: list[int], data: st.DataObject) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(values)))
    left, right = _histogram(values[:cut]), _histogram(values[cut:])
    left.merge(right)
    assert left.counts == _histogram(values).counts


def _event(i: int) -> LlmCall:
    return LlmCall(i, {}, {}, None, None, "m", 1, 1, i)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=9), min_size=1, max_size=40), st.data())
def test_samples_kept_in_parts_merge_to_what_one_pass_keeps(
    scores: list[int], data: st.DataObject
) -> None:
    """Ties in score go to the earliest event, across a split as within one pass."""
    cut = data.draw(st.integers(min_value=0, max_value=len(scores)))
    events = [_event(i) for i in range(len(scores))]
    whole_top, left_top, right_top = TopSamples(), TopSamples(), TopSamples()
    whole_first, left_first, right_first = FirstSamples(), FirstSamples(), FirstSamples()
    for position, (score, event) in enumerate(zip(scores, events, strict=True)):
        whole_top.offer(score, position, event)
        whole_first.offer(position, event)
        (left_top if position < cut else right_top).offer(score, position, event)
        (left_first if position < cut else right_first).offer(position, event)
    right_top.merge(left_top)
    right_first.merge(left_first)
    assert right_top.events() == whole_top.events()
    assert right_first.events() == whole_first.events() == events[:5]
    best = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:5]
    assert whole_top.events() == [events[i] for i in best]


def test_interpolated_percentiles_by_hand() -> None:
    histogram = _histogram([100, 200, 300, 400])
    # rank = q * (n - 1): 0.5 -> 1.5 (between 200 and 300), 0.95 -> 2.85
    assert histogram.percentiles(0.5, 0.95) == [250.0, 385.0]
    assert _histogram([7]).percentiles(0.5, 0.99) == [7.0, 7.0]


def test_remote_distribution_answers_only_what_was_fetched() -> None:
    remote = RemoteDistribution(40, {0.5: 1.5, 0.95: 9.0, 0.99: 9.5}, maximum=10.0, above={5: 3})
    assert len(remote) == 40
    assert remote.summary() == {"p50": 1.5, "p95": 9.0, "p99": 9.5, "max": 10}
    assert remote.count_above(5) == 3
    with pytest.raises(LookupError, match=r"quantile 0\.75 was not fetched"):
        remote.percentiles(0.75)
    with pytest.raises(LookupError, match="count above 6"):
        remote.count_above(6)


def test_tidy_makes_ints_only_where_they_are_exact() -> None:
    """12.0 reads as 12; a figure beyond 2**53 (or inf, NaN) stays a float, which JSON can
    always write, instead of an int that invents digits and overflows 64 bits."""
    assert (tidy(12.0), tidy(3.14159), tidy(-2.0)) == (12, 3.14, -2)
    assert type(tidy(12.0)) is int
    for figure in (1.2345678901234568e29, 1e23, 1.79e308, -1e30, math.inf):
        assert tidy(figure) == figure
        assert type(tidy(figure)) is float
    assert math.isnan(tidy(math.nan))


def test_summary_of_one_to_a_hundred() -> None:
    histogram = _histogram(list(range(1, 101)))
    summary = histogram.summary()
    assert summary == pytest.approx({"p50": 50.5, "p95": 95.05, "p99": 99.01, "max": 100})
    assert summary["max"] == 100


def test_count_above_excludes_the_limit_itself() -> None:
    assert _histogram([1999, 2000, 2000, 2001]).count_above(2000) == 1


def test_a_distribution_without_values_has_no_percentile() -> None:
    with pytest.raises(ValueError, match=r"^percentile of no values$"):
        Histogram().percentiles(0.5)


def test_loki_aggregates_never_merge_with_counted_values() -> None:
    """A part counted locally and one computed by Loki cannot be added up: that is a bug."""
    remote = RemoteDistribution(3, {0.5: 1.0})
    with pytest.raises(TypeError, match=r"^only local histograms merge$"):
        _histogram([1]).merge(remote)
    with pytest.raises(TypeError, match=r"^aggregates computed by Loki cannot be merged$"):
        remote.merge(_histogram([1]))
    with pytest.raises(LookupError, match=r"^the maximum was not fetched from Loki$"):
        remote.maximum()


def test_tidy_keeps_two_to_the_53_a_float() -> None:
    """2**53 is also the float nearest 2**53 + 1: as an int it would claim a digit it lacks."""
    assert type(tidy(2.0**53)) is float
    assert type(tidy(2.0**53 - 1)) is int


def test_top_samples_floor_is_the_score_to_beat_once_full() -> None:
    """Until five are kept every event gets in; then only one above the fifth best."""
    top = TopSamples()
    for position, score in enumerate([50, 10, 40, 30]):
        top.offer(score, position, _event(position))
    assert top.floor == -math.inf
    top.offer(20, 4, _event(4))
    assert top.floor == 10
    top.offer(60, 5, _event(5))
    assert top.floor == 20


def test_first_samples_keep_the_earliest_whatever_order_they_are_offered_in() -> None:
    first = FirstSamples()
    for order in [20, 10, 3, 2, 1, 15]:
        first.offer(order, _event(order))
    assert [event.ts_ns for event in first.events()] == [1, 2, 3, 10, 15]
