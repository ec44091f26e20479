"""strip_comments: Haskell comments vanish, everything else keeps its exact offset."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from micro_gastown.dsl import strip_comments


def test_line_comment_is_blanked_and_code_before_it_kept() -> None:
    assert strip_comments("x :: Int -- the answer\ny = 1") == "x :: Int" + " " * 14 + "\ny = 1"


def test_haddock_comments_are_comments() -> None:
    assert strip_comments("-- | doc\n-- ^ more\nz").strip() == "z"


def test_nested_block_comment_is_blanked_whole_keeping_newlines() -> None:
    source = "a {- outer {- inner -} still outer\n -} b"
    stripped = strip_comments(source)
    assert stripped.split() == ["a", "b"]
    assert stripped.count("\n") == 1
    assert len(stripped) == len(source)


def test_unterminated_block_comment_runs_to_end_of_file() -> None:
    assert strip_comments("a {- never closed\nb c").split() == ["a"]


@pytest.mark.parametrize(
    "source",
    [
        'msg = "-- not a comment"',
        'msg = "{- not a comment -}"',
        'msg = "escaped \\" quote -- still a string"',
        "arrow = a --> b",
        "pipe = a |-- b",
        "x = 1 --> 2",
    ],
)
def test_dashes_in_strings_and_operators_are_not_comments(source: str) -> None:
    assert strip_comments(source) == source


def test_char_literal_quote_does_not_open_a_string() -> None:
    source = "q = '\"' -- a double quote char\nr = 2"
    assert strip_comments(source).split() == ["q", "=", "'\"'", "r", "=", "2"]


def test_primed_identifiers_and_promotion_ticks_are_not_char_literals() -> None:
    source = "go' = x' -- primed\ntype L = '[A, B] -- promoted\nf = $(g ''Ctx \"t.jinja\") -- th"
    assert strip_comments(source).split() == [
        "go'",
        "=",
        "x'",
        "type",
        "L",
        "=",
        "'[A,",
        "B]",
        "f",
        "=",
        "$(g",
        "''Ctx",
        '"t.jinja")',
    ]


@given(st.text(alphabet="ab -{}\"'\n\\|>", max_size=80))
def test_offsets_and_newlines_never_move(source: str) -> None:
    stripped = strip_comments(source)
    assert len(stripped) == len(source)
    assert [i for i, c in enumerate(stripped) if c == "\n"] == [
        i for i, c in enumerate(source) if c == "\n"
    ]
