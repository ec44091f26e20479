"""What a filing is made of, and what we know of our earlier pull requests.

These are the values the PR filer's pieces hand each other: the body renderer
(:mod:`.body`), the hygiene rules (:mod:`.hygiene`), the GitHub client (:mod:`.client`)
and the two ways of making the branch (:mod:`.gitpush`, :mod:`.gitdb`). GitHub itself is
the only memory (no database, as Renovate does it): our PRs are recognised by the
``sleeptime`` label, a ``sleeptime/`` branch, their author and the metadata block in the
body, which holds a :class:`FilingRecord` as JSON.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from micro_gastown.errors import ConfigError
from micro_gastown.watch.judge import Verdict

__all__ = [
    "BRANCH_PREFIX",
    "LABEL_EVOLUTION",
    "LABEL_REVERT",
    "LABEL_REVERTED",
    "METADATA_VERSION",
    "REVERT_BRANCH_PREFIX",
    "VERDICT_LABELS",
    "CommitIdentity",
    "FilingRecord",
    "OurPr",
    "PatternRecord",
    "PrDraft",
    "PrState",
    "RepoRef",
]

LABEL_EVOLUTION: Final = "sleeptime"
"""Every PR we open carries it; with the branch prefix and the author it marks ours."""
LABEL_REVERTED: Final = "sleeptime-reverted"
"""Set on a PR the rollback watcher reverted: its fingerprints are suppressed for good,
until a human removes the label."""
LABEL_REVERT: Final = "sleeptime-revert"
"""Set on a PR the rollback watcher opened to undo one of ours (never the evolution label:
a revert is not an evolution PR and addresses no finding)."""
VERDICT_LABELS: Final[Mapping[Verdict, str]] = {
    Verdict.REGRESSED: LABEL_REVERTED,
    Verdict.IMPROVED: "sleeptime-improved",
    Verdict.NO_CHANGE: "sleeptime-no-change",
    Verdict.INCONCLUSIVE: "sleeptime-inconclusive",
}
"""The label the rollback watcher leaves on a merged PR with its final verdict: the last
step of judging it, and how the next evolve reads the verdict."""
BRANCH_PREFIX: Final = "sleeptime/"
REVERT_BRANCH_PREFIX: Final = "sleeptime/revert-"
METADATA_VERSION: Final = 1

_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,99})$")


@dataclass(frozen=True, slots=True)
class RepoRef:
    """``owner/name`` of a GitHub repository."""

    owner: str
    name: str

    @classmethod
    def parse(cls, text: str, *, setting: str = "github_repo") -> RepoRef:
        owner, slash, name = text.strip().partition("/")
        if not slash or not _NAME.match(owner) or not _NAME.match(name) or name.endswith(".git"):
            raise ConfigError("expected OWNER/NAME, e.g. acme/agents", setting=setting, value=text)
        return cls(owner, name)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def __str__(self) -> str:
        return self.full_name


@dataclass(frozen=True, slots=True)
class CommitIdentity:
    """Who we are on GitHub (``login``: the PR author, ``github-actions[bot]`` under the
    workflow token) and in the commits we make (``name`` and ``email``)."""

    login: str
    name: str = "micro-gastown"
    email: str = "micro-gastown@users.noreply.github.com"


class PrState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    """Closed without merging: a maintainer said no."""
    MERGED = "merged"


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class PatternRecord(_Record):
    """One finding as it stood when the PR was filed: the baseline the rollback watcher and
    the closed-PR rule compare against."""

    id: str
    type: str
    severity: str
    occurrences: int = Field(ge=0)
    logql: str | None = None
    window_start: str | None = Field(default=None, description="RFC 3339")
    window_end: str | None = Field(default=None, description="RFC 3339")
    rate_per_hour: float | None = Field(
        default=None, ge=0, description="occurrences per hour of the window"
    )
    exposure: int | None = Field(default=None, ge=0, description="events the count is relative to")
    exposure_unit: str | None = None
    series_query: str | None = None
    exposure_query: str | None = None


class FilingRecord(_Record):
    """The machine-readable block of a PR body (an HTML comment holding this as JSON)."""

    version: int = METADATA_VERSION
    fingerprints: tuple[str, ...] = Field(description="Pattern ids addressed, sorted")
    patterns: tuple[PatternRecord, ...] = ()
    base_commit: str | None = None
    base_branch: str | None = None
    branch: str | None = None
    tool_version: str | None = None
    filed_at: str | None = Field(default=None, description="RFC 3339")
    overall_error_rate: float | None = Field(
        default=None, ge=0, description="errors per event over the window, for the watcher"
    )
    events_analyzed: int | None = Field(default=None, ge=0)
    reverts: int | None = Field(
        default=None, ge=1, description="set on a revert PR: the number of the PR it undoes"
    )


@dataclass(frozen=True, slots=True)
class OurPr:
    """A pull request as GitHub shows it, read back for the hygiene rules.

    ``record`` is None when the body holds no readable metadata block: such a PR is not
    treated as ours (never updated, never reverted), whatever its label says."""

    number: int
    url: str
    state: PrState
    branch: str
    head_sha: str
    author_login: str
    labels: frozenset[str] = frozenset()
    record: FilingRecord | None = None
    draft: bool = True
    title: str = ""
    created_at: str | None = None
    closed_at: str | None = None
    merged_at: str | None = None
    merge_commit_sha: str | None = None
    head_repo: str | None = None
    """``owner/name`` of the head branch's repository (a fork's PR is never ours)."""
    base_branch: str | None = None
    """The branch the PR targets (merged into), as GitHub says: a revert goes there, never
    where the body's record says (anyone who can edit the body can edit that)."""

    @property
    def fingerprints(self) -> frozenset[str]:
        return frozenset(self.record.fingerprints) if self.record else frozenset()


@dataclass(frozen=True, slots=True)
class PrDraft:
    """Everything a filing publishes, decided before anything is published."""

    branch: str
    base_branch: str
    base_commit: str
    title: str
    body: str
    commit_message: str
    files: tuple[str, ...]
    record: FilingRecord
    labels: tuple[str, ...] = (LABEL_EVOLUTION,)
    reviewers: tuple[str, ...] = ()
    draft: bool = True
    notes: tuple[str, ...] = field(default=())
