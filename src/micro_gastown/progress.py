"""How far a long read has got, for a face that shows progress (the CLI on a terminal).

The analysis calls a :data:`ProgressSink` every :data:`TICK_ENTRIES` log entries with a
:class:`Reading`: cheap enough for the hot loop (one bit test per entry), often enough for
a display that refreshes a few times a second on a million-line export.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

TICK_ENTRIES: Final = 1 << 15
"""Entries between two readings (a power of two: the check is a mask)."""


@dataclass(frozen=True, slots=True)
class Reading:
    """What has been read so far by the process showing progress."""

    step: str
    """What is running: ``reading file:logs.jsonl``, ``reading Loki``, ``LLM review``."""
    entries: int = 0
    bytes_read: int | None = None
    bytes_total: int | None = None
    """The size of what is being read, when known (a regular file or its part)."""
    requests: int | None = None
    """HTTP requests made so far (Loki)."""


ProgressSink = Callable[[Reading], None]
