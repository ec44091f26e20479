"""A ``LogSource`` reading a window straight from Loki's ``query_range``.

Loki has no cursor, so this pages the way logcli's ``--batch`` does: query
forward with ``limit = batch_size``, move ``start`` to the last entry's timestamp and drop
the entries already yielded at exactly that nanosecond. A full page whose entries all share
one nanosecond would return itself forever; there the source drills down stream by stream
(``/series`` then one exact-label query per stream over that single nanosecond), so many
entries sharing a timestamp are neither lost nor repeated. Residual limit: more than
``batch_size`` distinct lines in *one* stream at *one* nanosecond; then the first and last
``batch_size`` are read, the middle may be missing, and a note says so (with a parser in
the selector's pipeline, which makes one answer stream per extracted label set, Loki's
order inside the nanosecond is not the stream's, so any such crowd gets the note).

Loki's query frontend may answer a full page that spans one of its split intervals with a
later entry in place of an earlier one (see ``frontend``); such a page is trusted only up
to the timestamp it provably holds in full, and the next page starts there.

The window's sub-ranges are independent, so with ``concurrency`` > 1 a worker thread pages
each of the next ``concurrency`` sub-ranges into its own lane while the consumer drains the
lanes strictly oldest first: entries, dedupe, drill-downs and notes come out exactly as one
request at a time gives them. A worker asks for room *before* fetching, so at most
``PAGES_AHEAD`` fetched pages wait untaken in a lane. A worker's error is raised when the
consumer reaches it, i.e. where sequential paging would have failed; stopping (an error,
``close``, or the consumer leaving early, e.g. ``--max-lines``) ends retry waits at once
and joins every worker (an attempt already on the wire still ends first).

Memory holds the page being read plus at most ``concurrency * PAGES_AHEAD`` more (one page
with ``concurrency`` 1), and the keys of entries sharing a boundary nanosecond.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from functools import partial
from typing import NamedTuple

from micro_gastown.errors import ConfigError, LokiError
from micro_gastown.events.skips import SkipCounter
from micro_gastown.logql import quote
from micro_gastown.sources.base import LogEntry, SourceStats
from micro_gastown.sources.loki.client import LokiClient
from micro_gastown.sources.loki.config import MAX_CONCURRENCY
from micro_gastown.sources.loki.frontend import answer_was_merged, complete_through
from micro_gastown.timewindow import TimeWindow, format_ns

PAGES_AHEAD = 1  # fetched pages a worker may hold that the consumer has not taken yet

LabelKey = tuple[tuple[str, str], ...]


class _Entry(NamedTuple):
    ts: int
    line: str
    labels: dict[str, str]
    key: LabelKey


class _Page(NamedTuple):
    """Entries to yield (already deduplicated), and the notes raised while fetching them."""

    entries: list[_Entry]
    notes: list[str]


class _Cost:
    """Requests and bytes one reader spent, until the consumer moves them into its stats."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # a worker adds while the consumer drains
        self._requests = 0
        self._bytes = 0

    def add(self, requests: int, size: int) -> None:
        with self._lock:
            self._requests += requests
            self._bytes += size

    def drain_into(self, stats: SourceStats) -> None:
        with self._lock:
            stats.requests += self._requests
            stats.bytes_read += self._bytes
            self._requests = self._bytes = 0


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
    """Entries for a window from Loki, oldest first, a bounded few pages in memory.

    ``split_ns`` cuts the window into sub-ranges (Loki's frontend splits by 1h too, and
    short ranges keep each query under ``query_timeout``); ``concurrency`` of them are
    fetched at once (default: the client config's). ``now`` is injectable so an open-ended
    window is reproducible in tests.
    """

    def __init__(
        self,
        client: LokiClient,
        selector: str,
        *,
        batch_size: int | None = None,
        split_ns: int | None = None,
        concurrency: int | None = None,
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
        self.concurrency = concurrency if concurrency is not None else config.concurrency
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise ConfigError(f"Loki concurrency {self.concurrency}: must be 1..{MAX_CONCURRENCY}")
        self._now = now
        self.stats = SourceStats()
        self._prefetches: set[_Prefetch] = set()

    def describe(self) -> str:
        return self.client.describe()

    def now(self) -> int:
        """The end of an open-ended window (injectable for reproducible tests)."""
        return self._now()

    def close(self) -> None:
        for prefetch in list(self._prefetches):
            prefetch.close()
        self.client.close()

    def entries(self, window: TimeWindow, skips: SkipCounter) -> Iterator[LogEntry]:
        """Yield ``(ts_ns, line, labels)`` in ``window``; Loki itself applies the bounds."""
        if window.start_ns is None:
            raise ConfigError(
                "reading from Loki needs a start (e.g. 24h back) so the query covers a "
                "bounded window",
                setting="since",
            )
        end = window.end_ns if window.end_ns is not None else self._now()
        ranges = (
            (low, min(low + self.split_ns, end))
            for low in range(window.start_ns, end, self.split_ns)
        )
        prefetch: _Prefetch | None = None
        if self.concurrency == 1:
            cost = _Cost()
            pages: Iterator[_Page] = (
                page for low, high in ranges for page in self._range_pages(low, high, cost)
            )
            account: Callable[[], None] = partial(cost.drain_into, self.stats)
        else:
            prefetch = _Prefetch(self, ranges)
            self._prefetches.add(prefetch)
            pages, account = prefetch.pages(), prefetch.account
        try:
            for page in pages:
                account()
                self.stats.notes.extend(n for n in page.notes if n not in self.stats.notes)
                for entry in page.entries:
                    if not window.contains(entry.ts):
                        self.stats.outside_window += 1
                        continue
                    self.stats.lines_read += 1
                    yield entry.ts, entry.line, entry.labels
        finally:
            if prefetch is not None:
                prefetch.close()  # joins the workers and accounts what they spent
                self._prefetches.discard(prefetch)
            account()

    # -- paging -----------------------------------------------------------------------

    def _fetch(
        self, query: str, start: int, end: int, cost: _Cost, direction: str = "forward"
    ) -> tuple[list[_Entry], bool]:
        """One page, its streams merged into one timestamp-ordered list (stable), and
        whether Loki's frontend merged it from several sub-queries (see ``frontend``)."""
        with self.client.counting() as tally:
            try:
                result = self.client.query_range(
                    query, start, end, limit=self.batch_size, direction=direction
                )
            finally:
                cost.add(tally.requests, tally.bytes_received)
        page: list[_Entry] = []
        for stream in result.streams():
            labels = stream.labels
            key = tuple(sorted(labels.items()))
            page.extend(_Entry(ts, line, labels, key) for ts, line in stream.values)
        page.sort(key=lambda entry: entry.ts)
        return page, answer_was_merged(result.stats)

    def _range_pages(self, low: int, high: int, cost: _Cost) -> Iterator[_Page]:
        """All entries in ``[low, high)``, each exactly once, a page at a time.

        Runs in the consumer (``concurrency`` 1) or in the sub-range's worker; it touches
        no shared state but ``cost``, so both give the same pages.
        """
        start = low
        boundary_ts = -1
        boundary_seen: set[tuple[LabelKey, str]] = set()
        while start < high:
            page, merged = self._fetch(self.selector, start, high, cost)
            full = len(page) >= self.batch_size
            if full and merged:
                # Loki may have put a later entry in place of an earlier one near the
                # cut: keep only what the page provably holds, and ask again from there.
                last = complete_through([(e.ts, e.key) for e in page])
                page = [entry for entry in page if entry.ts <= last]
            yield _Page(
                [
                    entry
                    for entry in page
                    if entry.ts != boundary_ts or (entry.key, entry.line) not in boundary_seen
                ],
                [],
            )
            if not full:
                return
            last = page[-1].ts
            if last != boundary_ts:
                boundary_ts, boundary_seen = last, set()
            boundary_seen.update((e.key, e.line) for e in page if e.ts == last)
            if page[0].ts == last:
                # A page (or its trusted part) at one nanosecond: paging cannot get past it.
                yield from self._drill_down(last, boundary_seen, cost)
                start, boundary_ts, boundary_seen = last + 1, -1, set()
            else:
                start = last

    def _drill_down(self, ts: int, seen: set[tuple[LabelKey, str]], cost: _Cost) -> Iterator[_Page]:
        """Every entry at nanosecond ``ts`` not in ``seen``, fetched stream by stream."""
        with self.client.counting() as tally:
            try:
                streams = self.client.series(self._stream_part, ts, ts + 1)
            finally:
                cost.add(tally.requests, tally.bytes_received)
        for labels in streams:
            query = exact_selector(labels) + self._pipeline
            forward, _ = self._fetch(query, ts, ts + 1, cost)  # one nanosecond: one split
            pages = [forward]
            notes: list[str] = []
            if len(forward) >= self.batch_size:
                backward, _ = self._fetch(query, ts, ts + 1, cost, direction="backward")
                pages.append(backward)
                fresh = {(e.key, e.line) for e in backward} - {(e.key, e.line) for e in forward}
                # The two ends overlap, so they cover the nanosecond, only if Loki lists
                # it in one order: one answer stream. A parser in the pipeline can split
                # the stream by extracted labels, and Loki orders those among themselves.
                split = len({e.key for e in forward} | {e.key for e in backward}) > 1
                if len(backward) >= self.batch_size and (split or len(fresh) == len(backward)):
                    crowd = self.batch_size if split else 2 * self.batch_size
                    note = (
                        f"more than {crowd} entries of stream "
                        f"{exact_selector(labels)} share the timestamp {format_ns(ts)}; "
                        "Loki cannot page inside one nanosecond, so some may be missing"
                    )
                    notes.append(note)
            unseen: list[_Entry] = []
            for page in pages:
                for entry in page:
                    if entry.ts == ts and (entry.key, entry.line) not in seen:
                        seen.add((entry.key, entry.line))
                        unseen.append(entry)
            yield _Page(unseen, notes)


class _Lane:
    """One sub-range's pages, handed in order from its worker thread to the consumer.

    The worker calls ``wait_for_room`` before each fetch, so at most ``PAGES_AHEAD``
    fetched pages wait here; ``finish`` ends the lane, with the worker's exception if any.
    """

    def __init__(self) -> None:
        self.cost = _Cost()
        self._changed = threading.Condition()
        self._pages: deque[_Page] = deque()
        self._finished = False
        self._failure: BaseException | None = None
        self._closed = False

    # -- worker side ------------------------------------------------------------------

    def wait_for_room(self) -> bool:
        """Block until a page may be fetched; False once the lane is closed (stop)."""
        with self._changed:
            self._changed.wait_for(lambda: self._closed or len(self._pages) < PAGES_AHEAD)
            return not self._closed

    def put(self, page: _Page) -> None:
        with self._changed:
            self._pages.append(page)
            self._changed.notify_all()

    def finish(self, failure: BaseException | None) -> None:
        with self._changed:
            self._finished, self._failure = True, failure
            self._changed.notify_all()

    # -- consumer side ----------------------------------------------------------------

    def take(self) -> _Page | None:
        """The next page, None at the end; raises the worker's error after its pages."""
        with self._changed:
            self._changed.wait_for(lambda: self._pages or self._finished or self._closed)
            if self._closed:
                raise LokiError("the Loki source was closed while it was being read")
            if self._pages:
                page = self._pages.popleft()
                self._changed.notify_all()
                return page
            if self._failure is not None:
                raise self._failure
            return None

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()


class _Prefetch:
    """The worker threads of one ``entries`` call: one per sub-range, ``concurrency`` live.

    A sub-range's worker starts when a lane frees up, i.e. when the consumer has drained
    the oldest lane, so pages in memory stay bounded however long the window is.
    """

    def __init__(self, source: LokiSource, ranges: Iterator[tuple[int, int]]) -> None:
        self._source = source
        self._ranges = ranges
        self._stop = threading.Event()
        self._lanes: deque[tuple[_Lane, threading.Thread]] = deque()

    def pages(self) -> Iterator[_Page]:
        self._start_workers()
        while self._lanes:
            lane, worker = self._lanes[0]
            while (page := lane.take()) is not None:
                yield page
            worker.join()  # it finished the lane, so it is returning
            self._lanes.popleft()
            lane.cost.drain_into(self._source.stats)
            self._start_workers()

    def account(self) -> None:
        """Move what the live workers have spent so far into the source's stats."""
        for lane, _ in self._lanes:
            lane.cost.drain_into(self._source.stats)

    def close(self) -> None:
        """Stop every worker (blocked on room, waiting to retry, or between requests).

        Then account what they spent: the consumer may never resume to do it (a source
        closed while its iterator is still suspended).
        """
        self._stop.set()
        for lane, _ in self._lanes:
            lane.close()
        for _, worker in self._lanes:
            worker.join()
        self.account()
        self._lanes.clear()

    def _start_workers(self) -> None:
        while len(self._lanes) < self._source.concurrency and not self._stop.is_set():
            bounds = next(self._ranges, None)
            if bounds is None:
                return
            lane = _Lane()
            worker = threading.Thread(
                target=self._work,
                args=(lane, *bounds),
                name=f"loki-range-{format_ns(bounds[0])}",
                daemon=True,  # joined by close(); daemon only so a hung Loki cannot block exit
            )
            worker.start()
            self._lanes.append((lane, worker))

    def _work(self, lane: _Lane, low: int, high: int) -> None:
        failure: BaseException | None = None
        try:
            with self._source.client.waits_end_on(self._stop):
                pages = self._source._range_pages(low, high, lane.cost)
                while lane.wait_for_room():
                    page = next(pages, None)
                    if page is None:
                        break
                    lane.put(page)
        except BaseException as exc:  # handed over: raised in the consumer, in order
            failure = exc
        lane.finish(failure)
