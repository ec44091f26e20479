"""The Python side of the skill formulas the evolve pipeline runs.

``analyze`` runs the Log Analyzer through :func:`micro_gastown.app.analyzer.analyze`, as
``micro-gastown analyze`` does (same settings, resolved the same way: the polecat is the one
the analyze skill formula names in the run's configuration directories), and writes
``report.json`` into the step's directory; with ``llm`` true,
the log-analyzer polecat's LLM pass follows, its calls charged to the run's ledger. The
review is optional: when it cannot run (the API down, a rejected key, an unusable
answer) the step still completes with the deterministic report, and its record says
``review: skipped`` with a code and the reason; only a budget stop fails the step (the
run stops, resumable with a larger budget). A window without events completes too, with
a warning in the record. On a file source ``since`` may be empty: the whole export is
read, as ``analyze`` reads a file.

``refine`` runs :func:`micro_gastown.app.refine.refine` on the analyze step's report and the
run's checkout (``--repo``), its model calls on the run's ledger, and writes
``changes.json`` (ProposedChanges) and ``changes.diff`` into the step's directory (``-2``,
``-3`` ... for further findings with ``max_prs`` above 1). A proposal that was declined,
refused or failed validation completes the step all the same, recorded as not fileable:
asking again would cost money for the same answer. A report with nothing to refine
completes with no output file. With a GitHub token and repository in the environment, the
analyze step also reads our PR history and records the findings refine must not redo
(``suppressed``), and refine skips them.

``file-pr`` runs :func:`micro_gastown.app.file_pr.file_pr` on each fileable proposal of the
refine step (at most ``max_prs`` new PRs), writing ``pr-result.json`` (PRResult) into the
step's directory; with ``dry_run`` it writes the dry run's files to ``dry-run/`` instead and
touches nothing. With ``llm`` the pr-filer polecat writes the prose, else code does.
Filing looks GitHub up before it acts, so running the step again (a resumed run) finishes
a filing a crash cut short, never a second PR.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from micro_gastown.app.analyzer import (
    AnalyzeRequest,
    LlmRequest,
    NoticeCode,
    ReviewOutcome,
    analyze,
)
from micro_gastown.app.file_pr import FilePrRequest, FilingOutcome, FilingStatus, file_pr
from micro_gastown.app.filer_settings import resolve_filer_settings
from micro_gastown.app.history import RecordedHistory, read_suppressions
from micro_gastown.app.refine import RefineRequest, refine
from micro_gastown.atomicfile import write_atomic
from micro_gastown.config.configset import load_config
from micro_gastown.engine.executor import Skill, StepContext
from micro_gastown.errors import ConfigError, GitHubError, SourceError
from micro_gastown.llm.factory import BackendChoice
from micro_gastown.llm.records import first_problem
from micro_gastown.logql import DEFAULT_SELECTOR
from micro_gastown.refine.selection import SkipCode
from micro_gastown.report.model import Pattern
from micro_gastown.sources import is_file_source

_T = TypeVar("_T")

_SETTINGS = ("selector", "pushdown")
"""Run settings (not inputs of the analyze formula) the step passes on."""


class AnalyzeSkill:
    name = "analyze"

    def discover(self, context: StepContext) -> dict[str, Any] | None:
        return None  # no effect outside the run directory: simply run it again

    def run(self, context: StepContext) -> dict[str, Any]:
        inputs = _bound_inputs(context)
        settings = context.settings
        request = AnalyzeRequest(
            source=str(inputs.get("source") or "loki"),
            since=inputs.get("since") or None,
            until=inputs.get("until") or None,
            repo=Path(inputs["repo"]) if inputs.get("repo") else None,
            selector=settings.get("selector") or DEFAULT_SELECTOR,
            config_dirs=tuple(Path(d) for d in settings.get("config_dirs", [])),
            settings={"pushdown": settings.get("pushdown") or None},
            llm=LlmRequest.of(BackendChoice.from_settings(settings))
            if inputs.get("llm") is True
            else None,
        )
        try:
            result = analyze(request, meter=context.meter)
        except SourceError as exc:
            if is_file_source(request.source):
                exc.retryable = False  # an export reads the same way on every attempt
            raise
        review = result.review
        if review.budget_stopped:
            assert review.error is not None
            raise review.error  # the run stops here, resumable with a larger budget
        if review.error is not None:
            context.say(
                f"warning: LLM review skipped ({review.code}), the report is kept without it: "
                f"{review.error}"
            )
        for notice in result.notices:
            context.say(f"warning: {notice.detail}")
        path = context.directory / "report.json"
        write_atomic(path, result.report.to_json() + b"\n")
        summary = result.report.summary
        outputs: dict[str, Any] = {
            "output": str(path),  # what {{steps.<id>.output}} names
            "events_analyzed": summary.events_analyzed,
            "patterns": summary.total_patterns,
            "critical": summary.critical,
            "warning": summary.warning,
            "info": summary.info,
            "pattern_ids": [pattern.id for pattern in result.report.patterns],
        }
        if review.status != "not_requested":
            outputs["review"] = _review_record(review)
        warnings = [n.detail for n in result.notices if n.code is NoticeCode.NO_EVENTS]
        held = _history(result.report.patterns, context, warnings)
        if held is not None:
            outputs["suppressed"] = held
        if warnings:
            outputs["warnings"] = warnings
        return outputs


def _history(
    patterns: list[Pattern], context: StepContext, warnings: list[str]
) -> dict[str, str] | None:
    """Why each finding is not to be refined now, from our PRs on GitHub (None: no token
    and repository set). GitHub down is a warning: refine then drafts without the history,
    and the filer, which reads it again, still holds back what it must."""
    settings = resolve_filer_settings({}, os.environ)
    try:
        held = read_suppressions(patterns, settings, now=dt.datetime.now(dt.UTC))
    except GitHubError as exc:
        warnings.append(f"our PR history could not be read from GitHub: {exc}")
        return None
    for pattern_id, reason in (held or {}).items():
        context.say(f"note: {pattern_id}: not refined: {reason}")
    return held


def _review_record(review: ReviewOutcome) -> dict[str, Any]:
    """What the run's record keeps of the review (codes for machines, text for people)."""
    if review.status == "skipped":
        return {"status": "skipped", "code": review.code, "reason": str(review.error)}
    return {"status": review.status, "note": review.note}


def _bound_inputs(context: StepContext) -> dict[str, Any]:
    """The step's inputs read by the analyze skill formula's ``[input]`` table (types,
    defaults, required inputs: a ConfigError naming them), where an input the step leaves
    empty is taken from the run's settings (``--source``, ``--repo``) before the
    formula's default."""
    config = load_config([Path(d) for d in context.settings.get("config_dirs", [])])
    formula = config.skill("analyze")
    given = {k: v for k, v in context.inputs.items() if v not in (None, "")}
    for name in formula.input.specs:
        if name not in given and context.settings.get(name) not in (None, ""):
            given[name] = context.settings[name]
    if "since" not in given and is_file_source(str(given.get("source", ""))):
        # An export is read whole unless the run pinned a window (evolve pins `since`
        # empty for a file): `since` is then not required.
        required = [name for name in formula.input.required if name != "since"]
        inputs = formula.input.model_copy(update={"required": required})
        formula = formula.model_copy(update={"input": inputs})
    return dict(formula.bind_inputs(given))


class RefineSkill:
    name = "refine"

    def discover(self, context: StepContext) -> dict[str, Any] | None:
        return None  # its worktrees are gone when it ends: simply run it again

    def run(self, context: StepContext) -> dict[str, Any]:
        held = _recorded(context, "analyze", "suppressed", _REASONS, None)
        history = RecordedHistory(held) if held is not None else None
        inputs = _refine_inputs(context)
        repo = context.settings.get("repo")
        if not repo:
            return {
                "output": "",
                "proposals": [],
                "fileable": 0,
                "warnings": ["the run has no DSL checkout (repo): nothing refined"],
            }
        request = RefineRequest(
            report=Path(str(inputs["pattern_report"])),
            repo=Path(str(repo)),
            patterns=tuple(str(p) for p in inputs.get("patterns") or ()),
            exclude=tuple(str(p) for p in inputs.get("exclude") or ()),
            max_prs=int(inputs.get("max_prs", 1)),
            config_dirs=tuple(Path(d) for d in context.settings.get("config_dirs", [])),
            llm=LlmRequest.of(BackendChoice.from_settings(context.settings)),
            allow_unvalidated=bool(inputs.get("allow_unvalidated")),
        )
        result = refine(request, meter=context.meter, history=history)
        waiting = [s.pattern_id for s in result.skipped if s.code is SkipCode.OVER_LIMIT]
        for skip in result.skipped:
            if skip.code is not SkipCode.OVER_LIMIT:
                context.say(f"note: not refined: {skip.pattern_id}: {skip.reason}")
        if waiting:
            context.say(
                f"note: {len(waiting)} less severe actionable finding(s) wait for a later run "
                f"(max_prs): {', '.join(waiting[:3])}{' ...' if len(waiting) > 3 else ''}"
            )
        if result.dirty_paths:
            context.say(
                f"warning: {len(result.dirty_paths)} uncommitted change(s) in the checkout "
                "were not seen: refine works from HEAD"
            )
        proposals = []
        for index, proposal in enumerate(result.proposals):
            suffix = "" if index == 0 else f"-{index + 1}"
            document = context.directory / f"changes{suffix}.json"
            patch = context.directory / f"changes{suffix}.diff"
            fileable = proposal.fileable(request.allow_unvalidated)
            write_atomic(document, proposal.changes.to_json() + b"\n")
            write_atomic(patch, proposal.patch.encode() if fileable else b"")
            proposals.append(
                {
                    "pattern_id": proposal.candidate.pattern.id,
                    "status": proposal.status.value,
                    "fileable": fileable,
                    "changes": str(document),
                    "patch": str(patch),
                    "validation": proposal.changes.validation.reason,
                }
            )
        outputs: dict[str, Any] = {
            "output": proposals[0]["changes"] if proposals else "",
            "proposals": proposals,
            "fileable": sum(1 for p in proposals if p["fileable"]),
            "skipped": [{"pattern_id": s.pattern_id, "code": s.code.value} for s in result.skipped],
        }
        if not proposals:
            outputs["warnings"] = ["no finding of the report is one refine can act on"]
        return outputs


def _refine_inputs(context: StepContext) -> dict[str, Any]:
    config = load_config([Path(d) for d in context.settings.get("config_dirs", [])])
    given = {k: v for k, v in context.inputs.items() if v not in (None, "")}
    return dict(config.skill("refine").bind_inputs(given))


class FilePrSkill:
    name = "file-pr"

    def discover(self, context: StepContext) -> dict[str, Any] | None:
        return None  # filing looks GitHub up before it acts: running it again is the resume

    def run(self, context: StepContext) -> dict[str, Any]:
        refined = _recorded(context, "refine", "proposals", _PROPOSALS, [])
        fileable = [proposal for proposal in refined if proposal.fileable]
        report = _recorded(context, "analyze", "output", _PATH, "") or None
        if not fileable:
            return {"output": "", "filed": [], "warnings": ["refine left nothing to file"]}
        config = load_config([Path(d) for d in context.settings.get("config_dirs", [])])
        given = {k: v for k, v in context.inputs.items() if v not in (None, "")}
        inputs = config.skill("file-pr").bind_inputs(given)
        dry_run, llm = inputs.get("dry_run") is True, inputs.get("llm") is True
        max_new = int(str(inputs.get("max_prs", 1)))
        filed: list[dict[str, Any]] = []
        for index, proposal in enumerate(fileable):
            if max_new <= 0:
                context.say(f"note: {proposal.pattern_id}: waits for a later run (max_prs)")
                continue
            out = context.directory / (f"dry-run-{index + 1}" if index else "dry-run")
            request = FilePrRequest(
                patch=Path(proposal.patch),
                changes=Path(proposal.changes),
                evidence=Path(report) if report else None,
                repo=Path(str(context.settings.get("repo") or ".")),
                dry_run=dry_run,
                out=out if dry_run else None,
                config_dirs=tuple(Path(d) for d in context.settings.get("config_dirs", [])),
                llm=LlmRequest.of(BackendChoice.from_settings(context.settings)) if llm else None,
                github={"max_new": max_new},
                run_cost_usd=_spent(context),
            )
            outcome = file_pr(request, meter=context.meter)
            for note in outcome.notes:
                context.say(f"note: {note}")
            record = _filing_record(outcome, proposal.pattern_id, index, context)
            if outcome.status is FilingStatus.OPENED:
                max_new -= 1
            filed.append(record)
        first = next((f["result"] for f in filed if f.get("result")), "")
        return {"output": first, "filed": filed}


class _Proposal(BaseModel):
    """What file-pr reads of one of refine's recorded proposals."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")
    pattern_id: str
    fileable: bool
    changes: str
    patch: str


_PROPOSALS: TypeAdapter[list[_Proposal]] = TypeAdapter(list[_Proposal])
_PATH: TypeAdapter[str] = TypeAdapter(str, config=ConfigDict(strict=True))
_REASONS: TypeAdapter[dict[str, str] | None] = TypeAdapter(
    dict[str, str] | None, config=ConfigDict(strict=True)
)


def _recorded(context: StepContext, step: str, key: str, shape: TypeAdapter[_T], default: _T) -> _T:
    """An output an earlier step recorded in the run state, checked against the shape this
    step reads: a run state edited by hand is a ConfigError naming the place, not a Python
    error from deep inside the step."""
    outputs = context.previous.get(step, {})
    if key not in outputs:
        return default
    try:
        return shape.validate_python(outputs[key])
    except ValidationError as exc:
        place, problem = first_problem(exc, at=("steps", step, "outputs", key))
        raise ConfigError(f"run.json: {place}: {problem}") from None


def _spent(context: StepContext) -> float | None:
    remaining = context.meter.remaining_usd()
    budget = context.settings.get("budget_usd")
    if remaining is None or budget is None:
        return None
    return max(0.0, float(budget) - float(remaining))


def _filing_record(
    outcome: FilingOutcome, pattern_id: str, index: int, context: StepContext
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "pattern_id": pattern_id,
        "status": outcome.status.value,
        "reason": outcome.reason,
    }
    if outcome.draft is not None:
        record["branch"] = outcome.draft.branch
    if outcome.written:
        record["dry_run_dir"] = str(outcome.written[0].parent)
    if outcome.result is not None:
        path = context.directory / (f"pr-result-{index + 1}.json" if index else "pr-result.json")
        document = outcome.result.model_dump_json(exclude_none=True, indent=2)
        write_atomic(path, document.encode() + b"\n")
        record["result"] = str(path)
        record["pr_url"] = outcome.result.pr_url
    return record


def builtin_skills() -> dict[str, Skill]:
    return {
        "analyze": AnalyzeSkill(),
        "refine": RefineSkill(),
        "file-pr": FilePrSkill(),
    }
