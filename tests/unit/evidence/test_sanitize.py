"""Stripping hidden text that could smuggle instructions into a PR body (evidence.sanitize)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from micro_gastown.evidence import neutralize_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain ascii\nwith\ttabs", "plain ascii\nwith\ttabs"),
        ("zero\u200bwidth\u200c\u200d\u2060joiners\ufeff", "zerowidthjoiners"),
        ("bidi \u202eevil\u202c \u2066isolate\u2069", "bidi evil isolate"),
        ("tags\U000e0049\U000e0067\U000e006e\U000e006f\U000e0072\U000e0065 hidden", "tags hidden"),
        ("soft\u00adhyphen", "softhyphen"),
        ("bell\x07 escape\x1b[31m null\x00", "bell escape[31m null"),
        ("crlf\r\nline", "crlf\nline"),
        ("variation\ufe0f selector\U000e0101s", "variation selectors"),
        ("hangul\u3164filler", "hangulfiller"),
        ("lone \udc80 surrogate", "lone  surrogate"),
        (
            "visible unicode: café, 日本語, emoji 🙂, math ∑",
            "visible unicode: café, 日本語, emoji 🙂, math ∑",
        ),
    ],
)
def test_hidden_characters_are_removed(text: str, expected: str) -> None:
    assert neutralize_text(text) == expected


@given(st.text())
def test_neutralize_is_idempotent(text: str) -> None:
    once = neutralize_text(text)
    assert neutralize_text(once) == once
