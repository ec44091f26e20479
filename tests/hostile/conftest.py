"""Fixtures of the hostile-input and signal suites: a sandboxed working directory, the
exports the signal tests need, and a formula that only analyzes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from micro_gastown.testing.synthetic import generate_export

from .processes import clean_env

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_REPO = ROOT / "examples" / "exomonad-sample"

BLOCK_LINES = 100_000
"""Lines of the synthetic block (~30 MiB): long enough to signal one process mid-read."""
BIG_EXPORT_BLOCKS = 5
"""Copies of the block in the big export (~150 MiB): two parts of at least 64 MiB, the
smallest a plain export is split into (``AnalysisSettings.min_part_bytes``)."""

ANALYZE_ONLY = """
formula = "hostile"
description = "Analyze the whole export, once (the hostile-input and signal suites)."
version = 1

[vars.since]
default = "2000-01-01T00:00:00Z"

[[steps]]
id = "analyze"
title = "Analyze the export"
skill = "analyze"

[steps.with]
since = "{{since}}"
"""
"""A formula whose run completes (exit 0) when its one analyze step does: the shipped
``evolve`` formula always ends incomplete, since refine is not built."""


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tmp_path`` as the working directory and HOME, with none of the tool's settings or
    credentials in the environment: an in-process run sees what a subprocess would."""
    monkeypatch.chdir(tmp_path)
    wanted = clean_env(tmp_path)
    for name in [name for name in os.environ if name not in wanted]:
        monkeypatch.delenv(name)
    for name, value in wanted.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "in").mkdir()
    return tmp_path


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of a subprocess of the tool (HOME is the test's directory)."""
    return clean_env(tmp_path, MICRO_GASTOWN_JOBS="1")


@pytest.fixture
def analyze_only(tmp_path: Path) -> Path:
    """A ``--config-dir`` holding the ``hostile`` formula (see :data:`ANALYZE_ONLY`)."""
    config = tmp_path / "config"
    (config / "formulas").mkdir(parents=True)
    (config / "formulas" / "hostile.formula.toml").write_text(ANALYZE_ONLY)
    return config


@pytest.fixture
def sample_repo(tmp_path: Path) -> Path:
    """A writable copy of the bundled DSL checkout."""
    return Path(shutil.copytree(SAMPLE_REPO, tmp_path / "repo"))


@pytest.fixture(scope="session")
def export_block(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~30 MiB synthetic export: a single process reads it for a few seconds."""
    path = tmp_path_factory.mktemp("exports") / "block.jsonl"
    generate_export(path, lines=BLOCK_LINES, seed=11)
    return path


@pytest.fixture(scope="session")
def big_export(export_block: Path) -> Path:
    """A ~150 MiB export (the block repeated, each copy moved to another month so time
    still runs forward), which ``--jobs 2`` splits into two parts."""
    block = export_block.read_bytes()
    path = export_block.with_name("big.jsonl")
    with path.open("wb") as out:
        for month in range(1, BIG_EXPORT_BLOCKS + 1):
            out.write(block.replace(b'"timestamp":"2026-11-', b'"timestamp":"2026-%02d-' % month))
    assert path.stat().st_size >= 2 * 64 * 1024 * 1024, "too small to be split in two"
    return path
