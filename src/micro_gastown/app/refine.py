"""Refine: the one way every face runs the Conditional Refiner.

``micro-gastown refine``, the evolve pipeline's refine step and the demo build a
:class:`RefineRequest` and call :func:`refine` (or :func:`explain`, which sends nothing).
For each selected finding, most severe first and at most ``max_prs`` of them:

1. code chooses the context (the node's template and context record, the schema type, the
   graph lines, the handler), reading a temporary ``git worktree`` of the checkout's HEAD;
2. the conditional-refiner polecat drafts structured edits
   (:mod:`micro_gastown.refine.drafting`), held to the guardrails in code;
3. code writes the unified diff, checks it with ``git apply --check`` against the untouched
   checkout, runs the static check and then the refine formula's ``must_pass`` commands in
   the worktree;
4. the outcome is a schema-valid ProposedChanges whose ``status`` says whether it may be
   filed; refused and dropped edits are kept in it with their rule.

Mistakes in the request (a missing report, a bad checkout, an unknown pattern id) raise
before any model call. What happens to each finding comes back typed; each face words it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from micro_gastown import __version__
from micro_gastown.app.analyzer import LlmRequest
from micro_gastown.config.configset import load_config
from micro_gastown.config.polecat import Polecat
from micro_gastown.config.skill import SkillFormula
from micro_gastown.dsl import DslModel, read_dsl
from micro_gastown.errors import ConfigError, UsageError
from micro_gastown.llm.base import CallRecord, LlmBackend, Meter
from micro_gastown.llm.ledger import CostLedger
from micro_gastown.llm.models import price_decimal, resolve_model
from micro_gastown.refine.build import build_environment, run_commands
from micro_gastown.refine.context import FindingContext, build_context
from micro_gastown.refine.diffs import combined, file_diff
from micro_gastown.refine.drafting import DraftPolicy, ModelSettings, draft_change
from micro_gastown.refine.guardrails import Guardrails
from micro_gastown.refine.model import CheckOutcome, CheckResult, FileDiff
from micro_gastown.refine.prompt import Explanation, render_prompt
from micro_gastown.refine.prompt import explain as explain_prompt
from micro_gastown.refine.proposal import build_proposal, is_test_command, rollback_text
from micro_gastown.refine.report_file import load_report
from micro_gastown.refine.selection import (
    Candidate,
    FindingHistory,
    Selection,
    Skip,
    SkipCode,
    select_findings,
)
from micro_gastown.refine.static_check import static_check
from micro_gastown.refine.worktree import Worktree, locate_checkout, open_worktree
from micro_gastown.report.changes import ProposalStatus, ProposedChanges
from micro_gastown.report.model import PatternReport

REFINE_SKILL = "refine"
"""The skill formula whose ``[execution] polecat`` drafts the change and whose
``[validation] must_pass`` commands validate it."""

DEFAULT_CONTEXT_TOKENS = 6000
"""Tokens of DSL files a finding's prompt may carry: about a fifth of a cent of Haiku input."""


class RefineRequest(BaseModel):
    """What to refine: a PatternReport, a checkout, which findings, and how to draft."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    report: Path
    repo: Path = Path(".")
    patterns: tuple[str, ...] = ()
    """Refine only these pattern ids (still most severe first)."""
    exclude: tuple[str, ...] = ()
    max_prs: int = Field(1, ge=0, le=20)
    """At most this many findings, most severe first; 0 refines none (a formula var)."""
    config_dirs: tuple[Path, ...] = ()
    llm: LlmRequest | None = None
    allow_unvalidated: bool = False
    build_timeout_s: float = Field(900.0, gt=0)
    run_must_pass: bool = True
    """False: only ``git apply --check`` and the static check run; the proposal is then
    ``not_validated`` at best (regenerating the demo's replay file needs no build)."""
    context_tokens: int = Field(DEFAULT_CONTEXT_TOKENS, ge=500, le=100_000)


@dataclass(frozen=True)
class Proposal:
    """One finding's outcome: its ProposedChanges and the patch (empty when none)."""

    candidate: Candidate
    changes: ProposedChanges
    patch: str

    @property
    def status(self) -> ProposalStatus:
        assert self.changes.status is not None
        return self.changes.status

    def fileable(self, allow_unvalidated: bool = False) -> bool:
        """May file-pr file it: ready, or not validated when that is allowed."""
        if self.status is ProposalStatus.READY:
            return True
        return allow_unvalidated and self.status is ProposalStatus.NOT_VALIDATED


@dataclass(frozen=True)
class RefineResult:
    proposals: tuple[Proposal, ...]
    skipped: tuple[Skip, ...]
    cost: str | None = None
    dirty_paths: tuple[str, ...] = ()
    """Uncommitted changes in the checkout: refine worked from HEAD, without them."""


@dataclass(frozen=True)
class _Setup:
    polecat: Polecat
    formula: SkillFormula
    guardrails: Guardrails
    report: PatternReport
    dsl: DslModel
    selection: Selection


def refiner_config(config_dirs: Sequence[Path]) -> tuple[Polecat, SkillFormula]:
    """The refine skill formula and the polecat it names, from the configuration dirs."""
    config = load_config(list(config_dirs))
    formula = config.skill(REFINE_SKILL)
    return config.polecat(formula.execution.polecat), formula


def _setup(request: RefineRequest, history: FindingHistory | None) -> _Setup:
    polecat, formula = refiner_config(request.config_dirs)
    if polecat.guardrails is None:
        raise ConfigError(
            f"polecat {polecat.name!r} has no [guardrails] table; refine needs its limits"
        )
    extra = [
        *(formula.validation.forbidden_changes if formula.validation else ()),
        *(formula.guardrails.forbidden_paths if formula.guardrails else ()),
    ]
    guardrails = Guardrails.of(polecat.guardrails, extra)
    if formula.guardrails is not None:
        guardrails = guardrails.tightened(formula.guardrails)
    report = load_report(request.report)
    dsl = read_dsl(request.repo)  # a DslError (exit 3) for a missing or unreadable checkout
    selection = select_findings(
        report,
        dsl,
        include=request.patterns,
        exclude=request.exclude,
        limit=request.max_prs,
        history=history,
    )
    return _Setup(polecat, formula, guardrails, report, dsl, selection)


def explain(
    request: RefineRequest, history: FindingHistory | None = None
) -> tuple[list[Explanation], tuple[Skip, ...]]:
    """What :func:`refine` would send for each selected finding, without any model call:
    the files and why, the token estimate and the worst-case cost."""
    setup = _setup(request, history)
    explanations = []
    for candidate in setup.selection.candidates:
        context = build_context(
            candidate, setup.dsl, request.repo, token_budget=request.context_tokens
        )
        prompt = render_prompt(candidate, context, setup.report)
        explained = explain_prompt(
            candidate,
            context,
            prompt,
            setup.polecat.system_prompt,
            setup.polecat.model.name,
            setup.polecat.model.max_tokens,
        )
        explanations.append(replace(explained, prompt=prompt))
    return explanations, tuple(setup.selection.skipped)


def refine(
    request: RefineRequest,
    *,
    meter: Meter | None = None,
    environ: Mapping[str, str] | None = None,
    history: FindingHistory | None = None,
    backend: LlmBackend | None = None,
) -> RefineResult:
    """Draft, check and validate a change for each selected finding.

    ``meter`` charges the model calls to a caller's ledger (the evolve run's); without it
    the request's budget starts a ledger of its own. ``backend`` replaces the one
    ``request.llm`` names (a scripted model in tests and the demo's recorder). Raises a
    MicroGastownError for a mistake in the request or the configuration, and an LlmError
    (a budget stop included) from the model; a finding whose change is refused or fails
    validation is not an error: its proposal says so.
    """
    environ = os.environ if environ is None else environ
    if request.llm is None and backend is None:
        raise UsageError("refine drafts with a model: choose a backend", setting="backend")
    setup = _setup(request, history)
    allow_non_haiku = request.llm.allow_non_haiku if request.llm is not None else False
    resolve_model(setup.polecat.model.name, allow_non_haiku=allow_non_haiku)
    ledger = None
    if meter is None:
        ledger = CostLedger(budget_usd=request.llm.budget_usd) if request.llm else CostLedger()
        meter = ledger.meter(REFINE_SKILL)
    if not setup.selection.candidates:
        return RefineResult((), tuple(setup.selection.skipped))
    locate_checkout(request.repo)  # not a git checkout: said before a backend is built
    if backend is None:
        assert request.llm is not None
        backend = request.llm.choice().build(environ)
    proposals = []
    skipped = list(setup.selection.skipped)
    dirty: tuple[str, ...] = ()
    with contextlib.closing(backend):
        for candidate in setup.selection.candidates:
            with open_worktree(request.repo) as worktree:
                dirty = tuple(worktree.dirty_paths())
                proposal = _refine_one(request, setup, candidate, worktree, backend, meter, environ)
            if isinstance(proposal, Skip):
                skipped.append(proposal)
            else:
                proposals.append(proposal)
    cost = ledger.summary_line() if ledger is not None else None
    return RefineResult(tuple(proposals), tuple(skipped), cost, dirty)


def _refine_one(
    request: RefineRequest,
    setup: _Setup,
    candidate: Candidate,
    worktree: Worktree,
    backend: LlmBackend,
    meter: Meter,
    environ: Mapping[str, str],
) -> Proposal | Skip:
    root = worktree.checkout_dir
    dsl = read_dsl(root)
    context: FindingContext = build_context(
        candidate, dsl, root, token_budget=request.context_tokens
    )
    if not context.files:
        return Skip(
            candidate.pattern.id,
            SkipCode.NO_CONTEXT,
            f"not even its most important DSL file fits the context budget of "
            f"{request.context_tokens:,} tokens",
        )
    prompt = render_prompt(candidate, context, setup.report)
    polecat = setup.polecat
    settings = ModelSettings(
        model=polecat.model.name,
        max_tokens=polecat.model.max_tokens,
        temperature=polecat.model.temperature,
        system=polecat.system_prompt,
    )
    policy = DraftPolicy(
        root=root,
        guardrails=setup.guardrails,
        allowed_paths=context.allowed_paths,
        report_pattern_ids=frozenset(p.id for p in setup.report.patterns),
        refined_pattern_ids=frozenset({candidate.pattern.id}),
    )
    counted = CountingMeter(meter)
    draft = draft_change(prompt, settings, policy, backend, counted, worktree.read_text)
    diffs = [
        file_diff(path, draft.originals[path], draft.texts[path]) for path in draft.changed_paths
    ]
    checks: list[CheckResult] = []
    patch = combined(diffs)
    size_rejections = setup.guardrails.check_change(diffs) if diffs else []
    if diffs and not draft.rejected_by_guardrails and not size_rejections:
        # ``before`` is the untouched checkout's model: the static check reads its root
        # again, and the worktree's files are the edited ones by then.
        checks = _validate(request, setup, worktree, draft.texts, diffs, patch, setup.dsl, environ)
    changes = build_proposal(
        candidate=candidate,
        report=setup.report,
        draft=draft,
        diffs=diffs,
        size_rejections=size_rejections,
        checks=checks,
        must_pass=_must_pass(setup),
        metadata={
            "base_commit": worktree.base_commit,
            "checkout": worktree.prefix or ".",
            "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "generator_version": f"micro-gastown {__version__}",
            "model": polecat.model.name,
            "backend": backend.name,
            "repair_rounds": draft.repair_rounds,
            "cost_usd": float(counted.cost_usd),
        },
        rollback=rollback_text([d.path for d in diffs]),
    )
    keep_patch = changes.status not in (ProposalStatus.REJECTED, ProposalStatus.DECLINED)
    return Proposal(candidate, changes, patch if keep_patch else "")


class CountingMeter:
    """Passes every call on to the run's meter and adds up what this finding's calls cost."""

    def __init__(self, inner: Meter) -> None:
        self.inner = inner
        self.cost_usd = Decimal(0)

    def before(self, model: str, input_tokens: int, max_output_tokens: int) -> None:
        self.inner.before(model, input_tokens, max_output_tokens)

    def after(self, record: CallRecord) -> None:
        self.inner.after(record)
        if record.reported_cost_usd is not None:
            self.cost_usd += Decimal(repr(record.reported_cost_usd))
        else:
            self.cost_usd += price_decimal(record.model, record.usage)

    def remaining_usd(self) -> Decimal | None:
        return self.inner.remaining_usd()


def _must_pass(setup: _Setup) -> list[str]:
    commands = list(setup.formula.validation.must_pass) if setup.formula.validation else []
    policy = setup.polecat.validation
    if policy is not None and not policy.require_tests:
        commands = [c for c in commands if not is_test_command(c)]
    if policy is not None and not policy.require_typecheck:
        commands = [c for c in commands if is_test_command(c)]
    return commands


def _validate(
    request: RefineRequest,
    setup: _Setup,
    worktree: Worktree,
    texts: Mapping[str, str],
    diffs: Sequence[FileDiff],
    patch: str,
    before: DslModel,
    environ: Mapping[str, str],
) -> list[CheckResult]:
    """``git apply --check`` on the untouched checkout, the static check, the commands."""
    applies = worktree.check_apply(patch)
    if applies.outcome is not CheckOutcome.PASSED:
        return [applies]
    for diff in diffs:
        worktree.write_text(diff.path, texts[diff.path])
    static = static_check(worktree.checkout_dir, [d.path for d in diffs], before)
    if static.outcome is not CheckOutcome.PASSED:
        return [applies, static]
    if not request.run_must_pass:
        return [applies, static]
    commands = run_commands(
        _must_pass(setup),
        worktree.checkout_dir,
        timeout_s=request.build_timeout_s,
        env=build_environment(environ),
    )
    return [applies, static, *commands]
