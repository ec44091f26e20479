"""A scripted, in-memory GitHubApi for unit tests of the filing sequence.

It holds what GitHub would (branches, their commits, open PRs) and writes down every call,
reads and writes, so a test asserts the exact sequence: what was looked up, what was
created, what was left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from micro_gastown.github.api import BranchCommit, TreeEntry
from micro_gastown.github.model import BRANCH_PREFIX, OurPr, PrDraft, PrState, RepoRef

REPO = RepoRef("acme", "agents")


@dataclass
class FakeGitHub:
    repo: RepoRef = REPO
    login: str | None = "sleeptime-app[bot]"
    branches: dict[str, str] = field(default_factory=dict)
    commits: dict[str, list[BranchCommit]] = field(default_factory=dict)
    """Per branch: its commits not in the base."""
    prs: dict[str, OurPr] = field(default_factory=dict)
    """Open PRs by head branch."""
    raced: OurPr | None = None
    """Opened by someone else between our lookup and our create: create_pr answers 422
    and the client looks it up (``created`` False)."""
    refuse_reviewers: tuple[str, ...] = ()
    calls: list[tuple[object, ...]] = field(default_factory=list)
    next_number: int = 41

    def writes(self) -> list[tuple[object, ...]]:
        reads = {"pr_for_branch", "branch_sha", "our_branches", "branch_commits", "commit_tree"}
        return [call for call in self.calls if call[0] not in reads]

    # reads
    def default_branch(self) -> str:
        return "main"

    def whoami(self) -> str | None:
        return self.login

    def our_prs(self, login: str) -> list[OurPr]:
        return [pr for pr in self.prs.values() if pr.author_login == login]

    def pr_for_branch(self, branch: str) -> OurPr | None:
        self.calls.append(("pr_for_branch", branch))
        return self.prs.get(branch)

    def branch_sha(self, branch: str) -> str | None:
        self.calls.append(("branch_sha", branch))
        return self.branches.get(branch)

    def our_branches(self) -> list[str]:
        self.calls.append(("our_branches",))
        return [name for name in self.branches if name.startswith(BRANCH_PREFIX)]

    def branch_commits(self, base_sha: str, branch: str) -> list[BranchCommit]:
        self.calls.append(("branch_commits", base_sha, branch))
        return list(self.commits.get(branch, []))

    def commit_tree(self, commit_sha: str) -> str:
        self.calls.append(("commit_tree", commit_sha))
        return "t" * 40

    # writes
    def create_pr(self, draft: PrDraft) -> tuple[OurPr, bool]:
        self.calls.append(("create_pr", draft.branch))
        if self.raced is not None:
            self.prs[draft.branch] = self.raced
            return self.raced, False
        if draft.branch in self.prs:
            return self.prs[draft.branch], False
        self.next_number += 1
        pr = OurPr(
            number=self.next_number,
            url=f"https://github.com/{self.repo}/pull/{self.next_number}",
            state=PrState.OPEN,
            branch=draft.branch,
            head_sha=self.branches[draft.branch],
            author_login=self.login or "",
            record=draft.record,
            draft=draft.draft,
            title=draft.title,
        )
        self.prs[draft.branch] = pr
        return pr, True

    def update_pr(self, number: int, *, title: str, body: str) -> None:
        self.calls.append(("update_pr", number, title))

    def add_labels(self, number: int, labels: Sequence[str]) -> None:
        self.calls.append(("add_labels", number, tuple(labels)))
        for branch, pr in self.prs.items():
            if pr.number == number:
                self.prs[branch] = replace(pr, labels=pr.labels | frozenset(labels))

    def remove_label(self, number: int, label: str) -> None:
        self.calls.append(("remove_label", number, label))

    def request_reviewers(self, number: int, reviewers: Sequence[str]) -> list[str]:
        self.calls.append(("request_reviewers", number, tuple(reviewers)))
        return [r for r in reviewers if r in self.refuse_reviewers]

    def comment(self, number: int, body: str) -> None:
        self.calls.append(("comment", number))

    def create_blob(self, content: bytes) -> str:
        self.calls.append(("create_blob",))
        return "b" * 40

    def create_tree(self, base_tree: str, entries: Sequence[TreeEntry]) -> str:
        self.calls.append(("create_tree", base_tree))
        return "t" * 40

    def create_commit(self, message: str, tree: str, parents: Sequence[str]) -> str:
        self.calls.append(("create_commit", tree))
        return "c" * 40

    def set_branch(self, branch: str, sha: str, *, force: bool) -> None:
        self.calls.append(("set_branch", branch, sha, force))
        self.branches[branch] = sha
