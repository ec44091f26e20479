"""One look at one merged PR: every comparison judged, and the verdict they make together.

A PR is judged on each finding it addressed (its events per unit of exposure) and on the
overall error rate (errors per event): a change can fix its finding and break something
else. The false-positive rate is split over every test the PR's watch makes (comparisons ×
looks, Bonferroni; :mod:`.looks`), so "revert on any regression" keeps ``alpha`` for the PR.

Together: any comparison regressed → ``regressed``; else any improved → ``improved``;
else any settled as no change → ``no-change``; else (too little data anywhere)
``inconclusive``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from micro_gastown.watch.judge import Counts, Judgement, JudgePolicy, Verdict, judge
from micro_gastown.watch.looks import Look

__all__ = ["Assessment", "Comparison", "Measured", "Unmeasured", "combine", "judge_look"]


@dataclass(frozen=True, slots=True)
class Measured:
    """Counts of one comparison, before judging."""

    name: str
    unit: str
    before: Counts
    after: Counts
    overall: bool = False
    events_query: str | None = None
    exposure_query: str | None = None


@dataclass(frozen=True, slots=True)
class Comparison:
    """One finding (or the overall error rate) in both windows, and what the judge said."""

    measured: Measured
    judgement: Judgement

    @property
    def name(self) -> str:
        return self.measured.name

    @property
    def unit(self) -> str:
        return self.measured.unit

    @property
    def before(self) -> Counts:
        return self.measured.before

    @property
    def after(self) -> Counts:
        return self.measured.after

    @property
    def overall(self) -> bool:
        return self.measured.overall

    @property
    def events_query(self) -> str | None:
        return self.measured.events_query

    @property
    def exposure_query(self) -> str | None:
        return self.measured.exposure_query


@dataclass(frozen=True, slots=True)
class Unmeasured:
    """A finding the watcher could not count, and why (said in the verdict comment)."""

    name: str
    why: str


@dataclass(frozen=True, slots=True)
class Assessment:
    """The verdict of one look, with everything it rests on."""

    look: Look
    verdict: Verdict
    comparisons: tuple[Comparison, ...]
    unmeasured: tuple[Unmeasured, ...]
    alpha_per_test: float

    @property
    def deciding(self) -> tuple[Comparison, ...]:
        """The comparisons whose judgement is the verdict (the regressions of a regressed
        PR, the improvements of an improved one)."""
        return tuple(c for c in self.comparisons if c.judgement.verdict is self.verdict)


def judge_look(
    look: Look,
    measured: Sequence[Measured],
    unmeasured: Sequence[Unmeasured],
    policy: JudgePolicy,
) -> Assessment:
    """Judge every comparison of the look at ``alpha / (comparisons × watch_days)``."""
    tests = max(len(measured), 1) * look.watch_days
    split = policy.split_alpha(tests)
    comparisons = tuple(Comparison(m, judge(m.before, m.after, split)) for m in measured)
    return Assessment(look, combine(comparisons), comparisons, tuple(unmeasured), split.alpha)


def combine(comparisons: Sequence[Comparison]) -> Verdict:
    """The PR's verdict from its comparisons' (module docstring)."""
    verdicts = [c.judgement.verdict for c in comparisons]
    if Verdict.REGRESSED in verdicts:
        return Verdict.REGRESSED
    if Verdict.IMPROVED in verdicts:
        return Verdict.IMPROVED
    if Verdict.NO_CHANGE in verdicts:
        return Verdict.NO_CHANGE
    return Verdict.INCONCLUSIVE
