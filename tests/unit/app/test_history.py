"""Our PR history as refine's suppressions: the filer's rules, plus "our open PR has it"."""

from __future__ import annotations

import datetime as dt
from typing import cast

from micro_gastown.app.filer_settings import FilerSettings
from micro_gastown.app.history import RecordedHistory, read_suppressions, suppressions
from micro_gastown.github.api import GitHubApi
from micro_gastown.github.hygiene import Limits
from micro_gastown.github.model import (
    LABEL_EVOLUTION,
    LABEL_REVERTED,
    FilingRecord,
    OurPr,
    PatternRecord,
    PrState,
)
from micro_gastown.report.model import Pattern, PatternType, Severity


class History:
    """The two reads the history needs of GitHub (the rest of GitHubApi is never called)."""

    def __init__(self, login: str | None, prs: list[OurPr]) -> None:
        self.login, self.prs = login, prs

    def whoami(self) -> str | None:
        return self.login

    def our_prs(self, login: str) -> list[OurPr]:
        return [p for p in self.prs if p.author_login == login]


def api(login: str | None, prs: list[OurPr]) -> GitHubApi:
    return cast(GitHubApi, History(login, prs))


NOW = dt.datetime(2026, 12, 10, 12, tzinfo=dt.UTC)
ME = "sleeptime-app[bot]"


def finding(pattern_id: str, occurrences: int = 10) -> Pattern:
    return Pattern(
        id=pattern_id,
        type=PatternType.REPEATED_ERROR,
        severity=Severity.WARNING,
        occurrences=occurrences,
        details={},
        recommendation="r",
    )


def pr(
    number: int,
    state: PrState,
    *ids: str,
    author: str = ME,
    labels: frozenset[str] = frozenset({LABEL_EVOLUTION}),
    record: bool = True,
) -> OurPr:
    closed = "2026-11-10T12:00:00Z" if state is not PrState.OPEN else None
    return OurPr(
        number=number,
        url=f"https://github.com/acme/agents/pull/{number}",
        state=state,
        branch=f"sleeptime/2026-11-01-x-{number}",
        head_sha="a" * 40,
        author_login=author,
        labels=labels,
        record=FilingRecord(
            fingerprints=ids,
            patterns=tuple(
                PatternRecord(id=i, type="repeated_error", severity="warning", occurrences=10)
                for i in ids
            ),
        )
        if record
        else None,
        closed_at=closed,
        merged_at=closed if state is PrState.MERGED else None,
    )


def reasons(history: list[OurPr], *patterns: Pattern, login: str = ME) -> dict[str, str]:
    return suppressions(list(patterns), history, login=login, limits=Limits(), now=NOW)


def test_our_open_pr_holds_its_findings_back() -> None:
    held = reasons([pr(4, PrState.OPEN, "a", "b")], finding("a"), finding("c"))
    assert held == {"a": "our open PR #4 addresses it", "b": "our open PR #4 addresses it"}


def test_someone_elses_pr_or_one_without_our_block_holds_nothing_back() -> None:
    history = [pr(4, PrState.OPEN, "a", author="alice"), pr(5, PrState.OPEN, "b", record=False)]
    assert reasons(history, finding("a"), finding("b")) == {}


def test_our_login_matches_whatever_its_case() -> None:
    held = reasons([pr(4, PrState.OPEN, "a", author="Sleeptime-App[bot]")], finding("a"))
    assert held == {"a": "our open PR #4 addresses it"}


def test_a_closed_pr_holds_its_finding_back_until_twice_as_bad() -> None:
    history = [pr(4, PrState.CLOSED, "a")]
    assert "a" in reasons(history, finding("a", occurrences=15))
    assert "a" not in reasons(history, finding("a", occurrences=25))


def test_a_reverted_pr_holds_its_finding_back_for_good() -> None:
    history = [pr(4, PrState.MERGED, "a", labels=frozenset({LABEL_EVOLUTION, LABEL_REVERTED}))]
    held = reasons(history, finding("a", occurrences=1000))
    assert "a" in held
    assert "#4" in held["a"]


def test_no_token_no_reading() -> None:
    assert read_suppressions([finding("a")], FilerSettings(), now=NOW) is None


def test_the_history_is_read_as_our_login() -> None:
    github = api(ME, [pr(4, PrState.OPEN, "a")])
    held = read_suppressions([finding("a")], FilerSettings(), now=NOW, api=github)
    assert held == {"a": "our open PR #4 addresses it"}
    nobody = api(None, [pr(4, PrState.OPEN, "a")])
    assert read_suppressions([finding("a")], FilerSettings(), now=NOW, api=nobody) is None
    named = read_suppressions([finding("a")], FilerSettings(github_login=ME), now=NOW, api=nobody)
    assert named == {"a": "our open PR #4 addresses it"}


def test_the_recorded_history_answers_refine() -> None:
    history = RecordedHistory({"a": "our open PR #4 addresses it"})
    assert history.suppression(finding("a")) == "our open PR #4 addresses it"
    assert history.suppression(finding("b")) is None
