"""Which paths a unified diff touches, read as ``git apply`` reads it, and which are unsafe.

A patch comes from a model's proposal (or a hand edit of one), so it is untrusted. This is
the one reader of its file names: file-pr checks them against the proposal and the
guardrails, the commit builder against the checkout. A patch ``git apply`` would read
differently from this reader (a hunk longer or shorter than its header, a binary patch, a
name without git's prefix) is refused rather than guessed at, and a path that climbs out of
the checkout (``..``), starts at the root or writes into ``.git`` is refused here, whatever
``git apply`` itself would make of it.
"""

from __future__ import annotations

import re
from typing import Final

from micro_gastown.errors import GitError

__all__ = ["patch_files", "reject_unsafe_path"]

_HUNK = re.compile(r"^@@ -\d+(?:,(?P<old>\d+))? \+\d+(?:,(?P<new>\d+))? @@")
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_GIT_NAMES = re.compile(rf"^({_QUOTED}|\S+) ({_QUOTED}|\S+)$")
_NAME_LINES: Final = ("--- ", "+++ ", "rename from ", "rename to ", "copy from ", "copy to ")
_C_ESCAPES: Final = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13}


def patch_files(patch: str) -> tuple[str, ...]:
    """The paths a unified diff changes (both sides of a rename), in order of appearance.

    Read as ``git apply`` reads it: hunks are skipped by the line counts of their ``@@``
    headers, so a removed Haskell comment (``-- a/x`` becomes ``--- a/x``) is not taken for
    a file header, and every header outside a hunk counts, whether a ``diff --git`` line
    comes before it or not: a section of the patch the check did not see would be applied
    unchecked. Git's quoted names (``"b/caf\\303\\251.hs"``) are unquoted. Raises
    ValueError for what ``git apply`` would not read the same way (a hunk longer or shorter
    than its header says, a binary patch, a name without git's ``a/``/``b/`` prefix). Text
    naming no file gives ``()``: whether that is an error is the caller's to say."""
    seen: dict[str, None] = {}
    old = new = 0  # lines of the current hunk still to come
    in_file = after_hunk = False
    lines = patch.split("\n")
    if lines and not lines[-1]:
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if old > 0 or new > 0:
            old, new = _hunk_line(line, old, new, number)
            after_hunk = True
            continue
        if after_hunk and line[:1] in ("+", "-", " ") and not line.startswith(_NAME_LINES):
            # git would skip it as trailing garbage: the hunk does not say what it holds
            raise ValueError(f"line {number}: the hunk holds more lines than its @@ header counts")
        after_hunk = after_hunk and line.startswith("\\")
        if line.startswith("diff --git "):
            in_file = True
            for name in _git_header_names(line.removeprefix("diff --git ")):
                seen.setdefault(name, None)
        elif line.startswith(_NAME_LINES):
            in_file = True
            named = _header_name(line, number)
            if named is not None:
                seen.setdefault(named, None)
        elif line.startswith("@@"):
            hunk = _HUNK.match(line)
            if hunk is None or not in_file:
                raise ValueError(f"line {number}: a hunk header without a file header before it")
            old = int(hunk["old"]) if hunk["old"] is not None else 1
            new = int(hunk["new"]) if hunk["new"] is not None else 1
        elif line.startswith(("GIT binary patch", "Binary files ")):
            raise ValueError(f"line {number}: a binary patch (refine never writes one)")
    if old > 0 or new > 0:
        raise ValueError("the last hunk ends before the lines its @@ header counts")
    return tuple(seen)


def _hunk_line(line: str, old: int, new: int, number: int) -> tuple[int, int]:
    """The counts left once ``line`` of a hunk is read."""
    tag = line[:1]
    if tag in (" ", ""):  # an empty line is a context line whose space was trimmed
        old, new = old - 1, new - 1
    elif tag == "-":
        old -= 1
    elif tag == "+":
        new -= 1
    elif tag != "\\":  # "\\ No newline at end of file" counts for nothing
        raise ValueError(f"line {number}: the hunk ends before the lines its @@ header counts")
    if old < 0 or new < 0:
        raise ValueError(f"line {number}: the hunk holds more lines than its @@ header counts")
    return old, new


def _header_name(line: str, number: int) -> str | None:
    """The path a ``---``/``+++``/``rename``/``copy`` line names (None: ``/dev/null``)."""
    prefix = next(p for p in _NAME_LINES if line.startswith(p))
    rest = line.removeprefix(prefix)
    if prefix in ("--- ", "+++ "):
        # git ends a name holding a space with a tab; other tools put a date after one
        name = rest if rest.startswith('"') else rest.split("\t", 1)[0]
        name = _unquote(name, number)
        if name == "/dev/null":
            return None
        return _unprefixed(name, "a/" if prefix == "--- " else "b/", number)
    return _unquote(rest, number)


def _git_header_names(rest: str) -> list[str]:
    """Both names of ``diff --git a/x b/x``. Unquoted names holding a space are split where
    the two halves agree; a header naming two different such paths (a rename) leaves the
    names to its ``rename from``/``rename to`` lines."""
    tokens = _GIT_NAMES.match(rest)  # quoted names, or names without a space
    if tokens is not None:
        pair = [_unquote(tokens[1], 0), _unquote(tokens[2], 0)]
    else:
        half = (len(rest) - 1) // 2
        first, second = rest[:half], rest[half + 1 :]
        if rest[half : half + 1] != " " or first[2:] != second[2:]:
            return []
        pair = [first, second]
    return [_unprefixed(pair[0], "a/", 0), _unprefixed(pair[1], "b/", 0)]


def _unprefixed(name: str, prefix: str, number: int) -> str:
    if not name.startswith(prefix):
        where = f"line {number}: " if number else ""
        raise ValueError(f"{where}{name!r} lacks git's {prefix!r} prefix")
    return name.removeprefix(prefix)


def _unquote(name: str, number: int) -> str:
    """Git's C-style quoting of unusual names (``"a/caf\\303\\251"``), undone."""
    if len(name) < 2 or not (name.startswith('"') and name.endswith('"')):
        return name
    body, out, index = name[1:-1], bytearray(), 0
    while index < len(body):
        char = body[index]
        if char != "\\" or index + 1 == len(body):
            out += char.encode()
            index += 1
        elif re.match(r"[0-7]{3}", body[index + 1 : index + 4]):
            out.append(int(body[index + 1 : index + 4], 8))
            index += 4
        else:
            out.append(_C_ESCAPES.get(body[index + 1], ord(body[index + 1])))
            index += 2
    try:
        return out.decode()
    except UnicodeDecodeError:
        where = f"line {number}: " if number else ""
        raise ValueError(f"{where}a file name that is not UTF-8") from None


def reject_unsafe_path(path: str) -> None:
    """GitError for a path outside the checkout or inside ``.git``."""
    parts = path.replace("\\", "/").split("/")
    if (
        not path
        or path.startswith("/")
        or re.match(r"^[A-Za-z]:", path)
        or any(part == ".." for part in parts)
        or any(part.lower() == ".git" for part in parts)
        or "\0" in path
    ):
        raise GitError(f"the patch touches a path it may not: {path!r}")
