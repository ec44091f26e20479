"""``{{var}}`` placeholders and step conditions in DAG formulas (see docs/formats.md).

A placeholder is ``{{name}}`` (spaces inside the braces allowed) where ``name`` is a
formula var or ``steps.<id>.output``, the output file of an earlier step. A condition is
exactly one of::

    {{var}}            true when the value is truthy
    !{{var}}           true when it is not
    {{var}} == value   string equality (value bare, or quoted with " or ')
    {{var}} != value

A value is falsy when it is ``""``, ``false``, ``0`` or ``no`` (any case, surrounding
spaces ignored) and truthy otherwise. Anything else is an error, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from micro_gastown.errors import ConfigError

VAR_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
STEP_ID = r"[A-Za-z0-9][A-Za-z0-9_-]*"
_VAR_NAME_RE = re.compile(VAR_NAME)
_OUTPUT_RE = re.compile(rf"steps\.({STEP_ID})\.output")
_PLACEHOLDER_RE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_FALSY = frozenset({"", "false", "0", "no"})

_TEST_RE = re.compile(rf"\s*(!?)\s*\{{\{{\s*({VAR_NAME})\s*\}}\}}\s*")
_COMPARE_RE = re.compile(
    rf"\s*\{{\{{\s*({VAR_NAME})\s*\}}\}}\s*(==|!=)\s*"
    r"""(?:"([^"]*)"|'([^']*)'|([^\s"'{}]+))\s*"""
)
CONDITION_FORMS = "'{{var}}', '!{{var}}', '{{var}} == value' or '{{var}} != value'"


def placeholders(text: str) -> list[str]:
    """The names of the placeholders in ``text``, in order; a malformed one is an error."""
    names = []
    for match in _PLACEHOLDER_RE.finditer(text):
        name = match.group(1).strip()
        if not (_VAR_NAME_RE.fullmatch(name) or _OUTPUT_RE.fullmatch(name)):
            raise ConfigError(
                f"{match.group(0)!r} is not a placeholder: expected {{{{var}}}} "
                "or {{steps.<id>.output}}"
            )
        names.append(name)
    return names


def output_step(name: str) -> str | None:
    """The step id of a ``steps.<id>.output`` placeholder name, else None."""
    match = _OUTPUT_RE.fullmatch(name)
    return match.group(1) if match else None


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replace every ``{{name}}`` with ``values[name]``; a name not in ``values`` is an error."""
    placeholders(text)  # reject malformed placeholders before replacing any

    def replace(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name not in values:
            raise ConfigError(f"unknown variable {name!r} in {text!r}")
        return values[name]

    return _PLACEHOLDER_RE.sub(replace, text)


def truthy(value: str) -> bool:
    return value.strip().lower() not in _FALSY


@dataclass(frozen=True, slots=True)
class Condition:
    var: str
    test: Literal["truthy", "falsy", "==", "!="]
    value: str = ""

    def holds(self, actual: str) -> bool:
        if self.test == "truthy":
            return truthy(actual)
        if self.test == "falsy":
            return not truthy(actual)
        return (actual == self.value) == (self.test == "==")


def parse_condition(text: str) -> Condition:
    """Parse one of the four condition forms; anything else raises ConfigError."""
    if match := _TEST_RE.fullmatch(text):
        return Condition(match.group(2), "falsy" if match.group(1) else "truthy")
    if match := _COMPARE_RE.fullmatch(text):
        value = next(group for group in match.groups()[2:] if group is not None)
        test: Literal["==", "!="] = "==" if match.group(2) == "==" else "!="
        return Condition(match.group(1), test, value)
    raise ConfigError(f"condition {text!r} is not one of {CONDITION_FORMS}")


def evaluate_condition(condition: str, values: Mapping[str, str]) -> bool:
    """Whether a step's condition holds for these var values (unknown var: ConfigError)."""
    parsed = parse_condition(condition)
    if parsed.var not in values:
        raise ConfigError(f"condition {condition!r}: unknown variable {parsed.var!r}")
    return parsed.holds(values[parsed.var])
