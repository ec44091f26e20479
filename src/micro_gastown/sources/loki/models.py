"""Loki's answers as typed values: the ``data`` of a success envelope, decoded once.

Query results (``streams``, ``matrix``, ``vector``, ``scalar``), label names, series and
log patterns. Timestamps become int nanoseconds; a shape Loki should never send is a
``LokiError`` naming what was malformed, never a ``KeyError`` from deep inside a caller.
Reference: https://grafana.com/docs/loki/latest/reference/loki-http-api/
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from micro_gastown.errors import LokiError
from micro_gastown.timewindow import NS_PER_SECOND


class ResultType(StrEnum):
    STREAMS = "streams"
    MATRIX = "matrix"
    VECTOR = "vector"
    SCALAR = "scalar"


@dataclass(frozen=True, slots=True)
class Stream:
    """One log stream of a ``streams`` result, timestamps already as int nanoseconds."""

    labels: dict[str, str]
    values: list[tuple[int, str]]


@dataclass(frozen=True, slots=True)
class QueryResult:
    """``data`` of a query answer; ``result`` kept as Loki sent it for metric types."""

    result_type: ResultType
    result: list[Any]
    stats: dict[str, Any]

    def streams(self) -> list[Stream]:
        """The result as log streams; a LokiError if it is a metric result or malformed."""
        if self.result_type is not ResultType.STREAMS:
            raise LokiError(f"expected a log query result, Loki sent {self.result_type}")
        try:
            return [
                Stream(dict(item["stream"]), [(int(v[0]), str(v[1])) for v in item["values"]])
                for item in self.result
            ]
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise LokiError(f"Loki sent a malformed streams result ({exc!r})") from None


@dataclass(frozen=True, slots=True)
class LogPattern:
    """One template from Loki's pattern ingester, e.g. ``<_> level=info msg=<_>``.

    ``samples`` are ``(timestamp_ns, count)`` pairs: Loki sends whole Unix seconds, kept
    here in nanoseconds like every other timestamp of this client.
    """

    pattern: str
    samples: list[tuple[int, int]]

    @property
    def total(self) -> int:
        """Lines that matched the pattern over the queried window."""
        return sum(count for _, count in self.samples)


def decode_query_result(body: dict[str, Any]) -> QueryResult:
    """``/query`` and ``/query_range``: the result type checked, the result kept raw."""
    data = body.get("data")
    if not isinstance(data, dict):
        raise LokiError("Loki's answer has no data")
    try:
        result_type = ResultType(str(data.get("resultType")))
    except ValueError:
        raise LokiError(f"Loki sent an unknown resultType {data.get('resultType')!r}") from None
    result = data.get("result") or []
    if not isinstance(result, list):
        raise LokiError("Loki sent a malformed result")
    stats = data.get("stats")
    return QueryResult(result_type, result, stats if isinstance(stats, dict) else {})


def decode_names(body: dict[str, Any]) -> list[str]:
    """``/labels`` and ``/label/<name>/values``: a list of strings."""
    data = body.get("data") or []  # Loki omits ``data`` when there is nothing
    if not isinstance(data, list):
        raise LokiError("Loki sent a malformed label answer")
    return [str(item) for item in data]


def decode_series(body: dict[str, Any]) -> list[dict[str, str]]:
    """``/series``: one label set per matching stream."""
    data = body.get("data") or []
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise LokiError("Loki sent a malformed series answer")
    return [{str(k): str(v) for k, v in item.items()} for item in data]


def decode_patterns(body: dict[str, Any]) -> list[LogPattern]:
    """``/patterns``: templates with their samples, seconds turned into nanoseconds."""
    data = body.get("data") or []
    try:
        return [
            LogPattern(
                str(item["pattern"]),
                [(int(ts) * NS_PER_SECOND, int(count)) for ts, count in item["samples"]],
            )
            for item in data
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise LokiError(f"Loki sent a malformed patterns answer ({exc!r})") from None
