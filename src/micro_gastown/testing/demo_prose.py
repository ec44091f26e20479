"""The pr-filer's half of ``make demo``: the PR's words, replayed without a key or network.

The demo has no model, so the pr-filer's answers are hand-written
(``examples/llm/pr-filer.answers.json``: per pattern id, the title, summary, why each file
changes and the impact Haiku would write) and played from a replay file keyed on the exact
requests file-pr sends (``examples/llm/pr-filer.replay.json``). ``record`` writes that file
by running the demo's analyze and refine (from the refiner's replay file) and then
:func:`~micro_gastown.github.prose.write_prose` itself with a scripted backend, so any
change of the prose prompt, the pr-filer polecat, the refiner's answers or the demo logs
changes the keys and the demo fails loudly rather than replaying a stale answer; a test
regenerates the file and compares.

The request holds the change's validation status, which depends on the machine (``passed``
where GHC and cabal are installed, else ``not_validated``): each answer is recorded for
both, so the replay fits wherever the demo runs::

    python -m micro_gastown.testing.demo_prose run
    python -m micro_gastown.testing.demo_prose record [ANSWERS.json REPLAY.json]

``file-pr --llm --backend replay --replay`` :func:`demo_prose_replay_path` then files the
demo's change with these words, offline.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TextIO

from micro_gastown.app.analyzer import LlmRequest as LlmChoice
from micro_gastown.app.refine import Proposal, RefineRequest, refine
from micro_gastown.atomicfile import write_atomic
from micro_gastown.bundled import bundled_polecat
from micro_gastown.config.polecat import Polecat, load_polecat
from micro_gastown.errors import ConfigError
from micro_gastown.github.prose import ProseOutcome, write_prose
from micro_gastown.llm.ledger import CostLedger
from micro_gastown.llm.replay import ReplayBackend
from micro_gastown.report.changes import ProposedChanges, ValidationStatus
from micro_gastown.report.model import PatternReport
from micro_gastown.testing.demo_review import ROOT
from micro_gastown.testing.demo_sample import demo_checkout, demo_report, read_answers
from micro_gastown.testing.scripted import ScriptedAnswers

ANSWERS: Final = ROOT / "examples" / "llm" / "pr-filer.answers.json"
REPLAY: Final = ROOT / "examples" / "llm" / "pr-filer.replay.json"
REFINER_REPLAY: Final = ROOT / "examples" / "llm" / "conditional-refiner.replay.json"
"""The refiner's recordings (``demo_refine``'s): the demo's changes are refined from them."""
RECORDED_STATUSES: Final = (ValidationStatus.PASSED, ValidationStatus.NOT_VALIDATED)
"""The validation statuses the demo's change may carry, one recording each."""


def demo_prose_replay_path() -> Path:
    """The replay file holding the pr-filer's answers for the demo's changes."""
    return REPLAY


@dataclass(frozen=True, slots=True)
class DemoFiling:
    """One change of the demo, as file-pr would get it: the proposal, the findings it
    addresses and the files of its patch."""

    changes: ProposedChanges
    report: PatternReport
    files: tuple[str, ...]

    @property
    def patterns(self) -> list[Any]:
        ids = set(self.changes.patterns_addressed)
        return [p for p in self.report.patterns if p.id in ids]

    def with_status(self, status: ValidationStatus) -> DemoFiling:
        validation = self.changes.validation.model_copy(update={"status": status})
        changes = self.changes.model_copy(update={"validation": validation})
        return DemoFiling(changes, self.report, self.files)


def demo_filings(directory: Path, answers: dict[str, Any]) -> list[DemoFiling]:
    """The demo's changes for the findings ``answers`` has words for, in the report's
    order: the bundled logs analyzed, the bundled checkout copied into a git repository
    under ``directory``, and refine replayed from the refiner's recordings (without the
    must-pass commands: the words do not depend on cabal; the status is set per recording).

    The sample is set up as ``demo_refine`` sets it up (:mod:`.demo_sample`)."""
    report, report_path = demo_report(directory)
    wanted = tuple(p.id for p in report.patterns if p.id in answers)
    missing = sorted(set(answers) - set(wanted))
    if missing:
        raise ConfigError(f"{ANSWERS}: no finding {missing[0]!r} in the demo report")
    request = RefineRequest(
        report=report_path,
        repo=demo_checkout(directory),
        patterns=wanted,
        max_prs=len(wanted),
        llm=LlmChoice(backend="replay", replay=REFINER_REPLAY),
        run_must_pass=False,
    )
    return [_filing(proposal, report) for proposal in refine(request).proposals]


def _filing(proposal: Proposal, report: PatternReport) -> DemoFiling:
    files = tuple(change.path for change in proposal.changes.changes)
    return DemoFiling(proposal.changes, report, files)


def pr_filer() -> Polecat:
    return load_polecat(bundled_polecat("pr-filer"))


def write_replay(answers_path: Path, replay_path: Path) -> None:
    """Run the demo up to the PR's words with the hand-written answers, and write the
    replay file (each answer under every status in :data:`RECORDED_STATUSES`)."""
    note, answers = read_answers(answers_path)
    estimate = " Its token counts are estimates from text length, not a model's usage."
    backend = ScriptedAnswers(answers, note + estimate, ANSWERS)
    polecat = pr_filer()
    with tempfile.TemporaryDirectory(prefix="mg-demo-") as tmp:
        for filing in demo_filings(Path(tmp), answers):
            for status in RECORDED_STATUSES:
                variant = filing.with_status(status)
                outcome = write_prose(
                    variant.changes,
                    variant.patterns,
                    variant.files,
                    backend=backend,
                    polecat=polecat,
                )
                if outcome.fell_back or outcome.figures_removed:
                    raise ConfigError(
                        f"{answers_path}: the answer for {variant.changes.patterns_addressed} "
                        f"is not usable as it is: {outcome.reason or outcome.figures_removed}"
                    )
    text = json.dumps(backend.entries, indent=2, sort_keys=True, ensure_ascii=False)
    write_atomic(replay_path, text.encode("utf-8") + b"\n")


def run_demo(out: TextIO | None = None) -> int:
    """The PR's words for each demo change, replayed, as a maintainer would read them."""
    out = sys.stdout if out is None else out
    _, answers = read_answers(ANSWERS)
    polecat = pr_filer()
    ledger = CostLedger()
    backend = ReplayBackend(REPLAY)
    with tempfile.TemporaryDirectory(prefix="mg-demo-") as tmp:
        filings = demo_filings(Path(tmp), answers)
    print("\n## The PR's words (replayed, hand-written Haiku answers)\n", file=out)
    for filing in filings:
        variant = filing.with_status(ValidationStatus.NOT_VALIDATED)
        outcome = write_prose(
            variant.changes,
            variant.patterns,
            variant.files,
            backend=backend,
            polecat=polecat,
            meter=ledger.meter("file-pr"),
        )
        print(render_outcome(outcome), file=out)
    print(f"model: {ledger.summary_line()} (recorded estimates, no call made)", file=out)
    return 0


def render_outcome(outcome: ProseOutcome) -> str:
    prose = outcome.prose
    lines = [f"### {prose.title}", "", prose.summary, ""]
    lines += [f"- {path}: {why}" for path, why in prose.changes.items()]
    lines += ["", f"Expected impact: {prose.impact}", f"(words by {prose.written_by})"]
    if outcome.figures_removed:
        lines.append(f"figures removed: {', '.join(outcome.figures_removed)}")
    if outcome.reason:
        lines.append(f"fell back: {outcome.reason}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m micro_gastown.testing.demo_prose")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="the PR's words of the demo's changes, replayed")
    record = sub.add_parser("record", help="write the replay file from the hand-written answers")
    record.add_argument("answers", type=Path, nargs="?", default=ANSWERS)
    record.add_argument("replay", type=Path, nargs="?", default=REPLAY)
    args = parser.parse_args(argv)
    if args.command == "run":
        return run_demo()
    write_replay(args.answers, args.replay)
    print(f"wrote {args.replay}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
