"""Timestamps and durations exactly as Loki's HTTP layer reads and prints them.

Loki accepts several spellings for one instant (nanoseconds, seconds, float seconds,
RFC3339) and prints durations in Go's ``time.Duration`` format inside its error texts; a
client that paginates or reports limits must see the same values a real Loki would.
See ``pkg/loghttp/params.go`` (parseTimestamp, parseSecondsOrDuration) in grafana/loki.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from decimal import Decimal

from .errors import BadRequest

NS_PER_SECOND = 1_000_000_000
NS_PER_MS = 1_000_000

_UNIT_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": NS_PER_MS,
    "s": NS_PER_SECOND,
    "m": 60 * NS_PER_SECOND,
    "h": 3600 * NS_PER_SECOND,
    "d": 86400 * NS_PER_SECOND,
    "w": 7 * 86400 * NS_PER_SECOND,
    "y": 365 * 86400 * NS_PER_SECOND,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d|w|y)")
_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$"
)


def parse_duration(text: str) -> int | None:
    """Parse a Go or Prometheus duration (``1h30m``, ``1.5s``, ``7d``) into nanoseconds.

    Returns None when ``text`` is not a duration, so callers pick their own error text.
    """
    if text in ("0", ""):
        return 0 if text == "0" else None
    pos, total = 0, Decimal(0)
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None:
            return None
        total += Decimal(match.group(1)) * _UNIT_NS[match.group(2)]
        pos = match.end()
    return int(total)


def parse_timestamp(value: str | None, default: int, name: str) -> int:
    """Read a ``start``/``end``/``time`` parameter into nanoseconds since the epoch.

    Like Loki: float seconds when it has a dot, integer seconds when at most 10 digits,
    integer nanoseconds otherwise, else RFC3339(Nano).
    """
    if value is None or value == "":
        return default
    if "." in value:
        try:
            seconds = float(value)
        except ValueError:
            pass
        else:
            whole = math.floor(seconds)
            frac = round((seconds - whole) * 1000) / 1000
            return whole * NS_PER_SECOND + round(frac * NS_PER_SECOND)
    if re.fullmatch(r"-?\d+", value):
        number = int(value)
        return number * NS_PER_SECOND if len(value) <= 10 else number
    match = _RFC3339.match(value)
    if match is None:
        raise BadRequest(f'invalid parameter "{name}": cannot parse "{value}" to a valid timestamp')
    date, clock, frac_digits, zone = match.groups()
    zone = "+00:00" if zone in ("Z", "z") else zone
    moment = datetime.fromisoformat(f"{date}T{clock}{zone}")
    nanos = int((frac_digits or "").ljust(9, "0"))
    return int(moment.timestamp()) * NS_PER_SECOND + nanos


def parse_step(value: str, name: str = "step") -> int:
    """Read ``step`` as float seconds or a Prometheus duration, in nanoseconds."""
    try:
        return round(float(value) * NS_PER_SECOND)
    except ValueError:
        pass
    parsed = parse_duration(value)
    if parsed is None:
        raise BadRequest(f'invalid parameter "{name}": cannot parse "{value}" to a valid duration')
    return parsed


def default_step(start: int, end: int) -> int:
    """Loki's default resolution: about 250 points over the range, at least one second."""
    return max((end - start) // NS_PER_SECOND // 250, 1) * NS_PER_SECOND


def _fraction(value: int, unit: int) -> str:
    whole, rest = divmod(value, unit)
    if not rest:
        return str(whole)
    digits = str(rest).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"


def go_duration(ns: int) -> str:
    """Print nanoseconds like Go's ``time.Duration.String`` (``721h0m0s``, ``1.5s``)."""
    if ns == 0:
        return "0s"
    sign, value = ("-" if ns < 0 else ""), abs(ns)
    if value < NS_PER_SECOND:
        for unit, size in (("ms", NS_PER_MS), ("µs", 1_000), ("ns", 1)):
            if value >= size:
                return f"{sign}{_fraction(value, size)}{unit}"
    hours, rest = divmod(value, 3600 * NS_PER_SECOND)
    minutes, rest = divmod(rest, 60 * NS_PER_SECOND)
    text = f"{hours}h" if hours else ""
    if hours or minutes:
        text += f"{minutes}m"
    return f"{sign}{text}{_fraction(rest, NS_PER_SECOND)}s"


def prom_timestamp(ns: int) -> int | float:
    """A sample time as Prometheus JSON prints it: seconds, millisecond precision."""
    ms = ns // NS_PER_MS
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def prom_value(value: float) -> str:
    """A sample value as Go's ``strconv.FormatFloat(v, 'f', -1, 64)`` prints it."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    return format(Decimal(repr(value)), "f")
