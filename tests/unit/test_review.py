"""analyze --llm: the model may rank and sharpen, never invent, alter or drop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from micro_gastown.analysis.review import (
    MAX_DIGEST_BYTES,
    MAX_PATTERNS,
    MAX_RECOMMENDATION_CHARS,
    ReviewRejected,
    apply_review,
    digest,
    review_report,
)
from micro_gastown.llm.base import CallRecord, LlmRequest, LlmResponse, Meter, Usage
from micro_gastown.report.model import PatternReport

from factories import Export, analyze


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> PatternReport:
    exp = Export()
    for i in range(10):
        span = f"s{i}"
        exp.transition(span, "entry", "classify")
        exp.llm(span, latency=9000 + i, prompt=20000, completion=100)
        exp.error(span, f"schema validation failed for field f{i % 2}: expected string")
    result: PatternReport = analyze(exp, tmp_path_factory.mktemp("review"))
    assert len(result.patterns) >= 3
    return result


def _ids(report: PatternReport) -> list[str]:
    return [p.id for p in report.patterns]


def test_ranking_and_recommendations_apply_and_nothing_else_changes(report: PatternReport) -> None:
    ranking = list(reversed(_ids(report)))
    first = ranking[0]
    reviewed = apply_review(
        report,
        {
            "ranking": ranking,
            "recommendations": [
                {"id": first, "recommendation": "Edit templates/x.jinja\u200b now."}
            ],
        },
    )
    assert _ids(reviewed) == ranking
    assert reviewed.patterns[0].recommendation == "Edit templates/x.jinja now."  # sanitized
    by_id = {p.id: p for p in report.patterns}
    for pattern in reviewed.patterns[1:]:
        assert pattern == by_id[pattern.id]


@pytest.mark.parametrize(
    "review",
    [
        {"ranking": [], "recommendations": []},
        {"ranking": "everything", "recommendations": []},
        {"ranking": ["invented-1"], "recommendations": []},
    ],
)
def test_a_ranking_that_is_not_every_pattern_once_is_rejected(
    report: PatternReport, review: dict[str, Any]
) -> None:
    with pytest.raises(ReviewRejected, match="every pattern exactly once"):
        apply_review(report, review)


def test_a_recommendation_for_an_invented_pattern_is_rejected(report: PatternReport) -> None:
    review = {"ranking": _ids(report), "recommendations": [{"id": "x-1", "recommendation": "y"}]}
    with pytest.raises(ReviewRejected, match="'x-1'"):
        apply_review(report, review)


def test_the_digest_is_bounded_and_carries_no_log_lines(report: PatternReport) -> None:
    first = report.patterns[0]
    assert first.sample_events, "the fixture's findings carry sample events"
    line = first.sample_events[0].model_copy(
        update={"event": {**first.sample_events[0].event, "note": "RAW-LOG-LINE-7f3a"}}
    )
    marked = report.model_copy(
        update={"patterns": [first.model_copy(update={"sample_events": [line]})]}
    )
    text = orjson.dumps(digest(marked)).decode()
    assert "RAW-LOG-LINE-7f3a" not in text
    assert line.timestamp not in text
    assert {p["id"] for p in digest(report)["patterns"]} == set(_ids(report))


def _huge(report: PatternReport, count: int) -> PatternReport:
    """``count`` patterns with oversized details, keys and recommendations."""
    template = report.patterns[0]
    patterns = [
        template.model_copy(
            update={
                "id": f"huge-{i:03d}",
                "details": {f"k{j}": ["x" * 5_000] * 50 for j in range(40)},
                "key": {"template": "y" * 5_000},
                "recommendation": "z" * 20_000,
            }
        )
        for i in range(count)
    ]
    return report.model_copy(update={"patterns": patterns})


def test_the_digest_stays_under_its_byte_cap_however_big_the_report(
    report: PatternReport,
) -> None:
    big = _huge(report, 300)
    view = digest(big)
    assert len(orjson.dumps(view)) <= MAX_DIGEST_BYTES
    shown = [p["id"] for p in view["patterns"]]
    assert 1 <= len(shown) < MAX_PATTERNS
    assert shown == [p.id for p in big.patterns[: len(shown)]]  # the report's own order
    assert all(len(p["recommendation"]) <= MAX_RECOMMENDATION_CHARS for p in view["patterns"])
    # a review ranks what the model saw; the rest follow in the detectors' order
    reviewed = apply_review(big, {"ranking": list(reversed(shown)), "recommendations": []})
    ids = [p.id for p in reviewed.patterns]
    assert ids[: len(shown)] == list(reversed(shown))
    assert ids[len(shown) :] == [p.id for p in big.patterns[len(shown) :]]


class Scripted:
    name = "scripted"

    def __init__(self, output: Any) -> None:
        self.output = output
        self.requests: list[LlmRequest] = []

    def complete(self, request: LlmRequest, meter: Meter) -> LlmResponse:
        self.requests.append(request)
        meter.before(request.model, 100, request.max_tokens)
        record = CallRecord(request.model, Usage(1000, 200))
        meter.after(record)
        return LlmResponse(self.output, (record,))


class Counting:
    def __init__(self) -> None:
        self.calls: list[CallRecord] = []

    def before(self, model: str, input_tokens: int, max_output_tokens: int) -> None:
        pass

    def after(self, record: CallRecord) -> None:
        self.calls.append(record)


def test_review_report_applies_a_good_review_and_drops_a_bad_one(
    report: PatternReport, tmp_path: Path
) -> None:
    settings = {
        "system": "You rank.",
        "model": "claude-haiku-4-5",
        "max_tokens": 1000,
        "temperature": 0.0,
        "tools": ["read_report", "read_dsl_file"],
        "checkout": tmp_path,
    }
    good = Scripted({"ranking": list(reversed(_ids(report))), "recommendations": []})
    meter = Counting()
    reviewed, note = review_report(report, good, meter, **settings)  # type: ignore[arg-type]
    assert _ids(reviewed) == list(reversed(_ids(report)))
    assert "claude-haiku-4-5" in note
    assert len(meter.calls) == 1
    (request,) = good.requests
    assert {t.name for t in request.tools} == {"read_report", "read_dsl_file"}
    assert request.output_schema is not None
    bad = Scripted({"ranking": ["made-up"], "recommendations": []})
    kept, note = review_report(report, bad, Counting(), **settings)  # type: ignore[arg-type]
    assert kept is report
    assert note.startswith("LLM review by claude-haiku-4-5 (")
    assert " backend) dropped: " in note
