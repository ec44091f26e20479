"""Metric queries against hand-computed expectations (step windows are ``(t - range, t]``)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from lokisim import LokiSim
from lokisim.client import HttpResult, get
from lokisim.clock import SECOND, T0

QueryRange = Callable[..., HttpResult]
LLM = '{job="exomonad-native", event_type="llm_call"}'
S0 = T0 // SECOND  # T0 in unix seconds, as matrix timestamps print it

# (offset seconds, model, latency_ms); offset 60 sits exactly on the first step.
CALLS = [
    (10, "haiku", 100),
    (20, "haiku", 200),
    (30, "sonnet", 1000),
    (60, "haiku", 500),
    (70, "haiku", 300),
    (80, "sonnet", 2000),
    (90, "sonnet", 4000),
]


@pytest.fixture(autouse=True)
def calls(loki: LokiSim) -> None:
    """Load CALLS as llm_call events in one stream.

    Range queries here are evaluated exactly at ``start + k * step``, as a Loki that does
    not split queries by interval does; T0 is no multiple of 60 s, so a splitting Loki
    would move the steps (see test_lokisim_step_alignment.py).
    """
    loki.limits.split_queries_by_interval_ns = 0
    loki.push(
        {"job": "exomonad-native", "event_type": "llm_call"},
        [
            (T0 + off * SECOND, json.dumps({"type": "llm_call", "model": m, "latency_ms": ms}))
            for off, m, ms in CALLS
        ],
    )


def _matrix(query_range: QueryRange, query: str, step: str = "60s") -> list[dict]:
    response = query_range(query, start=T0 + 60 * SECOND, end=T0 + 120 * SECOND, step=step)
    assert response.status == 200, response.text
    data = response.json()["data"]
    assert data["resultType"] == "matrix"
    return data["result"]


def _by_model(*points: tuple[str, list[str]]) -> list[dict]:
    return [
        {"metric": {"model": model}, "values": [[S0 + 60, a], [S0 + 120, b]]}
        for model, (a, b) in points
    ]


def test_sum_by_count_over_time(query_range: QueryRange):
    query = f"sum by (model) (count_over_time({LLM} | json [1m]))"
    assert _matrix(query_range, query) == _by_model(("haiku", ["3", "1"]), ("sonnet", ["1", "2"]))


def test_postfix_grouping_and_step_spellings_agree(query_range: QueryRange):
    prefix = _matrix(query_range, f"sum by (model) (count_over_time({LLM} | json [1m]))")
    for step in ("1m", "60", "60.0"):
        query = f"sum(count_over_time({LLM} | json [1m])) by (model)"
        assert _matrix(query_range, query, step=step) == prefix


def test_count_over_time_without_aggregation_keeps_stream_labels(query_range: QueryRange):
    assert _matrix(query_range, f"count_over_time({LLM} [1m])") == [
        {
            "metric": {"event_type": "llm_call", "job": "exomonad-native"},
            "values": [[S0 + 60, "4"], [S0 + 120, "3"]],
        }
    ]


def test_quantile_over_time_unwrap_by_model(query_range: QueryRange):
    median = f"quantile_over_time(0.5, {LLM} | json | unwrap latency_ms [1m]) by (model)"
    assert _matrix(query_range, median) == _by_model(
        ("haiku", ["200", "300"]), ("sonnet", ["1000", "3000"])
    )
    p75 = f"quantile_over_time(0.75, {LLM} | json | unwrap latency_ms [1m]) by (model)"
    assert _matrix(query_range, p75) == _by_model(
        ("haiku", ["350", "300"]), ("sonnet", ["1000", "3500"])
    )


def test_avg_and_max_over_time_unwrap(query_range: QueryRange):
    avg = f"avg_over_time({LLM} | json | unwrap latency_ms [1m]) by (model)"
    assert _matrix(query_range, avg)[1]["values"] == [[S0 + 60, "1000"], [S0 + 120, "3000"]]
    top = f"max by (model) (max_over_time({LLM} | json | unwrap latency_ms [1m]) by (model))"
    assert _matrix(query_range, top)[0]["values"] == [[S0 + 60, "500"], [S0 + 120, "300"]]


def test_unwrap_drops_the_unwrapped_label(query_range: QueryRange):
    result = _matrix(query_range, f"sum_over_time({LLM} | json | unwrap latency_ms [1m])")
    assert all("latency_ms" not in series["metric"] for series in result)
    assert {series["metric"]["model"] for series in result} == {"haiku", "sonnet"}


def test_rate_is_count_per_second(query_range: QueryRange):
    assert _matrix(query_range, f"sum(rate({LLM} [1m]))") == [
        {"metric": {}, "values": [[S0 + 60, "0.06666666666666667"], [S0 + 120, "0.05"]]}
    ]


def test_steps_without_samples_are_omitted(query_range: QueryRange):
    response = query_range(
        f"count_over_time({LLM} [10s])", start=T0 + 90 * SECOND, end=T0 + 110 * SECOND, step="10s"
    )
    assert response.json()["data"]["result"][0]["values"] == [[S0 + 90, "1"]]


def test_instant_query_returns_a_vector(loki: LokiSim):
    response = get(
        f"{loki.url}/loki/api/v1/query",
        {"query": f"sum by (model) (count_over_time({LLM} | json [1m]))", "time": T0 + 60 * SECOND},
    )
    data = response.json()["data"]
    assert data["resultType"] == "vector"
    assert data["result"] == [
        {"metric": {"model": "haiku"}, "value": [S0 + 60, "3"]},
        {"metric": {"model": "sonnet"}, "value": [S0 + 60, "1"]},
    ]


def test_parse_errors_in_metric_lines_fail_the_query_like_loki(
    loki: LokiSim, query_range: QueryRange
):
    loki.push({"job": "exomonad-native", "event_type": "llm_call"}, [(T0 + 15 * SECOND, "junk")])
    failing = query_range(f"sum by (model) (count_over_time({LLM} | json [1m]))", step="60s")
    assert failing.status == 400
    assert failing.text.startswith("pipeline error: 'JSONParserErr' for series: '{__error__=")
    filtered = _matrix(
        query_range, f'sum by (model) (count_over_time({LLM} | json | __error__="" [1m]))'
    )
    assert filtered == _by_model(("haiku", ["3", "1"]), ("sonnet", ["1", "2"]))


def test_max_query_series_limit(loki: LokiSim, query_range: QueryRange):
    loki.limits.max_query_series = 1
    response = query_range(f"count_over_time({LLM} | json [1m])", step="60s")
    assert response.status == 400
    assert response.text == "maximum of series (1) reached for a single query"
