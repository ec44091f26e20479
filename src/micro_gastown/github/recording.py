"""The dry run's GitHub: reads go to GitHub when a token allows, writes are only written down.

:func:`~micro_gastown.github.publish.publish` runs against it exactly as against the real
client, so the list of calls a dry run prints is the list a real run would make (given the
same answers to its reads), not a description of it kept apart that could drift. Nothing
is created: a write returns a placeholder (``<new commit>``, PR number 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

import orjson

from micro_gastown.github.api import BranchCommit, GitHubApi, IssueComment, TreeEntry
from micro_gastown.github.model import OurPr, PrDraft, PrState, RepoRef
from micro_gastown.github.publish import BranchMaker

__all__ = ["PLACEHOLDER_SHA", "RecordingApi"]

PLACEHOLDER_SHA: Final = "0" * 40
"""Stands for a commit, tree or blob the dry run did not make."""

_WAYS: Final = ("git", "api")


@dataclass
class RecordingApi:
    """A :class:`~.api.GitHubApi` that reads through ``inner`` (None: an empty repository)
    and writes down, in ``calls``, every write it is asked for."""

    inner: GitHubApi | None
    repo: RepoRef
    calls: list[dict[str, Any]] = field(default_factory=list)

    def _record(self, method: str, path: str, body: Any = None) -> None:
        call: dict[str, Any] = {"method": method, "path": f"/repos/{self.repo}{path}"}
        if body is not None:
            call["json"] = body
        self.calls.append(call)

    def calls_json(self) -> bytes:
        return orjson.dumps(self.calls, option=orjson.OPT_INDENT_2) + b"\n"

    # reads: GitHub's answers when there is a client, "nothing there yet" otherwise
    def default_branch(self) -> str:
        return self.inner.default_branch() if self.inner else "main"

    def whoami(self) -> str | None:
        return self.inner.whoami() if self.inner else None

    def our_prs(self, login: str) -> list[OurPr]:
        return self.inner.our_prs(login) if self.inner else []

    def pr_for_branch(self, branch: str) -> OurPr | None:
        return self.inner.pr_for_branch(branch) if self.inner else None

    def pull(self, number: int) -> OurPr | None:
        return self.inner.pull(number) if self.inner and number else None

    def comments(self, number: int) -> list[IssueComment]:
        """None of a PR this dry run only pretended to open (number 0)."""
        return self.inner.comments(number) if self.inner and number else []

    def branch_sha(self, branch: str) -> str | None:
        return self.inner.branch_sha(branch) if self.inner else None

    def our_branches(self) -> list[str]:
        return self.inner.our_branches() if self.inner else []

    def branch_commits(self, base_sha: str, branch: str) -> list[BranchCommit]:
        return self.inner.branch_commits(base_sha, branch) if self.inner else []

    def commit_tree(self, commit_sha: str) -> str:
        if self.inner is not None and commit_sha != PLACEHOLDER_SHA:
            return self.inner.commit_tree(commit_sha)
        return PLACEHOLDER_SHA

    # writes: written down only
    def create_pr(self, draft: PrDraft) -> tuple[OurPr, bool]:
        self._record(
            "POST",
            "/pulls",
            {
                "title": draft.title,
                "head": draft.branch,
                "base": draft.base_branch,
                "draft": draft.draft,
                "body": f"<the rendered body: {len(draft.body):,} characters>",
            },
        )
        pr = OurPr(
            number=0,
            url="",
            state=PrState.OPEN,
            branch=draft.branch,
            head_sha=PLACEHOLDER_SHA,
            author_login="",
            record=draft.record,
            draft=draft.draft,
            title=draft.title,
        )
        return pr, True

    def update_pr(self, number: int, *, title: str, body: str) -> None:
        self._record(
            "PATCH",
            f"/pulls/{number}",
            {"title": title, "body": f"<the rendered body: {len(body):,} characters>"},
        )

    def add_labels(self, number: int, labels: Sequence[str]) -> None:
        self._record("POST", f"/issues/{number}/labels", {"labels": list(labels)})

    def remove_label(self, number: int, label: str) -> None:
        self._record("DELETE", f"/issues/{number}/labels/{quote(label, safe='')}")

    def request_reviewers(self, number: int, reviewers: Sequence[str]) -> list[str]:
        self._record("POST", f"/pulls/{number}/requested_reviewers", {"reviewers": list(reviewers)})
        return []

    def comment(self, number: int, body: str) -> None:
        self._record("POST", f"/issues/{number}/comments", {"body": f"<{len(body):,} chars>"})

    def merge_pr(self, number: int, *, sha: str, title: str | None = None) -> str:
        body = {"sha": sha, "merge_method": "merge"}
        if title is not None:
            body["commit_title"] = title
        self._record("PUT", f"/pulls/{number}/merge", body)
        return PLACEHOLDER_SHA

    def create_blob(self, content: bytes) -> str:
        self._record(
            "POST", "/git/blobs", {"encoding": "base64", "content": f"<{len(content)} bytes>"}
        )
        return PLACEHOLDER_SHA

    def create_tree(self, base_tree: str, entries: Sequence[TreeEntry]) -> str:
        tree = [{"path": e.path, "mode": e.mode, "type": "blob", "sha": e.sha} for e in entries]
        self._record("POST", "/git/trees", {"base_tree": base_tree, "tree": tree})
        return PLACEHOLDER_SHA

    def create_commit(self, message: str, tree: str, parents: Sequence[str]) -> str:
        self._record(
            "POST", "/git/commits", {"message": message, "tree": tree, "parents": list(parents)}
        )
        return PLACEHOLDER_SHA

    def set_branch(self, branch: str, sha: str, *, force: bool) -> None:
        if force:
            self._record("PATCH", f"/git/refs/heads/{branch}", {"sha": sha, "force": True})
        else:
            self._record("POST", "/git/refs", {"ref": f"refs/heads/{branch}", "sha": sha})

    def branch_maker(self, way: str, draft: PrDraft, files: Sequence[str]) -> BranchMaker:
        """What making the branch would send: ``way`` ``"git"`` (a ``git push``) or
        ``"api"`` (the Git Database calls), the values of the filer's ``commit_via``."""
        if way not in _WAYS:
            raise ValueError(f"unknown way of making a branch: {way!r}")

        def make(branch: str, current: str | None) -> str:
            if way == "git":
                lease = current or ""
                self.calls.append(
                    {
                        "method": "GIT",
                        "command": f"git push <{self.repo} over HTTPS, token in the "
                        f"environment> <commit of the patch on {draft.base_commit[:12]}>:"
                        f"refs/heads/{branch} --force-with-lease=refs/heads/{branch}:{lease}",
                    }
                )
                return PLACEHOLDER_SHA
            entries = [TreeEntry(path, "100644", self.create_blob(b"")) for path in files]
            tree = self.create_tree(self.commit_tree(draft.base_commit), entries)
            sha = self.create_commit(draft.commit_message, tree, [draft.base_commit])
            self.set_branch(branch, sha, force=current is not None)
            return sha

        return make
