"""The ``.hs`` files of a checkout, found once and read and lexed at most once each.

Synonyms, graph records and template bindings are each looked for across the whole
checkout, so one shared cache keeps a file from being read or lexed twice. A file that
cannot be read raises ``DslError`` naming it. What can be read only in part (bytes that
are not UTF-8, an unterminated string, a missing bracket...) is collected here as
``DslProblem`` values, one list for the whole checkout, which ``read_dsl`` returns; so is
a ``.hs`` name that is no regular file (a FIFO, a directory, a dangling symlink or a loop),
which is told apart by ``stat`` and never opened: a FIFO would block the read forever.
"""

from __future__ import annotations

import errno
import os
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from micro_gastown.dsl.brackets import _balanced
from micro_gastown.dsl.lexer import _Note, _strip_comments, _Token, _tokenize
from micro_gastown.dsl.model import DslProblem, DslProblemCode, SourceLocation
from micro_gastown.errors import DslError

# Directories that hold build output or vendored code, never the DSL itself.
SKIPPED_DIRS = frozenset({".git", "dist-newstyle", ".stack-work", "node_modules"})

MAX_PROBLEMS_PER_FILE = 20
"""Problems listed per file; the rest are counted in one ``more_problems`` entry."""


@dataclass(slots=True)
class _Module:
    path: str  # repo-relative, POSIX
    tokens: list[_Token]


@dataclass(slots=True)
class _SourceSet:
    """The ``.hs`` files of a checkout, read and lexed lazily and at most once."""

    root: Path
    paths: list[Path] = field(default_factory=list)
    _texts: dict[Path, str] = field(default_factory=dict)
    _modules: dict[Path, _Module] = field(default_factory=dict)
    _problems: list[DslProblem] = field(default_factory=list)
    _seen: set[DslProblem] = field(default_factory=set)
    _per_file: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
            base = Path(dirpath)
            for name in dirnames:
                if name.endswith(".hs"):
                    self._not_a_file(base / name, "is a directory")
            for name in sorted(filenames):
                if name.endswith(".hs"):
                    path = base / name
                    why = _not_regular(path)
                    if why is None:
                        self.paths.append(path)
                    else:
                        self._not_a_file(path, why)

    def _not_a_file(self, path: Path, why: str) -> None:
        self.note(self.relative(path), DslProblemCode.NOT_A_FILE, 0, f"{why}: not read")

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def text(self, path: Path) -> str:
        if path not in self._texts:
            try:
                raw = _read_regular(path)
            except OSError as exc:
                raise DslError(
                    f"cannot read {self.relative(path)}: {exc.strerror}",
                    setting="repo",
                    value=self.root,
                ) from exc
            self._texts[path] = self._decode(path, raw).replace("\r\n", "\n")
        return self._texts[path]

    def _decode(self, path: Path, raw: bytes) -> str:
        """UTF-8 (a leading BOM dropped); bad bytes become U+FFFD and are reported once,
        at the line of the first one."""
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            bad = raw[exc.start : exc.end]
            line = raw.count(b"\n", 0, exc.start) + 1
            self.note(
                self.relative(path),
                DslProblemCode.INVALID_UTF8,
                line,
                f"not valid UTF-8 (byte 0x{bad[0]:02x} is the first bad one): undecodable "
                "bytes are read as U+FFFD and names holding them are skipped",
            )
            return raw.decode("utf-8-sig", errors="replace")

    def module(self, path: Path) -> _Module:
        if path not in self._modules:
            relative = self.relative(path)
            note = self.noter(relative)
            tokens = _tokenize(_strip_comments(self.text(path), note), note)
            self._modules[path] = _Module(relative, _balanced(tokens, note))
        return self._modules[path]

    def noter(self, relative: str) -> _Note:
        """A ``_Note`` that files problems under ``relative``."""

        def note(code: DslProblemCode, line: int, message: str) -> None:
            self.note(relative, code, line, message)

        return note

    def note(self, relative: str, code: DslProblemCode, line: int, message: str) -> None:
        """Record a problem (once), listing at most ``MAX_PROBLEMS_PER_FILE`` per file."""
        problem = DslProblem(code, SourceLocation(relative, line), message)
        if problem in self._seen:
            return
        self._seen.add(problem)
        self._per_file[relative] += 1
        if self._per_file[relative] <= MAX_PROBLEMS_PER_FILE:
            self._problems.append(problem)

    def problems(self) -> tuple[DslProblem, ...]:
        """Every problem, by file and line, with a count of those not listed per file."""
        listed = list(self._problems)
        for relative, count in self._per_file.items():
            if count > MAX_PROBLEMS_PER_FILE:
                last = max(p.location.line for p in listed if p.location.path == relative)
                listed.append(
                    DslProblem(
                        DslProblemCode.MORE_PROBLEMS,
                        SourceLocation(relative, last),
                        f"{count - MAX_PROBLEMS_PER_FILE} more problems in this file not listed",
                    )
                )
        order = {code: rank for rank, code in enumerate(DslProblemCode)}
        return tuple(
            sorted(listed, key=lambda p: (p.location.path, p.location.line, order[p.code]))
        )


def _not_regular(path: Path) -> str | None:
    """Why ``path`` (symlinks followed) is not a regular file; None when it is one."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symlink loop"
        if exc.errno == errno.ENOENT and path.is_symlink():
            return "is a dangling symlink"
        return f"cannot be read ({exc.strerror or exc})"
    return None if stat.S_ISREG(mode) else _KINDS.get(stat.S_IFMT(mode), "is a special file")


_KINDS = {
    stat.S_IFDIR: "is a directory",
    stat.S_IFIFO: "is a FIFO (named pipe)",
    stat.S_IFSOCK: "is a socket",
    stat.S_IFCHR: "is a device",
    stat.S_IFBLK: "is a device",
}


def _read_regular(path: Path) -> bytes:
    """The bytes of a regular file. Opened non-blocking and checked with ``fstat``, so a
    FIFO swapped in after the walk fails at once instead of waiting for a writer."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return file.read()
