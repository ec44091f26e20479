"""The PatternReport: models, stable ids, JSON Schema, and the Markdown rendering."""

from micro_gastown.report.model import (
    Metadata,
    Pattern,
    PatternReport,
    PatternType,
    QueryRange,
    SampleEvent,
    Severity,
    Summary,
)

__all__ = [
    "Metadata",
    "Pattern",
    "PatternReport",
    "PatternType",
    "QueryRange",
    "SampleEvent",
    "Severity",
    "Summary",
]
