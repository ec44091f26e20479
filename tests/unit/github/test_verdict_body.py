"""The watcher's verdict comment and revert PR: inert whatever a PR body's record held (ids
and LogQL anyone with write access could have edited), our marker read back, charts that
hold only our labels and numbers."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from micro_gastown.evidence.grafana import GrafanaExplore
from micro_gastown.github.metadata import read_record
from micro_gastown.github.model import FilingRecord
from micro_gastown.github.verdict_body import (
    Presentation,
    RevertFacts,
    read_verdict_marker,
    revert_body,
    revert_commit_message,
    revert_title,
    verdict_comment,
)
from micro_gastown.watch.assess import Assessment, Measured, Unmeasured, judge_look
from micro_gastown.watch.judge import Counts, JudgePolicy, Verdict
from micro_gastown.watch.looks import DAY_NS, WatchPlan
from prbody import render

from inert import markdown_problems

HOSTILE_ID = "@octocat <img src=x onerror=alert(1)> [x](https://evil.example) #1 ```"
HOSTILE_QUERY = '{job="a"} |= "```\\n@octocat <script>alert(1)</script>"'
MERGED = 1_780_000_000 * 1_000_000_000
GRAFANA = GrafanaExplore("https://grafana.example.com", "loki-uid")


def without_our_comments(body: str) -> str:
    """The body less our own hidden blocks (the marker, the metadata): the rest must be inert."""
    return re.sub(r"<!-- micro-gastown:(?:verdict|metadata)[^\n]*(?:\n[^\n]*\n-->)?", "", body)


def assessment(after_events: int = 800, name: str = HOSTILE_ID) -> Assessment:
    look = WatchPlan(watch_days=7, deploy_lag=timedelta(hours=1)).look(MERGED, MERGED + 3 * DAY_NS)
    assert look is not None
    measured = [
        Measured(
            name, "calls", Counts(400, 10_000), Counts(after_events, 10_000),
            events_query=HOSTILE_QUERY, exposure_query='{job="a"} | json',
        ),
        Measured("overall error rate", "events", Counts(900, 90_000), Counts(900, 90_000),
                 overall=True, events_query='{job="a", event_type="error"}'),
    ]  # fmt: skip
    unmeasured = [Unmeasured("@someone else", "no LogQL was recorded for it")]
    return judge_look(look, measured, unmeasured, JudgePolicy())


def test_regressed_comment_names_the_revert_and_reads_back_its_marker() -> None:
    body = verdict_comment(
        12, assessment(), Presentation(0.005, timedelta(hours=1), GRAFANA),
        revert_pr=15,
    )  # fmt: skip
    assert "regressed" in body
    assert "#15" in body
    assert read_verdict_marker(body) == {
        "pr": 12, "verdict": "regressed", "look": 2, "watch_days": 7, "revert_pr": 15,
    }  # fmt: skip
    assert "2.00×" in body  # the ratio the test saw
    assert "14 tests" in body  # 2 comparisons × 7 looks


@pytest.mark.parametrize("grafana", [GRAFANA, None])
def test_hostile_ids_and_queries_render_inert(grafana: GrafanaExplore | None) -> None:
    body = verdict_comment(12, assessment(), Presentation(0.005, timedelta(hours=1), grafana))
    problems = markdown_problems(
        without_our_comments(body), link_allowed="https://grafana.example.com/explore"
    )
    assert problems == []
    html = render(body)
    assert "<img" not in html
    assert "<script" not in html
    assert 'href="https://evil' not in html


def test_the_chart_holds_only_safe_labels_and_numbers() -> None:
    body = verdict_comment(12, assessment(), Presentation(0.005, timedelta(0), None))
    chart = body.split("```mermaid\n", 1)[1].split("```", 1)[0]
    x_axis = next(line for line in chart.splitlines() if "x-axis" in line)
    labels = re.findall(r'"([^"]*)"', x_axis)
    assert len(labels) == 2
    for label in labels:
        assert re.fullmatch(r"[A-Za-z0-9_.-]+", label), label
    assert "bar [100, 100]" in chart
    assert "bar [200, 100]" in chart


def test_a_marker_in_someone_elses_text_is_read_only_in_our_exact_form() -> None:
    assert read_verdict_marker("<!-- micro-gastown:verdict {not json} -->") is None
    assert read_verdict_marker('quote: <!-- micro-gastown:verdict {"verdict":1} -->') is None
    assert read_verdict_marker(None) is None


def test_revert_body_carries_a_record_that_addresses_no_finding() -> None:
    record = FilingRecord(fingerprints=(), reverts=12, branch="sleeptime/revert-12")
    facts = RevertFacts(12, "a" * 40, "2026-05-28T00:00:00Z", mainline=1)
    body = revert_body(
        facts, assessment(), Presentation(0.005, timedelta(hours=1), None),
        record=record,
    )  # fmt: skip
    back = read_record(body)
    assert back is not None
    assert back.reverts == 12
    assert back.fingerprints == ()
    assert f"git revert -m 1 {'a' * 40}" in body
    assert markdown_problems(without_our_comments(body)) == []
    squashed = revert_body(
        RevertFacts(12, "b" * 40, "2026-05-28T00:00:00Z", mainline=None), assessment(),
        Presentation(0.005, timedelta(0), None), record=record,
    )  # fmt: skip
    assert "one-parent merge" in squashed


def test_commit_message_is_ours_alone() -> None:
    facts = RevertFacts(12, "c" * 40, "2026-05-28T00:00:00Z")
    message = revert_commit_message(facts, assessment())
    assert message.startswith(revert_title(12) + "\n\nThis reverts commit " + "c" * 40)
    assert "@" not in message
    assert "<" not in message
    assert "rate ratio 2.00×" in message


def test_inconclusive_and_improved_comments_say_the_change_stays() -> None:
    improved = verdict_comment(
        3, assessment(after_events=100), Presentation(0.005, timedelta(0), None)
    )
    assert read_verdict_marker(improved)["verdict"] == str(Verdict.IMPROVED)  # type: ignore[index]
    assert "The change stays" in improved


def test_a_comment_for_an_open_revert_says_regressed_whatever_a_later_look_says() -> None:
    later = assessment(after_events=400)  # the figures moved back: no change at this look
    assert later.verdict is not Verdict.REGRESSED
    body = verdict_comment(12, later, Presentation(0.005, timedelta(0), None), revert_pr=15)
    marker = read_verdict_marker(body)
    assert marker is not None
    assert marker["verdict"] == "regressed"
    assert "Reverted in #15" in body
    assert f"a later look ({later.verdict})" in body
