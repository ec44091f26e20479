"""Loki's HTTP API v1 endpoints as plain functions of (params, body) -> Response.

Kept apart from the socket layer so the JSON shapes and error texts live in one place.
Shapes follow https://grafana.com/docs/loki/latest/reference/loki-http-api/.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import orjson

from . import loki3
from .config import HOUR_NS, Limits, Loki3Labels, Patterns
from .engine import Series, Work, align_to_step, evaluate, step_times
from .errors import BadRequest
from .frontend import select_split_logs
from .logql import LogQuery, parse, parse_log_query
from .patterns import html_escape_json, query_patterns
from .store import Store, format_labels, label_key
from .timeparse import (
    default_step,
    go_duration,
    parse_step,
    parse_timestamp,
    prom_timestamp,
    prom_value,
)

Params = Mapping[str, list[str]]
JSON_TYPE = "application/json; charset=UTF-8"
TEXT_TYPE = "text/plain; charset=utf-8"


@dataclass
class Response:
    """What the socket layer writes back."""

    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: object) -> Response:
        """A 200 with an orjson body."""
        return cls(200, orjson.dumps(payload))

    @classmethod
    def text(cls, status: int, message: str) -> Response:
        """A plain-text answer, as Loki sends for every error."""
        return cls(status, message.encode(), TEXT_TYPE)


def _one(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def _int_param(params: Params, name: str, default: int) -> int:
    raw = _one(params, name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(
            f'invalid parameter "{name}": cannot parse "{raw}" as an integer'
        ) from None


def _stats(work: Work) -> dict[str, object]:
    """A deterministic subset of Loki's ``stats`` block (timings are always zero)."""
    return {
        "summary": {
            "bytesProcessedPerSecond": 0,
            "linesProcessedPerSecond": 0,
            "totalBytesProcessed": work.bytes,
            "totalLinesProcessed": work.lines,
            "execTime": 0,
            "queueTime": 0,
            "subqueries": 0,
            "totalEntriesReturned": work.returned,
            "splits": work.splits,
            "shards": max(work.splits, 1),
        },
        "querier": {"store": {"totalChunksRef": 0, "totalChunksDownloaded": 0}},
        "ingester": {"totalReached": 1, "totalLinesSent": work.returned},
        "cache": {},
    }


class LokiApi:
    """The endpoints over one store; ``clock`` returns now in nanoseconds."""

    def __init__(
        self,
        store: Store,
        limits: Limits,
        loki3_labels: Loki3Labels,
        clock: Callable[[], int],
        pattern_ingester: Patterns | None = None,
    ) -> None:
        self.store = store
        self.limits = limits
        self.loki3_labels = loki3_labels
        self.clock = clock
        self.pattern_ingester = pattern_ingester or Patterns()

    # -- ingest -----------------------------------------------------------------------

    def ingest(self, labels: Mapping[str, str], entries: list[tuple[int, str]]) -> None:
        """Store one stream's entries, adding Loki 3 labels when enabled."""
        if not label_key(labels):
            raise BadRequest("error at least one label pair is required per stream")
        if self.loki3_labels.enabled:
            for stream_labels, group in loki3.annotate(labels, entries, self.loki3_labels):
                self.store.push(stream_labels, group)
        else:
            self.store.push(labels, entries)

    def push(self, body: bytes, headers: Mapping[str, str]) -> Response:
        """``POST /loki/api/v1/push`` (JSON only) -> 204."""
        content_type = headers.get("content-type", "")
        if not content_type.startswith("application/json"):
            raise BadRequest(f"unsupported content type {content_type!r}: lokisim accepts JSON")
        if headers.get("content-encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
        try:
            payload = orjson.loads(body)
            pushed: list[tuple[dict[str, str], list[tuple[int, str]]]] = []
            for stream in payload["streams"]:
                labels = {str(k): str(v) for k, v in stream["stream"].items()}
                values = [(int(value[0]), str(value[1])) for value in stream["values"]]
                pushed.append((labels, values))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError) as exc:
            raise BadRequest(f"loghttp: failed to decode push request: {exc}") from None
        for labels, values in pushed:
            self.ingest(labels, values)
        return Response(204, content_type=TEXT_TYPE)

    # -- queries ----------------------------------------------------------------------

    def _check_length(self, start: int, end: int) -> None:
        limit = self.limits.max_query_length_ns
        if limit > 0 and end - start > limit:
            raise BadRequest(
                f"the query time range exceeds the limit (query length: "
                f"{go_duration(end - start)}, limit: {go_duration(limit)})"
            )

    def _check_entries(self, limit: int) -> None:
        if limit <= 0:
            raise BadRequest("limit must be a positive value")
        cap = self.limits.max_entries_limit_per_query
        if cap > 0 and limit > cap:
            raise BadRequest(
                "max entries limit per query exceeded, limit > max_entries_limit_per_query "
                f"({limit} > {cap})"
            )

    def _check_series(self, series: Series) -> None:
        cap = self.limits.max_query_series
        if cap > 0 and len(series) > cap:
            raise BadRequest(f"maximum of series ({cap}) reached for a single query")

    @staticmethod
    def _direction(params: Params) -> bool:
        raw = (_one(params, "direction") or "backward").lower()
        if raw not in ("forward", "backward"):
            raise BadRequest(f'invalid parameter "direction": unknown direction {raw!r}')
        return raw == "forward"

    def query_range(self, params: Params) -> Response:
        """``GET /loki/api/v1/query_range``: streams for log queries, matrix for metrics."""
        end = parse_timestamp(_one(params, "end"), self.clock(), "end")
        start = parse_timestamp(_one(params, "start"), end - HOUR_NS, "start")
        if end < start:
            raise BadRequest("end timestamp must not be before or equal to start time")
        limit = _int_param(params, "limit", 100)
        forward = self._direction(params)
        raw_step = _one(params, "step")
        step = parse_step(raw_step) if raw_step else default_step(start, end)
        steps = step_times(start, end, step)
        expr = parse(_one(params, "query") or "")
        self._check_length(start, end)
        if not isinstance(expr, LogQuery) and self.limits.split_queries_by_interval_ns > 0:
            steps = step_times(*align_to_step(start, end, step), step)
        work = Work()
        if isinstance(expr, LogQuery):
            self._check_entries(limit)
            groups, work.splits = select_split_logs(
                self.store,
                expr,
                start,
                end,
                limit,
                forward,
                self.limits.split_queries_by_interval_ns,
                work,
            )
            result: list[dict[str, object]] = [
                {"stream": dict(key), "values": [[str(e.ts), e.line] for e in entries]}
                for key, entries in groups
            ]
            return Response.json(
                {
                    "status": "success",
                    "data": {"resultType": "streams", "result": result, "stats": _stats(work)},
                }
            )
        series = evaluate(self.store, expr, steps, work)
        self._check_series(series)
        matrix = [
            {
                "metric": dict(key),
                "values": [[prom_timestamp(t), prom_value(v)] for t, v in points.items()],
            }
            for key, points in sorted(series.items(), key=lambda item: format_labels(item[0]))
        ]
        return Response.json(
            {
                "status": "success",
                "data": {"resultType": "matrix", "result": matrix, "stats": _stats(work)},
            }
        )

    def query(self, params: Params) -> Response:
        """``GET /loki/api/v1/query``: an instant metric query -> vector."""
        at = parse_timestamp(_one(params, "time"), self.clock(), "time")
        self._direction(params)
        expr = parse(_one(params, "query") or "")
        if isinstance(expr, LogQuery):
            raise BadRequest(
                "log queries are not supported as an instant query type, "
                "please change your query to a range query type"
            )
        work = Work()
        series = evaluate(self.store, expr, [at], work)
        self._check_series(series)
        vector = [
            {"metric": dict(key), "value": [prom_timestamp(at), prom_value(points[at])]}
            for key, points in sorted(series.items(), key=lambda item: format_labels(item[0]))
        ]
        return Response.json(
            {
                "status": "success",
                "data": {"resultType": "vector", "result": vector, "stats": _stats(work)},
            }
        )

    # -- metadata ---------------------------------------------------------------------

    def _bounds(self, params: Params) -> tuple[int, int]:
        end = parse_timestamp(_one(params, "end"), self.clock(), "end")
        start = parse_timestamp(_one(params, "start"), end - 6 * HOUR_NS, "start")
        return start, end

    def _active_label_sets(self, params: Params, selectors: list[str]) -> list[dict[str, str]]:
        """Label sets of streams with an entry in ``[start, end]`` matching any selector."""
        start, end = self._bounds(params)
        queries = [parse_log_query(s) for s in selectors if s]
        if queries:
            streams = {id(s): s for q in queries for s in self.store.select(q.matchers)}
            candidates = list(streams.values())
        else:
            candidates = self.store.all_streams()
        found = []
        for stream in candidates:
            lo, hi = stream.span(start, end, end_inclusive=True)
            if hi > lo:
                found.append(stream.labels)
        return found

    def labels(self, params: Params) -> Response:
        """``GET /loki/api/v1/labels``: sorted label names (``data`` omitted when empty)."""
        query = _one(params, "query")
        sets = self._active_label_sets(params, [query] if query else [])
        names = sorted({name for labels in sets for name in labels})
        return Response.json(
            {"status": "success", "data": names} if names else {"status": "success"}
        )

    def label_values(self, name: str, params: Params) -> Response:
        """``GET /loki/api/v1/label/<name>/values``: sorted distinct values."""
        query = _one(params, "query")
        sets = self._active_label_sets(params, [query] if query else [])
        values = sorted({labels[name] for labels in sets if name in labels})
        return Response.json(
            {"status": "success", "data": values} if values else {"status": "success"}
        )

    def series(self, params: Params) -> Response:
        """``GET /loki/api/v1/series?match[]=...``: label sets of matching streams."""
        selectors = list(params.get("match[]", [])) + list(params.get("match", []))
        sets = self._active_label_sets(params, selectors)
        if self.limits.max_query_series > 0 and len(sets) > self.limits.max_query_series:
            raise BadRequest(
                f"maximum of series ({self.limits.max_query_series}) reached for a single query"
            )
        ordered = sorted(sets, key=lambda labels: format_labels(label_key(labels)))
        return Response.json({"status": "success", "data": ordered})

    # -- pattern ingester (Loki 3) ----------------------------------------------------

    def patterns(self, params: Params) -> Response:
        """``GET /loki/api/v1/patterns``: templates of the matching streams with samples.

        Only routed when the pattern ingester is enabled (else 404, see the server).
        """
        end = parse_timestamp(_one(params, "end"), self.clock(), "end")
        start = parse_timestamp(_one(params, "start"), end - HOUR_NS, "start")
        if end < start:
            raise BadRequest("end timestamp must not be before or equal to start time")
        raw_step = _one(params, "step")
        step = parse_step(raw_step) if raw_step else default_step(start, end)
        step_times(start, end, step)  # Loki's checks: positive step, at most 11,000 points
        data = query_patterns(
            self.store,
            self.pattern_ingester,
            _one(params, "query") or "",
            start,
            end,
            step,
            self.clock(),
        )
        response = Response.json({"status": "success", "data": data})
        response.body = html_escape_json(response.body)
        return response
