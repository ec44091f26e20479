"""LokiSource paging: completeness, order, shared nanoseconds, splitting, and sub-ranges
fetched concurrently (same entries, bounded run-ahead, errors, stopping).

What Loki answers is tested against lokisim and the real Loki 3.4 alike (``loki_server``),
on data time-stamped in the last hours as a fresh real Loki serves it; what only a
simulator can show (the requests it received, scripted faults, held answers) stays on
lokisim.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import httpx
import pytest

from micro_gastown.errors import ConfigError, LokiUnavailableError
from micro_gastown.events.skips import SkipCounter
from micro_gastown.sources.loki import LokiClient, LokiConfig, LokiSource, RetryPolicy
from micro_gastown.timewindow import TimeWindow, format_ns
from realloki import LokiServer

from lokisim import LokiSim

T0 = 1_763_000_000 * 10**9
SEC = 10**9
MINUTE = 60 * SEC
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


@pytest.fixture
def either(loki_server: LokiServer) -> Iterator[tuple[LokiServer, LokiClient]]:
    """lokisim or a fresh tenant of the real Loki, and a client for it."""
    with LokiClient(loki_server.config(retry=FAST)) as made:
        yield loki_server, made


def recent_hour() -> int:
    """A whole hour 5 to 65 minutes ago: the real Loki serves it from its ingesters."""
    return (time.time_ns() - 5 * MINUTE) // HOUR * HOUR


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


def push_rows(server: LokiServer, stream: int, entries: list[tuple[int, str]]) -> list[Row]:
    server.push(labels_of(stream), entries)
    key = tuple(sorted(labels_of(stream).items()))
    return [(ts, line, key) for ts, line in entries]


# -- what Loki answers: lokisim and the real Loki ------------------------------------


def test_round_trip_of_several_streams_across_split_ranges(
    either: tuple[LokiServer, LokiClient],
) -> None:
    server, client = either
    start = time.time_ns() - 130 * MINUTE  # off the hour: every sub-range spans one
    rng = random.Random(7)
    pushed: list[Row] = []
    for stream in range(6):
        times = sorted(start + rng.randrange(2 * HOUR) for _ in range(400))
        pushed += push_rows(
            server, stream, [(ts, f'{{"n":{i},"s":{stream}}}') for i, ts in enumerate(times)]
        )
    source = LokiSource(client, SELECTOR, batch_size=500)
    got = read(source, TimeWindow(start, start + 2 * HOUR))
    assert_same_in_order(got, pushed)
    assert source.stats.lines_read == len(pushed) == 2400
    assert source.stats.requests == client.requests >= 2 * 2
    assert source.stats.bytes_read == client.bytes_received > 0


def test_fifty_entries_sharing_a_nanosecond_across_pages(
    either: tuple[LokiServer, LokiClient],
) -> None:
    server, client = either
    base = recent_hour() + 7 * MINUTE
    shared = base + 5 * SEC
    pushed: list[Row] = []
    for stream in range(10):
        entries = [(base + stream, f"before{stream}")]
        entries += [(shared, f"same{stream}-{i}") for i in range(5)]
        entries += [(shared + 1 + stream, f"after{stream}")]
        pushed += push_rows(server, stream, entries)
    source = LokiSource(client, SELECTOR, batch_size=7)
    got = read(source, TimeWindow(base, base + 10 * SEC))
    assert_same_in_order(got, pushed)
    assert sum(1 for row in got if row[0] == shared) == 50
    assert source.stats.notes == []


def test_shared_nanosecond_with_a_pipeline_selector(
    either: tuple[LokiServer, LokiClient],
) -> None:
    server, client = either
    shared = recent_hour() + 7 * MINUTE
    for stream in range(4):
        server.push(labels_of(stream), [(shared, f'{{"i":{i}}}') for i in range(5)])
    source = LokiSource(client, SELECTOR + " | json", batch_size=6)
    got = read(source, TimeWindow(shared - SEC, shared + SEC))
    assert len(got) == len(set(got)) == 20
    assert source.stats.notes == []


def test_a_crowd_in_one_nanosecond_split_by_a_parser_is_noted(
    either: tuple[LokiServer, LokiClient],
) -> None:
    """``| json`` gives each line its own answer stream; Loki orders those inside one
    nanosecond by their labels, not as pushed (lokisim: as pushed), so reading the two
    ends of a crowd larger than a page proves nothing: the note says some may be missing."""
    server, client = either
    shared = recent_hour() + 7 * MINUTE
    server.push(labels_of(0), [(shared, f'{{"i":{i}}}') for i in range(5)])
    source = LokiSource(client, SELECTOR + " | json", batch_size=3)
    got = read(source, TimeWindow(shared - SEC, shared + SEC))
    assert 3 <= len(got) == len(set(got)) <= 5
    (note,) = source.stats.notes
    assert "more than 3 entries of stream" in note
    assert "share the timestamp" in note


def test_one_stream_over_the_page_size_in_one_nanosecond_ends_with_a_note(
    either: tuple[LokiServer, LokiClient],
) -> None:
    """The residual limit: Loki cannot page inside one stream's nanosecond."""
    server, client = either
    at = recent_hour() + 7 * MINUTE
    server.push(labels_of(0), [(at, f"same{i:02d}") for i in range(20)] + [(at + 1, "next")])
    source = LokiSource(client, SELECTOR, batch_size=7)
    got = read(source, TimeWindow(at, at + SEC))
    lines = [row[1] for row in got]
    assert len(lines) == len(set(lines)) == 15  # first 7 + last 7 + "next"
    assert lines[-1] == "next"
    assert "share the timestamp" in source.stats.notes[0]


# -- issue 9: a full page from a query Loki splits at the hour -------------------------

BOUNDARY_STREAMS = {
    "p": [(-30 * SEC, "p-30s")],
    "s": [(i * SEC, f"s+{i}s") for i in (1, 2, 3)],
    "r": [(10 * SEC, "r+10s")],
}


def test_a_page_over_an_hour_boundary_is_read_whole_though_loki_merges_it_out_of_order(
    either: tuple[LokiServer, LokiClient],
) -> None:
    """Loki's frontend asks the two hours apart and merges the answers with a priority
    queue that skips the stream it just took from for one step: asked for 4 entries, it
    answers ``s+3s``'s place with the later ``r+10s``. Paging on from ``r+10s`` lost
    ``s+3s`` for good (the event the raw pull missed in issue 9)."""
    server, client = either
    hour = recent_hour()
    pushed: list[Row] = []
    for name, entries in BOUNDARY_STREAMS.items():
        labels = {"job": "exomonad-native", "stream": name}
        server.push(labels, [(hour + offset, line) for offset, line in entries])
        pushed += [(hour + offset, line, tuple(sorted(labels.items()))) for offset, line in entries]
    answer = client.query_range(SELECTOR, hour - MINUTE, hour + MINUTE, limit=4)
    answered = sorted(line for stream in answer.streams() for _, line in stream.values)
    assert answered == ["p-30s", "r+10s", "s+1s", "s+2s"]  # Loki's own answer, not ours
    source = LokiSource(client, SELECTOR, batch_size=4, concurrency=1)
    assert_same_in_order(read(source, TimeWindow(hour - MINUTE, hour + MINUTE)), pushed)


@pytest.mark.parametrize("batch_size", [3, 16, 50])
def test_pages_over_an_hour_boundary_lose_nothing_where_streams_share_nanoseconds(
    either: tuple[LokiServer, LokiClient], batch_size: int
) -> None:
    """Entries on a millisecond grid around a whole hour: one dense stream just after it,
    one well before, twelve sparse ones across it (so many share a nanosecond across
    streams, none within one). Page cuts fall inside runs of equal timestamps, and the
    page over the hour is one Loki merges (with lokisim, 16 and 50 lost entries there)."""
    server, client = either
    hour = recent_hour()
    rng = random.Random(batch_size)
    pushed: list[Row] = []
    for stream in range(14):
        if stream < 2:
            offsets = list(range(40) if stream == 0 else range(-80, -40))
        else:
            offsets = sorted(rng.sample(range(-80, 80), rng.randrange(3, 12)))
        entries = [(hour + offset * 1_000_000, f"{stream}@{offset}") for offset in offsets]
        pushed += push_rows(server, stream, entries)
    source = LokiSource(client, SELECTOR, batch_size=batch_size, concurrency=1)
    got = read(source, TimeWindow(hour - SEC, hour + SEC))
    assert_same_in_order(got, pushed)
    assert source.stats.notes == []


# -- what only lokisim shows -----------------------------------------------------------


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
    # Sub-ranges are fetched concurrently (default 2), so they may arrive in any order.
    assert sorted(ranges) == [(T0 + h * HOUR, T0 + (h + 1) * HOUR) for h in range(3)]
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
    with pytest.raises(ConfigError, match=r"^since: reading from Loki needs a start"):
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


# -- concurrent sub-ranges ------------------------------------------------------------


class Tap(httpx.HTTPTransport):
    """Real sockets to the sim, watched: overlap of query_range calls, held or failed ones.

    ``hold``: the first ``hold`` query_range requests wait (up to 5 s) until all of them
    have arrived, so they are in flight together exactly when they are sent concurrently.
    ``fail``: query_range requests whose ``start`` it accepts get a 503 instead.
    """

    def __init__(self, *, hold: int = 0, fail: Callable[[int], bool] | None = None) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._hold = hold
        self._all_held = threading.Event()
        self._fail = fail
        self.arrived = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.failed: list[int] = []
        self.first_failure = threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/query_range"):
            return super().handle_request(request)
        start = int(request.url.params["start"])
        with self._lock:
            self.arrived += 1
            arrival = self.arrived
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            if arrival == self._hold:
                self._all_held.set()
        try:
            if arrival <= self._hold:
                self._all_held.wait(timeout=5)
            if self._fail is not None and self._fail(start):
                with self._lock:
                    self.failed.append(start)
                self.first_failure.set()
                return httpx.Response(503, text="Service Unavailable")
            return super().handle_request(request)
        finally:
            with self._lock:
                self.in_flight -= 1


def workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("loki-range-")]


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.005)


def push_crowded_window(loki: LokiSim) -> tuple[list[Row], TimeWindow]:
    """3 h in 30-min sub-ranges, with crowds sharing one nanosecond at page and range edges.

    Covers: groups over several pages, the last and first nanosecond of a sub-range, a
    drill-down (a full page at one nanosecond) and the over-full stream that adds a note.
    """
    half = HOUR // 2
    rng = random.Random(11)
    crowded = [T0 + half - 1, T0 + half, T0 + 2 * half, T0 + 3 * half + 7, T0 + 5 * half - 1]
    pushed: list[Row] = []
    for stream in range(4):
        times = [T0 + rng.randrange(3 * HOUR) for _ in range(40)]
        times += [ts for ts in crowded for _ in range(6)]
        entries = sorted((ts, f'{{"s":{stream},"i":{i}}}') for i, ts in enumerate(times))
        loki.push(labels_of(stream), entries)
        key = tuple(sorted(labels_of(stream).items()))
        pushed += [(ts, line, key) for ts, line in entries]
    overfull = [(T0 + 4 * half, f"same{i:02d}") for i in range(45)]  # > 2 pages, one stream
    loki.push(labels_of(4), overfull)
    pushed += [(ts, line, tuple(sorted(labels_of(4).items()))) for ts, line in overfull]
    return pushed, TimeWindow(T0, T0 + 3 * HOUR)


def test_concurrency_yields_exactly_the_sequential_entries_notes_and_stats(
    loki: LokiSim,
) -> None:
    pushed, window = push_crowded_window(loki)
    runs = {}
    for concurrency in (1, 4):
        config = LokiConfig(url=loki.url, retry=FAST, split=timedelta(minutes=30))
        with LokiClient(config) as client:
            source = LokiSource(client, SELECTOR, batch_size=20, concurrency=concurrency)
            rows = []
            for ts, line, labels in source.entries(window, SkipCounter()):
                if not rows:  # concurrency 1 is the plain sequential path: no threads
                    assert bool(workers()) is (concurrency > 1)
                rows.append((ts, line, tuple(sorted(labels.items()))))
            assert source.stats.requests == client.requests
            assert source.stats.bytes_read == client.bytes_received
            runs[concurrency] = rows, source.stats
    (sequential, one), (concurrent, four) = runs[1], runs[4]
    assert concurrent == sequential  # same entries, same order, nothing lost or repeated
    assert four == one  # requests, bytes, lines, notes
    assert len(one.notes) == 1
    assert "share the timestamp" in one.notes[0]
    assert len(sequential) == len(set(sequential)) == len(pushed) - 5  # the note's loss
    assert one.requests > 6 * 3  # several pages per sub-range, plus drill-downs
    assert not workers()


def test_workers_run_ahead_at_most_one_page(loki: LokiSim) -> None:
    """The consumer pauses on its first entry; workers fetch a bounded few pages, no more."""
    for stream in range(2):
        loki.push(labels_of(stream), [(T0 + i * 60 * SEC, f"{stream}-{i}") for i in range(180)])
    config = LokiConfig(url=loki.url, retry=FAST)
    with LokiClient(config) as client:
        source = LokiSource(client, SELECTOR, batch_size=20, concurrency=2)
        entries = source.entries(TimeWindow(T0, T0 + 3 * HOUR), SkipCounter())
        next(entries)
        # Taken: page 1 of hour 1. Waiting: page 2 of hour 1, page 1 of hour 2 (of 21).
        wait_until(lambda: len(loki.requests) >= 3, "the workers' first pages")
        time.sleep(0.2)  # room for a run-away worker to show itself; none may
        assert len(loki.requests) == 3
        rest = list(entries)
    assert len(rest) == 2 * 180 - 1
    assert source.stats.requests == client.requests == len(loki.requests)


def test_requests_overlap_when_concurrency_is_above_one(loki: LokiSim) -> None:
    loki.push(labels_of(0), [(T0 + h * HOUR, f"h{h}") for h in range(4)])
    for concurrency, overlapping in ((1, 1), (2, 2)):
        tap = Tap(hold=2 if concurrency > 1 else 0)
        with LokiClient(LokiConfig(url=loki.url, retry=FAST), transport=tap) as client:
            source = LokiSource(client, SELECTOR, concurrency=concurrency)
            got = read(source, TimeWindow(T0, T0 + 4 * HOUR))
        assert [row[1] for row in got] == ["h0", "h1", "h2", "h3"]
        assert tap.most_in_flight == overlapping


def test_a_worker_error_is_raised_where_sequential_paging_fails(loki: LokiSim) -> None:
    """Hour 3 always answers 503: entries of hours 1-2 come first, then the same error."""
    for stream in range(3):
        loki.push(labels_of(stream), [(T0 + i * 60 * SEC, f"{stream}-{i}") for i in range(300)])
    broken = TimeWindow(T0 + 2 * HOUR, T0 + 3 * HOUR)
    budget = RetryPolicy(budget_s=0.3, initial_backoff_s=0.01, max_backoff_s=0.02, jitter_s=0)
    outcomes = {}
    for concurrency in (1, 4):
        tap = Tap(fail=broken.contains)
        config = LokiConfig(url=loki.url, retry=budget)
        with LokiClient(config, transport=tap) as client:
            source = LokiSource(client, SELECTOR, batch_size=50, concurrency=concurrency)
            rows: list[tuple[int, str]] = []
            entries = source.entries(TimeWindow(T0, T0 + 5 * HOUR), SkipCounter())
            with pytest.raises(LokiUnavailableError) as caught:
                rows.extend((ts, line) for ts, line, _ in entries)
            assert not workers()
        message = re.sub(r"\d+ attempts over [\d.]+s", "N attempts", str(caught.value))
        outcomes[concurrency] = rows, message
    assert outcomes[4] == outcomes[1]
    rows, message = outcomes[1]
    assert len(rows) == 3 * 120  # hours 1 and 2, complete
    assert max(ts for ts, _ in rows) < T0 + 2 * HOUR
    assert SELECTOR in message
    assert f"{format_ns(T0 + 2 * HOUR)} .. {format_ns(T0 + 3 * HOUR)}" in message
    assert "503" in message


@pytest.mark.parametrize("how", ["close the iterator", "close the source", "drop the iterator"])
def test_stopping_early_leaves_no_worker_and_counts_every_request(loki: LokiSim, how: str) -> None:
    for stream in range(3):
        loki.push(labels_of(stream), [(T0 + i * 10 * SEC, f"{stream}-{i}") for i in range(1000)])
    client = LokiClient(LokiConfig(url=loki.url, retry=FAST))
    source = LokiSource(client, SELECTOR, batch_size=20, concurrency=4)
    entries = source.entries(TimeWindow(T0, T0 + 3 * HOUR), SkipCounter())
    for _ in range(30):
        next(entries)
    assert workers()
    if how == "close the iterator":
        entries.close()
    elif how == "close the source":
        source.close()
    else:
        del entries
    assert not workers()
    source.close()
    assert source.stats.requests == client.requests == len(loki.requests)
    assert source.stats.lines_read == 30


def test_stopping_cuts_a_retry_wait_short(loki: LokiSim) -> None:
    """A worker backing off before its next attempt stops at once, not after the wait."""
    loki.push(labels_of(0), [(T0 + i * SEC, f"x{i}") for i in range(5)])
    loki.push(labels_of(0), [(T0 + HOUR + i * SEC, f"y{i}") for i in range(5)])
    second_hour = TimeWindow(T0 + HOUR, T0 + 2 * HOUR)
    tap = Tap(fail=second_hour.contains)
    patient = RetryPolicy(budget_s=40, initial_backoff_s=30, max_backoff_s=30, jitter_s=0)
    with LokiClient(LokiConfig(url=loki.url, retry=patient), transport=tap) as client:
        source = LokiSource(client, SELECTOR, concurrency=2)
        entries = source.entries(TimeWindow(T0, T0 + 2 * HOUR), SkipCounter())
        assert next(entries)[1] == "x0"
        assert tap.first_failure.wait(timeout=10)
        entries.close()  # the worker of hour 2 is now waiting 30 s to retry
        assert not workers()
    assert len(tap.failed) == 1  # no second attempt after the stop


def test_concurrency_comes_from_the_config_and_is_bounded(loki: LokiSim) -> None:
    config = LokiConfig(url=loki.url, concurrency=3)
    with LokiClient(config) as client:
        assert LokiSource(client, SELECTOR).concurrency == 3
        with pytest.raises(ConfigError, match="concurrency"):
            LokiSource(client, SELECTOR, concurrency=9)
