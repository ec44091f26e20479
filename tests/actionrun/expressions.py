"""The few ``${{ }}`` expressions ``action.yml`` uses, evaluated as the runner does; any other
expression fails loudly, so that a new one in the action is a harness change made on
purpose rather than a value silently left empty.

Supported: ``inputs.NAME`` (the input given, else its default), ``github.action_path``,
``github.token``, ``runner.temp`` and ``steps.ID.outputs.NAME`` (empty when the step did
not set it, as on the runner).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

__all__ = ["Context", "UnsupportedExpression", "evaluate", "expressions_in"]

_TEMPLATE: Final = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_NAME: Final = r"[A-Za-z_][A-Za-z0-9_-]*"
_REFERENCE: Final = re.compile(
    rf"(?P<context>inputs|github|runner|steps)\.(?P<path>{_NAME}(?:\.{_NAME})*)"
)


class UnsupportedExpression(ValueError):
    """An expression this harness does not evaluate (or a reference to nothing)."""


@dataclass(frozen=True)
class Context:
    inputs: Mapping[str, str]
    action_path: str
    runner_temp: str
    token: str = ""
    step_outputs: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def expressions_in(text: str) -> list[str]:
    """The body of each ``${{ }}`` in ``text``, stripped."""
    return [match.group(1).strip() for match in _TEMPLATE.finditer(text)]


def _value(expression: str, context: Context) -> str:
    match = _REFERENCE.fullmatch(expression)
    if match is None:
        raise UnsupportedExpression(f"the harness does not evaluate ${{{{ {expression} }}}}")
    kind, path = match["context"], match["path"].split(".")
    if kind == "inputs" and len(path) == 1:
        if path[0] not in context.inputs:
            raise UnsupportedExpression(f"inputs.{path[0]}: not an input of the action")
        return context.inputs[path[0]]
    if kind == "github" and path == ["action_path"]:
        return context.action_path
    if kind == "github" and path == ["token"]:
        return context.token
    if kind == "runner" and path == ["temp"]:
        return context.runner_temp
    if kind == "steps" and len(path) == 3 and path[1] == "outputs":
        return context.step_outputs.get(path[0], {}).get(path[2], "")
    raise UnsupportedExpression(f"the harness does not evaluate ${{{{ {expression} }}}}")


def evaluate(text: str, context: Context) -> str:
    """``text`` with each ``${{ }}`` replaced by its value."""
    return _TEMPLATE.sub(lambda match: _value(match.group(1).strip(), context), text)
