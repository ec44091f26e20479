"""Fixtures the refine tests share: the demo checkout, built once per module, and a cheap
clone of it per test."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from refine_support import DemoBase, Workspace, demo_base


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoBase]:
    with demo_base(tmp_path_factory.mktemp("demo")) as base:
        yield base


@pytest.fixture
def ws(demo: DemoBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """This test's clone of the demo checkout; refine's worktrees go to ``ws.area``."""
    workspace = demo.workspace(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(workspace.area))
    return workspace
