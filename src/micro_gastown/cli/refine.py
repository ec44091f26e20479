"""``micro-gastown refine``: turn the most severe actionable finding into a validated change.

``refine --input patterns.json --output changes.diff`` writes the patch to ``--output`` and
the ProposedChanges JSON beside it with the same stem (``changes.json``), or to ``--json``.
With ``--max-prs N`` above 1, the second and later findings' files get ``-2``, ``-3`` ...
after the stem. A patch file is written only for a proposal that may be filed; otherwise
it is written empty (and so is ``--output`` when nothing was refined, and a later slot's
patch left from an earlier run), so a stale patch is never filed by mistake.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from micro_gastown.app.analyzer import LlmRequest
from micro_gastown.app.refine import (
    DEFAULT_CONTEXT_TOKENS,
    Proposal,
    RefineRequest,
    explain,
    refine,
)
from micro_gastown.atomicfile import write_atomic
from micro_gastown.cli import say
from micro_gastown.cli.analyze import add_llm_flags
from micro_gastown.errors import ExitCode, OutputError, UsageError
from micro_gastown.evidence.sanitize import neutralize_line, neutralize_text
from micro_gastown.llm.factory import BackendChoice
from micro_gastown.refine.prompt import Explanation
from micro_gastown.refine.selection import Skip, SkipCode
from micro_gastown.termination import unwinding


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "refine",
        help="draft a small, validated DSL change for the most severe actionable finding",
        description=(
            "Read a PatternReport, pick the most severe finding the DSL can change, let the "
            "conditional-refiner polecat (Haiku) propose exact-text edits, hold them to the "
            "guardrails, write the diff, and validate it in a git worktree: the static "
            "template and graph check, then the refine formula's must_pass commands "
            "(cabal build all, cabal test all)."
        ),
    )
    parser.add_argument(
        "--input", "-i", type=Path, required=True, metavar="FILE",
        help="the PatternReport JSON (`analyze --format json` writes it)",
    )  # fmt: skip
    parser.add_argument(
        "--output", "-o", type=Path, metavar="FILE",
        help="write the patch here (required unless --explain); the ProposedChanges JSON "
        "goes beside it with the same stem (changes.diff -> changes.json)",
    )  # fmt: skip
    parser.add_argument(
        "--json", type=Path, metavar="FILE", dest="json_path",
        help="write the ProposedChanges JSON here instead",
    )  # fmt: skip
    parser.add_argument(
        "--repo", type=Path, default=Path("."),
        help="the DSL checkout, a git repository or a directory in one (default: .)",
    )  # fmt: skip
    parser.add_argument(
        "--pattern", nargs="+", action="extend", default=[], metavar="ID",
        help="refine only these pattern ids (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--exclude", nargs="+", action="extend", default=[], metavar="ID",
        help="never refine these pattern ids (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--max-prs", type=int, default=1, metavar="N",
        help="refine at most N findings, most severe first (default 1)",
    )  # fmt: skip
    parser.add_argument(
        "--explain", action="store_true",
        help="print what would be sent for each finding, why each file was chosen, the "
        "token estimate and the worst-case cost; no model call, nothing written",
    )  # fmt: skip
    parser.add_argument(
        "--allow-unvalidated", action="store_true",
        help="write the patch of a change that could not be validated (no cabal, a timeout)",
    )  # fmt: skip
    parser.add_argument(
        "--build-timeout", type=float, default=900.0, metavar="SECONDS",
        help="time limit of each must_pass command (default 900)",
    )  # fmt: skip
    parser.add_argument(
        "--context-tokens", type=int, default=DEFAULT_CONTEXT_TOKENS, metavar="N",
        help=f"tokens of DSL files one prompt may carry (default {DEFAULT_CONTEXT_TOKENS})",
    )  # fmt: skip
    parser.add_argument(
        "--config-dir", type=Path, action="append", default=[],
        help="a directory of your own polecats/, formulas/, schemas/ (repeatable)",
    )  # fmt: skip
    add_llm_flags(parser.add_argument_group("model and cost"))
    parser.set_defaults(func=run)


def request_of(args: argparse.Namespace) -> RefineRequest:
    if args.max_prs < 1:
        raise UsageError("expected 1 or more", setting="max_prs", value=args.max_prs)
    if not args.explain and args.output is None:
        raise UsageError("where to write the patch (or --explain)", setting="output")
    if args.output is not None and str(args.output) == "-":
        raise UsageError("a file: the ProposedChanges JSON goes beside it", setting="output")
    return RefineRequest(
        report=args.input,
        repo=args.repo,
        patterns=tuple(args.pattern),
        exclude=tuple(args.exclude),
        max_prs=args.max_prs,
        config_dirs=tuple(args.config_dir),
        llm=LlmRequest.of(BackendChoice.from_args(args), args.budget_usd),
        allow_unvalidated=args.allow_unvalidated,
        build_timeout_s=args.build_timeout,
        context_tokens=args.context_tokens,
    )


def outputs_for(output: Path, json_path: Path | None, index: int) -> tuple[Path, Path]:
    """The patch and JSON paths of the ``index``-th proposal (0-based)."""
    suffix = "" if index == 0 else f"-{index + 1}"
    patch = output.with_name(f"{output.stem}{suffix}{output.suffix}")
    if json_path is not None:
        document = json_path.with_name(f"{json_path.stem}{suffix}{json_path.suffix}")
    else:
        document = output.with_name(f"{output.stem}{suffix}.json")
    if document == patch:
        raise UsageError("the patch and the JSON would be the same file", setting="json")
    return patch, document


def run(args: argparse.Namespace) -> int:
    request = request_of(args)
    if args.explain:
        explanations, skipped = explain(request)
        _say_skipped(skipped)
        sys.stdout.write(render_explanations(explanations))
        return ExitCode.OK
    assert args.output is not None
    for index in range(request.max_prs):  # a bad output fails before any model call
        for path in outputs_for(args.output, args.json_path, index):
            _check_writable(path)
    with unwinding():  # a stopped refine removes its worktree and stops its build
        result = refine(request)
    _say_skipped(result.skipped)
    if result.dirty_paths:
        say.warning(
            f"{len(result.dirty_paths)} uncommitted change(s) in the checkout were not seen: "
            "refine works from HEAD"
        )
    _empty_stale_patches(args.output, args.json_path, len(result.proposals), request.max_prs)
    if not result.proposals:
        say.note(f"no finding of the report is one refine can act on; {args.output} is empty")
        return ExitCode.OK
    fileable = 0
    for index, proposal in enumerate(result.proposals):
        patch_path, json_path = outputs_for(args.output, args.json_path, index)
        ok = proposal.fileable(request.allow_unvalidated)
        fileable += ok
        write_atomic(json_path, proposal.changes.to_json() + b"\n")
        write_atomic(patch_path, proposal.patch.encode() if ok else b"")
        say.line(describe(proposal, patch_path if ok else None, json_path))
    if result.cost is not None:
        say.line(f"model: {result.cost}")
    return ExitCode.OK if fileable else ExitCode.NO_CHANGE


def describe(proposal: Proposal, patch: Path | None, document: Path) -> str:
    """One line per proposal: the finding, the outcome, where it was written."""
    changes = proposal.changes
    files = len(changes.changes)
    added = sum(c.lines_added or 0 for c in changes.changes)
    removed = sum(c.lines_removed or 0 for c in changes.changes)
    validation = changes.validation.reason or changes.validation.status or ""
    where = f"wrote {patch} and {document}" if patch else f"wrote {document} (no patch to file)"
    status = changes.status.value if changes.status else "?"
    return neutralize_line(
        f"{proposal.candidate.pattern.id}: {status}: {files} file(s), +{added} -{removed}; "
        f"{validation}; {len(changes.rejected)} edit(s) refused; {where}"
    )


def _empty_stale_patches(output: Path, json_path: Path | None, made: int, slots: int) -> None:
    """The patch files this run does not fill are written empty (``--output`` always, a
    later slot's only when one is there from an earlier run), so a stale patch is never
    filed as this run's."""
    for index in range(made, slots):
        patch, _ = outputs_for(output, json_path, index)
        if index == 0 or patch.exists():
            write_atomic(patch, b"")


def _check_writable(path: Path) -> None:
    if path.is_dir():
        raise OutputError(f"{path}: is a directory, not a file")
    if not path.parent.is_dir():
        raise OutputError(f"{path}: no such directory {path.parent}")


def _say_skipped(skipped: tuple[Skip, ...]) -> None:
    waiting = [s.pattern_id for s in skipped if s.code is SkipCode.OVER_LIMIT]
    for skip in skipped:
        if skip.code is not SkipCode.OVER_LIMIT:
            say.note(neutralize_line(f"not refined: {skip.pattern_id}: {skip.reason}"))
    if waiting:
        shown = ", ".join(waiting[:3]) + (
            f" and {len(waiting) - 3} more" if len(waiting) > 3 else ""
        )
        say.note(f"{len(waiting)} less severe actionable finding(s) wait for --max-prs: {shown}")


def render_explanations(explanations: list[Explanation]) -> str:
    """Per finding: the files and why, the estimate and the worst case, then the message
    itself (control and escape characters of the checkout's files made visible)."""
    if not explanations:
        return "No finding of the report is one refine can act on.\n"
    return "\n".join(
        f"{e.render()}\n--- the message refine would send for {e.pattern_id} (with the "
        f"polecat's system prompt) ---\n{neutralize_text(e.prompt)}\n--- end ---\n"
        for e in explanations
    )
