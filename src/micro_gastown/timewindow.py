"""Time: durations (``24h``), RFC 3339 instants, nanosecond epochs, and the analysis window.

Loki and ExoMonad both speak nanoseconds since the epoch; logcli exports speak RFC 3339
with up to nine fractional digits and any UTC offset. Everything inside micro-gastown is an
``int`` of nanoseconds; conversion happens here, once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from micro_gastown.errors import UsageError

NS_PER_SECOND = 1_000_000_000
# re.ASCII: ``\d`` would also match other scripts' digits, which int() then reads.
_DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$", re.ASCII)
# RFC 3339 with optional fraction (any number of digits) and Z or +hh:mm / -hh:mm.
_RFC3339_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:?\d{2})$",
    re.ASCII,
)


def parse_duration(text: str) -> timedelta:
    """Parse ``Nd``, ``Nh``, ``Nm``, ``Ns`` or combinations such as ``1h30m`` (sleeptime-logs)."""
    match = _DURATION_RE.match(text.strip())
    if not text.strip() or match is None or not any(match.groups()):
        raise ValueError(f"not a duration: {text!r} (expected e.g. 24h, 7d, 90m, 1h30m)")
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    try:
        return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    except OverflowError:
        raise ValueError(f"duration too large: {text!r}") from None


def parse_rfc3339_ns(text: str) -> int:
    """Parse an RFC 3339 timestamp (nanosecond precision kept) into epoch nanoseconds."""
    match = _RFC3339_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    base = datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC
    )
    seconds = int(base.timestamp())
    if offset not in ("Z", "z"):
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        if int(digits[:2]) > 23 or int(digits[2:]) > 59:
            raise ValueError(f"not an RFC 3339 timestamp: {text!r} (offset out of range)")
        seconds -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    nanos = int((fraction or "0")[:9].ljust(9, "0"))
    return seconds * NS_PER_SECOND + nanos


FRACTION_SCALE: tuple[int, ...] = tuple(10 ** (9 - n) for n in range(10))


class TimestampParser:
    """Fast RFC 3339 → ns for export files, whose consecutive lines share their hour.

    UTC (``Z``) stamps take a fast path: the epoch of the current ``YYYY-MM-DDTHH`` is
    cached, minutes and seconds are added, and the fraction (0–9 digits; logcli trims
    trailing zeros) is scaled by a table. Anything else goes through the full parser.
    """

    __slots__ = ("_epoch", "_hour", "_hour_epoch", "_key")

    def __init__(self) -> None:
        self._key = ""
        self._epoch = 0
        self._hour = ""
        self._hour_epoch = 0

    def __call__(self, text: str) -> int:
        size = len(text)
        # ASCII only: str.isdigit() also says yes to "²" and to other scripts' digits.
        if size >= 20 and text[-1] == "Z" and text.isascii():
            key = text[:19]
            if key != self._key and not self._advance(key):
                return parse_rfc3339_ns(text)
            if size == 20:
                return self._epoch
            fraction = text[20:-1]
            if text[19] == "." and 0 < len(fraction) <= 9 and fraction.isdigit():
                return self._epoch + int(fraction) * FRACTION_SCALE[len(fraction)]
        return parse_rfc3339_ns(text)

    def _advance(self, key: str) -> bool:
        """Move the cache to a new second; False when ``key`` is not plain ``...THH:MM:SS``."""
        minute, second = key[14:16], key[17:19]
        if not (key[13] == ":" and key[16] == ":" and minute.isdigit() and second.isdigit()):
            return False
        if int(minute) > 59 or int(second) > 60:
            return False
        hour = key[:13]
        if hour != self._hour:
            try:
                self._hour_epoch = parse_rfc3339_ns(hour + ":00:00Z")
            except ValueError:
                return False
            self._hour = hour
        self._epoch = self._hour_epoch + (int(minute) * 60 + int(second)) * NS_PER_SECOND
        self._key = key
        return True


def format_ns(ns: int) -> str:
    """Epoch nanoseconds → RFC 3339 UTC with all nine fractional digits."""
    seconds, nanos = divmod(ns, NS_PER_SECOND)
    base = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{nanos:09d}Z"


def rfc3339_seconds(moment: datetime) -> str:
    """``moment`` as RFC 3339 UTC to the second (``2026-12-03T21:56:00Z``): what a PR's
    metadata records."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def datetime_to_ns(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give a timezone")
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * NS_PER_SECOND + delta.microseconds * 1000


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A half-open window ``[start_ns, end_ns)``; ``None`` means unbounded on that side."""

    start_ns: int | None = None
    end_ns: int | None = None

    def __post_init__(self) -> None:
        if self.start_ns is not None and self.end_ns is not None and self.start_ns >= self.end_ns:
            raise UsageError(
                f"the time window is empty: its start {format_ns(self.start_ns)} is not "
                f"before its end {format_ns(self.end_ns)}",
                setting="since",
            )

    def contains(self, ts_ns: int) -> bool:
        if self.start_ns is not None and ts_ns < self.start_ns:
            return False
        return self.end_ns is None or ts_ns < self.end_ns

    @property
    def bounded(self) -> bool:
        return self.start_ns is not None or self.end_ns is not None

    def describe(self) -> str:
        start = format_ns(self.start_ns) if self.start_ns is not None else "beginning"
        end = format_ns(self.end_ns) if self.end_ns is not None else "end"
        return f"{start} .. {end}"


def parse_instant(text: str, *, setting: str, now: datetime) -> int:
    """A ``--since``/``--until`` value: a duration back from ``now`` or an RFC 3339 instant."""
    try:
        return datetime_to_ns(now - parse_duration(text))
    except OverflowError:
        raise UsageError("reaches before year 1", setting=setting, value=text) from None
    except ValueError:
        pass
    try:
        return parse_rfc3339_ns(text)
    except ValueError:
        raise UsageError(
            "expected a duration such as 24h, 7d, 30m "
            "or an RFC 3339 time such as 2026-11-21T00:00:00Z",
            setting=setting,
            value=text,
        ) from None


def window_from_flags(
    since: str | None, until: str | None, *, now: datetime | None = None
) -> TimeWindow:
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("window_from_flags: `now` must be timezone-aware")
    start = parse_instant(since, setting="since", now=moment) if since is not None else None
    end = parse_instant(until, setting="until", now=moment) if until is not None else None
    return TimeWindow(start, end)
