"""Problems found in configuration files, and how pydantic and TOML errors become them.

Every loader collects :class:`Problem` values rather than stopping at the first one, so
``micro-gastown validate`` can list all of them at once; the ``load_*`` functions raise one
:class:`~micro_gastown.errors.ConfigError` carrying them all. A problem names the file, the
place inside it (``table.key``, ``steps[2].needs``, or ``line 3, column 7`` for a syntax
error) and what is wrong.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from micro_gastown.config.files import ConfigFileError, read_config_text
from micro_gastown.docpath import where_text
from micro_gastown.errors import ConfigError
from micro_gastown.nesting import too_deep_at, too_deep_message


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one file: ``path: where: message``."""

    path: Path
    where: str
    message: str

    def __str__(self) -> str:
        if self.where:
            return f"{self.path}: {self.where}: {self.message}"
        return f"{self.path}: {self.message}"


def problems_error(problems: Sequence[Problem]) -> ConfigError:
    """One ConfigError listing every problem (one per line after the first)."""
    return ConfigError("\n  ".join(str(problem) for problem in problems))


def custom_error(message: str) -> PydanticCustomError:
    """A validation error whose text is exactly ``message`` (braces in it are safe)."""
    return PydanticCustomError("config", "{message}", {"message": message})


_TOML_TYPES: dict[str, str] = {
    "string_type": "should be a string",
    "int_type": "should be an integer",
    "float_type": "should be a number",
    "bool_type": "should be a boolean (true or false)",
    "list_type": "should be an array",
    "dict_type": "should be a table",
    "model_type": "should be a table",
}
_NO_GOT = {"config", "value_error", "assertion_error", "missing", "extra_forbidden"}


def toml_type(value: object) -> str:
    """What TOML calls the type of a parsed value."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    if isinstance(value, datetime | date | time):
        return "date-time"
    return type(value).__name__


def describe(value: object) -> str:
    """A parsed TOML value for a message: ``string 'x'``, ``integer 3``, ``a table``."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{toml_type(value)} {text}"


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown table" if isinstance(error["input"], dict) else "unknown key"
    if kind == "missing":
        return "required key is missing"
    message = _TOML_TYPES.get(kind) or error["msg"].removeprefix("Value error, ")
    if kind in _NO_GOT or isinstance(error["input"], dict):
        return message
    return f"{message}, got {describe(error['input'])}"


def validation_problems(
    path: Path, exc: ValidationError, prefix: Sequence[int | str] = ()
) -> list[Problem]:
    """One problem per pydantic error, located by table and key."""
    return [
        Problem(path, where_text([*prefix, *error["loc"]]), _message(error))
        for error in exc.errors()
    ]


_TOML_POSITION = re.compile(r"\s*\(at (line \d+, column \d+|end of document)\)$")


def read_toml(path: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Parse a TOML file; a syntax error is a problem located by line and column, and so
    is nesting too deep to parse (checked first: ``tomllib`` recurses)."""
    try:
        text = read_config_text(path)
    except ConfigFileError as exc:
        return None, [Problem(path, "", str(exc))]
    deep = too_deep_at(text)
    if deep is not None:
        return None, [Problem(path, f"line {deep}", too_deep_message())]
    try:
        return tomllib.loads(text), []
    except RecursionError:  # cannot happen below MAX_NESTING; kept as the last guard
        return None, [Problem(path, "", too_deep_message())]
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_POSITION.search(message)
        position = match.group(1) if match else ""
        if match:
            message = message[: match.start()]
        return None, [Problem(path, position, f"invalid TOML: {message}")]
