"""``micro-gastown file-pr``: file a validated change as a draft pull request.

``file-pr --input changes.diff --evidence patterns.json`` reads the ProposedChanges beside
the patch (``changes.json``), decides from our earlier PRs on GitHub whether to open, update
or hold back, and prints the PRResult JSON (or writes it to ``--output``). ``--dry-run
--out DIR`` writes the branch name, the patch, the rendered body, the commit message and
the API calls it would make to DIR, prints the body, and touches nothing. The token comes
from the environment only (``GITHUB_TOKEN``, or ``MICRO_GASTOWN_GITHUB_TOKEN``): never a flag.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from micro_gastown.app.analyzer import LlmRequest
from micro_gastown.app.file_pr import FilePrRequest, FilingOutcome, FilingStatus, file_pr
from micro_gastown.atomicfile import write_atomic
from micro_gastown.cli import say
from micro_gastown.cli.analyze import add_llm_flags
from micro_gastown.cli.github_flags import GITHUB_KEYS, add_github_flags
from micro_gastown.errors import ExitCode, OutputError
from micro_gastown.evidence.sanitize import neutralize_line
from micro_gastown.llm.factory import BackendChoice
from micro_gastown.termination import unwinding

_BASE_BRANCH = ("--base-branch", "BRANCH", "the PR's base (default: the pr-filer polecat's [git])")


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "file-pr",
        help="file a validated change as a draft PR with its evidence",
        description=(
            "Open (or refresh) a draft pull request for a change refine validated: branch "
            "sleeptime/<date>-<type>-<id>, one commit, a body with the findings, the "
            "evidence (Grafana links, redacted samples, charts), the validation and how to "
            "roll back. Our earlier PRs on GitHub decide whether to open, update or hold "
            "back. The token is read from GITHUB_TOKEN (or MICRO_GASTOWN_GITHUB_TOKEN)."
        ),
    )
    parser.add_argument(
        "--input", "-i", type=Path, required=True, metavar="FILE",
        help="the patch refine wrote (changes.diff); its ProposedChanges JSON is read from "
        "beside it (changes.json)",
    )  # fmt: skip
    parser.add_argument(
        "--changes", type=Path, metavar="FILE",
        help="the ProposedChanges JSON, when it is not beside the patch",
    )  # fmt: skip
    parser.add_argument(
        "--evidence", "-e", type=Path, metavar="FILE",
        help="the PatternReport the change addresses (analyze --format json)",
    )  # fmt: skip
    parser.add_argument(
        "--repo", type=Path, default=Path("."),
        help="the DSL checkout the change applies to (default: .)",
    )  # fmt: skip
    parser.add_argument(
        "--pattern", nargs="+", action="extend", default=[], metavar="ID",
        help="the pattern ids a bare patch addresses (a ProposedChanges names its own)",
    )  # fmt: skip
    parser.add_argument(
        "--output", "-o", type=Path, metavar="FILE",
        help="write the PRResult JSON here (default: standard output)",
    )  # fmt: skip
    parser.add_argument(
        "--dry-run", action="store_true",
        help="write what would be filed to --out and print the body; touch nothing",
    )  # fmt: skip
    parser.add_argument(
        "--out", type=Path, metavar="DIR",
        help="the dry run's folder: branch.txt, changes.diff, body.md, commit-message.txt, "
        "api-calls.json",
    )  # fmt: skip
    parser.add_argument(
        "--allow-unvalidated", action="store_true",
        help="file a change that could not be validated (status not_validated)",
    )  # fmt: skip
    parser.add_argument(
        "--config-dir", type=Path, action="append", default=[],
        help="a directory of your own polecats/, formulas/, schemas/ (repeatable)",
    )  # fmt: skip
    github = parser.add_argument_group("GitHub")
    add_github_flags(
        github,
        commit_via_help="git: push from this checkout (default); api: let GitHub make the "
        "commit through the Git Database API, signed (for repositories that require signed "
        "commits)",
    )
    flag, metavar, text = _BASE_BRANCH
    github.add_argument(flag, metavar=metavar, help=text)
    github.add_argument(
        "--reviewer", dest="reviewers", action="append", metavar="LOGIN",
        help="ask this person to review a new PR (repeatable)",
    )  # fmt: skip
    github.add_argument(
        "--max-open", type=int, metavar="N", help="open no PR while N of ours are open (default 3)"
    )  # fmt: skip
    github.add_argument(
        "--max-new", type=int, metavar="N", help="open at most N new PRs in one run (default 1)"
    )  # fmt: skip
    llm = parser.add_argument_group("the pr-filer polecat (the prose; code writes every fact)")
    add_llm_flags(llm)
    llm.add_argument(
        "--llm", action="store_true",
        help="let Haiku write the title and prose (without it, code writes them)",
    )  # fmt: skip
    parser.set_defaults(func=run)


def request_of(args: argparse.Namespace) -> FilePrRequest:
    given = {
        **{key: getattr(args, key) for key in GITHUB_KEYS},
        "base_branch": args.base_branch,
        "reviewers": tuple(args.reviewers) if args.reviewers else None,
        "max_open": args.max_open,
        "max_new": args.max_new,
    }
    return FilePrRequest(
        patch=args.input,
        changes=args.changes,
        evidence=args.evidence,
        repo=args.repo,
        patterns=tuple(args.pattern),
        dry_run=args.dry_run,
        out=args.out,
        config_dirs=tuple(args.config_dir),
        llm=LlmRequest.of(BackendChoice.from_args(args), args.budget_usd) if args.llm else None,
        allow_unvalidated=args.allow_unvalidated,
        github={k: v for k, v in given.items() if v is not None},
    )


def run(args: argparse.Namespace) -> int:
    request = request_of(args)
    if args.output is not None and args.output.is_dir():
        raise OutputError(f"{args.output}: is a directory, not a file")
    with unwinding():
        outcome = file_pr(request, environ=os.environ)
    for note in outcome.notes:
        say.note(neutralize_line(note))
    if outcome.cost is not None:
        say.line(f"model: {outcome.cost}")
    return _report(outcome, args.output)


def _report(outcome: FilingOutcome, output: Path | None) -> int:
    reason = neutralize_line(outcome.reason)
    if outcome.status is FilingStatus.NOTHING:
        say.note(reason)
        return ExitCode.NO_CHANGE
    if outcome.status is FilingStatus.DRY_RUN:
        assert outcome.draft is not None
        where = outcome.written[0].parent if outcome.written else "?"
        say.line(f"dry run: {outcome.draft.branch}: wrote {len(outcome.written)} files to {where}")
        say.note(f"a real run would: {reason}")
        sys.stdout.write(outcome.draft.body)
        return ExitCode.OK
    if outcome.status is FilingStatus.SKIPPED:
        say.note(f"not filed: {reason}")
        return ExitCode.OK
    if outcome.status is FilingStatus.LEFT_ALONE:
        say.warning(reason)
        return ExitCode.OK
    assert outcome.result is not None
    say.line(f"{reason}: {outcome.result.pr_url}")
    document = outcome.result.model_dump_json(exclude_none=True, indent=2).encode() + b"\n"
    if output is None:
        sys.stdout.buffer.write(document)
    else:
        write_atomic(output, document)
    return ExitCode.OK
