"""Reading the PatternReport refine works from (``refine --input patterns.json``).

The report may come from another machine or an older version, or be hand-edited: it is read
as untrusted JSON, with the configuration files' reader
(:func:`~micro_gastown.config.files.read_config_text`: only a regular file is opened, so a
FIFO cannot block nor a device never end), up to :data:`MAX_REPORT_BYTES`; nesting is
measured before parsing; the document must validate as a PatternReport. Every problem is
one ConfigError naming the file and, for a schema problem, the field.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import NoReturn

import orjson
from pydantic import ValidationError

from micro_gastown.config.files import ConfigFileError, read_config_text
from micro_gastown.errors import ConfigError
from micro_gastown.nesting import too_deep_at, too_deep_message
from micro_gastown.report.model import PatternReport

MAX_REPORT_BYTES = 64 * 1024 * 1024
"""A report holds at most a few hundred findings and five samples each: a few MB at most."""

SETTING = "input"


def _fail(path: Path, why: str) -> NoReturn:
    raise ConfigError(why, setting=SETTING, value=path)


def load_report(path: Path) -> PatternReport:
    """The PatternReport in ``path``; ConfigError naming the file (and field) otherwise."""
    with contextlib.suppress(OSError):  # a missing or special file is said just below
        if path.stat().st_size > MAX_REPORT_BYTES:
            _fail(path, f"larger than {MAX_REPORT_BYTES // (1024 * 1024)} MB: not a PatternReport")
    try:
        text = read_config_text(path).removeprefix("\ufeff")
    except ConfigFileError as exc:
        _fail(path, f"{exc} (give the JSON PatternReport that analyze writes)")
    deep_line = too_deep_at(text)
    if deep_line is not None:
        _fail(path, f"line {deep_line}: {too_deep_message()}")
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        _fail(path, f"not valid JSON ({exc})")
    _check_numbers(path, data)
    if not isinstance(data, dict):
        _fail(path, "a PatternReport is a JSON object with `patterns` and `summary`")
    try:
        return PatternReport.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        why = str(error["msg"]).removeprefix("Value error, ")  # our own validators' words
        _fail(path, f"not a PatternReport: {where}: {why}{more}")


def _check_numbers(path: Path, data: object) -> None:
    """orjson reads 1e999 as infinity; a report never holds one."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            _fail(path, "holds a number too large for JSON")
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
