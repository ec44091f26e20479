"""Client mistakes get Loki's plain-text 4xx answers, word for word where Loki has one."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lokisim import LokiSim
from lokisim.client import HttpResult, get, push_json, request
from lokisim.clock import HOUR, SECOND, T0

QueryRange = Callable[..., HttpResult]
SEL = '{job="exomonad-native"}'


def _plain_400(response: HttpResult) -> str:
    assert response.status == 400
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_limit_above_max_entries(query_range: QueryRange):
    assert _plain_400(query_range(SEL, limit=5001)) == (
        "max entries limit per query exceeded, limit > max_entries_limit_per_query (5001 > 5000)"
    )


def test_max_entries_limit_is_configurable(loki: LokiSim, query_range: QueryRange):
    loki.limits.max_entries_limit_per_query = 10
    assert "(11 > 10)" in _plain_400(query_range(SEL, limit=11))
    assert query_range(SEL, limit=10).status == 200


def test_query_length_limit(query_range: QueryRange):
    text = _plain_400(query_range(SEL, start=T0, end=T0 + 800 * HOUR))
    assert text == (
        "the query time range exceeds the limit (query length: 800h0m0s, limit: 721h0m0s)"
    )


def test_parse_error_body(query_range: QueryRange):
    assert _plain_400(query_range("{job=exomonad}")) == (
        "parse error at line 1, col 6: syntax error: unexpected IDENTIFIER, expecting STRING"
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": 0}, "limit must be a positive value"),
        ({"start": T0 + 10 * SECOND, "end": T0}, "end timestamp must not be before"),
        ({"step": "0"}, "zero or negative query resolution step widths are not accepted"),
        ({"step": "1ms"}, "exceeded maximum resolution of 11,000 points per timeseries"),
        ({"direction": "sideways"}, 'invalid parameter "direction"'),
        ({"start": "yesterday"}, 'cannot parse "yesterday" to a valid timestamp'),
        ({"step": "soon"}, 'cannot parse "soon" to a valid duration'),
    ],
)
def test_bad_parameters(query_range: QueryRange, params: dict, message: str):
    assert message in _plain_400(query_range(SEL, **params))


def test_instant_log_query_is_rejected(loki: LokiSim):
    response = get(f"{loki.url}/loki/api/v1/query", {"query": SEL})
    assert "log queries are not supported as an instant query type" in _plain_400(response)


def test_unknown_path_is_404(loki: LokiSim):
    response = get(f"{loki.url}/loki/api/v1/nope")
    assert response.status == 404
    assert response.text == "404 page not found\n"


def test_wrong_method_is_405(loki: LokiSim):
    assert get(f"{loki.url}/loki/api/v1/push").status == 405


def test_push_rejects_bad_bodies(loki: LokiSim):
    url = f"{loki.url}/loki/api/v1/push"
    garbage = request("POST", url, body=b"{", headers={"Content-Type": "application/json"})
    assert "failed to decode push request" in _plain_400(garbage)
    no_labels = push_json(loki.url, [{"stream": {}, "values": [[str(T0), "x"]]}])
    assert _plain_400(no_labels) == "error at least one label pair is required per stream"
    protobuf = request(
        "POST", url, body=b"\x00", headers={"Content-Type": "application/x-protobuf"}
    )
    assert "accepts JSON" in _plain_400(protobuf)
