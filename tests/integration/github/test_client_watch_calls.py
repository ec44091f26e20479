"""The calls the rollback watcher makes, against githubsim: every comment of a PR (every
page), one PR by number, and the opt-in merge of a revert PR with GitHub's refusals."""

from __future__ import annotations

import pytest

from githubsim.fixtures import GitHubServer
from githubsim.state import Comment
from micro_gastown.errors import GitHubAuthError, GitHubConflictError
from micro_gastown.github.metadata import write_record
from micro_gastown.github.model import FilingRecord, OurPr, PrDraft, PrState

BOT = "micro-gastown[bot]"
REVERT = "sleeptime/revert-7"
HOSTILE_BODY = (
    "<!-- sleeptime:verdict pr=7 -->\n"
    "## Verdict: **regressed**\n\n"
    "| rate | before | after |\n|---|---|---|\n| errors | 0.5% | 1.2% |\n\n"
    "Ünïcödé line: déjà vu — 日本語 ✓ 🚀\n"
    "```\n@mallory ::error::not a command\n```\n"
)


def _open_revert(server: GitHubServer, *, draft: bool = False, branch: str = REVERT) -> OurPr:
    """Our bot pushes ``branch`` and opens a PR from it, as the watcher opens a revert."""
    server.sim.add_commit(branch, {"src/Graph.hs": f"-- {branch}\n"}, login=BOT)
    main = server.sim.branch("main")
    assert main is not None
    record = FilingRecord(fingerprints=("fp1",), branch=branch)
    draft_pr = PrDraft(
        branch=branch,
        base_branch="main",
        base_commit=main,
        title="sleeptime: revert #7",
        body="Reverts #7.\n" + write_record(record),
        commit_message="Revert",
        files=("src/Graph.hs",),
        record=record,
        draft=draft,
    )
    with server.client(BOT) as client:
        pr, created = client.create_pr(draft_pr)
    assert created
    return pr


def test_comments_reads_every_page_oldest_first(github_server: GitHubServer) -> None:
    sim = github_server.sim
    pr = _open_revert(github_server)
    with sim.lock:  # humans wrote 205 comments before ours
        sim.pulls[pr.number].comments.extend(
            Comment(f"comment {index}", "alice" if index % 2 else "bob") for index in range(205)
        )
    with github_server.client(BOT) as client:
        client.comment(pr.number, HOSTILE_BODY)
        comments = client.comments(pr.number)
    assert len(comments) == 206
    assert [c.body for c in comments[:3]] == ["comment 0", "comment 1", "comment 2"]
    assert [c.author_login for c in comments[:2]] == ["bob", "alice"]
    ids = [c.id for c in comments]
    assert ids == sorted(ids)
    assert len(set(ids)) == 206
    ours = comments[-1]
    assert (ours.author_login, ours.body) == (BOT, HOSTILE_BODY)
    assert ours.id == sim.pulls[pr.number].comments[-1].id
    assert ours.created_at == sim.pulls[pr.number].comments[-1].created_at
    pages = sim.requests("GET", f"/issues/{pr.number}/comments")
    assert len(pages) == 3  # 100 + 100 + 6, following the Link header
    assert all(exchange.status == 200 for exchange in pages)
    assert all("per_page=100" in exchange.query for exchange in pages)
    links = [dict(exchange.response_headers).get("Link", "") for exchange in pages]
    assert 'rel="next"' in links[0]
    assert 'rel="next"' not in links[2]


def test_comments_of_a_pr_without_any_is_empty(github_server: GitHubServer) -> None:
    pr = _open_revert(github_server)
    with github_server.client(BOT) as client:
        assert client.comments(pr.number) == []


def test_merge_pr_makes_a_merge_commit_of_the_old_base_and_the_head(
    github_server: GitHubServer,
) -> None:
    sim = github_server.sim
    pr = _open_revert(github_server)
    old_base = sim.branch("main")
    with github_server.client(BOT) as client:
        merge = client.merge_pr(pr.number, sha=pr.head_sha, title="Revert #7: it regressed")
        after = client.pull(pr.number)
    assert sim.branch("main") == merge
    commit = sim.git.commit(merge)
    assert commit.parents == (old_base, pr.head_sha)
    assert commit.message.splitlines()[0] == "Revert #7: it regressed"
    assert after is not None
    assert (after.state, after.merge_commit_sha, after.head_sha) == (
        PrState.MERGED,
        merge,
        pr.head_sha,
    )
    assert after.merged_at is not None
    assert sim.pulls[pr.number].merged_by == BOT
    (put,) = sim.requests("PUT", f"/pulls/{pr.number}/merge")
    assert put.status == 200
    assert put.json == {
        "sha": pr.head_sha,
        "merge_method": "merge",
        "commit_title": "Revert #7: it regressed",
    }


def test_merge_pr_without_a_title_uses_githubs_and_a_repeat_answers_the_same_commit(
    github_server: GitHubServer,
) -> None:
    sim = github_server.sim
    pr = _open_revert(github_server)
    with github_server.client(BOT) as client:
        merge = client.merge_pr(pr.number, sha=pr.head_sha)
        again = client.merge_pr(pr.number, sha=pr.head_sha)  # a rerun after a lost answer
    assert again == merge
    message = sim.git.commit(merge).message
    assert message.splitlines()[0] == f"Merge pull request #{pr.number} from acme/{REVERT}"
    puts = sim.requests("PUT", f"/pulls/{pr.number}/merge")
    assert [exchange.status for exchange in puts] == [200, 405]
    assert "commit_title" not in puts[0].json


def test_merge_pr_refuses_a_draft(github_server: GitHubServer) -> None:
    sim = github_server.sim
    pr = _open_revert(github_server, draft=True)
    main = sim.branch("main")
    with github_server.client(BOT) as client, pytest.raises(GitHubConflictError) as refused:
        client.merge_pr(pr.number, sha=pr.head_sha)
    assert refused.value.status == 405
    assert refused.value.api_message == "Pull Request is still a draft"
    assert "cannot merge PR #1" in str(refused.value)
    assert "still a draft" in str(refused.value)
    assert sim.branch("main") == main
    assert sim.pulls[pr.number].state == "open"


def test_merge_pr_refuses_a_stale_sha(github_server: GitHubServer) -> None:
    sim = github_server.sim
    pr = _open_revert(github_server)
    main = sim.branch("main")
    moved = sim.add_commit(REVERT, {"README.md": "a human's fix\n"}, login="alice")
    with github_server.client(BOT) as client, pytest.raises(GitHubConflictError) as refused:
        client.merge_pr(pr.number, sha=pr.head_sha)
    assert refused.value.status == 409
    assert "Head branch was modified" in str(refused.value)
    assert sim.branch("main") == main
    assert sim.pulls[pr.number].state == "open"
    with github_server.client(BOT) as client:
        assert client.merge_pr(pr.number, sha=moved) == sim.branch("main")


def test_merge_pr_refuses_a_conflicting_or_closed_pr(github_server: GitHubServer) -> None:
    sim = github_server.sim
    conflicting = _open_revert(github_server)
    sim.add_commit("main", {"src/Graph.hs": "-- someone else's line\n"}, login="alice")
    closed = _open_revert(github_server, branch="sleeptime/revert-8")
    sim.close(closed.number)
    main = sim.branch("main")
    with github_server.client(BOT) as client:
        for pr in (conflicting, closed):
            with pytest.raises(GitHubConflictError) as refused:
                client.merge_pr(pr.number, sha=pr.head_sha)
            assert refused.value.status == 405
            assert refused.value.api_message == "Pull Request is not mergeable"
            assert "required checks or reviews" in str(refused.value)
    assert sim.branch("main") == main


def test_merge_pr_without_the_permission_names_contents_write(
    github_server: GitHubServer,
) -> None:
    pr = _open_revert(github_server)
    with github_server.client("reader") as reader, pytest.raises(GitHubAuthError) as denied:
        reader.merge_pr(pr.number, sha=pr.head_sha)
    assert denied.value.status == 403
    assert "contents: write" in str(denied.value)
    assert github_server.sim.pulls[pr.number].state == "open"


def test_pull_reads_one_pr_by_number_and_none_for_a_missing_one(
    github_server: GitHubServer,
) -> None:
    sim = github_server.sim
    body = write_record(FilingRecord(fingerprints=("fp-a",)))
    sim.add_commit("sleeptime/fix", {"x.txt": "x"}, login="alice")
    theirs = sim.add_pull(
        branch="sleeptime/fix", author="alice", title="a fix", body=body, labels=("sleeptime",)
    )
    with github_server.client(BOT) as client:
        pr = client.pull(theirs.number)
        missing = client.pull(999)
        listed = {p.number: p for p in client.our_prs("alice")}
    assert missing is None
    assert pr is not None
    assert pr == listed[theirs.number]  # read exactly as our_prs reads them
    assert (pr.state, pr.author_login, pr.title, pr.labels) == (
        PrState.OPEN,
        "alice",
        "a fix",
        frozenset({"sleeptime"}),
    )
    assert pr.fingerprints == {"fp-a"}
    assert pr.head_sha == sim.branch("sleeptime/fix")
    assert pr.head_repo == "acme/agents"
    statuses = [exchange.status for exchange in sim.requests("GET", "/pulls/")]
    assert statuses[:2] == [200, 404]
