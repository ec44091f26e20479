"""Structured output, the same for every backend: the request's output schema is checked
before anything is sent, and an answer's violations are listed the same way.

Every structured output is a JSON object: the Anthropic API takes tool inputs as objects only,
and Claude Code answers ``--json-schema`` through a tool of its own. The schema's dialect
follows its ``$schema``, draft-07 when absent, as in ``schemas/``
(https://json-schema.org/understanding-json-schema/reference/schema). Each violation is one
line, ``$.ranked[0].severity: 'urgent' is not one of [...]``: where it is as a JSONPath
(https://www.rfc-editor.org/rfc/rfc9535), then jsonschema's message. The same lines go back
to the model in a repair round and into the error the user sees.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from jsonschema.exceptions import SchemaError, ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import Draft7Validator, validator_for

from micro_gastown.errors import LlmError
from micro_gastown.llm.base import LlmRequest

MAX_LISTED_ERRORS: Final = 20
MAX_MESSAGE_CHARS: Final = 200
"""jsonschema quotes the offending value, which can be a whole object; longer messages are cut."""


def plain_json(value: Any) -> Any:
    """``value`` with every Mapping turned into a dict and tuple into a list, for json."""
    if isinstance(value, Mapping):
        return {str(key): plain_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(item) for item in value]
    return value


def output_validator(request: LlmRequest) -> Validator | None:
    """The validator of ``request``'s output schema (None without one). Raises
    :class:`~micro_gastown.errors.LlmError` for a schema no backend can use, so that it
    fails before any call is paid for."""
    schema = request.output_schema
    if schema is None:
        return None
    name = request.output_name
    if name in {tool.name for tool in request.tools}:
        raise LlmError(f"the output tool name {name!r} is also a read-only tool")
    if schema.get("type") != "object":
        raise LlmError(
            f"the output schema for {name!r} must describe a JSON object "
            f'("type": "object"): the API takes tool inputs as objects only'
        )
    plain = plain_json(schema)
    cls = validator_for(plain, default=Draft7Validator)
    try:
        cls.check_schema(plain)
    except SchemaError as exc:
        dialect = "draft-07" if cls is Draft7Validator else f"({cls.META_SCHEMA['$schema']})"
        raise LlmError(
            f"the output schema for {name!r} is not valid JSON Schema {dialect}: {exc.message}"
        ) from None
    return cls(plain)


def output_errors(validator: Validator, output: object) -> list[str]:
    """Every way ``output`` violates the schema, one line each, sorted by where; empty when
    it is valid."""
    if not isinstance(output, Mapping):
        return [f"$: expected a JSON object, got {type(output).__name__}"]
    found = sorted(validator.iter_errors(plain_json(output)), key=_position)
    return [f"{_json_path(error)}: {_shortened(error.message)}" for error in found]


def listed(errors: Sequence[str]) -> str:
    """``errors`` as a bulleted list, at most :data:`MAX_LISTED_ERRORS` of them."""
    lines = [f"- {error}" for error in errors[:MAX_LISTED_ERRORS]]
    if len(errors) > MAX_LISTED_ERRORS:
        lines.append(f"- ... and {len(errors) - MAX_LISTED_ERRORS} more")
    return "\n".join(lines)


def _position(error: ValidationError) -> list[str]:
    return [str(part) for part in error.absolute_path]


def _json_path(error: ValidationError) -> str:
    """``$.patterns[0].severity``: where in the output the error is."""
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _shortened(message: str) -> str:
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return message[: MAX_MESSAGE_CHARS - 3] + "..."
