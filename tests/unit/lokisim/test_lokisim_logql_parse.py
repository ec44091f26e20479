"""The LogQL parser: accepted shapes, precedence, and Loki-worded rejections."""

from __future__ import annotations

import pytest

from lokisim.errors import ParseError
from lokisim.logql import parse
from lokisim.logql.syntax import (
    BinaryLabelFilter,
    LabelFilterStage,
    LogQuery,
    RangeAggregation,
    VectorAggregation,
)


def test_and_binds_tighter_than_or():
    expr = parse('{a="b"} | json | x="1" or y="2" and z="3"')
    assert isinstance(expr, LogQuery)
    stage = expr.stages[1]
    assert isinstance(stage, LabelFilterStage)
    assert isinstance(stage.expr, BinaryLabelFilter)
    assert stage.expr.is_and is False
    assert isinstance(stage.expr.right, BinaryLabelFilter)
    assert stage.expr.right.is_and is True


def test_vector_aggregation_accepts_grouping_before_or_after():
    before = parse('sum by (model) (count_over_time({a="b"} | json [1h]))')
    after = parse('sum(count_over_time({a="b"} | json [1h])) by (model)')
    assert before == after
    assert isinstance(before, VectorAggregation)
    assert isinstance(before.inner, RangeAggregation)
    assert before.inner.range_ns == 3600 * 10**9


def test_quantile_with_unwrap_and_range_grouping():
    expr = parse('quantile_over_time(0.95, {a="b"} | json | unwrap latency_ms [5m]) by (model)')
    assert isinstance(expr, RangeAggregation)
    assert expr.param == 0.95
    assert expr.query.unwrap is not None
    assert expr.grouping is not None
    assert expr.grouping.labels == ("model",)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "parse error : syntax error: unexpected $end"),
        ('{job="x"', "parse error at line 1, col 9: syntax error: unexpected $end"),
        ("{job=x}", "parse error at line 1, col 6: syntax error: unexpected IDENTIFIER"),
        ('job="x"', "parse error at line 1, col 1: syntax error: unexpected IDENTIFIER"),
        ('{job="x"} | nonsense', "parse error at line 1, col 21: syntax error: unexpected $end"),
        ('{job=~".*"}', "parse error : queries require at least one regexp or equality matcher"),
        ('{job="x"} | unwrap latency_ms', "syntax error: unexpected IDENTIFIER"),
        ('count_over_time({job="x"} | json | unwrap a [1m])', "invalid aggregation"),
        ('sum_over_time({job="x"} [1m])', "invalid aggregation sum_over_time without unwrap"),
        ('count_over_time({job="x"} [1m]) by (a)', "grouping not allowed for count_over_time"),
        ('{job="x"} |~ "("', "error parsing regexp"),
        ('topk(3, count_over_time({job="x"} [1m]))', "syntax error: unexpected IDENTIFIER"),
        ('{job="x"} [5m]', "syntax error: unexpected RANGE"),
    ],
)
def test_rejections_use_loki_wording(query: str, message: str):
    with pytest.raises(ParseError) as caught:
        parse(query)
    assert caught.value.status == 400
    assert message in caught.value.message


@pytest.mark.parametrize("text", ["5us", "5µs", "1000000001ns", "1s5ns"])
def test_ranges_finer_than_a_millisecond_are_refused_like_loki(text: str) -> None:
    """Loki 3.4.6 answers 400 'unknown unit "ns" in duration "5833500000001ns"'."""
    with pytest.raises(ParseError, match=r'unknown unit "(us|µs|ns)" in duration'):
        parse(f'count_over_time({{a="b"}} [{text}])')


def test_ranges_in_milliseconds_and_up_are_accepted() -> None:
    expr = parse('count_over_time({a="b"} [1h30m250ms])')
    assert isinstance(expr, RangeAggregation)
    assert expr.range_ns == (5400 * 1000 + 250) * 10**6
