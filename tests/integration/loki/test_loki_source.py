"""LokiSource paging against LokiSim: completeness, order, shared nanoseconds, splitting."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta

import pytest

from micro_gastown.errors import ConfigError
from micro_gastown.events.parse import SkipCounter
from micro_gastown.sources.loki import LokiClient, LokiConfig, LokiSource, RetryPolicy
from micro_gastown.timewindow import TimeWindow

from lokisim import LokiSim

T0 = 1_763_000_000 * 10**9
SEC = 10**9
HOUR = 3600 * SEC
SELECTOR = '{job="exomonad-native"}'
FAST = RetryPolicy(budget_s=3.0, initial_backoff_s=0.01, max_backoff_s=0.05, jitter_s=0.01)
Row = tuple[int, str, tuple[tuple[str, str], ...]]


@pytest.fixture
def loki() -> Iterator[LokiSim]:
    with LokiSim() as sim:
        yield sim
        assert not sim.errors, "\n".join(sim.errors)


@pytest.fixture
def client(loki: LokiSim) -> Iterator[LokiClient]:
    with LokiClient(LokiConfig(url=loki.url, retry=FAST)) as made:
        yield made


def labels_of(stream: int) -> dict[str, str]:
    return {"job": "exomonad-native", "event_type": f"type{stream % 3}", "agent": f"a{stream}"}


def read(source: LokiSource, window: TimeWindow) -> list[Row]:
    return [
        (ts, line, tuple(sorted(labels.items())))
        for ts, line, labels in source.entries(window, SkipCounter())
    ]


def assert_same_in_order(got: list[Row], pushed: list[Row]) -> None:
    assert [row[0] for row in got] == sorted(row[0] for row in got), "not oldest first"
    assert len(got) == len(set(got)), "duplicates"
    assert sorted(got) == sorted(pushed)


def test_round_trip_of_several_streams_across_split_ranges(
    loki: LokiSim, client: LokiClient
) -> None:
    rng = random.Random(7)
    pushed: list[Row] = []
    for stream in range(6):
        times = sorted(T0 + rng.randrange(3 * HOUR) for _ in range(600))
        entries = [(ts, f'{{"n":{i},"s":{stream}}}') for i, ts in enumerate(times)]
        loki.push(labels_of(stream), entries)
        key = tuple(sorted(labels_of(stream).items()))
        pushed += [(ts, line, key) for ts, line in entries]
    source = LokiSource(client, SELECTOR, batch_size=500)
    got = read(source, TimeWindow(T0, T0 + 3 * HOUR))
    assert_same_in_order(got, pushed)
    assert source.stats.lines_read == len(pushed) == 3600
    assert source.stats.requests == client.requests >= 3 * 2
    assert source.stats.bytes_read == client.bytes_received > 0


def test_fifty_entries_sharing_a_nanosecond_across_pages(loki: LokiSim, client: LokiClient) -> None:
    shared = T0 + 5 * SEC
    pushed: list[Row] = []
    for stream in range(10):
        entries = [(T0 + stream, f"before{stream}")]
        entries += [(shared, f"same{stream}-{i}") for i in range(5)]
        entries += [(shared + 1 + stream, f"after{stream}")]
        loki.push(labels_of(stream), entries)
        key = tuple(sorted(labels_of(stream).items()))
        pushed += [(ts, line, key) for ts, line in entries]
    source = LokiSource(client, SELECTOR, batch_size=7)
    got = read(source, TimeWindow(T0, T0 + 10 * SEC))
    assert_same_in_order(got, pushed)
    assert sum(1 for row in got if row[0] == shared) == 50
    assert source.stats.notes == []


def test_shared_nanosecond_with_a_pipeline_selector(loki: LokiSim, client: LokiClient) -> None:
    shared = T0 + SEC
    for stream in range(4):
        loki.push(labels_of(stream), [(shared, f'{{"i":{i}}}') for i in range(5)])
    source = LokiSource(client, SELECTOR + " | json", batch_size=3)
    got = read(source, TimeWindow(T0, T0 + 2 * SEC))
    assert len(got) == len(set(got)) == 20


def test_one_stream_over_the_page_size_in_one_nanosecond_ends_with_a_note(
    loki: LokiSim, client: LokiClient
) -> None:
    """The residual limit: Loki cannot page inside one stream's nanosecond."""
    loki.push(labels_of(0), [(T0, f"same{i:02d}") for i in range(20)] + [(T0 + 1, "next")])
    source = LokiSource(client, SELECTOR, batch_size=7)
    got = read(source, TimeWindow(T0, T0 + SEC))
    lines = [row[1] for row in got]
    assert len(lines) == len(set(lines)) == 15  # first 7 + last 7 + "next"
    assert lines[-1] == "next"
    assert "share the timestamp" in source.stats.notes[0]


def test_window_is_split_and_half_open(loki: LokiSim, client: LokiClient) -> None:
    loki.push(labels_of(0), [(T0 - 1, "early"), (T0, "first"), (T0 + 3 * HOUR, "at-end")])
    source = LokiSource(client, SELECTOR, batch_size=100)
    got = read(source, TimeWindow(T0, T0 + 3 * HOUR))
    assert [row[1] for row in got] == ["first"]
    ranges = [
        (int(r.params["start"][0]), int(r.params["end"][0]))
        for r in loki.requests
        if r.path.endswith("/query_range")
    ]
    assert ranges == [(T0 + h * HOUR, T0 + (h + 1) * HOUR) for h in range(3)]
    assert all(r.params["direction"] == ["forward"] for r in loki.requests)


def test_split_comes_from_the_config(loki: LokiSim) -> None:
    config = LokiConfig(url=loki.url, split=timedelta(minutes=30), batch_size=10)
    with LokiClient(config) as client:
        source = LokiSource(client, SELECTOR)
        assert read(source, TimeWindow(T0, T0 + HOUR)) == []
    assert len(loki.requests) == 2
    assert loki.requests[0].params["limit"] == ["10"]


def test_an_open_start_is_refused_before_any_request(loki: LokiSim, client: LokiClient) -> None:
    source = LokiSource(client, SELECTOR)
    with pytest.raises(ConfigError, match="--since"):
        read(source, TimeWindow(None, T0))
    assert loki.requests == []


def test_open_end_uses_now_and_describe_has_no_credentials(loki: LokiSim) -> None:
    loki.push(labels_of(0), [(T0, "x")])
    config = LokiConfig(url=loki.url, username="inst", password="pw-secret")
    with LokiClient(config) as client:
        source = LokiSource(client, SELECTOR, now=lambda: T0 + SEC)
        assert [row[1] for row in read(source, TimeWindow(T0, None))] == ["x"]
        assert source.describe() == f"loki:{loki.url}"
        assert "pw-secret" not in source.describe()
