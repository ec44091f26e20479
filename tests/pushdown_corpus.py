"""Exports that put push-down's span reads where Loki's step grid and a window disagree.

Push-down reads the spans of errors a hundred at a time (``SCOPES_PER_QUERY``), and only
in the parts of the window where a count says the batch has lines. Loki answers that count
on multiples of the step (whole hours), not at the window's own sub-range ends; so a
window starting at 05:51 has partial hours at both ends, and a batch whose spans all sit
in one of them is the case that once went unread. :func:`edge_spans_export` builds
exactly that: one batch of failing spans in the first minutes of the window, one in the
middle, one in the last minutes, each span a route->refund transition that fails.
"""

from __future__ import annotations

from typing import Final

from micro_gastown.analysis.pushdown.attention import SCOPES_PER_QUERY

from factories import Export

MINUTE_NS: Final = 60 * 10**9
HOUR_NS: Final = 60 * MINUTE_NS
EDGE_NS: Final = 4 * MINUTE_NS
"""How close to the window's ends the edge batches sit."""


def edge_spans_export(start_ns: int, end_ns: int, *, job: str = "exomonad-native") -> Export:
    """Three batches of ``SCOPES_PER_QUERY`` failing spans in ``[start_ns, end_ns)``: the
    first ``EDGE_NS`` of it, its middle, and its last ``EDGE_NS``."""
    exp = Export(start_ns, job=job)
    middle = (start_ns + end_ns) // 2
    batches = (start_ns, middle, end_ns - EDGE_NS)
    gap_ms = EDGE_NS // SCOPES_PER_QUERY // 1_000_000
    for batch, first in enumerate(batches):
        for i in range(SCOPES_PER_QUERY):
            span = f"b{batch}s{i}"
            exp.now = first + i * gap_ms * 1_000_000
            exp.transition(span, "classify", "route").transition(span, "route", "refund")
            exp.effect(span, "PaymentApi", success=False, latency=30_000 + i)
            exp.error(span, f"payment gateway timeout after {30_000 + i} ms for order {i}")
            exp.transition(span, "refund", "summarize")
    return exp


def unaligned_start(earliest_ns: int, latest_ns: int) -> int:
    """A start in ``[earliest_ns, latest_ns]`` (at least ten minutes apart) that is well
    off the hour grid: 5-25 or 35-55 minutes past an hour, plus a few odd nanoseconds.

    Below 30 minutes the window's last partial hour is the one a grid-blind reader
    missed, above it the first; 30 itself sits on a rounding tie, 0 on the grid.
    """
    candidate = earliest_ns - earliest_ns % MINUTE_NS + MINUTE_NS + 123_456_789
    while candidate <= latest_ns:
        minute = candidate % HOUR_NS // MINUTE_NS
        if 5 <= minute <= 25 or 35 <= minute <= 55:
            return candidate
        candidate += MINUTE_NS
    raise ValueError("no start well off the hour grid in that range")
