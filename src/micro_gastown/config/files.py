"""Reading configuration files without trusting what a name in a directory turns out to be.

A ``*.toml`` or ``*.json`` name in ``polecats/``, ``formulas/`` or ``schemas/`` may be a
dangling symlink, a symlink loop, a directory, a device or a FIFO. Skipping those in silence
hid the user's file; opening a FIFO for reading would block ``validate`` until something
wrote to it. So every entry is classified from ``stat`` first (which never opens it), and
the reader opens only regular files, non-blocking, and checks again what it opened.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

__all__ = ["ConfigFileError", "not_a_directory", "not_a_file", "read_config_text"]


class ConfigFileError(Exception):
    """A configuration file cannot be read; the message says why, without the path."""


def not_a_file(path: Path) -> str | None:
    """Why ``path`` is not a regular file (following symlinks), or None when it is one."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return _stat_failure(path, exc)
    return _not_regular(mode)


def not_a_directory(path: Path) -> str | None:
    """Why ``path`` is not a directory (following symlinks), or None when it is one."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return _stat_failure(path, exc)
    return None if stat.S_ISDIR(mode) else f"is {_kind(mode)}, not a directory"


def _stat_failure(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop: it never reaches a file"
    if exc.errno == errno.ENOENT and path.is_symlink():
        try:
            target = os.readlink(path)
        except OSError:
            return "dangling symlink: its target does not exist"
        return f"dangling symlink: its target {target!r} does not exist"
    if exc.errno == errno.ENOENT:
        return "no such file"
    return f"cannot read: {exc.strerror or exc}"


def _not_regular(mode: int) -> str | None:
    return None if stat.S_ISREG(mode) else f"is {_kind(mode)}, not a file"


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def read_config_text(path: Path, *, keep_newlines: bool = False) -> str:
    """The UTF-8 text of a regular file; ``ConfigFileError`` for anything else.

    Line ends become LF unless ``keep_newlines`` (a patch must keep its CRs).

    ``O_NONBLOCK`` keeps a FIFO swapped in after the ``stat`` from blocking the open, and
    ``fstat`` on the opened descriptor refuses it before any read.
    """
    problem = not_a_file(path)
    if problem is not None:
        raise ConfigFileError(problem)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ConfigFileError(_stat_failure(path, exc)) from None
    with os.fdopen(fd, "rb") as file:
        try:
            problem = _not_regular(os.fstat(fd).st_mode)
            if problem is not None:
                raise ConfigFileError(problem)
            data = file.read()
        except OSError as exc:
            raise ConfigFileError(f"cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigFileError(f"not valid UTF-8 at line {line} ({exc.reason})") from None
    if keep_newlines:
        return text
    # Universal newlines, as ``Path.read_text`` gave before: CRLF and CR become LF.
    return text.replace("\r\n", "\n").replace("\r", "\n")
