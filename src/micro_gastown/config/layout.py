"""Where configuration lives, and the names files may refer to each other by.

A configuration directory has up to three sub-directories: ``polecats/<name>.toml``,
``formulas/<name>.formula.toml`` and ``schemas/<Name>.json``. The package ships one
(:func:`~micro_gastown.bundled.bundled_root`); a user's directory has the same layout and
may add files or override shipped ones: the same relative path in a later directory wins.
A name that matches but is no regular file (a dangling symlink, a loop, a directory, a
FIFO) is not used and is a problem (:func:`unusable_entries`), never skipped in silence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import ValidationInfo

from micro_gastown.config.files import not_a_directory, not_a_file
from micro_gastown.config.problems import Problem

__all__ = [
    "FORMULAS_DIR",
    "FORMULA_SUFFIX",
    "POLECATS_DIR",
    "SCHEMAS_DIR",
    "References",
    "config_files",
    "formula_name",
    "layout_root",
    "references_of",
    "unusable_entries",
]

POLECATS_DIR = "polecats"
FORMULAS_DIR = "formulas"
SCHEMAS_DIR = "schemas"
FORMULA_SUFFIX = ".formula.toml"

_PATTERNS = {POLECATS_DIR: "*.toml", FORMULAS_DIR: f"*{FORMULA_SUFFIX}", SCHEMAS_DIR: "*.json"}


def formula_name(path: Path) -> str:
    """``formulas/file-pr.formula.toml`` → ``file-pr``."""
    return path.name.removesuffix(FORMULA_SUFFIX)


def layout_root(path: Path) -> Path:
    """The configuration directory a polecat, formula or schema file sits in."""
    return path.resolve().parent.parent


def config_files(dirs: Sequence[Path]) -> dict[str, Path]:
    """The effective files of layered directories, by relative path (later dirs win)."""
    return _entries(dirs)[0]


def unusable_entries(dirs: Sequence[Path]) -> list[Problem]:
    """Every ``polecats/``, ``formulas/`` or ``schemas/`` that is no directory and every
    matching name in them that is no regular file, each a problem saying what it is."""
    return _entries(dirs)[1]


def _entries(dirs: Sequence[Path]) -> tuple[dict[str, Path], list[Problem]]:
    files: dict[str, Path] = {}
    problems: list[Problem] = []
    for root in dirs:
        if not root.is_dir():
            continue  # validate_dirs reports the directory itself
        for sub, pattern in _PATTERNS.items():
            folder = root / sub
            if not folder.is_dir():
                why = not_a_directory(folder) if folder.is_symlink() or folder.exists() else None
                if why is not None:
                    problems.append(Problem(folder, "", why))
                continue
            for path in sorted(folder.glob(pattern)):
                why = not_a_file(path)  # stat only: a FIFO is never opened
                if why is None:
                    files[f"{sub}/{path.name}"] = path
                else:
                    problems.append(Problem(path, "", why))
    return files, problems


SkillInputs = TypeVar("SkillInputs")
"""What a skill formula's ``[input]`` table reads as (``config.skill.Inputs``)."""


@dataclass(frozen=True)
class References(Generic[SkillInputs]):
    """The names a file may refer to: polecats and schemas by file stem, skill formulas by
    name with their ``[input]`` table (``None`` when that table itself is broken: a
    reference to the skill is then not checked further, its own problems say why).

    Passed to pydantic as validation context; a model validated without it skips the
    cross-file checks.
    """

    polecats: frozenset[str] = frozenset()
    schemas: frozenset[str] = frozenset()
    skills: Mapping[str, SkillInputs | None] = field(default_factory=dict)
    workflows: frozenset[str] = frozenset()


def references_of(info: ValidationInfo) -> References[Any] | None:
    """The References a model is being validated against, if any."""
    context = info.context
    refs = context.get("refs") if isinstance(context, dict) else None
    return refs if isinstance(refs, References) else None
