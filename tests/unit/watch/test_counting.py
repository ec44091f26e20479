"""Recorded LogQL is read as data: only our count shape, over the configured streams, is
run; each window is one instant query whose range is the window, evaluated at its end."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from micro_gastown.logql import LogQL
from micro_gastown.sources.loki.client import LokiClient
from micro_gastown.sources.loki.config import LokiConfig
from micro_gastown.watch.counting import (
    LokiCounter,
    error_measure,
    measure_look,
    recorded_log_query,
    recorded_measure,
)
from micro_gastown.watch.looks import DAY_NS, Look, Window

LOGQL = LogQL('{job="agents"}')
EVENTS = '{job="agents", event_type="transition"} | json | __error__="" | from="a" | to="b"'
SERIES = f"sum(count_over_time({EVENTS} [1h]))"


@pytest.mark.parametrize(
    "query",
    [
        None,
        "",
        f"sum(rate({EVENTS} [1h]))",
        f"count_over_time({EVENTS} [1h])",
        'sum(count_over_time({job="other"} | json [1h]))',
        SERIES.replace("[1h]", "[1h]\n"),
        'sum(count_over_time({job="agents"} |= "' + "x" * 5000 + '" [1h]))',
    ],
)
def test_a_query_not_of_our_shape_or_streams_is_never_run(query: str | None) -> None:
    log, why = recorded_log_query(query, LOGQL)
    assert log is None
    assert why


def test_our_count_query_gives_its_log_query() -> None:
    assert recorded_log_query(SERIES, LOGQL) == (EVENTS, None)


def test_an_exposure_recorded_but_unusable_makes_the_finding_unmeasured() -> None:
    measure = recorded_measure("f1", SERIES, 'sum(rate({job="x"} [1h]))', "calls", LOGQL)
    assert measure.why_not is not None
    assert "exposure" in measure.why_not
    fallback = recorded_measure("f1", SERIES, None, None, LOGQL)
    assert fallback.why_not is None
    assert fallback.exposure_log is None
    assert fallback.unit == "events"


def _client(answers: dict[str, float], seen: list[dict[str, list[str]]]) -> LokiClient:
    def handle(request: httpx.Request) -> httpx.Response:
        params = parse_qs(urlsplit(str(request.url)).query)
        seen.append(params)
        query = params["query"][0]
        value = next((v for k, v in answers.items() if k in query), None)
        result = [] if value is None else [{"metric": {}, "value": [0, str(value)]}]
        body = {"status": "success", "data": {"resultType": "vector", "result": result}}
        return httpx.Response(200, json=body)

    return LokiClient(LokiConfig(url="http://127.0.0.1:9"), transport=httpx.MockTransport(handle))


def test_each_window_is_one_instant_query_over_exactly_that_window() -> None:
    seen: list[dict[str, list[str]]] = []
    answers = {'from="a"': 120, 'event_type="error"': 30, '{job="agents"} [': 1000}
    counter = LokiCounter(_client(answers, seen), LOGQL)
    start = 1_780_000_000 * 1_000_000_000
    look = Look(2, 7, Window(start - 2 * DAY_NS, start), Window(start, start + 2 * DAY_NS))
    measures = [recorded_measure("f1", SERIES, None, None, LOGQL), error_measure(LOGQL)]
    measured, unmeasured = measure_look(counter, measures, look)
    assert not unmeasured
    finding, overall = measured
    assert (finding.before.events, finding.after.events) == (120, 120)
    assert overall.overall
    assert (overall.before.events, overall.before.exposure) == (30, 1000)
    assert finding.before.exposure == 1000  # no exposure recorded: all events of the streams
    queries = [p["query"][0] for p in seen]
    assert f"sum(count_over_time({EVENTS} [172800s]))" in queries
    assert all(p["time"][0] in (str(start - 1), str(start + 2 * DAY_NS - 1)) for p in seen)
    # the bare selector's count serves every measure: asked once per window
    assert queries.count('sum(count_over_time({job="agents"} [172800s]))') == 2


def test_events_counted_with_no_exposure_leave_the_finding_unmeasured() -> None:
    seen: list[dict[str, list[str]]] = []
    counter = LokiCounter(_client({'from="a"': 5}, seen), LOGQL)
    look = Look(1, 7, Window(0, DAY_NS), Window(DAY_NS, 2 * DAY_NS))
    measured, unmeasured = measure_look(
        counter, [recorded_measure("f1", SERIES, None, None, LOGQL)], look
    )
    assert not measured
    assert unmeasured[0].name == "f1"
    assert "disagree" in unmeasured[0].why
