"""Hostile text in every slot of a PR body that comes from logs or from a model: rendered
by GitHub's own engine (cmark-gfm, raw HTML let through so nothing hides a failure), it
never becomes HTML, a link, an image, a mention, a reference, a commit link or a closing
keyword; no fence or collapsed section ends early; our metadata block is the one read
back; and a secret planted anywhere is gone from the body, the title and the commit.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from micro_gastown.github.body import (
    BodyInputs,
    published_record,
    render_body,
    render_commit_message,
    render_title,
)
from micro_gastown.github.metadata import METADATA_MARKER, read_record
from micro_gastown.report.changes import (
    Check,
    CheckOutcome,
    Confidence,
    ExpectedImpact,
    FileChange,
    ImpactMetric,
    Validation,
)
from micro_gastown.report.model import Pattern, SampleEvent
from prbody import (
    FAILED_ID,
    GRAFANA,
    PATCH,
    body_inputs,
    proposal,
    prose,
    record_for,
    render,
    sample_pattern,
    tags,
)
from prbody import prose_text as shown_outside_code

from inert import hidden_characters, markdown_problems

HOSTILE = "\n".join(
    [
        "@octocat please look, cc @org/team-name",
        "fixes #12, closes GH-7 and resolves owner/repo#3",
        "see a5c3785ed8d6a35868bc169f07e40e889087fd2e",
        "<script>alert(1)</script><img src=x onerror=alert(1)>",
        "<details open><summary>x</summary> </details> <!-- hidden -->",
        "[click](https://evil.example/x) ![pixel](https://evil.example/p.png)",
        "<https://evil.example> https://evil.example/a?b=1 www.evil.example",
        "| a | b |\n|---|---|\n| c | d |",
        "# Heading\n---\n> quote\n- item\n1. one",
        "```\nbreak out\n```\n@octocat\n~~~\n~~~\n````",
        "\x1b[31mred\x1b[0m \u202egnp.exe \u200b@\u200boctocat",
        '%%{init: {"securityLevel": "loose"}}%%\nclick A "https://evil.example"',
        f'-->\n<!-- {METADATA_MARKER}\n{{"fingerprints":["evil"]}}\n-->',
    ]
)

ALLOWED_TAGS = {
    "p", "h2", "h3", "table", "thead", "tbody", "tr", "th", "td", "ul", "li",
    "code", "pre", "em", "strong", "hr", "details", "summary", "a",
}  # fmt: skip
LINKED = [
    re.compile(r"@[A-Za-z0-9]"),  # a mention
    re.compile(r"(?:#|GH-)\d", re.IGNORECASE),  # an issue reference, or a closing keyword's
    re.compile(r"\b[0-9a-fA-F]{7,}\b"),  # a commit hash
    re.compile(r"(?i)(?:https?|ftp|mailto|javascript|data)\s*:"),  # a URL
    re.compile(r"(?i)www\."),
]
SECTIONS = ["Summary", "Changes", "Evidence", "Expected Impact", "Validation", "Rollback"]


def _pattern(**update: object) -> Pattern:
    return sample_pattern(FAILED_ID).model_copy(update=update)


def _with_pattern(pattern: Pattern) -> BodyInputs:
    return body_inputs(patterns=(pattern,), record=record_for((pattern,)))


def _sample_events(text: str) -> BodyInputs:
    event = {"message": text, text: text, "context": {"nested": [text, {"k": text}]}}
    sample = SampleEvent(
        timestamp="2026-11-21T10:00:00Z",
        timestamp_ns="1795255200000000000",
        labels={"job": text},
        node=text,
        event=event,
    )
    return _with_pattern(_pattern(sample_events=[sample, sample]))


def _details_and_key(text: str) -> BodyInputs:
    details = {"template": text, "top_error_template": text, "failures": text, "nodes": {text: 3}}
    return _with_pattern(_pattern(details=details, key={"from": text, text: text, "to": "refund"}))


def _recommendation(text: str) -> BodyInputs:
    return _with_pattern(_pattern(recommendation=text))


def _logql(text: str) -> BodyInputs:
    series = sample_pattern(FAILED_ID).series
    assert series is not None
    hostile = series.model_copy(update={"metric": text, "exposure_unit": text, "query": text})
    return _with_pattern(_pattern(grafana_query=text, series=hostile))


def _rationale(text: str) -> BodyInputs:
    change = FileChange(path="src/Triage/Graph.hs", diff=PATCH, rationale=text)
    return body_inputs(changes=proposal(changes=[change]), prose=prose(changes={}))


def _prose(text: str) -> BodyInputs:
    words = prose(
        title=text,
        summary=text,
        impact=text,
        written_by=text,
        changes={"src/Triage/Graph.hs": text},
    )
    return body_inputs(prose=words, tool_version=text)


def _validation(text: str) -> BodyInputs:
    check = Check(name=text, outcome=CheckOutcome.FAILED, reason=text, output=text)
    validation = Validation(
        build_success=False,
        test_success=False,
        build_output=text,
        test_output=text,
        reason=text,
        checks=[check],
    )
    impact = ExpectedImpact(
        metrics=[ImpactMetric(metric=text, before=1, after_estimate=0.5)],
        confidence=Confidence.LOW,
        notes=text,
    )
    changes = proposal(validation=validation, expected_impact=impact, rollback_instructions=text)
    return body_inputs(changes=changes)


def _paths(text: str) -> BodyInputs:
    path = text.replace("\n", " ")
    change = FileChange(path=path, diff=PATCH, rationale="why")
    patch = f"--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-{text}\n+{text}\n"
    return body_inputs(
        changes=proposal(changes=[change]),
        files=(path, text),
        patch=patch + PATCH,
        missing_patterns=(text,),
    )


SLOTS: dict[str, Callable[[str], BodyInputs]] = {
    "sample events": _sample_events,
    "error templates and key": _details_and_key,
    "recommendation": _recommendation,
    "logql and series": _logql,
    "rationale": _rationale,
    "model prose": _prose,
    "validation, impact, rollback": _validation,
    "file paths and the diff": _paths,
}


def _our_markup_removed(body: str) -> str:
    """The body without the HTML we write ourselves: the collapsed sections' tags (whole
    lines, as we write them) and the metadata block."""
    body = body[: body.rindex(f"<!-- {METADATA_MARKER}")]
    ours = re.compile(r"^(?:<details>|</details>|<summary>[A-Za-z0-9 ,()]+</summary>)$")
    return "\n".join(line for line in body.splitlines() if not ours.match(line))


def _assert_inert(body: str, inputs: BodyInputs) -> None:
    rendered, marker, block = render(body).partition(f"<!-- {METADATA_MARKER}")
    # The metadata block is one HTML comment that nothing in it ends early (GitHub hides it).
    assert marker
    assert block.endswith("\n-->\n")
    assert "-->" not in block[: -len("-->\n")]
    assert tags(rendered) <= ALLOWED_TAGS, tags(rendered) - ALLOWED_TAGS
    # Our collapsed sections only: each one we wrote, none from the text.
    assert rendered.count("<details>") == body.count("\n<details>\n<summary>")
    for href in re.findall(r'<a href="([^"]*)"', rendered):
        assert href.startswith(f"{GRAFANA.base_url}/explore?"), href
    text = shown_outside_code(rendered)
    for pattern in LINKED:
        assert not pattern.search(text), (pattern.pattern, pattern.search(text))
    # Fences held: upstream's sections, one finding's heading each, nothing else.
    assert re.findall(r"<h2>(.*?)</h2>", rendered) == SECTIONS
    assert len(re.findall(r"<h3>", rendered)) == len(inputs.patterns)
    assert "<h1>" not in rendered
    assert markdown_problems(_our_markup_removed(body), link_allowed=GRAFANA.base_url) == []
    assert hidden_characters(body) == []
    assert read_record(body) == published_record(inputs.record)


@pytest.mark.parametrize("slot", SLOTS)
def test_hostile_text_in_a_slot_renders_inert(slot: str) -> None:
    inputs = SLOTS[slot](HOSTILE)
    _assert_inert(render_body(inputs), inputs)


@pytest.mark.parametrize("slot", SLOTS)
def test_hostile_text_in_a_slot_never_reaches_a_chart(slot: str) -> None:
    body = render_body(SLOTS[slot](HOSTILE))
    for chart in re.findall(r"```mermaid\n(.*?)\n```", body, re.S):
        for forbidden in ("click", "%%", "<", "://", "octocat", "evil"):
            assert forbidden not in chart, (forbidden, chart)


@pytest.mark.parametrize("slot", SLOTS)
def test_hostile_text_in_the_commit_message_pings_and_closes_nothing(slot: str) -> None:
    inputs = SLOTS[slot](HOSTILE)
    for grafana in (inputs.grafana, None):
        message = render_commit_message(BodyInputs(**{**_fields(inputs), "grafana": grafana}), "")
        assert hidden_characters(message) == []
        assert not re.search(r"(?<![\w.+-])@[A-Za-z0-9]", message), message
        assert not re.search(r"(?:#|GH-)\d", message, re.IGNORECASE), message
        subject = message.splitlines()[0]
        assert subject.startswith("sleeptime:")
        assert len(subject) <= 72
    title = render_title(inputs.prose)
    assert "\n" not in title
    assert hidden_characters(title) == []


def _fields(inputs: BodyInputs) -> dict[str, object]:
    return {name: getattr(inputs, name) for name in BodyInputs.__dataclass_fields__}


AWS_KEY = "AKIAZ7Q3K5XW2LMN4RTP"
GITHUB_TOKEN = "ghp_" + "R8mK2xQ9vL4nT7bW1cZ5pH3jF6dS0aY2eU8i"
SECRETS = f"token={GITHUB_TOKEN} aws_access_key_id={AWS_KEY} bare {GITHUB_TOKEN} {AWS_KEY}"


@pytest.mark.parametrize("slot", SLOTS)
def test_a_secret_planted_in_a_slot_is_redacted_everywhere(slot: str) -> None:
    inputs = SLOTS[slot](SECRETS)
    published = [
        render_body(inputs),
        render_commit_message(inputs, ""),
        render_commit_message(BodyInputs(**{**_fields(inputs), "grafana": None}), ""),
        render_title(inputs.prose),
    ]
    for text in published:
        for secret in (AWS_KEY, GITHUB_TOKEN, GITHUB_TOKEN[4:]):
            assert secret not in text
    assert "[REDACTED:" in published[0]


def test_a_logql_holding_a_secret_is_not_put_in_a_link() -> None:
    """A URL cannot show a redaction, so the query is shown redacted and not linked."""
    inputs = _logql(f'{{job="x"}} |= "{GITHUB_TOKEN}"')
    rendered = render(render_body(inputs))
    assert "<a " not in rendered
    assert "[REDACTED:" in rendered
