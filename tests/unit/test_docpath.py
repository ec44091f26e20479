"""A value's place in a document, shown on one line whatever the keys hold."""

from __future__ import annotations

import pytest

from micro_gastown.docpath import KEY_SHOWN, key_text, where_text


def test_plain_keys_and_indices_read_as_a_path() -> None:
    """TOML bare keys and JSON Schema keywords stay as they are; indices are bracketed."""
    assert where_text(["steps", 2, "needs"]) == "steps[2].needs"
    assert where_text(["$defs", "Pattern", "$ref"]) == "$defs.Pattern.$ref"
    assert where_text([0, "a"]) == "[0].a"
    assert where_text([]) == ""


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("a.b", '"a.b"'),  # one key, not a table and a key
        ("a b", '"a b"'),
        ("", '""'),
        ("\x1b[2J", '"\\u001b[2J"'),  # an ANSI escape is escaped, not obeyed
        ("\u202eevil", '"\\u202eevil"'),  # a right-to-left override
        ("line\nbreak", '"line\\nbreak"'),
        ('say "hi"', '"say \\"hi\\""'),
    ],
)
def test_a_key_that_is_not_a_plain_name_is_quoted_and_escaped(key: str, shown: str) -> None:
    """Such a key is a JSON string: printable ASCII, one line, its ends unmistakable."""
    assert key_text(key) == shown
    assert where_text(["model", key]) == f"model.{shown}"


def test_a_long_key_is_cut() -> None:
    """A megabyte of key shows as its first KEY_SHOWN characters and an ellipsis."""
    shown = key_text("k" * 1_000_000)
    assert shown == '"' + "k" * KEY_SHOWN + '..."'
    assert key_text("k" * 100) == "k" * 100  # plain up to 100 characters
    assert key_text("k" * 101) == '"' + "k" * KEY_SHOWN + '..."'
