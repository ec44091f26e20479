"""Pattern ids, pinned as literals: one per detector kind, from fixed hand-built input.

A pattern id is a fingerprint of its type and key (report/fingerprint.py). Users track ids
across runs (PR branches and titles carry them, a finding is recognised as the same one next
week), so an id must never change by accident: not by a new hash, a changed slug, a renamed
key field or a detector that keys its findings differently.

IF ONE OF THESE TESTS FAILS: the ids of existing findings have changed. That is a breaking
change for every user who tracks ids across runs. Do not just paste the new value in: undo
the change, or make it on purpose, say so in the changelog, and only then update the literal.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from micro_gastown.dsl import read_dsl
from micro_gastown.report.fingerprint import fingerprint
from micro_gastown.report.model import PatternType

from factories import Export, analyze, patterns_of

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "exomonad-sample"

# (kind, key as the detector makes it, its id). Computed once, by the code of the release
# that pinned them; editing a literal means every user's tracked ids change (see above).
PINNED: list[tuple[PatternType, dict[str, str | None], str]] = [
    (
        PatternType.SLOW_LLM,
        {"node": "summarize", "model": "claude-haiku-4-5"},
        "slow-llm-summarize-claude-haiku-4-5-b57e1420da",
    ),
    (
        PatternType.FAILED_TRANSITION,
        {"from": "route", "to": "refund"},
        "failed-transition-route-refund-c90cce76ae",
    ),
    (
        PatternType.REPEATED_ERROR,
        {"template": "connection refused to <*> port <*>"},
        "repeated-error-connection-refused-to-port-a803f20e11",
    ),
    (
        PatternType.DEAD_PATH,
        {"from": "route", "to": "escalate"},
        "dead-path-route-escalate-032b8e528a",
    ),
    (PatternType.TOKEN_BLOAT, {"node": "answerFaq"}, "token-bloat-answerfaq-0935b8fdba"),
    (
        PatternType.EFFECT_FAILURE,
        {"effect_type": "PaymentApi"},
        "effect-failure-paymentapi-2b1a86fd1c",
    ),
]


def test_every_kind_has_a_pinned_id() -> None:
    assert {kind for kind, _, _ in PINNED} == set(PatternType)


@pytest.mark.parametrize(("kind", "key", "pinned"), PINNED, ids=[k.value for k, _, _ in PINNED])
def test_the_fingerprint_of_a_key_is_pinned(
    kind: PatternType, key: dict[str, str | None], pinned: str
) -> None:
    assert fingerprint(kind, key) == pinned


def test_the_edge_cases_of_the_readable_part_are_pinned() -> None:
    # a key value that is None reads "none" (slow_llm on calls outside any node)
    none_node = {"node": None, "model": "claude-haiku-4-5"}
    assert fingerprint(PatternType.SLOW_LLM, none_node) == (
        "slow-llm-none-claude-haiku-4-5-5186fa4ac4"
    )
    # nothing readable left: the prefix and the digest alone
    assert fingerprint(PatternType.REPEATED_ERROR, {"template": "<*> <*>"}) == (
        "repeated-error-eaf267f669"
    )


# Hand-built exports, each making one finding of its kind with the key pinned above.


def _slow_llm(exp: Export) -> None:
    exp.transition("s1", "entry", "summarize")
    for latency in [100] * 18 + [5200, 5300]:
        exp.llm("s1", latency=latency, model="claude-haiku-4-5")


def _failed_transition(exp: Export) -> None:
    for i in range(100):
        exp.transition(f"r{i}", "route", "refund")
        if i < 15:
            exp.error(f"r{i}", f"payment gateway timeout after {30000 + i} ms for order {i}")
        else:
            exp.transition(f"r{i}", "refund", "summarize")


def _repeated_error(exp: Export) -> None:
    for i in range(10):
        exp.error(None, f"connection refused to 10.0.0.{i} port {5000 + i}")


def _dead_path(exp: Export) -> None:
    for i in range(300):
        s = f"s{i}"
        exp.transition(s, "entry", "classify").transition(s, "classify", "route")
        if i % 2:
            exp.transition(s, "route", "answerFaq").transition(s, "answerFaq", "summarize")
        else:
            exp.transition(s, "route", "refund").transition(s, "refund", "summarize")
        exp.transition(s, "summarize", "exit")


def _token_bloat(exp: Export) -> None:
    exp.transition("s", "entry", "answerFaq")
    for _ in range(10):
        exp.llm("s", prompt=9000, completion=2000)


def _effect_failure(exp: Export) -> None:
    exp.transition("s", "route", "refund")
    for i in range(100):
        exp.effect("s", "PaymentApi", success=i >= 15, latency=100 + i)


BUILDERS: dict[PatternType, Callable[[Export], None]] = {
    PatternType.SLOW_LLM: _slow_llm,
    PatternType.FAILED_TRANSITION: _failed_transition,
    PatternType.REPEATED_ERROR: _repeated_error,
    PatternType.DEAD_PATH: _dead_path,
    PatternType.TOKEN_BLOAT: _token_bloat,
    PatternType.EFFECT_FAILURE: _effect_failure,
}


@pytest.mark.parametrize(("kind", "key", "pinned"), PINNED, ids=[k.value for k, _, _ in PINNED])
def test_an_analysis_gives_the_pinned_id(
    tmp_path: Path, kind: PatternType, key: dict[str, str | None], pinned: str
) -> None:
    """Through the detector and the report: a detector that keys its findings differently
    changes ids just as a new hash would."""
    exp = Export()
    BUILDERS[kind](exp)
    dsl: Any = read_dsl(SAMPLE) if kind is PatternType.DEAD_PATH else None
    found = {p.id: p.key for p in patterns_of(analyze(exp, tmp_path, dsl=dsl), kind.value)}
    assert found.get(pinned) == key, found
