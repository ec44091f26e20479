"""GitHubClient against githubsim: every method, retries, error translation, token hygiene."""

from __future__ import annotations

import base64
import traceback

import pytest

from githubsim import FaultKind
from githubsim.fixtures import GitHubServer
from micro_gastown.errors import (
    ConfigError,
    GitHubAuthError,
    GitHubConflictError,
    GitHubError,
    GitHubNotFoundError,
    GitHubUnavailableError,
)
from micro_gastown.github.api import BranchCommit, TreeEntry
from micro_gastown.github.client import GitHubClient
from micro_gastown.github.metadata import write_record
from micro_gastown.github.model import FilingRecord, PrDraft, PrState, RepoRef

BRANCH = "sleeptime/2024-05-01-failed-transition-abc123"


def _draft(
    server: GitHubServer, branch: str = BRANCH, fingerprints: tuple[str, ...] = ("fp1",)
) -> PrDraft:
    record = FilingRecord(fingerprints=fingerprints, branch=branch)
    main = server.sim.branch("main")
    assert main is not None
    return PrDraft(
        branch=branch,
        base_branch="main",
        base_commit=main,
        title="sleeptime: fix a failing transition",
        body="## Summary\n" + write_record(record),
        commit_message="sleeptime: fix",
        files=("src/Graph.hs",),
        record=record,
    )


def _push_branch(
    server: GitHubServer, branch: str = BRANCH, login: str = "micro-gastown[bot]"
) -> str:
    return server.sim.add_commit(branch, {"src/Graph.hs": f"-- {branch}\n"}, login=login)


def test_default_branch_and_whoami(github_server: GitHubServer) -> None:
    with github_server.client() as client:
        assert client.default_branch() == "main"
        assert client.whoami() == "alice"
    with github_server.client("micro-gastown[bot]") as bot:
        assert bot.whoami() is None  # GitHub refuses GET /user to installation tokens


def test_create_pr_then_a_second_create_finds_the_open_one(github_server: GitHubServer) -> None:
    head = _push_branch(github_server)
    with github_server.client("micro-gastown[bot]") as client:
        pr, created = client.create_pr(_draft(github_server))
        assert created
        assert (pr.number, pr.state, pr.branch, pr.head_sha) == (1, PrState.OPEN, BRANCH, head)
        assert pr.draft
        assert pr.author_login == "micro-gastown[bot]"
        assert pr.record is not None
        assert pr.record.fingerprints == ("fp1",)
        again, created_again = client.create_pr(_draft(github_server))
    assert (again.number, created_again) == (1, False)
    assert len(github_server.sim.pulls) == 1
    creates = github_server.sim.requests("POST", "/pulls")
    assert [exchange.status for exchange in creates] == [201, 422]


def test_pr_for_branch_and_update_labels_reviewers_comment(github_server: GitHubServer) -> None:
    _push_branch(github_server)
    sim = github_server.sim
    with github_server.client("micro-gastown[bot]") as client:
        assert client.pr_for_branch(BRANCH) is None
        pr, _ = client.create_pr(_draft(github_server))
        client.update_pr(pr.number, title="new title", body="new body")
        client.add_labels(pr.number, ["sleeptime", "dsl"])
        client.remove_label(pr.number, "dsl")
        client.remove_label(pr.number, "never-there")  # already absent: nothing to do
        refused = client.request_reviewers(pr.number, ["bob", "mallory", "nobody"])
        client.comment(pr.number, "refreshed")
        found = client.pr_for_branch(BRANCH)
    assert refused == ["mallory", "nobody"]
    assert found is not None
    assert (found.number, found.title, found.labels) == (pr.number, "new title", {"sleeptime"})
    pull = sim.pulls[pr.number]
    assert pull.body == "new body"
    assert pull.reviewers == ["bob"]
    assert [c.body for c in pull.comments] == ["refreshed"]


def test_remove_label_of_a_missing_pr_is_an_error(github_server: GitHubServer) -> None:
    with github_server.client() as client, pytest.raises(GitHubNotFoundError):
        client.remove_label(99, "sleeptime")


def test_our_prs_reads_every_page_and_keeps_only_ours(github_server: GitHubServer) -> None:
    sim = github_server.sim
    bot = "micro-gastown[bot]"
    body = write_record(FilingRecord(fingerprints=("fp-a",)))
    for index in range(103):
        sim.add_pull(branch=f"sleeptime/b{index}", author=bot, body=body, labels=("sleeptime",))
    sim.add_pull(branch="feature/x", author=bot, body=body)  # not a sleeptime/ branch
    sim.add_pull(branch="sleeptime/by-alice", author="alice", body=body)  # someone else's
    sim.add_pull(branch="sleeptime/fork", author=bot, body=body, head_repo="mallory/agents")
    merged = sim.add_pull(branch="sleeptime/merged", author=bot, body=body)
    closed = sim.add_pull(branch="sleeptime/closed", author=bot, body="no block")
    sim.add_commit("sleeptime/merged", {"x.txt": "x"}, login=bot)
    sim.merge(merged.number)
    sim.close(closed.number)
    with github_server.client(bot) as client:
        ours = client.our_prs(bot)
    assert len(ours) == 105
    by_number = {pr.number: pr for pr in ours}
    assert by_number[merged.number].state is PrState.MERGED
    assert by_number[merged.number].merge_commit_sha == sim.pulls[merged.number].merge_commit_sha
    assert by_number[closed.number].state is PrState.CLOSED
    assert by_number[closed.number].record is None
    assert by_number[1].labels == {"sleeptime"}
    assert by_number[1].fingerprints == {"fp-a"}
    pages = sim.requests("GET", "/repos/acme/agents/pulls")
    assert len(pages) == 2
    assert all("per_page=100" in exchange.query for exchange in pages)


def test_branch_sha_and_commits_name_who_made_them(github_server: GitHubServer) -> None:
    sim = github_server.sim
    base = sim.branch("main")
    assert base is not None
    ours = _push_branch(github_server)
    theirs = sim.add_commit(BRANCH, {"README.md": "edited\n"}, login="alice")
    stranger = sim.add_commit(BRANCH, {"README.md": "again\n"}, login=None, email="x@example.com")
    with github_server.client("micro-gastown[bot]") as client:
        assert client.branch_sha("sleeptime/none") is None
        assert client.branch_sha(BRANCH) == stranger
        commits = client.branch_commits(base, BRANCH)
    bot, alice = sim.accounts["micro-gastown[bot]"], sim.accounts["alice"]
    assert commits == [
        BranchCommit(ours, "micro-gastown[bot]", bot.email, bot.email),
        BranchCommit(theirs, "alice", alice.email, alice.email),
        BranchCommit(stranger, None, "x@example.com", "x@example.com"),
    ]


def test_our_branches_lists_every_sleeptime_branch_and_nothing_else(
    github_server: GitHubServer,
) -> None:
    sim = github_server.sim
    main = sim.branch("main")
    assert main is not None
    with github_server.client("micro-gastown[bot]") as client:
        assert client.our_branches() == []  # GitHub answers an empty array, not a 404
        ours = [BRANCH, "sleeptime/2024-05-02-slow-llm-def456", "sleeptime/pushed-by-alice"]
        _push_branch(github_server, ours[0])
        _push_branch(github_server, ours[1])
        _push_branch(github_server, ours[2], login="alice")  # a sleeptime/ name is all it takes
        _push_branch(github_server, "sleeptime-lookalike", login="alice")
        _push_branch(github_server, "feature/sleeptime/x", login="alice")
        sim.git.set_ref("refs/tags/sleeptime/v1", main)  # a tag, not a branch
        assert sorted(client.our_branches()) == sorted(ours)
    listings = sim.requests("GET", "/git/matching-refs/")
    assert [exchange.status for exchange in listings] == [200, 200]


def test_git_database_round_trip_makes_a_verified_commit(github_server: GitHubServer) -> None:
    sim = github_server.sim
    base = sim.branch("main")
    assert base is not None
    with github_server.client("micro-gastown[bot]") as client:
        blob = client.create_blob(b"module Graph where\n-- fixed\n")
        tree = client.create_tree(
            client.commit_tree(base),
            [TreeEntry("src/Graph.hs", "100644", blob), TreeEntry("README.md", "100644", None)],
        )
        commit = client.create_commit("sleeptime: fix\n", tree, [base])
        client.set_branch(BRANCH, commit, force=False)
        assert client.branch_sha(BRANCH) == commit
        rewritten = client.create_commit("sleeptime: fix again\n", tree, [base])
        with pytest.raises(GitHubConflictError, match="not a fast forward"):
            client.set_branch(BRANCH, rewritten, force=False)
        client.set_branch(BRANCH, rewritten, force=True)
    assert sim.branch(BRANCH) == rewritten
    assert commit in sim.verified
    assert [item.path for item in sim.git.tree_items(tree)] == ["src"]
    blob_request = sim.requests("POST", "/git/blobs")[0].json
    assert blob_request["encoding"] == "base64"
    assert base64.b64decode(blob_request["content"]) == b"module Graph where\n-- fixed\n"
    commit_request = sim.requests("POST", "/git/commits")[0].json
    assert "author" not in commit_request
    assert "committer" not in commit_request


def test_a_502_then_200_succeeds(github_server: GitHubServer) -> None:
    github_server.sim.fault(FaultKind.BAD_GATEWAY, times=2, path_contains="/repos/acme/agents")
    with github_server.client() as client:
        assert client.default_branch() == "main"
    assert [e.status for e in github_server.sim.requests("GET", "/repos/acme/agents")] == [
        502,
        502,
        200,
    ]


def test_a_dropped_connection_is_retried(github_server: GitHubServer) -> None:
    github_server.sim.fault(FaultKind.DROP, path_contains="/git/ref/")
    with github_server.client() as client:
        assert client.branch_sha("main") == github_server.sim.branch("main")


@pytest.mark.parametrize("kind", [FaultKind.SECONDARY_RATE_LIMIT, FaultKind.TOO_MANY_REQUESTS])
def test_retry_after_is_honoured(github_server: GitHubServer, kind: FaultKind) -> None:
    github_server.sim.fault(kind, retry_after_s=1, path_contains="/repos/acme/agents")
    with github_server.client() as client:
        assert client.default_branch() == "main"
    refused, retried = github_server.sim.requests("GET", "/repos/acme/agents")
    assert (refused.fault, retried.status) == (kind, 200)
    assert dict(refused.response_headers)["Retry-After"] == "1"
    assert refused.answered is not None
    assert retried.arrived - refused.answered >= 1.0


def test_primary_rate_limit_waits_for_the_reset(github_server: GitHubServer) -> None:
    github_server.sim.fault(FaultKind.PRIMARY_RATE_LIMIT, reset_in_s=1, path_contains="/user")
    with github_server.client() as client:
        assert client.whoami() == "alice"
    refused, retried = github_server.sim.requests("GET", "/user")
    reset = int(dict(refused.response_headers)["x-ratelimit-reset"])
    assert refused.fault is FaultKind.PRIMARY_RATE_LIMIT
    assert retried.arrived >= reset


def test_a_wait_beyond_the_cap_is_not_slept(github_server: GitHubServer) -> None:
    github_server.sim.fault(FaultKind.SECONDARY_RATE_LIMIT, retry_after_s=3600)
    github_server.sim.fault(FaultKind.PRIMARY_RATE_LIMIT, reset_in_s=3600)
    with github_server.client(max_wait_s=2.0) as client:
        with pytest.raises(GitHubUnavailableError, match="3600s"):
            client.default_branch()
        with pytest.raises(GitHubUnavailableError, match="rate-limited"):
            client.default_branch()


def test_retries_exhausted_is_unavailable(github_server: GitHubServer) -> None:
    github_server.sim.fault(FaultKind.BAD_GATEWAY, times=10)
    with github_server.client(retries=2) as client, pytest.raises(GitHubUnavailableError) as info:
        client.default_branch()
    assert info.value.status == 502
    assert info.value.api_message == "Server Error"
    assert len(github_server.sim.requests()) == 3
    github_server.sim.fault(FaultKind.DROP, times=10)
    with github_server.client(retries=1) as client, pytest.raises(GitHubUnavailableError):
        client.default_branch()


def test_errors_are_translated_with_the_permission_and_no_token(
    github_server: GitHubServer,
) -> None:
    server = github_server
    _push_branch(server)
    secret = server.tokens["reader"]
    with server.client("reader") as reader, pytest.raises(GitHubAuthError) as denied:
        reader.create_pr(_draft(server))
    assert "pull_requests: write" in str(denied.value)
    assert denied.value.api_message == "Resource not accessible by personal access token"
    bad = GitHubClient(repo=server.repo, token="ghp_wrong", api_url=server.api_url, retries=0)
    with bad, pytest.raises(GitHubAuthError, match="rejected the token") as rejected:
        bad.default_branch()
    assert rejected.value.status == 401
    with server.client() as client:
        with pytest.raises(GitHubNotFoundError):
            client.update_pr(42, title="t", body="b")
        with pytest.raises(GitHubConflictError) as conflict:
            client.create_pr(_draft(server, branch="sleeptime/no-such-branch"))
        assert conflict.value.status == 422
        assert "\n" not in str(conflict.value)
    for error in (denied.value, rejected.value, conflict.value):
        shown = "".join(traceback.format_exception(error)) + repr(error)
        assert secret not in shown
        assert server.tokens["alice"] not in shown
    assert isinstance(conflict.value, GitHubError)


def test_the_token_stays_out_of_repr_and_goes_only_in_the_header(
    github_server: GitHubServer,
) -> None:
    with github_server.client() as client:
        client.default_branch()
        assert github_server.tokens["alice"] not in repr(client)
    (exchange,) = github_server.sim.requests()
    assert exchange.authorization == "token"
    assert github_server.tokens["alice"] not in str(exchange)


@pytest.mark.parametrize(
    "url", ["http://api.github.example.com", "ftp://127.0.0.1/api/v3", "api.github.com"]
)
def test_plain_http_is_refused_except_to_this_machine(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        GitHubClient(repo=RepoRef("acme", "agents"), token="t", api_url=url)
    assert info.value.setting == "github_api_url"
    for allowed in ("http://127.0.0.1:8080/api/v3", "http://localhost/api/v3", "http://[::1]/"):
        GitHubClient(repo=RepoRef("acme", "agents"), token="t", api_url=allowed).close()
