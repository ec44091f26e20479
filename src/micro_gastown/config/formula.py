"""Formulas in both forms (see docs/formats.md), loaded from one entry point.

``load_formula(path)`` tells them apart by their first table: a ``[formula]`` table is a
micro-gastown skill formula (:class:`~micro_gastown.config.skill.SkillFormula`), a
top-level ``formula = "name"`` string is a Gas Town/Beads DAG formula
(:class:`~micro_gastown.config.dag.DagFormula`). The pure helpers the engine runs a DAG
with are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from micro_gastown.bundled import bundled_root
from micro_gastown.config.configset import (
    Formula,
    check_formula,
    collect_references,
    formula_form,
)
from micro_gastown.config.dag import DagFormula, DagStep, resolve_vars, topological_order
from micro_gastown.config.layout import layout_root
from micro_gastown.config.placeholders import evaluate_condition, parse_condition, substitute
from micro_gastown.config.problems import problems_error, read_toml
from micro_gastown.config.skill import SkillFormula

__all__ = [
    "DagFormula",
    "DagStep",
    "Formula",
    "SkillFormula",
    "evaluate_condition",
    "formula_form",
    "load_formula",
    "parse_condition",
    "resolve_vars",
    "substitute",
    "topological_order",
]


def load_formula(path: Path, config_dirs: Sequence[Path] | None = None) -> Formula:
    """Load and check one formula file of either form; raises ConfigError naming every
    problem. The polecats, schemas and skill formulas it may refer to are those of
    ``config_dirs`` (default: the repository's, then the directory the file is in)."""
    dirs = list(config_dirs) if config_dirs is not None else [bundled_root(), layout_root(path)]
    document, problems = read_toml(path)
    if document is not None:
        formula, problems = check_formula(path, document, collect_references(dirs))
        if formula is not None:
            return formula
    raise problems_error(problems)
