"""How far a full page of a limited log query can be trusted, given Loki's query frontend.

Loki's frontend splits a log query by ``split_queries_by_interval`` (1h by default, on
the epoch grid), asks the splits in order, and merges their answers with a priority queue
of streams to keep ``limit`` entries. That queue puts a popped stream's remaining entries
back without restoring heap order (``priorityqueue.Pop`` in ``pkg/querier/queryrange``,
Loki 3.4), so each step takes the earliest entry of every stream *but the one taken just
before*. A merged page therefore need not be the first ``limit`` entries: measured against
Loki 3.4.6, a page spanning an hour boundary held entry 5,001 in place of entry 5,000, and
paging on from its last timestamp lost that entry for good (issue 9).

What such a page does guarantee: the entries it lacks below its last timestamp all belong
to one stream ``S`` and come after ``S``'s last entry on the page; each page entry later
than the earliest missing one was taken right after an entry of ``S``. So at most
``min(n_S, limit - n_S)`` page entries lie beyond a gap, ``n_S`` being ``S``'s entries on
the page, and everything up to the page's ``(limit - d)``-th timestamp is complete, ``d``
the largest such bound over the page's streams. A page of one stream loses nothing.

Whether an answer was merged, Loki says in its statistics (``splits`` and ``shards``, 0
or 1 when one querier answered alone); an answer without them is treated as merged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from typing import Any


def answer_was_merged(stats: Mapping[str, Any]) -> bool:
    """Whether Loki's frontend may have merged this answer from several sub-queries."""
    summary = stats.get("summary")
    if not isinstance(summary, Mapping):
        return True
    parts = [summary.get("splits"), summary.get("shards")]
    counts = [part for part in parts if isinstance(part, int)]
    return len(counts) < len(parts) or any(count > 1 for count in counts)


def complete_through(page: Sequence[tuple[int, Hashable]]) -> int:
    """The last timestamp up to which a full merged page holds every entry.

    ``page`` is ``(timestamp, stream)`` pairs sorted by timestamp. Entries *at* the
    returned timestamp may still be missing from other streams, as at any page cut.
    """
    size = len(page)
    per_stream = Counter(stream for _, stream in page)
    beyond_a_gap = max((min(n, size - n) for n in per_stream.values()), default=0)
    return page[size - 1 - beyond_a_gap][0]
