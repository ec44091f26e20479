"""Loki's query frontend for limited log queries: split by interval, then merged, as Loki 3.4.

The frontend cuts ``[start, end)`` at multiples of ``split_queries_by_interval`` (the first
piece keeps the asked ``start``), asks the pieces in direction order, each for ``limit``
entries, and stops once the answers hold ``limit`` together. More than ``limit`` are then
merged by ``mergeOrderedNonOverlappingStreams`` (``pkg/querier/queryrange``): a priority
queue of streams that takes one entry at a time and puts the rest of the stream back at
the end of the heap *without* restoring heap order. The stream just taken from is thereby
skipped for one step, so a merged answer can hold a later entry in place of an earlier
one. Measured against Loki 3.4.6: the same answers, entry for entry, for 25 random
queries over an hour boundary (the ties inside one split aside, which this does not model).

The statistics say how many answers were merged (``splits``, ``shards``): 0 and 1 for a
query inside one interval, as Loki reports them.
"""

from __future__ import annotations

from collections.abc import Callable

from .engine import LogEntry, Work, select_logs
from .logql.syntax import LogQuery
from .store import LabelKey, Store, format_labels

Groups = list[tuple[LabelKey, list[LogEntry]]]


def split_bounds(start: int, end: int, interval: int) -> list[tuple[int, int]]:
    """``[start, end)`` cut at multiples of ``interval`` (Loki's ``util.ForInterval``)."""
    if interval <= 0:
        return [(start, end)]
    pieces: list[tuple[int, int]] = []
    low = start - start % interval
    while low < end:
        pieces.append((max(low, start), min(low + interval, end)))
        low += interval
    return pieces or [(start, end)]


def select_split_logs(
    store: Store,
    query: LogQuery,
    start: int,
    end: int,
    limit: int,
    forward: bool,
    interval: int,
    work: Work,
) -> tuple[Groups, int]:
    """The frontend's answer to a log query, and how many split answers it merged."""
    pieces = split_bounds(start, end, interval)
    if len(pieces) == 1:
        return select_logs(store, query, start, end, limit, forward, work), 0
    if not forward:
        pieces.reverse()
    answers: list[Groups] = []
    total = 0
    for low, high in pieces:
        part = Work()
        answers.append(select_logs(store, query, low, high, limit, forward, part))
        work.lines += part.lines
        work.bytes += part.bytes
        total += sum(len(entries) for _, entries in answers[-1])
        if total >= limit:
            break
    merged = _merge(answers, limit, forward)
    work.returned = sum(len(entries) for _, entries in merged)
    return merged, len(answers)


def _merge(answers: list[Groups], limit: int, forward: bool) -> Groups:
    """``mergeOrderedNonOverlappingStreams``: all entries when they fit, else ``limit``
    of them through Loki's priority queue."""
    streams: dict[LabelKey, list[LogEntry]] = {}
    for answer in answers:
        for key, entries in answer:
            streams.setdefault(key, []).extend(entries)
    for entries in streams.values():  # byDir.merge: a stable sort in direction order
        entries.sort(key=lambda entry: entry.ts, reverse=not forward)
    keys = sorted(streams, key=format_labels, reverse=not forward)
    if sum(len(entries) for entries in streams.values()) <= limit:
        return [(key, streams[key]) for key in keys]
    taken: dict[LabelKey, list[LogEntry]] = {}
    for key, entry in _priority_queue([(key, streams[key]) for key in keys], limit, forward):
        taken.setdefault(key, []).append(entry)
    return [(key, taken[key]) for key in keys if key in taken]


def _priority_queue(
    streams: list[tuple[LabelKey, list[LogEntry]]], limit: int, forward: bool
) -> list[tuple[LabelKey, LogEntry]]:
    """Loki's ``priorityqueue`` driven by Go's ``container/heap``, step for step."""

    def less(a: tuple[LabelKey, list[LogEntry]], b: tuple[LabelKey, list[LogEntry]]) -> bool:
        first, second = a[1][0].ts, b[1][0].ts
        return first < second if forward else first > second

    heap = [(key, list(entries)) for key, entries in streams if entries]
    for index in range(len(heap) // 2 - 1, -1, -1):  # heap.Init
        _down(heap, less, index, len(heap))
    taken: list[tuple[LabelKey, LogEntry]] = []
    while len(taken) < limit and heap:
        last = len(heap) - 1  # heap.Pop: swap the root to the end, fix the rest...
        heap[0], heap[last] = heap[last], heap[0]
        _down(heap, less, 0, last)
        key, entries = heap.pop()  # ...then priorityqueue.Pop takes it from the end
        if len(entries) > 1:
            heap.append((key, entries[1:]))  # back at the end, heap order not restored
        taken.append((key, entries[0]))
    return taken


def _down(
    heap: list[tuple[LabelKey, list[LogEntry]]],
    less: Callable[[tuple[LabelKey, list[LogEntry]], tuple[LabelKey, list[LogEntry]]], bool],
    index: int,
    size: int,
) -> None:
    """Go's ``container/heap.down``."""
    while True:
        child = 2 * index + 1
        if child >= size:
            return
        right = child + 1
        if right < size and less(heap[right], heap[child]):
            child = right
        if not less(heap[child], heap[index]):
            return
        heap[index], heap[child] = heap[child], heap[index]
        index = child
