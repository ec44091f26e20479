"""The ``LogSource`` interface: anything that yields Loki log entries for a time window.

An entry is a plain tuple ``(ts_ns, line, labels)`` — the Loki log line exactly as shipped
(a JSON string for ExoMonad events) with its stream labels — because millions are made per
run. Sources stream; none may load a whole window into memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from micro_gastown.events.skips import SkipCounter
from micro_gastown.timewindow import TimeWindow

LogEntry = tuple[int, str, dict[str, str]]


@dataclass(slots=True)
class SourceStats:
    """What reading cost; copied into the report metadata."""

    lines_read: int = 0
    bytes_read: int = 0
    outside_window: int = 0
    duplicates: int = 0
    """Entries dropped as exact duplicates (same timestamp, labels and line), as Loki drops them."""
    requests: int = 0
    notes: list[str] = field(default_factory=list)

    def absorb(self, other: SourceStats) -> None:
        """Add what reading another part of the same source cost."""
        self.lines_read += other.lines_read
        self.bytes_read += other.bytes_read
        self.outside_window += other.outside_window
        self.duplicates += other.duplicates
        self.requests += other.requests
        self.notes.extend(note for note in other.notes if note not in self.notes)


class LogSource(Protocol):
    stats: SourceStats

    def describe(self) -> str:
        """A short, credential-free description for reports (``file:logs.jsonl.gz``)."""
        ...

    def entries(self, window: TimeWindow, skips: SkipCounter) -> Iterator[LogEntry]:
        """Yield entries inside ``window``; count unreadable lines in ``skips``."""
        ...

    def close(self) -> None:
        """Release connections; the source is not used afterwards."""
        ...
