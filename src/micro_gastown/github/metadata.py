"""The machine-readable block at the end of a PR body: a :class:`FilingRecord` as JSON in an
HTML comment, which GitHub keeps in the body and does not show.

The hygiene rules and the rollback watcher read it back, so it must survive a round trip
and must never end early: an HTML comment ends at the first ``--`` followed by ``>`` (or
``!>``), so every ``--`` in the JSON is written ``-\\u002d``, which JSON reads back as the
same two characters (``--`` can only occur inside a JSON string). A body may hold text that
looks like a block (a human pasted one, a log line quoted one inside a code block): the
last well-formed block wins, and a block that does not parse is no block at all. The body
renderer appends ours last, so a forged block quoted above it never wins.

A block is three lines: the opening ``<!-- micro-gastown:metadata`` at the start of a line,
the JSON on one line (JSON escapes every line break inside a string), and ``-->``. Reading
the JSON as one line matters: an opening line quoted from a log without its end must not
swallow everything up to *our* block's end, which would hide ours.
"""

from __future__ import annotations

import json
import re
from typing import Final

import orjson
from pydantic import ValidationError

from micro_gastown.github.inert import GITHUB_BODY_LIMIT
from micro_gastown.github.model import FilingRecord

__all__ = ["METADATA_MARKER", "read_record", "write_record"]

METADATA_MARKER: Final = "micro-gastown:metadata"
_BLOCK = re.compile(
    r"^<!--[ \t]*" + re.escape(METADATA_MARKER) + r"[ \t]*\r?\n(?P<json>[^\r\n]*)\r?\n-->",
    re.M,
)
_MAX_BLOCK: Final = GITHUB_BODY_LIMIT
"""No body GitHub keeps holds a longer block (ours are a few kilobytes)."""


def write_record(record: FilingRecord) -> str:
    """The block for ``record``, to append to a body (starts and ends with a newline)."""
    text = json.dumps(
        record.model_dump(mode="json", exclude_none=True),
        ensure_ascii=True,
        sort_keys=True,
        separators=(",", ":"),
    )
    text = text.replace("--", "-\\u002d")
    return f"\n<!-- {METADATA_MARKER}\n{text}\n-->\n"


def read_record(body: str | None) -> FilingRecord | None:
    """The last well-formed block of ``body``, or None."""
    if not body:
        return None
    for match in reversed(list(_BLOCK.finditer(body))):
        text = match.group("json")
        if len(text) > _MAX_BLOCK:
            continue
        try:
            return FilingRecord.model_validate(orjson.loads(text))
        except (orjson.JSONDecodeError, ValidationError, TypeError):
            continue
    return None
