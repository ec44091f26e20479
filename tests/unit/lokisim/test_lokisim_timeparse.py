"""Time and duration formats shared with Loki's HTTP layer and Go's printing."""

from __future__ import annotations

import pytest

from lokisim.errors import BadRequest
from lokisim.timeparse import (
    go_duration,
    parse_duration,
    parse_step,
    parse_timestamp,
    prom_timestamp,
    prom_value,
)

S = 10**9


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (721 * 3600 * S, "721h0m0s"),
        (90 * S, "1m30s"),
        (1500 * 10**6, "1.5s"),
        (250 * 10**6, "250ms"),
        (3600 * S + 5 * 10**8, "1h0m0.5s"),
    ],
)
def test_go_duration(ns: int, text: str):
    assert go_duration(ns) == text


@pytest.mark.parametrize(
    ("text", "ns"),
    [("5m", 300 * S), ("1h30m", 5400 * S), ("1.5s", 1500 * 10**6), ("1d", 86400 * S), ("x", None)],
)
def test_parse_duration(text: str, ns: int | None):
    assert parse_duration(text) == ns


@pytest.mark.parametrize(
    ("value", "ns"),
    [
        ("1700000000", 1_700_000_000 * S),  # <= 10 digits: seconds
        ("1700000000123456789", 1_700_000_000_123_456_789),
        ("1700000000.25", 1_700_000_000 * S + 250 * 10**6),
        ("2023-11-14T22:13:20.000000001Z", 1_700_000_000 * S + 1),
        ("2023-11-14T23:13:20+01:00", 1_700_000_000 * S),
    ],
)
def test_parse_timestamp(value: str, ns: int):
    assert parse_timestamp(value, 0, "start") == ns


def test_parse_timestamp_default_and_error():
    assert parse_timestamp(None, 42, "end") == 42
    with pytest.raises(BadRequest):
        parse_timestamp("soon", 0, "end")
    assert parse_step("1m") == parse_step("60") == 60 * S


def test_prometheus_number_printing():
    assert prom_timestamp(1_700_000_000 * S) == 1_700_000_000
    assert prom_timestamp(1_700_000_000 * S + 5 * 10**8) == 1_700_000_000.5
    assert [prom_value(v) for v in (3.0, 0.05, 1e21, float("inf"), float("nan"))] == [
        "3",
        "0.05",
        "1000000000000000000000",
        "+Inf",
        "NaN",
    ]
