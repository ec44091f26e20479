"""Strip invisible text from untrusted strings before they reach a PR body or a prompt.

Agent logs are attacker-reachable: a tool result or a user message can carry text a human
reviewer cannot see but a model (or a later copy-paste) will read, e.g. instructions hidden in
Unicode tag characters, zero-width spaces splitting a token so a secret scanner misses it, or
bidi overrides that make a diff read differently than it runs ("Trojan Source",
CVE-2021-42574). claude-code-action strips hidden text from untrusted input for the same
reason; we do it once, here, and the redactor calls it before scanning.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["neutralize_text"]

# Cc controls, Cf format characters, and Cs lone surrogates (left by lossy decoding; they
# cannot be encoded to UTF-8, so a PR body containing one would fail to post).
_DROPPED_CATEGORIES = frozenset(("Cc", "Cf", "Cs"))

# Kept although they are control characters: they shape multi-line evidence and are visible.
_KEPT_CONTROLS = frozenset("\n\t")

# Invisible characters outside the Cc/Cf categories that are known smuggling vectors:
# U+034F COMBINING GRAPHEME JOINER (Mn), the Hangul fillers (Lo, render as blanks) and the
# variation selectors (Mn), whose 256 values can encode arbitrary bytes after any visible
# character ("emoji smuggling"). Dropping VS16 only turns a colour emoji into its text form.
_INVISIBLE_EXTRA = re.compile(
    "[\u034f\u115f\u1160\u3164\uffa0\ufe00-\ufe0f\U000e0100-\U000e01ef]",
)

# Fast path: printable ASCII plus newline and tab has nothing to strip.
_PLAIN_ASCII = re.compile(r"[\x20-\x7e\n\t]*")


def neutralize_text(text: str) -> str:
    """Return ``text`` without zero-width, bidi, tag and other control/format characters.

    Removes every character of Unicode category Cc (controls, except ``\\n`` and ``\\t``;
    ``\\r`` goes too, so CRLF becomes LF) and Cf (format: zero-width space/joiners, bidi
    embeddings, overrides and isolates, soft hyphen, BOM, tag characters U+E0000-E007F), lone
    surrogates, and the invisible characters listed in ``_INVISIBLE_EXTRA``. Visible text is
    never changed, and the function is idempotent.
    """
    if _PLAIN_ASCII.fullmatch(text):
        return text
    return _INVISIBLE_EXTRA.sub("", "".join(ch for ch in text if _is_kept(ch)))


def neutralize_line(text: str) -> str:
    """``text`` safe to print as (part of) one line of a terminal or a table: what
    :func:`neutralize_text` removes goes, and line breaks and tabs become spaces, so a log
    message or a file name cannot fake a line of its own."""
    return neutralize_text(text).replace("\n", " ").replace("\t", " ")


def _is_kept(ch: str) -> bool:
    if ch in _KEPT_CONTROLS:
        return True
    return unicodedata.category(ch) not in _DROPPED_CATEGORIES
