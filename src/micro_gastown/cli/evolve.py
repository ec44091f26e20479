"""``micro-gastown evolve``: run the evolve formula (analyze → refine → file-pr) end to end.

Each run is recorded under ``--runs-dir`` (default ``.micro-gastown/runs/<run-id>/``);
``--resume RUN-ID`` continues a run that stopped, failed or was killed, never repeating a
completed step. See :mod:`micro_gastown.engine.executor` for the semantics.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from micro_gastown.app.analyzer import LlmRequest
from micro_gastown.app.evolve import (
    RUN_SETTINGS,
    EvolveRequest,
    absolute,
    create_run,
    execute_run,
    load_run,
)
from micro_gastown.cli import flags, say
from micro_gastown.cli.analyze import add_llm_flags
from micro_gastown.cli.source_flags import add_source_flags
from micro_gastown.engine.state import RunState, RunStatus, RunStore
from micro_gastown.errors import BudgetExceeded, ExitCode, UsageError
from micro_gastown.llm.factory import BackendChoice
from micro_gastown.termination import Terminated, unwinding

DEFAULT_RUNS_DIR = Path(".micro-gastown") / "runs"


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "evolve",
        help="run the evolve pipeline (analyze, refine, file-pr) as a recorded, resumable run",
        description=(
            "Run the evolve formula (analyze → refine → file-pr) as a recorded, resumable "
            "run under --runs-dir."
        ),
    )
    parser.add_argument(
        "--since",
        help="start of the window (default: the formula's, 24h; for a file source, the whole file)",
    )
    parser.add_argument("--until", help="end of the window (default: now, or the file's end)")
    add_source_flags(parser)
    parser.add_argument("--repo", type=Path, help="the DSL checkout")
    parser.add_argument("--pushdown", choices=("auto", "on", "off"), help="Loki push-down")
    parser.add_argument(
        "--llm",
        action="store_true",
        help="let Haiku rank the findings (see analyze --llm) and write the PR's prose",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="file nothing: file-pr writes the branch, patch, body and API calls it would "
        "make into the run's directory (GitHub is only read, when a token is set)",
    )
    parser.add_argument(
        "--max-prs",
        type=int,
        metavar="N",
        help="refine at most N findings and open at most N new PRs in this run (default 1)",
    )
    parser.add_argument(
        "--runs-dir",
        type=Path,
        default=DEFAULT_RUNS_DIR,
        help=f"where runs are recorded (default {DEFAULT_RUNS_DIR})",
    )
    parser.add_argument(
        "--resume",
        metavar="RUN-ID",
        help="continue a recorded run (with it, only --budget-usd and --config-dir)",
    )
    parser.add_argument("--formula", default="evolve", help="the DAG formula to run")
    parser.add_argument(
        "--config-dir",
        type=Path,
        action="append",
        default=[],
        help="a directory of your own polecats/, formulas/, schemas/ (repeatable)",
    )
    add_llm_flags(parser.add_argument_group("models and cost"), budget_default=None)
    parser.set_defaults(func=run, defaults=_defaults_of(parser))


# What a run is made of; a resumed run keeps its own (only the budget and extra
# --config-dir directories may be given with --resume).
_FIXED_BY_THE_RUN = (
    "since", "until", "source", "selector", "repo", "pushdown", "llm", "dry_run", "max_prs",
    "formula", "backend", "replay", "record", "allow_non_haiku", "claude_path",
)  # fmt: skip


def _defaults_of(parser: argparse.ArgumentParser) -> dict[str, Any]:
    return {name: parser.get_default(name) for name in _FIXED_BY_THE_RUN}


def _refuse_changes_on_resume(args: argparse.Namespace, state: RunState) -> None:
    """Refuse a flag given with --resume whose value differs from what the run recorded
    (the same value again is fine). A given flag is one whose value is not the parser's
    default; --since/--until always differ from the pinned instants, so they are refused."""
    recorded: dict[str, Any] = {
        **{name: state.settings.get(name) for name in RUN_SETTINGS},
        **{name: state.settings.get(name) for name in BackendChoice().settings()},
        "replay": state.settings.get("replay"),
        "record": state.settings.get("record"),
        "llm": state.vars.get("llm") == "true",
        "dry_run": state.vars.get("dry_run") == "true",
        "max_prs": state.vars.get("max_prs"),
        "formula": state.formula,
    }
    now: dict[str, Any] = {
        **{
            name: absolute(name, str(getattr(args, name)))
            for name in RUN_SETTINGS
            if getattr(args, name) is not None
        },
        **BackendChoice.from_args(args).settings(),
        "llm": args.llm,
        "dry_run": args.dry_run,
        "max_prs": None if args.max_prs is None else str(args.max_prs),
        "formula": args.formula,
    }
    changed = [
        "--" + name.replace("_", "-")
        for name in _FIXED_BY_THE_RUN
        if getattr(args, name) != args.defaults[name]
        and (name in ("since", "until") or now.get(name) != recorded.get(name))
    ]
    if changed:
        raise UsageError(
            f"--resume {args.resume}: the run keeps the settings it was created with; "
            f"{', '.join(changed)} would change them (only --budget-usd and --config-dir "
            "can be given with --resume): start a new run instead"
        )


def run(args: argparse.Namespace) -> int:
    store = RunStore(args.runs_dir)
    if args.resume:
        recorded = store.load(args.resume)
        _refuse_changes_on_resume(args, recorded)
        run_id = recorded.run_id
    else:
        run_id = create_run(request_of(args), store)
    # A SIGTERM (CI cancelling the job, systemd, timeout(1)) or SIGHUP (the terminal
    # closed) unwinds like Ctrl-C: the step in progress is stopped, its calls charged and
    # the run saved as interrupted, instead of left "running".
    try:
        with unwinding(), store.hold(run_id):  # loaded under the lock: what the last holder wrote
            state, config = load_run(
                store, run_id, budget_usd=args.budget_usd, config_dirs=tuple(args.config_dir)
            )
            state, ledger = execute_run(
                state,
                config,
                store,
                echo=lambda line: say.line(f"{run_id}: {line}"),
            )
    except (KeyboardInterrupt, Terminated):
        print(
            f"{say.speaker()}: {run_id}: saved as interrupted; resume with: "
            f"micro-gastown evolve --resume {run_id}",
            file=sys.stderr,
        )
        raise
    _print_summary(state, store, ledger)
    if state.status is RunStatus.COMPLETED:
        return 0
    return BudgetExceeded.exit_code if state.status is RunStatus.STOPPED else ExitCode.INCOMPLETE


def request_of(args: argparse.Namespace) -> EvolveRequest:
    """The application layer's request for a new run with these flags."""
    choice = BackendChoice.from_args(args)
    try:
        return _request(args, choice)
    except ValidationError as exc:
        error = exc.errors()[0]
        flag = flags.flag_for(str(error["loc"][0]))
        raise UsageError(f"{flag} {error['input']!r}: {error['msg']}") from None


def _request(args: argparse.Namespace, choice: BackendChoice) -> EvolveRequest:
    return EvolveRequest(
        source=args.source,
        since=args.since,
        until=args.until,
        repo=args.repo,
        selector=args.selector,
        pushdown=args.pushdown,
        llm=args.llm,
        dry_run=args.dry_run,
        max_prs=args.max_prs,
        formula=args.formula,
        config_dirs=tuple(args.config_dir),
        backend=LlmRequest.of(choice),
        budget_usd=args.budget_usd,
    )


def _print_summary(state: RunState, store: RunStore, ledger: Any) -> None:
    out = sys.stdout
    out.write(f"run {state.run_id}: {state.status.value} ({store.directory(state.run_id)})\n")
    for step_id, step in state.steps.items():
        line = f"  {step_id:<12} {step.status.value}"
        if step.attempts:
            line += f" after {step.attempts} attempt{'s' if step.attempts > 1 else ''}"
        if step.duration_ms is not None:
            line += f", {step.duration_ms / 1000:.1f} s"
        if step.discovered:
            line += " (found already done)"
        if step.error:
            line += f": {step.error.splitlines()[0]}"
        out.write(line + "\n")
        review = step.outputs.get("review")
        if isinstance(review, dict) and review.get("status") == "skipped":
            out.write(f"    LLM review skipped ({review.get('code')}): {review.get('reason')}\n")
        for warning in step.outputs.get("warnings") or []:
            out.write(f"    warning: {warning}\n")
    out.write(f"  cost: {ledger.summary_line()}\n")
    if state.message:
        out.write(f"  {state.message}\n")
    if state.status is not RunStatus.COMPLETED:
        out.write(f"  resume with: micro-gastown evolve --resume {state.run_id}\n")
    out.flush()
