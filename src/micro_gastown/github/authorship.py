"""Whose commits are on our branch: the rule that we never push over someone else's work.

A human's commit on a ``sleeptime/`` branch (a fix pushed on top, an "Update branch"
click, a rebase) means a person works there now; the filer then leaves the branch and its
PR alone (SPEC §7: Renovate stops touching a branch a human edited).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final, Protocol

from micro_gastown.github.model import CommitIdentity

__all__ = ["GITHUB_WEB_FLOW_EMAIL", "BranchCommitLike", "foreign_commits"]

GITHUB_WEB_FLOW_EMAIL: Final = "noreply@github.com"
"""The committer of commits GitHub makes on our behalf (Git Database API, web edits): not
a person's commit by itself; the author then says whose it is."""


class BranchCommitLike(Protocol):
    """A commit on our branch beyond its base, as GitHub reports it (``login``: the
    account GitHub links the author to, if any)."""

    @property
    def sha(self) -> str: ...
    @property
    def login(self) -> str | None: ...
    @property
    def author_email(self) -> str | None: ...
    @property
    def committer_email(self) -> str | None: ...


def foreign_commits(commits: Iterable[BranchCommitLike], identity: CommitIdentity) -> list[str]:
    """The shas of commits on our branch that someone else made.

    Ours: authored by our login, or (GitHub links an author to the account owning the
    email) by one of our emails, and committed by one of our emails or GitHub's web flow.
    A human's "Update branch" click is authored by the human; a rebase or amend by a human
    has the human as committer: both are foreign. A missing email is not ours."""
    login = identity.login.casefold()
    emails = {identity.email.casefold(), f"{login}@users.noreply.github.com"}
    noreply = re.compile(r"[0-9]+\+" + re.escape(login) + r"@users\.noreply\.github\.com")

    def our_email(email: str | None) -> bool:
        text = (email or "").strip().casefold()
        return text in emails or noreply.fullmatch(text) is not None

    def ours(commit: BranchCommitLike) -> bool:
        by_us = (commit.login or "").casefold() == login or our_email(commit.author_email)
        committed = (commit.committer_email or "").strip().casefold() == GITHUB_WEB_FLOW_EMAIL
        return by_us and (committed or our_email(commit.committer_email))

    return [commit.sha for commit in commits if not ours(commit)]
