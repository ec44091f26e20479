"""A ``LogSource`` reading a window straight from Loki's ``query_range``.

Loki has no cursor (SPEC §5), so this pages the way logcli's ``--batch`` does: query
forward with ``limit = batch_size``, move ``start`` to the last entry's timestamp and drop
the entries already yielded at exactly that nanosecond. A full page whose entries all share
one nanosecond would return itself forever; there the source drills down stream by stream
(``/series`` then one exact-label query per stream over that single nanosecond), so many
entries sharing a timestamp are neither lost nor repeated. Residual limit: more than
``batch_size`` distinct lines in *one* stream at *one* nanosecond; then the first and last
``batch_size`` are read, the middle may be missing, and a note says so.

Memory holds one page, plus the keys of entries sharing the current boundary nanosecond.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import NamedTuple

from micro_gastown.errors import ConfigError
from micro_gastown.events.parse import SkipCounter
from micro_gastown.logql import quote
from micro_gastown.sources.base import LogEntry, SourceStats
from micro_gastown.sources.loki.client import LokiClient
from micro_gastown.timewindow import TimeWindow, format_ns

LabelKey = tuple[tuple[str, str], ...]


class _Entry(NamedTuple):
    ts: int
    line: str
    labels: dict[str, str]
    key: LabelKey


def split_selector(selector: str) -> tuple[str, str]:
    """``{a="b"} | json`` → (``{a="b"}``, `` | json``): the stream part and the pipeline."""
    text = selector.strip()
    quote_char: str | None = None
    escaped = False
    for index, char in enumerate(text):
        if quote_char is not None:
            if escaped:
                escaped = False
            elif char == "\\" and quote_char == '"':
                escaped = True
            elif char == quote_char:
                quote_char = None
        elif char in ('"', "`"):
            quote_char = char
        elif char == "}":
            return text[: index + 1], text[index + 1 :]
    raise ConfigError(
        f"selector {selector!r}: expected a LogQL stream selector such as {{job=...}}"
    )


def exact_selector(labels: dict[str, str]) -> str:
    """A stream selector matching exactly these label values (superset streams too)."""
    return "{" + ", ".join(f"{name}={quote(value)}" for name, value in sorted(labels.items())) + "}"


class LokiSource:
    """Entries for a window from Loki, oldest first, one page in memory at a time.

    ``split_ns`` cuts the window into sub-ranges (Loki's frontend splits by 1h too, and
    short ranges keep each query under ``query_timeout``). ``now`` is injectable so an
    open-ended window is reproducible in tests.
    """

    def __init__(
        self,
        client: LokiClient,
        selector: str,
        *,
        batch_size: int | None = None,
        split_ns: int | None = None,
        now: Callable[[], int] = time.time_ns,
    ) -> None:
        self.client = client
        self.selector = selector.strip()
        self._stream_part, self._pipeline = split_selector(self.selector)
        config = client.config
        self.batch_size = batch_size if batch_size is not None else config.batch_size
        if not 1 <= self.batch_size <= 5000:
            raise ConfigError(f"Loki batch_size {self.batch_size}: must be 1..5000")
        self.split_ns = split_ns or int(config.split.total_seconds() * 1_000_000_000)
        if self.split_ns <= 0:
            raise ConfigError("Loki split must be positive")
        self._now = now
        self.stats = SourceStats()

    def describe(self) -> str:
        return self.client.describe()

    def close(self) -> None:
        self.client.close()

    def entries(self, window: TimeWindow, skips: SkipCounter) -> Iterator[LogEntry]:
        """Yield ``(ts_ns, line, labels)`` in ``window``; Loki itself applies the bounds."""
        if window.start_ns is None:
            raise ConfigError(
                "reading from Loki needs a start: pass --since (e.g. --since 24h) so the "
                "query covers a bounded window"
            )
        end = window.end_ns if window.end_ns is not None else self._now()
        for low in range(window.start_ns, end, self.split_ns):
            high = min(low + self.split_ns, end)
            for entry in self._range(low, high):
                if not window.contains(entry.ts):
                    self.stats.outside_window += 1
                    continue
                self.stats.lines_read += 1
                yield entry.ts, entry.line, entry.labels

    # -- paging -----------------------------------------------------------------------

    def _fetch(self, query: str, start: int, end: int, direction: str = "forward") -> list[_Entry]:
        """One page, its streams merged into one timestamp-ordered list (stable)."""
        before_requests, before_bytes = self.client.requests, self.client.bytes_received
        try:
            result = self.client.query_range(
                query, start, end, limit=self.batch_size, direction=direction
            )
        finally:
            self.stats.requests += self.client.requests - before_requests
            self.stats.bytes_read += self.client.bytes_received - before_bytes
        page: list[_Entry] = []
        for stream in result.streams():
            labels = stream.labels
            key = tuple(sorted(labels.items()))
            page.extend(_Entry(ts, line, labels, key) for ts, line in stream.values)
        page.sort(key=lambda entry: entry.ts)
        return page

    def _range(self, low: int, high: int) -> Iterator[_Entry]:
        """All entries in ``[low, high)``, each exactly once."""
        start = low
        boundary_ts = -1
        boundary_seen: set[tuple[LabelKey, str]] = set()
        while start < high:
            page = self._fetch(self.selector, start, high)
            for entry in page:
                if entry.ts != boundary_ts or (entry.key, entry.line) not in boundary_seen:
                    yield entry
            if len(page) < self.batch_size:
                return
            last = page[-1].ts
            if last != boundary_ts:
                boundary_ts, boundary_seen = last, set()
            boundary_seen.update((e.key, e.line) for e in page if e.ts == last)
            if page[0].ts == last:
                # A full page at one nanosecond: forward paging cannot get past it.
                yield from self._drill_down(last, boundary_seen)
                start, boundary_ts, boundary_seen = last + 1, -1, set()
            else:
                start = last

    def _drill_down(self, ts: int, seen: set[tuple[LabelKey, str]]) -> Iterator[_Entry]:
        """Every entry at nanosecond ``ts`` not in ``seen``, fetched stream by stream."""
        before = self.client.requests
        try:
            streams = self.client.series(self._stream_part, ts, ts + 1)
        finally:
            self.stats.requests += self.client.requests - before
        for labels in streams:
            query = exact_selector(labels) + self._pipeline
            forward = self._fetch(query, ts, ts + 1)
            pages = [forward]
            if len(forward) >= self.batch_size:
                backward = self._fetch(query, ts, ts + 1, direction="backward")
                pages.append(backward)
                fresh = {(e.key, e.line) for e in backward} - {(e.key, e.line) for e in forward}
                if len(backward) >= self.batch_size and len(fresh) == len(backward):
                    note = (
                        f"more than {2 * self.batch_size} entries of stream "
                        f"{exact_selector(labels)} share the timestamp {format_ns(ts)}; "
                        "Loki cannot page inside one nanosecond, so some may be missing"
                    )
                    if note not in self.stats.notes:
                        self.stats.notes.append(note)
            for page in pages:
                for entry in page:
                    if entry.ts == ts and (entry.key, entry.line) not in seen:
                        seen.add((entry.key, entry.line))
                        yield entry
