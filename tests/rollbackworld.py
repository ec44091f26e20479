"""A merged evolution PR of ours and the Loki data around its merge, for the rollback
watcher's tests (the app-level suite and the local run of the action).

The PR addresses one ``effect_failure`` finding (its record holds the LogQL the detector
writes: failed executions of ``http_fetch``, relative to all its executions) and is merged
``merged_ago`` before now. Loki gets, for every hour of the two days around the merge,
``EXECUTIONS_PER_HOUR`` executions of which ``FAILED_PER_HOUR`` failed before the merge and
``FAILED_PER_HOUR * factor`` after it, plus a steady trickle of other errors.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from githubsim.fixtures import GitHubServer
from micro_gastown.detectors import series
from micro_gastown.github.metadata import write_record
from micro_gastown.github.model import FilingRecord, PatternRecord
from micro_gastown.logql import LogQL

from lokisim import LokiSim

OUR_LOGIN: Final = "github-actions[bot]"
FINDING: Final = "effect_failure-http_fetch-1a2b3c4d"
EXECUTIONS_PER_HOUR: Final = 60
FAILED_PER_HOUR: Final = 10
ERRORS_PER_HOUR: Final = 4
HOUR_NS: Final = 3_600_000_000_000
BRANCH: Final = "sleeptime/2026-11-30-effect-failure-1a2b3c4d"
_LOGQL = LogQL()


@dataclass(frozen=True)
class MergedPr:
    number: int
    merge_sha: str
    merged_at: dt.datetime


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record() -> FilingRecord:
    return FilingRecord(
        fingerprints=(FINDING,),
        patterns=(
            PatternRecord(
                id=FINDING,
                type="effect_failure",
                severity="critical",
                occurrences=FAILED_PER_HOUR * 24,
                series_query=(
                    "sum(count_over_time("
                    f"{series.effect_executions(_LOGQL, 'http_fetch', failed=True)} [1h]))"
                ),
                exposure_query=(
                    f"sum(count_over_time({series.effect_executions(_LOGQL, 'http_fetch')} [1h]))"
                ),
                exposure_unit="executions",
            ),
        ),
        base_branch="main",
        branch=BRANCH,
    )


def merged_pr(server: GitHubServer, *, merged_ago: dt.timedelta, now: dt.datetime) -> MergedPr:
    """Our PR (label, branch, author, metadata), merged with a real merge commit, its merge
    time set ``merged_ago`` before ``now``."""
    sim = server.sim
    sim.add_commit(
        BRANCH,
        {"src/Retry.hs": "module Retry where\nretries :: Int\nretries = 3\n"},
        login=None,
        email="micro-gastown@users.noreply.github.com",
        message="Retry http_fetch on failure\n",
    )
    body = "## Retry http_fetch\n\nevidence...\n" + write_record(record())
    pull = sim.add_pull(
        branch=BRANCH, author=OUR_LOGIN, title="Retry http_fetch", body=body,
        labels=("sleeptime",),
    )  # fmt: skip
    sha = sim.merge(pull.number)
    merged_at = now - merged_ago
    with sim.lock:
        pull.merged_at = pull.closed_at = _iso(merged_at)
    return MergedPr(pull.number, sha, merged_at)


def fill_loki(loki: LokiSim, merged_at: dt.datetime, *, factor: float, days: int = 2) -> None:
    """Hourly traffic for ``days`` either side of the merge (failures × ``factor`` after)."""
    merged_ns = int(merged_at.timestamp()) * 1_000_000_000
    effects: list[tuple[int, str]] = []
    errors: list[tuple[int, str]] = []
    for hour in range(-24 * days, 24 * days):
        start = merged_ns + hour * HOUR_NS
        failed = FAILED_PER_HOUR if hour < 0 else round(FAILED_PER_HOUR * factor)
        step = HOUR_NS // EXECUTIONS_PER_HOUR
        for i in range(EXECUTIONS_PER_HOUR):
            ok = "false" if i < failed else "true"
            line = (
                '{"type":"effect_execution","effect_type":"http_fetch",'
                f'"success":{ok},"latency_ms":12}}'
            )
            effects.append((start + i * step + 1, line))
        for i in range(ERRORS_PER_HOUR):
            errors.append(
                (
                    start + i * (HOUR_NS // ERRORS_PER_HOUR) + 7,
                    '{"type":"error","message":"upstream timeout"}',
                )
            )
    loki.push({"job": "exomonad-native", "event_type": "effect_execution"}, effects)
    loki.push({"job": "exomonad-native", "event_type": "error"}, errors)


def server_url(server: GitHubServer) -> str:
    """What GITHUB_SERVER_URL is for the sim (the clone URL less ``/owner/name.git``)."""
    return server.clone_url.removesuffix(f"/{server.repo.full_name}.git")
