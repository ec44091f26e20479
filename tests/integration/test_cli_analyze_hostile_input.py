"""`micro-gastown analyze` over exports with numbers no count can hold and events out of
order: the report is still written, skips are counted, and the findings out-of-order events
may skew are marked (with a warning on stderr)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from micro_gastown.analysis.runner import AnalysisSettings, run_analysis
from micro_gastown.cli import main
from micro_gastown.sources import FileSource
from micro_gastown.timewindow import TimeWindow

from factories import Export

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "schemas" / "PatternReport.json").read_text()
)
HUGE = "123456789012345678901234567890"

# Raw log lines, exactly as an emitter could write them (json cannot round-trip all of them).


def _llm(prompt: str = "1", completion: str = "1", latency: str = "1") -> str:
    return (
        f'{{"type":"llm_call","model":"m","prompt_tokens":{prompt},'
        f'"completion_tokens":{completion},"latency_ms":{latency}}}'
    )


def _effect(latency: str) -> str:
    return (
        f'{{"type":"effect_execution","effect_type":"Http","success":false,"latency_ms":{latency}}}'
    )


MISTYPED_LINES = [
    _llm(latency=HUGE),
    _llm(prompt="1e23"),
    _llm(prompt="1.79e308"),
    _llm(completion=str(2**64 - 1)),
    _llm(latency=str(10**15)),
    _llm(prompt="true"),
    _llm(prompt="-5"),
    _effect(HUGE),
    _effect("1e300"),
]
# Valid events whose other fields hold huge numbers: kept, and the report still written.
_ERROR = '{"type":"error","message":"ledger overflow",'
KEPT_LINES = [
    _ERROR + f'"context":{{"n":{HUGE},"m":[{HUGE},{{"k":-{HUGE}}}]}}}}',
    _ERROR + f'"context":{HUGE},"node":{HUGE},"session_id":{HUGE}}}',
    _ERROR + f'"context":1.79e308,"retries":{HUGE}}}',
]


def _hostile_export(tmp_path: Path) -> Path:
    exp = Export()
    for i in range(6):
        exp.transition(f"s{i}", "route", "refund")
        exp.llm(f"s{i}", latency=6000)
    for line in MISTYPED_LINES:
        exp.raw(line, span="s1")
    for line in KEPT_LINES:
        exp.raw(line, span="s2", extra_labels={"tenant": HUGE})
    return exp.write(tmp_path / "export.jsonl")


def test_huge_numbers_are_skipped_and_the_json_report_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", "--source", f"file:{_hostile_export(tmp_path)}"]) == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    jsonschema.Draft7Validator(SCHEMA).validate(report)
    assert report["metadata"]["skipped"] == {"mistyped_field": len(MISTYPED_LINES)}
    assert report["metadata"]["events_by_type"]["error"] == len(KEPT_LINES)
    (repeated,) = [p for p in report["patterns"] if p["type"] == "repeated_error"]
    contexts = [s["event"]["context"] for s in repeated["sample_events"]]
    assert len(contexts) == len(KEPT_LINES)  # the huge-number events are evidence, intact
    slow = [p for p in report["patterns"] if p["type"] == "slow_llm"]
    assert [p["details"]["max_ms"] for p in slow] == [6000]  # no huge latency got in


def test_huge_numbers_render_as_markdown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.md"
    args = ["analyze", "--source", f"file:{_hostile_export(tmp_path)}", "--format", "markdown"]
    assert main([*args, "--output", str(out)]) == 0
    text = out.read_text()
    assert "ledger overflow" in text  # the finding over the huge-number errors is there
    assert f"mistyped\\_field {len(MISTYPED_LINES)}" in text


def _out_of_order_export(tmp_path: Path) -> Path:
    """Slow calls at `summarize` in order; at `draft`, three calls arrive late."""
    exp = Export()
    for i in range(5):
        exp.transition(f"s{i}", "route", "summarize")
        exp.llm(f"s{i}", latency=6000)
    for i in range(5):
        exp.transition(f"d{i}", "route", "draft")
        exp.llm(f"d{i}", latency=6000)
    exp.llm("d0", latency=7000, ts=exp.now - 1_000_000_000)  # older than d0's last event
    for _ in range(400):  # filler in another span, so a split scan cuts before the late call
        exp.transition("filler", "a", "b")
    # In a later part: a late call of a span begun before it, and one of a span begun in it.
    exp.llm("d1", latency=6500, ts=exp.now - 2_000_000_000)
    exp.transition("d5", "route", "draft")
    exp.llm("d5", latency=6000)
    exp.llm("d5", latency=6500, ts=exp.now - 2_000_000_000)
    return exp.write(tmp_path / "export.jsonl")


def _marks(report: dict[str, Any]) -> dict[str, int | None]:
    return {
        p["key"]["node"]: p.get("out_of_order_events")
        for p in report["patterns"]
        if p["type"] == "slow_llm"
    }


def test_out_of_order_events_warn_on_stderr_and_mark_only_the_findings_they_touch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", "--source", f"file:{_out_of_order_export(tmp_path)}"]) == 0
    captured = capsys.readouterr()
    report: dict[str, Any] = json.loads(captured.out)
    jsonschema.Draft7Validator(SCHEMA).validate(report)
    assert report["metadata"]["out_of_order_events"] == 3
    assert _marks(report) == {"draft": 3, "summarize": None}
    (draft,) = [p for p in report["patterns"] if p["key"].get("node") == "draft"]
    (summarize,) = [p for p in report["patterns"] if p["key"].get("node") == "summarize"]
    assert "out_of_order_events" not in summarize
    warnings = [line for line in captured.err.splitlines() if "arrived earlier" in line]
    assert len(warnings) == 1
    (warning,) = warnings
    assert warning.startswith("micro-gastown analyze: warning: 3 events arrived earlier")
    assert draft["id"] in warning
    assert summarize["id"] not in warning


def test_in_order_export_warns_of_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exp = Export()
    for i in range(5):
        exp.transition(f"s{i}", "route", "summarize")
        exp.llm(f"s{i}", latency=6000)
    assert main(["analyze", "--source", f"file:{exp.write(tmp_path / 'e.jsonl')}"]) == 0
    captured = capsys.readouterr()
    assert "warning" not in captured.err
    assert _marks(json.loads(captured.out)) == {"summarize": None}


def test_split_scan_marks_the_same_findings(tmp_path: Path) -> None:
    """Parts scanned by separate processes bring their out-of-order counts back per node."""
    path = _out_of_order_export(tmp_path)
    assert len(FileSource(path).split(2, 1)) == 2
    reports = []
    for jobs in (1, 2):
        settings = AnalysisSettings(jobs=jobs, min_part_bytes=1)
        reports.append(json.loads(run_analysis(FileSource(path), TimeWindow(), settings).to_json()))
    one, split = reports
    assert split["metadata"]["parts"] == 2
    assert _marks(split) == _marks(one) == {"draft": 3, "summarize": None}
