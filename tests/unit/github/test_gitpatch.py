"""The paths a patch touches, read as ``git apply`` reads it, before git sees it."""

from __future__ import annotations

import pytest

from micro_gastown.errors import GitError
from micro_gastown.github.gitpatch import patch_files, reject_unsafe_path
from micro_gastown.refine.diffs import file_diff

HASKELL_COMMENTS = """\
diff --git a/Graph.hs b/Graph.hs
--- a/Graph.hs
+++ b/Graph.hs
@@ -1,3 +1,3 @@
--- see /etc/agents and ../notes
+-- see docs/agents
 module Graph where

\\ No newline at end of file
diff --git "a/caf\\303\\251.txt" "b/caf\\303\\251.txt"
new file mode 100644
--- /dev/null
+++ "b/caf\\303\\251.txt"
@@ -0,0 +1 @@
+++ not a header
"""

ONE_HUNK = "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"


def test_hunk_lines_are_never_read_as_headers() -> None:
    assert patch_files(HASKELL_COMMENTS) == ("Graph.hs", "café.txt")


def test_a_removed_haskell_comment_is_not_a_file_header() -> None:
    diff = file_diff("dsl/Graph.hs", "-- a/b c\n-- /dev/null\nx\n", "x\n").diff
    assert "--- a/b c\n" in diff
    assert patch_files(diff) == ("dsl/Graph.hs",)


def test_quoted_names_are_unquoted() -> None:
    diff = file_diff("dsl/café t.hs", "a\n", "b\n").diff
    assert '"a/dsl/caf\\303\\251 t.hs"' in diff
    assert patch_files(diff) == ("dsl/café t.hs",)
    spaced = file_diff("dsl/my file.hs", "a\n", "b\n").diff
    assert patch_files(spaced) == ("dsl/my file.hs",)


def test_renames_name_both_paths() -> None:
    patch = "diff --git a/x b/y\nsimilarity index 100%\nrename from x\nrename to ../y\n"
    assert patch_files(patch) == ("x", "y", "../y")


def test_renames_of_names_with_spaces_name_both_sides() -> None:
    patch = (
        "diff --git a/old name.hs b/new name.hs\nsimilarity index 100%\n"
        "rename from old name.hs\nrename to new name.hs\n"
    )
    assert patch_files(patch) == ("old name.hs", "new name.hs")


def test_a_section_without_a_git_header_is_read() -> None:
    assert patch_files(file_diff("dsl/A.hs", "a\n", "b\n").diff + ONE_HUNK) == ("dsl/A.hs", "x")


def test_text_that_is_no_diff_names_no_file() -> None:
    assert patch_files("just some prose\n") == ()
    assert patch_files("") == ()


@pytest.mark.parametrize(
    ("patch", "words"),
    [
        (ONE_HUNK.replace("-1,2 +1,2", "-1,3 +1,3"), "ends before"),
        (ONE_HUNK + " d\n", "more lines"),
        (ONE_HUNK.replace("-1,2 +1,2", "-1 +1"), "more lines"),
        ("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\nnot a hunk line\n", "ends before"),
        ("diff --git a/x b/x\nGIT binary patch\nliteral 0\n", "binary"),
        ("diff --git a/x b/x\nBinary files a/x and b/x differ\n", "binary"),
        ("@@ -1 +1 @@\n-a\n+b\n", "without a file header"),
        ("--- x\n+++ y\n@@ -1 +1 @@\n-a\n+b\n", "prefix"),
        ("--- /etc/passwd\n+++ /etc/passwd\n@@ -0,0 +1 @@\n+x\n", "prefix"),
        ('--- "a/\\377"\n+++ "b/\\377"\n@@ -0,0 +1 @@\n+x\n', "not UTF-8"),
    ],
    ids=[
        "short-hunk",
        "trailing-hunk-line",
        "long-hunk",
        "foreign-line-in-hunk",
        "git-binary",
        "binary-files",
        "headless-hunk",
        "no-prefix",
        "absolute-no-prefix",
        "not-utf8",
    ],
)
def test_what_git_would_read_otherwise_is_refused(patch: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        patch_files(patch)


@pytest.mark.parametrize(
    "path",
    ["../x", "a/../../x", "/etc/passwd", "C:/x", ".git/config", "a/.Git/hooks/x", "a\\..\\b"],
)
def test_unsafe_paths(path: str) -> None:
    with pytest.raises(GitError, match="may not"):
        reject_unsafe_path(path)


@pytest.mark.parametrize(
    "path", ["dsl/Graph.hs", ".github/workflows/ci.yml", "a/.gitignore", "x..y"]
)
def test_safe_paths(path: str) -> None:
    reject_unsafe_path(path)
