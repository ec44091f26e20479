"""The dry run's GitHub: the same publish sequence, with writes written down, not made."""

from __future__ import annotations

import orjson
import pytest
from fake_github import REPO, FakeGitHub

from micro_gastown.github.api import BranchCommit
from micro_gastown.github.model import (
    LABEL_EVOLUTION,
    CommitIdentity,
    FilingRecord,
    OurPr,
    PrDraft,
    PrState,
)
from micro_gastown.github.publish import publish
from micro_gastown.github.recording import PLACEHOLDER_SHA, RecordingApi

ME = CommitIdentity(login="sleeptime-app[bot]")
BRANCH = "sleeptime/2026-12-03-slow-llm-0123456789"
BASE = "b" * 40
DRAFT = PrDraft(
    branch=BRANCH,
    base_branch="main",
    base_commit=BASE,
    title="sleeptime: shorter prompt",
    body="x" * 1234,
    commit_message="sleeptime: shorter prompt\n\nPatterns: a",
    files=("dsl/Templates.hs", "dsl/Graph.hs"),
    record=FilingRecord(fingerprints=("a",)),
    labels=(LABEL_EVOLUTION, "automated"),
    reviewers=("alice",),
)


def dry_run(recorder: RecordingApi, way: str) -> None:
    publish(
        recorder,
        DRAFT,
        identity=ME,
        make_branch=recorder.branch_maker(way, DRAFT, DRAFT.files),
        same_change=lambda sha: False,
    )


def test_a_new_filing_via_git_records_the_push_then_the_pr() -> None:
    recorder = RecordingApi(None, REPO)
    dry_run(recorder, "git")
    push, create, labels, reviewers = recorder.calls
    assert push["method"] == "GIT"
    assert f"refs/heads/{BRANCH}" in push["command"]
    assert f"--force-with-lease=refs/heads/{BRANCH}:" in push["command"]
    assert BASE[:12] in push["command"]
    assert create == {
        "method": "POST",
        "path": "/repos/acme/agents/pulls",
        "json": {
            "title": DRAFT.title,
            "head": BRANCH,
            "base": "main",
            "draft": True,
            "body": "<the rendered body: 1,234 characters>",
        },
    }
    assert labels == {
        "method": "POST",
        "path": "/repos/acme/agents/issues/0/labels",
        "json": {"labels": [LABEL_EVOLUTION, "automated"]},
    }
    assert reviewers["path"] == "/repos/acme/agents/pulls/0/requested_reviewers"
    assert reviewers["json"] == {"reviewers": ["alice"]}


def test_a_new_filing_via_the_api_records_the_git_database_calls() -> None:
    recorder = RecordingApi(None, REPO)
    dry_run(recorder, "api")
    assert [
        (c["method"], c["path"].removeprefix("/repos/acme/agents")) for c in recorder.calls
    ] == [
        ("POST", "/git/blobs"),
        ("POST", "/git/blobs"),
        ("POST", "/git/trees"),
        ("POST", "/git/commits"),
        ("POST", "/git/refs"),
        ("POST", "/pulls"),
        ("POST", "/issues/0/labels"),
        ("POST", "/pulls/0/requested_reviewers"),
    ]
    tree, commit, ref = recorder.calls[2:5]
    assert [e["path"] for e in tree["json"]["tree"]] == list(DRAFT.files)
    assert commit["json"]["parents"] == [BASE]
    assert commit["json"]["message"] == DRAFT.commit_message
    assert ref["json"] == {"ref": f"refs/heads/{BRANCH}", "sha": PLACEHOLDER_SHA}


def test_reads_go_to_github_and_an_open_pr_of_ours_is_updated_not_created() -> None:
    existing = OurPr(
        number=7,
        url="https://github.com/acme/agents/pull/7",
        state=PrState.OPEN,
        branch=BRANCH,
        head_sha="1" * 40,
        author_login=ME.login,
        labels=frozenset({LABEL_EVOLUTION, "automated"}),
        record=FilingRecord(fingerprints=("a",), base_commit="0" * 39 + "1"),
        title="old title",
    )
    inner = FakeGitHub(
        branches={BRANCH: "1" * 40},
        commits={BRANCH: [BranchCommit("1" * 40, ME.login, ME.email, ME.email)]},
        prs={BRANCH: existing},
    )
    recorder = RecordingApi(inner, REPO)
    assert recorder.our_branches() == [BRANCH]
    dry_run(recorder, "api")
    assert inner.writes() == [], "a dry run writes nothing to GitHub"
    paths = [(c["method"], c["path"].removeprefix("/repos/acme/agents")) for c in recorder.calls]
    assert ("PATCH", f"/git/refs/heads/{BRANCH}") in paths
    assert ("PATCH", "/pulls/7") in paths
    assert ("POST", "/pulls") not in paths
    assert ("POST", "/pulls/7/requested_reviewers") not in paths


def test_the_calls_are_written_as_json() -> None:
    recorder = RecordingApi(None, REPO)
    recorder.remove_label(3, "needs review/🙂")
    assert orjson.loads(recorder.calls_json()) == [
        {
            "method": "DELETE",
            "path": "/repos/acme/agents/issues/3/labels/needs%20review%2F%F0%9F%99%82",
        }
    ]


def test_without_github_the_repository_looks_empty() -> None:
    recorder = RecordingApi(None, REPO)
    assert recorder.branch_sha(BRANCH) is None
    assert recorder.pr_for_branch(BRANCH) is None
    assert recorder.our_prs(ME.login) == []
    assert recorder.our_branches() == []
    assert recorder.whoami() is None
    assert recorder.commit_tree(BASE) == PLACEHOLDER_SHA
    assert recorder.calls == []


def test_an_unknown_way_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="ssh"):
        RecordingApi(None, REPO).branch_maker("ssh", DRAFT, DRAFT.files)
