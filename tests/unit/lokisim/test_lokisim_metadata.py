"""Labels, label values, series, and Loki 3's automatic labels."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lokisim import Loki3Labels, LokiSim
from lokisim.client import get
from lokisim.clock import HOUR, NOW, T0

API = "/loki/api/v1"


@pytest.fixture
def streams(loki: LokiSim) -> LokiSim:
    """Three streams with entries at T0 and one stale stream far in the past."""
    loki.push({"job": "exomonad-native", "event_type": "llm_call"}, [(T0, "a")])
    loki.push({"job": "exomonad-native", "event_type": "error", "span": "s1"}, [(T0, "b")])
    loki.push({"job": "tidepool-native", "event_type": "error"}, [(T0, "c")])
    loki.push({"job": "ancient", "event_type": "error"}, [(T0 - 100 * HOUR, "d")])
    return loki


def test_labels_default_to_the_last_six_hours(streams: LokiSim):
    response = get(streams.url + f"{API}/labels")
    assert response.json() == {"status": "success", "data": ["event_type", "job", "span"]}


def test_label_values(streams: LokiSim):
    response = get(streams.url + f"{API}/label/job/values")
    assert response.json() == {"status": "success", "data": ["exomonad-native", "tidepool-native"]}
    filtered = get(
        streams.url + f"{API}/label/event_type/values", {"query": '{job="tidepool-native"}'}
    )
    assert filtered.json()["data"] == ["error"]
    old = get(
        streams.url + f"{API}/label/job/values", {"start": T0 - 101 * HOUR, "end": T0 - 99 * HOUR}
    )
    assert old.json()["data"] == ["ancient"]


def test_label_values_of_unknown_label_omit_data(streams: LokiSim):
    assert get(streams.url + f"{API}/label/nope/values").json() == {"status": "success"}


def test_series_with_several_matchers(streams: LokiSim):
    response = get(
        streams.url + f"{API}/series",
        {
            "match[]": ['{event_type="llm_call"}', '{job="tidepool-native"}'],
            "start": T0,
            "end": NOW,
        },
    )
    assert response.json() == {
        "status": "success",
        "data": [
            {"event_type": "error", "job": "tidepool-native"},
            {"event_type": "llm_call", "job": "exomonad-native"},
        ],
    }


@pytest.fixture
def loki3() -> Iterator[LokiSim]:
    """A simulator adding Loki 3's service_name and detected_level."""
    with LokiSim(loki3_labels=Loki3Labels(enabled=True), clock=NOW) as sim:
        yield sim


def test_loki3_labels(loki3: LokiSim):
    loki3.push(
        {"job": "exomonad-native"},
        [(T0, '{"type":"error","message":"x"}'), (T0 + 1, '{"type":"llm_call","level":"info"}')],
    )
    loki3.push({"service_name": "svc"}, [(T0, "plain")])
    loki3.push({"team": "a"}, [(T0, "WARN disk")])
    response = get(loki3.url + f"{API}/series", {"match[]": '{job=~".+"}', "start": T0, "end": NOW})
    assert response.json()["data"] == [
        {"detected_level": "error", "job": "exomonad-native", "service_name": "exomonad-native"},
        {"detected_level": "info", "job": "exomonad-native", "service_name": "exomonad-native"},
    ]
    values = get(loki3.url + f"{API}/label/service_name/values", {"start": T0, "end": NOW})
    assert values.json()["data"] == ["exomonad-native", "svc", "unknown_service"]
    levels = get(loki3.url + f"{API}/label/detected_level/values", {"start": T0, "end": NOW})
    assert levels.json()["data"] == ["error", "info", "unknown", "warn"]
