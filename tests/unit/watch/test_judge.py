"""The rollback watcher's judge: verdicts on clear cases, the data and effect gates, bad
inputs, and one small seeded Monte Carlo (bench/judge.py measures the real figures)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from micro_gastown.errors import ConfigError
from micro_gastown.watch import Counts, JudgePolicy, Verdict, judge

CALLS = 10_000.0


def test_a_clear_threefold_rise_on_dense_counts_is_regressed_with_its_figures_in_the_reason() -> (
    None
):
    result = judge(Counts(200, CALLS), Counts(600, CALLS))

    assert result.verdict is Verdict.REGRESSED
    assert result.ratio == pytest.approx(3.0)
    assert result.rate_before == pytest.approx(0.02)
    assert result.rate_after == pytest.approx(0.06)
    assert result.p_value_worse < 1e-30
    assert result.p_value_better == pytest.approx(1.0)
    assert result.test == "conditional binomial, one-sided"
    assert "\n" not in result.reason
    for figure in ("regressed", "600", "200", "10,000", "0.06", "0.02", "ratio 3", "p_worse"):
        assert figure in result.reason


def test_a_halving_is_improved() -> None:
    result = judge(Counts(400, CALLS), Counts(200, CALLS))

    assert result.verdict is Verdict.IMPROVED
    assert result.ratio == pytest.approx(0.5)
    assert result.p_value_better < 1e-6
    assert result.reason.startswith("improved: ")


def test_a_fix_that_removed_every_error_is_improved() -> None:
    assert judge(Counts(200, CALLS), Counts(0, CALLS)).verdict is Verdict.IMPROVED


def test_equal_rates_are_no_change() -> None:
    result = judge(Counts(300, CALLS), Counts(300, CALLS))

    assert result.verdict is Verdict.NO_CHANGE
    assert result.verdict == "no-change"
    assert result.ratio == pytest.approx(1.0)
    assert "no significant change" in result.reason


def test_sparse_counts_are_inconclusive_even_when_the_rate_more_than_doubled() -> None:
    result = judge(Counts(2, CALLS), Counts(5, CALLS))

    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.ratio == pytest.approx(2.5)
    assert "fewer than 50" in result.reason


def test_a_sparse_baseline_is_never_regressed_however_many_errors_follow() -> None:
    """A baseline of 20 errors and 20 times as many after: clear, but the judge keeps
    watching rather than revert on a baseline too thin to trust."""
    assert judge(Counts(20, CALLS), Counts(400, CALLS)).verdict is Verdict.INCONCLUSIVE


def test_a_tiny_but_significant_rise_on_huge_counts_is_no_change() -> None:
    result = judge(Counts(100_000, 1e7), Counts(105_000, 1e7))

    assert result.p_value_worse < 1e-10
    assert result.verdict is Verdict.NO_CHANGE
    assert "significant but ratio < 1.25" in result.reason


@pytest.mark.parametrize(
    ("after_events", "verdict"),
    [
        (12_000, Verdict.NO_CHANGE),  # ratio 1.2: significant, below the minimum effect
        (12_500, Verdict.REGRESSED),  # ratio 1.25: the minimum effect itself counts
        (8_500, Verdict.NO_CHANGE),  # ratio 0.85: significant, too small an improvement
        (8_000, Verdict.IMPROVED),  # ratio 0.8 = 1/1.25
    ],
)
def test_the_minimum_effect_is_a_rate_ratio_both_ways(after_events: int, verdict: Verdict) -> None:
    result = judge(Counts(10_000, 1e6), Counts(after_events, 1e6))

    assert min(result.p_value_worse, result.p_value_better) < 1e-6
    assert result.verdict is verdict


def test_twice_the_calls_and_twice_the_errors_is_no_change() -> None:
    result = judge(Counts(200, CALLS), Counts(400, 2 * CALLS))

    assert result.verdict is Verdict.NO_CHANGE
    assert result.ratio == pytest.approx(1.0)
    assert result.expected_after == pytest.approx(400.0)


def test_the_same_errors_in_half_the_calls_is_regressed() -> None:
    result = judge(Counts(300, CALLS), Counts(300, CALLS / 2))

    assert result.verdict is Verdict.REGRESSED
    assert result.ratio == pytest.approx(2.0)


def test_the_p_values_are_the_conditional_binomial_of_the_after_windows_share() -> None:
    """Ten events, all after, in windows of 1 and 3 units of exposure: under equal rates
    each event lands after with probability 3/4, so P(all ten after) = 0.75**10."""
    result = judge(Counts(0, 1000), Counts(10, 3000))

    assert result.p_value_worse == pytest.approx(0.75**10)
    assert result.p_value_better == pytest.approx(1.0)
    assert result.ratio == math.inf
    assert result.verdict is Verdict.INCONCLUSIVE  # an empty baseline cannot be trusted


def test_too_little_exposure_is_inconclusive_even_for_a_big_rise() -> None:
    policy = JudgePolicy(min_exposure=5_000)
    result = judge(Counts(200, 4_000), Counts(800, 4_000), policy)

    assert result.verdict is Verdict.INCONCLUSIVE
    assert "exposure 4,000 is below the minimum 5,000" in result.reason


def test_an_after_window_too_short_for_the_baseline_rate_is_inconclusive() -> None:
    """200 errors in a week, then one hour: 1.2 errors expected, too few to judge."""
    result = judge(Counts(200, 168.0), Counts(3, 1.0), JudgePolicy(min_exposure=1.0))

    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.expected_after == pytest.approx(200 / 168)


def test_no_events_in_either_window_is_inconclusive() -> None:
    result = judge(Counts(0, CALLS), Counts(0, CALLS))

    assert result.verdict is Verdict.INCONCLUSIVE
    assert math.isnan(result.ratio)
    assert result.p_value_worse == result.p_value_better == 1.0
    assert "no events in either window" in result.reason


def test_a_window_without_any_exposure_is_inconclusive() -> None:
    result = judge(Counts(200, CALLS), Counts(0, 0.0))

    assert result.verdict is Verdict.INCONCLUSIVE
    assert math.isnan(result.rate_after)
    assert "below the minimum" in result.reason


@pytest.mark.parametrize(
    ("events", "exposure", "message"),
    [
        (-1, 100.0, "events must not be negative"),
        (2.5, 100.0, "events must be a whole number"),
        (True, 100.0, "events must be a whole number"),
        (3, -1.0, "exposure must be finite and not negative"),
        (3, math.nan, "exposure must be finite and not negative"),
        (3, math.inf, "exposure must be finite and not negative"),
        (3, "100", "exposure must be a number"),
        (3, 0.0, "3 events with zero exposure"),
    ],
)
def test_impossible_counts_are_refused(events: object, exposure: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Counts(events, exposure)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("alpha", 0.0),
        ("alpha", 0.5),
        ("alpha", math.nan),
        ("min_expected_events", 0.5),
        ("min_exposure", 0.0),
        ("min_exposure", math.inf),
        ("min_effect", 0.9),
        ("min_effect", math.nan),
    ],
)
def test_a_bad_policy_is_a_config_error_naming_the_setting(setting: str, value: float) -> None:
    with pytest.raises(ConfigError) as caught:
        JudgePolicy(**{setting: value})  # type: ignore[arg-type]

    assert caught.value.setting == setting


def test_split_alpha_shares_the_false_positive_rate_among_comparisons() -> None:
    policy = JudgePolicy(alpha=0.01)

    assert policy.split_alpha(4).alpha == pytest.approx(0.0025)
    assert policy.split_alpha(4).min_effect == policy.min_effect
    with pytest.raises(ConfigError, match="comparisons"):
        policy.split_alpha(0)


def test_a_small_seeded_monte_carlo_keeps_false_positives_rare_and_finds_a_doubling() -> None:
    """300 weeks of dense Poisson counts (200 expected baseline errors): stationary, then
    doubled. Floors well clear of bench/judge.py's figures (0.4% and 100%), so the test
    fails for a broken judge and not for an unlucky seed."""
    rng = np.random.default_rng(13)
    trials, expected, calls = 300, 200.0, 33_600.0

    def regressed_share(rise: float) -> float:
        before = rng.poisson(expected, trials)
        after = rng.poisson(expected * rise, trials)
        verdicts = [
            judge(Counts(int(b), calls), Counts(int(a), calls)).verdict
            for b, a in zip(before, after, strict=True)
        ]
        return verdicts.count(Verdict.REGRESSED) / trials

    assert regressed_share(1.0) <= 0.03
    assert regressed_share(2.0) >= 0.90
