"""A real run's run.json against its checked-in schema, and a hostile one through the CLI:
refused as one line with exit code 2, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from micro_gastown.cli import main
from micro_gastown.testing.demo_refine import demo_checkout

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "examples" / "logs" / "exomonad-sample.jsonl.gz"
REPLAY = ROOT / "examples" / "llm" / "log-analyzer-review.replay.json"
SCHEMA = ROOT / "schemas" / "state" / "RunState.json"


def _replayed_run(runs: Path) -> Path:
    """An evolve run answered from the shipped replay file; its run.json."""
    repo = demo_checkout(runs.parent / "checkout")  # refine makes its worktrees there
    argv = ["evolve", "--source", f"file:{DEMO}", "--repo", str(repo), "--llm", "--max-prs", "0"]
    argv += ["--backend", "replay", "--replay", str(REPLAY), "--runs-dir", str(runs)]
    assert main(argv) == 0  # --max-prs 0: refine refines nothing, file-pr files nothing
    (path,) = runs.glob("*/run.json")
    return path


def test_a_real_run_state_validates_against_the_checked_in_schema(tmp_path: Path) -> None:
    state: dict[str, Any] = json.loads(_replayed_run(tmp_path / "runs").read_text())
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(state)
    assert state["status"] == "completed"
    assert state["steps"]["analyze"]["status"] == "completed"
    assert state["steps"]["file-pr"]["status"] == "completed"  # its record is checked too
    assert state["ledger"]["steps"]["analyze"]["calls"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"status": "paused"}, "not a readable run state: status: Input should be"),
        ({"settings": json.loads("[" * 150 + "]" * 150)}, "line 1: nested more than 100"),
        ({"vars": {"since": 3}}, "not a readable run state: vars.since: expected a string"),
    ],
)
def test_resuming_a_hostile_run_state_is_one_line_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, Any], expected: str
) -> None:
    runs = tmp_path / "runs"
    path = _replayed_run(runs)
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    capsys.readouterr()

    assert main(["evolve", "--resume", path.parent.name, "--runs-dir", str(runs)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"{path}: {expected}" in err
    assert "Traceback" not in err
