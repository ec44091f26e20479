"""Cassette tests of refine's drafting loop through the real Anthropic backend.

``micro_gastown.app.refine.refine`` runs on a git copy of the bundled sample for the demo's
slow ``summarize`` finding, with an :class:`AnthropicBackend` (the real SDK over HTTP)
instead of a scripted model: what refine sends is the Messages API request a live run
would send. The flows are pinned as vcrpy cassettes,
``tests/data/cassettes/anthropic/refine_<scenario>.yaml``, recorded from ``anthropic_fake``
(no network, no key) with the options of ``tests/cassettes.py``, as the backend's own
cassettes are (``tests/integration/llm/test_anthropic_backend.py``, whose credential check
covers these files too):

* replay: record mode ``none``, requests matched on method + path + JSON body, so a drifted
  system prompt, output tool, context file or finding figure fails; every recorded
  interaction must be played;
* the recorded bodies are asserted: the conditional-refiner's system prompt, the forced
  ``proposed_edits`` tool with :data:`EDITS_SCHEMA` and nothing else, the untrusted log
  data block, the repair message;
* determinism: recording a scenario again gives the committed YAML byte for byte. The
  prompt is a pure function of the report and the checkout's HEAD, so neither a temporary
  path nor a timestamp may reach a request body (the replay match would catch it too).

The bodies hold the sample's files and the finding's figures: a deliberate change of the
sample checkout, the demo logs, the polecat or the prompt changes them. Re-record, then
review the diff::

    MG_RECORD_CASSETTES=1 .venv/bin/pytest tests/integration/refine/test_drafting_cassettes.py

``must_pass`` is not run (``run_must_pass=False``): no GHC is needed, and a proposal is
``not_validated`` at best.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
import vcr as vcrpy  # type: ignore[import-untyped]

from micro_gastown.app.refine import Proposal, RefineRequest, RefineResult, refine, refiner_config
from micro_gastown.errors import LlmError, LlmRefusalError
from micro_gastown.llm.anthropic_backend import AnthropicBackend
from micro_gastown.llm.models import resolve_model
from micro_gastown.refine.drafting import OUTPUT_NAME
from micro_gastown.refine.prompt import DATA_TAG, EDITS_SCHEMA
from micro_gastown.report.changes import ChangeType, CheckOutcome, ProposalStatus
from refine_support import (
    WORKTREE_PREFIX,
    DemoBase,
    Workspace,
    answer,
    edit,
    is_clean,
    worktrees,
)

from anthropic_fake import DEFAULT_API_KEY, FakeAnthropic, Reply, message, refusal, tool_use
from cassettes import (
    ANTHROPIC_CASSETTE_OPTIONS,
    ANTHROPIC_CASSETTES,
    ANTHROPIC_REPLAY_URL,
    RECORD,
    sent,
)

pytestmark = pytest.mark.block_network(allowed_hosts=["127.0.0.1"])

SUMMARIZE = "templates/summarize.jinja"
OLD = "Rewrite the draft below as the final reply to the customer.\n"
TYPO = "Rewrite the draft below as the final answer to the customer.\n"  # not in the file
NEW = "Rewrite the draft below as a short final reply to the customer.\n"
EPHEMERAL = {"type": "ephemeral"}


# -- the scenarios ------------------------------------------------------------------------------

WHY = "p95 is 7,149 ms over 1,853 calls: a shorter reply is fewer output tokens to wait for."
SUMMARY = "Ask summarize for a short reply."


def _shorter(pattern: str, old: str = OLD) -> dict[str, Any]:
    """The model's answer: one edit of the summarize template, citing the finding."""
    return answer(edit(SUMMARIZE, old, NEW, [pattern], WHY), summary=SUMMARY, expected_after=5500)


def _found(pattern: str) -> tuple[Reply, ...]:
    return (message(tool_use(OUTPUT_NAME, _shorter(pattern))),)


def _first_misses(pattern: str) -> dict[str, Any]:
    return _shorter(pattern, TYPO)


def _repair(pattern: str) -> tuple[Reply, ...]:
    return (
        message(tool_use(OUTPUT_NAME, _first_misses(pattern))),
        message(tool_use(OUTPUT_NAME, _shorter(pattern))),
    )


def _refusal(pattern: str) -> tuple[Reply, ...]:
    return (refusal("cyber", "The request could enable cyber harm."),)


@dataclass(frozen=True)
class Scenario:
    """One recorded flow: its cassette's name and what "the model" answers, given the id
    of the finding being refined (ids carry a hash of the finding)."""

    name: str
    script: Callable[[str], tuple[Reply, ...]]

    @property
    def cassette(self) -> Path:
        return ANTHROPIC_CASSETTES / f"{self.name}.yaml"


FOUND = Scenario("refine_found", _found)
REPAIR = Scenario("refine_repair", _repair)
REFUSAL = Scenario("refine_refusal", _refusal)
SCENARIOS = [FOUND, REPAIR, REFUSAL]
SCENARIO_IDS = [scenario.name for scenario in SCENARIOS]


# -- the demo checkout ----------------------------------------------------------------------


@pytest.fixture
def ws(ws: Workspace) -> Workspace:
    """The shared clone (conftest), checked to hold what the scripted answers expect."""
    assert ws.text(SUMMARIZE).count(OLD) == 1
    assert TYPO not in ws.text(SUMMARIZE)
    return ws


@pytest.fixture
def slow(demo: DemoBase) -> str:
    """The demo's slow summarize finding: summarize.jinja is among its editable files."""
    return demo.pattern_id("slow_llm", "summarize")


def assert_left_no_trace(ws: Workspace) -> None:
    """The user's checkout is as it was, and no worktree is left, on disk or in git."""
    assert is_clean(ws.checkout)
    assert worktrees(ws.checkout) == [str(ws.checkout)]
    assert list(ws.area.iterdir()) == []


# -- recording and replaying ----------------------------------------------------------------


def refine_at(url: str, ws: Workspace, pattern: str) -> RefineResult:
    """Refine ``pattern`` with the Anthropic backend at ``url`` (refine closes it). No
    flow here is retried: a request the cassette does not hold fails at once."""
    request = RefineRequest(
        report=ws.report, repo=ws.checkout, patterns=(pattern,), run_must_pass=False
    )
    backend = AnthropicBackend(api_key=DEFAULT_API_KEY, base_url=url, max_retries=0)
    return refine(request, backend=backend)


def record(scenario: Scenario, ws: Workspace, pattern: str, path: Path) -> None:
    """Record ``scenario`` against a fresh fake into ``path``, whatever its outcome (refine
    leaves the checkout as it was, so ``ws`` can be replayed on afterwards)."""
    path.unlink(missing_ok=True)
    recorder = vcrpy.VCR(**ANTHROPIC_CASSETTE_OPTIONS)
    with (
        FakeAnthropic(scenario.script(pattern)) as fake,
        recorder.use_cassette(str(path), record_mode="all"),
    ):
        with suppress(LlmError):  # the outcome is pinned by the replay tests
            refine_at(fake.url, ws, pattern)
        assert fake.rejections == [], fake.rejections
        assert fake.errors == [], fake.errors
        assert fake.remaining == 0, f"{fake.remaining} scripted replies never asked for"


@contextmanager
def replaying(scenario: Scenario, ws: Workspace, pattern: str) -> Iterator[Any]:
    """The scenario's committed cassette in record mode ``none`` (recorded first when
    ``MG_RECORD_CASSETTES=1``); every interaction in it must be played by the block."""
    if RECORD:
        record(scenario, ws, pattern, scenario.cassette)
    recorder = vcrpy.VCR(**ANTHROPIC_CASSETTE_OPTIONS)
    with recorder.use_cassette(str(scenario.cassette), record_mode="none") as cassette:
        assert len(cassette) > 0, f"{scenario.cassette} holds no interaction"
        yield cassette
    unplayed = len(cassette) - cassette.play_count
    assert cassette.all_played, f"{unplayed} recorded interactions were never played"


def only(result: RefineResult) -> Proposal:
    assert len(result.proposals) == 1, result
    return result.proposals[0]


def user_text(body: dict[str, Any]) -> str:
    """The one user message's one text block: refine sends a single turn per call."""
    [turn] = body["messages"]
    assert turn["role"] == "user"
    [block] = turn["content"]
    assert block["type"] == "text"
    return str(block["text"])


def assert_is_a_refine_request(body: dict[str, Any], ws: Workspace, pattern: str) -> None:
    """The conditional-refiner's request: its system prompt and model settings, only the
    forced ``proposed_edits`` tool, and a message with the finding, the log data block
    and the template verbatim."""
    polecat, _ = refiner_config(())
    assert body["system"] == [
        {"type": "text", "text": polecat.system_prompt, "cache_control": EPHEMERAL}
    ]
    assert body["model"] == resolve_model(polecat.model.name)
    assert body["max_tokens"] == polecat.model.max_tokens
    assert body["temperature"] == polecat.model.temperature
    assert body["tool_choice"] == {"type": "tool", "name": OUTPUT_NAME}
    [tool] = body["tools"]  # no tools of its own: code chose the context
    assert tool["name"] == OUTPUT_NAME
    assert tool["input_schema"] == json.loads(json.dumps(EDITS_SCHEMA))
    assert tool["cache_control"] == EPHEMERAL
    prompt = user_text(body)
    opening, closing = f"<{DATA_TAG}>\n", f"\n</{DATA_TAG}>"
    assert prompt.count(opening) == prompt.count(closing) == 1
    log_data = prompt[prompt.index(opening) : prompt.index(closing)]
    assert "recommendation: " in log_data
    assert "sample 1: " in log_data
    assert f'"id": "{pattern}"' in prompt
    assert f'<dsl-file path="{SUMMARIZE}" editable="true"' in prompt
    assert ws.text(SUMMARIZE) in prompt


# -- the recorded flows ---------------------------------------------------------------------


def test_found_old_text_is_applied_through_the_anthropic_api(ws: Workspace, slow: str) -> None:
    with replaying(FOUND, ws, slow) as cassette:
        proposal = only(refine_at(ANTHROPIC_REPLAY_URL, ws, slow))

    assert proposal.status is ProposalStatus.NOT_VALIDATED  # no must_pass run: never "ready"
    [change] = proposal.changes.changes
    assert (change.path, change.change_type) == (SUMMARIZE, ChangeType.TEMPLATE)
    assert (change.lines_added, change.lines_removed) == (1, 1)
    assert change.rationale == WHY
    assert proposal.changes.metadata.summary == SUMMARY
    assert proposal.patch == change.diff
    assert f"-{OLD}" in proposal.patch
    assert f"+{NEW}" in proposal.patch
    checks = {c.name: c.outcome for c in proposal.changes.validation.checks}
    assert checks == {"git apply --check": CheckOutcome.PASSED, "static": CheckOutcome.PASSED}
    metadata = proposal.changes.metadata
    assert (metadata.backend, metadata.repair_rounds) == ("anthropic", 0)
    assert metadata.cost_usd is not None
    assert metadata.cost_usd > 0  # the fake's usage, priced as the API's would be
    assert proposal.changes.rejected == []
    [body] = sent(cassette)
    assert_is_a_refine_request(body, ws, slow)
    assert_left_no_trace(ws)


def test_old_text_not_found_is_asked_again_with_the_reason(ws: Workspace, slow: str) -> None:
    with replaying(REPAIR, ws, slow) as cassette:
        proposal = only(refine_at(ANTHROPIC_REPLAY_URL, ws, slow))

    assert proposal.status is ProposalStatus.NOT_VALIDATED
    assert proposal.changes.metadata.repair_rounds == 1
    assert proposal.changes.rejected == []
    [change] = proposal.changes.changes
    assert (change.lines_added, change.lines_removed) == (1, 1)
    assert f"+{NEW}" in proposal.patch
    first, second = sent(cassette)
    assert_is_a_refine_request(first, ws, slow)
    assert_is_a_refine_request(second, ws, slow)
    # A new request, not a turn of the first: the same message, the answer, the reason.
    opening, follow_up = user_text(first), user_text(second)
    assert follow_up.startswith(opening)
    repair = follow_up[len(opening) :]
    first_answer = orjson.dumps(_first_misses(slow), option=orjson.OPT_SORT_KEYS).decode()
    assert f"\nYour previous answer:\n{first_answer}\n" in repair
    assert f'edit of "{SUMMARIZE}" (not_found): old_text not found in {SUMMARIZE}' in repair
    assert f"closest line: {OLD.strip()}" in repair
    assert "This is the only repair round" in repair
    assert_left_no_trace(ws)


def test_a_refusal_is_raised_and_the_worktree_removed(ws: Workspace, slow: str) -> None:
    with (
        replaying(REFUSAL, ws, slow) as cassette,
        pytest.raises(LlmRefusalError, match="the model refused") as raised,
    ):
        refine_at(ANTHROPIC_REPLAY_URL, ws, slow)

    assert "could enable cyber harm" in str(raised.value)
    [body] = sent(cassette)
    assert_is_a_refine_request(body, ws, slow)
    assert_left_no_trace(ws)


# -- what every cassette pins -----------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_recording_again_reproduces_the_cassette(
    scenario: Scenario, ws: Workspace, slow: str, tmp_path: Path
) -> None:
    again = tmp_path / f"{scenario.name}.yaml"
    record(scenario, ws, slow, again)
    assert again.read_text(encoding="utf-8") == scenario.cassette.read_text(encoding="utf-8")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_no_temporary_path_reaches_a_request(scenario: Scenario) -> None:
    """Said plainly (the byte-for-byte check above would also fail): the prompt names
    files relative to the checkout, never where refine's worktree or the test ran."""
    text = scenario.cassette.read_text(encoding="utf-8")
    for leak in (WORKTREE_PREFIX, "pytest-of-", tempfile.gettempdir() + "/"):
        assert leak not in text, f"{scenario.cassette} holds {leak!r}"


def test_every_refine_cassette_belongs_to_a_scenario() -> None:
    on_disk = {path.stem for path in ANTHROPIC_CASSETTES.glob("refine_*.yaml")}
    assert on_disk == set(SCENARIO_IDS)
