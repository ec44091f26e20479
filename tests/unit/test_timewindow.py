"""timewindow: durations, RFC 3339 → ns (both parsers), format_ns, and the analysis window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micro_gastown.cli.flags import worded
from micro_gastown.errors import ConfigError, UsageError
from micro_gastown.timewindow import (
    NS_PER_SECOND,
    TimestampParser,
    TimeWindow,
    datetime_to_ns,
    format_ns,
    parse_duration,
    parse_instant,
    parse_rfc3339_ns,
    window_from_flags,
)

BASE_S = 1_763_683_200  # 2025-11-21T00:00:00Z
BASE_NS = BASE_S * NS_PER_SECOND
FROZEN_NOW = datetime(2025, 11, 21, 12, 0, tzinfo=UTC)
FROZEN_NOW_NS = (BASE_S + 12 * 3600) * NS_PER_SECOND
HOUR_NS = 3600 * NS_PER_SECOND

# ---------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", timedelta(days=7)),
        ("24h", timedelta(hours=24)),
        ("90m", timedelta(minutes=90)),
        ("45s", timedelta(seconds=45)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("2d30s", timedelta(days=2, seconds=30)),
        ("0s", timedelta(0)),
        (" 24h ", timedelta(hours=24)),
        ("24h\n", timedelta(hours=24)),
    ],
)
def test_parse_duration_accepts_sleeptime_logs_forms(text: str, expected: timedelta) -> None:
    """Nd/Nh/Nm/Ns and their d-h-m-s ordered combinations parse; surrounding space is ignored."""
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        *("", "   ", "24", "h", "d", "1.5h", "-1h", "+1h", "24H", "1w", "30m1h", "1h 30m", "1h1h"),
        "1y",
        "\u0662\u0664h",  # Arabic-Indic digits: int() reads them, a duration is ASCII
        "\u00b2h",
    ],
)
def test_parse_duration_rejects_other_text_with_value_error(text: str) -> None:
    """Anything but ordered Nd/Nh/Nm/Ns parts is a ValueError that quotes the input."""
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_parse_duration_rejects_huge_value_with_value_error() -> None:
    """A duration beyond timedelta's range is the documented ValueError, not OverflowError."""
    with pytest.raises(ValueError, match="duration"):
        parse_duration("1000000000d")


# ---------------------------------------------------------------- RFC 3339


def test_parse_rfc3339_epoch_is_zero() -> None:
    """The Unix epoch is 0 ns."""
    assert parse_rfc3339_ns("1970-01-01T00:00:00Z") == 0


def test_parse_rfc3339_before_epoch_is_negative() -> None:
    """Instants before 1970 give negative nanoseconds with the fraction still added forward."""
    assert parse_rfc3339_ns("1969-12-31T23:59:59.5Z") == -NS_PER_SECOND // 2


_DIGITS = "123456789987"


@pytest.mark.parametrize("n_digits", range(13))
def test_parse_rfc3339_fraction_of_any_length(n_digits: int) -> None:
    """0–9 fractional digits scale to ns; digits past the ninth are truncated, not rounded."""
    fraction = _DIGITS[:n_digits]
    text = "2025-11-21T00:00:00" + (f".{fraction}" if fraction else "") + "Z"
    expected = BASE_NS + int(fraction[:9].ljust(9, "0") if fraction else "0")
    assert parse_rfc3339_ns(text) == expected
    assert TimestampParser()(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-11-21T00:00:00Z", BASE_NS),
        ("2025-11-21T00:00:00z", BASE_NS),
        ("2025-11-21t00:00:00Z", BASE_NS),
        ("2025-11-21 00:00:00Z", BASE_NS),
        ("2025-11-21T01:00:00+01:00", BASE_NS),
        ("2025-11-21T01:00:00+0100", BASE_NS),
        ("2025-11-20T18:30:00-0530", BASE_NS),
        ("2025-11-20T18:30:00-05:30", BASE_NS),
        ("2025-11-21T00:00:00+00:00", BASE_NS),
        ("2025-11-21T00:00:00-00:00", BASE_NS),
        ("2025-11-21T05:45:00.25+05:45", BASE_NS + 250_000_000),
    ],
)
def test_parse_rfc3339_zones_and_separators(text: str, expected: int) -> None:
    """Z/z, ±hh:mm and ±hhmm offsets and T/t/space separators name the same instant."""
    assert parse_rfc3339_ns(text) == expected
    assert TimestampParser()(text) == expected


_BAD_TIMESTAMPS = [
    "",
    "not a time",
    "2025-11-21",
    "2025-11-21T00:00:00",  # no zone: RFC 3339 requires one
    "2025-11-21T00:00:00.123",
    "2025-11-21T00:00:00.Z",  # a dot needs digits
    "2025-11-21T00:00:00.12a4Z",
    "2025-11-21T00:00:00+1:00",
    "2025-11-21T00:00:00 Z",
    "2025-13-01T00:00:00Z",  # month 13
    "2025-02-30T00:00:00Z",
    "2025-11-21T24:00:00Z",
    "2025-11-21T00:60:00Z",
    "2025-11-21T00:00:00.123+01:00Z",
    "1763683200000000000",
    "x2025-11-21T00:00:00Z",
    "2025-11-21T00:00:00.\u00b2Z",  # a superscript two, which str.isdigit() accepts
    "2025-11-21T00:00:00.\u0663Z",  # an Arabic-Indic three, which int() reads
    "\u0662\u0660\u0662\u0665-11-21T00:00:00Z",
]


@pytest.mark.parametrize("text", _BAD_TIMESTAMPS)
def test_parse_rfc3339_rejects_malformed_text(text: str) -> None:
    """Malformed or impossible timestamps are a ValueError from both parsers."""
    with pytest.raises(ValueError, match=r"RFC 3339|must be|out of range"):
        parse_rfc3339_ns(text)
    with pytest.raises(ValueError, match=r"RFC 3339|must be|out of range"):
        TimestampParser()(text)


_OFFSET_MINUTES = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59)


def _render(moment_ns: int, n_digits: int, offset_minutes: int | None, colon: bool) -> str:
    """``moment_ns`` as RFC 3339 text in a given offset (``None``: ``Z``) with n fraction digits."""
    seconds, nanos = divmod(moment_ns, NS_PER_SECOND)
    local_offset = timedelta(minutes=offset_minutes or 0)
    local = datetime.fromtimestamp(seconds, tz=UTC) + local_offset
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if n_digits:
        text += "." + f"{nanos:09d}".ljust(n_digits, "7")[:n_digits]
    if offset_minutes is None:
        return text + "Z"
    sign = "-" if offset_minutes < 0 else "+"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{text}{sign}{hours:02d}{':' if colon else ''}{minutes:02d}"


def _expected(moment_ns: int, n_digits: int) -> int:
    """The ns value that text with ``n_digits`` fractional digits denotes (truncation)."""
    seconds, nanos = divmod(moment_ns, NS_PER_SECOND)
    kept = int(f"{nanos:09d}"[: min(n_digits, 9)].ljust(9, "0")) if n_digits else 0
    return seconds * NS_PER_SECOND + kept


# 1900-01-01 .. 2199-12-31: four-digit years even after any offset is applied.
_MOMENTS = st.integers(
    min_value=-2_208_902_400 * NS_PER_SECOND, max_value=7_258_032_000 * NS_PER_SECOND
)


@settings(max_examples=80, deadline=None)
@given(
    moment=_MOMENTS,
    n_digits=st.integers(min_value=0, max_value=12),
    offset=st.none() | _OFFSET_MINUTES,
    colon=st.booleans(),
)
def test_timestamp_parser_agrees_with_parse_rfc3339(
    moment: int, n_digits: int, offset: int | None, colon: bool
) -> None:
    """For any instant, fraction length and offset, both parsers give the same (correct) ns."""
    text = _render(moment, n_digits, offset, colon)
    expected = _expected(moment, n_digits)
    assert parse_rfc3339_ns(text) == expected
    assert TimestampParser()(text) == expected


@settings(max_examples=50, deadline=None)
@given(
    start=_MOMENTS,
    steps=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=3 * NS_PER_SECOND),
            st.integers(min_value=0, max_value=12),
            st.none() | _OFFSET_MINUTES,
        ),
        min_size=1,
        max_size=20,
    ),
)
def test_timestamp_parser_cache_stays_correct_across_second_boundaries(
    start: int, steps: list[tuple[int, int, int | None]]
) -> None:
    """One parser fed a stream crossing seconds (and mixing offsets) never reuses a stale second."""
    parser = TimestampParser()
    moment = start
    for step_ns, n_digits, offset in steps:
        moment += step_ns
        text = _render(moment, n_digits, offset, colon=True)
        assert parser(text) == parse_rfc3339_ns(text) == _expected(moment, n_digits)


def test_timestamp_parser_consecutive_seconds_differ_by_one_ns() -> None:
    """The last ns of a second and the first of the next are 1 ns apart through the cache."""
    parser = TimestampParser()
    last = parser("2025-11-21T00:00:59.999999999Z")
    first = parser("2025-11-21T00:01:00.000000000Z")
    assert first - last == 1
    assert parser("2025-11-21T00:00:59.000000001Z") == last - 999_999_998


def test_timestamp_parser_cache_not_poisoned_by_a_bad_line() -> None:
    """A rejected timestamp leaves the parser working for the next good one."""
    parser = TimestampParser()
    assert parser("2025-11-21T00:00:00.1Z") == BASE_NS + 100_000_000
    with pytest.raises(ValueError, match=r"RFC 3339|must be"):
        parser("2025-13-21T00:00:00.1Z")
    with pytest.raises(ValueError, match="RFC 3339"):
        parser("2025-11-21T00:00:00.x1Z")
    with pytest.raises(ValueError, match="RFC 3339"):  # the cached second, a non-ASCII digit
        parser("2025-11-21T00:00:00.\u00b2Z")
    assert parser("2025-11-21T00:00:00.2Z") == BASE_NS + 200_000_000
    assert parser("2025-11-21T00:00:01.2Z") == BASE_NS + NS_PER_SECOND + 200_000_000


# ---------------------------------------------------------------- format_ns / datetime_to_ns


def test_format_ns_writes_nine_fraction_digits_in_utc() -> None:
    """format_ns always writes UTC with all nine fractional digits."""
    assert format_ns(0) == "1970-01-01T00:00:00.000000000Z"
    assert format_ns(BASE_NS + 1) == "2025-11-21T00:00:00.000000001Z"
    assert format_ns(-1) == "1969-12-31T23:59:59.999999999Z"


@settings(max_examples=80, deadline=None)
@given(ns=_MOMENTS)
def test_format_ns_round_trips_through_both_parsers(ns: int) -> None:
    """parse(format_ns(ns)) == ns exactly, for both parsers."""
    text = format_ns(ns)
    assert parse_rfc3339_ns(text) == ns
    assert TimestampParser()(text) == ns


def test_datetime_to_ns_is_exact_and_offset_aware() -> None:
    """Aware datetimes convert exactly (microseconds kept); the offset is honoured."""
    assert datetime_to_ns(datetime(2025, 11, 21, tzinfo=UTC)) == BASE_NS
    plus_two = timezone(timedelta(hours=2))
    assert datetime_to_ns(datetime(2025, 11, 21, 2, 0, 0, 123456, tzinfo=plus_two)) == (
        BASE_NS + 123_456_000
    )


def test_datetime_to_ns_rejects_naive_datetimes() -> None:
    """A naive datetime has no instant: ValueError."""
    with pytest.raises(ValueError, match="naive"):
        datetime_to_ns(datetime(2025, 11, 21))


# ---------------------------------------------------------------- TimeWindow


def test_time_window_is_half_open() -> None:
    """start is inside the window, end is not."""
    window = TimeWindow(100, 200)
    assert not window.contains(99)
    assert window.contains(100)
    assert window.contains(199)
    assert not window.contains(200)


def test_time_window_unbounded_sides() -> None:
    """None on a side means no bound there; the default window holds everything."""
    assert TimeWindow().contains(-(10**20))
    assert TimeWindow().contains(10**20)
    assert TimeWindow(start_ns=5).contains(10**20)
    assert not TimeWindow(start_ns=5).contains(4)
    assert TimeWindow(end_ns=5).contains(-(10**20))
    assert not TimeWindow(end_ns=5).contains(5)


def test_time_window_bounded_flag() -> None:
    """bounded is true when either side is set."""
    assert not TimeWindow().bounded
    assert TimeWindow(start_ns=1).bounded
    assert TimeWindow(end_ns=1).bounded
    assert TimeWindow(1, 2).bounded


def test_time_window_describe_names_both_ends() -> None:
    """describe() shows RFC 3339 ends, or beginning/end when unbounded."""
    assert TimeWindow().describe() == "beginning .. end"
    assert TimeWindow(BASE_NS, None).describe() == "2025-11-21T00:00:00.000000000Z .. end"
    assert TimeWindow(None, BASE_NS).describe() == "beginning .. 2025-11-21T00:00:00.000000000Z"


@pytest.mark.parametrize(("start", "end"), [(BASE_NS, BASE_NS), (BASE_NS + 1, BASE_NS)])
def test_time_window_empty_is_a_usage_error(start: int, end: int) -> None:
    """start >= end is an empty window: a UsageError about the start setting, both times."""
    with pytest.raises(UsageError, match="empty") as info:
        TimeWindow(start, end)
    message = str(info.value)
    assert info.value.setting == "since"
    assert worded(info.value).startswith("--since: the time window is empty")
    assert format_ns(start) in message
    assert format_ns(end) in message
    assert isinstance(info.value, ConfigError)


def test_time_window_is_frozen() -> None:
    """A window cannot be changed after it is made."""
    window = TimeWindow(1, 2)
    with pytest.raises(AttributeError):
        window.start_ns = 0  # type: ignore[misc]


# ---------------------------------------------------------------- flags


def test_window_from_flags_without_flags_is_unbounded() -> None:
    """No --since and no --until: the whole source."""
    assert window_from_flags(None, None, now=FROZEN_NOW) == TimeWindow(None, None)


def test_window_from_flags_since_duration_counts_back_from_now() -> None:
    """--since 24h starts 24 h before the frozen now and leaves the end open."""
    window = window_from_flags("24h", None, now=FROZEN_NOW)
    assert window == TimeWindow(FROZEN_NOW_NS - 24 * HOUR_NS, None)


def test_window_from_flags_durations_on_both_sides() -> None:
    """--since 7d --until 1h30m gives [now-7d, now-1h30m)."""
    window = window_from_flags("7d", "1h30m", now=FROZEN_NOW)
    assert window.start_ns == FROZEN_NOW_NS - 7 * 24 * HOUR_NS
    assert window.end_ns == FROZEN_NOW_NS - 90 * 60 * NS_PER_SECOND


def test_window_from_flags_accepts_rfc3339_instants() -> None:
    """RFC 3339 flags are absolute and ignore now."""
    window = window_from_flags("2025-11-20T00:00:00Z", "2025-11-21T01:00:00+01:00", now=FROZEN_NOW)
    assert window == TimeWindow(BASE_NS - 24 * HOUR_NS, BASE_NS)


def test_window_from_flags_now_in_another_offset_is_the_same_instant() -> None:
    """A frozen now given in +02:00 yields the same window as the same instant in UTC."""
    now_plus_two = FROZEN_NOW.astimezone(timezone(timedelta(hours=2)))
    assert window_from_flags("1h", "30m", now=now_plus_two) == window_from_flags(
        "1h", "30m", now=FROZEN_NOW
    )


def test_window_from_flags_defaults_now_to_the_clock() -> None:
    """Without now, durations count back from the current time."""
    before = datetime_to_ns(datetime.now(UTC))
    window = window_from_flags("1h", None)
    after = datetime_to_ns(datetime.now(UTC))
    assert window.start_ns is not None
    assert before - HOUR_NS <= window.start_ns <= after - HOUR_NS


@pytest.mark.parametrize(
    ("since", "until", "flag"), [("yesterday", None, "--since"), (None, "1x", "--until")]
)
def test_window_from_flags_bad_value_names_the_flag(
    since: str | None, until: str | None, flag: str
) -> None:
    """An unparseable value is a UsageError naming the flag and quoting the value."""
    bad = since or until
    with pytest.raises(UsageError) as info:
        window_from_flags(since, until, now=FROZEN_NOW)
    message = worded(info.value)
    assert message.startswith(f"{flag} {bad!r}")
    assert str(info.value).startswith(f"{flag[2:]} {bad!r}")
    assert "24h" in message
    assert "RFC 3339" in message


def test_window_from_flags_since_after_until_is_empty() -> None:
    """--since 1h --until 2h (start after end) is the empty-window UsageError."""
    with pytest.raises(UsageError, match="empty"):
        window_from_flags("1h", "2h", now=FROZEN_NOW)


def test_parse_instant_prefers_duration_then_rfc3339() -> None:
    """parse_instant reads durations relative to now and RFC 3339 as absolute."""
    assert parse_instant("0s", setting="since", now=FROZEN_NOW) == FROZEN_NOW_NS
    assert parse_instant("2025-11-21T00:00:00Z", setting="since", now=FROZEN_NOW) == BASE_NS


@pytest.mark.parametrize("value", ["1000000000d", "999999999d"])
def test_window_from_flags_huge_duration_is_a_usage_error(value: str) -> None:
    """--since reaching before year 1 is a UsageError, not an OverflowError traceback."""
    with pytest.raises(UsageError) as info:
        window_from_flags(value, None, now=FROZEN_NOW)
    assert worded(info.value).startswith(f"--since {value!r}: ")
