"""Where configuration lives, and the names files may refer to each other by.

A configuration directory has up to three sub-directories: ``polecats/<name>.toml``,
``formulas/<name>.formula.toml`` and ``schemas/<Name>.json``. The repository ships one
(:data:`BUNDLED_ROOT`); a user's directory has the same layout and may add files or
override shipped ones: the same relative path in a later directory wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationInfo

from micro_gastown.analysis.settings import BUNDLED_ROOT

if TYPE_CHECKING:
    from micro_gastown.config.skill import Inputs

__all__ = [
    "BUNDLED_ROOT",
    "FORMULAS_DIR",
    "FORMULA_SUFFIX",
    "POLECATS_DIR",
    "SCHEMAS_DIR",
    "References",
    "config_files",
    "formula_name",
    "layout_root",
    "references_of",
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
    files: dict[str, Path] = {}
    for root in dirs:
        for sub, pattern in _PATTERNS.items():
            folder = root / sub
            if folder.is_dir():
                for path in sorted(folder.glob(pattern)):
                    if path.is_file():
                        files[f"{sub}/{path.name}"] = path
    return files


@dataclass(frozen=True)
class References:
    """The names a file may refer to: polecats and schemas by file stem, skill formulas by
    name with their ``[input]`` table (``None`` when that table itself is broken: a
    reference to the skill is then not checked further, its own problems say why).

    Passed to pydantic as validation context; a model validated without it skips the
    cross-file checks.
    """

    polecats: frozenset[str] = frozenset()
    schemas: frozenset[str] = frozenset()
    skills: Mapping[str, Inputs | None] = field(default_factory=dict)
    workflows: frozenset[str] = frozenset()


def references_of(info: ValidationInfo) -> References | None:
    """The References a model is being validated against, if any."""
    context = info.context
    refs = context.get("refs") if isinstance(context, dict) else None
    return refs if isinstance(refs, References) else None
