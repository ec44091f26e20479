"""``rollback-check`` end to end against the GitHub simulator (real git, real merge commits,
the OpenAPI contract check) and lokisim: a merged PR whose finding doubled after the merge
is reverted exactly once; the loop closes with one comment and one label, even across a
crash and a rerun; a closed revert is respected; a PR that helped gets its final verdict."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from githubsim.fixtures import GitHubServer
from micro_gastown.app import reverter as reverter_module
from micro_gastown.app.filer_settings import FilerSettings
from micro_gastown.app.rollback import (
    MAX_MEASURED,
    RollbackRequest,
    RollbackResult,
    rollback_check,
)
from micro_gastown.app.rollback_outcome import PrAction
from micro_gastown.github.metadata import read_record, write_record
from micro_gastown.github.verdict_body import read_verdict_marker
from micro_gastown.sources.loki.config import LokiConfig
from micro_gastown.watch.judge import Verdict
from micro_gastown.watch.looks import WatchPlan
from rollbackworld import OUR_LOGIN, fill_loki, merged_pr, record, server_url

from lokisim import LokiSim

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def loki() -> Iterator[LokiSim]:
    with LokiSim() as sim:
        yield sim
        assert not sim.errors, sim.errors


def settings(server: GitHubServer, **more: object) -> FilerSettings:
    values: dict[str, object] = {
        "github_token": server.tokens[OUR_LOGIN],
        "github_repository": server.repo.full_name,
        "github_api_url": server.api_url,
        "github_server_url": server_url(server),
        "github_login": OUR_LOGIN,
    }
    values.update(more)
    return FilerSettings(**values)  # type: ignore[arg-type]


def check(
    server: GitHubServer,
    loki: LokiSim,
    *,
    now: dt.datetime = NOW,
    watch_days: int = 7,
    **request: object,
) -> RollbackResult:
    """One rollback-check pass as our bot, over the sims."""
    return rollback_check(
        RollbackRequest(plan=WatchPlan(watch_days=watch_days), **request),  # type: ignore[arg-type]
        settings(server),
        LokiConfig(url=loki.url),
        now=now,
    )


def run(
    server: GitHubServer, loki: LokiSim, *, now: dt.datetime = NOW, **request: object
) -> tuple[PrAction, ...]:
    return tuple(o.action for o in check(server, loki, now=now, **request).outcomes)


def our_comments(server: GitHubServer, number: int) -> list[str]:
    return [
        c.body for c in server.client().comments(number) if read_verdict_marker(c.body) is not None
    ]


def git_show(server: GitHubServer, rev: str, path: str) -> str | None:
    done = subprocess.run(
        ["git", "--git-dir", str(server.sim.git.path), "show", f"{rev}:{path}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done.stdout if done.returncode == 0 else None


def test_a_doubled_finding_is_reverted_once_with_comment_label_and_evidence(
    github_server: GitHubServer, loki: LokiSim
) -> None:
    pr = merged_pr(github_server, merged_ago=dt.timedelta(days=1, hours=3), now=NOW)
    fill_loki(loki, pr.merged_at, factor=2.0)

    assert run(github_server, loki) == (PrAction.REVERTED,)

    pulls = {p.number: p for p in github_server.sim.pulls.values()}
    reverts = [p for p in pulls.values() if p.head_ref == f"sleeptime/revert-{pr.number}"]
    assert len(reverts) == 1
    revert = reverts[0]
    assert not revert.draft
    assert revert.author == OUR_LOGIN
    assert "sleeptime-revert" in set(revert.labels)
    record = read_record(revert.body)
    assert record is not None
    assert record.reverts == pr.number
    assert record.fingerprints == ()
    assert f"git revert -m 1 {pr.merge_sha}" in (revert.body or "")
    # the revert branch undoes the PR's file, on top of main
    assert git_show(github_server, f"sleeptime/revert-{pr.number}", "src/Retry.hs") is None
    assert git_show(github_server, "main", "src/Retry.hs") is not None
    assert "sleeptime-reverted" in pulls[pr.number].labels
    comments = our_comments(github_server, pr.number)
    assert len(comments) == 1
    marker = read_verdict_marker(comments[0])
    assert marker is not None
    assert marker["verdict"] == "regressed"
    assert marker["revert_pr"] == revert.number

    # the next hourly run, and one a day later: nothing new
    assert run(github_server, loki) == (PrAction.ALREADY_JUDGED,)
    assert run(github_server, loki, now=NOW + dt.timedelta(days=1)) == (PrAction.ALREADY_JUDGED,)
    assert len([p for p in github_server.sim.pulls.values() if "revert" in p.head_ref]) == 1
    assert len(our_comments(github_server, pr.number)) == 1


def test_a_run_that_died_after_opening_the_revert_is_finished_not_repeated(
    github_server: GitHubServer, loki: LokiSim
) -> None:
    pr = merged_pr(github_server, merged_ago=dt.timedelta(days=1, hours=3), now=NOW)
    fill_loki(loki, pr.merged_at, factor=2.0)

    class Crash(Exception):
        pass

    class DiesOnComment:
        """The GitHub client, but the process dies as it is about to comment."""

        def __init__(self, client: object) -> None:
            self._client = client

        def __getattr__(self, name: str) -> object:
            return getattr(self._client, name)

        def comment(self, number: int, body: str) -> None:
            raise Crash

    with pytest.raises(Crash):
        rollback_check(
            RollbackRequest(plan=WatchPlan(watch_days=7)), settings(github_server),
            LokiConfig(url=loki.url), now=NOW,
            api=DiesOnComment(github_server.client(OUR_LOGIN)),  # type: ignore[arg-type]
        )  # fmt: skip
    opened = [p for p in github_server.sim.pulls.values() if "revert" in p.head_ref]
    assert len(opened) == 1
    assert not our_comments(github_server, pr.number)

    assert run(github_server, loki) == (PrAction.REVERTED,)
    assert len([p for p in github_server.sim.pulls.values() if "revert" in p.head_ref]) == 1
    assert len(our_comments(github_server, pr.number)) == 1
    assert "sleeptime-reverted" in github_server.sim.pulls[pr.number].labels


def test_a_revert_a_human_closed_is_respected(github_server: GitHubServer, loki: LokiSim) -> None:
    pr = merged_pr(github_server, merged_ago=dt.timedelta(days=1, hours=3), now=NOW)
    fill_loki(loki, pr.merged_at, factor=2.0)
    assert run(github_server, loki) == (PrAction.REVERTED,)
    revert = next(p for p in github_server.sim.pulls.values() if "revert" in p.head_ref)
    github_server.sim.close(revert.number)
    github_server.sim.edit_labels(pr.number, remove=("sleeptime-reverted",))

    outcome = check(github_server, loki, now=NOW + dt.timedelta(days=1),
    ).outcomes  # fmt: skip
    assert outcome[0].action is PrAction.REVERTED
    assert "closed by a human" in outcome[0].detail
    assert len([p for p in github_server.sim.pulls.values() if "revert" in p.head_ref]) == 1


def test_a_pr_that_helped_gets_one_final_verdict_when_its_watch_ends(
    github_server: GitHubServer, loki: LokiSim
) -> None:
    pr = merged_pr(github_server, merged_ago=dt.timedelta(days=2, hours=2), now=NOW)
    fill_loki(loki, pr.merged_at, factor=0.2)
    plan = WatchPlan(watch_days=2)

    def judged(now: dt.datetime) -> tuple[PrAction, ...]:
        result = check(github_server, loki, now=now, watch_days=plan.watch_days)
        return tuple(o.action for o in result.outcomes)

    assert judged(NOW - dt.timedelta(days=1)) == (PrAction.WATCHING,)  # look 1 of 2: say nothing
    assert not our_comments(github_server, pr.number)
    assert judged(NOW) == (PrAction.JUDGED,)
    assert judged(NOW) == (PrAction.ALREADY_JUDGED,)
    comments = our_comments(github_server, pr.number)
    assert len(comments) == 1
    assert read_verdict_marker(comments[0])["verdict"] == "improved"
    assert "sleeptime-improved" in github_server.sim.pulls[pr.number].labels
    assert not [p for p in github_server.sim.pulls.values() if "revert" in p.head_ref]


def test_a_dry_run_writes_nothing(github_server: GitHubServer, loki: LokiSim) -> None:
    pr = merged_pr(github_server, merged_ago=dt.timedelta(days=1, hours=3), now=NOW)
    fill_loki(loki, pr.merged_at, factor=2.0)
    before = len(github_server.sim.requests())
    assert run(github_server, loki, dry_run=True) == (PrAction.WOULD_REVERT,)
    writes = [r for r in github_server.sim.requests()[before:] if r.method != "GET"]
    assert writes == []


def test_a_pr_without_our_metadata_is_never_judged(
    github_server: GitHubServer, loki: LokiSim
) -> None:
    pr = merged_pr(github_server, merged_ago=dt.timedelta(days=1, hours=3), now=NOW)
    fill_loki(loki, pr.merged_at, factor=3.0)
    with github_server.sim.lock:
        github_server.sim.pulls[pr.number].body = "a human rewrote the body"
    assert run(github_server, loki) == ()
    assert not [p for p in github_server.sim.pulls.values() if "revert" in p.head_ref]


def test_sparse_data_is_never_reverted(github_server: GitHubServer, loki: LokiSim) -> None:
    pr = merged_pr(github_server, merged_ago=dt.timedelta(days=1, hours=3), now=NOW)
    # a handful of events: inconclusive, whatever the ratio
    start = int(pr.merged_at.timestamp()) * 1_000_000_000
    loki.push(
        {"job": "exomonad-native", "event_type": "error"},
        [(start - 3_600_000_000_000, '{"type":"error","message":"x"}')]
        + [
            (start + (5 + i) * 3_600_000_000_000, '{"type":"error","message":"x"}')
            for i in range(6)
        ],
    )
    result = check(github_server, loki)
    outcome = result.outcomes[0]
    assert outcome.action is PrAction.WATCHING
    assert outcome.verdict is Verdict.INCONCLUSIVE


def test_the_scratch_repository_is_gone_after_the_revert(
    github_server: GitHubServer, loki: LokiSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch_root))
    seen_during: list[list[str]] = []
    real_push = reverter_module.push

    def push_and_look(*args: object, **kwargs: object) -> None:
        seen_during.append(sorted(p.name for p in scratch_root.iterdir()))
        real_push(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(reverter_module, "push", push_and_look)
    pr = merged_pr(github_server, merged_ago=dt.timedelta(days=1, hours=3), now=NOW)
    fill_loki(loki, pr.merged_at, factor=2.0)
    assert run(github_server, loki) == (PrAction.REVERTED,)
    [names] = seen_during  # the commit was pushed from a scratch repository there
    assert len(names) == 1
    assert names[0].startswith("micro-gastown-revert-")
    assert list(scratch_root.iterdir()) == []  # and it is gone


def test_the_cli_prints_a_line_per_pr_and_writes_the_verdicts(
    github_server: GitHubServer, loki: LokiSim, tmp_path: Path
) -> None:
    pr = merged_pr(github_server, merged_ago=dt.timedelta(days=1, hours=3), now=NOW)
    fill_loki(loki, pr.merged_at, factor=2.0)
    env = {
        **os.environ,
        "GITHUB_TOKEN": github_server.tokens[OUR_LOGIN],
        "GITHUB_REPOSITORY": github_server.repo.full_name,
        "GITHUB_API_URL": github_server.api_url,
        "GITHUB_SERVER_URL": server_url(github_server),
        "MICRO_GASTOWN_GITHUB_LOGIN": OUR_LOGIN,
    }
    out = tmp_path / "verdicts.json"
    done = subprocess.run(
        [sys.executable, "-m", "micro_gastown", "rollback-check", "--loki-url", loki.url,
         "--dry-run", "--pr", str(pr.number), "--output", str(out)],
        capture_output=True, text=True, check=False, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"#{pr.number}: would-revert: look 1 of 7: regressed; dry run" in done.stderr
    [verdict] = json.loads(out.read_text())
    assert verdict["verdict"] == "regressed"
    assert verdict["look_day"] == 1
    assert github_server.tokens[OUR_LOGIN] not in done.stderr + done.stdout
    assert not [p for p in github_server.sim.pulls.values() if "revert" in p.head_ref]


def test_a_pr_whose_watch_ended_long_before_the_watcher_is_left_alone(
    github_server: GitHubServer, loki: LokiSim
) -> None:
    pr = merged_pr(github_server, merged_ago=dt.timedelta(days=12), now=NOW)
    fill_loki(loki, pr.merged_at, factor=3.0)
    result = check(github_server, loki)
    [outcome] = result.outcomes
    assert outcome.action is PrAction.SKIPPED
    assert "before any run judged it" in outcome.detail
    assert not our_comments(github_server, pr.number)
    assert loki.requests == []  # not even counted


def test_loki_down_fails_each_pr_on_its_own_and_writes_nothing(
    github_server: GitHubServer, loki: LokiSim
) -> None:
    pr = merged_pr(github_server, merged_ago=dt.timedelta(days=1, hours=3), now=NOW)
    seen = len(github_server.sim.requests())
    address = loki.url
    loki.stop()
    result = rollback_check(
        RollbackRequest(plan=WatchPlan(watch_days=7)), settings(github_server),
        LokiConfig(url=address), now=NOW,
    )  # fmt: skip
    [outcome] = result.outcomes
    assert outcome.action is PrAction.FAILED
    assert outcome.exit_code == 3
    assert "Loki" in outcome.detail or "GRAFANA_LOKI_URL" in outcome.detail
    assert [r for r in github_server.sim.requests()[seen:] if r.method != "GET"] == []
    assert pr.number == outcome.number


def test_a_body_listing_a_hundred_findings_costs_a_bounded_number_of_queries(
    github_server: GitHubServer, loki: LokiSim
) -> None:
    pr = merged_pr(github_server, merged_ago=dt.timedelta(days=1, hours=3), now=NOW)
    fill_loki(loki, pr.merged_at, factor=1.0)
    base = record()
    template = base.patterns[0]
    patterns = tuple(
        template.model_copy(
            update={
                "id": f"f{i}",
                "series_query": template.series_query.replace("http_fetch", f"fx{i}"),  # type: ignore[union-attr]
            }
        )
        for i in range(100)
    )
    edited = base.model_copy(
        update={"fingerprints": tuple(p.id for p in patterns), "patterns": patterns}
    )
    with github_server.sim.lock:
        github_server.sim.pulls[pr.number].body = "edited\n" + write_record(edited)
    result = check(github_server, loki)
    [outcome] = result.outcomes
    assert outcome.assessment is not None
    assert len(outcome.assessment.comparisons) <= MAX_MEASURED + 1
    assert any("80 more findings" in u.name for u in outcome.assessment.unmeasured)
    assert result.loki_requests <= 2 * (2 * MAX_MEASURED + 2) + 1


def test_the_revert_commit_can_be_made_by_github_signed(
    github_server: GitHubServer, loki: LokiSim
) -> None:
    pr = merged_pr(github_server, merged_ago=dt.timedelta(days=1, hours=3), now=NOW)
    fill_loki(loki, pr.merged_at, factor=2.0)
    result = rollback_check(
        RollbackRequest(plan=WatchPlan(watch_days=7)),
        settings(github_server, commit_via="api"),
        LokiConfig(url=loki.url),
        now=NOW,
    )
    [outcome] = result.outcomes
    assert outcome.action is PrAction.REVERTED
    head = github_server.sim.branch(f"sleeptime/revert-{pr.number}")
    assert head in github_server.sim.verified  # GitHub made (and signed) it
    assert git_show(github_server, head or "", "src/Retry.hs") is None
    assert not github_server.sim.requests("POST", "git-receive-pack")  # nothing pushed by git


def test_the_revert_targets_the_branch_github_says_not_the_body(
    github_server: GitHubServer, loki: LokiSim
) -> None:
    pr = merged_pr(github_server, merged_ago=dt.timedelta(days=1, hours=3), now=NOW)
    fill_loki(loki, pr.merged_at, factor=2.0)
    edited = record().model_copy(update={"base_branch": "release"})
    github_server.sim.add_commit("release", {"NOTES": "x\n"})
    with github_server.sim.lock:
        github_server.sim.pulls[pr.number].body = "edited\n" + write_record(edited)
    assert run(github_server, loki) == (PrAction.REVERTED,)
    [revert] = [p for p in github_server.sim.pulls.values() if "revert" in p.head_ref]
    assert revert.base_ref == "main"


def test_auto_merge_merges_the_revert_when_opted_in(
    github_server: GitHubServer, loki: LokiSim
) -> None:
    pr = merged_pr(github_server, merged_ago=dt.timedelta(days=1, hours=3), now=NOW)
    fill_loki(loki, pr.merged_at, factor=2.0)
    result = check(github_server, loki, auto_merge=True)
    [outcome] = result.outcomes
    assert outcome.action is PrAction.REVERTED
    assert "merged (auto-merge)" in outcome.detail
    revert = github_server.sim.pulls[outcome.revert_number or 0]
    assert revert.merged
    assert git_show(github_server, "main", "src/Retry.hs") is None  # undone on main


def test_without_opting_in_the_revert_waits_for_a_human(
    github_server: GitHubServer, loki: LokiSim
) -> None:
    pr = merged_pr(github_server, merged_ago=dt.timedelta(days=1, hours=3), now=NOW)
    fill_loki(loki, pr.merged_at, factor=2.0)
    assert run(github_server, loki) == (PrAction.REVERTED,)
    [revert] = [p for p in github_server.sim.pulls.values() if "revert" in p.head_ref]
    assert not revert.merged
    assert not github_server.sim.requests("PUT", "/merge")
    assert git_show(github_server, "main", "src/Retry.hs") is not None


def test_a_marker_someone_else_posted_does_not_stand_for_our_verdict(
    github_server: GitHubServer, loki: LokiSim
) -> None:
    pr = merged_pr(github_server, merged_ago=dt.timedelta(days=2, hours=2), now=NOW)
    fill_loki(loki, pr.merged_at, factor=1.0)
    forged = '<!-- micro-gastown:verdict {"pr":1,"verdict":"improved"} -->'
    github_server.client("alice").comment(pr.number, f"quoting the bot:\n{forged}")
    result = check(github_server, loki, watch_days=2)
    assert [o.action for o in result.outcomes] == [PrAction.JUDGED]
    ours = [c for c in github_server.client().comments(pr.number) if c.author_login == OUR_LOGIN]
    assert len(ours) == 1
    assert read_verdict_marker(ours[0].body) is not None


def test_asking_for_a_pr_that_is_not_ours_says_so(
    github_server: GitHubServer, loki: LokiSim
) -> None:
    human = github_server.sim.add_pull(branch="feature", author="alice", title="a human's PR")
    for number, why in ((human.number, "not a merged evolution PR of ours"), (999, "no such")):
        result = check(github_server, loki, only=number)
        [outcome] = result.outcomes
        assert outcome.action is PrAction.SKIPPED
        assert why in outcome.detail
    assert loki.requests == []
