"""The job summary: a row per finding with its key figure, a chart per critical finding,
the PR link, the steps; and hostile text from a report or an error rendered inert by
GitHub's own engine (cmark-gfm), as a PR body is (tests/unit/github/test_body_hostile.py)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from micro_gastown.action.settings import ActionCommand
from micro_gastown.action.summary import (
    MAX_TABLE_ROWS,
    StepLine,
    SummaryInputs,
    findings_table,
    render_summary,
)
from micro_gastown.app.rollback_outcome import PrAction, PrOutcome
from micro_gastown.report.model import Pattern, PatternReport, Severity
from micro_gastown.watch.judge import Verdict
from prbody import FAILED_ID, render, sample_report, tags
from prbody import prose_text as shown_outside_code

from inert import hidden_characters

HOSTILE = "\n".join(
    [
        "@octocat please look, fixes #12, closes GH-7",
        "see a5c3785ed8d6a35868bc169f07e40e889087fd2e",
        "<script>alert(1)</script><img src=x onerror=alert(1)>",
        "[click](https://evil.example/x) ![p](https://evil.example/p.png) www.evil.example",
        "| a | b |\n|---|---|\n# Heading\n```\nbreak out\n```\n~~~",
        "\x1b[31mred\x1b[0m \u202egnp.exe",
        '%%{init: {"securityLevel": "loose"}}%%\nclick A "https://evil.example"',
        "::error::fake ::add-mask::x",
    ]
)
ALLOWED_TAGS = {"h2", "h3", "h4", "p", "strong", "em", "table", "thead", "tbody", "tr", "th",
                "td", "code", "pre", "a"}  # fmt: skip
LINKED = [
    re.compile(r"@[A-Za-z0-9]"),
    re.compile(r"(?:#|GH-)\d", re.IGNORECASE),
    re.compile(r"\b[0-9a-fA-F]{7,}\b"),
    re.compile(r"(?i)(?:https?|javascript|data)\s*:"),
    re.compile(r"(?i)www\."),
]


@pytest.fixture(scope="module")
def report() -> PatternReport:
    return sample_report()


def _hostile(pattern: Pattern) -> Pattern:
    return pattern.model_copy(
        update={
            "id": HOSTILE,
            "recommendation": HOSTILE,
            "key": {"node": HOSTILE},
            "details": {**pattern.details, "failures": HOSTILE, "template": HOSTILE},
        }
    )


def test_a_row_per_finding_with_its_key_figure(report: PatternReport) -> None:
    table = findings_table(report.patterns).splitlines()
    assert table[:2] == [
        "| Pattern | Severity | Occurrences | Key figure |",
        "| --- | --- | ---: | --- |",
    ]
    assert len(table) == 2 + len(report.patterns)
    row = next(line for line in table if FAILED_ID in line)
    assert row == (
        f"| `{FAILED_ID}` | 🔴 critical | 179 | 179 of 822 traversals failed \\(21\\.8\\%\\) |"
    )


def test_a_long_list_is_cut_and_counted(report: PatternReport) -> None:
    many = [report.patterns[0]] * (MAX_TABLE_ROWS + 7)
    table = findings_table(many)
    assert table.count("| 🔴 critical |") == MAX_TABLE_ROWS
    assert table.endswith("*…and 7 more in the report file.*")


def test_each_critical_finding_has_a_chart(report: PatternReport) -> None:
    summary = render_summary(SummaryInputs(ActionCommand.ANALYZE, report=report))
    critical = [p for p in report.patterns if p.severity is Severity.CRITICAL]
    charts = re.findall(r"```mermaid\n(xychart-beta\n.*?)\n```", summary, re.S)
    assert len(charts) == len(critical) > 0
    assert f"#### `{critical[0].id}`" in summary
    assert summary.startswith("## micro-gastown analyze\n")
    assert f"**{report.summary.total_patterns} patterns** ({report.summary.critical} critical" in (
        summary
    )
    assert "model cost $0.0000" in summary


def test_an_evolve_summary_shows_the_steps_the_pr_and_the_cost(report: PatternReport) -> None:
    summary = render_summary(
        SummaryInputs(
            ActionCommand.EVOLVE,
            report=report,
            cost_usd=Decimal("0.0044"),
            pr_url="https://github.com/acme/graphs/pull/42",
            pr_number=42,
            run_status="completed",
            steps=(StepLine("analyze", "completed"), StepLine("file-pr", "completed")),
        )
    )
    assert "Filed: [#42](https://github.com/acme/graphs/pull/42)" in summary
    assert "| `analyze` | completed |  |" in summary
    assert "model cost $0.0044" in summary
    assert "run **completed**" in summary


def test_a_dry_run_says_where_the_draft_is(tmp_path: Path) -> None:
    summary = render_summary(
        SummaryInputs(ActionCommand.EVOLVE, dry_run=True, dry_run_dirs=(tmp_path,))
    )
    assert f"Dry run: nothing filed; what would be filed is in `{tmp_path}`." in summary


def test_hostile_text_renders_inert(report: PatternReport) -> None:
    patterns = [_hostile(p) for p in report.patterns]
    hostile_report = report.model_copy(update={"patterns": patterns})
    markdown = render_summary(
        SummaryInputs(
            ActionCommand.EVOLVE,
            report=hostile_report,
            pr_url=f"https://evil.example/x)\n{HOSTILE}",
            pr_number=1,
            run_status=HOSTILE,
            steps=(StepLine(HOSTILE, HOSTILE, HOSTILE),),
            failure=HOSTILE,
        )
    )
    rendered = render(markdown)
    assert tags(rendered) <= ALLOWED_TAGS, tags(rendered) - ALLOWED_TAGS
    assert "<a " not in rendered  # the PR URL is not GitHub's shape: shown as code
    text = shown_outside_code(rendered)
    for pattern in LINKED:
        assert not pattern.search(text), (pattern.pattern, pattern.search(text))
    assert re.findall(r"<h2>(.*?)</h2>", rendered) == ["micro-gastown evolve"]
    headings = re.findall(r"<h3>(.*?)</h3>", rendered)
    assert headings == ["Findings", "Steps", "Pull request", "Critical findings over time"]
    assert hidden_characters(markdown) == []
    for chart in re.findall(r"```mermaid\n(.*?)\n```", markdown, re.S):
        for forbidden in ("click", "%%", "<", "://", "octocat", "evil"):
            assert forbidden not in chart
    # every finding is one table row: no cell break or line break escaped the text
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert len(rows) == 2 + len(patterns) + 2 + 1


def _outcome(**changes: object) -> PrOutcome:
    values: dict[str, object] = {
        "number": 12,
        "url": "https://github.com/acme/agents/pull/12",
        "action": PrAction.REVERTED,
        "detail": "look 2 of 7: regressed; revert #15 opened",
        "verdict": Verdict.REGRESSED,
        "revert_number": 15,
        "revert_url": "https://github.com/acme/agents/pull/15",
    }
    values.update(changes)
    return PrOutcome(**values)  # type: ignore[arg-type]


def test_a_rollback_summary_links_each_pr_and_its_revert() -> None:
    summary = render_summary(SummaryInputs(ActionCommand.ROLLBACK_CHECK, verdicts=(_outcome(),)))
    assert "### Rollback watcher" in summary
    html = render(summary)
    assert 'href="https://github.com/acme/agents/pull/12"' in html
    assert 'href="https://github.com/acme/agents/pull/15"' in html
    assert "regressed" in html


def test_a_rollback_summary_keeps_hostile_details_and_odd_urls_inert() -> None:
    hostile = _outcome(
        detail="@octocat <img src=x onerror=alert(1)> [x](https://evil.example)",
        url="javascript:alert(1)",
        revert_url="https://evil.example/acme/agents/pull/15?x=<b>",
    )
    html = render(render_summary(SummaryInputs(ActionCommand.ROLLBACK_CHECK, verdicts=(hostile,))))
    assert "<img" not in html
    assert "javascript:" not in " ".join(re.findall(r'href="([^"]*)"', html))
    assert "evil.example" not in " ".join(re.findall(r'href="([^"]*)"', html))
    assert "@octocat" not in shown_outside_code(html)  # a zero-width space breaks the mention


def test_a_rollback_summary_with_nothing_to_judge_says_so() -> None:
    summary = render_summary(SummaryInputs(ActionCommand.ROLLBACK_CHECK, dry_run=True))
    assert "No merged evolution PR of ours to judge." in summary
