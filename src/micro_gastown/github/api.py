"""The GitHub operations the PR filer needs, as a Protocol every filing piece codes against.

:class:`~micro_gastown.github.client.GitHubClient` is the one implementation that talks to
GitHub (over PyGithub); unit tests hand the filer a fake with the same shape. The Git
Database half (blobs, trees, commits, refs) is how a filing makes commits GitHub signs
(shown as *verified*) for repositories that require signed commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from micro_gastown.github.model import OurPr, PrDraft, RepoRef

__all__ = ["BranchCommit", "FileMode", "GitHubApi", "IssueComment", "TreeEntry"]


class FileMode(StrEnum):
    """The modes a tree entry of ours may have (git's own spelling)."""

    FILE = "100644"
    EXECUTABLE = "100755"
    SYMLINK = "120000"


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One path of a tree to write on top of a base tree; ``sha`` None deletes the path."""

    path: str
    mode: str
    """``"100644"``, ``"100755"`` or ``"120000"`` (see :class:`FileMode`)."""
    sha: str | None


@dataclass(frozen=True, slots=True)
class BranchCommit:
    """A commit of a branch as GitHub's compare shows it: who made it decides whether the
    branch is still ours alone (``login`` is None when the email matches no account)."""

    sha: str
    login: str | None
    author_email: str
    committer_email: str


@dataclass(frozen=True, slots=True)
class IssueComment:
    """One comment of an issue or PR, as the rollback watcher reads them back: how it finds
    its own verdict comment (a hidden marker in ``body``) before writing another."""

    id: int
    author_login: str
    """``""`` when GitHub shows no author (a deleted account)."""
    body: str
    created_at: str | None = None
    """RFC 3339, UTC."""


class GitHubApi(Protocol):
    """What the filer asks of GitHub, about one repository."""

    repo: RepoRef

    def default_branch(self) -> str: ...

    def whoami(self) -> str | None:
        """The token's login; None when GitHub refuses ``GET /user`` (403: an installation
        token or the workflow's ``GITHUB_TOKEN``)."""
        ...

    def our_prs(self, login: str) -> list[OurPr]:
        """Every PR (open, closed, merged; every page) from a ``sleeptime/`` branch of this
        repository (never a fork) opened by ``login``."""
        ...

    def pull(self, number: int) -> OurPr | None:
        """PR ``number`` whoever opened it, read as :meth:`our_prs` reads them; None when
        there is no such PR (or the token cannot see it)."""
        ...

    def pr_for_branch(self, branch: str) -> OurPr | None:
        """The open PR whose head is ``owner:branch``, whoever opened it."""
        ...

    def branch_sha(self, branch: str) -> str | None:
        """The branch's head commit; None when there is no such branch."""
        ...

    def our_branches(self) -> list[str]:
        """Every branch named ``sleeptime/...`` (without ``refs/heads/``), whoever pushed
        it: how a run finds the branch a run that died before opening its PR left."""
        ...

    def branch_commits(self, base_sha: str, branch: str) -> list[BranchCommit]:
        """The commits of ``branch`` not in ``base_sha`` (compare ``base...branch``)."""
        ...

    def create_pr(self, draft: PrDraft) -> tuple[OurPr, bool]:
        """``(pr, created)``: an open PR for the branch already there is looked up and
        returned with ``created`` False, never a second PR."""
        ...

    def update_pr(self, number: int, *, title: str, body: str) -> None: ...

    def add_labels(self, number: int, labels: Sequence[str]) -> None: ...

    def remove_label(self, number: int, label: str) -> None: ...

    def request_reviewers(self, number: int, reviewers: Sequence[str]) -> list[str]:
        """Asks each reviewer; returns those GitHub refused (not a collaborator)."""
        ...

    def comment(self, number: int, body: str) -> None: ...

    def comments(self, number: int) -> list[IssueComment]:
        """Every comment of issue or PR ``number`` (every page), oldest first."""
        ...

    def merge_pr(self, number: int, *, sha: str, title: str | None = None) -> str:
        """Merges PR ``number`` with a merge commit, only while its head is still ``sha``;
        returns the merge commit. ``title`` is the merge commit's first line (GitHub's
        "Merge pull request #N ..." when None). A PR already merged at ``sha`` returns its
        merge commit (a retried or repeated call). GitHub's refusals (a draft, a closed PR,
        conflicts, required checks or reviews: 405; the head moved: 409) raise
        :class:`~micro_gastown.errors.GitHubConflictError` with GitHub's message."""
        ...

    def create_blob(self, content: bytes) -> str: ...

    def commit_tree(self, commit_sha: str) -> str:
        """The tree of a commit."""
        ...

    def create_tree(self, base_tree: str, entries: Sequence[TreeEntry]) -> str: ...

    def create_commit(self, message: str, tree: str, parents: Sequence[str]) -> str:
        """A commit with no author or committer given, which GitHub signs (verified)."""
        ...

    def set_branch(self, branch: str, sha: str, *, force: bool) -> None:
        """Creates ``refs/heads/branch`` at ``sha``, or moves it (fast-forward only unless
        ``force``)."""
        ...
