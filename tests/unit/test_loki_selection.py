"""Whole-window instant queries, and recovering stream labels from parsed query results."""

from __future__ import annotations

from micro_gastown.analysis.pushdown.queries import _stream_labels
from micro_gastown.logql import range_of as duration
from micro_gastown.logql import whole_window


def test_ranges_use_the_largest_exact_unit_and_never_one_loki_refuses() -> None:
    assert duration(86_400 * 10**9) == "86400s"
    assert duration(1_500_000_000) == "1500ms"
    # Loki's ParseDuration knows no "us" or "ns" ([2us] is a 400): finer rounds up to ms.
    assert duration(2_000) == "1ms"
    assert duration(1_000_000_001) == "1001ms"


def test_whole_window_covers_start_to_end_exclusive() -> None:
    start, end = 1_000 * 10**9, 1_060 * 10**9
    window, at = whole_window(start, end)
    # Loki evaluates (at - range, at]: with at = end - 1ns that is [start, end - 1ns].
    assert (window, at) == ("60s", end - 1)
    assert at - 60 * 10**9 == start - 1


def test_stream_labels_drop_what_json_extracted() -> None:
    line = '{"type":"llm_call","model":"m","ctx":{"a b":1},"tags":[1],"span":"zzz"}'
    labels = {
        "job": "exomonad-native",
        "span": "abc",  # a stream label a field collides with ...
        "span_extracted": "zzz",  # ... comes back renamed
        "type": "llm_call",
        "model": "m",
        "ctx_a_b": "1",
        "__error__": "",
    }
    assert _stream_labels(labels, line) == {"job": "exomonad-native", "span": "abc"}
    assert _stream_labels({"job": "x"}, "not json") == {"job": "x"}
