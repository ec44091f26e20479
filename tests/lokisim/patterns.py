"""Loki 3's pattern ingester, reduced to what a client can observe.

Loki mines each stream's lines with Drain into templates where variable tokens read
``<_>``, counts lines per template in 10 s samples, and answers
``GET /loki/api/v1/patterns`` with, per template, ``[unix seconds, count]`` samples
re-bucketed by ``step`` (empty steps between two samples of one chunk count 0).
The simulator replaces Drain by a deterministic masker (``template``): timestamps, UUIDs,
hex ids and numbers become ``<_>``, and so does a quoted value that contains one, so
``"node":"classify"`` stays while ``"latency_ms":1234`` becomes ``"latency_ms":<_>``.
The bucketing, the retention window and the answer's shape follow Loki:
``pkg/pattern/drain/chunk.go`` (10 s resolution, 1 h chunks, ``ForRange``) and
``pkg/util/marshal`` (``WriteQueryPatternsResponseJSON``, which HTML-escapes the pattern).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter, defaultdict

from .config import HOUR_NS, Patterns
from .errors import BadRequest
from .logql import parse_log_query
from .store import Store
from .timeparse import NS_PER_MS, NS_PER_SECOND

RESOLUTION_NS = 10 * NS_PER_SECOND  # drain.TimeResolution: samples are 10 s apart at best
CHUNK_NS = HOUR_NS  # maxChunkTime: a chunk never spans more than an hour of samples
PLACEHOLDER = "<_>"

_VARIABLE = re.compile(
    r"""
      \d{4}-\d{2}-\d{2}[T\ ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?   # RFC 3339
    | \b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b  # UUID
    | \b0x[0-9a-fA-F]+\b                                                          # 0x hex
    | \b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{8,}\b                           # hex id
    | (?<![\w.])-?\d+(?:\.\d+)?(?:[a-zµ]{1,2})?(?![\w.])                          # 42, 1.5s
    """,
    re.VERBOSE,
)
_QUOTED_VALUE = re.compile(r'(?<=[=:])"((?:[^"\\]|\\.)*)"')
_REPEATED = re.compile(r"(?:<_>){2,}")


def template(line: str) -> str:
    """The pattern a line falls under: variable tokens and quoted values holding one masked."""
    masked = _VARIABLE.sub(PLACEHOLDER, line)
    masked = _QUOTED_VALUE.sub(
        lambda m: PLACEHOLDER if PLACEHOLDER in m.group(1) else m.group(0), masked
    )
    return _REPEATED.sub(PLACEHOLDER, masked)


def _truncate(ts: int, step: int) -> int:
    return ts - ts % step


def _chunks(times: list[int]) -> list[Counter[int]]:
    """10 s sample counts split into chunks the way ``Chunks.Add`` does (input sorted)."""
    chunks: list[Counter[int]] = []
    first = 0
    for ts in times:
        sample = _truncate(ts, RESOLUTION_NS)
        if not chunks or sample - first >= CHUNK_NS:
            chunks.append(Counter())
            first = sample
        chunks[-1][sample] += 1
    return chunks


def _for_range(chunk: Counter[int], start: int, end: int, step: int) -> dict[int, int]:
    """``Chunk.ForRange``: samples in ``[start, end)`` summed per step, gaps as zeros."""
    inside = sorted(ts for ts in chunk if start <= ts < end)
    if not inside:
        return {}
    if step == RESOLUTION_NS:
        return {ts: chunk[ts] for ts in inside}
    buckets = dict.fromkeys(
        range(_truncate(inside[0], step), _truncate(inside[-1], step) + 1, step), 0
    )
    for ts in inside:
        buckets[_truncate(ts, step)] += chunk[ts]
    return buckets


def query_patterns(
    store: Store, settings: Patterns, selector: str, start: int, end: int, step: int, now: int
) -> list[dict[str, object]]:
    """The ``data`` array: patterns of the streams ``selector`` matches, most lines first.

    Lines older than ``now - settings.retention_ns`` are gone from the ingester and count
    for nothing, whatever ``start`` says.
    """
    query = parse_log_query(selector)
    if query.stages:
        raise BadRequest("only label matchers is supported")
    step = max(step, RESOLUTION_NS)
    # Loki queries in milliseconds (util.RoundToMilliseconds): start rounds down, end up.
    start = _truncate(start, NS_PER_MS)
    end = -(-end // NS_PER_MS) * NS_PER_MS
    oldest = now - settings.retention_ns
    merged: dict[str, Counter[int]] = defaultdict(Counter)
    for stream in store.select(query.matchers):
        times_by_template: dict[str, list[int]] = defaultdict(list)
        for index in range(bisect_left(stream.timestamps, oldest), len(stream.timestamps)):
            times_by_template[template(stream.lines[index])].append(stream.timestamps[index])
        for pattern, times in times_by_template.items():
            for chunk in _chunks(times):
                merged[pattern].update(_for_range(chunk, start, end, step))
    ranked = sorted(merged.items(), key=lambda item: (-item[1].total(), item[0]))
    return [
        {
            "pattern": pattern,
            "samples": [[ts // NS_PER_SECOND, count] for ts, count in sorted(samples.items())],
        }
        for pattern, samples in ranked
        if samples
    ]


def html_escape_json(body: bytes) -> bytes:
    """jsoniter's ``WriteStringWithHTMLEscaped``: ``<``, ``>``, ``&`` as ``\\u003c`` etc.

    Safe on a whole JSON document: those bytes can only occur inside strings.
    """
    return body.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")
