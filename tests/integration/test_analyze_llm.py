"""analyze --llm end to end, with recorded answers: ranking applied, cost shown, budget kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from micro_gastown.analysis.review import review_with_polecat
from micro_gastown.bundled import bundled_polecat
from micro_gastown.cli import main
from micro_gastown.config.polecat import load_polecat
from micro_gastown.llm.base import CallRecord, LlmRequest, LlmResponse, Meter, Usage
from micro_gastown.llm.ledger import CostLedger
from micro_gastown.llm.replay import RecordingBackend
from micro_gastown.report.model import PatternReport

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "logs" / "exomonad-sample.jsonl.gz"
REPO = ROOT / "examples" / "exomonad-sample"
ARGS = ["analyze", "--source", f"file:{DEMO}", "--repo", str(REPO), "--jobs", "1"]


class Reverse:
    """Stands in for the model while recording: reverses the ranking, rewrites one text."""

    name = "reverse"

    def complete(self, request: LlmRequest, meter: Meter) -> LlmResponse:
        meter.before(request.model, 2000, request.max_tokens)
        ids = [p["id"] for p in json.loads(request.prompt.split("\n\n", 1)[1])["patterns"]]
        record = CallRecord(request.model, Usage(3000, 400, 2000, 0))
        meter.after(record)
        review = {
            "ranking": list(reversed(ids)),
            "recommendations": [{"id": ids[-1], "recommendation": "Edit Graph.hs first."}],
        }
        return LlmResponse(review, (record,))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Recordings for the demo report's review, made the way a live run would make them."""
    folder = tmp_path_factory.mktemp("llm")
    plain = folder / "plain.json"
    assert main([*ARGS, "--output", str(plain)]) == 0
    report = PatternReport.model_validate_json(plain.read_text())
    polecat = load_polecat(bundled_polecat("log-analyzer"))
    recordings = folder / "recordings.json"
    review_with_polecat(
        report,
        polecat,
        RecordingBackend(Reverse(), recordings),
        CostLedger().meter("analyze"),
        checkout=REPO,
    )
    return recordings, [p.id for p in report.patterns]


def _run(tmp_path: Path, *flags: str) -> tuple[int, dict[str, Any] | None]:
    out = tmp_path / "reviewed.json"
    code = main([*ARGS, "--output", str(out), *flags])
    return code, json.loads(out.read_text()) if out.exists() else None


def test_llm_review_reorders_and_sharpens_and_shows_the_cost(
    recorded: tuple[Path, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recordings, ids = recorded
    code, report = _run(tmp_path, "--llm", "--backend", "replay", "--replay", str(recordings))
    assert code == 0
    assert report is not None
    assert [p["id"] for p in report["patterns"]] == list(reversed(ids))
    assert report["patterns"][0]["recommendation"] == "Edit Graph.hs first."
    (note,) = [n for n in report["metadata"]["notes"] if n.startswith("ranked")]
    assert "claude-haiku-4-5" in note
    assert "$0." in note
    assert "LLM review: 3,000 in / 400 out" in capsys.readouterr().err


def test_the_budget_stops_the_review_before_the_call(
    recorded: tuple[Path, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recordings, ids = recorded
    code, report = _run(
        tmp_path, "--llm", "--backend", "replay", "--replay", str(recordings),
        "--budget-usd", "0.0001",
    )  # fmt: skip
    assert code == 5
    # the deterministic report is kept, unreviewed, and says why
    assert report is not None
    assert [p["id"] for p in report["patterns"]] == ids
    [note] = [n for n in report["metadata"]["notes"] if n.startswith("LLM review not applied")]
    assert "budget_usd: stopping before the budget is exceeded" in note
    assert "--" not in note  # the report is read by every face: it names no flag
    err = capsys.readouterr().err
    assert "LLM review not applied, report written without it: --budget-usd: stopping" in err


def test_a_prompt_that_changed_misses_the_recordings_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    code, _ = _run(tmp_path, "--llm", "--backend", "replay", "--replay", str(empty))
    assert code != 0
    assert str(empty) in capsys.readouterr().err


@pytest.mark.parametrize("key", [None, ""])
@pytest.mark.parametrize("to_stdout", [False, True])
def test_without_an_api_key_the_report_is_written_unreviewed(
    recorded: tuple[Path, list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    key: str | None,
    to_stdout: bool,
) -> None:
    """No key is a review that cannot run, like the API being down: the deterministic
    report is written (to --output or stdout) with a note, one error line, exit 4."""
    _, ids = recorded
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    if key is None:
        monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    else:
        monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    out = tmp_path / "report.json"
    argv = [*ARGS, "--llm", "--backend", "anthropic"]
    assert main(argv if to_stdout else [*argv, "--output", str(out)]) == 4
    captured = capsys.readouterr()
    report = json.loads(captured.out if to_stdout else out.read_text())
    assert [p["id"] for p in report["patterns"]] == ids
    [note] = [n for n in report["metadata"]["notes"] if n.startswith("LLM review not applied")]
    assert "no Anthropic API key" in note
    [error] = [line for line in captured.err.splitlines() if "error" in line]
    assert error.startswith("micro-gastown analyze: error: LLM review not applied, report written")
    assert "no Anthropic API key" in error


@pytest.mark.parametrize(
    ("flags", "code", "needle"),
    [
        (["--backend", "replay"], 2, "--replay: the replay backend needs a file of recorded"),
        (["--budget-usd", "-1"], 2, "'-1': expected dollars"),
        (["--budget-usd", "1e30"], 2, "'1e30': expected dollars, from 0 to 1,000,000"),
    ],
)
def test_review_setup_mistakes_fail_before_any_log_is_read(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    flags: list[str],
    code: int,
    needle: str,
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    missing = tmp_path / "never-read.jsonl"  # reading it would fail with exit 3
    out = tmp_path / "report.json"
    argv = ["analyze", "--source", f"file:{missing}", "--llm", "--output", str(out), *flags]
    assert main(argv) == code
    assert needle in capsys.readouterr().err
    assert not out.exists()
