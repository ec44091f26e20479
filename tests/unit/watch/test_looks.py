"""The watcher's looks: whole days of after window, the baseline the same length before the
merge, and the final look at ``watch_days``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from micro_gastown.errors import ConfigError
from micro_gastown.watch.looks import DAY_NS, INGEST_MARGIN_NS, WatchPlan

HOUR_NS = DAY_NS // 24
MERGED = 1_780_000_000 * 1_000_000_000


def test_no_look_before_a_whole_day_of_after_window() -> None:
    plan = WatchPlan(watch_days=7, deploy_lag=timedelta(hours=2))
    assert plan.look(MERGED, MERGED + DAY_NS) is None  # the lag is not over a day yet
    due = MERGED + DAY_NS + 2 * HOUR_NS + INGEST_MARGIN_NS  # lines reach Loki late
    assert plan.first_look_ns(MERGED) == due
    assert plan.look(MERGED, due - 1) is None
    look = plan.look(MERGED, due)
    assert look is not None
    assert look.day == 1
    assert not look.final


def test_windows_are_equal_whole_days_either_side_of_the_merge_and_the_lag() -> None:
    plan = WatchPlan(watch_days=7, deploy_lag=timedelta(hours=1))
    look = plan.look(MERGED, MERGED + 3 * DAY_NS + 5 * HOUR_NS)
    assert look is not None
    assert look.day == 3
    assert look.before.end_ns == MERGED
    assert look.before.end_ns - look.before.start_ns == 3 * DAY_NS
    assert look.after.start_ns == MERGED + HOUR_NS
    assert look.after.end_ns - look.after.start_ns == 3 * DAY_NS


def test_the_last_look_is_final_and_later_runs_see_the_same_look() -> None:
    plan = WatchPlan(watch_days=2, deploy_lag=timedelta(0))
    assert plan.look(MERGED, plan.ends_ns(MERGED)) is not None
    assert not plan.look(MERGED, plan.ends_ns(MERGED)).final  # type: ignore[union-attr]
    final = plan.look(MERGED, plan.ends_ns(MERGED) + INGEST_MARGIN_NS)
    later = plan.look(MERGED, plan.ends_ns(MERGED) + 30 * DAY_NS)
    assert final is not None
    assert final.final
    assert final.day == 2
    assert later == final  # data of a past window does not change: the same answer


@pytest.mark.parametrize("days", [0, 31, -1, True])
def test_watch_days_out_of_range_is_refused_naming_the_setting(days: int) -> None:
    with pytest.raises(ConfigError) as caught:
        WatchPlan(watch_days=days)
    assert caught.value.setting == "watch_days"


def test_a_deploy_lag_over_a_week_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        WatchPlan(deploy_lag=timedelta(days=8))
    assert caught.value.setting == "deploy_lag"


def test_a_watch_that_ended_days_before_any_run_is_too_late_to_judge() -> None:
    plan = WatchPlan(watch_days=7, deploy_lag=timedelta(hours=1))
    assert not plan.too_late(MERGED, plan.ends_ns(MERGED) + DAY_NS)  # an outage of a day
    assert plan.too_late(MERGED, plan.ends_ns(MERGED) + 3 * DAY_NS)
