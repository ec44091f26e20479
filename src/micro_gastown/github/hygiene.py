"""Which findings become a pull request, which update ours, and which wait: the hygiene rules.

GitHub is the only memory (SPEC §7: as Renovate does it, no database): the rules read our
earlier PRs (:class:`~.model.OurPr`, already filtered by the client to ours and carrying
the :class:`~.model.FilingRecord` of their metadata block) and decide, without any I/O.
A candidate (a set of fingerprints the refine step addressed together) meets these rules
in order, the most severe candidate first:

1. no fingerprint: nothing to file (``EMPTY``);
2. it shares a fingerprint with a candidate filed or updated earlier in this run
   (``DUPLICATE``): never two PRs for one finding;
3. one of our PRs carrying :data:`~.model.LABEL_REVERTED` shares a fingerprint
   (``SUPPRESSED_REVERTED``): suppressed for good; only the label decides, so a human
   removing it lifts the suppression;
4. our open PR for exactly this set is updated (``UPDATE``: branch force-pushed, body
   refreshed); an open PR sharing only some of them is left alone (``OPEN_ELSEWHERE``);
5. per fingerprint, the latest of our settled PRs holding it decides: merged less than
   ``watch_days`` ago and not yet judged, the rollback watcher decides
   (``AWAITING_VERDICT``); judged (a verdict label: improved, no change, inconclusive) or
   merged before, the finding came back, so it is filed again; closed unmerged, a
   maintainer said no, so it stays suppressed until the finding is at least twice as bad
   as when filed (``SUPPRESSED_CLOSED``). For a set, one fingerprint awaiting a verdict
   holds the set; fingerprints last closed hold it unless ANY of them is twice as bad (the
   others are new);
6. limits: a NEW PR only while our open PRs plus those filed this run stay under
   ``max_open`` and those filed this run under ``max_new`` (``OVER_MAX_OPEN``,
   ``OVER_MAX_NEW``). An UPDATE counts against neither: that PR is already open.

"Twice as bad" compares the hourly rate now with the rate in the closed PR's
:class:`~.model.PatternRecord`; when either side has no rate, it compares occurrences (which
depend on the window's length: a coarser figure, but the only one both sides have). A closed
PR with no figures for the fingerprint keeps it suppressed: no spam on a guess.

A timestamp that does not parse is taken as long ago, and the reason says so. Reasons are
one plain line and never repeat text read from a PR (its body or branch): only numbers,
dates we format and the candidate's own fingerprints.

:func:`~.authorship.foreign_commits` is the last rule, applied by the filer once it has
read our branch: never push to a branch holding a commit by anyone else.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final

from micro_gastown.errors import ConfigError
from micro_gastown.github.model import (
    BRANCH_PREFIX,
    LABEL_REVERTED,
    VERDICT_LABELS,
    OurPr,
    PatternRecord,
    PrState,
)
from micro_gastown.report.model import Pattern, Series, Severity

__all__ = [
    "Candidate",
    "Decision",
    "Finding",
    "Limits",
    "Suppression",
    "Verdict",
    "hourly_rate",
    "plan",
    "suppressed",
]


class Verdict(StrEnum):
    NEW = "new"
    """File a new PR."""
    UPDATE = "update"
    """Our open PR for the same fingerprint set: force-push its branch, refresh its body."""
    OPEN_ELSEWHERE = "open-elsewhere"
    """An open PR of ours covers some of these fingerprints (not the same set): left alone."""
    SUPPRESSED_CLOSED = "suppressed-closed"
    """Closed unmerged, and the finding is not yet twice as bad as when filed."""
    SUPPRESSED_REVERTED = "suppressed-reverted"
    """A PR with these fingerprints carries the reverted label."""
    AWAITING_VERDICT = "awaiting-verdict"
    """Merged within ``watch_days``: the rollback watcher decides."""
    OVER_MAX_OPEN = "over-max-open"
    OVER_MAX_NEW = "over-max-new"
    FOREIGN_COMMITS = "foreign-commits"
    """Our branch holds a commit by someone else: never pushed over."""
    DUPLICATE = "duplicate"
    """Shares a fingerprint with a candidate filed or updated earlier in this run."""
    EMPTY = "empty"
    """Addresses no fingerprint."""

    @property
    def files(self) -> bool:
        """True when the filer publishes something (a new PR, or our open one updated)."""
        return self in (Verdict.NEW, Verdict.UPDATE)


def hourly_rate(series: Series | None) -> float | None:
    """A finding's events per hour over its series: the figure a PatternRecord records and
    the closed-PR rule compares, so the filer and these rules must both use this one."""
    if series is None or not series.values:
        return None
    hours = len(series.values) * series.step_seconds / 3600
    return sum(series.values) / hours


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding's figures in this run: what the closed-PR rule compares with the
    :class:`~.model.PatternRecord` filed."""

    id: str
    severity: Severity
    occurrences: int
    rate_per_hour: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", Severity(self.severity))
        object.__setattr__(self, "rate_per_hour", _usable_rate(self.rate_per_hour))

    @classmethod
    def from_pattern(cls, pattern: Pattern) -> Finding:
        return cls(pattern.id, pattern.severity, pattern.occurrences, hourly_rate(pattern.series))


@dataclass(frozen=True, slots=True)
class Candidate:
    """Fingerprints one PR would address, with how bad they are together.

    ``findings`` gives each fingerprint's own figures for the closed-PR rule; a fingerprint
    without one is judged by the candidate's totals (exact for a one-finding candidate).
    ``key`` breaks ties in the order (default: the smallest fingerprint)."""

    fingerprints: frozenset[str]
    severity: Severity
    occurrences: int
    rate_per_hour: float | None = None
    key: str = ""
    findings: tuple[Finding, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "fingerprints", frozenset(f for f in self.fingerprints if f))
        object.__setattr__(self, "severity", Severity(self.severity))
        object.__setattr__(self, "rate_per_hour", _usable_rate(self.rate_per_hour))
        object.__setattr__(self, "key", self.key or min(self.fingerprints, default=""))

    @classmethod
    def from_findings(cls, findings: Iterable[Finding]) -> Candidate:
        """The candidate for findings filed together: the worst severity, summed figures
        (the rate only when every finding has one)."""
        items = tuple(findings)
        if not items:
            raise ValueError("a candidate needs at least one finding")
        rates = [f.rate_per_hour for f in items]
        return cls(
            fingerprints=frozenset(f.id for f in items),
            severity=min((f.severity for f in items), key=lambda s: s.rank),
            occurrences=sum(f.occurrences for f in items),
            rate_per_hour=None if None in rates else sum(r for r in rates if r is not None),
            findings=items,
        )

    @classmethod
    def from_patterns(cls, patterns: Iterable[Pattern]) -> Candidate:
        return cls.from_findings(Finding.from_pattern(p) for p in patterns)

    def figures(self, fingerprint: str) -> tuple[int, float | None]:
        """Occurrences and rate of one fingerprint (the totals when it has no figures)."""
        for finding in self.findings:
            if finding.id == fingerprint:
                return finding.occurrences, finding.rate_per_hour
        return self.occurrences, self.rate_per_hour

    @property
    def order(self) -> tuple[int, int, float, str, tuple[str, ...]]:
        """Most severe first, then most occurrences, highest rate, key, fingerprints."""
        rate = -1.0 if self.rate_per_hour is None else self.rate_per_hour
        return (
            self.severity.rank,
            -self.occurrences,
            -rate,
            self.key,
            tuple(sorted(self.fingerprints)),
        )


@dataclass(frozen=True, slots=True)
class Decision:
    candidate: Candidate
    verdict: Verdict
    pr: OurPr | None
    """The PR the verdict is about (updated, suppressing, overlapping), if any."""
    reason: str
    """One plain line, e.g. ``closed unmerged in #12 on 2026-11-30 at 4.1/h; ...``."""


@dataclass(frozen=True, slots=True)
class Suppression:
    """Why one finding is not to be refined again (what the analyze step reads)."""

    pattern_id: str
    verdict: Verdict
    pr: OurPr
    reason: str


@dataclass(frozen=True, slots=True)
class Limits:
    max_open: int = 3
    """Our evolution PRs open at once, at most."""
    max_new: int = 1
    """New PRs per run, at most."""
    watch_days: int = 7
    """Days after a merge during which the rollback watcher, not a new PR, decides."""

    def __post_init__(self) -> None:
        for name in ("max_open", "max_new", "watch_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError("expected a whole number, 0 or more", setting=name, value=value)


def plan(
    candidates: Sequence[Candidate],
    history: Sequence[OurPr],
    limits: Limits,
    now: datetime,
    *,
    identity_login: str,
) -> list[Decision]:
    """One decision per candidate, most severe first (see the module's rules)."""
    now = _aware(now)
    ours = _ours(history, identity_login)
    open_now = sum(1 for pr in ours if pr.state is PrState.OPEN)
    claimed: set[str] = set()
    filed = 0
    decisions: list[Decision] = []
    for candidate in sorted(candidates, key=lambda c: c.order):
        decision = _judge(candidate, ours, claimed, limits, now)
        if decision.verdict is Verdict.NEW:
            decision = _within_limits(decision, limits, open_now, filed)
        if decision.verdict is Verdict.NEW:
            filed += 1
        if decision.verdict.files:
            claimed |= candidate.fingerprints
        decisions.append(decision)
    return decisions


def suppressed(
    findings: Iterable[Finding],
    history: Sequence[OurPr],
    now: datetime,
    *,
    identity_login: str,
    limits: Limits = Limits(),
) -> dict[str, Suppression]:
    """The findings refine must not be asked to redo, by pattern id, with why.

    The same rules as :func:`plan` for a one-finding candidate: reverted, awaiting the
    watcher's verdict, or closed and not yet twice as bad. A finding with an open PR is
    not suppressed: refining it again updates that PR."""
    now = _aware(now)
    ours = _ours(history, identity_login)
    result: dict[str, Suppression] = {}
    for finding in findings:
        if not finding.id or finding.id in result:
            continue
        candidate = Candidate.from_findings([finding])
        standing = _reverted(candidate, ours) or _settled(candidate, ours, limits, now)
        if standing is not None and standing.verdict is not None and standing.pr is not None:
            result[finding.id] = Suppression(
                finding.id, standing.verdict, standing.pr, standing.reason
            )
    return result


# --- the rules ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Standing:
    """What one rule says: a verdict (None: this rule does not hold the finding back)."""

    verdict: Verdict | None
    pr: OurPr | None
    reason: str


def _judge(
    candidate: Candidate, ours: Sequence[OurPr], claimed: set[str], limits: Limits, now: datetime
) -> Decision:
    fingerprints = candidate.fingerprints
    if not fingerprints:
        return Decision(candidate, Verdict.EMPTY, None, "addresses no fingerprint: nothing to file")
    if shared := sorted(fingerprints & claimed):
        return Decision(
            candidate,
            Verdict.DUPLICATE,
            None,
            f"shares {_names(shared)} with a candidate filed earlier in this run",
        )
    standing = _reverted(candidate, ours)
    if standing is not None:
        return Decision(candidate, Verdict.SUPPRESSED_REVERTED, standing.pr, standing.reason)
    open_prs = [pr for pr in ours if pr.state is PrState.OPEN and pr.fingerprints & fingerprints]
    same = [pr for pr in open_prs if pr.fingerprints == fingerprints]
    if same:
        also = f" (also open for them: #{', #'.join(str(p.number) for p in same[1:])})"
        return Decision(
            candidate,
            Verdict.UPDATE,
            same[0],
            f"our open PR #{same[0].number} covers exactly these fingerprints: "
            f"force-push its branch and refresh its body{also if len(same) > 1 else ''}",
        )
    if open_prs:
        pr = open_prs[0]
        return Decision(
            candidate,
            Verdict.OPEN_ELSEWHERE,
            pr,
            f"our open PR #{pr.number} covers {_names(sorted(pr.fingerprints & fingerprints))} "
            "in a different set: left as it is, nothing filed",
        )
    standing = _settled(candidate, ours, limits, now)
    if standing is not None and standing.verdict is not None:
        return Decision(candidate, standing.verdict, standing.pr, standing.reason)
    reason = f"{candidate.severity.value}, {_count(candidate.occurrences, 'occurrence')}"
    if candidate.rate_per_hour is not None:
        reason += f", {_figure(candidate.rate_per_hour)}/h"
    if standing is not None:
        reason += f"; {standing.reason}"
    return Decision(candidate, Verdict.NEW, None, reason)


def _within_limits(decision: Decision, limits: Limits, open_now: int, filed: int) -> Decision:
    if open_now + filed >= limits.max_open:
        verdict = Verdict.OVER_MAX_OPEN
        why = (
            f"{open_now} of ours open and {filed} filed this run: "
            f"at the most allowed open ({limits.max_open})"
        )
    elif filed >= limits.max_new:
        verdict = Verdict.OVER_MAX_NEW
        why = f"{filed} new filed this run: the most allowed per run ({limits.max_new})"
    else:
        return Decision(
            decision.candidate,
            decision.verdict,
            decision.pr,
            f"{decision.reason}; new PR {filed + 1} of at most {limits.max_new} this run, "
            f"{open_now + filed + 1} of at most {limits.max_open} open",
        )
    return Decision(decision.candidate, verdict, None, f"{decision.reason}; {why}")


def _reverted(candidate: Candidate, ours: Sequence[OurPr]) -> _Standing | None:
    label = LABEL_REVERTED.casefold()
    for pr in ours:
        shared = pr.fingerprints & candidate.fingerprints
        if shared and any(name.casefold() == label for name in pr.labels):
            return _Standing(
                Verdict.SUPPRESSED_REVERTED,
                pr,
                f"#{pr.number} was reverted (label {LABEL_REVERTED}) and holds "
                f"{_names(sorted(shared))}: suppressed until a human removes the label",
            )
    return None


def _settled(
    candidate: Candidate, ours: Sequence[OurPr], limits: Limits, now: datetime
) -> _Standing | None:
    """What the latest merged or closed PR of each fingerprint says about the set: the
    first holding verdict (awaiting before closed), else a note for a NEW decision."""
    settled = [pr for pr in ours if pr.state is not PrState.OPEN]
    standings = [
        _one_settled(fingerprint, candidate, settled, limits, now)
        for fingerprint in sorted(candidate.fingerprints)
    ]
    found = [s for s in standings if s is not None]
    for standing in found:
        if standing.verdict is Verdict.AWAITING_VERDICT:
            return standing
    closed = [s for s in found if s.pr is not None and s.pr.state is PrState.CLOSED]
    if closed and all(s.verdict is Verdict.SUPPRESSED_CLOSED for s in closed):
        more = f" (and {len(closed) - 1} more so)" if len(closed) > 1 else ""
        return _Standing(closed[0].verdict, closed[0].pr, closed[0].reason + more)
    allowing = [s for s in found if s.verdict is None]
    return allowing[0] if allowing else None


def _one_settled(
    fingerprint: str,
    candidate: Candidate,
    settled: Sequence[OurPr],
    limits: Limits,
    now: datetime,
) -> _Standing | None:
    holders = [pr for pr in settled if fingerprint in pr.fingerprints]
    if not holders:
        return None
    latest = max(holders, key=lambda pr: (_settled_at(pr) or _LONG_AGO, pr.number))
    when = _settled_at(latest)
    if latest.state is PrState.MERGED:
        merged = f"{fingerprint} merged in #{latest.number}"
        if when is None:
            return _Standing(None, latest, f"{merged} at an unreadable time, taken as long ago")
        verdict = _final_verdict(latest)
        if verdict is not None:
            return _Standing(
                None, latest, f"{merged} on {_date(when)}, judged {verdict}: it came back"
            )
        until = when + timedelta(days=limits.watch_days)
        if now < until:
            return _Standing(
                Verdict.AWAITING_VERDICT,
                latest,
                f"{merged} on {_date(when)}: the rollback watcher decides until {_date(until)}",
            )
        return _Standing(
            None,
            latest,
            f"{merged} on {_date(when)}, over {limits.watch_days} days ago: it came back",
        )
    closed_on = f"on {_date(when)}" if when else "at an unreadable time, taken as long ago,"
    said = f"closed unmerged in #{latest.number} {closed_on}"
    baseline = _pattern_record(latest, fingerprint)
    if baseline is None:
        return _Standing(
            Verdict.SUPPRESSED_CLOSED,
            latest,
            f"{fingerprint} {said} with no figures recorded: stays suppressed",
        )
    occurrences, rate = candidate.figures(fingerprint)
    then_rate = _usable_rate(baseline.rate_per_hour)
    if rate is not None and then_rate is not None:
        now_figure, then_figure, unit, note = rate, then_rate, "/h", ""
    else:
        now_figure, then_figure = float(occurrences), float(baseline.occurrences)
        unit, note = " occurrences", " (a rate is missing: occurrences compared)"
    worse = now_figure >= 2 * then_figure and now_figure > then_figure
    return _Standing(
        None if worse else Verdict.SUPPRESSED_CLOSED,
        latest,
        f"{fingerprint} {said} at {_figure(then_figure)}{unit}; now {_figure(now_figure)}"
        f"{unit}, {'at least' if worse else 'below'} 2x ({_figure(2 * then_figure)}{unit})" + note,
    )


# --- small readers ------------------------------------------------------------------------

_LONG_AGO: Final = datetime.min.replace(tzinfo=UTC)


def _ours(history: Sequence[OurPr], identity_login: str) -> list[OurPr]:
    """Our PRs with a record and a fingerprint, each number once, oldest first: anything
    else is not ours to count, update or be held back by."""
    login = identity_login.casefold()
    by_number: dict[int, OurPr] = {}
    for pr in history:
        if pr.record is None or not pr.fingerprints or pr.author_login.casefold() != login:
            continue
        if pr.branch.startswith(BRANCH_PREFIX):
            by_number.setdefault(pr.number, pr)
    return [by_number[number] for number in sorted(by_number)]


def _final_verdict(pr: OurPr) -> str | None:
    """The rollback watcher's final verdict on a merged PR, read from its label: the watch is
    over then, whatever the calendar says (the reverted label is rule 3's)."""
    labels = {name.casefold() for name in pr.labels}
    for verdict, label in VERDICT_LABELS.items():
        if label != LABEL_REVERTED and label.casefold() in labels:
            return str(verdict)
    return None


def _pattern_record(pr: OurPr, fingerprint: str) -> PatternRecord | None:
    if pr.record is None:
        return None
    return next((p for p in pr.record.patterns if p.id == fingerprint), None)


def _settled_at(pr: OurPr) -> datetime | None:
    return _parse_time(pr.merged_at if pr.state is PrState.MERGED else pr.closed_at)


def _parse_time(text: str | None) -> datetime | None:
    """An RFC 3339 time as GitHub writes it, or None when absent or unreadable."""
    if not isinstance(text, str) or not text.strip() or len(text) > 64:
        return None
    try:
        return _aware(datetime.fromisoformat(text.strip()))
    except ValueError:
        return None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _usable_rate(rate: float | None) -> float | None:
    """A rate that can be compared: finite and not negative (anything else: no rate)."""
    if rate is None or isinstance(rate, bool) or not isinstance(rate, int | float):
        return None
    value = float(rate)
    return value if math.isfinite(value) and value >= 0 else None


def _date(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def _figure(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _names(fingerprints: Sequence[str]) -> str:
    shown = ", ".join(fingerprints[:3])
    return shown + (f" and {len(fingerprints) - 3} more" if len(fingerprints) > 3 else "")
