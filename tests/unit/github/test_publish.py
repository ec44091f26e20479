"""The filing sequence over a scripted GitHub: branch first, look up before create, never a
second PR, never a push over someone else's commit, never a touch to someone else's PR."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fake_github import FakeGitHub

from micro_gastown.github.api import BranchCommit
from micro_gastown.github.model import (
    LABEL_EVOLUTION,
    CommitIdentity,
    FilingRecord,
    OurPr,
    PrDraft,
    PrState,
)
from micro_gastown.github.publish import LeftAlone, Published, publish

ME = CommitIdentity(login="sleeptime-app[bot]", email="bot@example.com")
BRANCH = "sleeptime/2026-12-03-slow-llm-0123456789"
BASE = "b" * 40
OURS = "1" * 40
NEW = "2" * 40
RECORD = FilingRecord(fingerprints=("a",), base_commit=BASE, filed_at="2026-12-03T10:00:00Z")
DRAFT = PrDraft(
    branch=BRANCH,
    base_branch="main",
    base_commit=BASE,
    title="sleeptime: shorter prompt",
    body="body",
    commit_message="sleeptime: shorter prompt",
    files=("Templates.hs",),
    record=RECORD,
    labels=(LABEL_EVOLUTION, "automated"),
    reviewers=("alice", "mallory"),
)


def our_commit(sha: str = OURS) -> BranchCommit:
    return BranchCommit(sha, ME.login, ME.email, ME.email)


def open_pr(*, author: str = ME.login, labels: frozenset[str] = frozenset(), **kw: object) -> OurPr:
    fields: dict[str, object] = {
        "number": 7,
        "url": "https://github.com/acme/agents/pull/7",
        "state": PrState.OPEN,
        "branch": BRANCH,
        "head_sha": OURS,
        "author_login": author,
        "labels": labels,
        "record": RECORD,
        "title": DRAFT.title,
    }
    fields.update(kw)
    return OurPr(**fields)  # type: ignore[arg-type]


def run(github: FakeGitHub, draft: PrDraft = DRAFT, *, same: bool = False) -> Published:
    def make_branch(branch: str, current: str | None) -> str:
        github.calls.append(("push", branch, current))
        github.branches[branch] = NEW
        github.commits[branch] = [our_commit(NEW)]
        return NEW

    return publish(github, draft, identity=ME, make_branch=make_branch, same_change=lambda _: same)


def test_a_new_filing_pushes_then_opens_one_draft_pr() -> None:
    github = FakeGitHub()
    done = run(github)
    assert github.writes() == [
        ("push", BRANCH, None),
        ("create_pr", BRANCH),
        ("add_labels", 42, (LABEL_EVOLUTION, "automated")),
        ("request_reviewers", 42, ("alice", "mallory")),
    ]
    # looked up before created
    assert github.calls.index(("pr_for_branch", BRANCH)) < github.calls.index(("create_pr", BRANCH))
    assert done.created
    assert done.pushed
    assert done.left_alone is None
    assert done.commit_sha == NEW
    assert done.pr is not None
    assert done.pr.head_sha == NEW
    assert done.pr.labels == {LABEL_EVOLUTION, "automated"}


def test_a_crash_after_the_push_is_finished_by_the_next_run_without_a_second_push() -> None:
    """The branch holds our commit with this change, no PR: the PR is opened, once."""
    github = FakeGitHub(branches={BRANCH: OURS}, commits={BRANCH: [our_commit()]})
    first = run(github, same=True)
    assert ("push", BRANCH, OURS) not in github.calls
    assert first.created
    assert not first.pushed
    assert first.commit_sha == OURS
    github.calls.clear()
    again = run(github, same=True)
    assert github.writes() == []
    assert not again.created
    assert again.pr is not None
    assert again.pr.number == first.pr.number  # type: ignore[union-attr]


def test_our_open_pr_is_updated_never_doubled() -> None:
    github = FakeGitHub(
        branches={BRANCH: OURS},
        commits={BRANCH: [our_commit()]},
        prs={BRANCH: open_pr(labels=frozenset({LABEL_EVOLUTION, "automated"}))},
    )
    done = run(github, same=False)
    assert github.writes() == [("push", BRANCH, OURS), ("update_pr", 7, DRAFT.title)]
    assert done.pushed
    assert not done.created
    assert done.pr is not None
    assert done.pr.number == 7


def test_a_refreshed_baseline_rewrites_the_body_without_a_push() -> None:
    github = FakeGitHub(
        branches={BRANCH: OURS},
        commits={BRANCH: [our_commit()]},
        prs={BRANCH: open_pr(labels=frozenset({LABEL_EVOLUTION, "automated"}))},
    )
    draft = replace(DRAFT, record=RECORD.model_copy(update={"events_analyzed": 99}))
    run(github, draft, same=True)
    assert github.writes() == [("update_pr", 7, DRAFT.title)]


def test_a_rerun_that_changes_only_the_filing_time_writes_nothing() -> None:
    github = FakeGitHub(
        branches={BRANCH: OURS},
        commits={BRANCH: [our_commit()]},
        prs={BRANCH: open_pr(labels=frozenset({LABEL_EVOLUTION, "automated"}))},
    )
    draft = replace(DRAFT, record=RECORD.model_copy(update={"filed_at": "2026-12-04T10:00:00Z"}))
    done = run(github, draft, same=True)
    assert github.writes() == []
    assert not done.pushed
    assert not done.created


def test_a_branch_with_someone_elses_commit_is_left_alone() -> None:
    human = BranchCommit("f" * 40, "alice", "alice@example.com", "alice@example.com")
    github = FakeGitHub(
        branches={BRANCH: "f" * 40},
        commits={BRANCH: [our_commit(), human]},
        prs={BRANCH: open_pr()},
    )
    done = run(github)
    assert github.writes() == []
    assert done.left_alone is LeftAlone.FOREIGN_COMMITS
    assert "ffffffffffff" in done.reason
    assert not done.pushed
    assert github.calls[:2] == [("branch_sha", BRANCH), ("branch_commits", BASE, BRANCH)]


def test_a_pr_someone_else_opened_from_our_branch_is_left_alone() -> None:
    github = FakeGitHub(
        branches={BRANCH: OURS},
        commits={BRANCH: [our_commit()]},
        prs={BRANCH: open_pr(author="alice")},
    )
    done = run(github)
    assert github.writes() == []
    assert done.left_alone is LeftAlone.FOREIGN_PR
    assert "alice" in done.reason


def test_a_pr_another_author_opened_meanwhile_is_left_alone_after_the_422() -> None:
    """create_pr's 422 lookup finds someone else's PR: no update, no labels, no reviewers."""
    github = FakeGitHub(raced=open_pr(author="alice", number=9))
    done = run(github)
    assert github.writes() == [("push", BRANCH, None), ("create_pr", BRANCH)]
    assert done.left_alone is LeftAlone.FOREIGN_PR
    assert not done.created
    assert done.pr is not None
    assert done.pr.number == 9


def test_our_own_pr_found_by_the_422_is_refreshed_without_reviewers() -> None:
    github = FakeGitHub(raced=open_pr(number=9))
    done = run(github)
    assert github.writes() == [
        ("push", BRANCH, None),
        ("create_pr", BRANCH),
        ("update_pr", 9, DRAFT.title),
        ("add_labels", 9, (LABEL_EVOLUTION, "automated")),
    ]
    assert not done.created
    assert done.left_alone is None


def test_only_the_missing_labels_are_added() -> None:
    github = FakeGitHub(
        branches={BRANCH: OURS},
        commits={BRANCH: [our_commit()]},
        prs={BRANCH: open_pr(labels=frozenset({LABEL_EVOLUTION, "human-label"}))},
    )
    done = run(github, same=True)
    assert github.writes() == [("add_labels", 7, ("automated",))]
    assert done.pr is not None
    assert done.pr.labels == {LABEL_EVOLUTION, "automated", "human-label"}


def test_reviewers_are_asked_on_creation_only_and_refusals_reported() -> None:
    github = FakeGitHub(refuse_reviewers=("mallory",))
    done = run(github)
    assert done.refused_reviewers == ("mallory",)
    github.calls.clear()
    run(github, same=True)
    assert not [call for call in github.calls if call[0] == "request_reviewers"]


@pytest.mark.parametrize("login", ["Sleeptime-App[bot]", "SLEEPTIME-APP[BOT]"])
def test_our_login_matches_whatever_its_case(login: str) -> None:
    github = FakeGitHub(
        branches={BRANCH: OURS},
        commits={BRANCH: [our_commit()]},
        prs={BRANCH: open_pr(author=login, labels=frozenset({LABEL_EVOLUTION, "automated"}))},
    )
    done = run(github, same=True)
    assert done.left_alone is None
    assert github.writes() == []


def test_a_pr_of_ours_whose_block_was_lost_is_refreshed() -> None:
    """A human edit removed the metadata block: the update writes it back."""
    github = FakeGitHub(
        branches={BRANCH: OURS},
        commits={BRANCH: [our_commit()]},
        prs={BRANCH: open_pr(record=None, labels=frozenset({LABEL_EVOLUTION, "automated"}))},
    )
    run(github, same=True)
    assert github.writes() == [("update_pr", 7, DRAFT.title)]
