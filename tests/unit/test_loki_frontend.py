"""How far a full page of Loki's merged answer is trusted (``sources.loki.frontend``).

The bound is checked against lokisim's model of Loki's merge (``lokisim.frontend``, which
gives Loki 3.4.6's answers entry for entry) on many random pages with shared timestamps.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from micro_gastown.sources.loki.frontend import answer_was_merged, complete_through

from lokisim.engine import LogEntry
from lokisim.frontend import _merge
from lokisim.store import LabelKey


@pytest.mark.parametrize(
    ("stats", "merged"),
    [
        ({"summary": {"splits": 0, "shards": 1}}, False),  # one querier answered
        ({"summary": {"splits": 1, "shards": 1}}, False),  # the first split filled the page
        ({"summary": {"splits": 2, "shards": 2}}, True),
        ({"summary": {"splits": 0, "shards": 4}}, True),
        ({"summary": {"splits": 0}}, True),  # no statistics to go by: assume the worst
        ({}, True),
        ({"summary": "?"}, True),
    ],
)
def test_an_answer_counts_as_merged_unless_loki_says_one_part_answered(
    stats: dict[str, Any], merged: bool
) -> None:
    assert answer_was_merged(stats) is merged


def test_a_page_of_one_stream_is_trusted_to_its_end() -> None:
    assert complete_through([(1, "a"), (2, "a"), (5, "a")]) == 5


def test_the_page_loki_answered_in_issue_9_is_trusted_up_to_the_gap() -> None:
    """Asked for 4, Loki answered p-30, s+1, s+2 and r+10, leaving out s+3."""
    page = [(-30, "p"), (1, "s"), (2, "s"), (10, "r")]
    assert complete_through(page) == 1


def _stream(name: str) -> LabelKey:
    return (("stream", name),)


def _first(entries: list[LogEntry], low: int, high: int, limit: int) -> list[LogEntry]:
    inside = sorted((e for e in entries if low <= e.ts < high), key=lambda e: (e.ts, e.stream))
    return inside[:limit]


def _groups(entries: list[LogEntry]) -> list[tuple[LabelKey, list[LogEntry]]]:
    groups: dict[LabelKey, list[LogEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.labels, []).append(entry)
    return list(groups.items())


def test_everything_before_the_trusted_timestamp_is_on_any_merged_page() -> None:
    rng = random.Random(9)
    merged_out_of_order = 0
    for _ in range(3000):
        boundary = rng.randrange(2, 30)
        entries = []
        for number in range(rng.randrange(2, 7)):
            name = f"s{number}"
            stamps = sorted(rng.sample(range(40), rng.randrange(1, 15)))
            entries += [
                LogEntry(ts, name, index, f"{name}@{ts}", _stream(name))
                for index, ts in enumerate(stamps)
            ]
        limit = rng.randrange(2, 20)
        answers = [_first(entries, 0, boundary, limit)]
        if len(answers[0]) < limit:
            answers.append(_first(entries, boundary, 40, limit))
        answers_as_groups = [_groups(answer) for answer in answers]
        taken = [entry for _, group in _merge(answers_as_groups, limit, True) for entry in group]
        if len(taken) < limit:
            continue  # not a full page: Loki answered everything
        page = sorted(taken, key=lambda e: e.ts)
        trusted = complete_through([(e.ts, e.labels) for e in page])
        on_page = {(e.labels, e.line) for e in page}
        earlier = [e for e in entries if e.ts < trusted]
        assert all((e.labels, e.line) in on_page for e in earlier)
        assert trusted >= page[0].ts
        first = sorted(entries, key=lambda e: e.ts)[:limit]
        merged_out_of_order += page[-1].ts > first[-1].ts
    assert merged_out_of_order > 100  # the cases that matter were many
