"""``micro-gastown analyze``: run the Log Analyzer over a source and write a PatternReport."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from micro_gastown.analysis.runner import AnalysisSettings, run_analysis
from micro_gastown.analysis.settings import Thresholds, load_thresholds
from micro_gastown.atomicfile import STDOUT, write_atomic
from micro_gastown.cli.source_flags import add_source_flags, refuse_output_over_source
from micro_gastown.detectors import DETECTOR_NAMES
from micro_gastown.dsl import read_dsl
from micro_gastown.errors import LlmError, UsageError
from micro_gastown.evidence.grafana import GrafanaExplore
from micro_gastown.llm.factory import BACKENDS, BackendChoice
from micro_gastown.logql import LogQL
from micro_gastown.report.markdown import render_markdown
from micro_gastown.report.model import PatternReport, Severity
from micro_gastown.sources import open_source
from micro_gastown.timewindow import window_from_flags

_FAIL_ON = ("critical", "warning", "info", "never")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "analyze",
        help="find failed transitions, slow LLM calls, repeated errors, dead paths, token bloat",
        description=(
            "Analyze ExoMonad events and write a PatternReport. For a file source, "
            "--since/--until filter by event time and default to the whole file."
        ),
    )
    add_source_flags(parser, required=True)
    parser.add_argument("--since", help="duration back from now (24h, 7d) or RFC 3339 time")
    parser.add_argument("--until", help="RFC 3339 time (or duration back from now)")
    parser.add_argument("--repo", type=Path, help="DSL checkout: enables dead_path detection")
    parser.add_argument(
        "--output",
        "-o",
        type=Path,
        help="write here, not stdout: a file atomically, a symlink's target, a device or FIFO "
        "in place; - is stdout",
    )
    parser.add_argument("--format", choices=("json", "markdown"), default="json")
    parser.add_argument(
        "--polecat",
        type=Path,
        help="log-analyzer polecat TOML to read [thresholds] from "
        "(default: the bundled polecats/log-analyzer.toml)",
    )
    parser.add_argument(
        "--grafana-url",
        default=os.environ.get("GRAFANA_URL"),
        help="Grafana base URL for Explore links (env GRAFANA_URL)",
    )
    parser.add_argument(
        "--grafana-datasource",
        default=os.environ.get("GRAFANA_LOKI_DATASOURCE_UID"),
        help="uid of the Loki datasource in Grafana (env GRAFANA_LOKI_DATASOURCE_UID)",
    )
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=None,
        metavar="N",
        help="processes for a large plain export file (env MICRO_GASTOWN_JOBS; "
        "default: the CPUs this process may use)",
    )
    parser.add_argument(
        "--max-lines",
        type=int,
        metavar="N",
        help="stop after N log lines (a safety cap); the report is marked truncated",
    )
    parser.add_argument(
        "--detectors",
        metavar="LIST",
        help=f"comma-separated detectors to run (default: all of {','.join(DETECTOR_NAMES)})",
    )
    parser.add_argument(
        "--pushdown",
        choices=("auto", "on", "off"),
        default="auto",
        help="with --source loki: ask Loki for aggregates instead of raw lines where they "
        "give the same findings (auto: when the logs allow it; on: insist; off: raw lines)",
    )
    parser.add_argument(
        "--fail-on",
        choices=_FAIL_ON,
        default="never",
        help="exit 1 when a pattern of this severity or worse is found (default: never)",
    )
    llm = parser.add_argument_group("LLM review (optional; off by default)")
    add_llm_flags(llm)
    llm.add_argument(
        "--llm",
        action="store_true",
        help="let Haiku rank the findings and sharpen recommendations (never the facts)",
    )
    group = parser.add_argument_group("thresholds (override the polecat's [thresholds])")
    for name, info in Thresholds.model_fields.items():
        kind = int if info.annotation is int else float
        group.add_argument(
            _flag(name), dest=f"t_{name}", type=kind, metavar="N", help=info.description
        )
    parser.set_defaults(func=run)


def _settings(args: argparse.Namespace) -> AnalysisSettings:
    thresholds = load_thresholds(args.polecat).with_overrides(
        {name: getattr(args, f"t_{name}") for name in Thresholds.model_fields}
    )
    grafana = None
    if args.grafana_url or args.grafana_datasource:
        if not (args.grafana_url and args.grafana_datasource):
            raise UsageError("--grafana-url and --grafana-datasource go together")
        grafana = GrafanaExplore(args.grafana_url, args.grafana_datasource)
    return AnalysisSettings(
        thresholds=thresholds,
        logql=LogQL(args.selector),
        grafana=grafana,
        jobs=_jobs(args.jobs),
        max_lines=_max_lines(args.max_lines),
        pushdown=args.pushdown,
        detectors=_detectors(args.detectors),
    )


def _detectors(flag: str | None) -> tuple[str, ...] | None:
    if flag is None:
        return None
    names = tuple(dict.fromkeys(name.strip() for name in flag.split(",") if name.strip()))
    unknown = [name for name in names if name not in DETECTOR_NAMES]
    if unknown or not names:
        raise UsageError(
            f"--detectors {flag!r}: expected a comma-separated list of {', '.join(DETECTOR_NAMES)}"
        )
    return names


def _max_lines(flag: int | None) -> int | None:
    if flag is not None and flag < 1:
        raise UsageError(f"--max-lines {flag}: expected 1 or more")
    return flag


def _jobs(flag: int | None) -> int:
    """``--jobs``, else ``MICRO_GASTOWN_JOBS``, else the usable CPUs; an error names whichever
    of the two the bad value came from."""
    if flag is not None:
        if flag < 1:
            raise UsageError(f"--jobs {flag}: expected 1 or more")
        return flag
    raw = os.environ.get("MICRO_GASTOWN_JOBS")
    if raw is None:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    try:
        jobs = int(raw)
    except ValueError:
        raise UsageError(f"MICRO_GASTOWN_JOBS={raw!r}: expected a whole number") from None
    if jobs < 1:
        raise UsageError(f"MICRO_GASTOWN_JOBS={raw!r}: expected 1 or more")
    return jobs


MAX_BUDGET_USD = 1_000_000


def budget_usd(text: str) -> float:
    """``--budget-usd``: dollars, finite and not negative."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= MAX_BUDGET_USD:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected dollars, from 0 to {MAX_BUDGET_USD:,} (e.g. 0.50)"
        )
    return value


def add_llm_flags(group: Any, budget_default: float | None = 0.50) -> None:
    """The flags choosing and bounding the model, shared by every command that calls one."""
    group.add_argument(
        "--backend",
        choices=BACKENDS,
        default="anthropic",
        help="anthropic (ANTHROPIC_API_KEY), claude-code (your Claude Code login) or replay",
    )
    group.add_argument("--replay", type=Path, metavar="FILE", help="recorded answers (replay)")
    group.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        help="write the live backend's answers here, for --backend replay later",
    )
    group.add_argument(
        "--budget-usd",
        type=budget_usd,
        default=budget_default,
        metavar="USD",
        help="stop cleanly before a model call could take the run past this (default 0.50)",
    )
    group.add_argument(
        "--allow-non-haiku", action="store_true", help="allow models other than Haiku"
    )
    group.add_argument("--claude-path", default="claude", help="the claude executable")


@dataclass(frozen=True)
class _Reviewer:
    """Everything the LLM review needs, built (and checked) before any log is read."""

    polecat: Any
    ledger: Any
    backend: Any
    checkout: Path | None
    cannot_run: LlmError | None = None
    """Why the review cannot run (no API key): the report is written without it."""


def _prepare_review(args: argparse.Namespace) -> _Reviewer:
    """The polecat, the budget, the model policy and the backend: a mistake in the flags or
    the polecat fails now, not after minutes of reading Loki. A backend that cannot be
    built (no API key) is not a mistake in the analysis: like an API that is down, it
    leaves the deterministic report to be written, with a note, and the error's exit code."""
    from micro_gastown.analysis.settings import default_polecat_path
    from micro_gastown.config.polecat import load_polecat
    from micro_gastown.llm.ledger import CostLedger
    from micro_gastown.llm.models import resolve_model

    choice = BackendChoice.from_args(args)
    polecat = load_polecat(args.polecat or default_polecat_path())
    resolve_model(polecat.model.name, allow_non_haiku=choice.allow_non_haiku)
    ledger = CostLedger(budget_usd=args.budget_usd)
    try:
        backend = choice.build(os.environ)
    except LlmError as exc:
        return _Reviewer(polecat, ledger, None, args.repo, cannot_run=exc)
    return _Reviewer(polecat, ledger, backend, args.repo)


def _review(reviewer: _Reviewer, report: PatternReport) -> PatternReport:
    from micro_gastown.analysis.review import review_with_polecat, with_note

    if reviewer.cannot_run is not None:
        raise reviewer.cannot_run
    ledger = reviewer.ledger
    meter = ledger.meter("analyze")
    with contextlib.closing(reviewer.backend):
        reviewed, note = review_with_polecat(
            report, reviewer.polecat, reviewer.backend, meter, checkout=reviewer.checkout
        )
    print(f"micro-gastown: LLM review: {ledger.summary_line()}", file=sys.stderr)
    return with_note(reviewed, f"{note}; {ledger.summary_line()}")


def render(report: PatternReport, fmt: str) -> bytes:
    if fmt == "markdown":
        return render_markdown(report).encode()
    return report.to_json() + b"\n"


def run(args: argparse.Namespace) -> int:
    # Every setup error surfaces here, before the logs are touched.
    settings = _settings(args)
    window = window_from_flags(args.since, args.until)
    refuse_output_over_source(args.source, args.output)
    dsl = read_dsl(args.repo) if args.repo is not None else None
    for problem in dsl.problems if dsl is not None else ():
        print(f"micro-gastown: warning: --repo: could not read {problem}", file=sys.stderr)
    reviewer = _prepare_review(args) if args.llm else None
    source = open_source(args.source, selector=args.selector, environ=os.environ)
    try:
        report = run_analysis(source, window, settings, dsl)
    finally:
        source.close()
    review_failed: LlmError | None = None
    if reviewer is not None:
        try:
            report = _review(reviewer, report)
        except LlmError as exc:
            # The deterministic report stands on its own: write it, say why it is unreviewed,
            # and still exit non-zero, since the review that was asked for did not happen.
            from micro_gastown.analysis.review import with_note

            review_failed = exc
            report = with_note(report, f"LLM review not applied: {exc}")
    data = render(report, args.format)
    write_atomic(STDOUT if args.output is None else args.output, data)
    if args.output not in (None, STDOUT):
        s = report.summary
        print(
            f"wrote {args.output}: {s.total_patterns} patterns "
            f"({s.critical} critical, {s.warning} warning, {s.info} info)",
            file=sys.stderr,
        )
    if report.summary.events_analyzed == 0 and report.metadata is not None:
        empty = next(
            (n for n in report.metadata.notes if n.startswith("no events")),
            "no events in the window",
        )
        print(f"micro-gastown: warning: {empty}", file=sys.stderr)
    if report.metadata is not None and report.metadata.truncated:
        print(
            f"micro-gastown: warning: stopped after --max-lines {args.max_lines:,} lines; "
            "the report covers only the start of the window",
            file=sys.stderr,
        )
    if report.metadata is not None and report.metadata.out_of_order_events:
        from micro_gastown.analysis.assemble import out_of_order_note

        note = out_of_order_note(report.metadata.out_of_order_events, report.patterns)
        print(f"micro-gastown: warning: {note}", file=sys.stderr)
    if review_failed is not None:
        print(
            f"micro-gastown: error: LLM review not applied, report written without it: "
            f"{review_failed}",
            file=sys.stderr,
        )
        return review_failed.exit_code
    if args.fail_on != "never":
        limit = Severity(args.fail_on).rank
        if any(p.severity.rank <= limit for p in report.patterns):
            return 1
    return 0
