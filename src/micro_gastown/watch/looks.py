"""When the watcher looks at a merged PR, and which two windows it compares.

A PR merged at ``M`` is deployed some time later (``deploy_lag``: a CD pipeline, a nightly
release). Its *after* window starts at ``M + deploy_lag``; its *baseline* ends at ``M``. Both
are the same whole number of days long, so each hour of the day is covered as often in one as
in the other (error rates follow the day: see :mod:`.judge`, "Like windows").

The watcher looks once per whole day of after window (and a margin for lines that reach
Loki late): look ``d`` (1 ≤ d ≤ ``watch_days``)
compares ``[M - d days, M)`` with ``[M + lag, M + lag + d days)``. An hourly schedule sees
the same look many times; its counts (past data) and so its answer do not change, so only
the number of *distinct* looks spends the false-positive rate, and the caller splits
``alpha`` over ``watch_days`` looks (Bonferroni): a regression can be reverted after one
day, and a PR that did nothing is still wrongly reverted at most ``alpha`` of the time over
its whole watch. Look ``watch_days`` is the final one: its verdict is the PR's verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from micro_gastown.errors import ConfigError
from micro_gastown.timewindow import NS_PER_SECOND, format_ns

__all__ = [
    "DAY_NS",
    "INGEST_MARGIN_NS",
    "LATE_GRACE",
    "MAX_WATCH_DAYS",
    "Look",
    "WatchPlan",
    "Window",
]

DAY_NS: Final = 86_400 * NS_PER_SECOND
MAX_WATCH_DAYS: Final = 30
"""Loki's default ``max_query_length`` is 30 days and a day: a longer window would be refused."""
MAX_DEPLOY_LAG: Final = timedelta(days=7)
INGEST_MARGIN_NS: Final = 15 * 60 * NS_PER_SECOND
"""A look is due this long after its after window ends: lines reach Loki late (a shipper's
batch, a retry), and a window counted before they arrive looks better than it was."""
LATE_GRACE: Final = timedelta(days=2)
"""A PR whose watch ended longer ago than this before any run judged it (the watcher was
installed later, or down) is left alone: months later, a revert does more harm than good."""


@dataclass(frozen=True, slots=True)
class Window:
    """``[start_ns, end_ns)``, in nanoseconds since the epoch."""

    start_ns: int
    end_ns: int

    def describe(self) -> str:
        return f"{format_ns(self.start_ns)} .. {format_ns(self.end_ns)}"


@dataclass(frozen=True, slots=True)
class Look:
    """Look ``day`` of ``watch_days`` at a PR: the two windows it compares."""

    day: int
    watch_days: int
    before: Window
    after: Window

    @property
    def final(self) -> bool:
        """The last look: its verdict is the one the PR gets."""
        return self.day >= self.watch_days


@dataclass(frozen=True, slots=True)
class WatchPlan:
    """How long a merged PR is watched, and from how long after its merge."""

    watch_days: int = 7
    deploy_lag: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if isinstance(self.watch_days, bool) or not 1 <= self.watch_days <= MAX_WATCH_DAYS:
            raise ConfigError(
                f"must be a whole number of days from 1 to {MAX_WATCH_DAYS}",
                setting="watch_days",
                value=self.watch_days,
            )
        if not timedelta(0) <= self.deploy_lag <= MAX_DEPLOY_LAG:
            raise ConfigError(
                "must be between 0 and 7 days", setting="deploy_lag", value=str(self.deploy_lag)
            )

    @property
    def lag_ns(self) -> int:
        return int(self.deploy_lag.total_seconds() * NS_PER_SECOND)

    def look(self, merged_ns: int, now_ns: int) -> Look | None:
        """The latest look due at ``now_ns``; None before a whole day of after window."""
        after_start = merged_ns + self.lag_ns
        days = min((now_ns - INGEST_MARGIN_NS - after_start) // DAY_NS, self.watch_days)
        if days < 1:
            return None
        return Look(
            day=days,
            watch_days=self.watch_days,
            before=Window(merged_ns - days * DAY_NS, merged_ns),
            after=Window(after_start, after_start + days * DAY_NS),
        )

    def first_look_ns(self, merged_ns: int) -> int:
        """When look 1 is due."""
        return merged_ns + self.lag_ns + DAY_NS + INGEST_MARGIN_NS

    def too_late(self, merged_ns: int, now_ns: int) -> bool:
        """Whether the watch ended more than :data:`LATE_GRACE` before ``now_ns``."""
        grace = int(LATE_GRACE.total_seconds()) * NS_PER_SECOND
        return now_ns > self.ends_ns(merged_ns) + INGEST_MARGIN_NS + grace

    def ends_ns(self, merged_ns: int) -> int:
        """When the final look is due: the PR's watch ends."""
        return merged_ns + self.lag_ns + self.watch_days * DAY_NS
