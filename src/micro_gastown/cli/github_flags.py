"""The GitHub flags every command that writes to GitHub shares (``file-pr``,
``rollback-check``): where GitHub is, who we are on it, Grafana for the links, and how a
commit is made. The token is never a flag: it is read from the environment only."""

from __future__ import annotations

from typing import Any, Final

from micro_gastown.app.filer_settings import GITHUB_SETTINGS

GITHUB_FLAGS: Final = (
    ("--github-repository", "OWNER/NAME", "the repository (default: $GITHUB_REPOSITORY)"),
    ("--github-login", "LOGIN", "our GitHub login, the PRs' author (default: asked of GitHub; "
     "github-actions[bot] for the workflow token)"),
    ("--github-api-url", "URL", "the REST API (default: $GITHUB_API_URL or api.github.com)"),
    ("--github-server-url", "URL", "where git pushes (default: $GITHUB_SERVER_URL or github.com)"),
    ("--grafana-url", "URL", "Grafana for the Explore links (default: $GRAFANA_URL)"),
    ("--grafana-datasource", "UID", "its Loki datasource (default: $GRAFANA_LOKI_DATASOURCE_UID)"),
)  # fmt: skip

GITHUB_KEYS: Final = GITHUB_SETTINGS
"""The settings those flags (and ``--commit-via``) set: their ``argparse`` dests."""


def add_github_flags(group: Any, *, commit_via_help: str) -> None:
    """The shared flags into ``group`` (an argparse group), ``--commit-via`` with the
    command's own words for it."""
    for flag, metavar, text in GITHUB_FLAGS:
        group.add_argument(flag, metavar=metavar, help=text)
    group.add_argument("--commit-via", choices=("git", "api"), help=commit_via_help)
