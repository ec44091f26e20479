"""``micro-gastown rollback-check``: judge our merged evolution PRs; revert a regression.

For each merged PR of ours (label ``sleeptime``, a ``sleeptime/`` branch, our login and the
metadata block), once a whole day has passed since its merge (plus ``--deploy-lag``): its
findings' rates and the overall error rate before the merge against after it, from Loki;
regressed → a revert PR, a comment, label ``sleeptime-reverted``; at the end of the watch
(``--watch-days``) every PR gets one verdict comment and a verdict label. Prints one line per
PR; ``--output FILE`` writes the verdicts as JSON. The token comes from the environment only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

import orjson

from micro_gastown.app.rollback import RollbackResult, resolve_rollback, rollback_check
from micro_gastown.app.rollback_outcome import PrAction
from micro_gastown.atomicfile import write_atomic
from micro_gastown.cli import say
from micro_gastown.cli.github_flags import GITHUB_KEYS, add_github_flags
from micro_gastown.errors import ExitCode, OutputError
from micro_gastown.evidence.sanitize import neutralize_line
from micro_gastown.logql import DEFAULT_SELECTOR
from micro_gastown.termination import unwinding


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "rollback-check",
        help="judge merged evolution PRs in Loki; revert one that made things worse",
        description=(
            "For each merged PR of ours, compare its findings' rates and the overall error "
            "rate in a baseline window before the merge with the same length of time after "
            "it (less a deploy lag), with a one-sided rate test. Regressed: open a revert PR "
            "(git revert -m 1 of the merge on sleeptime/revert-<n>), comment, label "
            "sleeptime-reverted. At the end of the watch: one verdict comment and a label. "
            "The token is read from GITHUB_TOKEN (or MICRO_GASTOWN_GITHUB_TOKEN); Loki from "
            "GRAFANA_LOKI_URL (or LOKI_ADDR) and its credential variables."
        ),
    )
    parser.add_argument(
        "--watch-days", type=int, metavar="N",
        help="days a merged PR is watched, one look a day (env MICRO_GASTOWN_WATCH_DAYS; "
        "default 7; at most 30)",
    )  # fmt: skip
    parser.add_argument(
        "--deploy-lag", metavar="DURATION",
        help="time from merge to deploy, left out of the after window (env "
        "MICRO_GASTOWN_DEPLOY_LAG; default 1h)",
    )  # fmt: skip
    parser.add_argument(
        "--pr", type=int, metavar="N", dest="only", help="judge this merged PR only"
    )  # fmt: skip
    parser.add_argument(
        "--auto-merge", action="store_true", default=None,
        help="merge a revert PR as soon as it is open (env MICRO_GASTOWN_AUTO_MERGE_REVERTS; "
        "off by default; GitHub's branch rules still apply)",
    )  # fmt: skip
    parser.add_argument(
        "--dry-run", action="store_true",
        help="judge and say what would be done; write nothing to GitHub",
    )  # fmt: skip
    parser.add_argument(
        "--output", "-o", type=Path, metavar="FILE", help="write the verdicts as JSON here"
    )  # fmt: skip
    loki = parser.add_argument_group("Loki")
    loki.add_argument(
        "--loki-url", metavar="URL",
        help="Loki's address (default: $GRAFANA_LOKI_URL or $LOKI_ADDR)",
    )  # fmt: skip
    loki.add_argument(
        "--selector",
        help=f"base LogQL stream selector (env MICRO_GASTOWN_SELECTOR; default {DEFAULT_SELECTOR})",
    )  # fmt: skip
    add_github_flags(
        parser.add_argument_group("GitHub"),
        commit_via_help="git: push the revert commit (default); api: let GitHub make it "
        "through the Git Database API, signed",
    )
    parser.set_defaults(func=run)


def given_of(args: argparse.Namespace) -> dict[str, Any]:
    keys = (
        "watch_days", "deploy_lag", "only", "auto_merge", "dry_run", "loki_url", "selector",
        *GITHUB_KEYS,
    )  # fmt: skip
    return {key: getattr(args, key) for key in keys}


def run(args: argparse.Namespace) -> int:
    if args.output is not None and args.output.is_dir():
        raise OutputError(f"{args.output}: is a directory, not a file")
    request, settings, loki = resolve_rollback(given_of(args), os.environ)
    with unwinding():
        result = rollback_check(request, settings, loki, now=dt.datetime.now(dt.UTC))
    _say(result)
    if args.output is not None:
        write_atomic(args.output, verdicts_json(result))
    failed = [o.exit_code for o in result.outcomes if o.action is PrAction.FAILED]
    return failed[0] if failed else ExitCode.OK


def verdicts_json(result: RollbackResult) -> bytes:
    return orjson.dumps([o.as_json() for o in result.outcomes], option=orjson.OPT_INDENT_2) + b"\n"


def _say(result: RollbackResult) -> None:
    if not result.outcomes:
        say.line("no merged PR of ours to judge")
        return
    for outcome in result.outcomes:
        text = f"#{outcome.number}: {outcome.action}: {neutralize_line(outcome.detail)}"
        if outcome.revert_url:
            text += f" ({outcome.revert_url})"
        if outcome.action is PrAction.FAILED:
            say.error(text)
        elif outcome.action in (PrAction.REVERTED, PrAction.REVERT_FAILED):
            say.warning(text)
        else:
            say.line(text)
    sys.stderr.flush()
