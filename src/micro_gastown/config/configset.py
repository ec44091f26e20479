"""Every polecat, formula and schema of layered configuration directories, cross-checked.

:func:`load_config` is what a command calls before it runs anything: it loads the
repository's shipped files plus any user directories (same layout; the same relative path
in a later directory replaces the earlier file), checks every reference between them
(formula → polecat, formula → schema, polecat → schema, DAG step → skill formula and its
inputs) and raises one ConfigError listing every problem. :func:`collect_config` returns
the problems instead, for ``micro-gastown validate``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from micro_gastown.bundled import bundled_root
from micro_gastown.config.dag import DagFormula, check_dag
from micro_gastown.config.layout import (
    FORMULA_SUFFIX,
    FORMULAS_DIR,
    POLECATS_DIR,
    SCHEMAS_DIR,
    References,
    config_files,
    formula_name,
    unusable_entries,
)
from micro_gastown.config.polecat import Polecat, check_polecat
from micro_gastown.config.problems import Problem, problems_error, read_toml
from micro_gastown.config.schemas import load_schema
from micro_gastown.config.skill import Inputs, SkillFormula, check_skill, inputs_of
from micro_gastown.errors import ConfigError

Formula = SkillFormula | DagFormula
T = TypeVar("T")
FormulaForm = Literal["skill", "dag"]


def formula_form(path: Path, document: dict[str, Any]) -> tuple[FormulaForm | None, list[Problem]]:
    """Which form a parsed formula file is in, or the problem saying it is neither."""
    marker = document.get("formula")
    if isinstance(marker, dict):
        return "skill", []
    if isinstance(marker, str):
        return "dag", []
    return None, [
        Problem(
            path,
            "formula",
            'expected a [formula] table (skill formula) or formula = "name" (DAG formula)',
        )
    ]


def check_formula(
    path: Path, document: dict[str, Any], refs: References[Inputs]
) -> tuple[Formula | None, list[Problem]]:
    form, problems = formula_form(path, document)
    if form == "skill":
        return check_skill(path, document, refs)
    if form == "dag":
        return check_dag(path, document, refs)
    return None, problems


@dataclass(frozen=True)
class ConfigSet:
    """The loaded configuration, by name. ``files`` maps ``polecats/x.toml``-style relative
    paths to the file that provided each (shipped or user)."""

    polecats: Mapping[str, Polecat] = field(default_factory=dict)
    skills: Mapping[str, SkillFormula] = field(default_factory=dict)
    workflows: Mapping[str, DagFormula] = field(default_factory=dict)
    schemas: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    files: Mapping[str, Path] = field(default_factory=dict)

    def polecat(self, name: str) -> Polecat:
        return _get(self.polecats, name, "polecat", POLECATS_DIR)

    def skill(self, name: str) -> SkillFormula:
        return _get(self.skills, name, "skill formula", FORMULAS_DIR)

    def workflow(self, name: str) -> DagFormula:
        return _get(self.workflows, name, "DAG formula", FORMULAS_DIR)

    def schema(self, name: str) -> Mapping[str, Any]:
        return _get(self.schemas, name, "schema", SCHEMAS_DIR)


def _get(items: Mapping[str, T], name: str, kind: str, folder: str) -> T:
    if name not in items:
        known = ", ".join(sorted(items)) or "none"
        raise ConfigError(f"no {kind} named {name!r} in {folder}/ (known: {known})")
    return items[name]


@dataclass
class _Scan:
    """Files read once and sorted by kind, before anything is validated."""

    files: dict[str, Path]
    problems: dict[Path, list[Problem]] = field(default_factory=dict)
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    skill_docs: dict[Path, dict[str, Any]] = field(default_factory=dict)
    dag_docs: dict[Path, dict[str, Any]] = field(default_factory=dict)
    polecat_docs: dict[Path, dict[str, Any]] = field(default_factory=dict)
    skills: dict[str, SkillFormula] = field(default_factory=dict)
    skill_inputs: dict[str, Inputs | None] = field(default_factory=dict)
    unreadable: set[str] = field(default_factory=set)  # formulas of no known form

    def of_kind(self, folder: str) -> list[Path]:
        return [path for rel, path in self.files.items() if rel.startswith(f"{folder}/")]

    def add(self, path: Path, problems: list[Problem]) -> None:
        self.problems.setdefault(path, []).extend(problems)

    def references(self, with_skills: bool) -> References[Inputs]:
        return References[Inputs](
            polecats=frozenset(path.stem for path in self.of_kind(POLECATS_DIR)),
            schemas=frozenset(path.stem for path in self.of_kind(SCHEMAS_DIR)),
            # A formula that could not be read may be either form: references to it are
            # not reported on top of its own problem.
            skills={**dict.fromkeys(self.unreadable), **self.skill_inputs} if with_skills else {},
            workflows=frozenset(formula_name(p) for p in self.dag_docs) | self.unreadable,
        )


def _scan(dirs: Sequence[Path]) -> _Scan:
    scan = _Scan(files=config_files(dirs))
    for path in scan.of_kind(SCHEMAS_DIR):
        document, problems = load_schema(path)
        scan.add(path, problems)
        if document is not None:
            scan.schemas[path.stem] = document
    for path in scan.of_kind(POLECATS_DIR):
        document, problems = read_toml(path)
        scan.add(path, problems)
        if document is not None:
            scan.polecat_docs[path] = document
    for path in scan.of_kind(FORMULAS_DIR):
        document, problems = read_toml(path)
        form = None
        if document is not None:
            form, problems = formula_form(path, document)
            if form is not None:
                (scan.skill_docs if form == "skill" else scan.dag_docs)[path] = document
        if form is None:
            scan.unreadable.add(formula_name(path))
        scan.add(path, problems)
    refs = scan.references(with_skills=False)
    for path, document in scan.skill_docs.items():
        skill, problems = check_skill(path, document, refs)
        scan.add(path, problems)
        name = formula_name(path)
        if skill is not None:
            scan.skills[name] = skill
        scan.skill_inputs[name] = skill.input if skill is not None else inputs_of(document, refs)
    return scan


def collect_references(dirs: Sequence[Path]) -> References[Inputs]:
    """The names files in these directories may refer to (skill formulas loaded)."""
    return _scan(dirs).references(with_skills=True)


def collect_config(dirs: Sequence[Path]) -> tuple[ConfigSet, list[Problem]]:
    """Load everything in ``dirs`` (later directories override earlier ones); the set holds
    what loaded cleanly and the list every problem found: entries that are no regular file
    first, then the files' own, in file order."""
    scan = _scan(dirs)
    refs = scan.references(with_skills=True)
    workflows: dict[str, DagFormula] = {}
    for path, document in scan.dag_docs.items():
        dag, problems = check_dag(path, document, refs)
        scan.add(path, problems)
        if dag is not None:
            workflows[dag.name] = dag
    polecats: dict[str, Polecat] = {}
    for path, document in scan.polecat_docs.items():
        polecat, problems = check_polecat(path, document, refs)
        scan.add(path, problems)
        if polecat is not None:
            polecats[polecat.name] = polecat
    skills = scan.skills
    for name, skill in skills.items():
        path = scan.files[f"{FORMULAS_DIR}/{name}{FORMULA_SUFFIX}"]
        scan.add(path, _pairing(path, skill, polecats))
    config = ConfigSet(polecats, skills, workflows, scan.schemas, scan.files)
    ordered = [p for path in scan.files.values() for p in scan.problems.get(path, [])]
    return config, unusable_entries(dirs) + ordered


def _pairing(path: Path, skill: SkillFormula, polecats: Mapping[str, Polecat]) -> list[Problem]:
    """A skill's output type must be the schema its polecat answers with."""
    polecat = polecats.get(skill.execution.polecat)
    if polecat is None or polecat.output.schema_name in (None, skill.output.type):
        return []
    return [
        Problem(
            path,
            "output.type",
            f"{skill.output.type!r}, but polecat {polecat.name!r} answers with "
            f"{polecat.output.schema_name!r}",
        )
    ]


def load_config(dirs: Sequence[Path] | None = None) -> ConfigSet:
    """The repository's configuration plus ``dirs`` (each overriding the ones before);
    raises one ConfigError naming every problem."""
    config, problems = collect_config([bundled_root(), *(dirs or ())])
    if problems:
        raise problems_error(problems)
    return config
