"""Checks that log-derived text comes out inert: Markdown that renders no markup, pings
nobody and hides nothing, and terminal text that carries no control sequences.

Why: a report is pasted into PR descriptions and read by people and models; a ``logs``
view is printed to a terminal. Log text is attacker-reachable, so it must never become an
HTML tag, a link, an ``@mention``, a bidi override or an ANSI escape on the way out.
"""

from __future__ import annotations

import re
import unicodedata

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_OWN_ANCHOR = re.compile(r'^<a id="[A-Za-z0-9_-]+"></a>$')
_TAG = re.compile(r"<[A-Za-z!/?]")
_MENTION = re.compile(r"(?<![\w\\`&])@[A-Za-z0-9]")
_ESCAPED = re.compile(r"\\\S")
_LINK = re.compile(r"!?\[[^\]]*\]\((?!#)[^)]*\)")


def hidden_characters(text: str) -> list[str]:
    """Control (but newline and tab) and format characters: ANSI escapes, bidi controls,
    zero-width characters, a BOM."""
    return sorted(
        {
            f"U+{ord(ch):04X}"
            for ch in text
            if ch not in "\n\t" and unicodedata.category(ch) in ("Cc", "Cf", "Cs")
        }
    )


def outside_code_spans(line: str) -> str:
    """The text of ``line`` that is not inside a CommonMark code span (a backslash-escaped
    backtick is text, not a delimiter)."""
    outside, i = [], 0
    while i < len(line):
        if line[i] == "\\":  # a backslash escape: never opens a code span
            outside.append(line[i : i + 2])
            i += 2
            continue
        if line[i] != "`":
            outside.append(line[i])
            i += 1
            continue
        run = len(line[i:]) - len(line[i:].lstrip("`"))
        closing = re.search(rf"(?<!`)`{{{run}}}(?!`)", line[i + run :])
        if closing is None:  # an unmatched run is literal text
            outside.append(line[i : i + run])
            i += run
            continue
        i += run + closing.end()
    return "".join(outside)


def rendered_text(markdown: str) -> list[str]:
    """The lines of ``markdown`` that render as Markdown: outside fenced blocks, with code
    spans removed (what is inside either is shown as literal text)."""
    rendered, fence = [], ""
    for line in markdown.splitlines():
        opening = _FENCE.match(line)
        if fence:
            if _closes(fence, opening, line):
                fence = ""
            continue
        if opening:
            fence = opening.group(1)
            continue
        rendered.append(outside_code_spans(line))
    return rendered


def _closes(fence: str, opening: re.Match[str] | None, line: str) -> bool:
    """Whether ``line`` closes a block opened by ``fence``: the same character, at least
    as many, and nothing else on the line."""
    if opening is None:
        return False
    run = opening.group(1)
    return run[0] == fence[0] and len(run) >= len(fence) and not line.strip().strip(fence[0])


def markdown_problems(markdown: str, *, link_allowed: str = "") -> list[str]:
    """Every way ``markdown`` lets log text act: hidden characters anywhere; raw HTML tags,
    ``@mentions`` and links in what renders. An empty list means inert."""
    problems = [f"hidden character {code}" for code in hidden_characters(markdown)]
    for line in rendered_text(markdown):
        if _OWN_ANCHOR.match(line):
            continue  # the report's own section anchors
        line = _ESCAPED.sub("", line)  # a backslash-escaped character is literal text
        if _TAG.search(line):
            problems.append(f"raw HTML: {line[:200]!r}")
        if _MENTION.search(line):
            problems.append(f"@mention: {line[:200]!r}")
        for link in _LINK.findall(line):
            if not (link_allowed and link_allowed in link):
                problems.append(f"link: {link[:200]!r}")
    return problems


def terminal_problems(text: str) -> list[str]:
    """Characters that act on a terminal instead of being shown: ESC and other controls,
    bidi and zero-width format characters."""
    return [f"hidden character {code}" for code in hidden_characters(text)]
