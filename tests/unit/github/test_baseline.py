"""The baseline a PR is filed with: the figures a later window is compared against."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from micro_gastown.github.baseline import filing_record, finding_rate, pattern_window, rate_per_hour
from micro_gastown.github.hygiene import Finding, hourly_rate
from micro_gastown.report.model import (
    Metadata,
    Pattern,
    PatternReport,
    PatternType,
    QueryRange,
    Series,
    Severity,
    Summary,
)
from micro_gastown.timewindow import parse_rfc3339_ns

WINDOW = QueryRange(start="2026-12-01T00:00:00Z", end="2026-12-01T10:00:00Z")  # 10 hours


def pattern(
    pattern_id: str = "effect-failure-pay",
    *,
    series: Series | None = None,
    details: dict[str, Any] | None = None,
    occurrences: int = 40,
    kind: PatternType = PatternType.EFFECT_FAILURE,
    severity: Severity = Severity.CRITICAL,
) -> Pattern:
    return Pattern(
        id=pattern_id,
        type=kind,
        severity=severity,
        occurrences=occurrences,
        details=details if details is not None else {"executions": 200},
        recommendation="retry",
        grafana_query='{job="exomonad"} | json | type="effect_execution"',
        series=series,
    )


SERIES = Series(
    start="2026-12-01T02:00:00Z",
    step_seconds=1800,
    metric="failed executions",
    values=[1, 3, 2, 6],  # 12 in 2 hours
    exposure=[10, 10, 20, 20],
    exposure_unit="executions",
    query="sum(count_over_time(x[30m]))",
    exposure_query="sum(count_over_time(y[30m]))",
)


def report(*patterns: Pattern, errors: int | None = 50, events: int | None = 1000) -> PatternReport:
    return PatternReport(
        patterns=list(patterns),
        summary=Summary(
            total_patterns=len(patterns),
            critical=len(patterns),
            warning=0,
            info=0,
            query_range=WINDOW,
            events_analyzed=events,
        ),
        metadata=Metadata(
            generated_at="2026-12-01T10:00:00Z",
            generator_version="0.1.0",
            query_duration_ms=5,
            events_by_type={"error": errors} if errors is not None else {},
        ),
    )


def test_without_a_series_the_window_is_the_reports_and_the_rate_is_per_hour_of_it() -> None:
    finding = pattern()
    assert pattern_window(finding, WINDOW) == (WINDOW.start, WINDOW.end)
    assert finding_rate(finding, WINDOW) == 4.0  # 40 in 10 hours
    (record,) = filing_record(
        fingerprints=[finding.id],
        patterns=[finding],
        report=report(finding),
        base_commit="b" * 40,
        base_branch="main",
        branch="sleeptime/2026-12-01-effect-failure-0123456789",
        tool_version="micro-gastown 0.1.0",
        filed_at=dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC),
    ).patterns
    assert record.rate_per_hour == 4.0
    assert (record.exposure, record.exposure_unit) == (200, "executions")
    assert (record.window_start, record.window_end) == (WINDOW.start, WINDOW.end)
    assert record.logql == finding.grafana_query
    assert record.series_query is None


def test_with_a_series_its_buckets_give_window_rate_exposure_and_queries() -> None:
    finding = pattern(series=SERIES)
    window = pattern_window(finding, WINDOW)
    assert window is not None
    assert [parse_rfc3339_ns(t) for t in window] == [
        parse_rfc3339_ns("2026-12-01T02:00:00Z"),
        parse_rfc3339_ns("2026-12-01T04:00:00Z"),
    ]
    record = filing_record(
        fingerprints=[finding.id],
        patterns=[finding],
        report=report(finding),
        base_commit="b" * 40,
        base_branch="main",
        branch="sleeptime/2026-12-01-effect-failure-0123456789",
        tool_version="micro-gastown 0.1.0",
        filed_at=dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC),
    ).patterns[0]
    assert record.rate_per_hour == 6.0  # 12 in 2 hours, not 40 in 10
    # the figure the closed-PR rule compares later must be this very one
    assert (
        record.rate_per_hour == hourly_rate(SERIES) == Finding.from_pattern(finding).rate_per_hour
    )
    assert (record.exposure, record.exposure_unit) == (60, "executions")
    assert record.series_query == SERIES.query
    assert record.exposure_query == SERIES.exposure_query


def test_the_filing_record_holds_the_overall_figures() -> None:
    worst, other = (
        pattern("b-pattern"),
        pattern("a-pattern", kind=PatternType.SLOW_LLM, details={"calls": 9}),
    )
    record = filing_record(
        fingerprints=["b-pattern", "a-pattern", "b-pattern"],
        patterns=[worst, other],
        report=report(worst, other),
        base_commit="b" * 40,
        base_branch="main",
        branch="sleeptime/2026-12-01-effect-failure-0123456789",
        tool_version="micro-gastown 0.1.0",
        filed_at=dt.datetime(2026, 12, 1, 13, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    )
    assert record.fingerprints == ("a-pattern", "b-pattern")
    assert record.overall_error_rate == 0.05
    assert record.events_analyzed == 1000
    assert record.filed_at == "2026-12-01T12:30:00Z"
    assert [(p.id, p.exposure, p.exposure_unit) for p in record.patterns] == [
        ("b-pattern", 200, "executions"),
        ("a-pattern", 9, "llm calls"),
    ]


@pytest.mark.parametrize(
    ("errors", "events", "expected"), [(None, 1000, None), (5, 0, None), (5, None, None)]
)
def test_no_overall_rate_without_both_counts(
    errors: int | None, events: int | None, expected: float | None
) -> None:
    finding = pattern()
    record = filing_record(
        fingerprints=[finding.id],
        patterns=[finding],
        report=report(finding, errors=errors, events=events),
        base_commit="b" * 40,
        base_branch="main",
        branch="sleeptime/2026-12-01-x-0123456789",
        tool_version="t",
        filed_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
    )
    assert record.overall_error_rate == expected


def test_a_bare_patch_without_a_report_records_the_ids_alone() -> None:
    record = filing_record(
        fingerprints=["x-1"],
        patterns=[],
        report=None,
        base_commit="b" * 40,
        base_branch="main",
        branch="sleeptime/2026-12-01-change-0123456789",
        tool_version="t",
        filed_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
    )
    assert record.fingerprints == ("x-1",)
    assert record.patterns == ()
    assert record.overall_error_rate is None


@pytest.mark.parametrize(
    "window",
    [None, ("2026-12-01T10:00:00Z", "2026-12-01T10:00:00Z"), ("later", "2026-12-01T10:00:00Z")],
)
def test_no_rate_without_a_usable_window(window: tuple[str, str] | None) -> None:
    assert rate_per_hour(5, window) is None


def test_no_exposure_when_the_detail_is_not_a_count() -> None:
    finding = pattern(details={"executions": True})
    record = filing_record(
        fingerprints=[finding.id],
        patterns=[finding],
        report=None,
        base_commit="b" * 40,
        base_branch="main",
        branch="sleeptime/2026-12-01-x-0123456789",
        tool_version="t",
        filed_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
    ).patterns[0]
    assert (record.exposure, record.exposure_unit) == (None, None)
    assert record.rate_per_hour is None  # no report, no series: no window
