"""Push and query_range round trips: ordering, limits, range bounds, stream grouping."""

from __future__ import annotations

from collections.abc import Callable

from lokisim import LokiSim
from lokisim.client import HttpResult, get, push_json
from lokisim.clock import HOUR, MINUTE, NOW, SECOND, T0

QueryRange = Callable[..., HttpResult]

SEL = '{job="exomonad-native"}'


def _values(result: dict) -> list[tuple[str, str]]:
    return [(ts, line) for stream in result["data"]["result"] for ts, line in stream["values"]]


def test_http_push_then_query_returns_loki_stream_shape(loki: LokiSim, query_range: QueryRange):
    pushed = push_json(
        loki.url,
        [
            {
                "stream": {"job": "exomonad-native"},
                "values": [[str(T0 + 1), "a"], [str(T0 + 2), "b"]],
            }
        ],
    )
    assert pushed.status == 204
    assert pushed.body == b""
    result = query_range(SEL)
    assert result.status == 200
    assert result.headers["content-type"].startswith("application/json")
    payload = result.json()
    assert payload["status"] == "success"
    assert payload["data"]["resultType"] == "streams"
    assert payload["data"]["result"] == [
        {"stream": {"job": "exomonad-native"}, "values": [[str(T0 + 2), "b"], [str(T0 + 1), "a"]]}
    ]
    assert payload["data"]["stats"]["summary"]["totalEntriesReturned"] == 2


def test_forward_direction_is_oldest_first(loki: LokiSim, query_range: QueryRange):
    loki.push({"job": "exomonad-native"}, [(T0 + i, f"l{i}") for i in range(5)])
    forward = _values(query_range(SEL, direction="forward").json())
    assert [line for _, line in forward] == ["l0", "l1", "l2", "l3", "l4"]


def test_limit_keeps_first_entries_in_direction_order_across_streams(
    loki: LokiSim, query_range: QueryRange
):
    loki.push({"job": "exomonad-native", "event_type": "a"}, [(T0 + 1, "a1"), (T0 + 4, "a4")])
    loki.push({"job": "exomonad-native", "event_type": "b"}, [(T0 + 2, "b2"), (T0 + 3, "b3")])
    backward = query_range(SEL, limit=3).json()
    assert sorted(line for _, line in _values(backward)) == ["a4", "b2", "b3"]
    forward = query_range(SEL, limit=3, direction="forward").json()
    assert sorted(line for _, line in _values(forward)) == ["a1", "b2", "b3"]
    # streams are ordered by label string, values per direction
    assert [s["stream"]["event_type"] for s in forward["data"]["result"]] == ["a", "b"]


def test_start_is_inclusive_and_end_exclusive(loki: LokiSim, query_range: QueryRange):
    loki.push({"job": "exomonad-native"}, [(T0 + i * SECOND, f"s{i}") for i in range(4)])
    result = query_range(SEL, start=T0 + SECOND, end=T0 + 3 * SECOND, direction="forward")
    assert [line for _, line in _values(result.json())] == ["s1", "s2"]


def test_pagination_by_moving_end_covers_entries_sharing_one_nanosecond(
    loki: LokiSim, query_range: QueryRange
):
    """logcli-style paging (end := last ts + 1, drop lines seen at that ts) needs a limit
    above the number of entries sharing one nanosecond; then nothing is lost."""
    same = [(T0 + 5, f"same{i}") for i in range(7)]
    loki.push({"job": "exomonad-native"}, [(T0 + 1, "first"), *same, (T0 + 9, "last")])
    seen: list[tuple[str, str]] = []
    end = NOW
    for _ in range(10):
        page = _values(query_range(SEL, end=end, limit=8).json())
        fresh = [entry for entry in page if entry not in seen]
        if not fresh:
            break
        seen.extend(fresh)
        end = int(page[-1][0]) + 1
    assert len(seen) == 9
    assert {line for _, line in seen} == {"first", "last"} | {line for _, line in same}


def test_exact_duplicates_are_dropped_but_same_ts_different_lines_kept(
    loki: LokiSim, query_range: QueryRange
):
    loki.push({"job": "exomonad-native"}, [(T0 + 1, "x"), (T0 + 1, "x"), (T0 + 1, "y")])
    loki.push({"job": "exomonad-native"}, [(T0 + 1, "x")])
    assert sorted(line for _, line in _values(query_range(SEL).json())) == ["x", "y"]


def test_out_of_order_pushes_are_returned_sorted(loki: LokiSim, query_range: QueryRange):
    loki.push({"job": "exomonad-native"}, [(T0 + 3, "c"), (T0 + 1, "a")])
    loki.push({"job": "exomonad-native"}, [(T0 + 2, "b"), (T0 + 1, "a")])
    result = query_range(SEL, direction="forward").json()
    assert [line for _, line in _values(result)] == ["a", "b", "c"]


def test_timestamps_accept_seconds_float_and_rfc3339(loki: LokiSim, query_range: QueryRange):
    loki.push({"job": "exomonad-native"}, [(T0 + 500 * 10**6, "half"), (T0 + 2 * SECOND, "two")])
    by_float = query_range(SEL, start="1700000000.5", end="1700000001")
    assert [line for _, line in _values(by_float.json())] == ["half"]
    by_seconds = query_range(SEL, start="1700000001", end="1700000003")
    assert [line for _, line in _values(by_seconds.json())] == ["two"]
    by_rfc = query_range(SEL, start="2023-11-14T22:13:20.5Z", end="2023-11-14T22:13:21Z")
    assert [line for _, line in _values(by_rfc.json())] == ["half"]


def test_default_range_is_the_last_hour_before_now(loki: LokiSim):
    loki.push({"job": "exomonad-native"}, [(T0 - SECOND, "old"), (NOW - SECOND, "recent")])
    result = get(f"{loki.url}/loki/api/v1/query_range", {"query": SEL})
    assert [line for _, line in _values(result.json())] == ["recent"]


def test_regex_and_negative_selectors(loki: LokiSim, query_range: QueryRange):
    loki.push({"job": "exomonad-native", "event_type": "llm_call"}, [(T0 + 1, "llm")])
    loki.push({"job": "exomonad-native", "event_type": "error"}, [(T0 + 2, "err")])
    loki.push({"job": "tidepool-native", "event_type": "error"}, [(T0 + 3, "old")])
    lines = lambda q: sorted(line for _, line in _values(query_range(q).json()))  # noqa: E731
    assert lines('{job=~"exomonad.*"}') == ["err", "llm"]
    assert lines('{job=~"exomonad"}') == []  # regex matchers are anchored
    assert lines('{job=~".+", event_type!="error"}') == ["llm"]
    assert lines('{event_type="error", job!~"tide.*"}') == ["err"]


def test_post_form_query_range_is_accepted(loki: LokiSim):
    from lokisim.client import request

    loki.push({"job": "exomonad-native"}, [(T0 + 1, "a")])
    body = f"query={SEL}&start={T0}&end={NOW}".encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    result = request("POST", f"{loki.url}/loki/api/v1/query_range", body=body, headers=headers)
    assert result.status == 200
    assert _values(result.json()) == [(str(T0 + 1), "a")]


def test_push_of_many_entries_is_fast_and_counted(loki: LokiSim, query_range: QueryRange):
    loki.push({"job": "exomonad-native"}, ((T0 + i, f"x{i}") for i in range(200_000)))
    assert loki.store.entry_count == 200_000
    page = query_range(SEL, limit=5000).json()
    assert len(_values(page)) == 5000
    assert _values(page)[0] == (str(T0 + 199_999), "x199999")


# -- Loki's query frontend: split by the hour, answers merged --------------------------

HOUR_MARK = T0 - T0 % HOUR + HOUR  # the first whole hour after T0
SPLIT_STREAMS = {
    "p": [(HOUR_MARK - 30 * SECOND, "p1")],
    "s": [(HOUR_MARK + i * SECOND, f"s{i}") for i in (1, 2, 3)],
    "r": [(HOUR_MARK + 10 * SECOND, "r10")],
}


def _push_split_streams(loki: LokiSim) -> None:
    for name, entries in SPLIT_STREAMS.items():
        loki.push({"job": "exomonad-native", "stream": name}, entries)


def test_a_full_answer_over_an_hour_boundary_is_merged_as_loki_merges_it(
    loki: LokiSim, query_range: QueryRange
):
    """Loki's merge skips the stream it just took from for one step: with a limit of 4,
    ``s3`` is left out and the later ``r10`` taken (as Loki 3.4.6 answers)."""
    _push_split_streams(loki)
    window = {"start": HOUR_MARK - MINUTE, "end": HOUR_MARK + MINUTE, "direction": "forward"}
    answer = query_range(SEL, limit=4, **window).json()["data"]
    assert sorted(line for _, line in _values({"data": answer})) == ["p1", "r10", "s1", "s2"]
    assert (answer["stats"]["summary"]["splits"], answer["stats"]["summary"]["shards"]) == (2, 2)
    everything = query_range(SEL, limit=5, **window).json()["data"]
    assert len(_values({"data": everything})) == 5  # all of it fits: nothing merged away


def test_inside_one_hour_the_answer_is_the_first_entries(loki: LokiSim, query_range: QueryRange):
    _push_split_streams(loki)
    window = {"start": HOUR_MARK, "end": HOUR_MARK + MINUTE, "direction": "forward"}
    answer = query_range(SEL, limit=3, **window).json()["data"]
    assert sorted(line for _, line in _values({"data": answer})) == ["s1", "s2", "s3"]
    assert (answer["stats"]["summary"]["splits"], answer["stats"]["summary"]["shards"]) == (0, 1)


def test_a_backward_answer_over_an_hour_boundary_lists_streams_in_reverse(
    loki: LokiSim, query_range: QueryRange
):
    _push_split_streams(loki)
    answer = query_range(SEL, start=HOUR_MARK - MINUTE, end=HOUR_MARK + MINUTE).json()
    assert [s["stream"]["stream"] for s in answer["data"]["result"]] == ["s", "r", "p"]
