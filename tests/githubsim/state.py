"""What the sim remembers besides git objects: accounts, pull requests, labels, comments."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

__all__ = ["Account", "AccountKind", "Comment", "Label", "Pull", "now_iso"]

_ids = itertools.count(1000)


def next_id() -> int:
    return next(_ids)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AccountKind(StrEnum):
    USER = "User"
    BOT = "Bot"
    ORGANIZATION = "Organization"


@dataclass
class Account:
    """A login and the token that acts as it.

    ``installation`` marks a GitHub App installation token (or the workflow's
    ``GITHUB_TOKEN``): GitHub refuses ``GET /user`` to those. ``read_only`` tokens get 403
    "Resource not accessible" on every write, as a token without the permission does."""

    login: str
    token: str
    kind: AccountKind = AccountKind.USER
    installation: bool = False
    read_only: bool = False
    collaborator: bool = True
    email: str = ""
    name: str = ""
    id: int = field(default_factory=next_id)

    def __post_init__(self) -> None:
        self.email = self.email or f"{self.id}+{self.login}@users.noreply.github.com"
        self.name = self.name or self.login


@dataclass
class Label:
    name: str
    color: str = "ededed"
    description: str = ""
    """Never None: the pull-request schemas type a label's description as a string."""
    id: int = field(default_factory=next_id)


@dataclass
class Comment:
    body: str
    author: str
    created_at: str = field(default_factory=now_iso)
    id: int = field(default_factory=next_id)


@dataclass
class Pull:
    number: int
    title: str
    body: str | None
    head_ref: str
    base_ref: str
    head_sha: str
    """Frozen when the PR closes; while open the branch's current head is shown."""
    base_sha: str
    author: str
    head_repo: str
    """``owner/name`` the head branch lives in (another repository for a fork's PR)."""
    draft: bool = False
    state: str = "open"
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    closed_at: str | None = None
    merged_at: str | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    labels: list[str] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    id: int = field(default_factory=next_id)

    @property
    def merged(self) -> bool:
        return self.merged_at is not None

    def touch(self) -> None:
        self.updated_at = now_iso()
