"""The ``github_server`` fixture's value and its set-up, shared by the GitHub suites.

:func:`serving` starts a fresh :class:`~.sim.GitHubSim` over a new bare repository, with
the OpenAPI contract check on; leaving it fails the test when the check (or the sim) found
a problem. ``tests/integration/github/conftest.py`` wraps it as the ``github_server``
fixture; other suites may call it directly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from micro_gastown.github.client import GitHubClient
from micro_gastown.github.model import RepoRef

from .contract import SPEC_MISSING, SPEC_PATH, Contract
from .sim import GitHubSim

__all__ = ["GitHubServer", "serving"]


@dataclass
class GitHubServer:
    """What a test gets: the running sim and how to reach it."""

    sim: GitHubSim
    api_url: str
    """PyGithub's base_url: ``http://127.0.0.1:PORT/api/v3``."""
    clone_url: str
    """``http://127.0.0.1:PORT/acme/agents.git``: git smart HTTP, Basic auth with a token
    as password."""
    repo: RepoRef
    tokens: dict[str, str]
    """login → token: ``alice``, ``bob`` (human PATs, collaborators), ``micro-gastown[bot]``
    and ``github-actions[bot]`` (installation tokens: GET /user answers 403), ``mallory``
    (not a collaborator), ``reader`` (read-only: every write answers 403), ``acme`` (the
    owner organisation)."""
    contract: Contract

    def client(self, login: str = "alice", **settings: Any) -> GitHubClient:
        """A GitHubClient as ``login``, with tiny waits (override any setting)."""
        values: dict[str, Any] = {
            "timeout_s": 10.0,
            "retries": 3,
            "backoff_s": 0.01,
            "max_wait_s": 5.0,
            "write_interval_s": 0.0,
        }
        values.update(settings)
        return GitHubClient(
            repo=self.repo, token=self.tokens[login], api_url=self.api_url, **values
        )


@contextmanager
def serving(
    root: Path, monkeypatch: pytest.MonkeyPatch, seed: Path | None = None
) -> Iterator[GitHubServer]:
    """A started sim under ``root`` (git isolated from the user's config), stopped and
    checked on leaving. Skips the test when GitHub's OpenAPI description is absent (fails
    it under ``CI=true``: CI always has it)."""
    if not SPEC_PATH.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(SPEC_MISSING + " (CI must provide it)")
        pytest.skip(SPEC_MISSING)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("HOME", str(root))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(root))
    contract = Contract()
    sim = GitHubSim(root / "github", seed=seed, contract=contract)
    with sim:
        yield GitHubServer(
            sim=sim,
            api_url=sim.api_url,
            clone_url=sim.clone_url,
            repo=RepoRef(sim.owner_login, sim.name),
            tokens={login: account.token for login, account in sim.accounts.items()},
            contract=contract,
        )
    problems = [*contract.mismatches, *sim.errors]
    if problems:
        pytest.fail(
            f"githubsim: {len(problems)} problem(s) with GitHub's contract or the sim:\n"
            + "\n".join(problems),
            pytrace=False,
        )
