"""Publishing a filing: the branch first, then the pull request, in an order a crash resumes.

The sequence is Renovate's: no database, GitHub is the memory. The branch is pushed (or
left as it is when it already holds the same tree), then the open PR for that branch is
looked up *before* one is created, so a run that died between the push and the PR finishes
that same PR on the next run; a 422 "already exists" from a create that raced another run
is answered by the client with a lookup too. Nothing is done to a branch holding a commit
by anyone else, nor to a PR someone else opened: the filing is left alone and says why.

How the commit is made is the caller's choice (:class:`BranchMaker`): pushed with ``git``
from the runner's checkout, or made by GitHub through the Git Database API (verified).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from micro_gastown.github.api import GitHubApi
from micro_gastown.github.authorship import foreign_commits
from micro_gastown.github.model import CommitIdentity, OurPr, PrDraft

__all__ = ["BranchMaker", "LeftAlone", "Published", "publish"]


class LeftAlone(StrEnum):
    """Why a filing touched nothing on GitHub."""

    FOREIGN_COMMITS = "foreign-commits"
    FOREIGN_PR = "foreign-pr"


class BranchMaker(Protocol):
    """Puts the filing's commit on ``branch``; ``current`` is where the branch points now
    (None: it does not exist), and the update must not succeed if it moved meanwhile.
    Returns the commit the branch points at afterwards."""

    def __call__(self, branch: str, current: str | None) -> str: ...


@dataclass(frozen=True, slots=True)
class Published:
    pr: OurPr | None
    commit_sha: str | None
    created: bool = False
    """A new PR was opened (False: an open one was found and refreshed)."""
    pushed: bool = False
    """The branch moved (False: it already held this change)."""
    left_alone: LeftAlone | None = None
    reason: str = ""
    refused_reviewers: tuple[str, ...] = ()


def publish(
    api: GitHubApi,
    draft: PrDraft,
    *,
    identity: CommitIdentity,
    make_branch: BranchMaker,
    same_change: Callable[[str], bool],
) -> Published:
    """Branch, then PR, then labels and reviewers; every step skips what is already done.

    ``same_change(sha)`` tells whether the branch's current commit already holds this
    filing's change (same tree on the same base): then nothing is pushed, unless the base
    branch already holds that commit (it was merged, and reverted since): a PR needs a
    commit its base lacks, so a new one is made."""
    current = api.branch_sha(draft.branch)
    if current is not None:
        others = foreign_commits(api.branch_commits(draft.base_commit, draft.branch), identity)
        if others:
            return Published(
                pr=api.pr_for_branch(draft.branch),
                commit_sha=current,
                left_alone=LeftAlone.FOREIGN_COMMITS,
                reason=f"{draft.branch} holds {len(others)} commit(s) by someone else "
                f"({', '.join(sha[:12] for sha in others[:3])}): left as it is",
            )
    existing = api.pr_for_branch(draft.branch)
    if existing is not None and not _by(existing, identity):
        return Published(
            pr=existing,
            commit_sha=current,
            left_alone=LeftAlone.FOREIGN_PR,
            reason=f"the open PR #{existing.number} for {draft.branch} was opened by "
            f"{existing.author_login}, not by us: left as it is",
        )
    pushed = False
    if (
        current is not None
        and same_change(current)
        and (existing is not None or api.branch_commits(draft.base_branch, draft.branch))
    ):
        sha = current
    else:
        sha = make_branch(draft.branch, current)
        pushed = sha != current
    if existing is not None:
        pr, created = existing, False
        if pushed or existing.title != draft.title or not _same_record(existing, draft):
            api.update_pr(existing.number, title=draft.title, body=draft.body)
    else:
        pr, created = api.create_pr(draft)
        if not created and not _by(pr, identity):
            return Published(
                pr=pr,
                commit_sha=sha,
                pushed=pushed,
                left_alone=LeftAlone.FOREIGN_PR,
                reason=f"the open PR #{pr.number} for {draft.branch} was opened by "
                f"{pr.author_login}, not by us: left as it is",
            )
        if not created:
            api.update_pr(pr.number, title=draft.title, body=draft.body)
    missing = [label for label in draft.labels if label not in pr.labels]
    if missing:
        api.add_labels(pr.number, missing)
    refused: list[str] = []
    if created and draft.reviewers:
        refused = api.request_reviewers(pr.number, draft.reviewers)
    labels = pr.labels | frozenset(draft.labels)
    return Published(
        pr=_with(pr, labels=labels, head_sha=sha),
        commit_sha=sha,
        created=created,
        pushed=pushed,
        refused_reviewers=tuple(refused),
    )


def _by(pr: OurPr, identity: CommitIdentity) -> bool:
    """GitHub logins ignore case (the setting may be typed ``Sleeptime-App[bot]``)."""
    return pr.author_login.casefold() == identity.login.casefold()


def _same_record(pr: OurPr, draft: PrDraft) -> bool:
    """The open PR's metadata already says what this filing says: only the filing time
    differs (it changes every run, and alone is no reason to rewrite a body)."""
    if pr.record is None:
        return False
    return pr.record.model_copy(update={"filed_at": None}) == draft.record.model_copy(
        update={"filed_at": None}
    )


def _with(pr: OurPr, *, labels: frozenset[str], head_sha: str) -> OurPr:
    return replace(pr, labels=labels, head_sha=head_sha)
