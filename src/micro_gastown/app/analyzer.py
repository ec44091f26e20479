"""Analyze: the one way every face runs the Log Analyzer and its optional LLM review.

``micro-gastown analyze``, the evolve pipeline's analyze step and the demo tool all build
an :class:`AnalyzeRequest` and call :func:`analyze`. Everything a mistake in the request
can cause is raised before a log line is read; what happened on the way (an empty window,
a cap reached, a review that could not run) comes back as coded :class:`Notice`\\ s and a
typed :class:`ReviewOutcome`, which each face words for itself.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from micro_gastown.analysis.assemble import no_events_note, out_of_order_note
from micro_gastown.analysis.runner import AnalysisSettings, run_analysis
from micro_gastown.app.settings import AnalyzerSettings, resolve_analyzer_settings
from micro_gastown.config.configset import load_config
from micro_gastown.config.polecat import Polecat, load_polecat
from micro_gastown.dsl import DslModel, read_dsl
from micro_gastown.errors import BudgetExceeded, LlmError, UsageError
from micro_gastown.evidence.grafana import GrafanaExplore
from micro_gastown.llm.base import LlmBackend, Meter
from micro_gastown.llm.factory import BackendChoice
from micro_gastown.llm.ledger import CostLedger
from micro_gastown.llm.models import resolve_model
from micro_gastown.logql import DEFAULT_SELECTOR, LogQL
from micro_gastown.progress import ProgressSink, Reading
from micro_gastown.report.model import PatternReport
from micro_gastown.sources import FileSource, open_source
from micro_gastown.sources.base import LogSource
from micro_gastown.timewindow import TimeWindow, window_from_flags

ANALYZE_SKILL = "analyze"
"""The skill formula whose ``[execution] polecat`` is the Log Analyzer's polecat."""


class LlmRequest(BaseModel):
    """Ask for the log-analyzer polecat's review of the findings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: str = "anthropic"
    replay: Path | None = None
    record: Path | None = None
    allow_non_haiku: bool = False
    claude_path: str = "claude"
    budget_usd: float = Field(0.50, ge=0)

    @classmethod
    def of(cls, choice: BackendChoice, budget_usd: float | None = None) -> LlmRequest:
        """The request for a face's backend choice (and budget, when it gave one)."""
        budget = {} if budget_usd is None else {"budget_usd": budget_usd}
        return cls(
            backend=choice.name,
            replay=choice.replay,
            record=choice.record,
            allow_non_haiku=choice.allow_non_haiku,
            claude_path=choice.claude_path,
            **budget,
        )

    def choice(self) -> BackendChoice:
        return BackendChoice(
            name=self.backend,
            replay=self.replay,
            record=self.record,
            allow_non_haiku=self.allow_non_haiku,
            claude_path=self.claude_path,
        )


class AnalyzeRequest(BaseModel):
    """What to analyze and how. ``settings`` holds the analyzer settings the caller gives
    (see :class:`~micro_gastown.app.settings.AnalyzerSettings`; ``thresholds`` a partial
    table); the environment and the polecat fill in the rest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    since: str | None = None
    until: str | None = None
    repo: Path | None = None
    selector: str = DEFAULT_SELECTOR
    polecat: Path | None = None
    """A log-analyzer polecat file; without it, the one the ``analyze`` skill formula names
    in ``config_dirs`` layered over the bundled configuration."""
    config_dirs: tuple[Path, ...] = ()
    settings: dict[str, Any] = Field(default_factory=dict)
    llm: LlmRequest | None = None


class NoticeCode(StrEnum):
    """What a face may want to tell its user about a finished analysis."""

    DSL_PROBLEM = "dsl_problem"
    NO_EVENTS = "no_events"
    TRUNCATED = "truncated"
    OUT_OF_ORDER = "out_of_order"


@dataclass(frozen=True)
class Notice:
    code: NoticeCode
    detail: str
    """The facts, in a sentence a face may show as is or replace with its own."""


ReviewStatus = Literal["not_requested", "applied", "dropped", "skipped"]


@dataclass(frozen=True)
class ReviewOutcome:
    """What became of the LLM review: applied, dropped by the checks (the answer changed a
    fact), or skipped with a stable ``code`` and the error (the report stands without it)."""

    status: ReviewStatus = "not_requested"
    note: str | None = None
    code: str | None = None
    error: LlmError | None = None
    cost: str | None = None
    """The ledger's summary line for the review's calls."""

    @property
    def budget_stopped(self) -> bool:
        return isinstance(self.error, BudgetExceeded)


@dataclass(frozen=True)
class AnalyzeResult:
    report: PatternReport
    settings: AnalyzerSettings
    review: ReviewOutcome = field(default_factory=ReviewOutcome)
    notices: tuple[Notice, ...] = ()


@dataclass(frozen=True)
class _Reviewer:
    """Everything the review needs, built and checked before any log is read."""

    polecat: Polecat
    meter: Meter
    ledger: CostLedger | None
    backend: LlmBackend | None
    checkout: Path | None
    cannot_run: LlmError | None = None


def log_analyzer_polecat(request: AnalyzeRequest) -> tuple[Polecat, Path | None]:
    """The polecat whose ``[thresholds]``, prompt and model the analysis uses, and its file."""
    if request.polecat is not None:
        return load_polecat(request.polecat), request.polecat
    config = load_config(list(request.config_dirs))
    name = config.skill(ANALYZE_SKILL).execution.polecat
    path = config.files.get(f"polecats/{name}.toml")
    return config.polecat(name), path


def resolve_settings(request: AnalyzeRequest) -> tuple[AnalyzerSettings, Polecat, Path | None]:
    polecat, path = log_analyzer_polecat(request)
    return resolve_analyzer_settings(request.settings, polecat, path), polecat, path


def _analysis_settings(settings: AnalyzerSettings, selector: str) -> AnalysisSettings:
    grafana = None
    if settings.grafana_url or settings.grafana_datasource:
        if not (settings.grafana_url and settings.grafana_datasource):
            raise UsageError("a Grafana URL and a Loki datasource uid go together")
        grafana = GrafanaExplore(settings.grafana_url, settings.grafana_datasource)
    return AnalysisSettings(
        thresholds=settings.thresholds,
        logql=LogQL(selector),
        grafana=grafana,
        jobs=settings.usable_jobs(),
        max_lines=settings.max_lines,
        pushdown=settings.pushdown,
        detectors=settings.detectors,
    )


def _prepare_review(
    request: AnalyzeRequest,
    polecat: Polecat,
    environ: Mapping[str, str],
    meter: Meter | None,
) -> _Reviewer:
    """The model policy and the backend, checked now, not after minutes of reading Loki. A
    backend that cannot be built (no API key) is not a mistake in the analysis: like an API
    that is down, it leaves the deterministic report to be written."""
    assert request.llm is not None
    choice = request.llm.choice()
    resolve_model(polecat.model.name, allow_non_haiku=choice.allow_non_haiku)
    ledger = None
    if meter is None:
        ledger = CostLedger(budget_usd=request.llm.budget_usd)
        meter = ledger.meter(ANALYZE_SKILL)
    try:
        backend = choice.build(environ)
    except LlmError as exc:
        return _Reviewer(polecat, meter, ledger, None, request.repo, cannot_run=exc)
    return _Reviewer(polecat, meter, ledger, backend, request.repo)


def _review(reviewer: _Reviewer, report: PatternReport) -> tuple[PatternReport, ReviewOutcome]:
    # Imported here: the LLM review's modules cost an analysis without --llm start-up time.
    from micro_gastown.analysis.review import review_with_polecat, skip_code, with_note

    try:
        if reviewer.cannot_run is not None:
            raise reviewer.cannot_run
        assert reviewer.backend is not None
        with contextlib.closing(reviewer.backend):
            reviewed, note = review_with_polecat(
                report, reviewer.polecat, reviewer.backend, reviewer.meter,
                checkout=reviewer.checkout,
            )  # fmt: skip
    except LlmError as exc:
        cost = reviewer.ledger.summary_line() if reviewer.ledger is not None else None
        skipped = ReviewOutcome("skipped", code=skip_code(exc), error=exc, cost=cost)
        return with_note(report, f"LLM review not applied: {exc}"), skipped
    cost = reviewer.ledger.summary_line() if reviewer.ledger is not None else None
    status: ReviewStatus = "dropped" if reviewed is report else "applied"
    note_text = f"{note}; {cost}" if cost is not None else note
    return with_note(reviewed, note_text), ReviewOutcome(status, note=note, cost=cost)


def _notices(report: PatternReport, dsl: DslModel | None, max_lines: int | None) -> list[Notice]:
    notices = [Notice(NoticeCode.DSL_PROBLEM, str(p)) for p in (dsl.problems if dsl else ())]
    metadata = report.metadata
    if report.summary.events_analyzed == 0:
        outside = metadata.outside_window if metadata is not None else 0
        notices.append(Notice(NoticeCode.NO_EVENTS, no_events_note(outside or 0)))
    if metadata is not None and metadata.truncated:
        notices.append(Notice(NoticeCode.TRUNCATED, f"stopped after {max_lines or 0:,} lines"))
    if metadata is not None and metadata.out_of_order_events:
        notices.append(
            Notice(
                NoticeCode.OUT_OF_ORDER,
                out_of_order_note(metadata.out_of_order_events, report.patterns),
            )
        )
    return notices


def window_of(request: AnalyzeRequest) -> TimeWindow:
    return window_from_flags(request.since, request.until)


def _ticker(source: LogSource, sink: ProgressSink) -> Callable[[int], None]:
    """The scan's tick, as readings of ``source`` for ``sink``."""
    step = f"reading {source.describe()}"

    def tick(entries: int) -> None:
        position = source.position() if isinstance(source, FileSource) else None
        stats = source.stats
        sink(
            Reading(
                step,
                entries,
                bytes_read=position[0] if position else stats.bytes_read or None,
                bytes_total=position[1] if position else None,
                requests=stats.requests or None,
            )
        )

    return tick


def analyze(
    request: AnalyzeRequest,
    *,
    meter: Meter | None = None,
    environ: Mapping[str, str] | None = None,
    progress: ProgressSink | None = None,
) -> AnalyzeResult:
    """Run the Log Analyzer (and, with ``request.llm``, its review) and return the report.

    ``meter`` charges the review's calls to a caller's ledger (the evolve run's); without
    it the request's budget starts a ledger of its own; ``progress`` is told how the read is
    going (every few thousand entries) and when the review starts. Raises a MicroGastownError for a
    mistake in the request, the source or the configuration; a review that cannot run is
    not raised but reported in :attr:`AnalyzeResult.review` (a budget stop included:
    :attr:`ReviewOutcome.budget_stopped`).
    """
    environ = os.environ if environ is None else environ
    settings, polecat, _ = resolve_settings(request)
    analysis = _analysis_settings(settings, request.selector)
    window = window_of(request)
    dsl = read_dsl(request.repo) if request.repo is not None else None
    reviewer = _prepare_review(request, polecat, environ, meter) if request.llm else None
    source = open_source(request.source, selector=request.selector, environ=environ)
    if progress is not None:
        analysis = replace(analysis, tick=_ticker(source, progress))
        progress(Reading(f"reading {source.describe()}"))
    try:
        report = run_analysis(source, window, analysis, dsl)
    finally:
        source.close()
    review = ReviewOutcome()
    if reviewer is not None:
        if progress is not None:
            progress(Reading("LLM review", report.summary.events_analyzed or 0))
        report, review = _review(reviewer, report)
    notices = tuple(_notices(report, dsl, settings.max_lines))
    return AnalyzeResult(report, settings, review, notices)
