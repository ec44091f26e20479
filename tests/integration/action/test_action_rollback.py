"""Issue 13, item 5's regressed path: ``action.yml`` run the way the runner runs it with
``command: rollback-check``, against the GitHub simulator (real git, real merge commits, the
OpenAPI contract check) and lokisim. A merged evolution PR whose finding doubled after the
merge gets exactly one revert PR, one comment and the label; the outputs and the summary say
so; a second run (the next hour's) changes nothing."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from actionrun import ActionRun, run_action
from githubsim.fixtures import GitHubServer, serving
from micro_gastown.action.settings import SECRET_VARIABLES
from micro_gastown.github.verdict_body import read_verdict_marker
from rollbackworld import OUR_LOGIN, fill_loki, merged_pr, server_url

from lokisim import LokiSim

CHECKOUT = Path(__file__).resolve().parents[3]


@pytest.fixture
def github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubServer]:
    with serving(tmp_path / "sim", monkeypatch) as server:
        yield server


@pytest.fixture
def loki() -> Iterator[LokiSim]:
    with LokiSim() as sim:
        yield sim
        assert not sim.errors, sim.errors


def _run(
    tmp_path: Path, github: GitHubServer, loki: LokiSim, *, job: int = 1, **inputs: str
) -> ActionRun:
    """One job running the action (each job has its own runner temp, as on GitHub)."""
    drop = (*SECRET_VARIABLES, "GRAFANA_LOKI_URL", "GRAFANA_LOKI_USER", "LOKI_ADDR")
    environ = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("INPUT_")}
    environ.update(
        {
            "GITHUB_REPOSITORY": github.repo.full_name,
            "GITHUB_API_URL": github.api_url,
            "GITHUB_SERVER_URL": server_url(github),
            "MICRO_GASTOWN_GITHUB_LOGIN": OUR_LOGIN,
        }
    )
    workspace = tmp_path / "workspace"
    workspace.mkdir(exist_ok=True)
    return run_action(
        CHECKOUT,
        {"command": "rollback-check", "loki-url": loki.url, **inputs},
        workspace=workspace,
        runner_temp=tmp_path / f"runner_temp_{job}",
        environ=environ,
        github_token=github.tokens[OUR_LOGIN],
    )


def test_the_regressed_path_opens_exactly_one_revert(
    tmp_path: Path, github: GitHubServer, loki: LokiSim
) -> None:
    now = dt.datetime.now(dt.UTC)
    pr = merged_pr(github, merged_ago=dt.timedelta(days=1, hours=3), now=now)
    fill_loki(loki, pr.merged_at, factor=2.0)

    run = _run(tmp_path, github, loki)

    assert not run.failed
    assert github.tokens[OUR_LOGIN] in run.masks
    verdicts = json.loads(run.outputs["verdicts"])
    assert len(verdicts) == 1
    [verdict] = verdicts
    assert (verdict["pr"], verdict["verdict"], verdict["action"]) == (
        pr.number, "regressed", "reverted"
    )  # fmt: skip
    reverts = [p for p in github.sim.pulls.values() if p.head_ref.startswith("sleeptime/revert-")]
    assert [r.number for r in reverts] == [verdict["revert_pr"]]
    assert "sleeptime-reverted" in github.sim.pulls[pr.number].labels
    comments = [c for c in github.client().comments(pr.number) if read_verdict_marker(c.body)]
    assert len(comments) == 1
    assert comments[0].author_login == OUR_LOGIN
    assert "### Rollback watcher" in run.summary
    assert f"#{pr.number}" in run.summary
    assert f"#{verdict['revert_pr']}" in run.summary
    assert "Rollback check: judge merged evolution PRs" in run.groups

    again = _run(tmp_path, github, loki, job=2)  # the next hour's run
    assert not again.failed
    assert json.loads(again.outputs["verdicts"])[0]["action"] == "already-judged"
    after = [p for p in github.sim.pulls.values() if p.head_ref.startswith("sleeptime/revert-")]
    assert len(after) == 1
    comments = [c for c in github.client().comments(pr.number) if read_verdict_marker(c.body)]
    assert len(comments) == 1


def test_a_dry_run_through_the_action_writes_nothing_to_github(
    tmp_path: Path, github: GitHubServer, loki: LokiSim
) -> None:
    now = dt.datetime.now(dt.UTC)
    pr = merged_pr(github, merged_ago=dt.timedelta(days=1, hours=3), now=now)
    fill_loki(loki, pr.merged_at, factor=2.0)
    seen = len(github.sim.requests())
    run = _run(tmp_path, github, loki, **{"dry-run": "true"})
    assert not run.failed
    assert json.loads(run.outputs["verdicts"])[0]["action"] == "would-revert"
    assert [r for r in github.sim.requests()[seen:] if r.method != "GET"] == []
    assert "Dry run: nothing was written to GitHub." in run.summary
