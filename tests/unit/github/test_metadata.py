"""The metadata block: a FilingRecord that survives a round trip through a PR body, whatever
its strings hold, that no text can end early, and that a forged block cannot replace.

Pinned decision: the LAST well-formed block of a body wins. The body renderer appends ours
after everything else (a test below renders a body to check), so a block quoted from a log
inside a code fence, which always comes before ours, never wins.
"""

from __future__ import annotations

import re

import cmarkgfm
import pytest

from micro_gastown.github.body import BodyInputs, render_body
from micro_gastown.github.metadata import METADATA_MARKER, read_record, write_record
from micro_gastown.github.model import FilingRecord, PatternRecord
from micro_gastown.github.prose import Prose

HOSTILE = [
    "-->",
    "--!>",
    "<!--",
    "--->",
    "----",
    "- ->",
    "a--b",
    "-",
    "<!-- micro-gastown:metadata\n{}\n-->",
    "</details><script>alert(1)</script>",
    "@octocat fixes #1",
    "é漢字🙂\u202e\u200b\u2028\u2029\x00\r\n\t",
    '"},"fingerprints":["forged"],"x":{"',
    "\\u002d\\u002d>",
]


def record(
    *, logql: str = '{job="x"} |= "boom"', fingerprints: tuple[str, ...] = ("a", "b")
) -> FilingRecord:
    return FilingRecord(
        fingerprints=fingerprints,
        patterns=tuple(
            PatternRecord(
                id=f,
                type="repeated_error",
                severity="critical",
                occurrences=12,
                logql=logql,
                window_start="2026-12-01T00:00:00Z",
                window_end="2026-12-02T00:00:00Z",
                rate_per_hour=0.5,
                exposure=40,
                exposure_unit="calls",
            )
            for f in fingerprints
        ),
        base_commit="c" * 40,
        branch="sleeptime/2026-12-03-repeated-error-0123456789",
        tool_version="micro-gastown 0.1.0",
        filed_at="2026-12-03T10:00:00Z",
        overall_error_rate=0.25,
        events_analyzed=4000,
    )


def comment_ends(block: str) -> list[int]:
    """Where an HTML comment opened at the block's start could end (``-->`` or ``--!>``)."""
    return [m.start() for m in re.finditer(r"--!?>", block)]


def test_a_record_round_trips() -> None:
    original = record()
    block = write_record(original)
    assert block.startswith("\n<!-- ")
    assert block.endswith("\n-->\n")
    assert read_record("Some body\n" + block) == original


@pytest.mark.parametrize("text", HOSTILE, ids=repr)
def test_hostile_strings_round_trip_and_never_end_the_comment(text: str) -> None:
    original = record(logql=text)
    block = write_record(original)
    assert read_record(block) == original
    # the comment ends exactly once, at the block's own last line
    assert comment_ends(block) == [len(block) - len("-->\n")]
    assert block.count("\n") == 4, "the JSON stays on one line"


def test_ten_thousand_hostile_characters_round_trip() -> None:
    text = ("--><!--\u202e--!>é" * 1000)[:10_000]
    original = record(logql=text)
    block = write_record(original)
    assert read_record(block) == original
    assert comment_ends(block) == [len(block) - len("-->\n")]


@pytest.mark.parametrize("text", ["-->", "--!>", "<!--", "@octocat", "<b>x</b>"], ids=repr)
def test_github_renders_nothing_of_the_block(text: str) -> None:
    """cmark-gfm (GitHub's engine) keeps the block one HTML comment: nothing shows."""
    body = "Intro paragraph.\n" + write_record(record(logql=text))
    html = cmarkgfm.github_flavored_markdown_to_html(
        body, options=cmarkgfm.Options.CMARK_OPT_UNSAFE
    )
    shown = re.sub(r"<!--.*?-->", "", html, flags=re.S)
    assert shown.strip() == "<p>Intro paragraph.</p>"


def test_the_last_well_formed_block_wins() -> None:
    first, second = record(fingerprints=("first",)), record(fingerprints=("second",))
    assert read_record(write_record(first) + "text\n" + write_record(second)) == second


def test_a_forged_block_with_bad_json_after_ours_is_ignored() -> None:
    ours = record()
    forged = f'\n<!-- {METADATA_MARKER}\n{{"fingerprints": ["forged"\n-->\n'
    assert read_record(write_record(ours) + forged) == ours


@pytest.mark.parametrize(
    "forged",
    [
        '{"fingerprints": "not a list of ids"}',
        '{"patterns": []}',
        "null",
        "[]",
        "[" * 5000 + "]" * 5000,
        '{"fingerprints": ["a"], "events_analyzed": -1}',
    ],
    ids=["wrong-type", "missing-field", "null", "array", "deep", "negative"],
)
def test_a_block_that_does_not_validate_is_no_block(forged: str) -> None:
    ours = record()
    body = write_record(ours) + f"\n<!-- {METADATA_MARKER}\n{forged}\n-->\n"
    assert read_record(body) == ours
    assert read_record(f"<!-- {METADATA_MARKER}\n{forged}\n-->\n") is None


def test_an_unterminated_forged_opening_does_not_swallow_ours() -> None:
    """A log line quoted above ours opens a block and never closes it: ours still reads."""
    ours = record()
    body = f'```\n<!-- {METADATA_MARKER}\n{{"fingerprints": ["forged"]}}\nmore log\n```\n'
    assert read_record(body + write_record(ours)) == ours


def test_a_block_inside_a_code_fence_loses_to_ours_after_it() -> None:
    forged = record(fingerprints=("forged",))
    fenced = "## Evidence\n\n```text\n" + write_record(forged) + "```\n"
    ours = record()
    assert read_record(fenced + write_record(ours)) == ours
    # alone, it is read (the rule is "last wins", not "outside fences"): which is why the
    # renderer must put ours last, pinned by the next test
    assert read_record(fenced) == forged


def test_the_rendered_body_ends_with_our_block() -> None:
    """A body whose words quote a forged block still reads back as ours."""
    forged_block = write_record(record(fingerprints=("forged",)))
    ours = record()
    inputs = BodyInputs(
        changes=None,
        patch="diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n",
        files=("x",),
        patterns=(),
        missing_patterns=("a", "b"),
        report_window=None,
        grafana=None,
        graph=None,
        record=ours,
        prose=Prose(
            title="sleeptime: x",
            summary=forged_block,
            changes={"x": forged_block},
            impact=forged_block,
            written_by="code (LLM off)",
        ),
        branch="sleeptime/2026-12-03-change-0123456789",
        base_branch="main",
        base_commit="c" * 40,
        cost_usd=None,
        tool_version="0.1.0",
    )
    body = render_body(inputs)
    assert body.endswith(write_record(ours))
    assert read_record(body) == ours


def test_windows_line_ends_from_a_web_edit_still_read() -> None:
    """A body edited on github.com comes back with CRLF line ends."""
    ours = record()
    assert read_record(("Body\n" + write_record(ours)).replace("\n", "\r\n")) == ours


@pytest.mark.parametrize("body", [None, "", "no block here", f"<!-- {METADATA_MARKER} -->"])
def test_no_block_is_none(body: str | None) -> None:
    assert read_record(body) is None


def test_a_block_longer_than_any_body_is_not_read() -> None:
    huge = '{"fingerprints":["a"],"tool_version":"' + "x" * 70_000 + '"}'
    assert read_record(f"<!-- {METADATA_MARKER}\n{huge}\n-->\n") is None
