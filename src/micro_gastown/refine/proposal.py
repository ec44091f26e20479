"""The ProposedChanges document of one finding: code's facts around the model's edits.

Everything factual is code's: the diffs, the line counts, which checks ran and how they
ended, the ``before`` of every impact metric (the finding's own measured figure). The
model contributes the rationales, a one-line summary, its estimate of the figure after the
change and its confidence, each stated as the model's in the output.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from micro_gastown.evidence.redact import Redactor, default_redactor
from micro_gastown.refine.drafting import Draft, Refused
from micro_gastown.refine.model import CheckOutcome, CheckResult, FileDiff, Rejection
from micro_gastown.refine.selection import Candidate
from micro_gastown.report.changes import (
    ChangeType,
    Check,
    Confidence,
    ExpectedImpact,
    FileChange,
    ImpactMetric,
    ProposalMetadata,
    ProposalStatus,
    ProposedChanges,
    RejectedEdit,
    Validation,
    ValidationStatus,
)
from micro_gastown.report.model import Pattern, PatternReport

MAX_TEXT = 2000
"""Longest rationale or detail kept from the model, in characters."""

_FIGURES: Mapping[str, tuple[tuple[str, str, bool], ...]] = {
    # type -> (details key, metric name, lower is better)
    "slow_llm": (("p95_ms", "p95 latency_ms", True),),
    "token_bloat": (("prompt_tokens_p95", "p95 prompt_tokens", True),),
    "failed_transition": (("failure_rate", "transition failure rate", True),),
    "effect_failure": (("failure_rate", "effect failure rate", True),),
    "repeated_error": (("count", "errors in the window", True),),
    "dead_path": (("taken", "times the edge was taken", False),),
}


def change_type(path: str) -> ChangeType:
    """Which part of the DSL a file belongs to, by its name (SPEC: templates, schema types,
    graph edges, handlers; anything else is configuration)."""
    name = path.rsplit("/", 1)[-1]
    if name.endswith(".jinja") or name in ("Templates.hs", "Context.hs"):
        return ChangeType.TEMPLATE
    if name == "Types.hs":
        return ChangeType.SCHEMA
    if name == "Graph.hs":
        return ChangeType.GRAPH
    if name.endswith(".hs"):
        return ChangeType.HANDLER
    return ChangeType.CONFIG


def is_test_command(command: str) -> bool:
    """A must-pass command counts as the tests when a word of it is ``test`` (``cabal test
    all``, ``stack test``, ``make test``); the others (and the static check) are the build."""
    return "test" in command.split()


def rollback_text(paths: Sequence[str]) -> str:
    files = ", ".join(paths) if paths else "no files"
    return (
        "Revert the PR's merge commit (`git revert -m 1 <merge commit>`), or before merging "
        f"apply the diff in reverse (`git apply -R changes.diff`). Files touched: {files}. "
        "The PR's metadata block records the finding's rate before the change, for comparing "
        "it with the rate after the merge."
    )


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


@functools.cache
def _redactor() -> Redactor:
    return default_redactor()


def _said(text: str) -> str:
    """Text the model wrote, as the output may hold it: secrets redacted, then cut. A
    refused edit's new text never reaches the output, but its path, rationale and cited
    ids do (and a refusal's detail quotes the path), like the summary: a secret there
    must not come out either."""
    return _cut(_redactor().redact_text(text))


def _refused(item: Refused) -> RejectedEdit:
    return RejectedEdit(
        path=_said(item.edit.path),
        rule=item.rule,
        detail=_said(item.detail),
        rationale=_said(item.edit.rationale) or None,
        pattern_ids=[_said(i) for i in item.edit.pattern_ids[:10]],
    )


def _whole_change(rejection: Rejection) -> RejectedEdit:
    return RejectedEdit(
        path=rejection.path or "*", rule=rejection.rule.value, detail=rejection.detail
    )


def _rationale(draft: Draft, path: str) -> str:
    parts = [e.rationale.strip() for e in draft.applied if _same(e.path, path) and e.rationale]
    return _said(" ".join(dict.fromkeys(parts))) or "(no rationale given)"


def _same(raw: str, path: str) -> bool:
    return raw.removeprefix("./") == path


def impact(pattern: Pattern, draft: Draft, report: PatternReport) -> ExpectedImpact:
    """``before`` from the finding; ``after_estimate`` the model's estimate when it gave a
    usable one (a number on the better side of ``before``), else the detectors' warning
    threshold as the target; which one it is, and the confidence, said in ``notes``."""
    confidence = Confidence(draft.answer.confidence) if draft.answer.confidence else Confidence.LOW
    metrics: list[ImpactMetric] = []
    notes: list[str] = []
    for key, name, lower_better in _FIGURES.get(pattern.type.value, ()):
        before = pattern.details.get(key)
        if not isinstance(before, (int, float)) or isinstance(before, bool):
            continue
        estimate = draft.answer.expected_after
        source = "the model's estimate"
        usable = isinstance(estimate, (int, float)) and estimate >= 0
        if usable and lower_better and estimate is not None and estimate > before:
            usable = False
        if not usable:
            estimate = _target(pattern, report)
            source = "the warning threshold, as a target (no usable estimate from the model)"
        if estimate is None:
            continue
        improvement = None
        if before:
            change = (before - estimate) / before if lower_better else (estimate - before) / before
            improvement = round(change * 100, 1)
        metrics.append(
            ImpactMetric(
                metric=f"{name} ({pattern.id})",
                before=float(before),
                after_estimate=float(estimate),
                improvement_percent=improvement,
            )
        )
        notes.append(f"before: measured by the analyzer; after: {source}")
    notes.append(f"confidence as stated by the model: {confidence.value}")
    if draft.answer.summary:
        notes.append(f"the model's summary: {_said(draft.answer.summary)}")
    return ExpectedImpact(metrics=metrics, confidence=confidence, notes="; ".join(notes))


def _target(pattern: Pattern, report: PatternReport) -> float | None:
    thresholds = report.metadata.thresholds if report.metadata is not None else {}
    key = {
        "slow_llm": "latency_warning_ms",
        "token_bloat": "prompt_tokens_p95_warning",
        "failed_transition": "error_rate_warning",
        "effect_failure": "error_rate_warning",
        "repeated_error": "repeated_error_warning",
    }.get(pattern.type.value)
    value = thresholds.get(key) if key else None
    return float(value) if value is not None else None


def _check(result: CheckResult) -> Check:
    output = result.output or "\n".join(result.messages)
    return Check(
        name=result.name,
        outcome=result.outcome,
        reason=result.reason or None,
        output=output or None,
        duration_s=round(result.duration_s, 3),
    )


def validation(checks: Sequence[CheckResult], must_pass: Sequence[str]) -> Validation:
    """The schema's Validation: build = every check but the tests; a check that did not run
    is never a success."""
    if not checks:
        return Validation(
            build_success=False,
            test_success=False,
            status=ValidationStatus.NOT_VALIDATED,
            reason="not validated: there was no change to validate",
        )
    tests = [c for c in checks if is_test_command(c.name)]
    build = [c for c in checks if c not in tests]
    build_ok = all(c.outcome is CheckOutcome.PASSED for c in build)
    test_ok = bool(tests) and all(c.outcome is CheckOutcome.PASSED for c in tests)
    failed = next((c for c in checks if c.outcome is CheckOutcome.FAILED), None)
    not_run = next((c for c in checks if c.outcome is CheckOutcome.NOT_RUN), None)
    missing = [c for c in must_pass if c not in {r.name for r in checks}]
    if failed is not None:
        status, reason = ValidationStatus.FAILED, f"{failed.name} failed: {failed.reason}"
    elif not_run is not None:
        status, reason = ValidationStatus.NOT_VALIDATED, not_run.reason or "a check did not run"
        if not reason.startswith("not validated"):
            reason = f"not validated: {reason}"
    elif not must_pass:
        status = ValidationStatus.NOT_VALIDATED
        reason = "not validated: the refine formula lists no must_pass command"
    elif missing:
        status, reason = ValidationStatus.NOT_VALIDATED, f"not validated: {missing[0]} did not run"
    else:
        status, reason = ValidationStatus.PASSED, "every check passed"
    return Validation(
        build_success=build_ok and status is not ValidationStatus.NOT_VALIDATED,
        test_success=test_ok and status is ValidationStatus.PASSED,
        build_output=next(
            (c.output for c in reversed(build) if c.output and c.name in must_pass), None
        ),
        test_output=next((c.output for c in reversed(tests) if c.output), None),
        status=status,
        reason=_cut(reason),
        checks=[_check(c) for c in checks],
    )


def build_proposal(
    *,
    candidate: Candidate,
    report: PatternReport,
    draft: Draft,
    diffs: Sequence[FileDiff],
    size_rejections: Sequence[Rejection],
    checks: Sequence[CheckResult],
    must_pass: Sequence[str],
    metadata: Mapping[str, Any],
    rollback: str,
) -> ProposedChanges:
    """The finding's ProposedChanges; ``status`` says whether it may be filed."""
    pattern = candidate.pattern
    rejected = [_refused(r) for r in draft.refused]
    rejected += [_whole_change(r) for r in size_rejections]
    checked = validation(checks, must_pass)
    if not draft.answer.edits:
        status = ProposalStatus.DECLINED
    elif draft.rejected_by_guardrails or size_rejections or not diffs:
        status = ProposalStatus.REJECTED
    elif checked.status is ValidationStatus.PASSED:
        status = ProposalStatus.READY
    elif checked.status is ValidationStatus.FAILED:
        status = ProposalStatus.FAILED_VALIDATION
    else:
        status = ProposalStatus.NOT_VALIDATED
    changes = []
    if not draft.rejected_by_guardrails:
        changes = [
            FileChange(
                path=d.path,
                diff=d.diff,
                rationale=_rationale(draft, d.path),
                lines_added=d.lines_added,
                lines_removed=d.lines_removed,
                change_type=change_type(d.path),
            )
            for d in diffs
        ]
    meta = ProposalMetadata(
        **metadata,
        summary=_said(draft.answer.summary) if draft.answer.summary else None,
        decline_reason=_said(draft.answer.decline_reason) if draft.answer.decline_reason else None,
    )
    return ProposedChanges(
        changes=changes,
        patterns_addressed=[pattern.id],
        validation=checked,
        expected_impact=impact(pattern, draft, report) if changes else None,
        rollback_instructions=rollback if changes else None,
        status=status,
        rejected=rejected,
        metadata=meta,
    )
