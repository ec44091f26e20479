"""Polecats, formulas and output schemas: loading, cross-checking and validating them.

::

    files.py         reading only regular files (never a FIFO, a loop, a dangling link)
    problems.py      Problem (path: where: message); TOML and pydantic errors → problems
    layout.py        polecats/ formulas/ schemas/ in layered directories; References
    schemas.py       schemas/*.json: draft-07, every $ref local and resolving
    polecat.py       Polecat and load_polecat
    skill.py         SkillFormula (formulas/<skill>.formula.toml) and input binding
    dag.py           DagFormula (Gas Town/Beads), graph checks, topological_order
    placeholders.py  {{var}} substitution and step conditions
    formula.py       load_formula for either form, plus the engine's helpers
    configset.py     ConfigSet / load_config: everything, cross-checked
    validate.py      validate_dirs: every problem at once
"""

from __future__ import annotations

from micro_gastown.config.configset import ConfigSet, collect_config, load_config
from micro_gastown.config.dag import DagFormula, DagStep, VarSpec, resolve_vars, topological_order
from micro_gastown.config.formula import Formula, load_formula
from micro_gastown.config.placeholders import evaluate_condition, parse_condition, substitute
from micro_gastown.config.polecat import Polecat, load_polecat
from micro_gastown.config.problems import Problem
from micro_gastown.config.skill import InputSpec, SkillFormula
from micro_gastown.config.validate import validate_dirs

__all__ = [
    "ConfigSet",
    "DagFormula",
    "DagStep",
    "Formula",
    "InputSpec",
    "Polecat",
    "Problem",
    "SkillFormula",
    "VarSpec",
    "collect_config",
    "evaluate_condition",
    "load_config",
    "load_formula",
    "load_polecat",
    "parse_condition",
    "resolve_vars",
    "substitute",
    "topological_order",
    "validate_dirs",
]
