"""file-pr end to end: refine's real output filed to a GitHub-compatible server, pushed with
real git over smart HTTP, every request and response checked against GitHub's OpenAPI
description (the ``github_server`` fixture fails a test on any mismatch).

Each test clones the server's repository (seeded with the bundled sample checkout) as the
runner's checkout, refines the demo's slow-LLM finding there with the replayed answer (no
build: ``not_validated``, filed with ``allow_unvalidated``), and files it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from githubsim.faults import FaultKind
from githubsim.fixtures import GitHubServer
from micro_gastown.app.analyzer import LlmRequest
from micro_gastown.app.file_pr import FilePrRequest, FilingStatus, file_pr
from micro_gastown.app.refine import RefineRequest, refine
from micro_gastown.bundled import bundled_root
from micro_gastown.errors import GitHubUnavailableError
from micro_gastown.github.metadata import read_record
from micro_gastown.testing.demo_refine import REPLAY
from micro_gastown.testing.demo_review import DEMO_REPO, ROOT
from micro_gastown.testing.demo_sample import IGNORED, demo_report

BOT = "micro-gastown[bot]"
SLOW_PREFIX = "slow-llm-summarize-"


@pytest.fixture
def github_seed(tmp_path: Path) -> Path:
    seed = tmp_path / "seed"
    shutil.copytree(DEMO_REPO, seed, ignore=IGNORED, symlinks=True)
    return seed


@dataclass
class Refined:
    checkout: Path
    patch: Path
    report: Path
    pattern_id: str


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.strip()


@pytest.fixture
def refined(github_server: GitHubServer, tmp_path: Path) -> Refined:
    checkout = tmp_path / "checkout"
    _git(tmp_path, "clone", "--quiet", str(github_server.sim.git.path), str(checkout))
    report, report_path = demo_report(tmp_path)
    [pattern_id] = [p.id for p in report.patterns if p.id.startswith(SLOW_PREFIX)]
    result = refine(
        RefineRequest(
            report=report_path,
            repo=checkout,
            patterns=(pattern_id,),
            llm=LlmRequest(backend="replay", replay=REPLAY),
            run_must_pass=False,
        )
    )
    [proposal] = result.proposals
    out = tmp_path / "out"
    out.mkdir()
    patch = out / "changes.diff"
    patch.write_text(proposal.patch)
    (out / "changes.json").write_bytes(proposal.changes.to_json())
    return Refined(checkout, patch, report_path, pattern_id)


def _environ(server: GitHubServer, login: str = BOT) -> dict[str, str]:
    return {
        "MICRO_GASTOWN_GITHUB_TOKEN": server.tokens[login],
        "GITHUB_REPOSITORY": server.repo.full_name,
        "GITHUB_API_URL": server.api_url,
        "GITHUB_SERVER_URL": server.clone_url.rsplit(f"/{server.repo.full_name}", 1)[0],
        "MICRO_GASTOWN_GITHUB_LOGIN": login,
    }


def _file(
    server: GitHubServer,
    refined: Refined,
    *,
    login: str = BOT,
    now: dt.datetime | None = None,
    config_dirs: tuple[Path, ...] = (),
    **github: object,
) -> object:
    request = FilePrRequest(
        patch=refined.patch,
        evidence=refined.report,
        repo=refined.checkout,
        allow_unvalidated=True,
        config_dirs=config_dirs,
        github=dict(github),
    )
    return file_pr(request, environ=_environ(server, login), api=server.client(login), now=now)


def _schema_valid(result: object) -> dict[str, object]:
    document = json.loads(result.model_dump_json(exclude_none=True))  # type: ignore[attr-defined]
    schema = json.loads((ROOT / "schemas" / "PRResult.json").read_text())
    jsonschema.validate(document, schema)
    return document  # type: ignore[no-any-return]


def test_a_validated_change_becomes_one_draft_pr_with_its_evidence(
    github_server: GitHubServer, refined: Refined
) -> None:
    head_before = _git(refined.checkout, "rev-parse", "HEAD")
    outcome = _file(github_server, refined)
    assert outcome.status is FilingStatus.OPENED, outcome.reason  # type: ignore[attr-defined]
    document = _schema_valid(outcome.result)  # type: ignore[attr-defined]
    [pull] = github_server.sim.pulls.values()
    assert pull.draft
    assert pull.author == BOT
    assert {"sleeptime", "auto-generated"} <= set(pull.labels)
    assert document["branch_name"] == pull.head_ref
    assert str(document["branch_name"]).startswith("sleeptime/")
    assert document["commit_sha"] == github_server.sim.branch(pull.head_ref)
    assert document["files_changed"] == ["templates/summarize.jinja"]
    record = read_record(pull.body)
    assert record is not None
    assert record.fingerprints == (refined.pattern_id,)
    assert record.base_commit == head_before
    # the commit holds the patch, on the validated base
    sha = str(document["commit_sha"])
    git = github_server.sim.git
    assert git.commit(sha).parents == (head_before,)
    # the runner's checkout is as it was, and the token is nowhere in it
    assert _git(refined.checkout, "rev-parse", "HEAD") == head_before
    assert _git(refined.checkout, "status", "--porcelain") == ""
    token = github_server.tokens[BOT]
    for path in (refined.checkout / ".git").rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path


def test_filing_the_same_change_twice_yields_one_pr(
    github_server: GitHubServer, refined: Refined
) -> None:
    first = _file(github_server, refined)
    second = _file(github_server, refined)
    assert first.status is FilingStatus.OPENED  # type: ignore[attr-defined]
    assert second.status is FilingStatus.UNCHANGED, second.reason  # type: ignore[attr-defined]
    assert len(github_server.sim.pulls) == 1
    assert second.result.pr_number == first.result.pr_number  # type: ignore[attr-defined]
    pushes = github_server.sim.requests("POST", "git-receive-pack")
    assert len(pushes) == 1  # the second run saw the branch already held the change


def test_a_crash_between_push_and_pr_is_finished_by_the_next_run(
    github_server: GitHubServer, refined: Refined
) -> None:
    attempts = 4  # the test client's 3 retries, then it gives up
    github_server.sim.fault(
        FaultKind.BAD_GATEWAY, times=attempts, method="POST", path_contains="/pulls"
    )
    with pytest.raises(GitHubUnavailableError):
        _file(github_server, refined)
    assert not github_server.sim.pulls
    branches = [b for b in github_server.sim.git.refs() if "sleeptime/" in b]
    assert len(branches) == 1  # pushed, no PR yet
    assert github_server.sim.faults.pending() == 0
    outcome = _file(github_server, refined)
    assert outcome.status is FilingStatus.OPENED, outcome.reason  # type: ignore[attr-defined]
    assert len(github_server.sim.pulls) == 1
    assert f"refs/heads/{outcome.result.branch_name}" in branches  # type: ignore[attr-defined]
    assert len(github_server.sim.requests("POST", "git-receive-pack")) == 1


def test_a_branch_a_crashed_run_left_is_resumed_on_another_day(
    github_server: GitHubServer, refined: Refined
) -> None:
    github_server.sim.fault(FaultKind.BAD_GATEWAY, times=4, method="POST", path_contains="/pulls")
    with pytest.raises(GitHubUnavailableError):
        _file(github_server, refined)
    [left] = [b for b in github_server.sim.git.refs() if "sleeptime/" in b]
    # the next day refine drafts the same change again, dated that day
    changes = refined.patch.with_name("changes.json")
    document = json.loads(changes.read_text())
    drafted = dt.datetime.fromisoformat(document["metadata"]["generated_at"])
    document["metadata"]["generated_at"] = (drafted + dt.timedelta(days=1)).isoformat()
    changes.write_text(json.dumps(document))
    outcome = _file(github_server, refined, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    assert outcome.status is FilingStatus.OPENED, outcome.reason  # type: ignore[attr-defined]
    assert f"refs/heads/{outcome.result.branch_name}" == left  # type: ignore[attr-defined]
    [pull] = github_server.sim.pulls.values()
    assert f"refs/heads/{pull.head_ref}" == left
    assert [b for b in github_server.sim.git.refs() if "sleeptime/" in b] == [left]
    assert len(github_server.sim.requests("POST", "git-receive-pack")) == 1


def test_commit_via_the_git_database_api_is_verified(
    github_server: GitHubServer, refined: Refined
) -> None:
    outcome = _file(github_server, refined, commit_via="api")
    assert outcome.status is FilingStatus.OPENED, outcome.reason  # type: ignore[attr-defined]
    sha = outcome.result.commit_sha  # type: ignore[attr-defined]
    assert sha in github_server.sim.verified
    assert not github_server.sim.requests("POST", "git-receive-pack")
    # the same tree as git would have made: a rerun sees it and changes nothing
    again = _file(github_server, refined, commit_via="api")
    assert again.status is FilingStatus.UNCHANGED  # type: ignore[attr-defined]


def test_a_human_commit_on_our_branch_is_never_pushed_over(
    github_server: GitHubServer, refined: Refined
) -> None:
    first = _file(github_server, refined)
    branch = first.result.branch_name  # type: ignore[attr-defined]
    human = github_server.sim.add_commit(branch, {"NOTES.md": "mine\n"}, login="alice")
    again = _file(github_server, refined)
    assert again.status is FilingStatus.LEFT_ALONE  # type: ignore[attr-defined]
    assert "someone else" in again.reason  # type: ignore[attr-defined]
    assert github_server.sim.branch(branch) == human


def test_a_closed_pr_holds_its_finding_back(github_server: GitHubServer, refined: Refined) -> None:
    first = _file(github_server, refined)
    github_server.sim.close(first.result.pr_number)  # type: ignore[attr-defined]
    again = _file(github_server, refined)
    assert again.status is FilingStatus.SKIPPED  # type: ignore[attr-defined]
    assert "closed" in again.reason  # type: ignore[attr-defined]
    assert len(github_server.sim.pulls) == 1


def test_a_dry_run_reads_and_writes_nothing_to_github(
    github_server: GitHubServer, refined: Refined, tmp_path: Path
) -> None:
    out = tmp_path / "dry"
    request = FilePrRequest(
        patch=refined.patch,
        evidence=refined.report,
        repo=refined.checkout,
        allow_unvalidated=True,
        dry_run=True,
        out=out,
    )
    outcome = file_pr(request, environ=_environ(github_server), api=github_server.client(BOT))
    assert outcome.status is FilingStatus.DRY_RUN
    assert all(x.method == "GET" for x in github_server.sim.log if not x.git)
    assert not [x for x in github_server.sim.log if x.git]
    assert not github_server.sim.pulls
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(p.name for p in outcome.written)
    assert (out / "changes.diff").read_text() == refined.patch.read_text()
    assert (out / "branch.txt").read_text().strip() == outcome.draft.branch  # type: ignore[union-attr]
    calls = json.loads((out / "api-calls.json").read_text())
    assert [c["method"] for c in calls] == ["GIT", "POST", "POST"]  # push, PR, labels


def test_a_reverted_pr_holds_its_finding_back_until_the_label_goes(
    github_server: GitHubServer, refined: Refined
) -> None:
    first = _file(github_server, refined)
    number = first.result.pr_number  # type: ignore[attr-defined]
    github_server.sim.merge(number)
    github_server.sim.edit_labels(number, add=("sleeptime-reverted",))
    held = _file(github_server, refined, watch_days=0)
    assert held.status is FilingStatus.SKIPPED  # type: ignore[attr-defined]
    assert "revert" in held.reason  # type: ignore[attr-defined]
    github_server.sim.edit_labels(number, remove=("sleeptime-reverted",))
    again = _file(github_server, refined, watch_days=0)
    assert again.status is FilingStatus.OPENED, again.reason  # type: ignore[attr-defined]
    assert len(github_server.sim.pulls) == 2


def test_no_new_pr_while_max_open_of_ours_are_open(
    github_server: GitHubServer, refined: Refined
) -> None:
    outcome = _file(github_server, refined, max_open=0)
    assert outcome.status is FilingStatus.SKIPPED  # type: ignore[attr-defined]
    assert not github_server.sim.pulls
    assert not [x for x in github_server.sim.log if x.git]


def test_a_pr_someone_else_opened_on_our_branch_is_never_touched(
    github_server: GitHubServer, refined: Refined, tmp_path: Path
) -> None:
    dry = FilePrRequest(
        patch=refined.patch, evidence=refined.report, repo=refined.checkout,
        allow_unvalidated=True, dry_run=True, out=tmp_path / "dry",
    )  # fmt: skip
    branch = file_pr(dry, environ={}).draft.branch  # type: ignore[union-attr]
    github_server.sim.add_commit(branch, {"NOTES.md": "alice's\n"}, login="alice")
    theirs = github_server.sim.add_pull(branch=branch, author="alice", body="my own PR")
    outcome = _file(github_server, refined)
    assert outcome.status is FilingStatus.LEFT_ALONE  # type: ignore[attr-defined]
    assert theirs.body == "my own PR"
    assert theirs.labels == []
    assert len(github_server.sim.pulls) == 1
    writes = [x for x in github_server.sim.log if x.method != "GET" and not x.git]
    assert writes == []


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if text.encode() in cmdline:
                found.append(int(entry.name))
    return found


def test_sigterm_mid_push_stops_filing_and_the_git_it_started(
    github_server: GitHubServer, refined: Refined
) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_DIR")},
        **_environ(github_server),
        "GITHUB_SERVER_URL": f"http://127.0.0.1:{port}",  # a remote that never answers
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "micro_gastown", "file-pr", "-i", str(refined.patch),
         "-e", str(refined.report), "--repo", str(refined.checkout), "--allow-unvalidated"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not accepted and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert accepted, "git never reached the remote"
        assert _processes_mentioning(f"127.0.0.1:{port}"), "no git push running"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        # the remote still holds the connection open: only a kill ends git now
        deadline = time.monotonic() + 5
        while _processes_mentioning(f"127.0.0.1:{port}") and time.monotonic() < deadline:
            time.sleep(0.05)
        left = _processes_mentioning(f"127.0.0.1:{port}")
    finally:
        if process.poll() is None:
            process.kill()
        listener.close()
        for connection in accepted:
            connection.close()
    assert process.returncode == 143, stderr
    assert b"Traceback" not in stderr
    assert left == [], "git outlived the filing it was pushing for"
    assert not github_server.sim.pulls


def test_reviewers_come_from_the_polecat_unless_given(
    github_server: GitHubServer, refined: Refined, tmp_path: Path
) -> None:
    polecats = tmp_path / "config" / "polecats"
    polecats.mkdir(parents=True)
    text = (bundled_root() / "polecats" / "pr-filer.toml").read_text()
    assert "\nreviewers = []\n" in text, "the bundled pr-filer polecat changed its reviewers"
    (polecats / "pr-filer.toml").write_text(
        text.replace("\nreviewers = []\n", '\nreviewers = ["bob", "mallory"]\n')
    )
    outcome = _file(github_server, refined, config_dirs=(tmp_path / "config",))
    [pull] = github_server.sim.pulls.values()
    assert pull.reviewers == ["bob"]  # mallory is no collaborator: refused, and said
    assert any("mallory" in note for note in outcome.notes)  # type: ignore[attr-defined]
