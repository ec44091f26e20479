"""Monte Carlo of the rollback watcher's judge on simulated hourly count series.

Why: the judge decides whether a merged PR is reverted, so its error rates must be known,
not hoped for. Targets (issue 13): a false-positive rate (``regressed`` on a series whose
rate did not change) of at most 1% on stationary series; a power (``regressed`` on a real
rise) of at least 95% for a 2x rise at 200 or more expected baseline errors; and sparse
baselines (5 to 20 expected errors) called ``inconclusive``, never ``regressed``.

Each trial simulates a node's traffic hour by hour over a 7-day baseline and a 7-day after
window (whole days, as the watcher chooses them): calls per hour are Poisson, errors per
hour are binomial among those calls, and the error probability is multiplied by the rise
in the after window. Seasonal scenarios give the calls, or the error rate itself, a daily
sinusoidal cycle. The judge sees only the windows' totals: errors against calls, or errors
against hours where the scenario says so. Informational rows (no target) show what the
documented assumptions cost when they are broken: a window that is not whole days, and
bursty errors (a gamma-distributed hourly rate, so counts are overdispersed).

A second table runs the judge the way the watcher does (``micro_gastown.watch``): one look a
day for 7 days, look *d* comparing the *d* days before the merge with the *d* days after it,
alpha split over 2 comparisons (the finding and the overall error rate) × 7 looks, and the
PR reverted at the first look that says ``regressed``. It prints the false-positive rate
over the whole watch, the power by its end, and the median look a regression is caught at.

Run by ``make bench`` as ``.venv/bin/python bench/judge.py`` (numpy's seeded Generator;
``--trials`` per scenario, 2,000 by default). Prints the table and ``MISSED`` next to a
missed target, and exits 0 either way.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np

from micro_gastown.watch import Counts, JudgePolicy, Verdict, judge

SEED = 13
DAYS_BEFORE = 7
DAYS_AFTER = 7
CALLS_PER_HOUR = 200.0
FPR_TARGET = 0.01
POWER_TARGET = 0.95
DENSE = 200.0
SPARSE = 20.0
HOURS_MIN_EXPOSURE = 24.0


@dataclass(frozen=True)
class Scenario:
    """One simulated series shape; ``expected`` is the baseline window's expected errors."""

    name: str
    expected: float
    rise: float = 1.0
    calls_cycle: float = 0.0  # amplitude of the calls' daily sinusoid (0: flat traffic)
    errors_cycle: float = 0.0  # amplitude of the error probability's daily sinusoid
    per_hour: bool = False  # exposure in hours instead of calls
    after_hours: int = DAYS_AFTER * 24
    after_phase_hours: int = 0  # where in the day the after window starts
    burst_shape: float = 0.0  # gamma shape of a per-hour rate multiplier (0: no bursts)
    informational: bool = False  # breaks a documented assumption: no target applies

    @property
    def stationary(self) -> bool:
        return self.rise == 1.0


@dataclass(frozen=True)
class Outcome:
    regressed: float
    improved: float
    inconclusive: float
    no_change: float


def scenarios() -> list[Scenario]:
    rows = [Scenario("stationary", e) for e in (5, 10, 20, 50, 100, 200, 1000)]
    rows += [
        Scenario(f"rise {r:g}x", e, rise=r)
        for r in (1.5, 2.0, 3.0)
        for e in (5, 10, 20, 50, 100, 200, 1000)
    ]
    rows += [Scenario("fall 0.5x", e, rise=0.5) for e in (20, 200)]
    for rise in (1.0, 2.0):
        label = "stationary" if rise == 1.0 else f"rise {rise:g}x"
        rows.append(Scenario(f"daily calls cycle, {label}", 200, rise=rise, calls_cycle=0.8))
        rows.append(
            Scenario(
                f"daily rate cycle /hours, {label}", 200, rise=rise, errors_cycle=0.8, per_hour=True
            )
        )
    rows.append(
        Scenario(
            "daily rate cycle /hours, after = 1.5 days from 00:00",
            1000,
            errors_cycle=0.8,
            per_hour=True,
            after_hours=36,
            informational=True,
        )
    )
    rows += [
        Scenario(
            f"bursty (gamma k={k:g} per hour), stationary", 200, burst_shape=k, informational=True
        )
        for k in (1.0, 0.2)
    ]
    return rows


def hourly_shape(hours: np.ndarray, amplitude: float) -> np.ndarray:
    """A daily sinusoid around 1 (peak at 06:00); whole days average to exactly 1."""
    return 1.0 + amplitude * np.sin(2 * np.pi * hours / 24.0)


def simulate(s: Scenario, trials: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Per trial: (errors before, exposure before, errors after, exposure after)."""
    before_hours = np.arange(DAYS_BEFORE * 24)
    after_hours = DAYS_BEFORE * 24 + s.after_phase_hours + np.arange(s.after_hours)
    # The error probability per call that gives `expected` errors in the baseline window.
    probability = s.expected / (CALLS_PER_HOUR * before_hours.size)
    windows = []
    for hours, factor in ((before_hours, 1.0), (after_hours, s.rise)):
        call_rate = CALLS_PER_HOUR * hourly_shape(hours, s.calls_cycle)
        calls = rng.poisson(np.broadcast_to(call_rate, (trials, hours.size)))
        p = probability * factor * hourly_shape(hours, s.errors_cycle)
        p = np.broadcast_to(p, (trials, hours.size))
        if s.burst_shape:
            p = p * rng.gamma(s.burst_shape, 1.0 / s.burst_shape, size=p.shape)
        errors = rng.binomial(calls, np.clip(p, 0.0, 1.0))
        exposure = np.full(trials, float(hours.size)) if s.per_hour else calls.sum(axis=1)
        windows += [errors.sum(axis=1), exposure]
    return tuple(windows)


def run(s: Scenario, trials: int, policy: JudgePolicy, rng: np.random.Generator) -> Outcome:
    c1, e1, c2, e2 = simulate(s, trials, rng)
    if s.per_hour:  # as a caller counting hours would: one whole day is enough exposure
        policy = replace(policy, min_exposure=HOURS_MIN_EXPOSURE)
    tally: Counter[Verdict] = Counter()
    for i in range(trials):
        before = Counts(int(c1[i]), float(e1[i]))
        after = Counts(int(c2[i]), float(e2[i]))
        tally[judge(before, after, policy).verdict] += 1
    return Outcome(
        *(
            tally[v] / trials
            for v in (Verdict.REGRESSED, Verdict.IMPROVED, Verdict.INCONCLUSIVE, Verdict.NO_CHANGE)
        )
    )


def target(s: Scenario, o: Outcome) -> str:
    """The issue's target this row is held to, and whether it held."""
    if s.informational:
        return "(informational)"
    checks: list[tuple[str, bool]] = []
    if s.expected <= SPARSE and s.rise >= 1.0:
        checks.append(("never regressed", o.regressed == 0.0))
    if s.stationary:
        checks.append((f"FPR <= {FPR_TARGET:.0%}", o.regressed <= FPR_TARGET))
    if s.rise == 2.0 and s.expected >= DENSE:
        checks.append((f"power >= {POWER_TARGET:.0%}", o.regressed >= POWER_TARGET))
    if not checks:
        return ""
    return ", ".join(f"{name}: {'ok' if ok else 'MISSED'}" for name, ok in checks)


WATCH_DAYS = 7
WATCH_COMPARISONS = 2  # the finding and the overall error rate


def watch_scenarios() -> list[Scenario]:
    rows = [Scenario("stationary", e) for e in (20, 200, 1000)]
    rows += [Scenario(f"rise {r:g}x", e, rise=r) for r in (1.5, 2.0, 3.0) for e in (200, 1000)]
    rows.append(Scenario("daily calls cycle, stationary", 200, calls_cycle=0.8))
    return rows


def run_watch(
    s: Scenario, trials: int, policy: JudgePolicy, rng: np.random.Generator
) -> tuple[float, float | None]:
    """(share of trials reverted at some look, median look of those reverts)."""
    hours = np.arange(2 * WATCH_DAYS * 24)
    merge = WATCH_DAYS * 24
    probability = s.expected / (CALLS_PER_HOUR * merge)  # `expected` per 7-day baseline
    calls = rng.poisson(
        np.broadcast_to(CALLS_PER_HOUR * hourly_shape(hours, s.calls_cycle), (trials, hours.size))
    )
    factor = np.where(hours >= merge, s.rise, 1.0)
    errors = rng.binomial(calls, np.clip(probability * factor, 0.0, 1.0))
    split = policy.split_alpha(WATCH_COMPARISONS * WATCH_DAYS)
    caught: list[int] = []
    for i in range(trials):
        for day in range(1, WATCH_DAYS + 1):
            before = slice(merge - day * 24, merge)
            after = slice(merge, merge + day * 24)
            judged = judge(
                Counts(int(errors[i, before].sum()), float(calls[i, before].sum())),
                Counts(int(errors[i, after].sum()), float(calls[i, after].sum())),
                split,
            )
            if judged.verdict is Verdict.REGRESSED:
                caught.append(day)
                break
    median = float(np.median(caught)) if caught else None
    return len(caught) / trials, median


def print_watch(trials: int, policy: JudgePolicy, rng: np.random.Generator) -> int:
    print()
    print(
        f"the watch: {WATCH_DAYS} daily looks (d days before vs d days after), alpha "
        f"{policy.alpha:g} split over {WATCH_COMPARISONS} comparisons x {WATCH_DAYS} looks; "
        "reverted at the first regressed look"
    )
    header = f"{'scenario':<40} {'E[7 d]':>7} {'reverted':>9} {'median look':>11}  target"
    print(header)
    print("-" * len(header))
    missed = 0
    for s in watch_scenarios():
        share, median = run_watch(s, trials, policy, rng)
        checks = []
        if s.stationary:
            checks.append((f"FPR <= {FPR_TARGET:.0%}", share <= FPR_TARGET))
        if s.rise == 2.0 and s.expected >= DENSE:
            checks.append((f"power >= {POWER_TARGET:.0%}", share >= POWER_TARGET))
        verdict = ", ".join(f"{name}: {'ok' if ok else 'MISSED'}" for name, ok in checks)
        missed += verdict.count("MISSED")
        look = f"{median:g}" if median is not None else "-"
        print(f"{s.name:<40} {s.expected:>7g} {share:>9.2%} {look:>11}  {verdict}", flush=True)
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000, help="trials per scenario")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--min-expected-events", type=float, default=None)
    parser.add_argument("--min-effect", type=float, default=None)
    parser.add_argument("--alpha", type=float, default=None)
    args = parser.parse_args(argv)
    overrides = {
        name: value
        for name in ("min_expected_events", "min_effect", "alpha")
        if (value := getattr(args, name)) is not None
    }
    policy = JudgePolicy(**overrides)
    rng = np.random.default_rng(args.seed)
    print(
        f"judge Monte Carlo: {args.trials:,} trials per scenario, seed {args.seed}, "
        f"{DAYS_BEFORE} d baseline vs {DAYS_AFTER} d after, {CALLS_PER_HOUR:g} calls/h"
    )
    print(
        f"policy: alpha {policy.alpha:g} one-sided, min_expected_events "
        f"{policy.min_expected_events:g}, min_exposure {policy.min_exposure:g}, "
        f"min_effect {policy.min_effect:g}"
    )
    print()
    print(f"(exposure in hours: min_exposure {HOURS_MIN_EXPOSURE:g})")
    header = (
        f"{'scenario':<52} {'E[base]':>7} {'regressed':>9} {'improved':>8} "
        f"{'inconcl.':>8} {'no-chg':>7}  target"
    )
    print(header)
    print("-" * len(header))
    started = time.monotonic()
    missed = 0
    for s in scenarios():
        o = run(s, args.trials, policy, rng)
        verdict = target(s, o)
        missed += verdict.count("MISSED")
        print(
            f"{s.name:<52} {s.expected:>7g} {o.regressed:>9.2%} {o.improved:>8.2%} "
            f"{o.inconclusive:>8.2%} {o.no_change:>7.2%}  {verdict}",
            flush=True,
        )
    missed += print_watch(args.trials, policy, rng)
    print()
    print(
        "regressed is the false-positive rate on stationary rows and the power on rises; "
        f"{missed} target(s) missed; {time.monotonic() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
