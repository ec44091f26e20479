"""What a run of the tool left behind, and the promises every run must keep.

The promises (README "Exit codes"): the exit code is one of the table's, an error is one
line on stderr starting ``micro-gastown <command>: error:`` (after at most a few warnings), nothing
is ever a traceback, no file but the intended output changes, and a failed run leaves no
partial output.
"""

from __future__ import annotations

import os
import re
import stat
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from micro_gastown.cli import main

MAX_STDERR_LINES = 5
"""How many lines one failure may take on stderr: the error and a few warnings before it."""

_SHAPE = re.compile(r"micro-gastown( [a-z-]+){1,2}: ")
"""Every line names the program once, then the command (``micro-gastown logs export: ``)."""
_LEAD_INS = ("warning: ", "note: ")
"""What may precede the error line: warnings and notes, never another error."""
_TRACEBACK_FRAME = re.compile(r'^\s*File ".*", line \d+')


@dataclass(frozen=True)
class Outcome:
    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: str

    @property
    def stderr_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    def __str__(self) -> str:
        tail = "\n    ".join(self.stderr.splitlines()[-12:])
        return f"micro-gastown {' '.join(self.argv)[:300]} -> exit {self.returncode}\n    {tail}"


def run_main(argv: Sequence[str], capsys: pytest.CaptureFixture[bytes]) -> Outcome:
    """The CLI in this process (fast). An exception escaping ``main`` is what a traceback
    would be in a real process: it is kept as the stderr of a failed outcome, so the
    assertions name it instead of the test dying on it."""
    capsys.readouterr()
    try:
        code = main(list(argv))
    except Exception:
        out, err = capsys.readouterr()
        return Outcome(tuple(argv), 1, out, err.decode(errors="replace") + traceback.format_exc())
    out, err = capsys.readouterr()
    return Outcome(tuple(argv), code, out, err.decode(errors="replace"))


def assert_no_traceback(outcome: Outcome) -> None:
    assert "Traceback (most recent call last)" not in outcome.stderr, str(outcome)
    assert "Exception ignored" not in outcome.stderr, str(outcome)
    frames = [line for line in outcome.stderr.splitlines() if _TRACEBACK_FRAME.match(line)]
    assert not frames, str(outcome)


def assert_error(outcome: Outcome, code: int, *, naming: str | None = None) -> None:
    """Exit ``code`` and one clear line on stderr (naming ``naming``, when given)."""
    assert_no_traceback(outcome)
    assert outcome.returncode == code, f"expected exit {code}: {outcome}"
    lines = outcome.stderr_lines
    assert lines, f"an error exit with nothing on stderr: {outcome}"
    assert len(lines) <= MAX_STDERR_LINES, f"more than one line for one failure: {outcome}"
    for line in lines:
        assert _SHAPE.match(line), f"{line!r} is not 'micro-gastown <command>: ...': {outcome}"
    assert _SHAPE.sub("", lines[-1], count=1).startswith("error: "), str(outcome)
    for line in lines[:-1]:
        rest = _SHAPE.sub("", line, count=1)
        assert rest.startswith(_LEAD_INS), f"{line!r} before the error: {outcome}"
    if naming is not None:
        assert naming in lines[-1], f"the error does not name {naming!r}: {outcome}"


def assert_success(outcome: Outcome) -> None:
    assert_no_traceback(outcome)
    assert outcome.returncode == 0, f"expected success: {outcome}"
    errors = [line for line in outcome.stderr_lines if "error:" in line]
    assert not errors, str(outcome)


def assert_code_in(outcome: Outcome, codes: Iterable[int]) -> None:
    allowed = set(codes)
    assert_no_traceback(outcome)
    assert outcome.returncode in allowed, f"expected exit in {sorted(allowed)}: {outcome}"
    if outcome.returncode not in (0, 1, 7):  # findings, an incomplete run: no error line
        assert_error(outcome, outcome.returncode)


# -- the files around a run ---------------------------------------------------------------

Entry = tuple[object, ...]


def _entry(path: Path) -> Entry:
    info = path.lstat()
    mode = info.st_mode
    if stat.S_ISLNK(mode):
        return ("symlink", os.readlink(path))
    if stat.S_ISREG(mode):
        return ("file", info.st_size, info.st_mtime_ns, info.st_ino)
    if stat.S_ISDIR(mode):
        return ("directory",)  # its entries are compared one by one
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return ("device", stat.S_IFMT(mode), info.st_rdev)
    if stat.S_ISFIFO(mode):
        return ("fifo",)
    if stat.S_ISSOCK(mode):
        return ("socket",)
    return ("other", stat.S_IFMT(mode))


def snapshot(root: Path) -> dict[str, Entry]:
    """Every path under ``root`` (links not followed) with what it is and, for a file, its
    size, mtime and inode: enough to see a file written, replaced, added or removed."""
    found: dict[str, Entry] = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(directory, name)
            try:
                found[str(path.relative_to(root))] = _entry(path)
            except OSError:
                found[str(path.relative_to(root))] = ("vanished",)
    return found


def assert_only_changed(
    root: Path,
    before: dict[str, Entry],
    *,
    outputs: Iterable[Path] = (),
    trees: Iterable[Path] = (),
) -> None:
    """Nothing under ``root`` changed but the ``outputs`` (files) and whatever is inside
    ``trees`` (directories the command owns, such as a runs directory)."""
    after = snapshot(root)
    allowed = {str(p.relative_to(root)) for p in outputs}
    prefixes = [str(t.relative_to(root)) for t in trees]
    changed = sorted(
        name
        for name in before.keys() | after.keys()
        if before.get(name) != after.get(name)
        and name not in allowed
        and not any(name == p or name.startswith(p + os.sep) for p in prefixes)
    )
    details = {name: (before.get(name), after.get(name)) for name in changed}
    assert not changed, f"files touched that are not the output: {details}"
