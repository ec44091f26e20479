"""Gas Town / Beads DAG formulas: named steps with ``needs``, vars and conditions.

Top level: ``formula`` (its name), ``description``, ``version`` (integer >= 1), ``type``
(``workflow`` when absent), ``extends``, ``[vars.X]`` and ``[[steps]]``. Our extension: a
step may run a skill formula (``skill = "refine"``) with inputs in ``[steps.with]``, whose
strings may use ``{{var}}`` and ``{{steps.<id>.output}}`` (the output file of a step it
needs, directly or not).

Loading rejects duplicate step ids, unknown needs, cycles (naming the cycle), unknown
placeholders, malformed conditions, and skills or skill inputs that do not exist. A step
without ``skill`` is upstream's prose step, which an agent carries out from its
description: this runtime has no such agent, so it is a problem too (:data:`PROSE_STEP`),
and ``validate`` says so in the same words ``evolve --formula`` would. The
engine then walks :func:`topological_order` and uses :func:`resolve_vars`,
:func:`~micro_gastown.config.placeholders.substitute` and
:func:`~micro_gastown.config.placeholders.evaluate_condition`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from micro_gastown.config.layout import References, formula_name, references_of
from micro_gastown.config.placeholders import (
    STEP_ID,
    VAR_NAME,
    output_step,
    parse_condition,
    placeholders,
)
from micro_gastown.config.polecat import Table
from micro_gastown.config.problems import Problem, custom_error, validation_problems
from micro_gastown.config.skill import Inputs
from micro_gastown.errors import ConfigError

FormulaType = Literal["workflow", "expansion", "aspect", "convoy"]
_VAR_NAME_RE = re.compile(VAR_NAME)


def _valid_pattern(pattern: str | None) -> str | None:
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise custom_error(f"not a regular expression: {exc}") from None
    return pattern


class VarSpec(Table):
    """``[vars.X]``; a bare ``X = "value"`` is read as ``default = "value"``."""

    description: str = ""
    required: bool = False
    enum: list[str] | None = None
    pattern: Annotated[str | None, AfterValidator(_valid_pattern)] = None
    default: str | None = Field(None, validate_default=True)

    @field_validator("default")
    @classmethod
    def _default_allowed(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        enum, pattern = info.data.get("enum"), info.data.get("pattern")
        if enum is not None and value not in enum:
            raise custom_error(f"default {value!r} is not one of {', '.join(map(repr, enum))}")
        if pattern is not None and not re.fullmatch(pattern, value):
            raise custom_error(f"default {value!r} does not match pattern {pattern!r}")
        return value

    def check(self, value: str) -> str | None:
        """Why ``value`` is not allowed for this var; None when it is."""
        if self.enum is not None and value not in self.enum:
            return f"{value!r} is not one of {', '.join(map(repr, self.enum))}"
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            return f"{value!r} does not match {self.pattern!r}"
        return None


def _known_skill(name: str | None, info: ValidationInfo) -> str | None:
    refs = references_of(info)
    if name is not None and refs is not None and name not in refs.skills:
        known = ", ".join(sorted(refs.skills)) or "none"
        raise custom_error(f"unknown skill formula {name!r} (skills: {known})")
    return name


def _valid_condition(text: str | None) -> str | None:
    if text is not None:
        try:
            parse_condition(text)
        except ConfigError as exc:
            raise custom_error(str(exc)) from None
    return text


def _input_value(value: Any) -> Any:
    scalar = (str, int, float, bool)
    if isinstance(value, scalar) or (
        isinstance(value, list) and all(isinstance(item, scalar) for item in value)
    ):
        return value
    raise custom_error("should be a string, number, boolean or array of them")


class DagStep(Table):
    id: str = Field(pattern=rf"^{STEP_ID}$")
    title: str = Field(min_length=1)
    description: str = ""
    needs: list[str] = Field(default_factory=list)
    condition: Annotated[str | None, AfterValidator(_valid_condition)] = None
    parallel: bool = False
    acceptance: str | None = None
    labels: list[str] = Field(default_factory=list)
    skill: Annotated[str | None, AfterValidator(_known_skill)] = None
    inputs: dict[str, Annotated[Any, AfterValidator(_input_value)]] = Field(
        default_factory=dict, alias="with"
    )


class DagFormula(Table):
    formula: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = ""
    version: int = Field(1, ge=1)
    type: FormulaType = "workflow"
    extends: list[str] = Field(default_factory=list)
    vars: dict[str, VarSpec] = Field(default_factory=dict)
    steps: list[DagStep] = Field(min_length=1)

    @field_validator("extends", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("vars", mode="before")
    @classmethod
    def _bare_defaults(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {k: {"default": v} if isinstance(v, str) else v for k, v in value.items()}

    @property
    def name(self) -> str:
        return self.formula

    def step(self, step_id: str) -> DagStep:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise ConfigError(f"formula {self.formula!r} has no step {step_id!r}")


def topological_order(formula: DagFormula) -> list[DagStep]:
    """The steps in an order that respects ``needs``: at each point, the first step in file
    order whose needs have all come before. Raises ConfigError when none can go next."""
    remaining = list(formula.steps)
    placed: set[str] = set()
    order: list[DagStep] = []
    while remaining:
        ready = next((s for s in remaining if all(n in placed for n in s.needs)), None)
        if ready is None:
            stuck = ", ".join(s.id for s in remaining)
            raise ConfigError(
                f"formula {formula.formula!r}: steps {stuck} can never run (a cycle or an "
                "unknown need)"
            )
        order.append(ready)
        placed.add(ready.id)
        remaining.remove(ready)
    return order


def resolve_vars(formula: DagFormula, given: Mapping[str, str]) -> dict[str, str]:
    """Every var's value for a run: given ones checked against enum/pattern, defaults for
    the rest, ``""`` for optional vars without a default. Problems: one ConfigError."""
    problems = [f"unknown var {name!r}" for name in given if name not in formula.vars]
    values: dict[str, str] = {}
    for name, spec in formula.vars.items():
        if name in given:
            problem = spec.check(given[name])
            if problem:
                problems.append(f"var {name!r}: {problem}")
            values[name] = given[name]
        elif spec.required:
            problems.append(f"var {name!r} is required")
        else:
            values[name] = spec.default if spec.default is not None else ""
    if problems:
        raise ConfigError(f"formula {formula.formula!r}: {'; '.join(problems)}")
    return values


def find_cycles(formula: DagFormula) -> list[list[str]]:
    """Cycles through ``needs`` as id lists ``[a, b, c, a]`` (a needs b needs c needs a),
    each found once, starting from the step that comes first in the file."""
    needs = {s.id: [n for n in s.needs if n != s.id] for s in formula.steps}
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for need in needs.get(node, []):
            if need not in needs:
                continue
            if state.get(need) == 1:
                cycle = path[path.index(need) :]
                if frozenset(cycle) not in seen:
                    seen.add(frozenset(cycle))
                    cycles.append([*cycle, need])
            elif need not in state:
                visit(need)
        path.pop()
        state[node] = 2

    for step in formula.steps:
        if step.id not in state:
            visit(step.id)
    return cycles


def _ancestors(formula: DagFormula, step_id: str) -> set[str]:
    needs: dict[str, list[str]] = {}
    for step in formula.steps:  # duplicate ids (reported elsewhere) pool their needs
        needs.setdefault(step.id, []).extend(step.needs)
    found: set[str] = set()
    todo = list(needs.get(step_id, []))
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(needs.get(current, []))
    return found


def _texts(step: DagStep) -> Iterator[tuple[str, str]]:
    yield "title", step.title
    yield "description", step.description
    if step.acceptance is not None:
        yield "acceptance", step.acceptance
    for key, value in step.inputs.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                yield f"with.{key}", item


def check_dag(
    path: Path, document: dict[str, Any], refs: References[Inputs]
) -> tuple[DagFormula | None, list[Problem]]:
    """Validate a parsed DAG formula: its structure, then the graph and its references."""
    try:
        formula = DagFormula.model_validate(document, strict=True, context={"refs": refs})
    except ValidationError as exc:
        return None, validation_problems(path, exc)
    problems = _check_graph(path, formula, refs)
    return (None if problems else formula), problems


def _check_graph(path: Path, formula: DagFormula, refs: References[Inputs]) -> list[Problem]:
    problems: list[Problem] = []
    if formula.formula != formula_name(path):
        problems.append(
            Problem(
                path, "formula", f"{formula.formula!r} should match the file name {path.name!r}"
            )
        )
    for index, parent in enumerate(formula.extends):
        if parent not in refs.workflows:
            problems.append(Problem(path, f"extends[{index}]", f"unknown formula {parent!r}"))
    problems += [
        Problem(path, f"vars.{name}", f"{name!r} is not a var name ({VAR_NAME})")
        for name in formula.vars
        if not _VAR_NAME_RE.fullmatch(name)
    ]
    problems += _placeholder_problems(path, "description", formula.description, formula, set())
    index_of: dict[str, int] = {}
    for index, step in enumerate(formula.steps):
        at = f"steps[{index}]"
        if step.id in index_of:
            problems.append(
                Problem(
                    path,
                    f"{at}.id",
                    f"duplicate step id {step.id!r} (also steps[{index_of[step.id]}])",
                )
            )
        index_of.setdefault(step.id, index)
    for index, step in enumerate(formula.steps):
        at = f"steps[{index}]"
        for need in step.needs:
            if need == step.id:
                problems.append(Problem(path, f"{at}.needs", f"step {step.id!r} needs itself"))
            elif need not in index_of:
                problems.append(
                    Problem(path, f"{at}.needs", f"step {step.id!r} needs unknown step {need!r}")
                )
        ancestors = _ancestors(formula, step.id)
        for field, text in _texts(step):
            problems += _placeholder_problems(path, f"{at}.{field}", text, formula, ancestors)
        if step.condition is not None:
            var = parse_condition(step.condition).var
            if var not in formula.vars:
                problems.append(
                    Problem(path, f"{at}.condition", f"unknown var {var!r} in {step.condition!r}")
                )
        problems += _skill_problems(path, at, step, refs)
    for cycle in find_cycles(formula):
        problems.append(
            Problem(
                path,
                f"steps[{index_of[cycle[0]]}].needs",
                f"needs form a cycle: {' -> '.join(cycle)}",
            )
        )
    return problems


def _placeholder_problems(
    path: Path, at: str, text: str, formula: DagFormula, ancestors: set[str]
) -> list[Problem]:
    try:
        names = placeholders(text)
    except ConfigError as exc:
        return [Problem(path, at, str(exc))]
    problems = []
    for name in names:
        source = output_step(name)
        if source is None:
            if name not in formula.vars:
                problems.append(Problem(path, at, f"unknown var {{{{{name}}}}} (not in [vars])"))
        elif all(s.id != source for s in formula.steps):
            problems.append(Problem(path, at, f"{{{{{name}}}}}: there is no step {source!r}"))
        elif source not in ancestors:
            problems.append(
                Problem(path, at, f"{{{{{name}}}}}: step {source!r} is not among this step's needs")
            )
        elif all(s.skill is None for s in formula.steps if s.id == source):
            problems.append(
                Problem(
                    path, at, f"{{{{{name}}}}}: step {source!r} runs no skill, so has no output"
                )
            )
    return problems


PROSE_STEP = (
    "step {id!r} names no skill: in Gas Town a polecat carries such a step out from its "
    "description, but micro-gastown runs only steps that name a skill formula "
    '(skill = "analyze"), so this workflow cannot run here'
)
"""One wording for a prose step, whether ``validate`` or ``evolve --formula`` meets it."""


def _skill_problems(path: Path, at: str, step: DagStep, refs: References[Inputs]) -> list[Problem]:
    if step.skill is None:
        if step.inputs:
            return [Problem(path, f"{at}.with", "only a step that runs a skill takes inputs")]
        return [Problem(path, f"{at}.skill", PROSE_STEP.format(id=step.id))]
    inputs = refs.skills.get(step.skill)
    if inputs is None:  # unknown (reported by the model) or itself broken (reported there)
        return []
    specs = inputs.specs
    problems = []
    for key, value in step.inputs.items():
        spec = specs.get(key)
        if spec is None:
            known = ", ".join(specs) or "none"
            problems.append(
                Problem(
                    path,
                    f"{at}.with.{key}",
                    f"skill {step.skill!r} has no input {key!r} (inputs: {known})",
                )
            )
        elif not any("{{" in item for item in _strings(value)):
            try:
                spec.coerce(value)
            except ValueError as exc:
                problems.append(Problem(path, f"{at}.with.{key}", str(exc)))
    for name in inputs.required:
        if name not in step.inputs and specs[name].default is None:
            problems.append(
                Problem(path, f"{at}.with", f"skill {step.skill!r} needs input {name!r}")
            )
    return problems


def _strings(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, str)]
