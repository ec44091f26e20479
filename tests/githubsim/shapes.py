"""GitHub's JSON objects as the sim sends them.

Each starts from :func:`~.contract.schema_template` (every property the description
requires, with a placeholder) and sets what the sim knows for real: ids, URLs pointing back
at the sim (PyGithub follows them), states, dates, shas. The contract check then holds each
one to the schema of the operation that sends it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from .contract import schema_template
from .gitstore import CommitInfo, GitStore, TreeItem
from .state import Account, AccountKind, Comment, Label, Pull, now_iso

__all__ = ["Urls"]

_CREATED = "2020-01-01T00:00:00Z"


def _node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0:{kind}{number}".encode()).decode()


@dataclass(frozen=True)
class Urls:
    """Where things live: ``api`` is PyGithub's base_url, ``web`` the html side."""

    api: str
    web: str
    owner: str
    name: str

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def repo_api(self) -> str:
        return f"{self.api}/repos/{self.full_name}"

    @property
    def repo_web(self) -> str:
        return f"{self.web}/{self.full_name}"


def user(urls: Urls, account: Account) -> dict[str, Any]:
    api = f"{urls.api}/users/{account.login}"
    return {
        **schema_template("simple-user"),
        "login": account.login,
        "id": account.id,
        "node_id": _node_id("User", account.id),
        "avatar_url": f"{urls.web}/avatars/u/{account.id}",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{urls.web}/{account.login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": account.kind.value,
        "site_admin": False,
        "user_view_type": "public",
    }


def private_user(urls: Urls, account: Account) -> dict[str, Any]:
    """``GET /user``: the token's own account."""
    return {
        **schema_template("private-user"),
        **user(urls, account),
        "name": account.name,
        "email": account.email if account.kind is AccountKind.USER else None,
        "created_at": _CREATED,
        "updated_at": _CREATED,
        "user_view_type": "private",
    }


def label(urls: Urls, item: Label) -> dict[str, Any]:
    return {
        "id": item.id,
        "node_id": _node_id("Label", item.id),
        "url": f"{urls.repo_api}/labels/{item.name}",
        "name": item.name,
        "description": item.description,
        "color": item.color,
        "default": False,
    }


def repository(urls: Urls, owner: Account, default_branch: str, *, full: bool) -> dict[str, Any]:
    api = urls.repo_api
    named = {
        name: f"{api}/{name.removesuffix('_url')}"
        for name in (
            "forks_url",
            "teams_url",
            "hooks_url",
            "events_url",
            "tags_url",
            "languages_url",
            "stargazers_url",
            "contributors_url",
            "subscribers_url",
            "subscription_url",
            "merges_url",
            "downloads_url",
            "deployments_url",
        )
    }
    templated = {
        "keys_url": "keys{/key_id}",
        "collaborators_url": "collaborators{/collaborator}",
        "issue_events_url": "issues/events{/number}",
        "assignees_url": "assignees{/user}",
        "branches_url": "branches{/branch}",
        "blobs_url": "git/blobs{/sha}",
        "git_tags_url": "git/tags{/sha}",
        "git_refs_url": "git/refs{/sha}",
        "trees_url": "git/trees{/sha}",
        "statuses_url": "statuses/{sha}",
        "commits_url": "commits{/sha}",
        "git_commits_url": "git/commits{/sha}",
        "comments_url": "comments{/number}",
        "issue_comment_url": "issues/comments{/number}",
        "contents_url": "contents/{+path}",
        "compare_url": "compare/{base}...{head}",
        "archive_url": "{archive_format}{/ref}",
        "issues_url": "issues{/number}",
        "pulls_url": "pulls{/number}",
        "milestones_url": "milestones{/number}",
        "notifications_url": "notifications{?since,all,participating}",
        "labels_url": "labels{/name}",
        "releases_url": "releases{/id}",
    }
    shape = {
        **schema_template("full-repository" if full else "repository"),
        **named,
        **{name: f"{api}/{path}" for name, path in templated.items()},
        "id": 4242,
        "node_id": _node_id("Repository", 4242),
        "name": urls.name,
        "full_name": urls.full_name,
        "owner": user(urls, owner),
        "private": False,
        "html_url": urls.repo_web,
        "description": "a repository the sim serves",
        "fork": False,
        "url": api,
        "git_url": f"{urls.repo_web}.git".replace("http", "git", 1),
        "ssh_url": f"git@127.0.0.1:{urls.full_name}.git",
        "clone_url": f"{urls.repo_web}.git",
        "svn_url": urls.repo_web,
        "homepage": None,
        "default_branch": default_branch,
        "visibility": "public",
        "created_at": _CREATED,
        "updated_at": _CREATED,
        "pushed_at": now_iso(),
        "has_issues": True,
        "has_wiki": False,
        "archived": False,
        "disabled": False,
        "allow_forking": True,
    }
    if full:
        shape.update(
            network_count=0, subscribers_count=0, license=None, language="Haskell", mirror_url=None
        )
    return shape


def pull(
    urls: Urls,
    item: Pull,
    *,
    accounts: dict[str, Account],
    labels: dict[str, Label],
    owner: Account,
    default_branch: str,
    head_sha: str,
    full: bool,
    git: GitStore,
) -> dict[str, Any]:
    api = f"{urls.repo_api}/pulls/{item.number}"
    issue = f"{urls.repo_api}/issues/{item.number}"
    html = f"{urls.repo_web}/pull/{item.number}"
    repo = repository(urls, owner, default_branch, full=False)
    head_owner = item.head_repo.split("/", 1)[0]
    head_repo = (
        repo
        if item.head_repo == urls.full_name
        else {
            **repo,
            "full_name": item.head_repo,
            "name": item.head_repo.split("/", 1)[1],
            "fork": True,
            "id": 4243,
            "owner": user(urls, accounts[head_owner]),
        }
    )
    shape = {
        **schema_template("pull-request" if full else "pull-request-simple"),
        "url": api,
        "id": item.id,
        "node_id": _node_id("PullRequest", item.id),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": issue,
        "commits_url": f"{api}/commits",
        "review_comments_url": f"{api}/comments",
        "review_comment_url": f"{urls.repo_api}/pulls/comments{{/number}}",
        "comments_url": f"{issue}/comments",
        "statuses_url": f"{urls.repo_api}/statuses/{head_sha}",
        "number": item.number,
        "state": "open" if item.state == "open" else "closed",
        "locked": False,
        "title": item.title,
        "user": user(urls, accounts[item.author]),
        "body": item.body,
        "labels": [label(urls, labels[name]) for name in item.labels],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "closed_at": item.closed_at,
        "merged_at": item.merged_at,
        "merge_commit_sha": item.merge_commit_sha,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [user(urls, accounts[name]) for name in item.reviewers],
        "requested_teams": [],
        "head": {
            "label": f"{head_owner}:{item.head_ref}",
            "ref": item.head_ref,
            "sha": head_sha,
            "user": user(urls, accounts[head_owner]),
            "repo": head_repo,
        },
        "base": {
            "label": f"{urls.owner}:{item.base_ref}",
            "ref": item.base_ref,
            "sha": item.base_sha,
            "user": user(urls, owner),
            "repo": repo,
        },
        "_links": {
            name: {"href": href}
            for name, href in {
                "self": api,
                "html": html,
                "issue": issue,
                "comments": f"{issue}/comments",
                "review_comments": f"{api}/comments",
                "review_comment": f"{urls.repo_api}/pulls/comments{{/number}}",
                "commits": f"{api}/commits",
                "statuses": f"{urls.repo_api}/statuses/{head_sha}",
            }.items()
        },
        "author_association": "MEMBER" if accounts[item.author].collaborator else "NONE",
        "auto_merge": None,
        "draft": item.draft,
    }
    if full:
        ahead = (
            git.commits_between(item.base_sha, head_sha) if item.head_repo == urls.full_name else []
        )
        shape.update(
            merged=item.merged,
            mergeable=None if item.state != "open" else True,
            rebaseable=None,
            mergeable_state="draft" if item.draft else "clean",
            merged_by=user(urls, accounts[item.merged_by]) if item.merged_by else None,
            comments=len(item.comments),
            review_comments=0,
            maintainer_can_modify=False,
            commits=len(ahead),
            additions=0,
            deletions=0,
            changed_files=0,
        )
    return shape


def comment(urls: Urls, item: Comment, number: int, author: Account) -> dict[str, Any]:
    return {
        **schema_template("issue-comment"),
        "id": item.id,
        "node_id": _node_id("IssueComment", item.id),
        "url": f"{urls.repo_api}/issues/comments/{item.id}",
        "html_url": f"{urls.repo_web}/pull/{number}#issuecomment-{item.id}",
        "issue_url": f"{urls.repo_api}/issues/{number}",
        "body": item.body,
        "user": user(urls, author),
        "created_at": item.created_at,
        "updated_at": item.created_at,
        "author_association": "MEMBER" if author.collaborator else "NONE",
    }


def merge_result(sha: str) -> dict[str, Any]:
    """``PUT .../pulls/{n}/merge``'s answer to a merge made."""
    return {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}


def git_person(person: Any) -> dict[str, str]:
    return {"name": person.name, "email": person.email, "date": person.date}


def git_commit(urls: Urls, info: CommitInfo, *, verified: bool) -> dict[str, Any]:
    api = f"{urls.repo_api}/git/commits/{info.sha}"
    return {
        "sha": info.sha,
        "node_id": _node_id("Commit", int(info.sha[:7], 16)),
        "url": api,
        "html_url": f"{urls.repo_web}/commit/{info.sha}",
        "author": git_person(info.author),
        "committer": git_person(info.committer),
        "message": info.message.rstrip("\n"),
        "tree": {"sha": info.tree, "url": f"{urls.repo_api}/git/trees/{info.tree}"},
        "parents": [
            {
                "sha": sha,
                "url": f"{urls.repo_api}/git/commits/{sha}",
                "html_url": f"{urls.repo_web}/commit/{sha}",
            }
            for sha in info.parents
        ],
        "verification": {
            "verified": verified,
            "reason": "valid" if verified else "unsigned",
            "signature": "-----BEGIN PGP SIGNATURE-----\nsim\n-----END PGP SIGNATURE-----"
            if verified
            else None,
            "payload": f"tree {info.tree}\n" if verified else None,
            "verified_at": now_iso() if verified else None,
        },
    }


def commit(
    urls: Urls,
    info: CommitInfo,
    *,
    author: Account | None,
    committer: Account | None,
    verified: bool,
) -> dict[str, Any]:
    """One commit as compare and the commits API list it (``author``/``committer``: the
    accounts their emails belong to, None when no account has that email)."""
    inner = git_commit(urls, info, verified=verified)
    api = f"{urls.repo_api}/commits/{info.sha}"
    return {
        **schema_template("commit"),
        "url": api,
        "sha": info.sha,
        "node_id": inner["node_id"],
        "html_url": f"{urls.repo_web}/commit/{info.sha}",
        "comments_url": f"{api}/comments",
        "commit": {
            "url": inner["url"],
            "author": inner["author"],
            "committer": inner["committer"],
            "message": inner["message"],
            "comment_count": 0,
            "tree": inner["tree"],
            "verification": inner["verification"],
        },
        # no account with that email: the description's empty-object (GitHub sends null)
        "author": user(urls, author) if author else {},
        "committer": user(urls, committer) if committer else {},
        "parents": inner["parents"],
    }


def tree(urls: Urls, sha: str, items: list[TreeItem]) -> dict[str, Any]:
    entries = []
    for item in items:
        entry: dict[str, Any] = {
            "path": item.path,
            "mode": item.mode,
            "type": item.type,
            "sha": item.sha,
            "url": f"{urls.repo_api}/git/{item.type}s/{item.sha}",
        }
        if item.size is not None:
            entry["size"] = item.size
        entries.append(entry)
    return {
        "sha": sha,
        "url": f"{urls.repo_api}/git/trees/{sha}",
        "tree": entries,
        "truncated": False,
    }


def ref(urls: Urls, name: str, sha: str) -> dict[str, Any]:
    return {
        "ref": name,
        "node_id": _node_id("Ref", abs(hash(name)) % 10**8),
        "url": f"{urls.repo_api}/git/{name}",
        "object": {"type": "commit", "sha": sha, "url": f"{urls.repo_api}/git/commits/{sha}"},
    }
