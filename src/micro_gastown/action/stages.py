"""The Action's commands over the application layer: analyze, an evolve run, and the
rollback watcher.

Each stage builds the application layer's own request (never an argv for the CLI's
parser), runs it inside a ``::group::`` with whatever the run prints quarantined (it can
quote logs), and returns a :class:`StageResult`: the step outputs, what the job summary
shows, the findings to annotate, the failures to report and the exit code of the CLI's
table (:class:`~micro_gastown.errors.ExitCode`). Reporting is the caller's
(:mod:`micro_gastown.action.main`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import orjson

from micro_gastown.action.commands import group, stop_commands, untrusted
from micro_gastown.action.settings import ActionCommand, ActionSettings
from micro_gastown.action.summary import StepLine, SummaryInputs
from micro_gastown.app.analyzer import ANALYZE_SKILL, AnalyzeRequest, LlmRequest, analyze
from micro_gastown.app.evolve import EvolveRequest, create_run, execute_run, load_run
from micro_gastown.app.rollback import resolve_rollback, rollback_check
from micro_gastown.app.rollback_outcome import PrAction
from micro_gastown.atomicfile import write_atomic
from micro_gastown.engine.records import RunStatus, StepStatus
from micro_gastown.engine.state import RunState, RunStore
from micro_gastown.errors import BudgetExceeded, ExitCode, OutputError, UsageError
from micro_gastown.llm.ledger import DEFAULT_BUDGET_USD, CostLedger
from micro_gastown.report.changes import PRResult
from micro_gastown.report.model import PatternReport
from micro_gastown.termination import unwinding

__all__ = ["StageResult", "cost_text", "run_analyze", "run_evolve", "run_rollback_check"]


@dataclass(frozen=True)
class StageResult:
    outputs: dict[str, str]
    summary: SummaryInputs
    report: PatternReport | None = None
    failures: tuple[str, ...] = ()
    """One line per failure to report as an error annotation (the run still has outputs)."""
    exit_code: int = ExitCode.OK


def cost_text(usd: Decimal) -> str:
    """``cost-usd``: dollars with four decimals (a Haiku call costs fractions of a cent)."""
    return f"{usd:.4f}"


def _budget(settings: ActionSettings) -> Decimal | float:
    return settings.budget_usd if settings.budget_usd is not None else DEFAULT_BUDGET_USD


def _report_outputs(report: PatternReport, path: Path) -> dict[str, str]:
    return {
        "patterns-found": str(report.summary.total_patterns),
        "critical-count": str(report.summary.critical),
        "report-path": str(path),
    }


def run_analyze(settings: ActionSettings, environ: Mapping[str, str], out: TextIO) -> StageResult:
    """The Log Analyzer (and its review with ``llm``), the report written to
    ``settings.report_path``."""
    llm = LlmRequest.of(settings.backend_choice(), settings.budget_usd) if settings.llm else None
    request = AnalyzeRequest(
        source=settings.source,
        since=settings.since,
        until=settings.until,
        repo=settings.repo,
        selector=settings.selector,
        config_dirs=settings.config_dirs,
        llm=llm,
    )
    ledger = CostLedger(budget_usd=_budget(settings))
    with group(f"Analyze {settings.source.partition(':')[0]} logs", stream=out):
        result = analyze(
            request,
            meter=ledger.meter(ANALYZE_SKILL) if llm is not None else None,
            environ=environ,
        )
        for notice in result.notices:
            untrusted(f"warning: {notice.detail}\n", stream=out)
        try:
            settings.report_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"cannot create its directory ({exc.strerror})",
                setting="report-path",
                value=str(settings.report_path),
            ) from None
        write_atomic(settings.report_path, result.report.to_json() + b"\n")
        s = result.report.summary
        out.write(
            f"wrote {settings.report_path}: {s.total_patterns} patterns "
            f"({s.critical} critical, {s.warning} warning, {s.info} info)\n"
        )
        out.flush()
    review = result.review
    failures: tuple[str, ...] = ()
    exit_code: int = ExitCode.OK
    if review.error is not None:
        failures = (f"LLM review not applied, report written without it: {review.error}",)
        exit_code = review.error.exit_code
    cost = ledger.spent_usd
    outputs = {
        **_report_outputs(result.report, settings.report_path),
        "cost-usd": cost_text(cost),
    }
    summary = SummaryInputs(
        ActionCommand.ANALYZE,
        report=result.report,
        cost_usd=cost,
        failure=failures[0] if failures else None,
    )
    return StageResult(outputs, summary, result.report, failures, exit_code)


def run_evolve(settings: ActionSettings, environ: Mapping[str, str], out: TextIO) -> StageResult:
    """A new evolve run (analyze → refine → file-pr) recorded under ``settings.runs_dir``."""
    del environ  # the run's steps read the process environment, as the CLI's do
    request = EvolveRequest(
        source=settings.source,
        since=settings.since,
        until=settings.until,
        repo=settings.repo,
        selector=settings.selector,
        llm=settings.llm,
        dry_run=settings.dry_run,
        max_prs=settings.max_prs,
        config_dirs=settings.config_dirs,
        backend=LlmRequest.of(settings.backend_choice()),
        budget_usd=settings.budget_usd,
    )
    store = RunStore(settings.runs_dir)
    with group("Evolve: check the setup and create the run", stream=out):
        run_id = create_run(request, store)
        out.write(f"run {run_id}: {store.directory(run_id)}\n")
        out.flush()
    with (
        group(f"Evolve run {run_id}", stream=out),
        unwinding(),
        store.hold(run_id),
        stop_commands(stream=out) as quarantined,
    ):

        def echo(line: str) -> None:
            quarantined.write(f"{run_id}: {line}\n")
            out.flush()

        state, config = load_run(store, run_id)
        state, ledger = execute_run(state, config, store, echo=echo)
    return _evolve_result(settings, state, store, ledger.spent_usd)


def _evolve_result(
    settings: ActionSettings, state: RunState, store: RunStore, cost: Decimal
) -> StageResult:
    outputs = {"run-dir": str(store.directory(state.run_id)), "cost-usd": cost_text(cost)}
    analyzed = state.steps.get("analyze")
    report: PatternReport | None = None
    if analyzed is not None and analyzed.status is StepStatus.COMPLETED:
        path = Path(str(analyzed.outputs.get("output", "")))
        if path.is_file():
            report = PatternReport.model_validate_json(path.read_bytes())
            outputs.update(_report_outputs(report, path))
    filed = _filed(state)
    pr = _first_pr(filed)
    if pr is not None:
        outputs["pr-url"] = pr.pr_url
        if pr.pr_number is not None:
            outputs["pr-number"] = str(pr.pr_number)
    failures = tuple(
        f"step {step_id} {step.status.value}: {step.error.splitlines()[0]}"
        for step_id, step in state.steps.items()
        if step.status in (StepStatus.FAILED, StepStatus.BLOCKED) and step.error
    )
    if state.status is RunStatus.COMPLETED:
        exit_code: int = ExitCode.OK
    elif state.status is RunStatus.STOPPED:
        exit_code = BudgetExceeded.exit_code
    else:
        exit_code = ExitCode.INCOMPLETE
    if exit_code != ExitCode.OK and not failures:
        failures = (f"run {state.run_id} {state.status.value}: {state.message or 'resumable'}",)
    dry_run_dirs = tuple(Path(str(f["dry_run_dir"])) for f in filed if f.get("dry_run_dir"))
    summary = SummaryInputs(
        ActionCommand.EVOLVE,
        report=report,
        cost_usd=cost,
        pr_url=pr.pr_url if pr is not None else None,
        pr_number=pr.pr_number if pr is not None else None,
        dry_run=settings.dry_run,
        dry_run_dirs=dry_run_dirs,
        run_status=state.status.value,
        steps=tuple(
            StepLine(step_id, step.status.value, step.error)
            for step_id, step in state.steps.items()
        ),
        failure=failures[0] if failures else None,
    )
    return StageResult(outputs, summary, report, failures, exit_code)


def _filed(state: RunState) -> list[dict[str, Any]]:
    step = state.steps.get("file-pr")
    records = step.outputs.get("filed") if step is not None else None
    return [r for r in records if isinstance(r, dict)] if isinstance(records, list) else []


def _first_pr(filed: list[dict[str, Any]]) -> PRResult | None:
    """The PRResult of the first filing that has one (opened, or found already open)."""
    for record in filed:
        result = record.get("result")
        if result and Path(str(result)).is_file():
            return PRResult.model_validate_json(Path(str(result)).read_bytes())
    return None


def run_rollback_check(
    settings: ActionSettings, environ: Mapping[str, str], out: TextIO
) -> StageResult:
    """The rollback watcher over our merged PRs: verdicts out, reverts opened."""
    scheme, _, rest = settings.source.partition(":")
    if scheme != "loki":
        raise UsageError(
            "rollback-check counts in Loki: use loki or loki:URL", setting="source",
            value=settings.source,
        )  # fmt: skip
    given: dict[str, Any] = {
        "watch_days": settings.watch_days,
        "deploy_lag": settings.deploy_lag,
        "auto_merge": True if settings.auto_merge else None,
        "dry_run": settings.dry_run,
        "selector": settings.selector,
        "only": settings.pull_request,
        "loki_url": rest or None,
    }
    request, filer, loki = resolve_rollback(given, environ)
    with group("Rollback check: judge merged evolution PRs", stream=out), unwinding():
        result = rollback_check(request, filer, loki, now=dt.datetime.now(dt.UTC))
        lines = [
            f"#{o.number}: {o.action}: {o.detail}"
            + (f" (revert #{o.revert_number})" if o.revert_number else "")
            for o in result.outcomes
        ]
        untrusted("".join(f"{line}\n" for line in lines) or "no merged PR of ours\n", stream=out)
    failures = tuple(
        f"#{o.number} regressed and could not be reverted: {o.detail}"
        if o.action is PrAction.REVERT_FAILED
        else f"#{o.number}: {o.detail}"
        for o in result.outcomes
        if o.action in (PrAction.REVERT_FAILED, PrAction.FAILED)
    )
    failed = [o.exit_code for o in result.outcomes if o.action is PrAction.FAILED]
    verdicts = orjson.dumps([o.as_json() for o in result.outcomes]).decode()
    summary = SummaryInputs(
        ActionCommand.ROLLBACK_CHECK,
        dry_run=settings.dry_run,
        verdicts=result.outcomes,
        failure=failures[0] if failures else None,
    )
    return StageResult(
        {"verdicts": verdicts}, summary, failures=failures,
        exit_code=failed[0] if failed else ExitCode.OK,
    )  # fmt: skip
