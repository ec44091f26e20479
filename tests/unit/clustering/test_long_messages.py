"""Long messages are clustered by their start, so memory does not follow their length."""

from __future__ import annotations

import random
import re
import tracemalloc

from micro_gastown.clustering import (
    MAX_CLUSTERED_CHARS,
    MAX_CLUSTERED_TOKENS,
    TemplateMiner,
    clustered_part,
)
from micro_gastown.logql import template_regex

_VOCABULARY = [f"{a}{b}{c}" for a in "abcdefghij" for b in "abcdefghij" for c in "abcdefghij"]


def _words(rng: random.Random, count: int) -> str:
    """``count`` random three-letter words (4 characters each with their space)."""
    return " ".join(rng.choices(_VOCABULARY, k=count))


def test_short_messages_are_clustered_whole() -> None:
    message = "payment gateway timeout after 30000 ms " + "x" * 1000
    assert clustered_part(message) is message
    tokens = " ".join(["tok"] * MAX_CLUSTERED_TOKENS)
    assert clustered_part(tokens) is tokens  # exactly the token limit: nothing cut


def test_a_message_with_many_tokens_keeps_its_first_ones_and_a_wildcard() -> None:
    message = " ".join(f"t{i}" for i in range(10_000))
    part = clustered_part(message)
    assert part.split() == [f"t{i}" for i in range(MAX_CLUSTERED_TOKENS)] + ["<*>"]


def test_a_message_of_one_huge_token_is_cut_by_characters() -> None:
    part = clustered_part("z" * 5_000_000)
    assert part == "z" * MAX_CLUSTERED_CHARS + "<*>"


def test_long_messages_of_one_template_stay_one_cluster_whatever_their_lengths() -> None:
    """Variable parts of different lengths move the cut by characters, not by tokens."""
    body = _words(random.Random(3), 100_000)  # 400 kB
    miner = TemplateMiner()
    ids = {miner.add(f"payment failed after {n} ms: {body}") for n in (7, 12, 123, 99999)}
    assert len(ids) == 1
    (template,) = miner.templates()
    assert template.count == 4
    assert len(template.text) < MAX_CLUSTERED_CHARS
    assert miner.clipped == 4
    assert template.text.startswith("payment failed after <*> ms: ")
    assert template.text.endswith(" <*>")
    # The anchored LogQL regex made from the template still matches the whole message.
    assert re.fullmatch(template_regex(template.text), f"payment failed after 5 ms: {body}")


def test_clustering_a_long_message_takes_memory_of_its_start_not_its_length() -> None:
    """Three 1.2 MB messages: Drain's tokens and the masking copies cover only their start
    (they used to take tens of MB each)."""
    rng = random.Random(5)
    messages = [_words(rng, 300_000) for _ in range(3)]
    miner = TemplateMiner()
    tracemalloc.start()
    try:
        for message in messages:
            miner.add(message)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000
    assert miner.clipped == 3
