"""Acceptance: on exports with known injected patterns, analyze finds all of them with the
right type, key and severity, and nothing else at warning or critical."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from micro_gastown.analysis.runner import AnalysisSettings, run_analysis
from micro_gastown.config.polecat import load_thresholds
from micro_gastown.dsl import read_dsl
from micro_gastown.sources import FileSource
from micro_gastown.testing.synthetic import DEMO, expected_findings, generate_export
from micro_gastown.timewindow import TimeWindow

ROOT = Path(__file__).resolve().parents[2]
DEMO_EXPORT = ROOT / "examples" / "logs" / "exomonad-sample.jsonl.gz"
DEMO_MANIFEST = ROOT / "examples" / "logs" / "expected-findings.json"
SAMPLE_REPO = ROOT / "examples" / "exomonad-sample"


def _found(path: Path) -> tuple[set[tuple[str, str, str]], Any]:
    settings = AnalysisSettings(thresholds=load_thresholds())
    report = run_analysis(FileSource(path), TimeWindow(), settings, read_dsl(SAMPLE_REPO))
    found = {
        (p.type.value, json.dumps(p.key, sort_keys=True), p.severity.value) for p in report.patterns
    }
    return found, report


def _expected(findings: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {
        (str(f["type"]), json.dumps(f["key"], sort_keys=True), str(f["severity"])) for f in findings
    }


def _serious(items: set[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    return {item for item in items if item[2] in ("warning", "critical")}


def test_demo_export_matches_its_manifest() -> None:
    found, report = _found(DEMO_EXPORT)
    expected = _expected(json.loads(DEMO_MANIFEST.read_text())["findings"])
    assert expected <= found, f"missed: {expected - found}"
    assert _serious(found) == _serious(expected), f"spurious: {_serious(found - expected)}"
    meta = report.metadata
    assert meta.skipped["not_json"] > 0
    assert meta.skipped["unknown_type"] > 0
    assert meta.skipped["bad_export_line"] > 0
    assert meta.unattributed_events > 0
    assert meta.out_of_order_events == 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 12])
def test_generated_exports_of_other_seeds(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "export.jsonl.gz"
    stats = generate_export(path, lines=60_000, seed=seed, scenario=DEMO)
    found, _ = _found(path)
    expected = _expected([f.to_dict() for f in expected_findings(DEMO, stats=stats)])
    assert expected <= found, f"missed: {expected - found}"
    assert _serious(found) == _serious(expected), f"spurious: {_serious(found - expected)}"
