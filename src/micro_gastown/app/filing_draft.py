"""What a filing would publish, decided before anything is: the hygiene verdict from our
PR history, the branch name, the metadata record, the prose (the pr-filer polecat's, or
code's) and the body and commit message code renders around it.

A new change resumes the branch a run that died between its push and its PR left (the
same findings' short id, no PR ever opened from it), whatever day that run named it by,
rather than pushing a second branch beside it."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Mapping, Sequence

from micro_gastown import __version__
from micro_gastown.app.filer_settings import FilerSettings
from micro_gastown.app.filing_inputs import FilingInputs
from micro_gastown.app.filing_request import FILE_PR_SKILL, FilingContext
from micro_gastown.app.refine import CountingMeter
from micro_gastown.dsl import DslModel, read_dsl
from micro_gastown.errors import MicroGastownError
from micro_gastown.evidence.grafana import GrafanaExplore
from micro_gastown.github.api import GitHubApi
from micro_gastown.github.baseline import filing_record
from micro_gastown.github.body import (
    BodyInputs,
    published_record,
    render_body,
    render_commit_message,
    render_title,
)
from micro_gastown.github.branch import branch_name, with_short_id
from micro_gastown.github.hygiene import Candidate, Decision, Finding, Verdict, plan
from micro_gastown.github.model import (
    LABEL_EVOLUTION,
    CommitIdentity,
    OurPr,
    PrDraft,
)
from micro_gastown.github.prose import Prose, prose_from_code, write_prose
from micro_gastown.llm.base import LlmBackend, Meter
from micro_gastown.llm.ledger import CostLedger
from micro_gastown.report.model import Severity


def _candidate(context: FilingContext) -> Candidate:
    inputs = context.inputs
    if inputs.patterns:
        found = {p.id for p in inputs.patterns}
        extra = [Finding(i, Severity.INFO, 0) for i in inputs.fingerprints if i not in found]
        return Candidate.from_findings([*map(Finding.from_pattern, inputs.patterns), *extra])
    # Findings the report does not hold (or no report): judged by their ids alone.
    return Candidate(frozenset(inputs.fingerprints), Severity.WARNING, 0)


def draft_filing(
    context: FilingContext,
    history: list[OurPr],
    client: GitHubApi | None,
    identity: CommitIdentity,
    now: dt.datetime,
    meter: Meter | None,
    backend: LlmBackend | None,
    environ: Mapping[str, str],
) -> tuple[PrDraft, Decision, str | None]:
    """The draft, the hygiene decision and the prose's cost. ``client`` (None: a dry run
    without a token) is asked for the branches a crashed run left, for a NEW change only."""
    settings, inputs, polecat = context.settings, context.inputs, context.polecat
    limits = settings.limits()
    decision = plan([_candidate(context)], history, limits, now, identity_login=identity.login)[0]
    base_branch = settings.base_branch or (polecat.git.base_branch if polecat.git else "main")
    if decision.verdict is Verdict.UPDATE and decision.pr is not None:
        branch = decision.pr.branch
    else:
        branch = (
            _orphan(client, inputs.fingerprints, history)
            if decision.verdict is Verdict.NEW and client is not None
            else None
        ) or branch_name(inputs.fingerprints, _type(inputs), _drafted_on(inputs, now))
    record = published_record(  # the queries come from log text: redacted, as published
        filing_record(
            fingerprints=inputs.fingerprints,
            patterns=inputs.patterns,
            report=inputs.report,
            base_commit=context.base_commit,
            base_branch=base_branch,
            branch=branch,
            tool_version=f"micro-gastown {__version__}",
            filed_at=now,
        )
    )
    prose, cost = _prose(context, meter, backend, environ)
    body_inputs = BodyInputs(
        changes=inputs.changes,
        patch=inputs.patch,
        files=inputs.files,
        patterns=inputs.patterns,
        missing_patterns=inputs.missing_patterns,
        report_window=inputs.report.summary.query_range if inputs.report else None,
        grafana=_grafana(settings),
        graph=_graph(context),
        record=record,
        prose=prose,
        branch=branch,
        base_branch=base_branch,
        base_commit=context.base_commit,
        cost_usd=_total_cost(context.request.run_cost_usd, cost),
        tool_version=__version__,
    )
    footer = polecat.git.commit_footer if polecat.git else ""
    labels = list(dict.fromkeys([LABEL_EVOLUTION, *(polecat.pr.labels if polecat.pr else [])]))
    draft = PrDraft(
        branch=branch,
        base_branch=base_branch,
        base_commit=context.base_commit,
        title=render_title(prose),
        body=render_body(body_inputs),
        commit_message=render_commit_message(body_inputs, footer),
        files=inputs.files,
        record=record,
        labels=tuple(labels),
        # given reviewers (a flag, MICRO_GASTOWN_REVIEWERS) replace the polecat's [pr] list
        reviewers=settings.reviewers or tuple(polecat.pr.reviewers if polecat.pr else ()),
        draft=polecat.pr.draft if polecat.pr else True,
    )
    return draft, decision, (f"${cost:.4f}" if cost is not None else None)


def _orphan(client: GitHubApi, fingerprints: Sequence[str], history: list[OurPr]) -> str | None:
    """The newest branch named for these findings that never had a PR of ours and has no
    open one (anyone's): what a run that died after its push left, on whatever day."""
    used = {pr.branch for pr in history}
    for name in with_short_id(client.our_branches(), fingerprints):
        if name not in used and client.pr_for_branch(name) is None:
            return name
    return None


def _type(inputs: FilingInputs) -> str:
    return inputs.patterns[0].type.value if inputs.patterns else "change"


def _drafted_on(inputs: FilingInputs, now: dt.datetime) -> dt.date:
    metadata = inputs.changes.metadata if inputs.changes is not None else None
    if metadata is not None and metadata.generated_at:
        with contextlib.suppress(ValueError):
            return dt.datetime.fromisoformat(metadata.generated_at).astimezone(dt.UTC).date()
    return now.astimezone(dt.UTC).date()


def _total_cost(before: float | None, now: float | None) -> float | None:
    if before is None and now is None:
        return None
    return (before or 0.0) + (now or 0.0)


def _grafana(settings: FilerSettings) -> GrafanaExplore | None:
    if settings.grafana_url and settings.grafana_datasource:
        return GrafanaExplore(settings.grafana_url, settings.grafana_datasource)
    return None


def _graph(context: FilingContext) -> DslModel | None:
    try:
        return read_dsl(context.request.repo)
    except MicroGastownError as exc:
        context.notes.append(f"no graph chart: the checkout's DSL could not be read ({exc})")
        return None


def _prose(
    context: FilingContext,
    meter: Meter | None,
    backend: LlmBackend | None,
    environ: Mapping[str, str],
) -> tuple[Prose, float | None]:
    inputs, request = context.inputs, context.request
    if request.llm is None and backend is None:
        return prose_from_code(inputs.changes, inputs.patterns, inputs.files), None
    if meter is None:
        ledger = CostLedger(budget_usd=request.llm.budget_usd) if request.llm else CostLedger()
        meter = ledger.meter(FILE_PR_SKILL)
    counted = CountingMeter(meter)
    if backend is None:
        assert request.llm is not None
        backend = request.llm.choice().build(environ)
    with contextlib.closing(backend):
        outcome = write_prose(
            inputs.changes, inputs.patterns, inputs.files,
            backend=backend, polecat=context.polecat, meter=counted,
        )  # fmt: skip
    if outcome.fell_back and outcome.reason:
        context.notes.append(f"the prose was written by code: {outcome.reason}")
    if outcome.figures_removed:
        context.notes.append(
            f"the model's prose stated {len(outcome.figures_removed)} figure(s) the evidence "
            "does not hold; the sentences holding them were left out"
        )
    return outcome.prose, float(counted.cost_usd)
