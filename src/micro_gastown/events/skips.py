"""Why log lines did not become events: the reasons, and the counter every source shares.

Sources count what they cannot even hand to the parser (a bad export line, a line too long,
a bad timestamp); the parser counts the rest. Both fill one :class:`SkipCounter`, and the
report shows its totals by reason.
"""

from __future__ import annotations

from collections import Counter
from enum import StrEnum


class SkipReason(StrEnum):
    """Why a line did not become an event; the report counts each."""

    BAD_EXPORT_LINE = "bad_export_line"  # the export file's own line is not logcli JSONL
    LINE_TOO_LONG = "line_too_long"  # an export line over sources.file.MAX_LINE_BYTES
    BAD_TIMESTAMP = "bad_timestamp"
    NOT_JSON = "not_json"  # the Loki log line is not JSON
    NOT_OBJECT = "not_object"  # JSON, but not an object
    MISSING_TYPE = "missing_type"
    UNKNOWN_TYPE = "unknown_type"
    MISSING_FIELD = "missing_field"
    MISTYPED_FIELD = "mistyped_field"


class SkipCounter:
    """Counts skipped lines by reason (and the unknown ``type`` values seen, for the report)."""

    __slots__ = ("reasons", "unknown_types")

    def __init__(self) -> None:
        self.reasons: Counter[SkipReason] = Counter()
        self.unknown_types: Counter[str] = Counter()

    def add(self, reason: SkipReason) -> None:
        self.reasons[reason] += 1

    @property
    def total(self) -> int:
        return sum(self.reasons.values())

    def as_dict(self) -> dict[str, int]:
        return {reason.value: self.reasons[reason] for reason in SkipReason if self.reasons[reason]}
