"""LogQL pipelines over HTTP: line filters, ``| json`` grouping and errors, label filters."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from lokisim import LokiSim
from lokisim.client import HttpResult
from lokisim.clock import T0

QueryRange = Callable[..., HttpResult]
SEL = '{job="exomonad-native"}'


def _lines(response: HttpResult) -> list[str]:
    assert response.status == 200, response.text
    result = response.json()["data"]["result"]
    return sorted(line for stream in result for _, line in stream["values"])


def _event(**fields: object) -> str:
    return json.dumps(fields)


@pytest.fixture
def events(loki: LokiSim) -> dict[str, str]:
    """Five ExoMonad events plus one junk line, all in one stream."""
    lines = {
        "slow": _event(type="llm_call", model="haiku", latency_ms=2500, prompt_tokens=10),
        "fast": _event(type="llm_call", model="sonnet", latency_ms=300, prompt_tokens=5),
        "route": _event(type="graph_transition", **{"from": "route", "to": "refund"}),
        "other": _event(type="graph_transition", **{"from": "route", "to": "close"}),
        "error": _event(type="error", message="boom", context={"order": {"id": 7}}),
        "junk": "panic: not json at all",
    }
    loki.push({"job": "exomonad-native"}, [(T0 + i, line) for i, line in enumerate(lines.values())])
    return lines


@pytest.mark.parametrize(
    ("pipeline", "expected"),
    [
        ('|= "llm_call"', ["fast", "slow"]),
        ('!= "llm_call"', ["error", "junk", "other", "route"]),
        ('|~ "lat.ncy_ms\\": [0-9]{4}"', ["slow"]),
        ('!~ "type|panic"', []),
        ('|= "llm_call" != "haiku"', ["fast"]),
        ('|= `"to": "refund"`', ["route"]),
        ('|~ "not json"', ["junk"]),  # line filter regexes are unanchored
    ],
)
def test_line_filters(query_range: QueryRange, events: dict[str, str], pipeline, expected):
    got = _lines(query_range(f"{SEL} {pipeline}"))
    assert got == sorted(events[name] for name in expected)


@pytest.mark.parametrize(
    ("pipeline", "expected"),
    [
        ('| json | type="llm_call"', ["fast", "slow"]),
        ('| json | model=~"hai.*"', ["slow"]),
        ('| json | model=~"hai"', []),  # label filter regexes are anchored
        ('| json | type!="llm_call" | __error__=""', ["error", "other", "route"]),
        # Numeric filters let lines that already carry __error__ through, as Loki does.
        ("| json | latency_ms > 1000", ["slow", "junk"]),
        ('| json | latency_ms > 1000 | __error__=""', ["slow"]),
        ("| json | latency_ms >= 300, latency_ms < 2500", ["fast", "junk"]),
        ("| json | latency_ms == 300", ["fast", "junk"]),
        ('| json | __error__="" | prompt_tokens <= 5 or latency_ms > 2000', ["fast", "slow"]),
        ('| json | type="error" or (from="route" and to="refund")', ["error", "route"]),
        ('| json | type="graph_transition" to="close"', ["other"]),
        ('| json | context_order_id="7"', ["error"]),
        ('| json | __error__="JSONParserErr"', ["junk"]),
        ('| json | __error__!=""', ["junk"]),
        ('| json |= "boom"', ["error"]),
    ],
)
def test_json_and_label_filters(
    query_range: QueryRange, events: dict[str, str], pipeline, expected
):
    got = _lines(query_range(f"{SEL} {pipeline}"))
    assert got == sorted(events[name] for name in expected)


def test_json_labels_join_the_stream_labels_and_split_streams(
    query_range: QueryRange, events: dict[str, str]
):
    # Forward: a backward query over an hour boundary lists its streams in reverse label
    # order (Loki's frontend merges the split answers that way).
    answer = query_range(f'{SEL} | json | type="llm_call"', direction="forward")
    result = answer.json()["data"]["result"]
    assert [stream["stream"] for stream in result] == [
        {
            "job": "exomonad-native",
            "latency_ms": "2500",
            "model": "haiku",
            "prompt_tokens": "10",
            "type": "llm_call",
        },
        {
            "job": "exomonad-native",
            "latency_ms": "300",
            "model": "sonnet",
            "prompt_tokens": "5",
            "type": "llm_call",
        },
    ]


def test_non_json_lines_are_kept_with_an_error_label(
    query_range: QueryRange, events: dict[str, str]
):
    result = query_range(f'{SEL} | json |= "panic"').json()["data"]["result"]
    assert result[0]["stream"] == {"job": "exomonad-native", "__error__": "JSONParserErr"}


def test_numeric_filter_on_text_value_marks_label_filter_error(
    loki: LokiSim, query_range: QueryRange
):
    loki.push({"job": "exomonad-native"}, [(T0, _event(latency_ms="fast"))])
    result = query_range(f"{SEL} | json | latency_ms > 5").json()["data"]["result"]
    assert result[0]["stream"]["__error__"] == "LabelFilterErr"


def test_json_key_clashing_with_stream_label_gets_extracted_suffix(
    loki: LokiSim, query_range: QueryRange
):
    loki.push({"job": "exomonad-native"}, [(T0, _event(job="inner", flag=True, gone=None))])
    result = query_range(f"{SEL} | json").json()["data"]["result"]
    assert result[0]["stream"] == {
        "job": "exomonad-native",
        "job_extracted": "inner",
        "flag": "true",
    }


def test_logfmt_parser(loki: LokiSim, query_range: QueryRange):
    loki.push({"job": "exomonad-native"}, [(T0, 'level=warn msg="slow call" ms=12')])
    result = query_range(f'{SEL} | logfmt | level="warn"').json()["data"]["result"]
    assert result[0]["stream"]["msg"] == "slow call"
