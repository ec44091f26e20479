"""failed_transition: an error after a traversal, in the same span, before the next one."""

from __future__ import annotations

from pathlib import Path

import pytest

from factories import Export, analyze, patterns_of


def _runs(exp: Export, total: int, failing: int, *, prefix: str = "r") -> None:
    for i in range(total):
        span = f"{prefix}{i}"
        exp.transition(span, "route", "refund")
        if i < failing:
            exp.error(span, f"payment gateway timeout after {30000 + i} ms for order {i}")
        else:
            exp.transition(span, "refund", "summarize")


@pytest.mark.parametrize(
    ("total", "failing", "severity"),
    [(100, 4, None), (100, 5, "warning"), (100, 14, "warning"), (100, 15, "critical")],
)
def test_rate_thresholds(tmp_path: Path, total: int, failing: int, severity: str | None) -> None:
    exp = Export()
    _runs(exp, total, failing)
    found = patterns_of(analyze(exp, tmp_path), "failed_transition")
    assert [p.severity.value for p in found] == ([severity] if severity else [])
    if severity:
        d = found[0].details
        assert (d["from"], d["to"], d["transitions"], d["failures"]) == (
            "route",
            "refund",
            total,
            failing,
        )
        assert d["failure_rate"] == failing / total
        assert d["top_error_template"] == "payment gateway timeout after <*> ms for order <*>"


def test_needs_min_occurrences_failures(tmp_path: Path) -> None:
    exp = Export()
    _runs(exp, 10, 2)  # 20% but only two failures
    assert patterns_of(analyze(exp, tmp_path), "failed_transition") == []


def test_several_errors_fail_a_traversal_once(tmp_path: Path) -> None:
    exp = Export()
    for i in range(10):
        exp.transition(f"s{i}", "route", "refund")
        for _ in range(3):
            exp.error(f"s{i}", "boom")
    (p,) = patterns_of(analyze(exp, tmp_path), "failed_transition")
    assert p.details["failures"] == 10
    assert p.details["transitions"] == 10
    assert p.occurrences == 10


def test_error_after_next_transition_blames_the_next_edge(tmp_path: Path) -> None:
    exp = Export()
    for i in range(10):
        exp.transition(f"s{i}", "route", "refund")
        exp.transition(f"s{i}", "refund", "summarize")
        exp.error(f"s{i}", "summary failed")
    found = patterns_of(analyze(exp, tmp_path), "failed_transition")
    assert [(p.key["from"], p.key["to"]) for p in found] == [("refund", "summarize")]


def test_interleaved_sessions_do_not_mix(tmp_path: Path) -> None:
    """Session b's errors never count against session a's edge, however they interleave."""
    exp = Export()
    for i in range(10):
        exp.transition(f"a{i}", "route", "answerFaq")
        exp.transition(f"b{i}", "route", "refund")
        exp.error(f"b{i}", "payment failed")
        exp.transition(f"a{i}", "answerFaq", "summarize")
    found = patterns_of(analyze(exp, tmp_path), "failed_transition")
    assert [(p.key["from"], p.key["to"], p.details["failures"]) for p in found] == [
        ("route", "refund", 10)
    ]


def test_errors_without_a_span_are_not_attributed(tmp_path: Path) -> None:
    exp = Export()
    for i in range(10):
        exp.transition(f"s{i}", "route", "refund")
        exp.error(None, "orphan error")
    report = analyze(exp, tmp_path)
    assert patterns_of(report, "failed_transition") == []
    assert report.metadata.unattributed_events == 10


def test_equal_timestamps_keep_file_order(tmp_path: Path) -> None:
    exp = Export()
    for i in range(10):
        ts = exp.tick()
        exp.transition(f"s{i}", "route", "refund", ts=ts)
        exp.error(f"s{i}", "same instant", ts=ts)
    (p,) = patterns_of(analyze(exp, tmp_path), "failed_transition")
    assert p.details["failures"] == 10
