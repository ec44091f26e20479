"""Write the unified diff of a change ourselves, in the form ``git apply`` reads.

The model never writes diff hunks: line numbers and context it would have to count are
exactly what models get wrong. Code has both texts, so code writes the diff: git's
headers (``diff --git``, ``---``/``+++`` with git's quoting of unusual names), three
lines of context, and the ``\\ No newline at end of file`` marker difflib leaves out.
Only ``\\n`` ends a line, as in git: a ``\\r`` stays part of its line, so a CRLF file
round-trips byte for byte.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Final

from micro_gastown.refine.model import FileDiff

__all__ = ["CONTEXT_LINES", "combined", "file_diff", "git_quoted"]

CONTEXT_LINES: Final = 3

_NO_NEWLINE: Final = "\\ No newline at end of file\n"

# How git's quote_c_style writes the characters it escapes.
_C_ESCAPES: Final = {
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    '"': '\\"',
    "\\": "\\\\",
}


def file_diff(path: str, old: str, new: str) -> FileDiff:
    """The diff that turns ``old`` into ``new`` for ``path`` (relative, POSIX); an empty
    diff when they are equal."""
    if old == new:
        return FileDiff(path=path, diff="", lines_added=0, lines_removed=0)
    a_lines, b_lines = _lines(old), _lines(new)
    out = [_header(path)]
    added = removed = 0
    matcher = difflib.SequenceMatcher(None, a_lines, b_lines, autojunk=False)
    for group in matcher.get_grouped_opcodes(CONTEXT_LINES):
        first, last = group[0], group[-1]
        out.append(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(_line(" ", line) for line in a_lines[i1:i2])
                continue
            out.extend(_line("-", line) for line in a_lines[i1:i2])
            out.extend(_line("+", line) for line in b_lines[j1:j2])
            removed += i2 - i1
            added += j2 - j1
    return FileDiff(path=path, diff="".join(out), lines_added=added, lines_removed=removed)


def combined(diffs: Sequence[FileDiff]) -> str:
    """The whole patch: every file's diff, in order."""
    return "".join(diff.diff for diff in diffs)


def git_quoted(name: str) -> str:
    """``name`` as git writes it in a patch header: as is, or in double quotes with C
    escapes (and UTF-8 bytes as octal) when it holds a quote, a backslash, a control
    character or anything beyond ASCII."""
    if not any(ch in _C_ESCAPES or ord(ch) < 0x20 or ord(ch) >= 0x7F for ch in name):
        return name
    out: list[str] = []
    for ch in name:
        if ch in _C_ESCAPES:
            out.append(_C_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) >= 0x7F:
            out.extend(f"\\{byte:03o}" for byte in _utf8(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _utf8(ch: str) -> bytes:
    """The bytes of one character of a file name (a name decoded by ``os.fsdecode`` may
    hold an undecodable byte as a surrogate)."""
    try:
        return ch.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return ch.encode("utf-8", "surrogatepass")


def _header(path: str) -> str:
    old_name, new_name = git_quoted(f"a/{path}"), git_quoted(f"b/{path}")
    # git ends a ---/+++ name that holds a space with a tab, so the name's end is plain.
    tab = "\t" if " " in path and not old_name.startswith('"') else ""
    return f"diff --git {old_name} {new_name}\n--- {old_name}{tab}\n+++ {new_name}{tab}\n"


def _lines(text: str) -> list[str]:
    """``text`` split after each ``\\n`` only; the last line may lack one."""
    pieces = text.split("\n")
    lines = [piece + "\n" for piece in pieces[:-1]]
    if pieces[-1]:
        lines.append(pieces[-1])
    return lines


def _line(prefix: str, line: str) -> str:
    if line.endswith("\n"):
        return prefix + line
    return prefix + line + "\n" + _NO_NEWLINE


def _range(start: int, stop: int) -> str:
    """A hunk's ``start,count`` as unified diffs write it (difflib's rule)."""
    beginning = start + 1
    length = stop - start
    if length == 1:
        return f"{beginning}"
    if not length:
        beginning -= 1
    return f"{beginning},{length}"
