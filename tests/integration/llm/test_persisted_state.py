"""A real run's persisted files against their schemas, and hostile ones through the CLI: the
ledger in run.json and a replay file are refused as one line with exit code 2, never a
traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from micro_gastown.cli import main
from micro_gastown.llm.state_schemas import state_schema
from micro_gastown.testing.demo_refine import demo_checkout

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "examples" / "logs" / "exomonad-sample.jsonl.gz"
REPO = ROOT / "examples" / "exomonad-sample"
REPLAY = ROOT / "examples" / "llm" / "log-analyzer-review.replay.json"
EVOLVE = ["evolve", "--source", f"file:{DEMO}", "--llm", "--max-prs", "0"]


def _replayed_run(runs: Path) -> Path:
    """An evolve run answered from the shipped replay file; its run.json."""
    # a git copy of the sample (refine makes worktrees in it, though --max-prs 0 refines
    # nothing, so file-pr files nothing): the run completes
    repo = demo_checkout(runs.parent / "checkout")
    argv = [*EVOLVE, "--repo", str(repo), "--backend", "replay", "--replay", str(REPLAY)]
    argv += ["--runs-dir", str(runs)]
    assert main(argv) == 0
    (path,) = runs.glob("*/run.json")
    return path


def test_the_ledger_of_a_real_run_validates_against_its_schema(tmp_path: Path) -> None:
    state: dict[str, Any] = json.loads(_replayed_run(tmp_path / "runs").read_text())
    ledger = state["ledger"]
    jsonschema.Draft202012Validator(state_schema("LedgerRecord")).validate(ledger)
    [call] = ledger["steps"]["analyze"]["calls"]
    assert call["model"] == "claude-haiku-4-5-20251001"
    assert ledger["spent_usd"] == call["cost_usd"]


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("1e400", "ledger.steps.analyze.calls[0].cost_usd"),  # was a decimal traceback
        ("-0.5", "ledger.steps.analyze.calls[0].cost_usd"),
        (None, "ledger.steps.analyze.calls[0].cost_usd"),
    ],
)
def test_resuming_with_a_hostile_ledger_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: Any, field: str
) -> None:
    runs = tmp_path / "runs"
    path = _replayed_run(runs)
    state = json.loads(path.read_text())
    state["ledger"]["steps"]["analyze"]["calls"][0]["cost_usd"] = value
    path.write_text(json.dumps(state))
    capsys.readouterr()

    assert main(["evolve", "--resume", path.parent.name, "--runs-dir", str(runs)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert field in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[" * 10_000 + "]" * 10_000, "line 1: nested more than 100 levels deep"),
        ('{"k": {"output": NaN, "calls": []}}', "NaN is not a JSON number"),
        ('{"k": {"output": 1, "calls": [], "extra": 1}}', "k.extra: not a known field"),
    ],
)
def test_a_hostile_replay_file_is_one_line_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    hostile = tmp_path / "hostile.json"
    hostile.write_text(text)
    out = tmp_path / "report.json"
    argv = ["analyze", "--source", f"file:{DEMO}", "--repo", str(REPO), "--output", str(out)]
    assert main([*argv, "--llm", "--backend", "replay", "--replay", str(hostile)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"{hostile}: " in err
    assert expected in err
