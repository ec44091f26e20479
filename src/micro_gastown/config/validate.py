"""``micro-gastown validate``'s check: every problem in layered configuration directories.

Unlike the loaders, which raise on the first file that is wrong, this collects every
problem of every polecat, formula and schema, so one run lists them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from micro_gastown.config.configset import collect_config
from micro_gastown.config.files import not_a_directory
from micro_gastown.config.layout import (
    FORMULAS_DIR,
    POLECATS_DIR,
    SCHEMAS_DIR,
    config_files,
    unusable_entries,
)
from micro_gastown.config.problems import Problem

_LAYOUT = (POLECATS_DIR, FORMULAS_DIR, SCHEMAS_DIR)


def validate_dirs(dirs: Sequence[Path]) -> list[Problem]:
    """All problems of ``dirs`` taken together (later directories override earlier files)."""
    problems: list[Problem] = []
    for root in dirs:
        if not root.is_dir():
            problems.append(Problem(root, "", _not_a_config_dir(root)))
        elif not any((root / sub).is_dir() for sub in _LAYOUT):
            problems.append(
                Problem(root, "", f"has none of {', '.join(f'{sub}/' for sub in _LAYOUT)}")
            )
    _, found = collect_config(dirs)
    return problems + found


def _not_a_config_dir(root: Path) -> str:
    if not root.exists() and not root.is_symlink():
        return "no such directory"
    return not_a_directory(root) or "not a directory"


def count_files(dirs: Sequence[Path]) -> int:
    """How many files ``validate_dirs`` checks (overridden files count once; entries that
    turned out to be no file count too)."""
    return len(config_files(dirs)) + len(unusable_entries(dirs))
