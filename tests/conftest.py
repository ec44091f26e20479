"""Settings for the whole test session."""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """No test may call a real model: with this set, the Anthropic backend refuses any call
    to api.anthropic.com before opening a socket (a cassette or the local fake is fine).
    Set in the environment, so subprocesses the tests start inherit it."""
    os.environ["MICRO_GASTOWN_NO_LIVE_LLM"] = "1"
