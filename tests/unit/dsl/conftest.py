"""Fixtures for the DSL reader tests: small checkouts written from inline Haskell."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data" / "dsl"
SAMPLE = Path(__file__).resolve().parents[3] / "examples" / "exomonad-sample"

WriteRepo = Callable[[Mapping[str, str]], Path]


@pytest.fixture
def write_repo(tmp_path: Path) -> WriteRepo:
    """Write ``{relative path: source}`` under a fresh repo root and return the root.

    Sources are written verbatim, so line 1 is the first line of the string literal.
    """

    def write(files: Mapping[str, str]) -> Path:
        root = tmp_path / "repo"
        for relative, text in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return root

    return write


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def sample_repo() -> Path:
    return SAMPLE
