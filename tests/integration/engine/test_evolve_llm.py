"""evolve --llm: the analyze step's model calls are charged to the run, priced from the table,
recorded with --record and replayed with --backend replay to the same report and cost."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from micro_gastown.cli import main
from micro_gastown.llm.base import Usage
from micro_gastown.llm.models import price_decimal
from micro_gastown.testing.demo_refine import demo_checkout

from anthropic_fake import DEFAULT_API_KEY, FakeAnthropic, overloaded
from fakes import claude_result, install_fake_claude

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "examples" / "logs" / "exomonad-sample.jsonl.gz"
ANSWER = ROOT / "examples" / "llm" / "log-analyzer-review.answer.json"
WINDOW = ["--since", "2026-01-01T00:00:00Z", "--until", "2027-01-01T00:00:00Z"]
USAGE = {
    "input_tokens": 1_812,
    "output_tokens": 655,
    "cache_read_input_tokens": 4_096,
    "cache_creation_input_tokens": 1_024,
}


def _run(runs: Path, *flags: str) -> dict[str, Any]:
    # A git copy of the sample (refine makes worktrees in it); --max-prs 0: refine calls no
    # model and file-pr has nothing to file, so the ledger holds the analyze review alone and
    # the run completes.
    repo = demo_checkout(runs.parent / f"{runs.name}-checkout")
    argv = ["evolve", "--source", f"file:{DEMO}", "--repo", str(repo), *WINDOW, "--llm"]
    assert main([*argv, "--runs-dir", str(runs), "--max-prs", "0", *flags]) == 0
    (path,) = runs.glob("*/run.json")
    state: dict[str, Any] = json.loads(path.read_text())
    return state


def _report(state: dict[str, Any]) -> dict[str, Any]:
    analyze = state["steps"]["analyze"]
    assert analyze["status"] == "completed", analyze
    report: dict[str, Any] = json.loads(Path(analyze["outputs"]["output"]).read_text())
    return report


def test_llm_costs_are_usage_times_prices_and_a_recording_replays_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = json.loads(ANSWER.read_text())["output"]
    fake = install_fake_claude(tmp_path, monkeypatch)
    # no total_cost_usd: the ledger prices the usage from the table
    fake.answer(claude_result(USAGE, total_cost_usd=None, structured_output=answer))
    recording = tmp_path / "recorded.json"
    live = _run(
        tmp_path / "live",
        "--backend",
        "claude-code",
        "--claude-path",
        str(fake.path),
        "--record",
        str(recording),
    )

    ledger = live["ledger"]
    [call] = ledger["steps"]["analyze"]["calls"]
    assert call["usage"] == USAGE
    assert call["cost_source"] == "price_table"
    priced = price_decimal(call["model"], Usage(**USAGE))
    assert Decimal(call["cost_usd"]) == priced
    assert Decimal(ledger["steps"]["analyze"]["cost_usd"]) == priced
    assert Decimal(ledger["spent_usd"]) == priced > 0
    assert ledger["usage"] == USAGE
    report = _report(live)
    assert [p["id"] for p in report["patterns"]] == answer["ranking"]
    assert any("recording(claude-code) backend" in n for n in report["metadata"]["notes"])

    replayed = _run(tmp_path / "replay", "--backend", "replay", "--replay", str(recording))
    assert replayed["ledger"]["spent_usd"] == ledger["spent_usd"]
    assert replayed["ledger"]["steps"]["analyze"]["calls"] == [call]
    again = _report(replayed)
    assert again["patterns"] == report["patterns"]


def test_backend_flags_that_do_not_fit_fail_before_a_run_exists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    argv = ["evolve", "--runs-dir", str(runs), "--llm", "--backend", "replay"]
    assert main([*argv, "--replay", "x.json", "--record", "y.json"]) == 2
    assert "--record: recording needs a live backend" in capsys.readouterr().err
    assert main(argv) == 2
    assert "--replay: the replay backend needs a file of recorded answers" in (
        capsys.readouterr().err
    )
    assert not runs.exists() or not any(runs.iterdir())


def test_with_the_llm_down_the_analyze_step_completes_with_the_review_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The review is optional: the API overloaded through the SDK's retries leaves the
    deterministic report, a note in it, and a coded reason in the step's record."""
    with FakeAnthropic([overloaded(retry_after_ms=10)] * 3) as fake:
        monkeypatch.setenv("ANTHROPIC_API_KEY", DEFAULT_API_KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        state = _run(tmp_path / "runs", "--backend", "anthropic")
        assert len(fake.requests) == 3  # one call and the SDK's two retries
    analyze = state["steps"]["analyze"]
    assert (analyze["status"], analyze["attempts"]) == ("completed", 1)
    review = analyze["outputs"]["review"]
    assert (review["status"], review["code"]) == ("skipped", "llm_unavailable")
    assert "the Anthropic API is overloaded (529" in review["reason"]
    report = _report(state)
    assert report["summary"]["critical"] == 4
    [note] = [n for n in report["metadata"]["notes"] if n.startswith("LLM review not applied")]
    assert "overloaded" in note
    assert "LLM review skipped (llm_unavailable): the Anthropic API is overloaded" in (
        capsys.readouterr().out
    )
