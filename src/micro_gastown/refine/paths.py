"""Turn a path the model wrote into a path of the checkout, or the rule it breaks.

The model's paths are untrusted text: ``../../etc/passwd``, ``/root/.ssh/id_rsa``,
``templates/FAQ.jinja`` on a case-insensitive disk, a symlink that points out of (or back
into) the checkout, a zero-width space that makes two names look alike. Refine only ever
changes files that already exist in the checkout, so the one safe answer is a relative
POSIX path whose every component is, byte for byte, a directory entry that is not a
symlink, ending at a regular file. Everything here is checked with ``lstat`` and directory
listings walking down from the root: nothing is opened, and nothing is resolved (that
would follow the very symlinks we refuse).
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from pathlib import Path
from typing import Final

from micro_gastown.refine.model import Rejection, RuleCode

__all__ = ["checkout_path", "lexical_path", "printable"]

# Unicode categories no file name of a checkout should hold: controls, format characters
# (bidi overrides, zero-width joiners, tags), lone surrogates, private use, unassigned
# code points and the line/paragraph separators.
_REFUSED_CATEGORIES: Final = frozenset(("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))

# Invisible characters outside those categories (the same list as evidence.sanitize):
# the combining grapheme joiner, the Hangul fillers and the variation selectors.
_INVISIBLE: Final = re.compile("[\u034f\u115f\u1160\u3164\uffa0\ufe00-\ufe0f\U000e0100-\U000e01ef]")

# ``C:\x``, ``C:/x`` and the drive-relative ``C:x``.
_DRIVE: Final = re.compile(r"[A-Za-z]:")

_SHOWN_LIMIT: Final = 200

# Names under which a file system (NTFS 8.3 names, trailing dots and spaces) or git itself
# would reach the repository's metadata.
_GIT_ALIASES: Final = frozenset((".git", "git~1"))


def printable(raw: str) -> str:
    """``raw`` safe to show in one line of a report or a prompt: every character that is
    not printable (controls, bidi, zero-width) written as an escape, cut to 200 chars."""
    shown = "".join(
        ch if ch.isprintable() and not _INVISIBLE.match(ch) else _escape(ch) for ch in raw
    )
    if len(shown) > _SHOWN_LIMIT:
        return shown[: _SHOWN_LIMIT - 1] + "…"
    return shown


def _escape(ch: str) -> str:
    code = ord(ch)
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )


def lexical_path(raw: str) -> str | Rejection:
    """The rules that need no file system: ``raw`` as a normalised relative POSIX path
    (``./`` stripped, ``//`` and ``/./`` collapsed), or the first rule it breaks.

    Kept apart from :func:`checkout_path` so a forbidden path that does not exist (a new
    ``.github/workflows/x.yml``) can still be named as forbidden."""
    shown = printable(raw)
    if not raw:
        return Rejection(RuleCode.INVALID_PATH, shown, "the path is empty")
    if any(_refused(ch) for ch in raw):
        return Rejection(
            RuleCode.INVALID_PATH,
            shown,
            f"the path {shown} holds a control, invisible or bidirectional character",
        )
    if raw.startswith(("/", "\\\\")) or _DRIVE.match(raw):
        return Rejection(
            RuleCode.ABSOLUTE_PATH,
            shown,
            f"the path {shown} is absolute; give it relative to the checkout",
        )
    if "\\" in raw:
        return Rejection(
            RuleCode.INVALID_PATH,
            shown,
            f"the path {shown} holds a backslash; use '/' between parts",
        )
    parts = raw.split("/")
    if ".." in parts:
        return Rejection(RuleCode.PARENT_REFERENCE, shown, f"the path {shown} has a '..' part")
    if any(_names_git(part) for part in parts):
        return Rejection(
            RuleCode.INVALID_PATH, shown, f"the path {shown} reaches into the .git directory"
        )
    if parts[-1] in ("", "."):
        kept = [part for part in parts if part not in ("", ".")]
        if not kept:
            return Rejection(RuleCode.INVALID_PATH, shown, f"the path {shown} names no file")
        return Rejection(
            RuleCode.NOT_A_FILE, shown, f"the path {shown} names a directory, not a file"
        )
    return "/".join(part for part in parts if part not in ("", "."))


def checkout_path(root: Path, raw: str) -> str | Rejection:
    """``raw`` as the relative POSIX path of an existing regular file under ``root``, or
    the rule it breaks (see the module docstring). ``root`` itself is trusted as given."""
    normalised = lexical_path(raw)
    if isinstance(normalised, Rejection):
        return normalised
    shown = printable(normalised)
    current = root
    parts = normalised.split("/")
    for depth, part in enumerate(parts):
        try:
            entries = os.listdir(current)
        except OSError as exc:
            return Rejection(
                RuleCode.NOT_A_FILE,
                shown,
                f"{shown}: cannot list a directory on the way ({exc.strerror})",
            )
        if part not in entries:
            return _missing(shown, part, entries)
        current = current / part
        try:
            info = os.lstat(current)
        except OSError as exc:
            return Rejection(
                RuleCode.NOT_A_FILE, shown, f"{shown}: cannot be read ({exc.strerror})"
            )
        if stat.S_ISLNK(info.st_mode):
            return Rejection(
                RuleCode.SYMLINK_ESCAPE,
                shown,
                f"{shown}: {printable('/'.join(parts[: depth + 1]))} is a symbolic link",
            )
        last = depth == len(parts) - 1
        if not last and not stat.S_ISDIR(info.st_mode):
            return Rejection(
                RuleCode.NOT_A_FILE,
                shown,
                f"{shown}: {printable('/'.join(parts[: depth + 1]))} is not a directory",
            )
        if last and not stat.S_ISREG(info.st_mode):
            return Rejection(
                RuleCode.NOT_A_FILE, shown, f"{shown} is not a regular file ({_kind(info.st_mode)})"
            )
    return normalised


def _refused(ch: str) -> bool:
    return unicodedata.category(ch) in _REFUSED_CATEGORIES or bool(_INVISIBLE.match(ch))


def _names_git(part: str) -> bool:
    """``.git`` in any letter case, also as NTFS would read ``.git.`` or ``.git ``."""
    return part.rstrip(". ").casefold() in _GIT_ALIASES or part.casefold() in _GIT_ALIASES


def _forms(name: str) -> set[str]:
    """The spellings a case-insensitive or normalising file system takes for one name."""
    forms = {unicodedata.normalize(form, name) for form in ("NFC", "NFD", "NFKC", "NFKD")}
    return {variant.casefold() for variant in forms} | {
        unicodedata.normalize("NFC", variant.casefold()) for variant in forms
    }


def _missing(shown: str, part: str, entries: list[str]) -> Rejection:
    """The component is not a directory entry byte for byte: an alias of one, or absent."""
    wanted = _forms(part)
    for entry in entries:
        if wanted & _forms(entry):
            return Rejection(
                RuleCode.CASE_ALIAS,
                shown,
                f"{shown}: {printable(part)} differs only in letter case or Unicode form "
                f"from the existing {printable(entry)}",
            )
    return Rejection(RuleCode.NOT_A_FILE, shown, f"{shown} does not exist in the checkout")


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a plain file"
