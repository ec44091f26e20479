"""In-memory stream store: entries per label set, kept sorted by timestamp.

Pushes append (fast path when in order, which is how fixtures load millions of entries)
and the store sorts lazily before the next read. Exact duplicates (same stream,
timestamp and line) are dropped, as Loki's ingester does, so replayed pushes are
idempotent.
"""

from __future__ import annotations

import functools
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .errors import BadRequest
from .logql.syntax import Matcher

LabelKey = tuple[tuple[str, str], ...]


def label_key(labels: Mapping[str, str]) -> LabelKey:
    """A hashable, sorted identity for a label set; empty values are dropped like Loki."""
    return tuple(sorted((k, v) for k, v in labels.items() if v != ""))


def format_labels(key: LabelKey) -> str:
    """Loki's label-set string, ``{a="x", b="y"}``, used for ordering and messages."""
    inner = ", ".join(f"{k}={_quote(v)}" for k, v in key)
    return "{" + inner + "}"


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


@dataclass
class Stream:
    """One label set and its entries, as parallel timestamp / line lists."""

    key: LabelKey
    timestamps: list[int] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    ordered: bool = True

    @property
    def labels(self) -> dict[str, str]:
        """The stream labels as a fresh dict."""
        return dict(self.key)

    @functools.cached_property
    def name(self) -> str:
        """The label-set string (``{job="x"}``); the key never changes."""
        return format_labels(self.key)

    def append(self, entries: Iterable[tuple[int, str]]) -> None:
        """Add entries; keep the sorted fast path when they arrive in order."""
        ts_list, lines = self.timestamps, self.lines
        last = ts_list[-1] if ts_list else None
        for ts, line in entries:
            if last is not None and ts <= last:
                if ts < last:
                    self.ordered = False
                elif self.ordered and self._has_duplicate(ts, line):
                    continue
            ts_list.append(ts)
            lines.append(line)
            last = ts

    def _has_duplicate(self, ts: int, line: str) -> bool:
        index = len(self.timestamps) - 1
        while index >= 0 and self.timestamps[index] == ts:
            if self.lines[index] == line:
                return True
            index -= 1
        return False

    def settle(self) -> None:
        """Sort by timestamp (stable: ties keep push order) and drop exact duplicates."""
        if self.ordered:
            return
        pairs = sorted(zip(self.timestamps, self.lines, strict=True), key=lambda p: p[0])
        kept: list[tuple[int, str]] = []
        seen: set[str] = set()
        for ts, line in pairs:
            if not kept or kept[-1][0] != ts:
                seen = set()
            if line in seen:
                continue
            seen.add(line)
            kept.append((ts, line))
        self.timestamps = [ts for ts, _ in kept]
        self.lines = [line for _, line in kept]
        self.ordered = True

    def span(self, start: int, end: int, *, end_inclusive: bool = False) -> tuple[int, int]:
        """Index range of entries with ``start <= ts < end`` (``<= end`` if inclusive)."""
        lo = bisect_left(self.timestamps, start)
        hi = (bisect_right if end_inclusive else bisect_left)(self.timestamps, end)
        return lo, max(lo, hi)


class Store:
    """All streams, guarded by one lock: HTTP threads and ``push`` share it."""

    def __init__(self) -> None:
        self._streams: dict[LabelKey, Stream] = {}
        self.lock = threading.RLock()
        # Selections by matchers, valid until the next push: paging a window asks the same
        # selector again and again, over as many streams as there are spans.
        self._selections: dict[tuple[tuple[str, str, str], ...], list[Stream]] = {}

    def push(self, labels: Mapping[str, str], entries: Iterable[tuple[int, str]]) -> None:
        """Append entries to the stream named by ``labels``."""
        key = label_key(labels)
        if not key:
            raise BadRequest("error at least one label pair is required per stream")
        with self.lock:
            self._selections.clear()
            stream = self._streams.get(key)
            if stream is None:
                stream = self._streams[key] = Stream(key)
            stream.append(entries)

    def select(self, matchers: Iterable[Matcher]) -> list[Stream]:
        """Streams matching every matcher, settled and ordered by label string."""
        matcher_list = list(matchers)
        cache_key = tuple((m.name, str(m.op), m.value) for m in matcher_list)
        with self.lock:
            cached = self._selections.get(cache_key)
            if cached is not None:
                return list(cached)
            chosen = [
                stream
                for stream in self._streams.values()
                if all(m.matches(dict(stream.key).get(m.name, "")) for m in matcher_list)
            ]
            for stream in chosen:
                stream.settle()
            chosen.sort(key=lambda s: s.name)
            self._selections[cache_key] = chosen
        return list(chosen)

    def all_streams(self) -> list[Stream]:
        """Every stream, settled."""
        with self.lock:
            streams = list(self._streams.values())
            for stream in streams:
                stream.settle()
        return streams

    def clear(self) -> None:
        """Forget every stream (between tests sharing one server)."""
        with self.lock:
            self._streams.clear()
            self._selections.clear()

    @property
    def entry_count(self) -> int:
        """Total stored entries, for assertions on fixture loading."""
        with self.lock:
            return sum(len(s.timestamps) for s in self._streams.values())
