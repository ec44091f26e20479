"""Settings for the whole test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    """No test may call a real model: with this set, the Anthropic backend refuses any call
    to api.anthropic.com before opening a socket (a cassette or the local fake is fine).
    Set in the environment, so subprocesses the tests start inherit it."""
    os.environ["MICRO_GASTOWN_NO_LIVE_LLM"] = "1"
    # refine makes git worktrees, which register in the repository's own .git: git may not
    # find this repository from below its top, so a test that refines the bundled sample in
    # place (instead of a copy: micro_gastown.testing.demo_refine.demo_checkout) fails with
    # "not inside a git work tree" rather than write outside its temporary directory.
    os.environ["GIT_CEILING_DIRECTORIES"] = str(CHECKOUT)
    # No test may reach GitHub with the machine's own token (a CI job has GITHUB_TOKEN and
    # GITHUB_REPOSITORY set): the GitHub tests set what they use, pointing at githubsim.
    for name in list(os.environ):
        if name.startswith(("GITHUB_", "GH_", "MICRO_GASTOWN_GITHUB_")) or name in (
            "MICRO_GASTOWN_COMMIT_VIA",
            "GRAFANA_URL",
            "GRAFANA_LOKI_DATASOURCE_UID",
        ):
            del os.environ[name]
