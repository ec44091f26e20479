"""The rollback watcher's judge: did a finding get better or worse after a PR was merged?

One finding (or the overall error rate) is counted in two windows: a baseline before the
merge and a window after it (less the deploy lag). Each window gives a count of events
(errors, failed transitions) and the exposure they are relative to (the node's calls, its
transitions, or hours). Raw counts cannot be compared when the windows saw different
traffic, so the judge compares *rates*, events per unit of exposure.

The test is the conditional binomial test for two Poisson rates: given ``n = c1 + c2``
events in all, under "the rate did not change" the after-window's count is
``Binomial(n, e2 / (e1 + e2))``. It is exact, needs no normal approximation (error counts are
often small), and is run one-sided each way with :func:`scipy.stats.binomtest`. Two rules
sit around it, as the peers do (SPEC §7: Kayenta gates on effect size and a minimum number of
points; Argo leaves an inconclusive analysis to a human):

- **Enough data**: the baseline must hold at least ``min_expected_events`` events, the
  after window must be expected to hold as many at the baseline rate, and both windows need
  ``min_exposure``. Below that the answer is :attr:`Verdict.INCONCLUSIVE` (keep watching),
  never :attr:`Verdict.REGRESSED`: a handful of errors cannot justify a revert.
- **A real effect**: a significant change smaller than ``min_effect`` (a rate ratio) is
  :attr:`Verdict.NO_CHANGE`; on huge counts a 5% drift is significant and means nothing.

Assumptions the caller keeps:

- **Like windows.** Traffic and error rates follow the day (nightly batches, office hours).
  The test assumes each window's events come at one rate per unit of exposure; with a daily
  cycle that holds for the *window's total* only when both windows cover whole days (or the
  exposure, such as calls, moves with the cycle). The caller chooses windows of whole days;
  a baseline of nights against an after window of days is not a fair comparison.
- **Independent events.** Bursts (one outage logging a thousand errors) make counts
  overdispersed, and the test then finds changes too readily; ``min_effect`` absorbs part
  of that. bench/judge.py measures the false-positive rate and the power on simulated series.
- **One look.** ``alpha`` is the false-positive rate of one comparison. A caller judging
  several findings per PR and deciding on the first regression splits ``alpha``
  (:meth:`JudgePolicy.split_alpha`); judging the same PR on every hourly run and reverting
  on the first ``regressed`` would spend ``alpha`` once per look.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

from micro_gastown.errors import ConfigError

TEST_NAME = "conditional binomial, one-sided"


class Verdict(StrEnum):
    """What the watcher says about one finding of one merged PR."""

    IMPROVED = "improved"
    NO_CHANGE = "no-change"
    INCONCLUSIVE = "inconclusive"
    """Too little data to decide either way: keep watching (Argo pauses here too)."""
    REGRESSED = "regressed"


@dataclass(frozen=True, slots=True)
class Counts:
    """One window: how many events, relative to how much exposure.

    ``exposure`` is in the caller's unit (calls, transitions, hours), the same in both
    windows. Zero exposure is allowed (the node was not called at all, so no events): the
    judge calls that inconclusive. Events without any exposure are a contradiction and are
    refused, as are negative, fractional or non-finite values.
    """

    events: int
    exposure: float

    def __post_init__(self) -> None:
        if isinstance(self.events, bool) or not isinstance(self.events, int):
            raise ValueError(f"events must be a whole number, not {self.events!r}")
        if self.events < 0:
            raise ValueError(f"events must not be negative, not {self.events}")
        if isinstance(self.exposure, bool) or not isinstance(self.exposure, int | float):
            raise ValueError(f"exposure must be a number, not {self.exposure!r}")
        if not math.isfinite(self.exposure) or self.exposure < 0:
            raise ValueError(f"exposure must be finite and not negative, not {self.exposure}")
        if self.exposure == 0 and self.events > 0:
            raise ValueError(f"{self.events} events with zero exposure: the counts disagree")

    @property
    def rate(self) -> float:
        """Events per unit of exposure; NaN when there was no exposure at all."""
        return self.events / self.exposure if self.exposure > 0 else math.nan


@dataclass(frozen=True, slots=True)
class JudgePolicy:
    """How sure, how much data and how big a change the judge needs.

    The defaults are tuned by bench/judge.py (issue 13's targets: a false-positive rate of
    at most 1% on stationary series, a power of at least 95% for a doubling at 200 expected
    baseline errors, and sparse baselines of 5 to 20 errors never called regressed).
    """

    alpha: float = 0.005
    """One-sided significance level, for each direction. The test is exact, so its
    false-positive rate is at most ``alpha``. At 0.01 bench/judge.py measured 0.8 to 1.25%
    on moderate counts (a true rate just under 1%, plus Monte Carlo noise): too close to the
    1% target. At 0.005 it measured 0.4 to 0.8%, and a 1.5x rise at 200 baseline errors is
    still called regressed 97% of the time."""
    min_expected_events: float = 50.0
    """Fewest events in the baseline, and expected in the after window at the baseline
    rate, for a verdict other than inconclusive (Kayenta's 50-point rule, in events)."""
    min_exposure: float = 100.0
    """Least exposure per window, in the caller's unit. 100 suits calls or transitions; a
    caller measuring exposure in hours passes its own (24.0 for one whole day)."""
    min_effect: float = 1.25
    """Smallest rate ratio that counts: regressed needs after/before >= this, improved
    needs after/before <= 1/this."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.alpha) and 0 < self.alpha < 0.5):
            raise ConfigError("must be above 0 and below 0.5", setting="alpha", value=self.alpha)
        if not (math.isfinite(self.min_expected_events) and self.min_expected_events >= 1):
            raise ConfigError(
                "must be at least 1",
                setting="min_expected_events",
                value=self.min_expected_events,
            )
        if not (math.isfinite(self.min_exposure) and self.min_exposure > 0):
            raise ConfigError("must be above 0", setting="min_exposure", value=self.min_exposure)
        if not (math.isfinite(self.min_effect) and self.min_effect >= 1):
            raise ConfigError(
                "must be a rate ratio of at least 1", setting="min_effect", value=self.min_effect
            )

    def split_alpha(self, comparisons: int) -> JudgePolicy:
        """This policy for one of ``comparisons`` judged together (Bonferroni): a PR judged
        on five findings and reverted on any regression keeps its false-positive rate."""
        if comparisons < 1:
            raise ConfigError("must be at least 1", setting="comparisons", value=comparisons)
        return replace(self, alpha=self.alpha / comparisons)


@dataclass(frozen=True, slots=True)
class Judgement:
    """The verdict with the figures it rests on, for the PR comment and the revert's body."""

    verdict: Verdict
    rate_before: float
    rate_after: float
    ratio: float
    """rate_after / rate_before: inf for events after an empty baseline, NaN for no rates."""
    p_value_worse: float
    """One-sided p-value of "the rate went up" (1.0 when there was nothing to test)."""
    p_value_better: float
    """One-sided p-value of "the rate went down" (1.0 when there was nothing to test)."""
    expected_after: float
    """Events the after window would hold at the baseline rate."""
    reason: str
    """One plain line with the counts, the rates, the ratio and the p-value that decided."""
    test: str = TEST_NAME


DEFAULT_POLICY = JudgePolicy()


def judge(before: Counts, after: Counts, policy: JudgePolicy = DEFAULT_POLICY) -> Judgement:
    """Compare the after window's rate with the baseline's, under ``policy``."""
    rate_before, rate_after = before.rate, after.rate
    ratio = _ratio(rate_before, rate_after)
    expected_after = rate_before * after.exposure if before.exposure > 0 else 0.0
    figures = _figures(before, after, ratio)

    def verdict(kind: Verdict, why: str, p_worse: float = 1.0, p_better: float = 1.0) -> Judgement:
        return Judgement(
            verdict=kind,
            rate_before=rate_before,
            rate_after=rate_after,
            ratio=ratio,
            p_value_worse=p_worse,
            p_value_better=p_better,
            expected_after=expected_after,
            reason=f"{kind}: {figures}; {why}",
        )

    thin = min(before.exposure, after.exposure)
    if thin < policy.min_exposure:
        return verdict(
            Verdict.INCONCLUSIVE,
            f"exposure {count_text(thin)} is below the minimum "
            f"{count_text(policy.min_exposure)} per window",
        )
    if before.events + after.events == 0:
        return verdict(Verdict.INCONCLUSIVE, "no events in either window")

    p_worse, p_better = _p_values(before, after)
    support = min(before.events, expected_after)
    if support < policy.min_expected_events:
        return verdict(
            Verdict.INCONCLUSIVE,
            f"{before.events:,} baseline events and {count_text(expected_after)} expected after: "
            f"fewer than {count_text(policy.min_expected_events)} to decide on",
            p_worse,
            p_better,
        )
    if p_worse < policy.alpha and ratio >= policy.min_effect:
        return verdict(
            Verdict.REGRESSED,
            f"p_worse {p_worse:.3g} < alpha {policy.alpha:g} and ratio >= {policy.min_effect:g}",
            p_worse,
            p_better,
        )
    if p_better < policy.alpha and ratio <= 1 / policy.min_effect:
        return verdict(
            Verdict.IMPROVED,
            f"p_better {p_better:.3g} < alpha {policy.alpha:g} "
            f"and ratio <= {1 / policy.min_effect:.3g}",
            p_worse,
            p_better,
        )
    return verdict(Verdict.NO_CHANGE, _why_no_change(p_worse, p_better, policy), p_worse, p_better)


def _p_values(before: Counts, after: Counts) -> tuple[float, float]:
    """(p_worse, p_better): the after window's share of all events against its share of the
    exposure, one-sided each way. Both windows have exposure here, so the share is in (0, 1)."""
    total = before.events + after.events
    share = after.exposure / (before.exposure + after.exposure)
    # scipy.stats takes a second or two to import: only the watcher pays for it, not every
    # command whose modules import this one.
    from scipy.stats import binomtest

    worse = binomtest(after.events, total, share, alternative="greater").pvalue
    better = binomtest(after.events, total, share, alternative="less").pvalue
    return float(worse), float(better)


def _why_no_change(p_worse: float, p_better: float, policy: JudgePolicy) -> str:
    if p_worse < policy.alpha:
        return f"p_worse {p_worse:.3g} is significant but ratio < {policy.min_effect:g}"
    if p_better < policy.alpha:
        return f"p_better {p_better:.3g} is significant but ratio > {1 / policy.min_effect:.3g}"
    smaller = min(p_worse, p_better)
    return f"no significant change (smallest one-sided p {smaller:.3g} >= alpha {policy.alpha:g})"


def _ratio(rate_before: float, rate_after: float) -> float:
    if math.isnan(rate_before) or math.isnan(rate_after):
        return math.nan
    if rate_before == 0:
        return math.inf if rate_after > 0 else math.nan
    return rate_after / rate_before


def _figures(before: Counts, after: Counts, ratio: float) -> str:
    return (
        f"after {after.events:,} in {count_text(after.exposure)} "
        f"(rate {rate_text(after.rate)}) vs before {before.events:,} in "
        f"{count_text(before.exposure)} (rate {rate_text(before.rate)}), ratio {rate_text(ratio)}"
    )


def count_text(value: float) -> str:
    """Exposure and counts as people read them: 10,000 and 37.5, not 1e+04."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def rate_text(value: float) -> str:
    """A rate or ratio to four significant digits; ``n/a`` for NaN."""
    return "n/a" if math.isnan(value) else f"{value:.4g}"
