"""A look's verdict: alpha split over comparisons × looks, and how comparisons combine."""

from __future__ import annotations

from datetime import timedelta

import pytest

from micro_gastown.watch.assess import Measured, judge_look
from micro_gastown.watch.judge import Counts, JudgePolicy, Verdict
from micro_gastown.watch.looks import DAY_NS, WatchPlan

MERGED = 1_780_000_000 * 1_000_000_000
LOOK = WatchPlan(watch_days=7, deploy_lag=timedelta(0)).look(MERGED, MERGED + 2 * DAY_NS)
assert LOOK is not None

FLAT = (Counts(400, 10_000), Counts(400, 10_000))
DOUBLED = (Counts(400, 10_000), Counts(800, 10_000))
HALVED = (Counts(400, 10_000), Counts(200, 10_000))
SPARSE = (Counts(3, 10_000), Counts(6, 10_000))


def measured(name: str, counts: tuple[Counts, Counts], *, overall: bool = False) -> Measured:
    return Measured(name, "calls", counts[0], counts[1], overall=overall)


def test_alpha_is_split_over_every_comparison_and_every_look() -> None:
    policy = JudgePolicy(alpha=0.007)
    assessment = judge_look(
        LOOK, [measured("a", FLAT), measured("overall", FLAT, overall=True)], [], policy
    )
    assert assessment.alpha_per_test == pytest.approx(0.007 / (2 * 7))


@pytest.mark.parametrize(
    ("finding", "overall", "expected"),
    [
        (HALVED, DOUBLED, Verdict.REGRESSED),  # fixed its finding, broke the rest
        (DOUBLED, FLAT, Verdict.REGRESSED),
        (HALVED, FLAT, Verdict.IMPROVED),
        (FLAT, FLAT, Verdict.NO_CHANGE),
        (SPARSE, SPARSE, Verdict.INCONCLUSIVE),
        (SPARSE, FLAT, Verdict.NO_CHANGE),
    ],
)
def test_comparisons_combine_worst_first(
    finding: tuple[Counts, Counts], overall: tuple[Counts, Counts], expected: Verdict
) -> None:
    assessment = judge_look(
        LOOK,
        [measured("f", finding), measured("overall", overall, overall=True)],
        [],
        JudgePolicy(),
    )
    assert assessment.verdict is expected
    if expected is Verdict.REGRESSED:
        assert all(c.judgement.verdict is Verdict.REGRESSED for c in assessment.deciding)
        assert assessment.deciding


def test_nothing_measured_is_inconclusive() -> None:
    assert judge_look(LOOK, [], [], JudgePolicy()).verdict is Verdict.INCONCLUSIVE
