"""Each finding's series: the step rule, Loki's bucket edges, and known counts per detector."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from micro_gastown.detectors.series import (
    MAX_BUCKETS,
    MINUTE_NS,
    BucketLayout,
    bucket_layout,
    count_query,
    counting_unit_ns,
    node_visits,
    rebucket,
    unit_of,
)
from micro_gastown.dsl import read_dsl
from micro_gastown.logql import LogQL
from micro_gastown.report.model import Pattern

from factories import BASE_NS, Export, analyze, patterns_of

SAMPLE = Path(__file__).resolve().parents[3] / "examples" / "exomonad-sample"
HOUR_NS = 60 * MINUTE_NS
DAY_NS = 24 * HOUR_NS


# -- the step rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length_ns", "step", "buckets"),
    [
        (HOUR_NS, 300, 12),  # the demo's sample: 5-minute buckets
        (2 * HOUR_NS, 600, 12),
        (12 * HOUR_NS - MINUTE_NS, 1800, 24),  # just under 12 h: still finer than hourly
        (12 * HOUR_NS, 3600, 12),
        (DAY_NS, 3600, 24),
        (31 * DAY_NS, 3600, MAX_BUCKETS),  # a month hourly is the cap itself
        (40 * DAY_NS, 7200, 480),  # longer: a coarser step
        (5 * MINUTE_NS, 60, 5),  # too short for 12 buckets: a minute at least
    ],
)
def test_the_step_follows_the_window_length(length_ns: int, step: int, buckets: int) -> None:
    layout = bucket_layout(BASE_NS, BASE_NS + length_ns)  # BASE_NS is midnight UTC
    assert (layout.step_seconds, layout.buckets) == (step, buckets)
    assert layout.start_ns == BASE_NS


def test_a_window_off_the_grid_starts_at_its_start_floored_to_the_step() -> None:
    start = BASE_NS + 7 * MINUTE_NS + 123
    layout = bucket_layout(start, start + HOUR_NS)
    assert layout.step_seconds == 300
    assert layout.start_ns == BASE_NS + 5 * MINUTE_NS
    assert layout.buckets == 13  # the partial buckets at both ends


@pytest.mark.parametrize("days", [32, 365, 3650, 40_000])
def test_long_windows_never_exceed_the_bucket_cap(days: int) -> None:
    start = BASE_NS + 13 * MINUTE_NS
    layout = bucket_layout(start, start + days * DAY_NS)
    assert layout.buckets <= MAX_BUCKETS
    assert layout.step_seconds % 3600 == 0
    if days >= 1000:
        assert layout.step_seconds % 86_400 == 0  # past 12 h steps, whole days


def test_the_counting_unit_is_the_step_when_the_window_is_known_else_a_minute() -> None:
    assert counting_unit_ns(BASE_NS, BASE_NS + DAY_NS) == HOUR_NS
    assert counting_unit_ns(BASE_NS, None) == MINUTE_NS
    assert counting_unit_ns(None, None) == MINUTE_NS


# -- buckets ---------------------------------------------------------------------------


def test_buckets_are_lokis_half_open_on_the_left() -> None:
    """A range sample at t counts (t - step, t]: an event exactly on a boundary belongs to
    the bucket that ends there; one exactly at the series start to bucket 0."""
    layout = BucketLayout(BASE_NS // (300 * 10**9), 300, 3)
    five = 5 * MINUTE_NS
    events = [BASE_NS, BASE_NS + 1, BASE_NS + five, BASE_NS + five + 1, BASE_NS + 3 * five]
    timeline: dict[int, int] = {}
    for ts in events:
        unit = unit_of(ts, MINUTE_NS)
        timeline[unit] = timeline.get(unit, 0) + 1
    assert rebucket(timeline, MINUTE_NS, layout) == [3, 1, 1]


def test_rebucketing_keeps_every_count() -> None:
    layout = bucket_layout(BASE_NS, BASE_NS + HOUR_NS)
    timeline = {unit_of(BASE_NS + m * MINUTE_NS + 7, MINUTE_NS): m + 1 for m in range(60)}
    values = rebucket(timeline, MINUTE_NS, layout)
    assert sum(values) == sum(timeline.values())
    assert values[0] == 1 + 2 + 3 + 4 + 5


def test_count_queries_take_the_step_as_their_range() -> None:
    layout = bucket_layout(BASE_NS, BASE_NS + DAY_NS)
    assert count_query('{a="b"}', layout) == 'sum(count_over_time({a="b"} [1h]))'
    assert bucket_layout(BASE_NS, BASE_NS + HOUR_NS).range == "5m"


def test_node_visits_select_entries_and_the_exits_of_nodes_never_entered() -> None:
    query = node_visits(LogQL(), ["refund", "a.b"], ["entry"])
    assert query.endswith(r"| to=~`a\.b|refund` or from=~`entry`")
    assert node_visits(LogQL(), [], []).endswith('| json | __error__=""')


# -- per detector: known bucket counts on a one-hour export ----------------------------


def _at(exp: Export, minute: int) -> Export:
    """The next event 1 ms into ``minute`` of the hour."""
    exp.now = BASE_NS + minute * MINUTE_NS
    return exp


def _series(pattern: Pattern) -> dict[str, Any]:
    assert pattern.series is not None
    return pattern.series.model_dump(exclude_none=True)


def _hour(exp: Export) -> None:
    """Ends the export 58 minutes in, so the window is an hour of 5-minute buckets."""
    _at(exp, 58).transition("filler", "x", "y")


def test_slow_llm_counts_slow_calls_over_the_nodes_calls(tmp_path: Path) -> None:
    exp = Export()
    named = {"fields": {"node": "summarize"}}
    _at(exp, 0).llm(None, latency=9000, **named).llm(None, latency=9000, **named)
    _at(exp, 7).llm(None, latency=9000, **named).llm(None, latency=100, **named)
    _at(exp, 56).llm(None, latency=9000, **named).llm(None, latency=9000, **named)
    _hour(exp)
    (slow,) = patterns_of(analyze(exp, tmp_path, min_occurrences=1), "slow_llm")
    series = _series(slow)
    assert series["start"] == "2025-11-21T00:00:00.000000000Z"
    assert series["step_seconds"] == 300
    assert series["values"] == [2, 1] + [0] * 9 + [2]
    assert series["exposure"] == [2, 2] + [0] * 9 + [2]
    assert sum(series["values"]) == slow.occurrences == slow.details["slow_calls"]
    assert (series["metric"], series["exposure_unit"]) == ("calls over 2000 ms", "calls")
    assert series["query"] == (
        'sum(count_over_time({job="exomonad-native", event_type="llm_call"} | json '
        '| __error__="" | node="summarize" | model="claude-haiku-4-5" | latency_ms > 2000 [5m]))'
    )
    assert "latency_ms" not in series["exposure_query"]


def test_slow_llm_calls_placed_by_their_span_have_no_query(tmp_path: Path) -> None:
    """Their node is known only from the span's order of events, which LogQL cannot see."""
    exp = Export()
    _at(exp, 0).transition("s1", "entry", "summarize")
    for minute in (1, 2, 3):
        _at(exp, minute).llm("s1", latency=9000)
    _hour(exp)
    (slow,) = patterns_of(analyze(exp, tmp_path), "slow_llm")
    series = _series(slow)
    assert series["values"][0] == 3
    assert "query" not in series
    assert "exposure_query" not in series


def test_token_bloat_counts_large_prompts_over_all_calls(tmp_path: Path) -> None:
    exp = Export()
    named = {"fields": {"node": "answerFaq"}}
    for minute, prompt in ((0, 20_000), (12, 20_000), (12, 500), (31, 20_000)):
        _at(exp, minute).llm(None, prompt=prompt, completion=10, **named)
    _hour(exp)
    (bloat,) = patterns_of(analyze(exp, tmp_path, min_occurrences=1), "token_bloat")
    series = _series(bloat)
    assert series["values"] == [1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    assert series["exposure"] == [1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    assert sum(series["exposure"]) == bloat.occurrences  # token_bloat counts every call
    assert series["metric"] == "calls with prompts of 8000+ tokens"
    assert "| prompt_tokens >= 8000 [5m]" in series["query"]


def _failing_refunds(exp: Export) -> None:
    """route → refund at minutes 0, 10, 20 and 30; the first three fail with an error."""
    for i, minute in enumerate((0, 10, 20, 30)):
        span = f"s{i}"
        _at(exp, minute).transition(span, "route", "refund")
        if minute < 30:
            _at(exp, minute + 1).error(span, f"payment gateway timeout after {i} ms")
    _hour(exp)


def test_failed_transition_counts_failures_over_traversals(tmp_path: Path) -> None:
    exp = Export()
    _failing_refunds(exp)
    (failed,) = patterns_of(analyze(exp, tmp_path, min_occurrences=1), "failed_transition")
    series = _series(failed)
    assert series["values"] == [1, 0, 1, 0, 1] + [0] * 7
    assert series["exposure"] == [1, 0, 1, 0, 1, 0, 1] + [0] * 5
    assert sum(series["values"]) == failed.occurrences
    assert sum(series["exposure"]) == failed.details["transitions"]
    assert "query" not in series  # attribution by span order has no LogQL
    assert series["exposure_query"].endswith('| from="route" | to="refund" [5m]))')


def test_repeated_error_counts_errors_over_visits_to_its_nodes(tmp_path: Path) -> None:
    exp = Export()
    _failing_refunds(exp)
    (repeated,) = patterns_of(analyze(exp, tmp_path, min_occurrences=1), "repeated_error")
    series = _series(repeated)
    assert series["values"] == [1, 0, 1, 0, 1] + [0] * 7
    assert sum(series["values"]) == repeated.occurrences
    assert series["exposure"] == [1, 0, 1, 0, 1, 0, 1] + [0] * 5  # entries into refund
    assert series["exposure_unit"] == "visits to its nodes"
    assert "query" not in series  # Drain's clusters are not a regex
    assert "| to=~`refund` [5m]" in series["exposure_query"]


def test_unattributed_errors_are_relative_to_every_transition(tmp_path: Path) -> None:
    exp = Export()
    for minute in (0, 5, 10):
        _at(exp, minute).error(None, "disk full on /var")
    _at(exp, 6).transition("s1", "a", "b")
    _hour(exp)
    (repeated,) = patterns_of(analyze(exp, tmp_path), "repeated_error")
    series = _series(repeated)
    assert series["values"][:3] == [1, 1, 1]
    assert series["exposure"] == [0, 1] + [0] * 9 + [1]  # a → b, and the closing filler
    assert series["exposure_unit"] == "graph transitions"


def test_effect_failure_counts_failures_over_executions(tmp_path: Path) -> None:
    exp = Export()
    _at(exp, 0).effect(None, "PaymentApi", success=False).effect(None, "PaymentApi")
    _at(exp, 17).effect(None, "PaymentApi", success=False)
    exp.effect(None, "PaymentApi", success=False)  # a millisecond later: not a duplicate
    _at(exp, 44).effect(None, "PaymentApi")
    _hour(exp)
    (effect,) = patterns_of(analyze(exp, tmp_path, min_occurrences=1), "effect_failure")
    series = _series(effect)
    assert series["values"] == [1, 0, 0, 2] + [0] * 8
    assert series["exposure"] == [2, 0, 0, 2, 0, 0, 0, 0, 1, 0, 0, 0]
    assert sum(series["values"]) == effect.occurrences
    assert series["query"].endswith('| effect_type="PaymentApi" | success="false" [5m]))')


def test_dead_path_counts_traversals_over_the_sources_exits(tmp_path: Path) -> None:
    exp = Export()
    for i in range(300):
        minute = i // 6  # 300 runs over the first 50 minutes
        span = f"s{i}"
        _at(exp, minute).transition(span, "entry", "classify")
        exp.transition(span, "classify", "route").transition(span, "route", "refund")
        target = "escalate" if i in (7, 200) else "summarize"
        exp.transition(span, "refund", target)
    _hour(exp)
    found = {
        (p.key["from"], p.key["to"]): p
        for p in patterns_of(analyze(exp, tmp_path, dsl=read_dsl(SAMPLE)), "dead_path")
    }
    never = _series(found[("route", "escalate")])
    assert never["values"] == [0] * 12
    assert never["exposure"] == [30] * 10 + [0, 0]
    assert never["query"].endswith('| from="route" | to="escalate" [5m]))')
    rare = found[("refund", "escalate")]
    series = _series(rare)
    assert series["values"] == [1] + [0] * 5 + [1] + [0] * 5
    assert sum(series["values"]) == rare.details["taken"]
    assert sum(series["exposure"]) == rare.details["source_exits"]
