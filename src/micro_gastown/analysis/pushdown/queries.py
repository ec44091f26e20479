"""The Loki queries of one push-down analysis, all over one window, and counted.

Metric queries are instant queries at ``end - 1ns`` with a range of the window's length,
so Loki's ``(t - range, t]`` is the window's ``[start, end)`` (:func:`whole_window`); raw
pulls read the window in the source's sub-ranges, or only the parts where a count on
Loki's step grid has lines (:meth:`WindowQueries.present`). Each event kind is selected
as the local parser would accept it (``_VALID``), so Loki's aggregates count exactly the
events a raw scan counts.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from itertools import islice
from typing import Any, Final

import orjson

from micro_gastown.errors import UsageError
from micro_gastown.events.parse import COUNT_DIGITS
from micro_gastown.events.skips import SkipCounter
from micro_gastown.logql import LogQL, range_of, whole_window
from micro_gastown.sources.base import LogEntry
from micro_gastown.sources.loki.client import LokiClient
from micro_gastown.sources.loki.grid import NS_PER_MS, busy_windows, grid_bounds, grid_step
from micro_gastown.sources.loki.selection import (
    fallback_note,
    matrix_points,
    select_event_kinds,
    vector,
)
from micro_gastown.sources.loki.source import LokiSource
from micro_gastown.timewindow import TimeWindow

_INVALID_LABEL_CHARS: Final = re.compile(r"[^a-zA-Z0-9_]")

# What the local parser accepts, as line filters Loki applies before parsing (after
# ``| json`` every value is a string, so types must be checked on the raw line).
_COUNT = rf"[0-9]{{1,{COUNT_DIGITS}}}(\.0+)?"  # a count (see parse.MAX_COUNT), maybe as 12.0
_VALID: Final = {
    "graph_transition": (
        r' |~ `"from"\s*:\s*"[^"]` |~ `"to"\s*:\s*"[^"]` !~ `"trigger"\s*:\s*[^"\sn]`'
        ' | json | __error__="" | type="graph_transition"'
    ),
    "llm_call": (
        r' |~ `"model"\s*:\s*"`'
        r' !~ `"(prompt_tokens|completion_tokens|latency_ms)"\s*:\s*[^0-9\s]`'
        ' | json | __error__="" | type="llm_call"'
        f" | prompt_tokens=~`{_COUNT}` | completion_tokens=~`{_COUNT}` | latency_ms=~`{_COUNT}`"
    ),
    "effect_execution": (
        r' |~ `"effect_type"\s*:\s*"` |~ `"success"\s*:\s*(true|false)`'
        r' !~ `"latency_ms"\s*:\s*[^0-9\s]`'
        f' | json | __error__="" | type="effect_execution" | latency_ms=~`{_COUNT}`'
    ),
    "user_action": (
        r' |~ `"action_type"\s*:\s*"` |~ `"node_context"\s*:\s*"`'
        ' | json | __error__="" | type="user_action"'
    ),
}


class WindowQueries:
    """The queries of one push-down analysis of one window.

    Counts what it asks (``metric_queries``) and what it reads (``raw_lines``) for the
    report; :meth:`census` may switch ``logql`` to line filters, which every later query
    then uses.
    """

    def __init__(self, source: LokiSource, window: TimeWindow, logql: LogQL) -> None:
        if window.start_ns is None:
            raise UsageError(
                "reading from Loki needs a start (e.g. 24h back) so the query covers a "
                "bounded window",
                setting="since",
            )
        self.source = source
        self.client: LokiClient = source.client
        self.window = window
        self.start = window.start_ns
        self.end = window.end_ns if window.end_ns is not None else source.now()
        self.range, self.at = whole_window(self.start, self.end)
        self.logql = logql
        self.metric_queries = 0
        self.raw_lines = 0
        self._has_lines: dict[tuple[int, int], bool] = {}

    # -- metric queries ---------------------------------------------------------------

    def instant(self, query: str, at: int | None = None) -> list[tuple[dict[str, str], float]]:
        """An instant query at the window's end (``at``: at another instant)."""
        self.metric_queries += 1
        return vector(self.client.query(query, self.at if at is None else at))

    def total(self, query: str, at: int | None = None) -> int:
        return int(sum(value for _, value in self.instant(query, at)))

    def has_lines(self, low: int, high: int) -> bool:
        """Whether Loki holds any line of the base selector in ``(low, high]`` (asked once
        per span): its whole milliseconds ending at ``high`` by an instant query, the
        sub-millisecond rest just after ``low`` by a raw read."""
        known = self._has_lines.get((low, high))
        if known is None:
            whole = (high - low) // NS_PER_MS * NS_PER_MS
            known = bool(whole) and bool(
                self.total(f"sum(count_over_time({self.logql.base()} [{range_of(whole)}]))", high)
            )
            if not known and high - whole > low:
                rest = TimeWindow(low + 1, high - whole + 1)
                known = next(iter(self.pull(self.logql.base(), rest)), None) is not None
            self._has_lines[low, high] = known
        return known

    def kind(self, event_type: str) -> str:
        """The valid events of one type, as the local parser would accept them."""
        return self.logql.stream(event_type) + _VALID[event_type]

    def census(self) -> int:
        """Lines in the window; switches to line filters if events lack the label."""
        lines = self.total(f"sum(count_over_time({self.logql.base()} [{self.range}]))")
        if self.logql.by_label:
            self.metric_queries += 1  # the probe for streams without the label
        self.logql, missing = select_event_kinds(self.client, self.logql, self.start, self.end)
        if missing:
            self.source.stats.notes.append(fallback_note(missing))
        return lines

    def present(self, query: str) -> list[TimeWindow]:
        """The parts of the window where ``query`` has lines, adjacent ones merged.

        One range query counts lines per bucket of about the source's split. Loki
        evaluates it only on multiples of the step, whatever ``start`` is asked for, and
        the sample at ``t`` counts ``(t - step, t]`` (:mod:`~micro_gastown.sources.loki.grid`);
        so it is asked on that grid, and each bucket with lines is read as the half-open
        ``[t - step + 1ns, t + 1ns)`` within the window. Every line of the window is in
        exactly one bucket, wherever the window starts.
        """
        step = grid_step(self.source.split_ns, self.start, self.end)
        first, last = grid_bounds(self.start, self.end, step)
        self.metric_queries += 1
        result = self.client.query_range(
            f"sum(count_over_time({query} [{range_of(step)}]))",
            first,
            last,
            limit=self.source.batch_size,
            step=range_of(step),
        )
        return busy_windows(matrix_points(result), step, self.start, self.end)

    # -- raw lines --------------------------------------------------------------------

    def raw(self, query: str) -> LokiSource:
        return LokiSource(
            self.client,
            query,
            batch_size=self.source.batch_size,
            split_ns=self.source.split_ns,
            now=lambda: self.end,
        )

    def pull(self, query: str, window: TimeWindow | None = None) -> Generator[LogEntry]:
        """Every entry of the window (or of ``window`` within it), oldest first, with its
        stream's own labels."""
        raw = self.raw(query)
        parsed = "| json" in query
        try:
            for ts, line, labels in raw.entries(window or self.window, SkipCounter()):
                self.raw_lines += 1
                yield ts, line, _stream_labels(labels, line) if parsed else labels
        finally:
            self.source.stats.outside_window += raw.stats.outside_window
            self.source.stats.notes.extend(
                note for note in raw.stats.notes if note not in self.source.stats.notes
            )

    def pull_where_present(self, query: str) -> Iterator[LogEntry]:
        """:meth:`pull`, over only the sub-ranges in which ``query`` has lines.

        A scope query matches a hundred spans or sessions, which mostly live within an hour
        or two of their errors; asking every sub-range of the window for them would be
        mostly empty requests. One count per sub-range (a range query) says which to read.
        """
        for window in self.present(query):
            yield from self.pull(query, window)

    def lines(self, query: str, limit: int) -> list[LogEntry]:
        """The first ``limit`` (≤ one page) entries of the window: one request when Loki
        answers them in one. Paged, not taken from one limited answer: over one of Loki's
        split intervals that answer need not be the first entries
        (:mod:`~micro_gastown.sources.loki.frontend`), and exemplars keep the earliest."""
        if limit <= 0:
            return []
        whole = LokiSource(
            self.client,
            query,
            batch_size=min(limit, self.source.batch_size),
            split_ns=max(self.end - self.start, 1),
            concurrency=1,
            now=lambda: self.end,
        )
        first = islice(whole.entries(self.window, SkipCounter()), limit)  # no more pages
        entries = [(ts, line, _stream_labels(labels, line)) for ts, line, labels in first]
        self.raw_lines += len(entries)
        return entries


def _json_label_names(obj: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """The labels Loki's ``| json`` makes of a line's fields (nested keys joined by ``_``)."""
    for raw_key, value in obj.items():
        key = _INVALID_LABEL_CHARS.sub("_", str(raw_key).strip())
        if not prefix and key[:1].isdigit():
            key = "_" + key
        name = f"{prefix}_{key}" if prefix else key
        if isinstance(value, dict):
            yield from _json_label_names(value, name)
        elif not isinstance(value, list):  # arrays are not extracted
            yield name


def _stream_labels(labels: dict[str, str], line: str) -> dict[str, str]:
    """A streams result of a query with ``| json`` carries the extracted fields as labels
    too; this recovers the stream's own labels, as a query without a parser returns them.
    A field named like a stream label comes back as ``<name>_extracted``."""
    try:
        fields = orjson.loads(line)
    except orjson.JSONDecodeError:
        return labels
    if not isinstance(fields, dict):
        return labels
    extracted = set(_json_label_names(fields))
    return {
        name: value
        for name, value in labels.items()
        if not name.startswith("__")
        and not (name.endswith("_extracted") and name[: -len("_extracted")] in extracted)
        and (name not in extracted or f"{name}_extracted" in labels)
    }
