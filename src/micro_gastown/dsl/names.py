"""Which characters make a Haskell name, and which ones a reader of the source cannot see.

Haskell 2010 (report §2.2) builds identifiers from Unicode letters, not just ASCII:
``small`` is ``_`` or a lowercase letter, ``large`` an uppercase or titlecase letter and
``digit`` a decimal digit, with ``'`` allowed after the first character. GHC also takes
other letters (CJK, ...) and combining marks, so ``ánswerFaq`` is one name however its
accent is encoded. Characters nobody can see (controls, bidi overrides, zero-width spaces:
what :func:`~micro_gastown.evidence.sanitize.neutralize_text` removes) are never part of a
name: a name holding one reads differently than it compiles ("Trojan Source").
"""

from __future__ import annotations

import unicodedata

from micro_gastown.evidence.sanitize import neutralize_text

REPLACEMENT_CHARACTER = "\ufffd"
"""What undecodable bytes became when the file was read."""


def is_name_start(ch: str) -> bool:
    """``small`` or ``large``: a letter of any script, or ``_``."""
    return ch == "_" or ch.isalpha()


def is_name_char(ch: str) -> bool:
    """A character that may follow the first one: letters, decimal digits, ``_``, ``'``,
    and combining marks (GHC), so a decomposed accent stays inside its name."""
    if ch.isascii():
        return ch.isalnum() or ch in "_'"
    return ch.isalpha() or ch.isdecimal() or unicodedata.category(ch) == "Mn"


def is_upper_start(ch: str) -> bool:
    """``large``: an uppercase or titlecase letter starts a constructor or type name."""
    return ch.isupper() or (ch.isalpha() and unicodedata.category(ch) == "Lt")


def is_hidden(ch: str) -> bool:
    """A character that does not show as itself: a control (whitespace aside), a format
    character (bidi, zero-width) or another invisible one the sanitizer removes."""
    return not ch.isspace() and neutralize_text(ch) != ch


def is_identifier(text: str) -> bool:
    """``text`` is one Haskell name (as a ``Goto "target"`` string must be)."""
    return (
        bool(text)
        and is_name_start(text[0])
        and all(is_name_char(ch) and not is_hidden(ch) for ch in text[1:])
    )


def describe_char(ch: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``: a character named without printing it."""
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'control character')}"


def first_hidden(text: str) -> str | None:
    """The first character of ``text`` that does not show, if any."""
    return next((ch for ch in text if is_hidden(ch)), None)


def visible(text: str) -> str:
    """``text`` safe to quote in a message: hidden characters removed."""
    return neutralize_text(text)
