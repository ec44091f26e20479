"""Skill formulas (``formulas/<skill>.formula.toml``): one polecat run with typed inputs.

The micro-gastown form (docs/formats.md): ``[formula]``, ``[input]`` (``required``/``optional``
name lists plus one ``[input.<name>]`` table each), ``[output] type`` (a schema),
``[execution]`` (polecat, timeout_seconds, retry_count), ``[steps]`` (the numbered
procedure the polecat is given), and the optional ``[validation]``, ``[guardrails]``,
``[git]``, ``[pr]``, ``[metrics]`` and ``[example]`` tables.

Input types are upstream's (``duration``, ``enum``, ``integer``, ``file``, ``boolean``,
``array``) plus ``string``, ours, for free text such as a log source spec. A ``duration``
is what ``analyze --since`` takes: ``24h``-style or an RFC 3339 instant. Defaults must fit
their type; enum defaults must be among ``values``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, cast

from pydantic import AfterValidator, Field, ValidationError, ValidationInfo, field_validator

from micro_gastown.config.layout import References, formula_name, references_of
from micro_gastown.config.polecat import NAME_PATTERN, Guardrails, SchemaName, Table
from micro_gastown.config.problems import Problem, custom_error, describe, validation_problems
from micro_gastown.errors import ConfigError
from micro_gastown.timewindow import parse_duration, parse_rfc3339_ns

InputType = Literal["string", "duration", "enum", "integer", "file", "boolean", "array"]
ItemType = Literal["string", "duration", "integer", "file", "boolean"]
InputValue = str | int | bool | list[str | int | bool]

_INTEGER_RE = re.compile(r"[+-]?\d+")
_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def check_value(kind: str, value: object, values: list[str] | None = None) -> str | None:
    """Why ``value`` (as TOML gives it) does not fit input type ``kind``; None when it fits."""
    expected = {
        "integer": "an integer",
        "boolean": "a boolean (true or false)",
        "array": "an array",
    }.get(kind, "a string")
    fits = {
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "array": isinstance(value, list),
    }.get(kind, isinstance(value, str))
    if not fits:
        return f"should be {expected}, got {describe(value)}"
    if kind == "file" and value == "":
        return "should be a path, not empty"
    if kind == "duration" and isinstance(value, str):
        try:
            parse_duration(value)
        except ValueError:
            try:
                parse_rfc3339_ns(value)
            except ValueError:
                return f"{value!r} is neither a duration (24h, 7d, 1h30m) nor an RFC 3339 time"
    if kind == "enum" and values is not None and value not in values:
        return f"{value!r} is not one of {', '.join(map(repr, values))}"
    return None


def _from_text(kind: str, text: str) -> object:
    """A substituted string read as the input's type (what ``{{var}}`` values become)."""
    cleaned = text.strip()
    if kind == "integer" and _INTEGER_RE.fullmatch(cleaned):
        return int(cleaned)
    if kind == "boolean" and cleaned.lower() in _BOOLEANS:
        return _BOOLEANS[cleaned.lower()]
    if kind == "array":
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


class InputSpec(Table):
    type: InputType
    description: str = ""
    values: list[str] | None = Field(None, validate_default=True)
    items: ItemType | None = None
    schema_name: SchemaName | None = Field(None, alias="schema")
    default: Any = Field(None, validate_default=True)

    @field_validator("values")
    @classmethod
    def _values_for_enum(cls, values: list[str] | None, info: ValidationInfo) -> list[str] | None:
        kind = info.data.get("type")
        if kind == "enum" and not values:
            raise custom_error("an enum input needs a non-empty list of values")
        if kind not in ("enum", None) and values is not None:
            raise custom_error(f"values only apply to enum inputs, not {kind}")
        return values

    @field_validator("items")
    @classmethod
    def _items_for_array(cls, items: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("type")
        if items is not None and kind not in ("array", None):
            raise custom_error(f"items only apply to array inputs, not {kind}")
        return items

    @field_validator("schema_name")
    @classmethod
    def _schema_for_file(cls, name: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("type")
        if name is not None and kind not in ("file", None):
            raise custom_error(f"schema only applies to file inputs, not {kind}")
        return name

    @field_validator("default")
    @classmethod
    def _default_fits(cls, value: Any, info: ValidationInfo) -> Any:
        kind = info.data.get("type")
        if value is None or kind is None or "values" not in info.data:
            return value
        problem = check_value(kind, value, info.data["values"])
        if problem is None and kind == "array":
            item_kind = info.data.get("items") or "string"
            problem = next(
                (f"item {i}: {p}" for i, v in enumerate(value) if (p := check_value(item_kind, v))),
                None,
            )
        if problem is not None:
            raise custom_error(f"default {problem}")
        return value

    def coerce(self, value: object) -> InputValue:
        """A given value in this input's type; strings (substituted ``{{var}}`` values) are
        read as integers, booleans or comma-separated arrays. Raises ValueError."""
        if isinstance(value, str):
            value = _from_text(self.type, value)
        problem = check_value(self.type, value, self.values)
        if problem is None and isinstance(value, list):
            item_kind = self.items or "string"
            items = [_from_text(item_kind, v) if isinstance(v, str) else v for v in value]
            problem = next((p for v in items if (p := check_value(item_kind, v))), None)
            value = items
        if problem is not None:
            raise ValueError(problem)
        return cast(InputValue, value)  # check_value accepted it


class Inputs(Table, extra="allow"):
    """``[input]``: the name lists plus one ``[input.<name>]`` table per input."""

    __pydantic_extra__: dict[str, InputSpec] = Field(init=False)
    required: list[str] = Field(default_factory=list)
    optional: list[str] = Field(default_factory=list)

    @property
    def specs(self) -> dict[str, InputSpec]:
        return dict(self.__pydantic_extra__)


class FormulaInfo(Table):
    name: str = Field(pattern=NAME_PATTERN)
    version: str = Field(min_length=1)
    description: str
    category: str = ""


class SkillOutput(Table):
    type: SchemaName


def _known_polecat(name: str, info: ValidationInfo) -> str:
    refs = references_of(info)
    if refs is not None and name not in refs.polecats:
        known = ", ".join(sorted(refs.polecats)) or "none"
        raise custom_error(f"unknown polecat {name!r} (polecats/ has: {known})")
    return name


PolecatName = Annotated[str, AfterValidator(_known_polecat)]


class Execution(Table):
    polecat: PolecatName
    timeout_seconds: int = Field(300, ge=1)
    retry_count: int = Field(0, ge=0)


class SkillValidation(Table):
    must_pass: list[str] = Field(default_factory=list, description="commands that must succeed")
    forbidden_changes: list[str] = Field(default_factory=list, description="globs no change hits")


class SkillGit(Table):
    branch_format: str = "sleeptime/{date}-{pattern_type}"


class SkillPullRequest(Table):
    title_format: str = ""
    body_template: str = ""


class Metrics(Table):
    track: list[str] = Field(default_factory=list)


class Example(Table):
    command: str = ""
    output: str = ""


class SkillFormula(Table):
    """One skill formula. A formula's ``[guardrails]`` narrow its polecat's: the planned
    refine skill is to apply the stricter of the two (nothing applies them yet)."""

    formula: FormulaInfo
    input: Inputs = Field(default_factory=Inputs)
    output: SkillOutput
    execution: Execution
    steps: dict[str, str] = Field(default_factory=dict)
    validation: SkillValidation | None = None
    guardrails: Guardrails | None = None
    git: SkillGit | None = None
    pr: SkillPullRequest | None = None
    metrics: Metrics | None = None
    example: Example | None = None

    @field_validator("steps")
    @classmethod
    def _numbered(cls, steps: dict[str, str]) -> dict[str, str]:
        bad = [key for key in steps if not (key.isascii() and key.isdigit() and int(key) >= 1)]
        if bad:
            raise custom_error(f"step keys must be numbers from 1, got {', '.join(map(repr, bad))}")
        return steps

    @property
    def name(self) -> str:
        return self.formula.name

    @property
    def procedure(self) -> list[str]:
        """The ``[steps]`` texts in numeric order."""
        return [self.steps[key] for key in sorted(self.steps, key=int)]

    def bind_inputs(self, given: Mapping[str, object]) -> dict[str, InputValue]:
        """The inputs a run gets: given values read in their types, defaults for the rest.

        An empty string counts as not given (a ``{{var}}`` whose value is ``""``). Unknown
        names, missing required inputs and values that do not fit are a ConfigError naming
        all of them.
        """
        specs = self.input.specs
        problems = [f"unknown input {name!r}" for name in given if name not in specs]
        bound: dict[str, InputValue] = {}
        for name, spec in specs.items():
            value = given.get(name)
            if value is None or value == "":
                if name in self.input.required:
                    problems.append(f"input {name!r} is required")
                elif spec.default is not None:
                    bound[name] = spec.default
                continue
            try:
                bound[name] = spec.coerce(value)
            except ValueError as exc:
                problems.append(f"input {name!r}: {exc}")
        if problems:
            raise ConfigError(f"formula {self.name!r}: {'; '.join(problems)}")
        return bound


def inputs_of(document: dict[str, Any], refs: References[Any]) -> Inputs | None:
    """The ``[input]`` table of a skill formula that may be broken elsewhere, if it is sound:
    DAG steps calling the skill can still be checked against it."""
    try:
        inputs = Inputs.model_validate(
            document.get("input", {}), strict=True, context={"refs": refs}
        )
    except ValidationError:
        return None
    return inputs if not _input_problems(Path(), inputs) else None


def check_skill(
    path: Path, document: dict[str, Any], refs: References[Any]
) -> tuple[SkillFormula | None, list[Problem]]:
    """Validate a parsed skill formula against the names it may refer to."""
    try:
        skill = SkillFormula.model_validate(document, strict=True, context={"refs": refs})
    except ValidationError as exc:
        return None, validation_problems(path, exc)
    problems: list[Problem] = []
    if skill.name != formula_name(path):
        problems.append(
            Problem(
                path, "formula.name", f"{skill.name!r} should match the file name {path.name!r}"
            )
        )
    problems += _input_problems(path, skill.input)
    return (None if problems else skill), problems


def _input_problems(path: Path, inputs: Inputs) -> list[Problem]:
    """Every listed input has a table, every table is listed, and none is listed twice."""
    problems: list[Problem] = []
    specs = inputs.specs
    listed: dict[str, str] = {}
    for kind in ("required", "optional"):
        for index, name in enumerate(getattr(inputs, kind)):
            at = f"input.{kind}[{index}]"
            if name in listed:
                problems.append(Problem(path, at, f"{name!r} is already listed in {listed[name]}"))
            elif name not in specs:
                problems.append(Problem(path, at, f"{name!r} has no [input.{name}] table"))
            listed.setdefault(name, f"input.{kind}")
    for name in specs:
        if name not in listed:
            problems.append(
                Problem(path, f"input.{name}", "not listed in input.required or input.optional")
            )
    return problems
