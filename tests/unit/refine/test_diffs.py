"""The diff code writes: git's headers and quoting, difflib's hunks, and the
``\\ No newline at end of file`` markers difflib leaves out. (``git apply`` itself is run
on generated cases in tests/integration/refine/test_diffs_git_apply.py.)"""

from __future__ import annotations

import difflib

from hypothesis import given, settings
from hypothesis import strategies as st

from micro_gastown.refine.diffs import combined, file_diff, git_quoted


def test_a_one_line_change() -> None:
    result = file_diff("templates/faq.jinja", "a\nb\nc\n", "a\nB\nc\n")
    assert result.diff == (
        "diff --git a/templates/faq.jinja b/templates/faq.jinja\n"
        "--- a/templates/faq.jinja\n"
        "+++ b/templates/faq.jinja\n"
        "@@ -1,3 +1,3 @@\n"
        " a\n"
        "-b\n"
        "+B\n"
        " c\n"
    )
    assert (result.path, result.lines_added, result.lines_removed) == ("templates/faq.jinja", 1, 1)


def test_equal_texts_give_an_empty_diff() -> None:
    result = file_diff("x", "same\n", "same\n")
    assert (result.diff, result.lines_added, result.lines_removed) == ("", 0, 0)


def test_three_lines_of_context_and_separate_hunks() -> None:
    old = "".join(f"{n}\n" for n in range(1, 21))
    new = old.replace("2\n", "two\n", 1).replace("18\n", "eighteen\n")
    hunks = [line for line in file_diff("f", old, new).diff.splitlines() if line.startswith("@@")]
    assert hunks == ["@@ -1,5 +1,5 @@", "@@ -15,6 +15,6 @@"]


def test_removing_the_final_newline() -> None:
    result = file_diff("f", "a\nb\n", "a\nb")
    assert result.diff.endswith("@@ -1,2 +1,2 @@\n a\n-b\n+b\n\\ No newline at end of file\n")
    assert (result.lines_added, result.lines_removed) == (1, 1)


def test_adding_the_final_newline() -> None:
    result = file_diff("f", "a\nb", "a\nb\n")
    assert result.diff.endswith("@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n")


def test_a_context_line_without_final_newline() -> None:
    result = file_diff("f", "a\nb\nc", "A\nb\nc")
    assert result.diff.endswith("@@ -1,3 +1,3 @@\n-a\n+A\n b\n c\n\\ No newline at end of file\n")


def test_both_last_lines_without_newline_changed() -> None:
    result = file_diff("f", "a", "b")
    assert result.diff.endswith(
        "@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+b\n\\ No newline at end of file\n"
    )


def test_emptying_and_filling_a_file() -> None:
    assert "@@ -1,2 +0,0 @@\n-a\n-b\n" in file_diff("f", "a\nb\n", "").diff
    assert "@@ -0,0 +1,2 @@\n+a\n+b\n" in file_diff("f", "", "a\nb\n").diff


def test_only_newline_ends_a_line() -> None:
    """A carriage return, form feed or U+2028 stays inside its line, as git reads it."""
    result = file_diff("f", "a\r\nb\x0cc\u2028d\n", "a\r\nB\x0cc\u2028d\n")
    assert result.diff.endswith(" a\r\n-b\x0cc\u2028d\n+B\x0cc\u2028d\n")
    assert (result.lines_added, result.lines_removed) == (1, 1)


def test_a_name_with_a_space_ends_with_a_tab_as_in_git() -> None:
    header = file_diff("my file.jinja", "a\n", "b\n").diff.splitlines()[:3]
    assert header == [
        "diff --git a/my file.jinja b/my file.jinja",
        "--- a/my file.jinja\t",
        "+++ b/my file.jinja\t",
    ]


def test_unusual_names_are_quoted_as_in_git() -> None:
    assert git_quoted('a/q"u.txt') == '"a/q\\"u.txt"'
    assert git_quoted("a/é.txt") == '"a/\\303\\251.txt"'
    assert git_quoted("a/tab\there") == '"a/tab\\there"'
    assert git_quoted("a/back\\slash") == '"a/back\\\\slash"'
    assert git_quoted("a/plain-name_1.hs") == "a/plain-name_1.hs"
    header = file_diff("é x.txt", "a\n", "b\n").diff.splitlines()[:3]
    assert header == [
        'diff --git "a/\\303\\251 x.txt" "b/\\303\\251 x.txt"',
        '--- "a/\\303\\251 x.txt"',
        '+++ "b/\\303\\251 x.txt"',
    ]


def test_combined_joins_the_files_in_order() -> None:
    first, second = file_diff("a", "1\n", "2\n"), file_diff("b", "3\n", "4\n")
    assert combined([first, second]) == first.diff + second.diff
    assert combined([]) == ""


_LINES = st.lists(st.sampled_from(["a", "b", "c", "{{ x }}", "", "  indented"]), max_size=30)


@settings(max_examples=200, deadline=None)
@given(old=_LINES, new=_LINES)
def test_hunks_equal_difflibs_for_ordinary_text(old: list[str], new: list[str]) -> None:
    """Where difflib is right (every line ends with a newline), we write what it writes."""
    old_text, new_text = "".join(f"{line}\n" for line in old), "".join(f"{line}\n" for line in new)
    ours = file_diff("f", old_text, new_text)
    theirs = list(
        difflib.unified_diff(
            old_text.splitlines(keepends=True),
            new_text.splitlines(keepends=True),
            "a/f",
            "b/f",
            n=3,
        )
    )
    if old_text == new_text:
        assert ours.diff == ""
        assert theirs == []
        return
    assert ours.diff == "diff --git a/f b/f\n" + "".join(theirs)
    assert ours.lines_added == sum(1 for line in theirs[2:] if line.startswith("+"))
    assert ours.lines_removed == sum(1 for line in theirs[2:] if line.startswith("-"))
