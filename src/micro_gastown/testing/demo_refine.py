"""The refine half of ``make demo``, and the replay file that lets it run offline.

The demo has no key and no network, so the conditional-refiner's answers are hand-written
(``examples/llm/conditional-refiner.answers.json``: per pattern id, the edits Haiku would
propose) and played from a replay file keyed on the exact requests refine sends
(``examples/llm/conditional-refiner.replay.json``). ``record`` writes that file by running
refine itself with a scripted backend, so any change of the prompt, the context code
chooses, the sample checkout or the polecat changes the keys and the demo fails loudly
rather than replaying a stale answer; a test regenerates it and compares.

``run`` is the demo: analyze the bundled logs, copy the bundled checkout into a fresh git
repository in a temporary directory, refine the demo's findings from the replay file, and
print each finding, its diff and the validation (the static check always; ``cabal build``
and ``cabal test`` where GHC and cabal are installed, else "not validated")::

    python -m micro_gastown.testing.demo_refine run
    python -m micro_gastown.testing.demo_refine record ANSWERS.json REPLAY.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from micro_gastown.app.analyzer import LlmRequest
from micro_gastown.app.refine import Proposal, RefineRequest, refine
from micro_gastown.atomicfile import write_atomic
from micro_gastown.errors import ConfigError
from micro_gastown.report.model import PatternReport
from micro_gastown.testing.demo_pr import file_demo_pr
from micro_gastown.testing.demo_review import ROOT
from micro_gastown.testing.demo_sample import (
    demo_checkout,
    demo_report,
    read_answers,
)
from micro_gastown.testing.scripted import ScriptedAnswers

ANSWERS = ROOT / "examples" / "llm" / "conditional-refiner.answers.json"
REPLAY = ROOT / "examples" / "llm" / "conditional-refiner.replay.json"


def demo_patterns(report: PatternReport, answers: dict[str, Any]) -> tuple[str, ...]:
    """The findings the demo refines: those the answers file has an answer for, in the
    report's order."""
    ids = tuple(p.id for p in report.patterns if p.id in answers)
    missing = sorted(set(answers) - set(ids))
    if missing:
        raise ConfigError(f"{ANSWERS}: no finding {missing[0]!r} in the demo report")
    return ids


def write_replay(answers_path: Path, replay_path: Path) -> None:
    """Run the demo's refine with the hand-written answers and write the replay file."""
    note, answers = read_answers(answers_path)
    estimate = " Its token counts are estimates from text length, not a model's usage."
    backend = ScriptedAnswers(answers, note + estimate, ANSWERS)
    with tempfile.TemporaryDirectory(prefix="mg-demo-") as tmp:
        report, report_path = demo_report(Path(tmp))
        checkout = demo_checkout(Path(tmp))
        request = _request(report_path, checkout, demo_patterns(report, answers), replay=None)
        refine(request.model_copy(update={"run_must_pass": False}), backend=backend)
    text = json.dumps(backend.entries, indent=2, sort_keys=True, ensure_ascii=False)
    write_atomic(replay_path, text.encode("utf-8") + b"\n")


def _request(
    report: Path, checkout: Path, patterns: tuple[str, ...], replay: Path | None
) -> RefineRequest:
    llm = LlmRequest(backend="replay", replay=replay) if replay is not None else None
    return RefineRequest(
        report=report, repo=checkout, patterns=patterns, max_prs=len(patterns), llm=llm
    )


def run_demo(out: TextIO | None = None, pr_out: Path | None = None) -> int:
    """The demo: analyze, then refine from the replay file, and show what came out; with
    ``pr_out``, then the dry-run PR of the first proposal that may be filed."""
    out = sys.stdout if out is None else out
    _, answers = read_answers(ANSWERS)
    with tempfile.TemporaryDirectory(prefix="mg-demo-") as tmp:
        report, report_path = demo_report(Path(tmp))
        checkout = demo_checkout(Path(tmp))
        request = _request(report_path, checkout, demo_patterns(report, answers), REPLAY)
        print("\n## Refine (replayed, hand-written Haiku answers)\n", file=out)
        result = refine(request, environ=offline_cabal(Path(tmp)))
        for proposal in result.proposals:
            print(render_proposal(proposal), file=out)
        if result.cost:
            print(f"model: {result.cost} (recorded estimates, no call made)", file=out)
        # Without cabal the demo's changes are "not validated": filed all the same (the
        # body says so), so a machine without GHC still shows the PR it would get.
        fileable = [p for p in result.proposals if p.fileable(allow_unvalidated=True)]
        if pr_out is not None and fileable:
            return file_demo_pr(
                fileable[0], report=report_path, checkout=checkout, work=Path(tmp),
                out=pr_out, stream=out,
            )  # fmt: skip
    return 0


def offline_cabal(directory: Path) -> dict[str, str]:
    """The environment the demo validates in: cabal with a configuration of its own that
    names no package repository, so it never tries to reach Hackage (the demo runs without
    a network; the sample needs only GHC's own packages) and leaves ``~/.cabal`` alone."""
    cabal_dir = directory / "cabal"
    cabal_dir.mkdir()
    (cabal_dir / "config").write_text("")
    return {**os.environ, "CABAL_DIR": str(cabal_dir)}


def render_proposal(proposal: Proposal) -> str:
    pattern = proposal.candidate.pattern
    changes = proposal.changes
    lines = [
        f"### {pattern.id}",
        f"finding: {pattern.type.value}, {pattern.severity.value}, {pattern.occurrences} "
        f"occurrences; {json.dumps(pattern.details, ensure_ascii=False)[:300]}",
        f"status: {changes.status.value if changes.status else '?'}",
        "",
        "```diff",
        proposal.patch.rstrip("\n") or "(no patch)",
        "```",
        "",
        "validation:",
    ]
    for check in changes.validation.checks:
        reason = f" ({check.reason})" if check.reason else ""
        lines.append(f"- {check.name}: {check.outcome.value}{reason}")
        if check.outcome.value == "failed" and check.output:
            lines.extend(f"    {line}" for line in check.output.splitlines()[-8:])
    lines.append(f"=> {changes.validation.reason}")
    for refused in changes.rejected:
        lines.append(f"refused: {refused.path}: {refused.rule}: {refused.detail}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m micro_gastown.testing.demo_refine")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="the refine half of make demo")
    run.add_argument("--pr-out", type=Path, help="then dry-run file-pr into this folder")
    record = sub.add_parser("record", help="write the replay file from the hand-written answers")
    record.add_argument("answers", type=Path, nargs="?", default=ANSWERS)
    record.add_argument("replay", type=Path, nargs="?", default=REPLAY)
    args = parser.parse_args(argv)
    if args.command == "run":
        return run_demo(pr_out=args.pr_out)
    write_replay(args.answers, args.replay)
    print(f"wrote {args.replay}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
