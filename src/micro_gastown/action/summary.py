"""The job summary: what a run found, filed and cost, as GitHub-flavoured Markdown.

The runner renders ``$GITHUB_STEP_SUMMARY`` on the run's page, so everything here that came
from a report (pattern ids, details, step errors that quote logs) goes through
:mod:`micro_gastown.github.inert` exactly as a PR body does; numbers, statuses and our own
words are the only text written as is. Charts are
:func:`~micro_gastown.github.charts.series_chart`'s, which never carry text from the logs.
The PR link is written only for a URL of the plain shape GitHub returns; anything else is
shown as code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Final

from micro_gastown.action.settings import ActionCommand
from micro_gastown.app.rollback_outcome import PrOutcome
from micro_gastown.github.charts import series_chart
from micro_gastown.github.evidence_section import ICONS, redacted
from micro_gastown.github.facts import key_figure
from micro_gastown.github.inert import code_span, fit_blocks, inline
from micro_gastown.report.model import Pattern, PatternReport, Severity

__all__ = [
    "MAX_CHARTS",
    "MAX_TABLE_ROWS",
    "SUMMARY_LIMIT",
    "StepLine",
    "SummaryInputs",
    "findings_table",
    "render_summary",
]

MAX_TABLE_ROWS: Final = 50
"""Findings listed in the table; the rest are counted (the report file has them all)."""
MAX_CHARTS: Final = 10
SUMMARY_LIMIT: Final = 1_000_000
"""Under the runner's 1 MiB cap on one step's summary, with room for the cut note."""

_PR_URL: Final = re.compile(r"https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?/[A-Za-z0-9_./-]+/pull/[0-9]+")


@dataclass(frozen=True, slots=True)
class StepLine:
    """One step of an evolve run as the summary shows it."""

    step_id: str
    status: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SummaryInputs:
    """What one run of the Action has to show."""

    command: ActionCommand
    report: PatternReport | None = None
    cost_usd: Decimal = Decimal(0)
    pr_url: str | None = None
    pr_number: int | None = None
    dry_run: bool = False
    dry_run_dirs: tuple[Path, ...] = ()
    run_status: str | None = None
    steps: tuple[StepLine, ...] = ()
    failure: str | None = None
    """The one-line error the run ended with, if it failed."""
    verdicts: tuple[PrOutcome, ...] = ()
    """rollback-check: what the watcher did about each merged PR."""


def _severity(pattern: Pattern) -> str:
    return f"{ICONS.get(pattern.severity, '')} {pattern.severity.value}".strip()


def findings_table(patterns: Sequence[Pattern]) -> str:
    """A row per finding (at most :data:`MAX_TABLE_ROWS`): id, severity, occurrences and the
    key figure a maintainer reads first; every cell inert."""
    rows = [
        "| Pattern | Severity | Occurrences | Key figure |",
        "| --- | --- | ---: | --- |",
    ]
    for pattern in patterns[:MAX_TABLE_ROWS]:
        name = code_span(redacted(pattern.id), limit=80)
        figure = inline(redacted(key_figure(pattern)), limit=200)
        rows.append(f"| {name} | {_severity(pattern)} | {pattern.occurrences:,} | {figure} |")
    hidden = len(patterns) - MAX_TABLE_ROWS
    if hidden > 0:
        rows.append("")
        rows.append(f"*…and {hidden:,} more in the report file.*")
    return "\n".join(rows)


def _headline(inputs: SummaryInputs) -> list[str]:
    blocks = [f"## micro-gastown {inputs.command.value}"]
    facts = []
    if inputs.run_status is not None:
        facts.append(f"run **{inline(inputs.run_status)}**")
    report = inputs.report
    if report is not None:
        s = report.summary
        facts.append(
            f"**{s.total_patterns:,} patterns** ({s.critical:,} critical, {s.warning:,} warning, "
            f"{s.info:,} info)"
        )
        if s.events_analyzed is not None:
            facts.append(f"{s.events_analyzed:,} events analyzed")
    facts.append(f"model cost ${inputs.cost_usd:.4f}")
    blocks.append(" · ".join(facts))
    if inputs.failure is not None:
        blocks.append(f"**Failed:** {inline(redacted(inputs.failure), limit=500)}")
    return blocks


def _steps(steps: Sequence[StepLine]) -> list[str]:
    if not steps:
        return []
    rows = ["| Step | Status | Detail |", "| --- | --- | --- |"]
    for step in steps:
        detail = inline(redacted(step.error.splitlines()[0]), limit=300) if step.error else ""
        rows.append(f"| {code_span(step.step_id, limit=40)} | {inline(step.status)} | {detail} |")
    return ["### Steps", "\n".join(rows)]


def _pull_request(inputs: SummaryInputs) -> list[str]:
    if inputs.pr_url is not None:
        label = f"#{inputs.pr_number}" if inputs.pr_number is not None else "the pull request"
        if _PR_URL.fullmatch(inputs.pr_url):
            return ["### Pull request", f"Filed: [{label}]({inputs.pr_url})"]
        return ["### Pull request", f"Filed: {code_span(inputs.pr_url, limit=300)}"]
    if inputs.dry_run and inputs.dry_run_dirs:
        places = ", ".join(code_span(str(path), limit=300) for path in inputs.dry_run_dirs)
        return ["### Pull request", f"Dry run: nothing filed; what would be filed is in {places}."]
    if inputs.command is ActionCommand.EVOLVE:
        return ["### Pull request", "No pull request was filed by this run."]
    return []


def _link(url: str | None, label: str) -> str:
    if url is not None and _PR_URL.fullmatch(url):
        return f"[{label}]({url})"
    return label


def _verdicts(inputs: SummaryInputs) -> list[str]:
    if inputs.command is not ActionCommand.ROLLBACK_CHECK:
        return []
    if not inputs.verdicts:
        return ["### Rollback watcher", "No merged evolution PR of ours to judge."]
    rows = ["| PR | Verdict | Look | Action | Detail |", "| --- | --- | --- | --- | --- |"]
    for o in inputs.verdicts[:MAX_TABLE_ROWS]:
        look = f"{o.look.day} of {o.look.watch_days}" if o.look else ""
        action = inline(o.action)
        if o.revert_number is not None:
            action += " " + _link(o.revert_url, f"#{o.revert_number}")
        rows.append(
            f"| {_link(o.url, f'#{o.number}')} | {inline(o.verdict or '')} | {look} | {action} "
            f"| {inline(redacted(o.detail), limit=300)} |"
        )
    note = "Dry run: nothing was written to GitHub." if inputs.dry_run else ""
    return ["### Rollback watcher", "\n".join(rows), *([note] if note else [])]


def _charts(patterns: Sequence[Pattern]) -> list[str]:
    blocks = []
    critical = [p for p in patterns if p.severity is Severity.CRITICAL]
    for pattern in critical[:MAX_CHARTS]:
        chart = series_chart(pattern)
        if chart is None:
            continue
        blocks.append(f"#### {code_span(redacted(pattern.id), limit=80)}")
        blocks.append(f"```mermaid\n{chart}\n```")
    return ["### Critical findings over time", *blocks] if blocks else []


def render_summary(inputs: SummaryInputs) -> str:
    """The whole summary: headline, findings, steps, the PR, charts of critical findings;
    whole blocks dropped from the end if it would pass :data:`SUMMARY_LIMIT`."""
    blocks = _headline(inputs)
    report = inputs.report
    if report is not None and report.patterns:
        blocks += ["### Findings", findings_table(report.patterns)]
    elif report is not None:
        blocks.append("No patterns found.")
    blocks += _steps(inputs.steps)
    blocks += _verdicts(inputs)
    blocks += _pull_request(inputs)
    if report is not None:
        blocks += _charts(report.patterns)
    return fit_blocks(blocks, limit=SUMMARY_LIMIT) + "\n"
