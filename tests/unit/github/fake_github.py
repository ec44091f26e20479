"""A scripted, in-memory GitHubApi for unit tests of the filing sequence.

It holds what GitHub would (branches, their commits, PRs, comments) and writes down every
call, reads and writes, so a test asserts the exact sequence: what was looked up, what was
created, what was left alone. Where the client turns GitHub's refusals into errors, the
fake raises the same errors (a merge of a draft, a closed PR or a moved head).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from hashlib import sha1

from micro_gastown.errors import GitHubConflictError, GitHubNotFoundError
from micro_gastown.github.api import BranchCommit, IssueComment, TreeEntry
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
    """PRs by head branch (one per branch: open, or merged or closed)."""
    comments_by_pr: dict[int, list[IssueComment]] = field(default_factory=dict)
    """Per PR number, oldest first (``comment`` appends, as ``login``)."""
    conflicting: set[int] = field(default_factory=set)
    """PR numbers GitHub will not merge (conflicts, required checks or reviews): 405."""
    raced: OurPr | None = None
    """Opened by someone else between our lookup and our create: create_pr answers 422
    and the client looks it up (``created`` False)."""
    refuse_reviewers: tuple[str, ...] = ()
    calls: list[tuple[object, ...]] = field(default_factory=list)
    next_number: int = 41
    next_comment_id: int = 9000
    now: str = "2024-05-08T12:00:00Z"
    """What the fake writes as ``created_at``, ``merged_at`` and ``closed_at``."""

    def writes(self) -> list[tuple[object, ...]]:
        reads = {
            "pr_for_branch",
            "pull",
            "comments",
            "branch_sha",
            "our_branches",
            "branch_commits",
            "commit_tree",
        }
        return [call for call in self.calls if call[0] not in reads]

    # reads
    def default_branch(self) -> str:
        return "main"

    def whoami(self) -> str | None:
        return self.login

    def our_prs(self, login: str) -> list[OurPr]:
        return [pr for pr in self.prs.values() if pr.author_login == login]

    def pull(self, number: int) -> OurPr | None:
        self.calls.append(("pull", number))
        return self._by_number(number)

    def _by_number(self, number: int) -> OurPr | None:
        return next((pr for pr in self.prs.values() if pr.number == number), None)

    def pr_for_branch(self, branch: str) -> OurPr | None:
        self.calls.append(("pr_for_branch", branch))
        pr = self.prs.get(branch)
        return pr if pr is not None and pr.state is PrState.OPEN else None

    def comments(self, number: int) -> list[IssueComment]:
        self.calls.append(("comments", number))
        if self._by_number(number) is None:
            raise GitHubNotFoundError(f"cannot read the comments of PR #{number}", status=404)
        return list(self.comments_by_pr.get(number, []))

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
        if draft.branch in self.prs and self.prs[draft.branch].state is PrState.OPEN:
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
            created_at=self.now,
            head_repo=self.repo.full_name,
            base_branch=draft.base_branch,
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
        if self._by_number(number) is None:
            raise GitHubNotFoundError(f"cannot comment on PR #{number}", status=404)
        self.next_comment_id += 1
        item = IssueComment(
            self.next_comment_id, self.login or "github-actions[bot]", body, self.now
        )
        self.comments_by_pr.setdefault(number, []).append(item)

    def merge_pr(self, number: int, *, sha: str, title: str | None = None) -> str:
        """As the client: 405 and 409 become GitHubConflictError; a PR already merged at
        ``sha`` answers its merge commit."""
        self.calls.append(("merge_pr", number, sha))
        pr = self._by_number(number)
        if pr is None:
            raise GitHubNotFoundError(f"cannot merge PR #{number}: not found", status=404)
        if pr.state is PrState.MERGED and pr.head_sha == sha and pr.merge_commit_sha:
            return pr.merge_commit_sha
        if pr.state is not PrState.OPEN or pr.draft or number in self.conflicting:
            message = (
                "Pull Request is still a draft"
                if pr.state is PrState.OPEN and pr.draft
                else "Pull Request is not mergeable"
            )
            raise GitHubConflictError(
                f"cannot merge PR #{number}: GitHub will not merge it now (405 {message})",
                status=405,
                api_message=message,
            )
        head = self.branches.get(pr.branch, pr.head_sha)  # an open PR follows its branch
        if head != sha:
            message = "Head branch was modified. Review and try the merge again."
            raise GitHubConflictError(
                f"cannot merge PR #{number}: GitHub refused (409 {message})",
                status=409,
                api_message=message,
            )
        merge_sha = sha1(f"merge {number} {sha} {title}".encode()).hexdigest()
        self.prs[pr.branch] = replace(
            pr,
            state=PrState.MERGED,
            head_sha=head,
            merged_at=self.now,
            closed_at=self.now,
            merge_commit_sha=merge_sha,
        )
        return merge_sha

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
