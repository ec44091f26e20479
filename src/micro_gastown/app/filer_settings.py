"""The PR filer's settings: what a face gives, over the environment, over the defaults.

GitHub Actions sets ``GITHUB_REPOSITORY``, ``GITHUB_API_URL`` and ``GITHUB_SERVER_URL`` for
every job, and a workflow passes its token as ``GITHUB_TOKEN``: those are read as they are,
so the Action needs no glue. ``MICRO_GASTOWN_*`` names win over them (a token of a GitHub
App or a fine-grained PAT in ``MICRO_GASTOWN_GITHUB_TOKEN``, say, beside the workflow's own).
The token is a :class:`~pydantic.SecretStr`: never in a repr, a log line or an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from micro_gastown.errors import ConfigError, UsageError
from micro_gastown.github.api import GitHubApi
from micro_gastown.github.boundary import is_loopback
from micro_gastown.github.hygiene import Limits
from micro_gastown.github.model import RepoRef

__all__ = ["GITHUB_SETTINGS", "CommitVia", "FilerSettings", "open_github", "resolve_filer_settings"]


class CommitVia(StrEnum):
    """How the branch's commit is made."""

    GIT = "git"
    """``git push`` from the runner's checkout, over HTTPS with the token."""
    API = "api"
    """GitHub's Git Database API: GitHub makes (and signs) the commit: for repositories
    that require signed commits."""


ENVIRONMENT: Final[Mapping[str, tuple[str, ...]]] = {
    "github_token": ("MICRO_GASTOWN_GITHUB_TOKEN", "GITHUB_TOKEN", "GH_TOKEN"),
    "github_repository": ("MICRO_GASTOWN_GITHUB_REPOSITORY", "GITHUB_REPOSITORY"),
    "github_api_url": ("MICRO_GASTOWN_GITHUB_API_URL", "GITHUB_API_URL"),
    "github_server_url": ("MICRO_GASTOWN_GITHUB_SERVER_URL", "GITHUB_SERVER_URL"),
    "github_login": ("MICRO_GASTOWN_GITHUB_LOGIN",),
    "commit_via": ("MICRO_GASTOWN_COMMIT_VIA",),
    "base_branch": ("MICRO_GASTOWN_BASE_BRANCH",),
    "reviewers": ("MICRO_GASTOWN_REVIEWERS",),
    "max_open": ("MICRO_GASTOWN_MAX_OPEN",),
    "max_new": ("MICRO_GASTOWN_MAX_NEW",),
    "watch_days": ("MICRO_GASTOWN_WATCH_DAYS",),
    "commit_name": ("MICRO_GASTOWN_COMMIT_NAME",),
    "commit_email": ("MICRO_GASTOWN_COMMIT_EMAIL",),
    "grafana_url": ("GRAFANA_URL",),
    "grafana_datasource": ("GRAFANA_LOKI_DATASOURCE_UID",),
}
"""Each setting's variables, the first one set wins."""

GITHUB_SETTINGS: Final = (
    "github_repository",
    "github_login",
    "github_api_url",
    "github_server_url",
    "grafana_url",
    "grafana_datasource",
    "commit_via",
)
"""Where GitHub is, who we are on it, Grafana for links, how a commit is made: what every
face that writes to GitHub lets its user give (the CLI's GitHub flags)."""

_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
"""A GitHub user login (reviewers are people: teams are asked for differently)."""


_BRANCH_NAME: Final = re.compile(r"(?!-)(?!.*\.\.)(?!.*//)[A-Za-z0-9._/-]{1,200}(?<![./])")


class FilerSettings(BaseModel):
    """Where and how to file. None means "not set": the filer says which one it needs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    github_token: SecretStr | None = None
    github_repository: str | None = Field(None, description="owner/name")
    github_api_url: str = "https://api.github.com"
    github_server_url: str = "https://github.com"
    github_login: str | None = Field(
        None, description="Our GitHub login (the PR author); None: asked of GitHub"
    )
    commit_via: CommitVia = CommitVia.GIT
    base_branch: str | None = None
    reviewers: tuple[str, ...] = ()
    max_open: int = Field(3, ge=0, le=100)
    max_new: int = Field(1, ge=0, le=100)
    watch_days: int = Field(7, ge=0, le=365)
    commit_name: str = Field("micro-gastown", min_length=1, max_length=100)
    commit_email: str = Field(
        "micro-gastown@users.noreply.github.com", min_length=3, max_length=200
    )
    grafana_url: str | None = None
    grafana_datasource: str | None = None

    def limits(self) -> Limits:
        """The hygiene rules' limits these settings give."""
        return Limits(max_open=self.max_open, max_new=self.max_new, watch_days=self.watch_days)

    @field_validator("reviewers", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("reviewers", mode="after")
    @classmethod
    def _logins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        logins = tuple(login.removeprefix("@") for login in value)
        for login in logins:
            if not _LOGIN.match(login):
                raise ValueError(f"{login!r} is not a GitHub login")
        return logins

    @field_validator(
        "github_token", "github_repository", "github_login", "base_branch", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str):
            # A token read from a file keeps its newline, which no HTTP header may hold.
            return value.strip() or None
        return value

    @field_validator("base_branch", mode="after")
    @classmethod
    def _branch_name(cls, value: str | None) -> str | None:
        # It reaches git's argv and GitHub's URLs: a plain branch name, never an option
        # or a path that climbs.
        if value is not None and not _BRANCH_NAME.fullmatch(value):
            raise ValueError("expected a branch name such as main (letters, digits, . _ - /)")
        return value

    @field_validator("github_repository", mode="after")
    @classmethod
    def _owner_name(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                RepoRef.parse(value)
            except ConfigError as exc:
                raise ValueError(exc.reason) from None
        return value

    @field_validator("github_api_url", "github_server_url", mode="after")
    @classmethod
    def _https(cls, value: str) -> str:
        """The token travels to these: over HTTPS, or plain HTTP to this machine only (the
        client's own rule, :func:`micro_gastown.github.client.check_api_url`, said here so
        the error names the variable that set the URL)."""
        parts = urlsplit(value)
        local = parts.scheme == "http" and is_loopback(parts.hostname or "")
        if not parts.hostname or not (parts.scheme == "https" or local):
            raise ValueError(
                "expected an https:// URL (plain http only to this machine: the token "
                "is sent with every request)"
            )
        return value.rstrip("/")


def resolve_filer_settings(given: Mapping[str, Any], environ: Mapping[str, str]) -> FilerSettings:
    """``given`` (None: not given) over ``environ`` over the defaults. A bad value is a
    UsageError naming the setting, or the variable that set it."""
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for name, variables in ENVIRONMENT.items():
        for variable in variables:
            if environ.get(variable, "").strip():
                values[name] = environ[variable]
                origin[name] = variable
                break
    for name, value in given.items():
        if value is not None:
            values[name] = value
            origin.pop(name, None)
    try:
        return FilerSettings(**values)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "settings"
        why = str(error["msg"]).removeprefix("Value error, ")
        if name == "github_token":
            raise UsageError(f"the GitHub token: {why}", setting=origin.get(name)) from None
        value = values.get(name)
        # An unknown name may be a misspelt token: only a known setting's value is shown.
        known = name in FilerSettings.model_fields
        shown = value if known and isinstance(value, str | int) else None
        raise UsageError(why, setting=origin.get(name, name), value=shown) from None


def open_github(settings: FilerSettings) -> GitHubApi | None:
    """The GitHub client the settings describe, or None without a token and repository."""
    if settings.github_token is None or settings.github_repository is None:
        return None
    from micro_gastown.github.client import GitHubClient  # PyGithub loads slowly: only here

    return GitHubClient(
        api_url=settings.github_api_url,
        repo=RepoRef.parse(settings.github_repository, setting="github_repository"),
        token=settings.github_token.get_secret_value(),
    )
