"""githubsim's own behaviour, with raw httpx requests: GitHub's rules, pagination, git
plumbing behind the REST API, git smart HTTP, and a contract check that can fail."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

import githubsim.fixtures
from githubsim import Reply
from githubsim.fixtures import GitHubServer, serving

BRANCH = "sleeptime/2024-05-01-dead-path-0a1b2c"
REPO = "/repos/acme/agents"


def _api(server: GitHubServer, login: str = "alice") -> httpx.Client:
    return httpx.Client(
        base_url=server.api_url,
        headers={
            "Authorization": f"token {server.tokens[login]}",
            "Accept": "application/vnd.github+json",
        },
    )


def _open_pr(server: GitHubServer, api: httpx.Client, branch: str = BRANCH) -> httpx.Response:
    return api.post(
        f"{REPO}/pulls",
        json={"title": "sleeptime: x", "head": branch, "base": "main", "body": "b", "draft": True},
    )


def test_a_second_open_pr_for_the_same_head_is_422(github_server: GitHubServer) -> None:
    github_server.sim.add_commit(BRANCH, {"a.txt": "a"})
    with _api(github_server) as api:
        first = _open_pr(github_server, api)
        second = _open_pr(github_server, api)
    assert first.status_code == 201
    assert first.json()["draft"] is True
    assert first.json()["head"]["ref"] == BRANCH
    assert second.status_code == 422
    assert (
        second.json()["errors"][0]["message"] == f"A pull request already exists for acme:{BRANCH}."
    )


def test_a_head_with_nothing_to_merge_or_no_branch_is_422(github_server: GitHubServer) -> None:
    main = github_server.sim.branch("main")
    assert main is not None
    github_server.sim.git.set_ref(f"refs/heads/{BRANCH}", main)
    with _api(github_server) as api:
        empty = _open_pr(github_server, api)
        missing = _open_pr(github_server, api, branch="sleeptime/absent")
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["message"] == f"No commits between main and {BRANCH}"
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "head"


def test_pulls_are_paginated_with_a_link_header(github_server: GitHubServer) -> None:
    for index in range(5):
        github_server.sim.add_pull(branch=f"sleeptime/{index}", author="alice")
    with _api(github_server) as api:
        first = api.get(f"{REPO}/pulls", params={"state": "all", "per_page": 2})
        last_url = first.links["last"]["url"]
        second = api.get(first.links["next"]["url"])
        last = api.get(last_url)
    assert [pr["number"] for pr in first.json()] == [5, 4]  # newest first
    assert [pr["number"] for pr in second.json()] == [3, 2]
    assert [pr["number"] for pr in last.json()] == [1]
    assert "page=3" in last_url
    assert set(second.links) == {"next", "last", "first", "prev"}
    assert "next" not in last.links


def test_head_and_state_filters(github_server: GitHubServer) -> None:
    sim = github_server.sim
    open_pr = sim.add_pull(branch=BRANCH, author="alice")
    sim.add_pull(branch="sleeptime/other", author="alice")
    closed = sim.add_pull(branch=BRANCH, author="bob")
    sim.close(closed.number)
    with _api(github_server) as api:
        by_head = api.get(f"{REPO}/pulls", params={"head": f"acme:{BRANCH}"}).json()
        closed_ones = api.get(f"{REPO}/pulls", params={"state": "closed"}).json()
    assert [pr["number"] for pr in by_head] == [open_pr.number]
    assert [(pr["number"], pr["state"]) for pr in closed_ones] == [(closed.number, "closed")]


def test_refs_update_only_fast_forward_unless_forced(github_server: GitHubServer) -> None:
    sim = github_server.sim
    first = sim.add_commit(BRANCH, {"a.txt": "1"})
    main = sim.branch("main")
    assert main is not None
    sibling = sim.git.write_commit(
        sim.git.commit(first).tree, [main], "rewritten\n", *(2 * [githubsim.Person("x", "x@x")])
    )
    with _api(github_server) as api:
        refused = api.patch(f"{REPO}/git/refs/heads/{BRANCH}", json={"sha": sibling})
        forced = api.patch(f"{REPO}/git/refs/heads/{BRANCH}", json={"sha": sibling, "force": True})
        duplicate = api.post(f"{REPO}/git/refs", json={"ref": f"refs/heads/{BRANCH}", "sha": main})
        missing = api.get(f"{REPO}/git/ref/heads/sleeptime/none")
    assert (refused.status_code, refused.json()["message"]) == (422, "Update is not a fast forward")
    assert forced.status_code == 200
    assert forced.json()["object"]["sha"] == sibling == sim.branch(BRANCH)
    assert (duplicate.status_code, duplicate.json()["message"]) == (422, "Reference already exists")
    assert missing.status_code == 404


def test_trees_and_commits_go_through_git(github_server: GitHubServer) -> None:
    sim = github_server.sim
    main = sim.branch("main")
    assert main is not None
    base_tree = sim.git.commit(main).tree
    with _api(github_server, "micro-gastown[bot]") as api:
        blob = api.post(
            f"{REPO}/git/blobs",
            json={"content": base64.b64encode(b"new\n").decode(), "encoding": "base64"},
        ).json()["sha"]
        tree = api.post(
            f"{REPO}/git/trees",
            json={
                "base_tree": base_tree,
                "tree": [
                    {"path": "README.md", "mode": "100644", "type": "blob", "sha": None},
                    {"path": "docs/new.md", "mode": "100644", "type": "blob", "sha": blob},
                ],
            },
        ).json()
        signed = api.post(
            f"{REPO}/git/commits", json={"message": "m", "tree": tree["sha"], "parents": [main]}
        ).json()
        authored = api.post(
            f"{REPO}/git/commits",
            json={
                "message": "m",
                "tree": tree["sha"],
                "parents": [main],
                "author": {"name": "A", "email": "a@example.com"},
            },
        ).json()
    assert sorted(item["path"] for item in tree["tree"]) == ["docs", "src"]
    shown = subprocess.run(
        ["git", f"--git-dir={sim.git.path}", "show", f"{signed['sha']}:docs/new.md"],
        capture_output=True,
        check=True,
    )
    assert shown.stdout == b"new\n"
    assert signed["verification"]["verified"] is True
    assert signed["committer"]["email"] == "noreply@github.com"
    assert authored["verification"]["verified"] is False
    assert sim.git.commit(signed["sha"]).parents == (main,)


def test_merge_makes_a_real_merge_commit(github_server: GitHubServer) -> None:
    sim = github_server.sim
    head = sim.add_commit(BRANCH, {"a.txt": "a"})
    sim.add_commit("main", {"b.txt": "b"}, login="bob")
    base = sim.branch("main")
    pull = sim.add_pull(branch=BRANCH, author="micro-gastown[bot]")
    merge = sim.merge(pull.number, by="alice")
    with _api(github_server) as api:
        shown = api.get(f"{REPO}/pulls/{pull.number}").json()
    assert sim.git.commit(merge).parents == (base, head)
    assert sim.branch("main") == merge
    assert (shown["state"], shown["merged"], shown["merge_commit_sha"]) == ("closed", True, merge)
    assert shown["merged_by"]["login"] == "alice"


def test_compare_names_a_humans_commit(github_server: GitHubServer) -> None:
    sim = github_server.sim
    base = sim.branch("main")
    sim.add_commit(BRANCH, {"a.txt": "a"}, login="micro-gastown[bot]")
    human = sim.add_commit(BRANCH, {"a.txt": "b"}, login="alice")
    with _api(github_server) as api:
        compared = api.get(f"{REPO}/compare/{base}...{BRANCH}").json()
    assert compared["status"] == "ahead"
    assert compared["ahead_by"] == 2
    assert [c["author"]["login"] for c in compared["commits"]] == ["micro-gastown[bot]", "alice"]
    assert compared["commits"][-1]["sha"] == human


def test_labels_reviewers_and_comments(github_server: GitHubServer) -> None:
    pull = github_server.sim.add_pull(branch=BRANCH, author="micro-gastown[bot]")
    number = pull.number
    with _api(github_server, "micro-gastown[bot]") as api:
        added = api.post(f"{REPO}/issues/{number}/labels", json={"labels": ["sleeptime", "x"]})
        removed = api.delete(f"{REPO}/issues/{number}/labels/x")
        absent = api.delete(f"{REPO}/issues/{number}/labels/x")
        outsider = api.post(
            f"{REPO}/pulls/{number}/requested_reviewers", json={"reviewers": ["mallory"]}
        )
        reviewer = api.post(
            f"{REPO}/pulls/{number}/requested_reviewers", json={"reviewers": ["bob"]}
        )
        comment = api.post(f"{REPO}/issues/{number}/comments", json={"body": "hello"})
        comments = api.get(f"{REPO}/issues/{number}/comments").json()
    assert [label["name"] for label in added.json()] == ["sleeptime", "x"]
    assert [label["name"] for label in removed.json()] == ["sleeptime"]
    assert absent.status_code == 404
    assert outsider.status_code == 422
    assert "not a collaborator" in outsider.json()["message"]
    assert [user["login"] for user in reviewer.json()["requested_reviewers"]] == ["bob"]
    assert comment.status_code == 201
    assert [item["body"] for item in comments] == ["hello"]


def test_tokens_users_and_the_request_log(github_server: GitHubServer) -> None:
    with _api(github_server) as api:
        me = api.get("/user")
    with _api(github_server, "micro-gastown[bot]") as bot:
        refused = bot.get("/user")
    wrong = httpx.get(f"{github_server.api_url}/user", headers={"Authorization": "token nope"})
    assert me.json()["login"] == "alice"
    assert (refused.status_code, refused.json()["message"]) == (
        403,
        "Resource not accessible by integration",
    )
    assert (wrong.status_code, wrong.json()["message"]) == (401, "Bad credentials")
    log = github_server.sim.requests("GET", "/user")
    assert [exchange.status for exchange in log] == [200, 403, 401]
    assert all("authorization" not in exchange.headers for exchange in log)
    assert all(github_server.tokens["alice"] not in repr(exchange) for exchange in log)
    assert github_server.contract.checked == 3  # each request and answer was checked


def test_a_wrong_response_shape_is_caught(github_server: GitHubServer) -> None:
    def break_labels(method: str, path: str, reply: Reply) -> Reply:
        if path.endswith("/labels"):
            reply.json[0]["id"] = "not a number"
        return reply

    github_server.sim.response_hook = break_labels
    pull = github_server.sim.add_pull(branch=BRANCH, author="alice")
    with _api(github_server) as api:
        api.post(f"{REPO}/issues/{pull.number}/labels", json={"labels": ["sleeptime"]})
    mismatches = list(github_server.contract.mismatches)
    github_server.contract.mismatches.clear()  # caught: this test is about the catch
    assert len(mismatches) == 1
    assert mismatches[0].startswith(f"POST {REPO}/issues/{pull.number}/labels: response 200")
    assert "at 0/id" in mismatches[0]


def test_a_wrong_request_is_caught(github_server: GitHubServer) -> None:
    github_server.sim.add_commit(BRANCH, {"a.txt": "a"})
    with _api(github_server) as api:
        api.post(f"{REPO}/pulls", json={"head": BRANCH, "base": "main", "draft": "yes"})
    mismatches = list(github_server.contract.mismatches)
    github_server.contract.mismatches.clear()
    assert len(mismatches) == 1
    assert mismatches[0].startswith(f"POST {REPO}/pulls: request")
    assert "draft" in mismatches[0]


def test_the_fixture_skips_without_the_description(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(githubsim.fixtures, "SPEC_PATH", tmp_path / "absent.json")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="the GitHub contract tests need it"):  # noqa: SIM117
        with serving(tmp_path, monkeypatch):
            pass


def test_under_ci_a_missing_description_fails_the_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(githubsim.fixtures, "SPEC_PATH", tmp_path / "absent.json")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must provide it"):  # noqa: SIM117
        with serving(tmp_path, monkeypatch):
            pass


def _git(*args: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, check=True)
    return done.stdout.decode().strip()


def test_git_push_over_smart_http_lands_where_the_api_reads(
    github_server: GitHubServer, tmp_path: Path
) -> None:
    token = github_server.tokens["micro-gastown[bot]"]
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    env: dict[str, Any] = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        "GIT_AUTHOR_NAME": "bot",
        "GIT_AUTHOR_EMAIL": "bot@example.com",
        "GIT_COMMITTER_NAME": "bot",
        "GIT_COMMITTER_EMAIL": "bot@example.com",
    }
    work = tmp_path / "work"
    _git("clone", "--quiet", github_server.clone_url, str(work), cwd=tmp_path, env=env)
    (work / "pushed.txt").write_text("pushed\n")
    _git("add", "pushed.txt", cwd=work, env=env)
    _git("commit", "--quiet", "-m", "pushed", cwd=work, env=env)
    _git("push", "--quiet", "origin", f"HEAD:refs/heads/{BRANCH}", cwd=work, env=env)
    pushed = _git("rev-parse", "HEAD", cwd=work, env=env)
    with _api(github_server) as api:
        ref = api.get(f"{REPO}/git/ref/heads/{BRANCH}").json()
    assert ref["object"]["sha"] == pushed
    git_requests = [exchange for exchange in github_server.sim.log if exchange.git]
    assert git_requests
    assert {exchange.authorization for exchange in git_requests} == {"Basic"}
    assert all(token not in repr(exchange) for exchange in github_server.sim.log)
    anonymous = httpx.get(f"{github_server.clone_url}/info/refs?service=git-upload-pack")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="GitHub"'


def test_the_repository_is_seeded_from_a_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = tmp_path / "seed"
    (seed / "dsl").mkdir(parents=True)
    (seed / "dsl" / "Graph.hs").write_text("module Graph where\n")
    (seed / "run.sh").write_text("#!/bin/sh\n")
    (seed / "run.sh").chmod(0o755)
    with serving(tmp_path / "server", monkeypatch, seed) as server:
        main = server.sim.branch("main")
        assert main is not None
        items = server.sim.git.tree_items(server.sim.git.commit(main).tree)
        with _api(server) as api:
            repo = api.get(REPO).json()
    assert {(item.path, item.mode) for item in items} == {("dsl", "040000"), ("run.sh", "100755")}
    assert repo["default_branch"] == "main"
    assert repo["clone_url"] == server.clone_url
