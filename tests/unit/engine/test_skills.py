"""The analyze skill reads its step inputs through the skill formula's [input] table; the
refine and file-pr skills read what earlier steps recorded only in the shape they expect."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from micro_gastown.app.skills import AnalyzeSkill, FilePrSkill, RefineSkill
from micro_gastown.engine.executor import StepContext
from micro_gastown.errors import ConfigError, SourceError
from micro_gastown.llm.ledger import CostLedger

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "examples" / "logs" / "exomonad-sample.jsonl.gz"
WINDOW = {"since": "2026-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z"}


def _context(tmp_path: Path, inputs: dict[str, Any], settings: dict[str, Any]) -> StepContext:
    return StepContext(
        "r1", "analyze", inputs, tmp_path, settings, {}, CostLedger().meter("analyze")
    )


def test_the_runs_source_wins_over_the_formulas_default(tmp_path: Path) -> None:
    """The formula defaults source to loki; a run made with --source file:... reads the file."""
    outputs = AnalyzeSkill().run(_context(tmp_path, dict(WINDOW), {"source": f"file:{DEMO}"}))
    assert outputs["critical"] == 4
    assert Path(outputs["output"]).exists()


@pytest.mark.parametrize(
    ("inputs", "source", "needle"),
    [
        ({**WINDOW, "llm": "perhaps"}, f"file:{DEMO}", "input 'llm'"),
        ({"until": WINDOW["until"]}, "loki", "input 'since' is required"),
        ({**WINDOW, "since": "yesterday"}, f"file:{DEMO}", "input 'since'"),
    ],
)
def test_inputs_that_do_not_fit_the_formula_are_a_setup_error(
    tmp_path: Path, inputs: dict[str, Any], source: str, needle: str
) -> None:
    with pytest.raises(ConfigError, match=needle) as caught:
        AnalyzeSkill().run(_context(tmp_path, inputs, {"source": source}))
    assert caught.value.retryable is False
    assert not (tmp_path / "report.json").exists()  # nothing was analyzed


def test_on_a_file_an_empty_since_reads_the_whole_export(tmp_path: Path) -> None:
    """evolve pins `since` empty for a file source: the step reads the whole export, as
    analyze does, where the formula would otherwise require a `since`."""
    inputs = {"since": "", "until": "", "llm": "false"}
    outputs = AnalyzeSkill().run(_context(tmp_path, inputs, {"source": f"file:{DEMO}"}))
    assert outputs["critical"] == 4
    assert outputs["events_analyzed"] > 19_000
    assert "warnings" not in outputs
    report = json.loads(Path(outputs["output"]).read_text())
    assert "start" not in report["metadata"]["window"]  # from the first event on


def test_a_window_without_events_is_a_warning_in_the_steps_record(tmp_path: Path) -> None:
    inputs = {"since": "2020-01-01T00:00:00Z", "until": "2020-01-02T00:00:00Z"}
    outputs = AnalyzeSkill().run(_context(tmp_path, inputs, {"source": f"file:{DEMO}"}))
    assert (outputs["events_analyzed"], outputs["patterns"]) == (0, 0)
    [warning] = outputs["warnings"]
    assert warning.startswith("no events in the window (19,997 lines read fell outside it)")


def test_a_corrupt_export_is_not_worth_another_attempt(tmp_path: Path) -> None:
    corrupt = tmp_path / "cut.jsonl.gz"
    corrupt.write_bytes(DEMO.read_bytes()[:3000])
    with pytest.raises(SourceError, match="corrupt or truncated gzip") as caught:
        AnalyzeSkill().run(_context(tmp_path, dict(WINDOW), {"source": f"file:{corrupt}"}))
    assert caught.value.retryable is False


def _filing_context(tmp_path: Path, previous: dict[str, dict[str, Any]]) -> StepContext:
    return StepContext(
        "r1", "file-pr", {"dry_run": "true"}, tmp_path, {}, previous, CostLedger().meter("f")
    )


_PROPOSAL = {"pattern_id": "p1", "fileable": True, "changes": "c.json", "patch": "c.diff"}


@pytest.mark.parametrize(
    ("previous", "place", "problem"),
    [
        ({"refine": {"proposals": [["p1"]]}}, "steps.refine.outputs.proposals[0]", "object"),
        (
            {"refine": {"proposals": [{**_PROPOSAL, "patch": None}]}},
            "steps.refine.outputs.proposals[0].patch",
            "string",
        ),
        (
            {"refine": {"proposals": [{**_PROPOSAL, "fileable": "yes"}]}},
            "steps.refine.outputs.proposals[0].fileable",
            "boolean",
        ),
        ({"refine": {"proposals": {"0": _PROPOSAL}}}, "steps.refine.outputs.proposals", "array"),
        (
            {"refine": {"proposals": [_PROPOSAL]}, "analyze": {"output": 5}},
            "steps.analyze.outputs.output",
            "string",
        ),
    ],
)
def test_file_pr_refuses_an_edited_run_state_naming_the_place(
    tmp_path: Path, previous: dict[str, dict[str, Any]], place: str, problem: str
) -> None:
    """What file-pr reads of refine's and analyze's recorded outputs is checked: a run.json
    edited by hand fails the step with a ConfigError naming the key, not a Python error
    from inside the step."""
    with pytest.raises(ConfigError, match=problem) as caught:
        FilePrSkill().run(_filing_context(tmp_path, previous))
    assert str(caught.value).startswith(f"run.json: {place}: ")
    assert list(tmp_path.iterdir()) == []  # nothing was filed or written


def test_file_pr_with_nothing_fileable_recorded_files_nothing(tmp_path: Path) -> None:
    """No proposals recorded (refine found nothing), or none fileable: a warning, no PR."""
    for previous in ({}, {"refine": {"proposals": [{**_PROPOSAL, "fileable": False}]}}):
        outputs = FilePrSkill().run(_filing_context(tmp_path, previous))
        assert outputs == {"output": "", "filed": [], "warnings": ["refine left nothing to file"]}


@pytest.mark.parametrize("suppressed", [{"p1": 5}, ["p1"], "p1"])
def test_refine_refuses_edited_suppressions_naming_the_place(
    tmp_path: Path, suppressed: object
) -> None:
    """The suppressions analyze recorded (pattern id -> why) are read only as that: an edited
    run.json is a ConfigError naming the key, before refine reads anything else."""
    context = StepContext(
        "r1",
        "refine",
        {},
        tmp_path,
        {},
        {"analyze": {"suppressed": suppressed}},
        CostLedger().meter("refine"),
    )
    with pytest.raises(ConfigError, match=r"^run\.json: steps\.analyze\.outputs\.suppressed"):
        RefineSkill().run(context)
    assert list(tmp_path.iterdir()) == []
