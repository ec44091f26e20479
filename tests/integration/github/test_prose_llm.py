"""The pr-filer's words through real backends: the replay backend (the demo's committed
recordings, and recordings written here by the recording backend) and the Anthropic
backend against the fake Messages API on 127.0.0.1.

The change is the demo's: its analyze and its refine (replayed from the refiner's
recordings, without cabal), as ``make demo`` files it.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from micro_gastown.errors import LlmError
from micro_gastown.github.prose import (
    WRITTEN_BY_FALLBACK,
    ProseOutcome,
    prose_from_code,
    write_prose,
)
from micro_gastown.github.prose_prompt import OUTPUT_NAME
from micro_gastown.llm.anthropic_backend import AnthropicBackend
from micro_gastown.llm.base import CallRecord, LlmBackend, LlmRequest, LlmResponse, Meter, Usage
from micro_gastown.llm.ledger import CostLedger
from micro_gastown.llm.replay import RecordingBackend, ReplayBackend
from micro_gastown.report.changes import ValidationStatus
from micro_gastown.testing import demo_prose
from micro_gastown.testing.demo_prose import DemoFiling

from anthropic_fake import DEFAULT_API_KEY, FakeAnthropic, Reply, message, tool_use

STEP = "file-pr"
SLOW = "slow-llm-summarize-claude-haiku-4-5-b57e1420da"
"""The demo's first finding: the summarize template change."""


@contextmanager
def isolated(directory: Path) -> Iterator[None]:
    """git that reads no config of this machine and finds no repository above
    ``directory``; temporary files (refine's worktrees, the demo's copies) under it."""
    scratch = directory / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    config = directory / "gitconfig"
    config.write_text("")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GIT_CONFIG_GLOBAL", str(config))
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        patch.setenv("HOME", str(directory))
        patch.setenv("GIT_CEILING_DIRECTORIES", str(directory))
        for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
            patch.delenv(name, raising=False)
        patch.setenv("TMPDIR", str(scratch))
        patch.setattr(tempfile, "tempdir", str(scratch))
        yield


@pytest.fixture(scope="module")
def filing(tmp_path_factory: pytest.TempPathFactory) -> DemoFiling:
    """The demo's summarize change, as file-pr gets it."""
    directory = tmp_path_factory.mktemp("demo")
    _, answers = demo_prose.read_answers(demo_prose.ANSWERS)
    with isolated(directory):
        filings = demo_prose.demo_filings(directory, answers)
    [slow] = [f for f in filings if f.changes.patterns_addressed == [SLOW]]
    return slow


@pytest.fixture(scope="module")
def demo_answer() -> dict[str, Any]:
    _, answers = demo_prose.read_answers(demo_prose.ANSWERS)
    answer: dict[str, Any] = answers[SLOW]
    return answer


def run(filing: DemoFiling, backend: LlmBackend, ledger: CostLedger) -> ProseOutcome:
    return write_prose(
        filing.changes,
        filing.patterns,
        filing.files,
        backend=backend,
        polecat=demo_prose.pr_filer(),
        meter=ledger.meter(STEP),
    )


# --------------------------------------------------------------------------------------
# The demo's replay file
# --------------------------------------------------------------------------------------


def test_the_committed_replay_file_is_current(tmp_path: Path) -> None:
    """Keyed on the exact requests: a change of the prose prompt, the polecat, the
    refiner's answers or the demo logs changes the keys."""
    fresh = tmp_path / "replay.json"
    with isolated(tmp_path):
        demo_prose.write_replay(demo_prose.ANSWERS, fresh)
    assert json.loads(fresh.read_text()) == json.loads(demo_prose.REPLAY.read_text()), (
        "examples/llm/pr-filer.replay.json is stale: run "
        "`python -m micro_gastown.testing.demo_prose record`"
    )
    assert demo_prose.demo_prose_replay_path() == demo_prose.REPLAY


@pytest.mark.parametrize("status", demo_prose.RECORDED_STATUSES)
def test_the_demo_replays_the_hand_written_words_whatever_the_validation(
    filing: DemoFiling, demo_answer: dict[str, Any], status: ValidationStatus
) -> None:
    ledger = CostLedger()
    outcome = run(filing.with_status(status), ReplayBackend(demo_prose.REPLAY), ledger)
    assert (outcome.fell_back, outcome.figures_removed) == (False, ())
    assert outcome.prose.title == demo_answer["title"]
    assert outcome.prose.summary == demo_answer["summary"]
    assert outcome.prose.impact == demo_answer["impact"]
    assert dict(outcome.prose.changes) == {c["path"]: c["why"] for c in demo_answer["changes"]}
    assert outcome.prose.written_by == "pr-filer (claude-haiku-4-5)"
    assert len(ledger.calls(STEP)) == 1
    assert ledger.step_cost_usd(STEP) > Decimal(0)


def test_a_changed_request_misses_the_replay_file_loudly(filing: DemoFiling) -> None:
    changed = filing.with_status(ValidationStatus.FAILED)
    with pytest.raises(LlmError, match="no recorded response"):
        run(changed, ReplayBackend(demo_prose.REPLAY), CostLedger())


# --------------------------------------------------------------------------------------
# Recordings written here, replayed
# --------------------------------------------------------------------------------------


class Scripted:
    """The model for the recording backend: answers in order, one priced call each."""

    name = "scripted"

    def __init__(self, *answers: dict[str, Any]) -> None:
        self.answers = list(answers)

    def complete(self, request: LlmRequest, meter: Meter) -> LlmResponse:
        record = CallRecord("claude-haiku-4-5-20251001", Usage(2000, 300))
        meter.before(record.model, 2000, request.max_tokens)
        meter.after(record)
        return LlmResponse(self.answers.pop(0), (record,))

    def close(self) -> None:
        """Nothing held."""


def recorded_then_replayed(
    filing: DemoFiling, path: Path, *answers: dict[str, Any]
) -> tuple[ProseOutcome, ProseOutcome, CostLedger]:
    """The outcome live (through the recording backend) and replayed from its file."""
    live = run(filing, RecordingBackend(Scripted(*answers), path), CostLedger())
    ledger = CostLedger()
    replay = ReplayBackend(path)
    replayed = run(filing, replay, ledger)
    assert replay.unplayed_keys() == []
    return live, replayed, ledger


def test_a_replayed_sentence_with_an_invented_figure_is_dropped(
    filing: DemoFiling, demo_answer: dict[str, Any], tmp_path: Path
) -> None:
    invented = "It cuts latency by 40% and saves $0.05 per call."
    answer = {**demo_answer, "impact": f"{demo_answer['impact']} {invented}"}
    live, replayed, ledger = recorded_then_replayed(filing, tmp_path / "r.json", answer)
    assert replayed == live
    assert replayed.prose.impact == demo_answer["impact"]
    assert invented not in replayed.prose.impact
    assert replayed.figures_removed == ("40%", "$0.05")
    assert not replayed.fell_back
    assert len(ledger.calls(STEP)) == 1


def test_a_replayed_answer_invalid_twice_falls_back_with_the_reason(
    filing: DemoFiling, demo_answer: dict[str, Any], tmp_path: Path
) -> None:
    stray = {**demo_answer, "changes": [{"path": ".github/workflows/ci.yml", "why": "CI."}]}
    live, replayed, ledger = recorded_then_replayed(filing, tmp_path / "r.json", stray, stray)
    assert replayed == live
    assert replayed.fell_back
    assert replayed.repair_rounds == 1
    assert replayed.reason is not None
    assert "after a repair" in replayed.reason
    assert '".github/workflows/ci.yml", which is not a file of the change' in replayed.reason
    code = prose_from_code(filing.changes, filing.patterns, filing.files)
    assert replayed.prose.title == code.title
    assert replayed.prose.changes == code.changes
    assert replayed.prose.written_by == WRITTEN_BY_FALLBACK
    assert len(ledger.calls(STEP)) == 2  # both calls are metered


# --------------------------------------------------------------------------------------
# The Anthropic backend against the fake Messages API
# --------------------------------------------------------------------------------------


@pytest.fixture
def fake_backend() -> Iterator[Any]:
    """``start(*script)`` gives (fake, backend); every fake is checked at the end."""
    fakes: list[FakeAnthropic] = []
    backends: list[AnthropicBackend] = []

    def start(*script: Reply) -> tuple[FakeAnthropic, AnthropicBackend]:
        fake = FakeAnthropic(script)
        fake.__enter__()
        fakes.append(fake)
        backend = AnthropicBackend(api_key=DEFAULT_API_KEY, base_url=fake.url, max_retries=0)
        backends.append(backend)
        return fake, backend

    yield start
    for backend in backends:
        backend.close()
    for fake in fakes:
        fake.__exit__(None, None, None)
        assert fake.rejections == [], fake.rejections
        assert fake.errors == [], fake.errors
        assert fake.remaining == 0


def answer_turn(answer: dict[str, Any]) -> Reply:
    return message(tool_use(OUTPUT_NAME, answer))


def test_a_good_answer_over_the_api_is_the_prose_and_its_cost_is_metered(
    filing: DemoFiling, demo_answer: dict[str, Any], fake_backend: Any
) -> None:
    fake, backend = fake_backend(answer_turn(demo_answer))
    ledger = CostLedger()
    outcome = run(filing, backend, ledger)
    assert (outcome.fell_back, outcome.figures_removed) == (False, ())
    assert outcome.prose.title == demo_answer["title"]
    [request] = fake.requests
    body = request.body
    assert body["tool_choice"]["type"] in ("any", "tool")
    assert [t["name"] for t in body["tools"]] == [OUTPUT_NAME]
    prompt = body["messages"][0]["content"][0]["text"]
    assert "<untrusted-data>" in prompt
    assert '"p95_ms": 7149' in prompt
    [call] = ledger.calls(STEP)
    assert call.usage.input_tokens > 0
    assert ledger.step_cost_usd(STEP) == call.cost_usd > Decimal(0)


def test_an_invented_figure_over_the_api_is_dropped(
    filing: DemoFiling, demo_answer: dict[str, Any], fake_backend: Any
) -> None:
    summary = "Replies will be 3x faster thanks to this change. It shortens the reply."
    _, backend = fake_backend(answer_turn({**demo_answer, "summary": summary}))
    outcome = run(filing, backend, CostLedger())
    assert outcome.prose.summary == "It shortens the reply."
    assert outcome.figures_removed == ("3x",)


def test_an_answer_invalid_twice_over_the_api_falls_back(
    filing: DemoFiling, demo_answer: dict[str, Any], fake_backend: Any
) -> None:
    mention = {**demo_answer, "summary": "Thanks to @octocat, replies are shorter."}
    fake, backend = fake_backend(answer_turn(mention), answer_turn(mention))
    ledger = CostLedger()
    outcome = run(filing, backend, ledger)
    assert outcome.fell_back
    assert outcome.reason is not None
    assert "an @mention" in outcome.reason
    assert "@octocat" not in outcome.prose.summary
    second = fake.requests[1].body["messages"][0]["content"][0]["text"]
    assert "## Your answer could not be used" in second
    assert len(ledger.calls(STEP)) == 2


def test_an_answer_the_schema_refuses_three_times_falls_back(
    filing: DemoFiling, fake_backend: Any
) -> None:
    """The backend's own schema repairs (two) come first; then code's words."""
    broken = {"title": "sleeptime: x"}
    fake, backend = fake_backend(*(answer_turn(broken) for _ in range(3)))
    ledger = CostLedger()
    outcome = run(filing, backend, ledger)
    assert outcome.fell_back
    assert outcome.reason is not None
    assert "not valid against its schema" in outcome.reason
    code = prose_from_code(filing.changes, filing.patterns, filing.files)
    assert outcome.prose == replace(code, written_by=WRITTEN_BY_FALLBACK)
    assert len(fake.requests) == 3
    assert len(ledger.calls(STEP)) == 3
