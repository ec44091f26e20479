"""The analyze skill reads its step inputs through the skill formula's [input] table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from micro_gastown.engine.executor import StepContext
from micro_gastown.engine.skills import AnalyzeSkill
from micro_gastown.errors import ConfigError
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
    ("inputs", "needle"),
    [
        ({**WINDOW, "llm": "perhaps"}, "input 'llm'"),
        ({"until": WINDOW["until"]}, "input 'since' is required"),
        ({**WINDOW, "since": "yesterday"}, "input 'since'"),
    ],
)
def test_inputs_that_do_not_fit_the_formula_are_a_setup_error(
    tmp_path: Path, inputs: dict[str, Any], needle: str
) -> None:
    with pytest.raises(ConfigError, match=needle) as caught:
        AnalyzeSkill().run(_context(tmp_path, inputs, {"source": f"file:{DEMO}"}))
    assert caught.value.retryable is False
    assert not (tmp_path / "report.json").exists()  # nothing was analyzed
