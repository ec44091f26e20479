"""Histogram percentiles and evidence samples: exact, and the same however data is split."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from micro_gastown.detectors.stats import FirstSamples, Histogram, TopSamples
from micro_gastown.events.model import LlmCall


def _nearest_rank(values: list[int], q: float) -> int:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def _histogram(values: list[int]) -> Histogram:
    histogram = Histogram()
    for value in values:
        histogram.add(value)
    return histogram


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=500), min_size=1, max_size=300))
def test_percentiles_equal_nearest_rank_over_all_values(values: list[int]) -> None:
    histogram = _histogram(values)
    qs = (0.5, 0.95, 0.99, 1.0)
    assert histogram.percentiles(*qs) == [_nearest_rank(values, q) for q in qs]
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
