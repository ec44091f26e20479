"""The figures a PR body states, computed by code from the report and the patch.

The prose of a pull request may be a model's; every number in it is ours. These
functions read a finding's ``details`` (untrusted: a report file can hold anything, so a
value that is not a number is treated as missing, never shown) and a unified diff, and
return plain text made of digits and our own words only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from micro_gastown.report.model import Pattern, PatternType, QueryRange, Series
from micro_gastown.timewindow import NS_PER_SECOND, parse_rfc3339_ns

__all__ = [
    "DiffStat",
    "Window",
    "count_text",
    "detail_number",
    "diff_stats",
    "duration_text",
    "key_figure",
    "pattern_window",
    "report_window",
    "series_window",
    "step_text",
]

_MAX_SAFE_NUMBER: Final = 1e15
"""Larger "figures" are not measurements; a hostile report could hold 1e308."""


@dataclass(frozen=True, slots=True)
class Window:
    """A time range in epoch nanoseconds (``end`` after ``start``)."""

    start_ns: int
    end_ns: int

    def text(self) -> str:
        """``2026-11-21 10:00 to 10:59 UTC`` (the date repeated when it changes)."""
        start, end = _utc(self.start_ns), _utc(self.end_ns)
        first = start.strftime("%Y-%m-%d %H:%M")
        last = end.strftime("%H:%M" if end.date() == start.date() else "%Y-%m-%d %H:%M")
        return f"{first} to {last} UTC"


def _utc(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // NS_PER_SECOND, tz=UTC)


def _instant(text: str | None) -> int | None:
    if not text:
        return None
    try:
        ns = parse_rfc3339_ns(text)
        _utc(ns)  # out of datetime's range: not a time we can show
    except (ValueError, OverflowError, OSError):
        return None
    return ns


def report_window(query_range: QueryRange | None) -> Window | None:
    """The report's window, when both ends are readable and in order."""
    if query_range is None:
        return None
    start, end = _instant(query_range.start), _instant(query_range.end)
    if start is None or end is None or end <= start:
        return None
    return Window(start, end)


def series_window(series: Series) -> Window | None:
    """From the first bucket's start to the last bucket's end."""
    start = _instant(series.start)
    if start is None or not series.values:
        return None
    end = start + len(series.values) * series.step_seconds * NS_PER_SECOND
    try:
        _utc(end)
    except (ValueError, OverflowError, OSError):
        return None
    return Window(start, end)


def pattern_window(pattern: Pattern, fallback: Window | None) -> Window | None:
    """The finding's own window (its series') if it has one, else ``fallback`` (the
    report's)."""
    own = series_window(pattern.series) if pattern.series is not None else None
    return own or fallback


def detail_number(details: Mapping[str, object], name: str) -> float | None:
    """``details[name]`` when it is a finite, plausible number; None for anything else."""
    value = details.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or abs(value) > _MAX_SAFE_NUMBER:
        return None
    return float(value)


def _text(details: Mapping[str, object], name: str) -> str | None:
    value = details.get(name)
    return value if isinstance(value, str) else None


def count_text(value: float) -> str:
    """``7,149``: rounded to a whole number, thousands separated."""
    return f"{round(value):,}"


def _share(part: float, whole: float, digits: int) -> str:
    return f"{part / whole:.{digits}%}" if whole > 0 else "n/a"


def duration_text(seconds: float) -> str:
    """``42 s``, ``59 min``, ``5 h``, ``3 days``: one unit, rounded down."""
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"{int(seconds)} s"
    if seconds < 2 * 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 2 * 86_400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86_400):,} days"


def step_text(step_seconds: int) -> str:
    """``hour``, ``3 hours``, ``5 min``, ``day``, ``30 s``: a bucket's width as a chart
    title says it (after "per")."""
    for unit, name in ((86_400, "day"), (3600, "hour"), (60, "min"), (1, "s")):
        if step_seconds % unit == 0:
            count = step_seconds // unit
            if unit < 3600:
                return f"{count:,} {name}"
            return name if count == 1 else f"{count:,} {name}s"
    return f"{step_seconds} s"  # pragma: no cover - the loop always returns at unit 1


def key_figure(pattern: Pattern) -> str:
    """The one figure a maintainer reads in the Summary table, by pattern type; the
    occurrences when the details do not hold what the type should have."""
    figure = _figure(pattern.type, pattern.details)
    return figure or f"{pattern.occurrences:,} occurrences"


def _figure(kind: PatternType, details: Mapping[str, object]) -> str | None:
    def n(name: str) -> float | None:
        return detail_number(details, name)

    match kind:
        case PatternType.SLOW_LLM:
            p95, calls = n("p95_ms"), n("calls")
            if p95 is None or calls is None:
                return None
            return f"p95 {count_text(p95)} ms over {count_text(calls)} calls"
        case PatternType.FAILED_TRANSITION:
            failures, transitions = n("failures"), n("transitions")
            if failures is None or transitions is None:
                return None
            share = _share(failures, transitions, 1)
            return (
                f"{count_text(failures)} of {count_text(transitions)} traversals failed ({share})"
            )
        case PatternType.REPEATED_ERROR:
            return _repeated(details)
        case PatternType.EFFECT_FAILURE:
            failures, executions = n("failures"), n("executions")
            if failures is None or executions is None:
                return None
            share = _share(failures, executions, 1)
            return f"{count_text(failures)} of {count_text(executions)} failed ({share})"
        case PatternType.DEAD_PATH:
            taken, visits, exits = n("taken"), n("source_visits"), n("source_exits")
            if taken == 0 and visits is not None:
                return f"never taken in {count_text(visits)} visits"
            if taken is None or exits is None:
                return None
            return f"{count_text(taken)} of {count_text(exits)} exits ({_share(taken, exits, 2)})"
        case PatternType.TOKEN_BLOAT:
            p95 = n("prompt_tokens_p95")
            return None if p95 is None else f"p95 prompt {count_text(p95)} tokens"
    return None  # pragma: no cover - every PatternType is matched above


def _repeated(details: Mapping[str, object]) -> str | None:
    count = detail_number(details, "count")
    if count is None:
        return None
    first, last = _instant(_text(details, "first_seen")), _instant(_text(details, "last_seen"))
    if first is None or last is None or last < first:
        return f"{count_text(count)}×"
    return f"{count_text(count)}× in {duration_text((last - first) / NS_PER_SECOND)}"


@dataclass(frozen=True, slots=True)
class DiffStat:
    """Lines a unified diff adds to and removes from one file."""

    added: int = 0
    removed: int = 0


_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@", re.ASCII)
_OCTAL = re.compile(rb"\\([0-7]{3})")


def diff_stats(patch: str) -> dict[str, DiffStat]:
    """Per path (``b/`` side, or ``a/`` for a deleted file), the lines added and removed.

    Hunks are read by their line counts, so a removed line that starts with ``--`` (a
    Haskell comment: ``--- x`` in the diff) is counted, not taken for a file header.
    """
    stats: dict[str, DiffStat] = {}
    path: str | None = None
    old_left = new_left = 0
    old_path: str | None = None
    for line in patch.splitlines():
        if old_left > 0 or new_left > 0:
            tag = line[:1]
            if path is not None and tag in ("+", "-", " ", ""):
                current = stats.setdefault(path, DiffStat())
                if tag == "+":
                    stats[path] = DiffStat(current.added + 1, current.removed)
                    new_left -= 1
                elif tag == "-":
                    stats[path] = DiffStat(current.added, current.removed + 1)
                    old_left -= 1
                else:
                    old_left, new_left = old_left - 1, new_left - 1
                continue
            if tag == "\\":
                continue
            old_left = new_left = 0  # a malformed hunk: read on as headers
        if line.startswith("--- "):
            old_path = _header_path(line[4:])
        elif line.startswith("+++ "):
            new_path = _header_path(line[4:])
            path = new_path if new_path is not None else old_path
            if path is not None:
                stats.setdefault(path, DiffStat())
        elif match := _HUNK.match(line):
            old_left = int(match.group(1)) if match.group(1) is not None else 1
            new_left = int(match.group(2)) if match.group(2) is not None else 1
    return stats


def _header_path(text: str) -> str | None:
    """The path of a ``---``/``+++`` header (git's C quoting undone, ``a/``/``b/`` dropped);
    None for ``/dev/null``."""
    text = text.rstrip("\n").split("\t", 1)[0]
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        text = _unquote(text[1:-1])
    if text == "/dev/null":
        return None
    if text.startswith(("a/", "b/")):
        text = text[2:]
    return text


_C_UNESCAPES: Final = {"a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r"}


def _unquote(text: str) -> str:
    """Undo git's ``quote_c_style``: ``\\"``, ``\\\\``, ``\\t``... and octal UTF-8 bytes."""
    out = bytearray()
    i = 0
    raw = text.encode("utf-8", "surrogateescape")
    while i < len(raw):
        byte = raw[i : i + 1]
        if byte != b"\\" or i + 1 >= len(raw):
            out += byte
            i += 1
            continue
        octal = _OCTAL.match(raw, i)
        if octal:
            out.append(int(octal.group(1), 8) & 0xFF)
            i += 4
            continue
        escaped = chr(raw[i + 1])
        out += _C_UNESCAPES.get(escaped, escaped).encode("utf-8", "surrogateescape")
        i += 2
    return out.decode("utf-8", "replace")
