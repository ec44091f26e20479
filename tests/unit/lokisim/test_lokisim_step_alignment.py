"""Metric range queries land on multiples of the step, as in a real Loki.

Loki's query frontend splits queries by ``split_queries_by_interval`` (1h by default) and,
before splitting a metric range query, rounds ``start`` down and ``end`` up to multiples
of the step. Measured on Loki 3.4.6: ``sum(count_over_time(X [1h]))`` asked from 06:43
with ``step=3600s`` answers at 07:00, 08:00, 09:00, each sample counting ``(t - 1h, t]``
to the nanosecond.
"""

from __future__ import annotations

import json

from lokisim import LokiSim
from lokisim.client import get
from lokisim.clock import HOUR, MINUTE, SECOND

# An hour boundary (a multiple of 3600 s) and lines around it, to the nanosecond.
BOUNDARY = 1_700_002_800 * SECOND  # 2023-11-14T23:00:00Z
OFFSETS = (-1_000_001, -1_000, -1, 0, 1, 1_000, 1_000_001)
QUERY = 'sum(count_over_time({job="grid"} [1h]))'


def _load(loki: LokiSim) -> None:
    lines = [(BOUNDARY + offset, json.dumps({"offset": offset})) for offset in OFFSETS]
    lines += [(BOUNDARY - 50 * MINUTE, "early"), (BOUNDARY + 70 * MINUTE, "late")]
    loki.push({"job": "grid"}, sorted(lines))


def _matrix(loki: LokiSim, start: int, end: int, step: str = "3600s") -> list[tuple[int, str]]:
    response = get(
        f"{loki.url}/loki/api/v1/query_range",
        {"query": QUERY, "start": start, "end": end, "step": step},
    )
    assert response.status == 200, response.text
    (series,) = response.json()["data"]["result"]
    return [(int(ts) * SECOND - BOUNDARY, value) for ts, value in series["values"]]


def test_an_unaligned_range_query_is_answered_on_multiples_of_the_step(loki: LokiSim) -> None:
    _load(loki)
    start = BOUNDARY - 17 * MINUTE - 123  # 22:42:59.999999877, not on the grid
    # Asked for 22:43 and 23:43; answered at 22:00 (empty, so left out), 23:00 and 00:00.
    assert _matrix(loki, start, start + HOUR) == [(0, "5"), (HOUR, "3")]


def test_a_grid_sample_counts_its_end_and_not_its_start(loki: LokiSim) -> None:
    """(t - 1h, t]: the line exactly on the boundary is the earlier bucket's."""
    _load(loki)
    # 23:00 counts "early" and the offsets <= 0; 00:00 the offsets > 0 ("late" is later).
    assert _matrix(loki, BOUNDARY, BOUNDARY + HOUR) == [(0, "5"), (HOUR, "3")]


def test_without_splitting_steps_stay_where_they_were_asked(loki: LokiSim) -> None:
    """A Loki with split_queries_by_interval: 0 evaluates at start + k * step."""
    _load(loki)
    loki.limits.split_queries_by_interval_ns = 0
    start = BOUNDARY - 30 * MINUTE
    # (21:30, 22:30] holds "early"; (22:30, 23:30] the seven lines around the boundary.
    assert _matrix(loki, start, start + HOUR) == [(-30 * MINUTE, "1"), (30 * MINUTE, "7")]


def test_instant_queries_are_not_aligned(loki: LokiSim) -> None:
    """``/query`` evaluates at ``time`` to the nanosecond: ``(time - range, time]``."""
    _load(loki)
    response = get(
        f"{loki.url}/loki/api/v1/query",
        {"query": 'sum(count_over_time({job="grid"} [1ms]))', "time": BOUNDARY - 1},
    )
    (sample,) = response.json()["data"]["result"]
    assert sample["value"][1] == "2"  # -1000 and -1; not 0, not -1_000_001
