"""repeated_error: Drain templates of error messages with counts, time span and nodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from factories import Export, analyze, patterns_of


@pytest.mark.parametrize(
    ("count", "severity"), [(2, None), (3, "info"), (10, "warning"), (100, "critical")]
)
def test_severity_by_count(tmp_path: Path, count: int, severity: str | None) -> None:
    exp = Export()
    for i in range(count):
        exp.error(None, f"connection refused to 10.0.0.{i % 250} port {5000 + i}")
    found = patterns_of(analyze(exp, tmp_path), "repeated_error")
    assert [p.severity.value for p in found] == ([severity] if severity else [])


def test_details_name_template_window_and_nodes(tmp_path: Path) -> None:
    exp = Export()
    exp.transition("a", "entry", "classify")
    exp.transition("b", "entry", "refund")
    first = exp.now + 1_000_000
    for i in range(4):
        exp.error("a", f"schema validation failed for field 'f{i}': expected \"x{i}\"")
    exp.error("b", "schema validation failed for field 'z': expected \"q\"")
    last = exp.now
    (p,) = patterns_of(analyze(exp, tmp_path), "repeated_error")
    assert p.key == {"template": "schema validation failed for field <*>: expected <*>"}
    assert p.details["count"] == 5
    assert p.details["nodes"] == {"classify": 4, "refund": 1}
    assert p.details["first_seen"].startswith("2025-11-21T00:00:00.00")
    assert p.details["first_seen"] < p.details["last_seen"]
    assert first < last
    assert len(p.sample_events) == 5
    assert "message=~" in (p.grafana_query or "")


def test_distinct_messages_stay_apart(tmp_path: Path) -> None:
    exp = Export()
    for _ in range(3):
        exp.error(None, "disk quota exceeded on volume data")
        exp.error(None, "rate limited by upstream model provider")
    found = patterns_of(analyze(exp, tmp_path), "repeated_error")
    assert sorted(p.key["template"] for p in found) == [
        "disk quota exceeded on volume data",
        "rate limited by upstream model provider",
    ]


def test_secrets_in_messages_never_reach_the_report(tmp_path: Path) -> None:
    exp = Export()
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    for _ in range(3):
        exp.error(None, f"auth failed for https://svc:hunter2pass@pay.example/v1 token {token}")
    report = analyze(exp, tmp_path)
    text = report.to_json().decode()
    assert "hunter2pass" not in text
    assert token not in text
    assert patterns_of(report, "repeated_error")


def test_messages_past_the_template_limit_are_noted_not_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from micro_gastown.clustering import miner

    monkeypatch.setattr(miner, "MAX_TEMPLATES", 1)
    exp = Export()
    for _ in range(3):
        exp.error(None, "disk quota exceeded on volume data")
        exp.error(None, "rate limited by upstream model provider")
    report = analyze(exp, tmp_path)
    found = patterns_of(report, "repeated_error")
    assert [p.key["template"] for p in found] == ["disk quota exceeded on volume data"]
    assert report.metadata is not None
    assert any("3 error messages were not grouped" in note for note in report.metadata.notes)
