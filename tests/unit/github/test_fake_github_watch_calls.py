"""The fake answers the rollback watcher's calls as GitHubClient does against githubsim
(tests/integration/github/test_client_watch_calls.py): same values, same errors with the
same statuses, so a unit test of the watcher over the fake says what a run would do."""

from __future__ import annotations

import pytest
from fake_github import FakeGitHub

from micro_gastown.errors import GitHubConflictError, GitHubNotFoundError
from micro_gastown.github.api import GitHubApi, IssueComment
from micro_gastown.github.model import OurPr, PrState
from micro_gastown.github.recording import PLACEHOLDER_SHA, RecordingApi

REVERT = "sleeptime/revert-7"
HEAD = "a" * 40
BODY = "<!-- sleeptime:verdict pr=7 -->\n## Verdict\nÜnïcödé: 日本語 ✓\n"


def _with_revert(*, draft: bool = False, state: PrState = PrState.OPEN) -> tuple[FakeGitHub, OurPr]:
    pr = OurPr(
        number=8,
        url="https://github.com/acme/agents/pull/8",
        state=state,
        branch=REVERT,
        head_sha=HEAD,
        author_login="sleeptime-app[bot]",
        draft=draft,
    )
    return FakeGitHub(branches={REVERT: HEAD}, prs={REVERT: pr}), pr


def test_the_fake_is_a_github_api() -> None:
    github: GitHubApi = FakeGitHub()  # mypy holds the fake to the Protocol
    assert github.pull(1) is None


def test_comments_come_back_oldest_first_with_author_and_body() -> None:
    github, pr = _with_revert()
    assert github.comments(pr.number) == []
    github.comment(pr.number, "first")
    github.comment(pr.number, BODY)
    comments = github.comments(pr.number)
    assert [(c.author_login, c.body) for c in comments] == [
        ("sleeptime-app[bot]", "first"),
        ("sleeptime-app[bot]", BODY),
    ]
    assert comments[0].id < comments[1].id
    assert all(isinstance(c, IssueComment) and c.created_at for c in comments)


def test_comments_of_a_missing_pr_is_not_found_as_the_client_says() -> None:
    github, _ = _with_revert()
    with pytest.raises(GitHubNotFoundError):
        github.comments(99)
    with pytest.raises(GitHubNotFoundError):
        github.comment(99, "lost")


def test_merge_pr_merges_and_reads_back_merged_and_a_repeat_answers_the_same() -> None:
    github, pr = _with_revert()
    merge = github.merge_pr(pr.number, sha=HEAD, title="Revert #7")
    assert len(merge) == 40
    after = github.pull(pr.number)
    assert after is not None
    assert (after.state, after.merge_commit_sha, after.head_sha) == (PrState.MERGED, merge, HEAD)
    assert after.merged_at is not None
    assert github.pr_for_branch(REVERT) is None  # no longer open
    assert github.merge_pr(pr.number, sha=HEAD) == merge
    assert ("merge_pr", pr.number, HEAD) in github.writes()


def test_merge_pr_refuses_a_draft_with_405() -> None:
    github, pr = _with_revert(draft=True)
    with pytest.raises(GitHubConflictError) as refused:
        github.merge_pr(pr.number, sha=HEAD)
    assert (refused.value.status, refused.value.api_message) == (
        405,
        "Pull Request is still a draft",
    )
    assert github.pull(pr.number) == pr


def test_merge_pr_refuses_a_closed_or_conflicting_pr_with_405() -> None:
    closed, pr = _with_revert(state=PrState.CLOSED)
    conflicting, _ = _with_revert()
    conflicting.conflicting.add(pr.number)
    for github in (closed, conflicting):
        with pytest.raises(GitHubConflictError) as refused:
            github.merge_pr(pr.number, sha=HEAD)
        assert (refused.value.status, refused.value.api_message) == (
            405,
            "Pull Request is not mergeable",
        )


def test_merge_pr_refuses_a_moved_head_with_409() -> None:
    github, pr = _with_revert()
    github.branches[REVERT] = "b" * 40  # a human pushed to the revert branch
    with pytest.raises(GitHubConflictError) as refused:
        github.merge_pr(pr.number, sha=HEAD)
    assert refused.value.status == 409
    assert "Head branch was modified" in str(refused.value)
    assert github.merge_pr(pr.number, sha="b" * 40)


def test_pull_by_number_and_none_for_a_missing_one() -> None:
    github, pr = _with_revert()
    assert github.pull(pr.number) == pr
    assert github.pull(99) is None
    assert ("pull", 99) not in github.writes()


def test_a_dry_run_reads_through_and_only_writes_the_merge_down() -> None:
    github, pr = _with_revert()
    github.comment(pr.number, BODY)
    dry = RecordingApi(inner=github, repo=github.repo)
    assert dry.pull(pr.number) == pr
    assert [c.body for c in dry.comments(pr.number)] == [BODY]
    assert dry.comments(0) == []  # a PR the dry run only pretended to open
    assert dry.merge_pr(pr.number, sha=HEAD, title="Revert #7") == PLACEHOLDER_SHA
    assert dry.calls == [
        {
            "method": "PUT",
            "path": "/repos/acme/agents/pulls/8/merge",
            "json": {"sha": HEAD, "merge_method": "merge", "commit_title": "Revert #7"},
        }
    ]
    assert github.pull(pr.number) == pr  # still open: nothing merged
