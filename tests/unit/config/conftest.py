"""Fixtures for the config tests: a writable copy of the shipped polecats, formulas and
schemas, and a way to break one file of it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

Edit = Callable[[Path, str, str], Path]


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A configuration directory holding a copy of every shipped file."""
    root = tmp_path / "config"
    for sub in ("polecats", "formulas", "schemas"):
        shutil.copytree(ROOT / sub, root / sub)
    return root


@pytest.fixture
def edit() -> Edit:
    """Replace the first ``old`` in a file by ``new``; fails loudly if ``old`` is absent, so a
    test cannot pass because its edit silently did nothing."""

    def replace(path: Path, old: str, new: str) -> Path:
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        return path

    return replace
