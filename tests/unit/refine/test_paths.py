"""Paths the model writes become checkout paths only if they name an existing regular file,
reached without a symlink, spelled byte for byte as on disk."""

from __future__ import annotations

import os
import socket
import stat
import unicodedata
from pathlib import Path

import pytest

from micro_gastown.refine.model import Rejection, RuleCode
from micro_gastown.refine.paths import checkout_path, lexical_path, printable


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    (root / "templates" / "nested").mkdir(parents=True)
    (root / "src" / "Triage").mkdir(parents=True)
    (root / "templates" / "faq.jinja").write_text("Q: {{ question }}\n")
    (root / "templates" / "nested" / "deep.jinja").write_text("x\n")
    (root / "src" / "Triage" / "Types.hs").write_text("module Triage.Types where\n")
    (root / "README.md").write_text("readme\n")
    return root


def rule_of(result: str | Rejection) -> RuleCode:
    assert isinstance(result, Rejection), f"expected a rejection, got {result!r}"
    return result.rule


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("templates/faq.jinja", "templates/faq.jinja"),
        ("./templates/faq.jinja", "templates/faq.jinja"),
        ("././templates/faq.jinja", "templates/faq.jinja"),
        ("templates//faq.jinja", "templates/faq.jinja"),
        ("templates/./faq.jinja", "templates/faq.jinja"),
        ("templates/.//./nested/deep.jinja", "templates/nested/deep.jinja"),
        ("README.md", "README.md"),
        ("src/Triage/Types.hs", "src/Triage/Types.hs"),
    ],
)
def test_a_path_to_an_existing_file_is_normalised(checkout: Path, raw: str, expected: str) -> None:
    assert checkout_path(checkout, raw) == expected


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("", RuleCode.INVALID_PATH),
        (".", RuleCode.INVALID_PATH),
        ("./", RuleCode.INVALID_PATH),
        ("/etc/passwd", RuleCode.ABSOLUTE_PATH),
        ("//etc/passwd", RuleCode.ABSOLUTE_PATH),
        ("C:\\Windows\\win.ini", RuleCode.ABSOLUTE_PATH),
        ("C:/Windows/win.ini", RuleCode.ABSOLUTE_PATH),
        ("c:relative.txt", RuleCode.ABSOLUTE_PATH),
        ("\\\\server\\share\\x", RuleCode.ABSOLUTE_PATH),
        ("templates\\faq.jinja", RuleCode.INVALID_PATH),
        ("../outside.txt", RuleCode.PARENT_REFERENCE),
        ("templates/../templates/faq.jinja", RuleCode.PARENT_REFERENCE),
        ("templates/..", RuleCode.PARENT_REFERENCE),
        (".git/config", RuleCode.INVALID_PATH),
        (".GIT/config", RuleCode.INVALID_PATH),
        ("sub/.Git/hooks/pre-commit", RuleCode.INVALID_PATH),
        (".git./config", RuleCode.INVALID_PATH),
        ("GIT~1/config", RuleCode.INVALID_PATH),
        ("templates/faq.jinja\x00.png", RuleCode.INVALID_PATH),
        ("templates/faq\n.jinja", RuleCode.INVALID_PATH),
        ("templates/\u202efaq.jinja", RuleCode.INVALID_PATH),
        ("templates/fa\u200bq.jinja", RuleCode.INVALID_PATH),
        ("templates/faq.jinja\ufe0f", RuleCode.INVALID_PATH),
        ("templates/faq\ud800.jinja", RuleCode.INVALID_PATH),
        ("templates/faq\u2028.jinja", RuleCode.INVALID_PATH),
        ("templates/", RuleCode.NOT_A_FILE),
        ("templates/.", RuleCode.NOT_A_FILE),
    ],
)
def test_lexical_rules(checkout: Path, raw: str, rule: RuleCode) -> None:
    assert rule_of(checkout_path(checkout, raw)) == rule
    assert rule_of(lexical_path(raw)) == rule


def test_lexical_path_needs_no_file(tmp_path: Path) -> None:
    assert lexical_path("./.github//workflows/./ci.yml") == ".github/workflows/ci.yml"


def test_absolute_path_to_a_file_inside_the_checkout_is_still_refused(checkout: Path) -> None:
    assert rule_of(checkout_path(checkout, str(checkout / "README.md"))) == RuleCode.ABSOLUTE_PATH


@pytest.mark.parametrize(
    "raw", ["templates/missing.jinja", "new/dir/file.hs", "templates/faq.jinja/x", "templates"]
)
def test_new_files_and_directories_are_not_files(checkout: Path, raw: str) -> None:
    assert rule_of(checkout_path(checkout, raw)) == RuleCode.NOT_A_FILE


def test_a_fifo_is_not_a_file(checkout: Path) -> None:
    os.mkfifo(checkout / "templates" / "pipe.jinja")
    assert rule_of(checkout_path(checkout, "templates/pipe.jinja")) == RuleCode.NOT_A_FILE


def test_a_device_is_not_a_file(checkout: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    os.mknod(checkout / "null.hs", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    rejection = checkout_path(checkout, "null.hs")
    assert rule_of(rejection) == RuleCode.NOT_A_FILE
    assert isinstance(rejection, Rejection)
    assert "device" in rejection.detail


def test_a_socket_is_not_a_file(checkout: Path) -> None:
    directory = os.open(checkout, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(f"/proc/self/fd/{directory}/sock.hs")
    finally:
        os.close(directory)
    assert rule_of(checkout_path(checkout, "sock.hs")) == RuleCode.NOT_A_FILE


def test_a_symlinked_file_is_refused_even_pointing_inside(checkout: Path) -> None:
    (checkout / "templates" / "alias.jinja").symlink_to("faq.jinja")
    assert rule_of(checkout_path(checkout, "templates/alias.jinja")) == RuleCode.SYMLINK_ESCAPE


def test_a_symlink_to_outside_is_refused(checkout: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cr3t\n")
    (checkout / "templates" / "leak.jinja").symlink_to(secret)
    assert rule_of(checkout_path(checkout, "templates/leak.jinja")) == RuleCode.SYMLINK_ESCAPE


def test_a_symlinked_directory_on_the_way_is_refused(checkout: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.jinja").write_text("x\n")
    (checkout / "linked").symlink_to(outside, target_is_directory=True)
    rejection = checkout_path(checkout, "linked/x.jinja")
    assert rule_of(rejection) == RuleCode.SYMLINK_ESCAPE
    assert isinstance(rejection, Rejection)
    assert "linked is a symbolic link" in rejection.detail


def test_a_dangling_symlink_is_refused(checkout: Path) -> None:
    (checkout / "dangling.hs").symlink_to(checkout / "nowhere.hs")
    assert rule_of(checkout_path(checkout, "dangling.hs")) == RuleCode.SYMLINK_ESCAPE


@pytest.mark.parametrize(
    "raw", ["Templates/faq.jinja", "templates/FAQ.jinja", "TEMPLATES/FAQ.JINJA", "readme.md"]
)
def test_another_letter_case_is_a_case_alias(checkout: Path, raw: str) -> None:
    assert rule_of(checkout_path(checkout, raw)) == RuleCode.CASE_ALIAS


def test_another_unicode_form_is_a_case_alias(checkout: Path) -> None:
    nfc = unicodedata.normalize("NFC", "café.jinja")
    nfd = unicodedata.normalize("NFD", "café.jinja")
    assert nfc != nfd
    (checkout / "templates" / nfc).write_text("x\n")
    assert checkout_path(checkout, f"templates/{nfc}") == f"templates/{nfc}"
    assert rule_of(checkout_path(checkout, f"templates/{nfd}")) == RuleCode.CASE_ALIAS


def test_a_compatibility_form_is_a_case_alias(checkout: Path) -> None:
    (checkout / "templates" / "file1.jinja").write_text("x\n")
    # U+FF46 FULLWIDTH LATIN SMALL LETTER F folds to "f" under NFKC.
    assert rule_of(checkout_path(checkout, "templates/\uff46ile1.jinja")) == RuleCode.CASE_ALIAS


def test_a_file_used_as_a_directory_is_not_a_file(checkout: Path) -> None:
    assert rule_of(checkout_path(checkout, "README.md/inner")) == RuleCode.NOT_A_FILE


def test_nothing_is_opened_on_the_way(checkout: Path) -> None:
    """A FIFO as the path: an open() would block forever; the walk only lstat()s it."""
    os.mkfifo(checkout / "block")
    assert rule_of(checkout_path(checkout, "block")) == RuleCode.NOT_A_FILE


def test_rejections_show_hidden_characters_as_escapes(checkout: Path) -> None:
    rejection = checkout_path(checkout, "templates/\u202efaq\x1b[2J.jinja")
    assert isinstance(rejection, Rejection)
    assert "\u202e" not in rejection.detail
    assert "\x1b" not in rejection.detail
    assert "\\u202e" in rejection.detail
    assert rejection.path is not None
    assert rejection.path.isprintable()


def test_printable_cuts_long_text() -> None:
    shown = printable("a" * 1000)
    assert len(shown) == 200
    assert shown.endswith("…")
