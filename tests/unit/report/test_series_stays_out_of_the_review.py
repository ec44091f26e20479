"""The review digest sent to the model leaves series out: they are for the PR's charts and
the rollback watcher, and the demo's recorded review answer is matched on that request."""

from __future__ import annotations

from pathlib import Path

from micro_gastown.analysis.review import digest

from factories import Export, analyze


def test_series_are_in_the_report_but_not_in_the_review_digest(tmp_path: Path) -> None:
    exp = Export()
    for i in range(6):
        exp.llm(f"s{i}", latency=9000, fields={"node": "summarize"})
    report = analyze(exp, tmp_path)
    assert report.patterns
    assert all(p.series is not None for p in report.patterns)
    assert b'"series"' in report.to_json()
    sent = digest(report)
    assert sent["patterns"]
    assert all("series" not in p for p in sent["patterns"])
