"""GitHubClient: the :class:`~micro_gastown.github.api.GitHubApi` over PyGithub.

The only module that talks to GitHub (with :mod:`.boundary`, its retry policy and error
translation). It is built from explicit values (never from the
environment: the faces read settings and hand them in), retries what GitHub says is
temporary (5xx, primary rate limits until ``x-ratelimit-reset``, secondary ones after
``Retry-After``) with a cap on any single wait so a run never sleeps for an hour, and
translates PyGithub's and requests' exceptions once, at this boundary, into
:mod:`micro_gastown.errors`.
The token lives only inside PyGithub's auth object: never in ``repr``, an error or a log
line, and never sent over plain HTTP except to this machine.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, Final, Self
from urllib.parse import quote

import requests
import urllib3
from github import Auth, Github, GithubException
from github.PullRequest import PullRequest

from micro_gastown.errors import (
    ConfigError,
    GitHubConflictError,
    GitHubError,
    GitHubNotFoundError,
    GitHubUnavailableError,
)
from micro_gastown.github.api import BranchCommit, IssueComment, TreeEntry
from micro_gastown.github.boundary import (
    CappedRetry,
    WaitTooLong,
    api_message,
    check_api_url,
    is_rate_limit,
    one_line,
    redactor,
    translate,
)
from micro_gastown.github.metadata import read_record
from micro_gastown.github.model import BRANCH_PREFIX, OurPr, PrDraft, PrState, RepoRef

__all__ = ["DEFAULT_API_URL", "GitHubClient"]

DEFAULT_API_URL: Final = "https://api.github.com"
_ALREADY_EXISTS: Final = "a pull request already exists"
_HEADS: Final = "refs/heads/"

# The permission each kind of call needs (fine-grained PAT / GitHub App names).
_METADATA = "metadata: read"
_CONTENTS_READ = "contents: read"
_CONTENTS_WRITE = "contents: write"
_PULLS_READ = "pull_requests: read"
_PULLS_WRITE = "pull_requests: write"
_ISSUES_READ = "issues: read (or pull_requests: read)"
_ISSUES_WRITE = "issues: write (or pull_requests: write)"
_NOT_MERGEABLE = 405
"""GitHub's answer to a merge it will not make now: a draft, a closed PR, conflicts, or a
branch protection rule (required checks or reviews) not met."""
_HEAD_MOVED = 409


class GitHubClient:
    """One repository on GitHub, through one token; see the module docstring.

    ``retries`` bounds the attempts after the first, ``backoff_s`` is the exponential
    backoff factor between them, ``max_wait_s`` caps any single wait GitHub asks for
    (a rate-limit reset or ``Retry-After``) and ``write_interval_s`` spaces writes as
    GitHub's guidance against secondary rate limits asks (one second)."""

    def __init__(
        self,
        *,
        repo: RepoRef,
        token: str,
        api_url: str = DEFAULT_API_URL,
        timeout_s: float = 30.0,
        retries: int = 5,
        backoff_s: float = 1.0,
        max_wait_s: float = 120.0,
        write_interval_s: float = 1.0,
    ) -> None:
        self.repo = repo
        self.api_url = check_api_url(api_url)
        if not token:
            raise ConfigError("no GitHub token given")
        self._redact = redactor(token)
        retry = CappedRetry(
            total=retries,
            backoff_factor=backoff_s,
            backoff_max=max_wait_s,
            max_rate_limit_wait=max_wait_s,
            status_forcelist=[*range(500, 600), 429],  # GithubRetry adds 403
            secondary_rate_wait=min(60.0, max_wait_s),
            raise_on_status=False,
        )
        self._github = Github(
            base_url=self.api_url,
            auth=Auth.Token(token),
            timeout=max(1, math.ceil(timeout_s)),  # PyGithub insists on whole seconds
            retry=retry,
            per_page=100,
            seconds_between_requests=None,
            seconds_between_writes=write_interval_s or None,
            lazy=True,
        )
        self._path = f"/repos/{quote(repo.owner)}/{quote(repo.name)}"

    def __repr__(self) -> str:
        return f"GitHubClient(repo={self.repo.full_name!r}, api_url={self.api_url!r})"

    def close(self) -> None:
        self._github.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------

    @contextmanager
    def _calling(self, action: str, permission: str) -> Iterator[None]:
        """Translates whatever PyGithub or requests raise into a GitHubError, once."""
        try:
            yield
        except GitHubError:
            raise
        except GithubException as exc:
            raise translate(exc, action, permission, self._redact) from None
        except WaitTooLong as exc:
            raise GitHubUnavailableError(
                f"cannot {action}: GitHub asks to wait {exc.seconds:.0f}s, longer than allowed"
            ) from None
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            reason = self._redact(one_line(type(exc).__name__ + ": " + str(exc)))
            raise GitHubUnavailableError(
                f"cannot {action}: GitHub unreachable after retries ({reason})"
            ) from None

    def _request(
        self,
        verb: str,
        path: str,
        *,
        action: str,
        permission: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        with self._calling(action, permission):
            _, data = self._github.requester.requestJsonAndCheck(
                verb, self._path + path, parameters=params, input=body
            )
            return data

    # -- the repository and ourselves ------------------------------------------------------

    def default_branch(self) -> str:
        data = self._request("GET", "", action=f"read {self.repo}", permission=_METADATA)
        return str(data["default_branch"])

    def whoami(self) -> str | None:
        with self._calling("read the token's user", "a token that may read its user"):
            try:
                _, data = self._github.requester.requestJsonAndCheck("GET", "/user")
            except GithubException as exc:
                if exc.status == 403 and not is_rate_limit(exc):
                    return None  # an installation token or GITHUB_TOKEN: no user of its own
                raise
        return str(data["login"])

    # -- pull requests ---------------------------------------------------------------------

    def our_prs(self, login: str) -> list[OurPr]:
        ours: list[OurPr] = []
        with self._calling("list pull requests", _PULLS_READ):
            repo = self._github.get_repo(self.repo.full_name)
            for pull in repo.get_pulls(state="all", sort="created", direction="desc"):
                pr = self._our_pr(pull)
                if (
                    pr.branch.startswith(BRANCH_PREFIX)
                    and pr.head_repo == self.repo.full_name
                    and pr.author_login == login
                ):
                    ours.append(pr)
        return ours

    def pr_for_branch(self, branch: str) -> OurPr | None:
        with self._calling(f"look up the PR of branch {branch}", _PULLS_READ):
            repo = self._github.get_repo(self.repo.full_name)
            head = f"{self.repo.owner}:{branch}"
            for pull in repo.get_pulls(state="open", head=head):
                pr = self._our_pr(pull)
                if pr.branch == branch and pr.head_repo == self.repo.full_name:
                    return pr
        return None

    def pull(self, number: int) -> OurPr | None:
        try:
            with self._calling(f"read PR #{number}", _PULLS_READ):
                repo = self._github.get_repo(self.repo.full_name)
                return self._our_pr(repo.get_pull(number).complete())
        except GitHubNotFoundError:
            return None

    def _our_pr(self, pull: PullRequest) -> OurPr:
        head_repo = pull.head.repo.full_name if pull.head.repo is not None else None
        merged_at = _iso(pull.merged_at)
        state = (
            PrState.MERGED
            if merged_at
            else PrState.OPEN
            if pull.state == "open"
            else PrState.CLOSED
        )
        return OurPr(
            number=pull.number,
            url=pull.html_url,
            state=state,
            branch=pull.head.ref,
            head_sha=pull.head.sha,
            author_login=pull.user.login,
            labels=frozenset(label.name for label in pull.labels),
            record=read_record(pull.body),
            draft=bool(pull.draft),
            title=pull.title or "",
            created_at=_iso(pull.created_at),
            closed_at=_iso(pull.closed_at),
            merged_at=merged_at,
            merge_commit_sha=pull.merge_commit_sha,
            head_repo=head_repo,
            base_branch=pull.base.ref,
        )

    def create_pr(self, draft: PrDraft) -> tuple[OurPr, bool]:
        action = f"open a pull request from {draft.branch}"
        with self._calling(action, _PULLS_WRITE):
            repo = self._github.get_repo(self.repo.full_name)
            try:
                pull = repo.create_pull(
                    base=draft.base_branch,
                    head=draft.branch,
                    title=draft.title,
                    body=draft.body,
                    draft=draft.draft,
                    maintainer_can_modify=False,
                )
            except GithubException as exc:
                if exc.status != 422 or _ALREADY_EXISTS not in api_message(exc).lower():
                    raise
                existing = self.pr_for_branch(draft.branch)
                if existing is None:
                    raise
                return existing, False
            return self._our_pr(pull), True

    def update_pr(self, number: int, *, title: str, body: str) -> None:
        self._request(
            "PATCH",
            f"/pulls/{number}",
            body={"title": title, "body": body},
            action=f"update PR #{number}",
            permission=_PULLS_WRITE,
        )

    def add_labels(self, number: int, labels: Sequence[str]) -> None:
        if labels:
            self._request(
                "POST",
                f"/issues/{number}/labels",
                body={"labels": list(labels)},
                action=f"label PR #{number}",
                permission=_ISSUES_WRITE,
            )

    def remove_label(self, number: int, label: str) -> None:
        action = f"remove label {label!r} from PR #{number}"
        try:
            self._request(
                "DELETE",
                f"/issues/{number}/labels/{quote(label, safe='')}",
                action=action,
                permission=_ISSUES_WRITE,
            )
        except GitHubNotFoundError as exc:
            if "label does not exist" not in (exc.api_message or "").lower():
                raise  # the PR is gone, not just the label

    def request_reviewers(self, number: int, reviewers: Sequence[str]) -> list[str]:
        refused: list[str] = []
        for reviewer in reviewers:  # one by one: GitHub refuses the lot for one outsider
            try:
                self._request(
                    "POST",
                    f"/pulls/{number}/requested_reviewers",
                    body={"reviewers": [reviewer]},
                    action=f"request a review of PR #{number}",
                    permission=_PULLS_WRITE,
                )
            except GitHubConflictError:
                refused.append(reviewer)
        return refused

    def comment(self, number: int, body: str) -> None:
        self._request(
            "POST",
            f"/issues/{number}/comments",
            body={"body": body},
            action=f"comment on PR #{number}",
            permission=_ISSUES_WRITE,
        )

    def comments(self, number: int) -> list[IssueComment]:
        with self._calling(f"read the comments of PR #{number}", _ISSUES_READ):
            issue = self._github.get_repo(self.repo.full_name).get_issue(number)
            return [
                IssueComment(
                    id=item.id,
                    author_login=item.user.login if item.user is not None else "",
                    body=item.body or "",
                    created_at=_iso(item.created_at),
                )
                for item in issue.get_comments()  # GitHub lists them oldest first
            ]

    def merge_pr(self, number: int, *, sha: str, title: str | None = None) -> str:
        action = f"merge PR #{number}"
        body = {"sha": sha, "merge_method": "merge"}
        if title is not None:
            body["commit_title"] = title
        try:
            data = self._request(
                "PUT",
                f"/pulls/{number}/merge",
                body=body,
                action=action,
                permission=_CONTENTS_WRITE,
            )
        except GitHubError as exc:
            if exc.status not in (_NOT_MERGEABLE, _HEAD_MOVED):
                raise
            merged = self._existing_merge(number, sha)
            if merged is not None:
                return merged  # merged at that head already: a retry after a lost answer
            if exc.status == _HEAD_MOVED:
                raise  # translate() made it a GitHubConflictError with GitHub's message
            said = f"{exc.status} {exc.api_message}" if exc.api_message else str(exc.status)
            raise GitHubConflictError(
                f"cannot {action}: GitHub will not merge it now ({said}): a draft, a closed PR, "
                "conflicts, or required checks or reviews not met",
                status=exc.status,
                api_message=exc.api_message,
            ) from None
        return str(data["sha"])

    def _existing_merge(self, number: int, sha: str) -> str | None:
        """The merge commit of PR ``number`` when it is merged with ``sha`` as its head."""
        try:
            pr = self.pull(number)
        except GitHubError:
            return None  # the refusal that brought us here is the error to show
        if pr is None or pr.state is not PrState.MERGED or pr.head_sha != sha:
            return None
        return pr.merge_commit_sha

    # -- branches --------------------------------------------------------------------------

    def branch_sha(self, branch: str) -> str | None:
        try:
            data = self._request(
                "GET",
                f"/git/ref/heads/{quote(branch)}",
                action=f"read branch {branch}",
                permission=_CONTENTS_READ,
            )
        except GitHubNotFoundError:
            return None
        return str(data["object"]["sha"])

    def our_branches(self) -> list[str]:
        with self._calling(f"list the {BRANCH_PREFIX} branches", _CONTENTS_READ):
            repo = self._github.get_repo(self.repo.full_name)
            names = [ref.ref for ref in repo.get_git_matching_refs(f"heads/{BRANCH_PREFIX}")]
        ours = _HEADS + BRANCH_PREFIX
        return [name.removeprefix(_HEADS) for name in names if name.startswith(ours)]

    def branch_commits(self, base_sha: str, branch: str) -> list[BranchCommit]:
        data = self._request(
            "GET",
            f"/compare/{quote(base_sha)}...{quote(branch)}",
            params={"per_page": 100},
            action=f"compare {branch} with its base",
            permission=_CONTENTS_READ,
        )
        return [
            BranchCommit(
                sha=str(item["sha"]),
                login=(item.get("author") or {}).get("login"),
                author_email=str(item["commit"]["author"]["email"]),
                committer_email=str(item["commit"]["committer"]["email"]),
            )
            for item in data["commits"]
        ]

    def set_branch(self, branch: str, sha: str, *, force: bool) -> None:
        action = f"move branch {branch}"
        if self.branch_sha(branch) is None:
            try:
                self._request(
                    "POST",
                    "/git/refs",
                    body={"ref": f"refs/heads/{branch}", "sha": sha},
                    action=f"create branch {branch}",
                    permission=_CONTENTS_WRITE,
                )
                return
            except GitHubConflictError as exc:
                if "already exists" not in (exc.api_message or ""):
                    raise  # else: created meanwhile (a crashed run's retry): move it
        self._request(
            "PATCH",
            f"/git/refs/heads/{quote(branch)}",
            body={"sha": sha, "force": force},
            action=action,
            permission=_CONTENTS_WRITE,
        )

    # -- the Git Database API --------------------------------------------------------------

    def create_blob(self, content: bytes) -> str:
        data = self._request(
            "POST",
            "/git/blobs",
            body={"content": base64.b64encode(content).decode("ascii"), "encoding": "base64"},
            action="upload a file",
            permission=_CONTENTS_WRITE,
        )
        return str(data["sha"])

    def commit_tree(self, commit_sha: str) -> str:
        data = self._request(
            "GET",
            f"/git/commits/{quote(commit_sha)}",
            action=f"read commit {commit_sha[:12]}",
            permission=_CONTENTS_READ,
        )
        return str(data["tree"]["sha"])

    def create_tree(self, base_tree: str, entries: Sequence[TreeEntry]) -> str:
        tree = [
            {"path": entry.path, "mode": entry.mode, "type": "blob", "sha": entry.sha}
            for entry in entries
        ]
        data = self._request(
            "POST",
            "/git/trees",
            body={"base_tree": base_tree, "tree": tree},
            action="write a tree",
            permission=_CONTENTS_WRITE,
        )
        return str(data["sha"])

    def create_commit(self, message: str, tree: str, parents: Sequence[str]) -> str:
        data = self._request(
            "POST",
            "/git/commits",
            body={"message": message, "tree": tree, "parents": list(parents)},
            action="write a commit",
            permission=_CONTENTS_WRITE,
        )
        return str(data["sha"])


def _iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None
