"""The baseline a PR is filed with: each finding as it stood, for the metadata block.

The closed-PR rule ("suppressed until twice as bad") and the rollback watcher both compare
against these figures later, so they are recorded as rates a later window can be compared
with: occurrences per hour of the finding's window, and the exposure (the node's calls,
the edge's traversals, ...) the count is relative to, with the LogQL that measures both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from micro_gastown.github.hygiene import hourly_rate
from micro_gastown.github.model import FilingRecord, PatternRecord
from micro_gastown.report.model import Pattern, PatternReport, QueryRange
from micro_gastown.timewindow import NS_PER_SECOND, format_ns, parse_rfc3339_ns, rfc3339_seconds

__all__ = ["filing_record", "finding_rate", "pattern_window", "rate_per_hour"]

# The details key that holds a finding's exposure when it has no series, by pattern type.
_EXPOSURE_DETAIL: dict[str, tuple[str, str]] = {
    "slow_llm": ("calls", "llm calls"),
    "token_bloat": ("calls", "llm calls"),
    "failed_transition": ("transitions", "traversals"),
    "effect_failure": ("executions", "executions"),
    "dead_path": ("source_exits", "exits of the source node"),
}


def _ns(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return parse_rfc3339_ns(text)
    except ValueError:
        return None


def pattern_window(pattern: Pattern, report_window: QueryRange | None) -> tuple[str, str] | None:
    """The window the finding's figures cover: its series' buckets, else the report's."""
    series = pattern.series
    if series is not None and series.values:
        start = _ns(series.start)
        if start is not None:
            end = start + series.step_seconds * len(series.values) * NS_PER_SECOND
            return format_ns(start), format_ns(end)
    if report_window is not None and report_window.start and report_window.end:
        return report_window.start, report_window.end
    return None


def rate_per_hour(occurrences: int, window: tuple[str, str] | None) -> float | None:
    if window is None:
        return None
    start, end = _ns(window[0]), _ns(window[1])
    if start is None or end is None or end <= start:
        return None
    hours = (end - start) / (3600 * NS_PER_SECOND)
    return round(occurrences / hours, 6)


def finding_rate(pattern: Pattern, report_window: QueryRange | None) -> float | None:
    """Events per hour: over the finding's series when it has one (the figure the
    closed-PR rule compares, :func:`~.hygiene.hourly_rate`), else over the window."""
    if pattern.series is not None and pattern.series.values:
        return hourly_rate(pattern.series)
    return rate_per_hour(pattern.occurrences, pattern_window(pattern, report_window))


def _exposure(pattern: Pattern) -> tuple[int | None, str | None]:
    series = pattern.series
    if series is not None and series.exposure is not None:
        return sum(series.exposure), series.exposure_unit
    key, unit = _EXPOSURE_DETAIL.get(pattern.type.value, ("", ""))
    value = pattern.details.get(key) if key else None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value, unit
    return None, None


def _pattern_record(pattern: Pattern, report_window: QueryRange | None) -> PatternRecord:
    window = pattern_window(pattern, report_window)
    exposure, unit = _exposure(pattern)
    series = pattern.series
    return PatternRecord(
        id=pattern.id,
        type=pattern.type.value,
        severity=pattern.severity.value,
        occurrences=pattern.occurrences,
        logql=pattern.grafana_query,
        window_start=window[0] if window else None,
        window_end=window[1] if window else None,
        rate_per_hour=finding_rate(pattern, report_window),
        exposure=exposure,
        exposure_unit=unit,
        series_query=series.query if series else None,
        exposure_query=series.exposure_query if series else None,
    )


def filing_record(
    *,
    fingerprints: Sequence[str],
    patterns: Sequence[Pattern],
    report: PatternReport | None,
    base_commit: str,
    base_branch: str,
    branch: str,
    tool_version: str,
    filed_at: dt.datetime,
) -> FilingRecord:
    window = report.summary.query_range if report is not None else None
    events = report.summary.events_analyzed if report is not None else None
    errors = None
    if report is not None and report.metadata is not None:
        errors = report.metadata.events_by_type.get("error")
    overall = round(errors / events, 6) if errors is not None and events else None
    return FilingRecord(
        fingerprints=tuple(sorted(set(fingerprints))),
        patterns=tuple(_pattern_record(p, window) for p in patterns),
        base_commit=base_commit,
        base_branch=base_branch,
        branch=branch,
        tool_version=tool_version,
        filed_at=rfc3339_seconds(filed_at),
        overall_error_rate=overall,
        events_analyzed=events,
    )
