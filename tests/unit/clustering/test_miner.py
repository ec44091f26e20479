"""Clustering messages into templates with Drain (clustering.miner).

Raw lines next to the templates they must produce, Drain3's own test style.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from micro_gastown.clustering import OVERFLOW_ID, OVERFLOW_TEXT, Template, TemplateMiner


def _mine(lines: list[str]) -> tuple[TemplateMiner, list[int]]:
    miner = TemplateMiner()
    return miner, [miner.add(line) for line in lines]


@pytest.mark.parametrize(
    ("lines", "template"),
    [
        (
            [
                "payment gateway timeout after 30000 ms for order 12345",
                "payment gateway timeout after 29871 ms for order 99",
            ],
            "payment gateway timeout after <*> ms for order <*>",
        ),
        (
            [
                "request 3fa85f64-5717-4562-b3fc-2c963f66afa6 failed: upstream returned 503",
                "request 0b9e7a4c-1d2e-4f60-8a9b-c0d1e2f3a4b5 failed: upstream returned 502",
            ],
            "request <*> failed: upstream returned <*>",
        ),
        (
            [
                "fetch https://api.example.com/v1/items?page=2 timed out after 2.5s",
                "fetch http://10.0.0.7:8080/health timed out after 300ms",
            ],
            "fetch <*> timed out after <*>",
        ),
        (
            [
                "cannot open /var/lib/app/orders.db: permission denied",
                r"cannot open C:\data\orders.db: permission denied",
            ],
            "cannot open <*>: permission denied",
        ),
        (
            [
                "user 'alice' is not allowed on node 'review'",
                "user 'bob smith' is not allowed on node 'plan'",
            ],
            "user <*> is not allowed on node <*>",
        ),
        (
            [
                "span 4bf92f3577b34da6 retried 3 times since 2024-06-01T12:30:45Z",
                "span 00f067aa0ba902b7 retried 11 times since 2024-06-02T08:00:00.5Z",
            ],
            "span <*> retried <*> times since <*>",
        ),
        # Drain generalises a word that differs, when the rest of the line matches.
        (["tool search failed", "tool fetch failed"], "tool <*> failed"),
    ],
)
def test_similar_lines_share_a_template(lines: list[str], template: str) -> None:
    miner, ids = _mine(lines)
    assert ids == [1] * len(lines)
    assert miner.template(1) == template


def test_distinct_messages_stay_distinct() -> None:
    lines = [
        "schema validation failed for node classify",
        "rate limited by upstream, backing off",
        "cannot open /tmp/a.db: permission denied",
        "cannot open /tmp/a.db: no such file or directory",
        "LLM call returned an empty completion",
    ]
    miner, ids = _mine(lines)
    assert ids == [1, 2, 3, 4, 5]
    assert [miner.template(i) for i in ids] == [
        "schema validation failed for node classify",
        "rate limited by upstream, backing off",
        "cannot open <*>: permission denied",
        "cannot open <*>: no such file or directory",
        "LLM call returned an empty completion",
    ]


def test_ids_are_one_based_by_first_appearance() -> None:
    _, ids = _mine(["alpha beta", "gamma delta epsilon", "alpha beta", "zeta"])
    assert ids == [1, 2, 1, 3]


def test_template_returns_the_latest_generalisation() -> None:
    """An id handed out early shows the template as it is now, not as it was then."""
    miner = TemplateMiner()
    first = miner.add("node classify failed with code E1")
    assert miner.template(first) == "node classify failed with code E1"
    assert miner.add("node respond failed with code E2") == first
    assert miner.template(first) == "node <*> failed with code <*>"


def test_templates_most_frequent_first_ties_by_id() -> None:
    miner, _ = _mine(
        [
            "disk full on /dev/sda1 volume",
            "queue drained",
            "queue drained",
            "retry budget exhausted",
            "disk full on /dev/sdb2 volume",
            "queue drained",
        ]
    )
    assert miner.templates() == [
        Template(2, "queue drained", 3),
        Template(1, "disk full on <*> volume", 2),
        Template(3, "retry budget exhausted", 1),
    ]
    assert len(miner) == 3


def test_repeated_messages_count_without_changing_ids() -> None:
    """The exact and masked caches give the same answers Drain would."""
    lines = [f"order {n % 7} timed out after {n} ms" for n in range(500)] * 2
    miner, ids = _mine(lines)
    assert set(ids) == {1}
    assert miner.templates() == [Template(1, "order <*> timed out after <*> ms", 1000)]


def test_same_input_gives_same_ids_and_templates() -> None:
    rng = random.Random(42)
    words = ["node", "classify", "respond", "failed", "timeout", "retry", "tool", "error"]
    lines = [
        " ".join(rng.choice(words) for _ in range(rng.randint(1, 6))) + f" {rng.randint(0, 99)}"
        for _ in range(2000)
    ]
    first, first_ids = _mine(lines)
    second, second_ids = _mine(lines)
    assert first_ids == second_ids
    assert first.templates() == second.templates()


def test_empty_and_blank_messages_form_one_template() -> None:
    miner, ids = _mine(["", "   ", "real message"])
    assert ids == [1, 1, 2]
    assert miner.template(1) == ""


def test_unknown_id_raises_key_error() -> None:
    miner, _ = _mine(["a b c"])
    with pytest.raises(KeyError):
        miner.template(2)


def test_a_drain3_ini_in_the_working_directory_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Configuration is fixed in code: a stray drain3.ini cannot change the templates."""
    (tmp_path / "drain3.ini").write_text("[DRAIN]\nsim_th = 0.99\ndepth = 10\n")
    monkeypatch.chdir(tmp_path)
    miner, ids = _mine(["tool search failed", "tool fetch failed"])
    assert ids == [1, 1]
    assert miner.template(1) == "tool <*> failed"


def test_past_the_template_limit_new_messages_are_counted_not_grouped() -> None:
    miner = TemplateMiner(max_templates=2)
    first = miner.add("payment gateway timeout")
    second = miner.add("schema validation failed for field")
    assert (first, second) == (1, 2)
    assert miner.add("disk quota exceeded on volume now") == OVERFLOW_ID
    assert miner.add("yet another shape of message here today") == OVERFLOW_ID
    assert miner.add("payment gateway timeout") == first  # a known message keeps its id
    assert miner.overflowed == 2
    assert len(miner) == 2
    assert [t.template_id for t in miner.templates()] == [1, 2]  # the overflow is not one
    assert miner.template(OVERFLOW_ID) == OVERFLOW_TEXT


def test_the_limit_bounds_mining_of_text_that_never_repeats() -> None:
    rng = random.Random(7)
    words = ["".join(rng.choice("abcdefghij") for _ in range(5)) for _ in range(500)]
    miner = TemplateMiner(max_templates=50)
    ids = [miner.add(" ".join(rng.choice(words) for _ in range(8))) for _ in range(2000)]
    assert len(miner) == 50
    assert ids.count(OVERFLOW_ID) == miner.overflowed > 1000
