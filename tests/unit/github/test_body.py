"""The PR body and commit message a maintainer reads: upstream's sections in order, a row
per finding with its key figure, evidence one click away (Grafana links we build for the
finding's own window), charts, what a bare diff cannot say, and the metadata block last,
intact, whatever the size of the input.

Rendered with GitHub's engine (cmark-gfm) where what matters is what GitHub shows.
"""

from __future__ import annotations

import html
import re

import pytest

from micro_gastown.errors import GitHubError
from micro_gastown.github.body import (
    BodyInputs,
    key_figure,
    render_body,
    render_commit_message,
    render_title,
)
from micro_gastown.github.evidence_section import figure_window
from micro_gastown.github.facts import DiffStat, diff_stats, pattern_window, report_window
from micro_gastown.github.inert import GITHUB_BODY_LIMIT
from micro_gastown.github.metadata import read_record
from micro_gastown.report.changes import Validation, ValidationStatus
from micro_gastown.report.model import Pattern, SampleEvent
from prbody import (
    DEAD_ID,
    FAILED_ID,
    GRAFANA,
    PATCH,
    body_inputs,
    proposal,
    prose,
    record_for,
    render,
    sample_pattern,
    sample_report,
    visible_text,
)

SECTIONS = ["Summary", "Changes", "Evidence", "Expected Impact", "Validation", "Rollback"]


def _headings(rendered: str, level: int) -> list[str]:
    found = re.findall(rf"<h{level}>(.*?)</h{level}>", rendered, re.S)
    return [visible_text(heading).strip() for heading in found]


def _hrefs(rendered: str) -> list[str]:
    return [html.unescape(href) for href in re.findall(r'<a href="([^"]*)"', rendered)]


def test_the_body_has_upstreams_sections_in_order_and_the_metadata_last() -> None:
    inputs = body_inputs()
    body = render_body(inputs)
    rendered = render(body)
    assert _headings(rendered, 2) == SECTIONS
    assert _headings(rendered, 3) == [FAILED_ID, DEAD_ID]  # the evidence, per finding
    assert body.startswith("Refunds fail when the payment gateway times out")
    assert (
        "Found by micro-gastown in the logs from 2026-11-21 10:00 to 10:59 UTC; "
        "validated on `0123456789ab`." in body
    )
    assert body.rstrip().endswith("-->")  # the metadata block closes the body
    assert read_record(body) == inputs.record
    assert "*Cost: $0.0123 of model calls · words by code \\(LLM off\\)" in body
    assert len(body) <= GITHUB_BODY_LIMIT


def test_the_summary_table_has_a_row_per_pattern_with_its_key_figure() -> None:
    patterns = tuple(sample_report().patterns)
    rendered = render(render_body(body_inputs(patterns=patterns, record=record_for(patterns))))
    rows = re.findall(r"<tr>(.*?)</tr>", rendered.split("<h2>Changes</h2>")[0], re.S)
    cells = [[visible_text(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r)] for r in rows]
    cells = [row for row in cells if row]  # the header row has <th> cells
    assert [row[0] for row in cells] == [p.id for p in patterns]
    for row, pattern in zip(cells, patterns, strict=True):
        assert row[1].endswith(pattern.severity.value)
        assert row[2] == f"{pattern.occurrences:,}"
        assert row[3].replace("\u200b", "") == key_figure(pattern)


@pytest.mark.parametrize(
    ("pattern_id", "figure"),
    [
        ("slow-llm-summarize-claude-haiku-4-5-b57e1420da", "p95 7,149 ms over 1,853 calls"),
        (FAILED_ID, "179 of 822 traversals failed (21.8%)"),
        ("repeated-error-payment-gateway-timeout-after-ms-for-ord-a622b5971d", "179× in 59 min"),
        ("effect-failure-paymentapi-2b1a86fd1c", "176 of 812 failed (21.7%)"),
        (DEAD_ID, "never taken in 2,053 visits"),
        ("dead-path-refund-escalate-80506d5a62", "4 of 641 exits (0.62%)"),
        ("token-bloat-answerfaq-0935b8fdba", "p95 prompt 11,982 tokens"),
    ],
)
def test_the_key_figure_of_each_type(pattern_id: str, figure: str) -> None:
    assert key_figure(sample_pattern(pattern_id)) == figure


@pytest.mark.parametrize(
    "details",
    [{}, {"failures": "179", "transitions": 822}, {"failures": 1e308, "transitions": 2}],
)
def test_details_without_usable_numbers_give_the_occurrences(details: dict[str, object]) -> None:
    """A report file can hold anything: a figure is shown only from real numbers."""
    pattern = sample_pattern(FAILED_ID).model_copy(update={"details": details})
    assert key_figure(pattern) == "179 occurrences"


def test_grafana_links_are_exactly_what_grafana_explore_builds_for_each_window() -> None:
    inputs = body_inputs()
    hrefs = _hrefs(render(render_body(inputs)))
    fallback = report_window(inputs.report_window)
    expected = []
    for pattern in inputs.patterns:
        window = pattern_window(pattern, fallback)
        assert window is not None
        if pattern.grafana_query:  # a figure over the analysis window, lines over its own
            span = figure_window(pattern.grafana_query, window, fallback)
            assert span is not None
            expected.append(GRAFANA.link(pattern.grafana_query, span.start_ns, span.end_ns))
        if pattern.series and pattern.series.query:
            expected.append(GRAFANA.link(pattern.series.query, window.start_ns, window.end_ns))
    assert hrefs == expected
    failed = inputs.patterns[0]
    assert failed.series is not None
    series_window = pattern_window(failed, None)
    assert series_window is not None  # the finding's own window: its series', 10:00 to 11:00
    assert (series_window.start_ns, series_window.end_ns) == (
        1_795_255_200_000_000_000,
        1_795_258_800_000_000_000,
    )


def test_a_finding_without_a_series_is_linked_over_the_reports_window() -> None:
    dead = sample_pattern(DEAD_ID).model_copy(update={"series": None})
    inputs = body_inputs(patterns=(dead,), record=record_for((dead,)))
    window = report_window(inputs.report_window)
    assert window is not None
    assert dead.grafana_query is not None
    expected = GRAFANA.link(dead.grafana_query, window.start_ns, window.end_ns)
    assert _hrefs(render(render_body(inputs))) == [expected]


def test_without_grafana_the_logql_is_shown_and_nothing_links() -> None:
    inputs = body_inputs(grafana=None)
    body = render_body(inputs)
    rendered = render(body)
    assert "<a " not in rendered
    assert "Grafana links are not configured" in body
    for pattern in inputs.patterns:
        assert pattern.grafana_query is not None
        assert f"```logql\n{pattern.grafana_query}\n```" in body
    message = render_commit_message(inputs, "")
    assert f"- {FAILED_ID}: LogQL {inputs.patterns[0].grafana_query}" in message


def test_samples_are_redacted_compact_json_three_at_most() -> None:
    body = render_body(body_inputs())
    block = re.search(
        r"Sample lines \(3 of 5, secrets redacted\):\n\n```json\n(.*?)\n```", body, re.S
    )
    assert block is not None
    lines = block.group(1).splitlines()
    assert len(lines) == 3
    assert all(line.startswith('{"context":{') for line in lines)
    assert "[REDACTED:basic-auth-credentials]" in lines[0]


def test_each_finding_has_its_charts_in_mermaid_blocks() -> None:
    body = render_body(body_inputs())
    charts = re.findall(r"```mermaid\n(.*?)\n```", body, re.S)
    kinds = [chart.splitlines()[0] for chart in charts]
    # Each finding: its series over the window, then its place in the graph.
    assert kinds == ["xychart-beta", "flowchart LR", "xychart-beta", "flowchart LR"]
    assert "*179 failed traversals in the window, out of 822 traversals.*" in body


def test_no_graph_no_neighbourhood_chart() -> None:
    body = render_body(body_inputs(graph=None))
    assert "flowchart" not in body
    assert "xychart-beta" in body


def test_a_bare_diff_says_what_could_not_be_derived() -> None:
    inputs = body_inputs(changes=None, prose=prose(changes={}, impact=""))
    body = render_body(inputs)
    rendered = render(body)
    assert _headings(rendered, 2) == SECTIONS
    assert "Filed from a bare diff: no ProposedChanges JSON was found beside it" in body
    assert "validated on" not in body
    assert "- `src/Triage/Graph.hs` (+2 −1): *no rationale given*" in body  # from the diff
    assert "*Not estimated.*" in body
    assert "*Not validated: a bare diff carries no build or test result.*" in body
    assert "git revert -m 1 <merge>" in body  # the default rollback


def test_a_change_that_failed_validation_is_not_called_validated() -> None:
    failed = Validation(
        build_success=True,
        test_success=False,
        status=ValidationStatus.FAILED,
        reason="2 tests failed",
        test_output="FAIL: refund retries\n" * 5,
    )
    body = render_body(body_inputs(changes=proposal(validation=failed)))
    assert "validated on" not in body
    assert "made against `0123456789ab` and not validated (see Validation)" in body
    assert "Build: ✅ passed · Tests: ❌ failed · Status: **failed**. 2 tests failed" in body
    assert "<summary>Test output (last 105 characters)</summary>" in body


def test_the_expected_impact_table_and_validation_checks() -> None:
    body = render_body(body_inputs())
    assert "| failure\\_rate route\\-\\>refund | 0.218 | 0.05 | 77.0% |" in body
    assert "Confidence: **medium**. Most timeouts succeed on the second attempt\\." in body
    assert "- ✅ `static`: passed (0.2 s)\n- ✅ `cabal build`: passed (41.0 s)" in body
    assert "Revert the commit\\; no data migration is involved\\." in body


def test_the_cost_not_recorded_is_said() -> None:
    body = render_body(body_inputs(cost_usd=None))
    assert "*Cost: not recorded · words by" in body


def test_patterns_addressed_but_missing_from_the_report_are_named() -> None:
    body = render_body(body_inputs(missing_patterns=("slow-llm-gone-0000000000",)))
    assert "Addressed but not in the report given: `slow-llm-gone-0000000000`." in body


def test_diff_stats_read_hunks_by_their_counts() -> None:
    """A removed Haskell comment is ``--- x`` in a diff: counted, not taken for a header."""
    patch = (
        "diff --git a/src/A.hs b/src/A.hs\n--- a/src/A.hs\n+++ b/src/A.hs\n"
        "@@ -1,3 +1,2 @@\n keep\n--- a comment\n-gone\n+new\n"
        'diff --git "a/t/caf\\303\\251 x.jinja" "b/t/caf\\303\\251 x.jinja"\n'
        "new file mode 100644\n--- /dev/null\n"
        '+++ "b/t/caf\\303\\251 x.jinja"\n@@ -0,0 +1 @@\n+hello\n'
        "--- a/old.txt\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\n"
    )
    assert diff_stats(patch) == {
        "src/A.hs": DiffStat(added=1, removed=2),
        "t/café x.jinja": DiffStat(added=1, removed=0),
        "old.txt": DiffStat(added=0, removed=2),
    }
    assert diff_stats(PATCH) == {"src/Triage/Graph.hs": DiffStat(added=2, removed=1)}


def test_the_commit_message_is_subject_patterns_evidence_files_footer() -> None:
    inputs = body_inputs()
    footer = "Signed-off-by: micro-gastown <micro-gastown@users.noreply.github.com>"
    message = render_commit_message(inputs, footer)
    subject, blank, *rest = message.splitlines()
    assert subject == "sleeptime: retry the payment gateway before escalating refunds"
    assert blank == ""
    text = "\n".join(rest)
    assert text.startswith(
        "Patterns addressed:\n"
        f"- {FAILED_ID} (failed_transition, critical, 179 occurrences)\n"
        f"- {DEAD_ID} (dead_path, warning, 2,053 occurrences)\n\nEvidence:\n"
    )
    failed = inputs.patterns[0]
    window = pattern_window(failed, None)
    assert window is not None
    assert failed.grafana_query is not None
    link = GRAFANA.link(failed.grafana_query, window.start_ns, window.end_ns)
    assert f"- {FAILED_ID}: {link}\n" in text
    assert "\n\nFiles changed:\n- src/Triage/Graph.hs\n\n" + footer + "\n" in message + "\n"
    assert message.endswith(footer + "\n")  # the footer is configuration: kept as written


def test_the_subject_is_cut_to_72_and_always_says_sleeptime() -> None:
    long_title = "make the refund node retry the payment gateway " * 4
    inputs = body_inputs(prose=prose(title=long_title))
    subject = render_commit_message(inputs, "").splitlines()[0]
    assert len(subject) <= 72
    assert subject.startswith("sleeptime: make the refund node")
    assert subject.endswith("…")
    assert render_title(prose(title="sleeptime:\tfix\u202e it\n")) == "sleeptime: fix it"


def _many_patterns(count: int) -> tuple[Pattern, ...]:
    base = sample_pattern(FAILED_ID)
    event = {"message": "x" * 3_000, "context": {"k": "v" * 3_000}}
    sample = SampleEvent(timestamp="2026-11-21T10:00:00Z", timestamp_ns="1", labels={}, event=event)
    return tuple(
        base.model_copy(
            update={
                "id": f"failed-transition-n{i}",
                "recommendation": "Handle it. " * 150,
                "grafana_query": '{job="x"} |= "' + "y" * 1_500 + f'{i}"',
                "sample_events": [sample] * 5,
            }
        )
        for i in range(count)
    )


def test_a_huge_input_fits_githubs_limit_with_a_note_and_the_metadata_intact() -> None:
    patterns = _many_patterns(5_000)
    record = record_for(patterns[:3])
    hunk = "".join(
        f"+line {i} of a very large generated file, padded to be long\n" for i in range(20_000)
    )
    patch = f"--- a/big.txt\n+++ b/big.txt\n@@ -0,0 +1,20000 @@\n{hunk}"
    assert len(patch) > 1_000_000
    output = "compiling...\n" * 100_000
    validation = Validation(
        build_success=True, test_success=True, build_output=output, test_output=output
    )
    inputs: BodyInputs = body_inputs(
        patterns=patterns,
        record=record,
        patch=patch,
        files=tuple(f"src/F{i}.hs" for i in range(5_000)),  # and the proposal's own file
        changes=proposal(validation=validation),
    )
    body = render_body(inputs)
    assert len(body) <= GITHUB_BODY_LIMIT
    assert read_record(body) == record
    assert body.rstrip().endswith("-->")
    rendered = render(body)
    assert _headings(rendered, 2) == SECTIONS  # every section kept: bulk gave way first
    assert _headings(rendered, 3)[0] == "failed-transition-n0"  # the first finding's evidence
    assert "…and 4,950 more patterns (listed in the metadata)." in body
    assert "…and 4,971 more files (see Files changed)." in body
    assert re.search(r"(cut here|left out to fit GitHub's size limit)", body)
    assert body.count("<details>") == body.count("</details>")  # no section left open
    assert len(re.findall(r"^```+", body, re.M)) % 2 == 0  # every fence closed


def test_a_metadata_block_too_large_for_a_body_is_refused() -> None:
    patterns = _many_patterns(400)
    with pytest.raises(GitHubError, match="metadata block is too large"):
        render_body(body_inputs(patterns=patterns[:1], record=record_for(patterns)))
