"""Forbidden-path globs, read the way ``.gitignore`` reads them, but case-insensitively.

Why our own translator and not ``pathspec``: only this one reading is wanted (no
negation, no comments, no per-directory files), it must ignore letter case (a
``.GitHub/workflows/x.yml`` is still CI), and a forbidden glob must never be able to allow
anything; a dozen lines of regex say exactly that, without a runtime dependency whose
pattern API is being renamed.

The reading:

- ``**`` as a whole part spans any number of directories (``**/x``, ``a/**``, ``a/**/b``);
  ``*`` and ``?`` never cross ``/``; ``[abc]``, ``[a-z]`` and ``[!x]`` are classes;
  ``\\`` quotes the next character.
- A glob without a ``/`` (other than a trailing one) matches the name at any depth
  (``*.pem``); one with a ``/`` is anchored at the checkout root (``deploy/**``); a leading
  ``/`` only anchors. A trailing ``/`` matches directories only.
- A glob that matches a directory forbids everything under it (``secrets`` forbids
  ``config/secrets/db.yml``).
- Matching ignores letter case and compares the NFC and NFKC forms of the path.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from micro_gastown.errors import ConfigError

__all__ = ["ForbiddenGlobs", "compile_glob"]


@dataclass(frozen=True, slots=True)
class ForbiddenGlobs:
    """Compiled globs; :meth:`first_match` names the glob a path breaks."""

    globs: tuple[str, ...]
    _compiled: tuple[re.Pattern[str], ...]

    @classmethod
    def of(cls, globs: Sequence[str]) -> ForbiddenGlobs:
        unique = tuple(dict.fromkeys(globs))
        return cls(unique, tuple(compile_glob(glob) for glob in unique))

    def first_match(self, path: str) -> str | None:
        """The first glob that forbids ``path`` (a relative POSIX path), or None."""
        forms = {unicodedata.normalize("NFC", path), unicodedata.normalize("NFKC", path)}
        for glob, pattern in zip(self.globs, self._compiled, strict=True):
            if any(pattern.fullmatch(form) for form in forms):
                return glob
        return None


@functools.lru_cache(maxsize=256)
def compile_glob(glob: str) -> re.Pattern[str]:
    """The regex of one forbidden glob; ConfigError for one that cannot forbid anything
    or would read as a negation or a comment in a ``.gitignore``."""
    text = glob.strip()
    if not text or text == "/":
        raise ConfigError("a forbidden path glob is empty", setting="forbidden_paths", value=glob)
    if text.startswith(("!", "#")):
        raise ConfigError(
            "a forbidden path glob cannot start with '!' or '#' (nothing can be allowed back)",
            setting="forbidden_paths",
            value=glob,
        )
    directory_only = text.endswith("/")
    body = text.rstrip("/")
    anchored = "/" in body
    body = body.lstrip("/")
    parts = body.split("/")
    if not anchored and parts != ["**"]:
        parts = ["**", *parts]
    regex = _join(parts)
    # What the glob matched may be a directory: everything under it is forbidden too.
    tail = "/.+" if directory_only else "(?:/.+)?"
    return re.compile(f"{regex}{tail}", re.IGNORECASE | re.DOTALL)


def _join(parts: list[str]) -> str:
    out = ""
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            # Any number of whole directories (zero or more) when more parts follow; as
            # the last part, one or more parts (``a/**`` is what is under ``a``).
            out += "(?:[^/]+/)*" if not last else "[^/]+(?:/[^/]+)*"
        else:
            out += _segment(part) + ("" if last else "/")
    return out


def _segment(part: str) -> str:
    """One path part: ``*`` and ``?`` stay inside it; a class never matches ``/``."""
    out: list[str] = []
    index = 0
    while index < len(part):
        ch = part[index]
        if ch == "\\" and index + 1 < len(part):
            out.append(re.escape(part[index + 1]))
            index += 2
            continue
        if ch == "*":
            while index + 1 < len(part) and part[index + 1] == "*":
                index += 1
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            klass, index = _class(part, index)
            out.append(klass)
            continue
        else:
            out.append(re.escape(ch))
        index += 1
    return "".join(out)


def _class(part: str, start: int) -> tuple[str, int]:
    """``[...]`` from ``start`` as a regex class and the index after it; an unclosed ``[``
    is a literal bracket, as in git."""
    index = start + 1
    negated = index < len(part) and part[index] in "!^"
    if negated:
        index += 1
    members: list[str] = []
    first = True
    while index < len(part):
        ch = part[index]
        if ch == "]" and not first:
            inner = "".join(members)
            return (f"[^/{inner}]" if negated else f"(?!/)[{inner}]"), index + 1
        if ch == "\\" and index + 1 < len(part):
            members.append(re.escape(part[index + 1]))
            index += 2
        else:
            members.append(ch if ch == "-" else re.escape(ch))
            index += 1
        first = False
    return re.escape("["), start + 1
