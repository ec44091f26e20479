"""Cassette tests of the drafting loop, through ``app.refine.refine`` on the demo checkout.

A scripted model plays the conditional-refiner's answers call by call; refine runs for
real around it (context, guardrails, the git worktree, the diff, ``git apply --check``,
the static check), without the must_pass commands, so no GHC is needed. Each test pins
one turn of the loop: old text found, not found and repaired, not found twice, ambiguous,
a decline, a refusal, a budget stop, a missing pattern link, a change too large; one runs
the real replay backend on a replay file keyed on the exact requests.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from micro_gastown.app.analyzer import LlmRequest
from micro_gastown.app.refine import Proposal, RefineRequest, RefineResult, refine
from micro_gastown.errors import BudgetExceeded, ExitCode, LlmError, LlmRefusalError
from micro_gastown.llm.base import LlmBackend, Meter
from micro_gastown.llm.ledger import CostLedger
from micro_gastown.report.changes import ChangeType, CheckOutcome, ProposalStatus
from micro_gastown.testing.demo_review import ROOT
from micro_gastown.testing.scripted import ScriptedAnswers
from refine_support import (
    WORKTREE_PREFIX,
    DemoBase,
    ScriptedModel,
    Workspace,
    answer,
    edit,
    git,
    is_clean,
    worktrees,
    write_replay,
)

SUMMARIZE = "templates/summarize.jinja"


@pytest.fixture
def slow(demo: DemoBase) -> str:
    """The demo's slow summarize finding: its context is summarize.jinja, Context.hs and
    Handlers.hs."""
    return demo.pattern_id("slow_llm", "summarize")


def run(
    ws: Workspace,
    model: LlmBackend | None,
    pattern: str,
    *,
    meter: Meter | None = None,
    **fields: Any,
) -> RefineResult:
    request = RefineRequest(
        report=ws.report, repo=ws.checkout, patterns=(pattern,), run_must_pass=False, **fields
    )
    return refine(request, backend=model, meter=meter)


def only(result: RefineResult) -> Proposal:
    assert len(result.proposals) == 1, result
    return result.proposals[0]


def assert_left_no_trace(ws: Workspace) -> None:
    """The user's checkout is as it was, and no worktree is left, on disk or in git."""
    assert is_clean(ws.checkout)
    assert worktrees(ws.checkout) == [str(ws.checkout)]
    assert list(ws.area.iterdir()) == []


def unique_line(text: str, containing: str) -> str:
    """The one line of ``text`` holding ``containing``, with its newline."""
    lines = [line for line in text.splitlines(keepends=True) if containing in line]
    assert len(lines) == 1, lines
    assert text.count(lines[0]) == 1, lines
    return lines[0]


def rules(proposal: Proposal) -> list[tuple[str, str]]:
    return [(r.path, r.rule) for r in proposal.changes.rejected]


# --------------------------------------------------------------------------------------
# Old text found, not found, ambiguous
# --------------------------------------------------------------------------------------


def test_found_old_text_is_applied_and_the_patch_reproduces_the_edit(
    demo: DemoBase, ws: Workspace, slow: str, tmp_path: Path
) -> None:
    original = ws.text(SUMMARIZE)
    old = unique_line(original, "Rewrite the draft")
    new = "Rewrite the draft below as a short final reply to the customer.\n"
    model = ScriptedModel([answer(edit(SUMMARIZE, old, new, [slow]), expected_after=4000)])

    proposal = only(run(ws, model, slow))

    assert proposal.status is ProposalStatus.NOT_VALIDATED  # no must_pass run: never "ready"
    assert len(model.sent) == 1
    assert model.closed
    [change] = proposal.changes.changes
    assert (change.path, change.change_type) == (SUMMARIZE, ChangeType.TEMPLATE)
    assert (change.lines_added, change.lines_removed) == (1, 1)
    assert change.rationale == "scripted for a test"
    assert proposal.patch == change.diff
    assert f"-{old}" in proposal.patch
    assert f"+{new}" in proposal.patch
    checks = {c.name: c.outcome for c in proposal.changes.validation.checks}
    assert checks == {"git apply --check": CheckOutcome.PASSED, "static": CheckOutcome.PASSED}
    assert proposal.changes.metadata.repair_rounds == 0
    assert proposal.changes.rejected == []
    # The patch code wrote applies to a fresh clone and yields exactly the edited file.
    fresh = tmp_path / "fresh"
    git(tmp_path, "clone", "--quiet", "--local", str(demo.checkout), str(fresh))
    git(fresh, "apply", "-", stdin=proposal.patch)
    assert (fresh / SUMMARIZE).read_text(encoding="utf-8") == original.replace(old, new)
    assert git(fresh, "status", "--porcelain") == f" M {SUMMARIZE}\n"
    assert_left_no_trace(ws)


def test_old_text_not_found_goes_back_once_with_the_reason_then_applies(
    ws: Workspace, slow: str
) -> None:
    original = ws.text(SUMMARIZE)
    old = unique_line(original, "Rewrite the draft")
    typo = old.replace("final reply", "final answer")
    new = "Rewrite the draft below as a short final reply to the customer.\n"
    first = answer(edit(SUMMARIZE, typo, new, [slow]))
    model = ScriptedModel([first, answer(edit(SUMMARIZE, old, new, [slow]))])

    proposal = only(run(ws, model, slow))

    assert len(model.sent) == 2
    opening, repair = model.prompts
    assert repair.startswith(opening)  # the same message, then the answer and the reason
    follow_up = repair[len(opening) :]
    assert orjson.dumps(first, option=orjson.OPT_SORT_KEYS).decode() in follow_up
    assert f'edit of "{SUMMARIZE}" (not_found): old_text not found in {SUMMARIZE}' in follow_up
    assert f"closest line: {old.strip()}" in follow_up
    assert proposal.status is ProposalStatus.NOT_VALIDATED
    assert proposal.changes.metadata.repair_rounds == 1
    assert proposal.changes.rejected == []
    [change] = proposal.changes.changes
    assert (change.lines_added, change.lines_removed) == (1, 1)
    assert f"+{new}" in proposal.patch
    assert_left_no_trace(ws)


def test_old_text_not_found_twice_is_dropped_and_recorded(ws: Workspace, slow: str) -> None:
    wrong = edit(SUMMARIZE, "keep it under 500 words\n", "keep it under 50 words\n", [slow])
    model = ScriptedModel([answer(wrong), answer(wrong)])

    proposal = only(run(ws, model, slow))

    assert len(model.sent) == 2  # one repair round, never a second
    assert proposal.status is ProposalStatus.REJECTED  # nothing else was left
    assert rules(proposal) == [(SUMMARIZE, "not_found")]
    assert "old_text not found" in proposal.changes.rejected[0].detail
    assert proposal.changes.changes == []
    assert proposal.patch == ""
    assert proposal.changes.metadata.repair_rounds == 1
    assert_left_no_trace(ws)


def test_ambiguous_old_text_is_recorded_as_ambiguous(ws: Workspace, slow: str) -> None:
    text = ws.text(SUMMARIZE)
    assert text.count("{{ ") >= 2
    twice = edit(SUMMARIZE, "{{ ", "{{", [slow])
    model = ScriptedModel([answer(twice), answer(twice)])

    proposal = only(run(ws, model, slow))

    assert f"(ambiguous): old_text occurs {text.count('{{ ')} times" in model.prompts[1]
    assert proposal.status is ProposalStatus.REJECTED
    assert rules(proposal) == [(SUMMARIZE, "ambiguous")]
    assert proposal.patch == ""
    assert_left_no_trace(ws)


def test_repair_round_applies_an_edit_that_already_applied_once(ws: Workspace, slow: str) -> None:
    """The repair message asks for every edit again, the placed ones unchanged: the
    second answer is the whole change, so an edit placed in the first round must not be
    applied a second time on top of itself (nor be recorded as not found)."""
    original = ws.text(SUMMARIZE)
    anchor = unique_line(original, "Rewrite the draft")
    added = anchor + "Keep it short.\n"  # an insertion: its new text holds its old text
    tail = unique_line(original, "closeTicket")
    placed = edit(SUMMARIZE, anchor, added, [slow])
    misplaced = edit(SUMMARIZE, tail.replace("true", "True"), "Close the ticket.\n", [slow])
    corrected = edit(SUMMARIZE, tail, "Close the ticket.\n", [slow])
    model = ScriptedModel([answer(placed, misplaced), answer(placed, corrected)])

    proposal = only(run(ws, model, slow))

    assert len(model.sent) == 2
    assert proposal.changes.rejected == []
    assert proposal.status is ProposalStatus.NOT_VALIDATED
    assert proposal.patch.count("+Keep it short.") == 1
    [change] = proposal.changes.changes
    assert (change.lines_added, change.lines_removed) == (2, 1)


# --------------------------------------------------------------------------------------
# Declines, refusals, budgets
# --------------------------------------------------------------------------------------


def test_a_declining_model_yields_a_declined_proposal_without_patch(
    ws: Workspace, slow: str
) -> None:
    why = "The latency is the model's own; no template change would move the p95."
    model = ScriptedModel([answer(decline_reason=why, confidence="low")])

    proposal = only(run(ws, model, slow))

    assert len(model.sent) == 1
    assert proposal.status is ProposalStatus.DECLINED
    assert proposal.patch == ""
    assert proposal.changes.changes == []
    assert proposal.changes.metadata.decline_reason == why
    assert not proposal.fileable(allow_unvalidated=True)
    assert_left_no_trace(ws)


def test_a_model_refusal_is_raised_and_the_worktree_removed(ws: Workspace, slow: str) -> None:
    model = ScriptedModel([LlmRefusalError("the model declined to answer (stop_reason refusal)")])

    with pytest.raises(LlmRefusalError) as raised:
        run(ws, model, slow)

    assert raised.value.exit_code == ExitCode.LLM == 4  # the CLI's exit 4
    assert len(model.sent) == 1
    assert model.closed
    assert_left_no_trace(ws)


def test_a_budget_too_small_for_one_call_stops_before_anything_is_sent(
    ws: Workspace, slow: str
) -> None:
    ledger = CostLedger(budget_usd=Decimal("0.0001"))
    model = ScriptedModel([answer(decline_reason="never asked")])

    with pytest.raises(BudgetExceeded):
        run(ws, model, slow, meter=ledger.meter("refine"))

    assert len(model.received) == 1
    assert model.sent == []
    assert ledger.spent_usd == 0
    assert_left_no_trace(ws)


def test_the_requests_own_budget_stops_the_call_too(ws: Workspace, slow: str) -> None:
    """Without a caller's meter, refine starts a ledger with ``llm.budget_usd``."""
    model = ScriptedModel([answer(decline_reason="never asked")])
    tiny = LlmRequest(backend="replay", replay=ws.root / "unused.json", budget_usd=0.0001)

    with pytest.raises(BudgetExceeded) as raised:
        run(ws, model, slow, llm=tiny)

    assert raised.value.exit_code == ExitCode.BUDGET
    assert model.sent == []
    assert_left_no_trace(ws)


def test_a_replayed_answer_over_budget_stops_too(
    demo: DemoBase, ws: Workspace, slow: str, tmp_path: Path
) -> None:
    """The real replay backend with a matching recording: the budget still stops it."""
    old = unique_line(ws.text(SUMMARIZE), "Rewrite the draft")
    recorder = ScriptedModel([answer(edit(SUMMARIZE, old, "Rewrite briefly.\n", [slow]))])
    run(ws, recorder, slow)
    replay = write_replay(tmp_path / "replay.json", recorder.entries)
    second = demo.workspace(tmp_path / "second")

    with pytest.raises(BudgetExceeded):
        run(second, None, slow, llm=LlmRequest(backend="replay", replay=replay, budget_usd=0.0001))

    assert is_clean(second.checkout)
    assert worktrees(second.checkout) == [str(second.checkout)]


# --------------------------------------------------------------------------------------
# Guardrails the loop applies
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cited", "rule"),
    [
        pytest.param([], "no_pattern_link", id="no-pattern-id"),
        pytest.param([" "], "no_pattern_link", id="blank-pattern-id"),
        pytest.param(["not-in-the-report-0000000000"], "unknown_pattern", id="unknown-id"),
    ],
)
def test_an_edit_must_cite_the_refined_finding(
    ws: Workspace, slow: str, cited: list[str], rule: str
) -> None:
    old = unique_line(ws.text(SUMMARIZE), "Rewrite the draft")
    model = ScriptedModel([answer(edit(SUMMARIZE, old, "Rewrite it.\n", cited))])

    proposal = only(run(ws, model, slow))

    assert len(model.sent) == 1  # a broken guardrail is not repaired
    assert proposal.status is ProposalStatus.REJECTED
    assert rules(proposal) == [(SUMMARIZE, rule)]
    assert proposal.changes.changes == []
    assert proposal.patch == ""
    assert_left_no_trace(ws)


def test_citing_another_finding_of_the_report_is_refused(
    demo: DemoBase, ws: Workspace, slow: str
) -> None:
    other = demo.pattern_id("token_bloat", "answerFaq")
    old = unique_line(ws.text(SUMMARIZE), "Rewrite the draft")
    model = ScriptedModel([answer(edit(SUMMARIZE, old, "Rewrite it.\n", [slow, other]))])

    proposal = only(run(ws, model, slow))

    assert rules(proposal) == [(SUMMARIZE, "unknown_pattern")]
    assert "not being refined now" in proposal.changes.rejected[0].detail


def config_dir_with_max_lines(directory: Path, max_lines: int) -> Path:
    """A copy of the repository's polecats/, formulas/ and schemas/ whose
    conditional-refiner allows ``max_lines`` changed lines."""
    for name in ("polecats", "formulas", "schemas"):
        shutil.copytree(ROOT / name, directory / name)
    polecat = directory / "polecats" / "conditional-refiner.toml"
    text = polecat.read_text(encoding="utf-8")
    assert text.count("max_lines_changed = 200") == 1
    polecat.write_text(
        text.replace("max_lines_changed = 200", f"max_lines_changed = {max_lines}"),
        encoding="utf-8",
    )
    return directory


def test_a_change_over_max_lines_is_rejected_whole_not_trimmed(
    ws: Workspace, slow: str, tmp_path: Path
) -> None:
    config = config_dir_with_max_lines(tmp_path / "config", 2)
    original = ws.text(SUMMARIZE)
    first = unique_line(original, "Rewrite the draft")
    second = unique_line(original, "customer_name")
    old = first + second
    assert old in original
    new = 'Rewrite the draft as a short reply.\nAddress them as "{{ customer_name }}".\n'
    model = ScriptedModel([answer(edit(SUMMARIZE, old, new, [slow]))])

    proposal = only(run(ws, model, slow, config_dirs=(config,)))

    assert proposal.status is ProposalStatus.REJECTED
    whole = [r for r in proposal.changes.rejected if r.rule == "too_many_lines"]
    assert [(r.path, r.detail) for r in whole] == [
        ("*", "the change adds and removes 4 lines; at most 2 are allowed")
    ]
    # Shown as proposed, every line of it, and not fileable: no patch, nothing validated.
    [change] = proposal.changes.changes
    assert (change.lines_added, change.lines_removed) == (2, 2)
    assert all(f"+{line}" in change.diff for line in new.splitlines())
    assert proposal.patch == ""
    assert proposal.changes.validation.checks == []
    assert_left_no_trace(ws)


# --------------------------------------------------------------------------------------
# The real replay backend
# --------------------------------------------------------------------------------------


def test_the_replay_backend_plays_a_recording_keyed_on_the_exact_request(
    demo: DemoBase, ws: Workspace, slow: str, tmp_path: Path
) -> None:
    old = unique_line(ws.text(SUMMARIZE), "Rewrite the draft")
    output = answer(edit(SUMMARIZE, old, "Rewrite the draft briefly.\n", [slow]))
    scripted = ScriptedAnswers({slow: output}, note="recorded by a test")
    recorded = only(run(ws, scripted, slow))
    replay = write_replay(tmp_path / "replay.json", scripted.entries)
    assert len(scripted.entries) == 1
    second = demo.workspace(tmp_path / "second")

    result = run(second, None, slow, llm=LlmRequest(backend="replay", replay=replay))

    replayed = only(result)
    assert replayed.changes.metadata.backend == "replay"
    assert replayed.status is ProposalStatus.NOT_VALIDATED
    assert replayed.patch == recorded.patch != ""
    assert result.cost is not None
    assert "$0.50" in result.cost
    # A recording for another prompt is never played: a changed checkout misses.
    stale = demo.workspace(tmp_path / "stale")
    (stale.checkout / SUMMARIZE).write_text(ws.text(SUMMARIZE) + "\n", encoding="utf-8")
    git(stale.checkout, "commit", "--quiet", "-am", "drift")
    with pytest.raises(LlmError, match="no recorded response"):
        run(stale, None, slow, llm=LlmRequest(backend="replay", replay=replay))


def test_the_worktree_lives_in_the_temporary_area_only_while_drafting(
    ws: Workspace, slow: str
) -> None:
    """What ``assert_left_no_trace`` checks is where refine really works."""
    seen: list[list[str]] = []
    model = ScriptedModel(
        [answer(decline_reason="nothing to do")],
        observe=lambda _: seen.append(sorted(p.name for p in ws.area.iterdir())),
    )

    run(ws, model, slow)

    assert len(seen) == 1
    assert len(seen[0]) == 1
    assert seen[0][0].startswith(WORKTREE_PREFIX)
    assert_left_no_trace(ws)
