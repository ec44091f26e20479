"""``micro-gastown analyze``: run the Log Analyzer over a source and write a PatternReport."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any

from micro_gastown.app.analyzer import AnalyzeRequest, LlmRequest, Notice, NoticeCode, analyze
from micro_gastown.atomicfile import STDOUT, write_atomic
from micro_gastown.cli import flags, say
from micro_gastown.cli.progress import terminal_progress
from micro_gastown.cli.source_flags import add_source_flags, refuse_output_over_source
from micro_gastown.detectors import DETECTOR_NAMES
from micro_gastown.errors import ExitCode
from micro_gastown.llm.factory import BACKENDS, BackendChoice
from micro_gastown.report.gate import FAIL_ON_LEVELS, fails_on
from micro_gastown.report.markdown import render_markdown
from micro_gastown.report.model import PatternReport
from micro_gastown.thresholds import Thresholds


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
    add_source_flags(parser)
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
        help="the log-analyzer polecat (its [thresholds]; with --llm its prompt and model), "
        "read whole as validate reads it (default: the one the analyze skill formula names)",
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
        choices=FAIL_ON_LEVELS,
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


def request_of(args: argparse.Namespace) -> AnalyzeRequest:
    """The application layer's request for these flags."""
    llm = LlmRequest.of(BackendChoice.from_args(args), args.budget_usd) if args.llm else None
    return AnalyzeRequest(
        source=args.source,
        since=args.since,
        until=args.until,
        repo=args.repo,
        selector=args.selector,
        polecat=args.polecat,
        settings={
            "thresholds": {name: getattr(args, f"t_{name}") for name in Thresholds.model_fields},
            "jobs": args.jobs,
            "max_lines": args.max_lines,
            "detectors": _detectors(args.detectors),
            "pushdown": args.pushdown,
            "grafana_url": args.grafana_url,
            "grafana_datasource": args.grafana_datasource,
        },
        llm=llm,
    )


def _detectors(flag: str | None) -> tuple[str, ...] | None:
    if flag is None:
        return None
    return tuple(dict.fromkeys(name.strip() for name in flag.split(",") if name.strip()))


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


def render(report: PatternReport, fmt: str) -> bytes:
    if fmt == "markdown":
        return render_markdown(report).encode()
    return report.to_json() + b"\n"


def run(args: argparse.Namespace) -> int:
    refuse_output_over_source(args.source, args.output)
    with terminal_progress() as progress:
        result = analyze(request_of(args), progress=progress)
    report, review = result.report, result.review
    if review.cost is not None and review.status != "skipped":
        say.line(f"LLM review: {review.cost}")
    write_atomic(STDOUT if args.output is None else args.output, render(report, args.format))
    if args.output not in (None, STDOUT):
        s = report.summary
        print(
            f"wrote {args.output}: {s.total_patterns} patterns "
            f"({s.critical} critical, {s.warning} warning, {s.info} info)",
            file=sys.stderr,
        )
    for notice in result.notices:
        say.warning(_worded_notice(notice, args))
    if review.error is not None:
        say.error(
            f"LLM review not applied, report written without it: {flags.worded(review.error)}"
        )
        return review.error.exit_code
    if fails_on((p.severity for p in report.patterns), args.fail_on):
        return ExitCode.FINDINGS
    return ExitCode.OK


def _worded_notice(notice: Notice, args: argparse.Namespace) -> str:
    if notice.code is NoticeCode.DSL_PROBLEM:
        return f"--repo: could not read {notice.detail}"
    if notice.code is NoticeCode.TRUNCATED:
        return (
            f"stopped after --max-lines {args.max_lines:,} lines; "
            "the report covers only the start of the window"
        )
    return notice.detail
