"""The PatternReport: what the Log Analyzer produces (see docs/formats.md).

``schemas/PatternReport.json`` is generated from these models (``make schemas`` /
:func:`micro_gastown.report.schema.pattern_report_schema`) and a test pins the committed
file to the generated one. The upstream shape is kept; our additions are additive only:
the ``effect_failure`` pattern type, ``key`` on a pattern, and richer ``metadata``.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator


class PatternType(StrEnum):
    SLOW_LLM = "slow_llm"
    FAILED_TRANSITION = "failed_transition"
    REPEATED_ERROR = "repeated_error"
    DEAD_PATH = "dead_path"
    TOKEN_BLOAT = "token_bloat"
    EFFECT_FAILURE = "effect_failure"  # our extension of the upstream enum


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"critical": 0, "warning": 1, "info": 2}[self.value]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_JSON_INT_MIN = -(1 << 63)
_JSON_INT_MAX = (1 << 64) - 1  # orjson writes signed and unsigned 64-bit integers
_JSON_MAX_DEPTH = 64  # well under orjson's limit (254) with the report's own nesting around it
_MAX_INT_BITS_AS_TEXT = 14_000  # Python refuses to write ints over 4,300 digits as text
_CUT = "…[truncated]"  # the redactor's marker for what it cuts


def writable_json(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON that orjson can always write, whatever a log line held.

    Sample events and details carry arbitrary JSON from untrusted logs (an error's
    ``context``), and one unwritable value would lose the whole report. So integers beyond
    64 bits become their digits, non-finite floats their names (``"nan"``), keys strings,
    tuples lists, other objects their ``str()``; nesting deeper than ``_JSON_MAX_DEPTH`` is cut.
    """
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int):
        if _JSON_INT_MIN <= value <= _JSON_INT_MAX:
            return value
        if value.bit_length() > _MAX_INT_BITS_AS_TEXT:
            return f"<{value.bit_length()}-bit integer>"
        return str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth >= _JSON_MAX_DEPTH:
        return _CUT
    if isinstance(value, dict):
        return {str(key): writable_json(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [writable_json(item, depth + 1) for item in value]
    return str(value)


class SampleEvent(_Model):
    """One log line backing a finding, redacted before it is stored."""

    timestamp: str = Field(description="RFC 3339 UTC with nanoseconds")
    timestamp_ns: str = Field(pattern=r"^\d+$", description="Loki's nanosecond timestamp")
    labels: dict[str, str]
    node: str | None = Field(default=None, description="The node the event was attributed to")
    event: dict[str, Any] = Field(description="The decoded event, secrets redacted")

    @field_validator("event", mode="before")
    @classmethod
    def _writable_event(cls, event: Any) -> Any:
        return writable_json(event)


class Series(_Model):
    """A finding's counts bucket by bucket over its window: what the PR's chart draws and
    what the rollback watcher compares before and after a merge.

    ``values[i]`` counts the finding's own events (errors, failed traversals, slow calls,
    traversals of the edge, ...) in the bucket starting at ``start + i * step_seconds``;
    ``exposure[i]`` counts what they are relative to (the node's calls, traversals,
    executions), so a rate is ``values / exposure``. The step is an hour for windows of 12
    hours or more, and finer for shorter ones (at least 12 buckets where the window allows).
    Bucket edges are Loki's: a range sample at ``t`` counts ``(t - step, t]``, so bucket
    ``i`` is the query's sample at ``start + (i + 1) * step_seconds`` (see
    :mod:`micro_gastown.detectors.series`).
    """

    start: str = Field(description="RFC 3339 UTC start of the first bucket")
    step_seconds: int = Field(ge=1, description="Width of each bucket")
    metric: str = Field(min_length=1, description="What values count, e.g. 'failed traversals'")
    values: list[int] = Field(description="The finding's events per bucket")
    exposure: list[int] | None = Field(
        default=None, description="Per bucket, the events the values are relative to"
    )
    exposure_unit: str | None = Field(default=None, description="What exposure counts")
    query: str | None = Field(
        default=None,
        description="LogQL metric query that gives values as a range query with this step",
    )
    exposure_query: str | None = Field(
        default=None, description="LogQL metric query that gives exposure with this step"
    )


class Pattern(_Model):
    id: str = Field(
        pattern=r"^[a-z0-9-]+$",
        description="Stable fingerprint of type + key: the same problem keeps its id across runs",
    )
    type: PatternType
    severity: Severity
    occurrences: int = Field(ge=1)
    details: dict[str, Any]
    recommendation: str
    key: dict[str, str | None] = Field(
        default_factory=dict, description="What identifies the problem (node, edge, template, ...)"
    )
    grafana_query: str | None = Field(default=None, description="LogQL that reproduces it")
    grafana_url: str | None = Field(default=None, description="Grafana Explore link, if configured")
    sample_events: list[SampleEvent] = Field(default_factory=list, max_length=5)
    series: Series | None = Field(
        default=None, description="The finding's counts over its window, bucket by bucket"
    )
    out_of_order_events: int | None = Field(
        default=None,
        ge=1,
        description="Events that arrived out of time order at the finding's nodes: their "
        "attribution, and so the finding's figures, may be off (absent when none)",
    )

    @field_validator("details", mode="before")
    @classmethod
    def _writable_details(cls, details: Any) -> Any:
        return writable_json(details)


class QueryRange(_Model):
    start: str | None = None
    end: str | None = None


class Summary(_Model):
    total_patterns: int = Field(ge=0)
    critical: int = Field(ge=0)
    warning: int = Field(ge=0)
    info: int = Field(ge=0)
    query_range: QueryRange | None = None
    events_analyzed: int | None = Field(default=None, ge=0)


class AttributionGap(_Model):
    """One kind of event the analyzer could not always place at a graph node, and why.

    Findings are keyed on the node a DSL change can fix, so events without a node are not
    findings of their own: they are counted here instead."""

    event_type: str
    total: int = Field(ge=0, description="Events of this kind analyzed")
    unattributed: int = Field(ge=0, description="Of those, events placed at no node")
    no_scope: int = Field(
        ge=0, description="Unattributed: the event carries neither a span label nor a session_id"
    )
    no_transition: int = Field(
        ge=0,
        description="Unattributed: its span or session had no graph transition before it "
        "(or had been idle past the attribution timeout)",
    )


class Metadata(_Model):
    generated_at: str
    generator_version: str
    query_duration_ms: int = Field(ge=0)
    source: str | None = None
    window: QueryRange | None = None
    lines_read: int | None = None
    bytes_read: int | None = None
    requests: int | None = Field(default=None, description="HTTP requests made to Loki")
    events_analyzed: int | None = None
    events_by_type: dict[str, int] = Field(default_factory=dict)
    skipped: dict[str, int] = Field(
        default_factory=dict, description="Lines skipped, by reason (not_json, unknown_type, ...)"
    )
    unknown_types: dict[str, int] = Field(default_factory=dict)
    unattributed_events: int | None = None
    attribution: list[AttributionGap] = Field(
        default_factory=list,
        description="Attribution coverage: per kind of event that belongs to a node, how many "
        "were placed at none and why (kinds with every event placed are left out)",
    )
    out_of_order_events: int | None = Field(
        default=None,
        description="Events older than the previous event of their span; the patterns they "
        "may skew carry their own out_of_order_events",
    )
    outside_window: int | None = None
    duplicate_entries: int | None = Field(
        default=None,
        description="Exact duplicate entries (same timestamp, labels and line) dropped, "
        "as Loki drops them",
    )
    parts: int | None = Field(default=None, description="Processes the source was split over")
    truncated: bool | None = Field(
        default=None, description="True when the line cap stopped reading before the window ended"
    )
    thresholds: dict[str, float] = Field(default_factory=dict)
    dsl_repo: str | None = None
    declared_edges: int | None = None
    notes: list[str] = Field(default_factory=list)


class PatternReport(_Model):
    patterns: list[Pattern]
    summary: Summary
    metadata: Metadata | None = None

    @field_validator("patterns")
    @classmethod
    def _ids_are_unique(cls, patterns: list[Pattern]) -> list[Pattern]:
        """Refine, file-pr and the review pick findings by id (analyze numbers apart the
        findings whose keys redact alike), so a report naming one id twice is refused."""
        first: dict[str, int] = {}
        for index, pattern in enumerate(patterns):
            earlier = first.setdefault(pattern.id, index)
            if earlier != index:
                raise ValueError(
                    f"patterns[{index}] has the id of patterns[{earlier}] ({pattern.id}): "
                    "every finding needs its own id"
                )
        return patterns

    def to_json(self) -> bytes:
        """The report as the schema describes it: absent optionals are omitted, never null."""
        return orjson.dumps(
            self.model_dump(mode="json", exclude_none=True), option=orjson.OPT_INDENT_2
        )
