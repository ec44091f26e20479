"""Cut the long strings out of an event before detectors may keep it as a sample.

Detectors keep a few whole events per finding key as evidence. An event holds its decoded
fields, so a log line carrying a 15 MB message or payload would keep 15 MB per sample, and
memory would grow with the number of findings times the size of their lines. Nothing past
the start of such a string is ever used: the report's redactor shows at most its first
4,096 characters, and templates are built from the first ``MAX_CLUSTERED_CHARS``. So a
string longer than :data:`KEPT_CHARS` is cut there and marked with the redactor's own
``TRUNCATED`` suffix, which it recognises (the sample reads as it would have).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Final

from micro_gastown.events.model import ErrorEvent, Event
from micro_gastown.evidence.redact import TRUNCATED

KEPT_CHARS: Final = 65_536
"""The characters of one string value kept in an event; only a log line longer than this
can hold a longer one, so shorter lines are never looked at."""

_MAX_DEPTH: Final = 64
"""Values nested deeper are replaced whole (the redactor shows 20 levels at most)."""


def trimmed(event: Event) -> Event:
    """``event`` with every string in its fields (and an error's message) cut to
    KEPT_CHARS; the same event when nothing is that long."""
    fields = _trimmed(event.fields, 0)
    if fields is event.fields:
        return event
    if type(event) is ErrorEvent:
        # Parsing takes an error's message from its "message" field (only parsed events
        # come here): one cut copy serves both.
        message = fields["message"]
        return replace(event, fields=fields, message=message, context=fields.get("context"))
    return replace(event, fields=fields)


def _trimmed(value: Any, depth: int) -> Any:
    """``value`` with long strings cut; the very same object when none is long."""
    if type(value) is str:
        return value[:KEPT_CHARS] + TRUNCATED if len(value) > KEPT_CHARS else value
    if type(value) is dict:
        if depth >= _MAX_DEPTH:
            return TRUNCATED
        pairs = [(_trimmed(key, depth), _trimmed(item, depth + 1)) for key, item in value.items()]
        if all(
            new_key is key and new is item
            for (new_key, new), (key, item) in zip(pairs, value.items(), strict=True)
        ):
            return value
        return dict(pairs)
    if type(value) is list:
        if depth >= _MAX_DEPTH:
            return TRUNCATED
        elements = [_trimmed(item, depth + 1) for item in value]
        if all(new is old for new, old in zip(elements, value, strict=True)):
            return value
        return elements
    return value
