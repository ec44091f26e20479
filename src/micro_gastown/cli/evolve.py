"""``micro-gastown evolve``: run the evolve formula (analyze → refine → file-pr) end to end.

Each run is recorded under ``--runs-dir`` (default ``.micro-gastown/runs/<run-id>/``);
``--resume RUN-ID`` continues a run that stopped, failed or was killed, never repeating a
completed step. See :mod:`micro_gastown.engine.executor` for the semantics.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from micro_gastown.cli.analyze import add_llm_flags
from micro_gastown.cli.source_flags import add_source_flags
from micro_gastown.engine.executor import Terminated
from micro_gastown.engine.executor import exit_on_term as _exit_on_term
from micro_gastown.engine.state import RunState, RunStatus, RunStore, new_run_id
from micro_gastown.errors import BudgetExceeded, UsageError
from micro_gastown.llm.factory import BackendChoice
from micro_gastown.llm.ledger import DEFAULT_BUDGET_USD
from micro_gastown.sources import is_file_source
from micro_gastown.timewindow import datetime_to_ns, format_ns, parse_duration, window_from_flags

DEFAULT_RUNS_DIR = Path(".micro-gastown") / "runs"
# Run settings the analyze step falls back on (see engine.skills).
_SETTING_FLAGS = ("source", "repo", "selector", "pushdown")


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "evolve",
        help="analyze logs, refine a change, file a draft PR (resumable)",
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
        "--llm", action="store_true", help="let Haiku rank the findings (see analyze --llm)"
    )
    parser.add_argument("--dry-run", action="store_true", help="refine, but file no PR")
    parser.add_argument("--max-prs", type=int, metavar="N", help="open sleeptime PRs allowed")
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
        **{name: state.settings.get(name) for name in _SETTING_FLAGS},
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
            name: _absolute(name, str(getattr(args, name)))
            for name in _SETTING_FLAGS
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


def _given_vars(args: argparse.Namespace) -> dict[str, str]:
    given = {}
    if args.since is not None:
        given["since"] = args.since
    if args.until is not None:
        given["until"] = args.until
    if args.llm:
        given["llm"] = "true"
    if args.dry_run:
        given["dry_run"] = "true"
    if args.max_prs is not None:
        given["max_prs"] = str(args.max_prs)
    return given


def _absolute(name: str, value: str) -> str:
    """A setting naming a local path, made absolute so a resume from elsewhere finds it."""
    if name == "repo":
        return str(Path(value).absolute())
    if name == "source" and value.startswith("file:"):
        return "file:" + str(Path(value.removeprefix("file:")).absolute())
    return value


def _check_setup(args: argparse.Namespace, config: Any) -> None:
    """What a step would only find out later, checked before a run exists: the source
    (its spelling, the Loki settings in the environment, an export that is there), the
    DSL checkout and, with --llm, the polecat's model under the policy and the backend (a
    missing key). Nothing is read from the logs and no model is called."""
    from micro_gastown.dsl import read_dsl
    from micro_gastown.llm.models import resolve_model
    from micro_gastown.sources import FileSource, open_source

    source = open_source(args.source, selector=args.selector, environ=os.environ)
    if isinstance(source, FileSource):
        source.check()
    source.close()
    if args.repo is not None:
        read_dsl(args.repo)
    if args.llm:
        choice = BackendChoice.from_args(args)
        polecat = config.polecat(config.skill("analyze").execution.polecat)
        resolve_model(polecat.model.name, allow_non_haiku=choice.allow_non_haiku)
        choice.build(os.environ).close()  # a missing key fails here


def _reads_a_whole_file(args: argparse.Namespace, values: dict[str, str]) -> bool:
    """A file source without --since, where the formula's default ``since`` counts back
    from now (the shipped 24h): an export is read whole, as ``analyze`` reads it. A
    formula that sets an absolute start keeps it."""
    if not is_file_source(args.source) or args.since is not None:
        return False
    try:
        parse_duration(values.get("since", "") or "0s")
    except ValueError:
        return False
    return True


def _pin_window(values: dict[str, str], *, whole_file: bool = False) -> dict[str, str]:
    """``since``/``until`` as absolute instants, fixed when the run is created.

    "24h" means the 24 hours before the run started, so a run resumed tomorrow still
    analyzes the window it was created for; a bad value fails here, before a run exists.
    With ``whole_file`` (a file source and no --since), ``since`` is pinned empty: the
    export is read from its start, as ``analyze`` reads a file, not from a day back from
    now (which on an export holds nothing); an empty ``until`` reads it to its end.
    """
    now = datetime.now(UTC)
    since, until = values.get("since") or None, values.get("until") or None
    window = window_from_flags(None if whole_file else since, until, now=now)
    pinned = dict(values)
    if whole_file and "since" in values:
        pinned["since"] = ""
    if window.start_ns is not None:
        pinned["since"] = format_ns(window.start_ns)
    if window.end_ns is not None:
        pinned["until"] = format_ns(window.end_ns)
    elif not whole_file and ("until" in values or window.start_ns is not None):
        pinned["until"] = format_ns(datetime_to_ns(now))
    return pinned


def run(args: argparse.Namespace) -> int:
    store = RunStore(args.runs_dir)
    if args.resume:
        recorded = store.load(args.resume)
        _refuse_changes_on_resume(args, recorded)
        run_id = recorded.run_id
    else:
        run_id = _create(args, store)
    # A SIGTERM (CI cancelling the job, systemd, timeout(1)) or SIGHUP (the terminal
    # closed) unwinds like Ctrl-C: the step in progress is stopped, its calls charged and
    # the run saved as interrupted, instead of left "running".
    previous = {signum: signal.signal(signum, _exit_on_term) for signum in _UNWINDING}
    try:
        with store.hold(run_id):  # loaded under the lock: what the last holder wrote
            state, config = _load(args, store, run_id)
            state, ledger = _execute(state, config, store)
    except (KeyboardInterrupt, Terminated):
        print(
            f"micro-gastown: {run_id}: saved as interrupted; resume with: "
            f"micro-gastown evolve --resume {run_id}",
            file=sys.stderr,
        )
        raise
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    _print_summary(state, store, ledger)
    if state.status is RunStatus.COMPLETED:
        return 0
    return BudgetExceeded.exit_code if state.status is RunStatus.STOPPED else 1


_UNWINDING = (signal.SIGTERM, signal.SIGHUP)


def _config_dirs(args: argparse.Namespace) -> list[str]:
    return [str(path.absolute()) for path in args.config_dir]


def _create(args: argparse.Namespace, store: RunStore) -> str:
    """Check the flags, write a new run's state; its id."""
    from micro_gastown.config.configset import load_config
    from micro_gastown.config.dag import resolve_vars

    config_dirs = _config_dirs(args)
    config = load_config([Path(d) for d in config_dirs])
    formula = config.workflow(args.formula)
    _check_setup(args, config)
    settings: dict[str, Any] = {
        name: _absolute(name, str(getattr(args, name)))
        for name in _SETTING_FLAGS
        if getattr(args, name) is not None
    }
    settings.update(
        BackendChoice.from_args(args).settings(),
        budget_usd=args.budget_usd if args.budget_usd is not None else float(DEFAULT_BUDGET_USD),
        config_dirs=config_dirs,
    )
    values = resolve_vars(formula, _given_vars(args))
    state = RunState(
        new_run_id(),
        formula.formula,
        str(config.files.get(f"formulas/{formula.formula}.formula.toml", "")),
        _pin_window(values, whole_file=_reads_a_whole_file(args, values)),
        settings,
    )
    store.create(state)
    return state.run_id


def _load(args: argparse.Namespace, store: RunStore, run_id: str) -> tuple[RunState, Any]:
    """The recorded run and its configuration: the run's own config directories, then any
    given now; a budget given now replaces the recorded one."""
    from micro_gastown.config.configset import load_config

    state = store.load(run_id)
    if args.budget_usd is not None:
        state.settings["budget_usd"] = args.budget_usd
    given = _config_dirs(args)
    recorded = [d for d in state.settings.get("config_dirs", []) if d not in given]
    state.settings["config_dirs"] = [*recorded, *given]
    return state, load_config([Path(d) for d in state.settings["config_dirs"]])


def _execute(state: RunState, config: Any, store: RunStore) -> tuple[RunState, Any]:
    """Run the formula's steps from where ``state`` stands; the final state and ledger."""
    from micro_gastown.config.dag import topological_order
    from micro_gastown.config.placeholders import evaluate_condition, substitute
    from micro_gastown.engine.executor import Engine, PlannedStep
    from micro_gastown.engine.skills import builtin_skills
    from micro_gastown.llm.ledger import CostLedger

    plan = []
    for step in topological_order(config.workflow(state.formula)):
        skill_name = step.skill or step.id
        execution = config.skill(skill_name).execution
        plan.append(
            PlannedStep(
                step.id,
                skill_name,
                tuple(step.needs),
                step.condition,
                dict(step.inputs),
                float(execution.timeout_seconds),
                execution.retry_count,
            )
        )
    budget = state.settings.get("budget_usd", DEFAULT_BUDGET_USD)
    ledger = (
        CostLedger.from_dict(state.ledger, budget_usd=budget)
        if state.ledger
        else CostLedger(budget_usd=budget)
    )
    run_id = state.run_id
    engine = Engine(
        store,
        builtin_skills(),
        ledger,
        condition=evaluate_condition,
        substitute=lambda value, values: (
            substitute(value, values) if isinstance(value, str) else value
        ),
        echo=lambda line: print(f"micro-gastown: {run_id}: {line}", file=sys.stderr),
    )
    return engine.execute(state, plan), ledger


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
