"""Untrusted text rendered by GitHub's own Markdown engine (cmark-gfm, through cmarkgfm)
stays the text it is: no HTML, link, image, mention, reference, commit hash or closing
keyword; nothing ends a code block early; a body over GitHub's limit is cut whole-block.

Rendering uses cmark-gfm's UNSAFE option, so raw HTML would pass through if any came out:
a test here fails on the HTML GitHub would get, not on what a safe renderer would hide.
"""

from __future__ import annotations

import html
import re

import cmarkgfm  # type: ignore[import-untyped]
import pytest
from cmarkgfm.cmark import Options  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from micro_gastown.evidence.sanitize import neutralize_text
from micro_gastown.github.inert import (
    GITHUB_BODY_LIMIT,
    code_block,
    code_span,
    fit_blocks,
    inline,
)

HOSTILE = [
    "@octocat please look",
    "cc @org/team-name",
    "fixes #12, closes GH-7 and resolves owner/repo#3",
    "see a5c3785ed8d6a35868bc169f07e40e889087fd2e",
    "<script>alert(1)</script><img src=x onerror=alert(1)>",
    "<!-- hidden --> <details open>",
    "[click](https://evil.example/x) ![pixel](https://evil.example/p.png)",
    "<https://evil.example> https://evil.example/a?b=1 www.evil.example",
    "mail me: admin@evil.example",
    "xhttp://evil.example _https://evil.example (www.evil.example) WWW.EVIL.EXAMPLE",
    "1http://evil.example http:/evil.example HTTPS://EVIL.EXAMPLE",
    "[l](javascript:alert(1)) [r]: https://evil.example",
    "| a | b |\n|---|---|\n| c | d |",
    "\n# Heading\n---\n> quote\n- item\n1. one",
    "```\nbreak out\n```\n@octocat",
    "~~~\nbreak out\n~~~",
    "**bold** _em_ ~~strike~~ `code`",
    "&lt;script&gt; &amp;#64;octocat &#64;octocat",
    "\x1b[31mred\x1b[0m \u202egnp.exe \u200b@\u200boctocat",
    "\\@octocat \\#12 \\<b\\>",
    ":+1: - [ ] task - [x] done",
]

LINKED = [
    re.compile(r"@[A-Za-z0-9]"),  # a mention
    re.compile(r"(?:#|GH-)\d", re.IGNORECASE),  # an issue or PR reference
    re.compile(r"\b[0-9a-fA-F]{7,}\b"),  # a commit hash
    re.compile(r"(?i)(?:https?|ftp|mailto|javascript|data)\s*:"),  # a URL or scheme
    re.compile(r"(?i)www\."),
]


def render(markdown: str) -> str:
    rendered: str = cmarkgfm.github_flavored_markdown_to_html(
        markdown, options=Options.CMARK_OPT_UNSAFE
    )
    return rendered


def tags(rendered: str) -> set[str]:
    return set(re.findall(r"<\s*/?\s*([A-Za-z][A-Za-z0-9-]*)", rendered))


def visible_text(rendered: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", rendered))


def assert_inert_prose(rendered: str) -> None:
    assert tags(rendered) <= {"p"}, rendered
    text = visible_text(rendered)
    for pattern in LINKED:
        assert not pattern.search(text), (pattern.pattern, text)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_renders_as_plain_prose(text: str) -> None:
    assert_inert_prose(render(inline(text)))


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_reads_the_same_once_rendered(text: str) -> None:
    """Only zero-width spaces are added: the reader sees the text (on one line)."""
    shown = visible_text(render(inline(text))).replace("\u200b", "").strip()
    expected = re.sub(r"\s*[\r\n]+\s*", " ", neutralize_text(text)).strip()
    assert shown == expected


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_any_text_renders_as_plain_prose(text: str) -> None:
    assert_inert_prose(render(inline(text)))


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_any_text_in_a_code_block_is_one_block_holding_exactly_that_text(text: str) -> None:
    rendered = render(f"before\n\n{code_block(text)}\nafter @octocat")
    assert rendered.count("<pre") == 1, rendered
    code = re.search(r"<pre[^>]*><code>(.*?)</code></pre>", rendered, re.S)
    assert code is not None, rendered
    body = neutralize_text(text).replace("\r\n", "\n").rstrip("\n")
    assert html.unescape(code.group(1)) == body + "\n"
    assert rendered.endswith("<p>after @octocat</p>\n")  # the text after it is Markdown again


@pytest.mark.parametrize("text", [*HOSTILE, "`", "``x``", " ` ", ""])
def test_a_code_span_holds_the_text_whatever_backticks_it_has(text: str) -> None:
    rendered = render(f"x {code_span(text)} y")
    assert tags(rendered) <= {"p", "code"}, rendered
    assert rendered.count("<code>") == 1, rendered
    inner = re.search(r"<code>(.*?)</code>", rendered, re.S)
    assert inner is not None
    one_line = re.sub(r"\s*[\r\n]+\s*", " ", neutralize_text(text))
    assert html.unescape(inner.group(1)).strip() == one_line.strip()


def test_inline_cuts_long_text_before_escaping() -> None:
    assert visible_text(render(inline("x" * 50, limit=10))).strip() == "x" * 9 + "…"


def test_a_body_over_the_limit_drops_whole_blocks_and_says_so() -> None:
    fence = code_block("line\n" * 20_000)  # ~100 KB: alone over the limit
    blocks = ["## Summary", "short", fence, "## After"]
    body = fit_blocks(blocks)
    assert len(body) <= GITHUB_BODY_LIMIT
    assert body.startswith("## Summary\n\nshort\n\n")
    assert body.endswith("cut to fit GitHub's size limit.*")
    assert "line" not in body  # the block was dropped whole, never cut inside its fence
    assert fit_blocks(["a", "b"]) == "a\n\nb"
