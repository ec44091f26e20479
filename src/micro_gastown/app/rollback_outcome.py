"""What ``rollback-check`` did about each merged PR: the value every face reports from."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from micro_gastown.watch.assess import Assessment
from micro_gastown.watch.judge import Verdict
from micro_gastown.watch.looks import Look

__all__ = ["PrAction", "PrOutcome"]


class PrAction(StrEnum):
    """What the run did about one merged PR."""

    WATCHING = "watching"
    """Not judged yet (no whole day of after window), or judged so far and not regressed."""
    REVERTED = "reverted"
    """A revert PR is open (or was opened): comment and label done."""
    REVERT_FAILED = "revert-failed"
    """Regressed, but no revert could be made (conflicts, no merge commit): said on the PR."""
    JUDGED = "judged"
    """The final verdict: comment and label posted by this run."""
    ALREADY_JUDGED = "already-judged"
    """A verdict label was there: nothing to do."""
    WOULD_REVERT = "would-revert"
    """Dry run: regressed, nothing written."""
    WOULD_JUDGE = "would-judge"
    """Dry run: the final verdict, nothing written."""
    FAILED = "failed"
    """GitHub, git or Loki failed for this PR (the detail says how); the next run retries:
    every step checks its own mark first."""
    SKIPPED = "skipped"
    """Not ours to judge (no merge time, no findings); the detail says why."""


@dataclass(frozen=True, slots=True)
class PrOutcome:
    number: int
    url: str
    action: PrAction
    detail: str
    verdict: Verdict | None = None
    exit_code: int = 0
    """Non-zero for :attr:`PrAction.FAILED`: the error's exit code (the CLI's table)."""
    look: Look | None = None
    revert_number: int | None = None
    revert_url: str | None = None
    assessment: Assessment | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "pr": self.number,
            "url": self.url,
            "verdict": str(self.verdict) if self.verdict else None,
            "action": str(self.action),
            "look_day": self.look.day if self.look else None,
            "watch_days": self.look.watch_days if self.look else None,
            "revert_pr": self.revert_number,
            "revert_url": self.revert_url,
            "detail": self.detail,
        }
