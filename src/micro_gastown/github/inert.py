"""Untrusted text as inert GitHub Markdown: shown as the text it is, never acted on.

Log lines, error messages and model prose end up in PR bodies and comments. Rendered by
GitHub they could become HTML, links, images, a ``@mention`` that pings a person, an
``#123`` reference or a closing keyword that closes an issue, a commit link, or a fence
that ends early and lets the rest of the text be Markdown again. Two shapes are safe:

* :func:`code_block` and :func:`code_span`: GitHub processes nothing inside code, so the
  text only has to be unable to end the code early: the fence (or span delimiter) is a run
  of backticks longer than any run inside the text;
* :func:`inline`: text that must read as prose (a table cell, a list item). Every ASCII
  punctuation character is backslash-escaped (CommonMark 6.1: any of them may be), so no
  emphasis, link, image, HTML, table cell break or heading can start; line breaks become
  spaces; and what GitHub links after rendering — mentions (``@name``), references
  (``#12``, ``GH-12``, ``owner/repo#12``), bare URLs (``https://``, ``www.``) and commit
  hashes — is broken by a zero-width space (``&#8203;``), which shows as nothing.

Control, bidi and other invisible characters are removed first
(:func:`~micro_gastown.evidence.sanitize.neutralize_text`). :func:`fit_blocks` keeps a body
under GitHub's 65,536-character limit by dropping whole blocks from the end, never cutting
inside a fence, and says so. Redaction is not done here: callers redact before rendering.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from micro_gastown.evidence.sanitize import neutralize_text

__all__ = ["GITHUB_BODY_LIMIT", "code_block", "code_span", "fit_blocks", "inline"]

GITHUB_BODY_LIMIT: Final = 65_536
"""The most characters GitHub takes in an issue, PR or comment body."""

ZERO_WIDTH: Final = "&#8203;"
"""A zero-width space as an entity: it survives neutralizing (it is written by us, after)
and ends the word GitHub would have linked."""

_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")
# What GitHub links in rendered text. Each is matched on the raw text, before escaping,
# and broken by inserting a zero-width space at the position shown by the group split.
_MENTION = re.compile(r"(@)(?=[A-Za-z0-9])")
_REFERENCE = re.compile(r"(#|GH-|gh-)(?=[0-9])")
_URL_SCHEME = re.compile(r"(?i)(https?|ftp|mailto|file|javascript|data|www)(?=[:.])")
_HEX_RUN = re.compile(r"\b[0-9a-fA-F]{7,}\b")
"""A commit hash GitHub may link: broken every four characters, so no piece is long enough."""
_BREAK = "\x00"  # placeholder for a zero-width space while escaping (never in input)
_BACKTICKS = re.compile(r"`+")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def _clean(text: str) -> str:
    return neutralize_text(text).replace(_BREAK, "")


def inline(text: str, limit: int | None = None) -> str:
    """``text`` as one line of inert Markdown prose, cut to ``limit`` characters of the
    original text (with ``…``) when given."""
    text = _LINE_BREAKS.sub(" ", _clean(text)).strip()
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    for pattern in (_MENTION, _REFERENCE, _URL_SCHEME):
        text = pattern.sub(lambda m: m.group(1) + _BREAK, text)
    text = _HEX_RUN.sub(lambda m: _BREAK.join(re.findall(".{1,4}", m.group())), text)
    escaped = _PUNCTUATION.sub(r"\\\1", text)
    return escaped.replace(_BREAK, ZERO_WIDTH)


def _fence_for(text: str, minimum: int) -> str:
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    return "`" * max(minimum, longest + 1)


def code_span(text: str, limit: int | None = None) -> str:
    """``text`` as inline code on one line: its delimiter is longer than any backtick run
    inside, and a space pads text that starts or ends with a backtick (CommonMark 6.1)."""
    text = _LINE_BREAKS.sub(" ", _clean(text))
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    fence = _fence_for(text, 1)
    pad = " " if text.startswith(("`", " ")) or text.endswith(("`", " ")) or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def code_block(text: str, info: str = "text") -> str:
    """``text`` as a fenced code block that nothing inside can close: its fence is longer
    than any backtick run in the text. ``info`` is the language tag (letters, digits and
    ``-`` only; anything else is dropped)."""
    body = _clean(text).replace("\r\n", "\n")
    fence = _fence_for(body, 3)
    tag = re.sub(r"[^A-Za-z0-9-]", "", info)
    return f"{fence}{tag}\n{body.rstrip(chr(10))}\n{fence}\n"


def fit_blocks(
    blocks: Sequence[str],
    limit: int = GITHUB_BODY_LIMIT,
    note: str = "*The rest of this body was cut to fit GitHub's size limit.*",
) -> str:
    """``blocks`` joined by blank lines; when that is over ``limit`` characters, whole
    blocks are dropped from the end (never cut inside one, so no fence is left open) and
    ``note`` ends the body instead."""
    joined = "\n\n".join(blocks)
    if len(joined) <= limit:
        return joined
    kept: list[str] = []
    size = len(note)
    for block in blocks:
        if size + len(block) + 2 > limit:
            break
        kept.append(block)
        size += len(block) + 2
    return "\n\n".join([*kept, note])
