"""Every finding carries its series, and the series add up to the finding's own figures.

The invariants, per type: the values sum to ``occurrences`` where they count the same
thing (slow calls, failed traversals, errors of a template, failed executions); for
token_bloat, whose occurrences are the node's calls, the exposure does; for dead_path the
values sum to ``taken`` and the exposure to ``source_exits`` (its occurrences are the
source's visits, counted by entries: a different figure). Splitting the scan over processes
and counting in minutes or in whole steps change nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from micro_gastown.analysis.runner import AnalysisSettings, run_analysis
from micro_gastown.dsl import read_dsl
from micro_gastown.sources import FileSource
from micro_gastown.testing.scenario import NODE_FIELDS
from micro_gastown.testing.synthetic import DEMO, generate_export
from micro_gastown.timewindow import TimeWindow, parse_rfc3339_ns

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "logs" / "exomonad-sample.jsonl.gz"
SAMPLE_REPO = ROOT / "examples" / "exomonad-sample"
COUNTS_OCCURRENCES = {"slow_llm", "failed_transition", "repeated_error", "effect_failure"}


def _document(path: Path, window: TimeWindow | None = None, **settings: Any) -> dict[str, Any]:
    report = run_analysis(
        FileSource(path),
        window or TimeWindow(),
        AnalysisSettings(**settings),
        read_dsl(SAMPLE_REPO),
    )
    document: dict[str, Any] = json.loads(report.to_json())
    return document


def _report(path: Path, window: TimeWindow | None = None) -> list[dict[str, Any]]:
    patterns: list[dict[str, Any]] = _document(path, window)["patterns"]
    return patterns


def _assert_invariants(patterns: list[dict[str, Any]]) -> None:
    for pattern in patterns:
        series = pattern["series"]
        kind = pattern["type"]
        values, exposure = series["values"], series["exposure"]
        assert len(values) == len(exposure)
        assert all(v <= e for v, e in zip(values, exposure, strict=True)) or kind in (
            "repeated_error",  # errors per visit: a visit may see several errors
            "failed_transition",  # a failure is counted when its error arrives
        )
        if kind in COUNTS_OCCURRENCES:
            assert sum(values) == pattern["occurrences"], pattern["id"]
        elif kind == "token_bloat":
            assert sum(exposure) == pattern["occurrences"], pattern["id"]
        else:
            assert kind == "dead_path"
            assert sum(values) == pattern["details"]["taken"]
            assert sum(exposure) == pattern["details"]["source_exits"]


def test_the_samples_findings_all_carry_five_minute_series() -> None:
    patterns = _report(SAMPLE)
    assert {p["type"] for p in patterns} == COUNTS_OCCURRENCES | {"token_bloat", "dead_path"}
    for pattern in patterns:
        series = pattern["series"]
        assert series["start"] == "2026-11-21T10:00:00.000000000Z"
        assert series["step_seconds"] == 300
        assert len(series["values"]) == 12
    _assert_invariants(patterns)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("seed", "hours", "step"), [(3, 24, 3600), (4, 3, 900), (5, 60, 3600), (6, 11, 1800)]
)
def test_series_add_up_on_synthetic_corpora(
    tmp_path: Path, seed: int, hours: int, step: int
) -> None:
    path = tmp_path / "export.jsonl"
    start = datetime(2026, 11, 21, 10, 17, 3, tzinfo=UTC)  # off every grid
    generate_export(
        path, lines=20_000, seed=seed, scenario=DEMO, start=start, duration=timedelta(hours=hours)
    )
    patterns = _report(path)
    assert len(patterns) >= 4
    assert {p["series"]["step_seconds"] for p in patterns} == {step}
    _assert_invariants(patterns)


@pytest.mark.slow
def test_split_scans_give_the_same_series(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    generate_export(path, lines=20_000, seed=8, scenario=NODE_FIELDS)
    one = _document(path, jobs=1)
    two = _document(path, jobs=2, min_part_bytes=1)
    assert two["metadata"]["parts"] == 2  # the file really was split
    assert [p["series"] for p in one["patterns"]] == [p["series"] for p in two["patterns"]]
    assert len(one["patterns"]) >= 4


def test_counting_in_whole_steps_gives_the_series_counted_in_minutes() -> None:
    """With both ends of the window given, detectors count in the step itself."""
    hour = TimeWindow(
        parse_rfc3339_ns("2026-11-21T10:00:00Z"), parse_rfc3339_ns("2026-11-21T11:00:00Z")
    )
    by_minute = _report(SAMPLE)
    by_step = _report(SAMPLE, hour)
    assert [p["series"] for p in by_step] == [p["series"] for p in by_minute]
