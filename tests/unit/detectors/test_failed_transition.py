"""failed_transition: an error after a traversal, in the same span, before the next one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from micro_gastown.detectors.base import DetectorContext, ErrorTemplates, Traffic
from micro_gastown.detectors.failed_transition import FailedTransitionDetector
from micro_gastown.events.attribution import Attributor
from micro_gastown.events.model import ErrorEvent
from micro_gastown.logql import LogQL
from micro_gastown.thresholds import Thresholds

from factories import BASE_NS, Export, analyze, patterns_of


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


# --- the detector on its own ----------------------------------------------------------------


def _detector(traffic: dict[tuple[str, str], int], **thresholds: Any) -> FailedTransitionDetector:
    counts = Traffic()
    counts.edges.update(traffic)
    context = DetectorContext(
        thresholds=Thresholds().with_overrides(thresholds),
        logql=LogQL(),
        attributor=Attributor(),
        traffic=counts,
        error_templates=ErrorTemplates(),
    )
    return FailedTransitionDetector(context)


def _fail(detector: FailedTransitionDetector, edge: tuple[str, str], *messages: str) -> list[Any]:
    handle = detector.handlers()[ErrorEvent]
    events = []
    for message in messages:
        detector.context.position += 1
        ts = BASE_NS + detector.context.position
        event = ErrorEvent(ts, {}, {"message": message}, "s1", edge[1], message, None, edge)
        handle(event)
        events.append(event)
    return events


def test_a_finding_reads_in_full() -> None:
    edge = ("route", "refund")
    detector = _detector({edge: 30})
    events = _fail(detector, edge, "card declined", "gateway timeout", "card declined")
    events += _fail(detector, edge, "gateway timeout", "gateway timeout", "gateway timeout")
    events += _fail(detector, edge, "card declined")
    (finding,) = detector.finish()
    assert finding.key == {"from": "route", "to": "refund"}
    assert finding.severity.value == "critical"
    assert finding.occurrences == 7
    assert finding.details == {
        "from": "route",
        "to": "refund",
        "transitions": 30,
        "failures": 7,
        "failure_rate": 0.2333,
        "top_error_template": "gateway timeout",
        "top_error_count": 4,
    }
    assert finding.recommendation == (
        "7 of 30 traversals of `route` → `refund` (23.3%) ended in an error before the next "
        'transition; the most common is "gateway timeout" (4×). Handle that failure in '
        "`refund` (retry with backoff, or add an explicit fallback edge) and make the payload "
        "it receives carry what it needs."
    )
    assert finding.logql == LogQL().transition_with_errors("route", "refund")
    assert finding.samples == events[:5]  # the first failures, in stream order
    assert finding.nodes == ("route", "refund")


def test_exactly_min_occurrences_failures_make_a_finding() -> None:
    edge = ("route", "refund")
    detector = _detector({edge: 3})
    _fail(detector, edge, "boom", "boom", "boom")
    assert [f.details["failures"] for f in detector.finish()] == [3]


def test_an_edge_without_a_finding_does_not_hide_the_edges_after_it() -> None:
    """Edges are checked in the order they first failed; skipped ones must not end the loop."""
    rare, healthy, failing = ("a", "b"), ("b", "c"), ("c", "d")
    detector = _detector({rare: 10, healthy: 1000, failing: 10})
    _fail(detector, rare, "boom")  # one failure: below min_occurrences
    _fail(detector, healthy, "boom", "boom", "boom")  # 0.3%: below the warning rate
    _fail(detector, failing, "boom", "boom", "boom")
    assert [f.key for f in detector.finish()] == [{"from": "c", "to": "d"}]
