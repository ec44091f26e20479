"""Fixtures of the GitHub suites: a GitHub-compatible server (githubsim) per test.

``github_server`` (a :class:`githubsim.fixtures.GitHubServer`) starts a fresh
:class:`githubsim.GitHubSim` on 127.0.0.1 over a new bare repository seeded from
``github_seed`` (override that fixture in a module to seed from a directory; the default
is a tiny ``README.md`` + ``src/Graph.hs``). Every request the test makes and every
response the server sends is checked against GitHub's OpenAPI description; any mismatch
(or a server bug) fails the test at teardown. Without the description the test is skipped,
saying why.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from githubsim.fixtures import GitHubServer, serving

__all__ = ["github_seed", "github_server"]


@pytest.fixture
def github_seed() -> Path | None:
    """The directory the repository's first commit holds; None: a tiny default."""
    return None


@pytest.fixture
def github_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, github_seed: Path | None
) -> Iterator[GitHubServer]:
    with serving(tmp_path, monkeypatch, github_seed) as server:
        yield server
