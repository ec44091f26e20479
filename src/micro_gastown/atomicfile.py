"""Output files: write where the user asked, never leaving a half-written file behind.

Every writer (``analyze --output``, ``logs export -o``, run state, recordings) comes here, so
what happens at a path is decided once, by what the path is:

- ``-``: standard output.
- a regular file or a new name: a temporary file beside it, renamed over it. A crash, a full
  disk or Ctrl-C leaves the old file or the new one, never half of one. An existing file keeps
  its mode (and owner where allowed); a new one gets ``0666 & ~umask``, like any file.
- a symbolic link: followed to its target (a dangling link creates it), which is then written
  as above in the target's own directory; the link stays a link.
- a device, a FIFO, or a name for an open descriptor (``/dev/stdout``, ``/dev/fd/N``): opened
  and written in place. Renaming a file over ``/dev/null`` would replace the device itself.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from micro_gastown.errors import OutputError

STDOUT = Path("-")
"""The output path that means standard output."""

_MAX_SYMLINKS = 40  # what Linux allows before ELOOP
_DESCRIPTOR_DIR = re.compile(r"/proc/(?:self|\d+)(?:/task/\d+)?/fd")


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (see the module docstring); OutputError naming the path."""
    stream_atomic(path, (data,))


def stream_atomic(path: Path, chunks: Iterable[bytes]) -> None:
    """Write ``chunks`` to ``path``, holding one chunk at a time in memory.

    Only a failure to write is an OutputError; an exception raised while producing the
    chunks (a source that fails mid-way) passes through unchanged. For a file, either way
    the temporary file is removed and ``path`` is left as it was.
    """
    if path == STDOUT:
        _write_stdout(chunks)
        return
    target = _destination(path)
    if target.in_place:
        _write_in_place(path, target.path, chunks)
    else:
        _replace(path, target, chunks)


@dataclass(frozen=True)
class _Destination:
    """Where the bytes for an output path really go."""

    path: Path
    in_place: bool
    existing: os.stat_result | None = None


def _destination(path: Path) -> _Destination:
    """Follow ``path`` through its symlinks to what will be written, or an OutputError."""
    current = path
    for _ in range(_MAX_SYMLINKS + 1):
        if _names_a_descriptor(current):
            return _Destination(current, in_place=True)
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            _check_directory(path, current)
            return _Destination(current, in_place=False)
        except NotADirectoryError:
            raise OutputError(f"{path}: {_not_a_directory(current)} is not a directory") from None
        except OSError as exc:
            raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
        if stat.S_ISLNK(info.st_mode):
            current = current.parent / _readlink(path, current)
            continue
        if stat.S_ISDIR(info.st_mode):
            shown = path if current == path else f"{path} (a link to {current})"
            raise OutputError(f"{shown}: is a directory, not a file")
        if stat.S_ISREG(info.st_mode):
            return _Destination(current, in_place=False, existing=info)
        return _Destination(current, in_place=True)  # device, FIFO, socket
    raise OutputError(f"{path}: too many levels of symbolic links (a loop?)")


def _names_a_descriptor(path: Path) -> bool:
    """True for ``/proc/self/fd/1`` and the like (what ``/dev/stdout`` points at): opening
    one reaches the descriptor's file, which must be written, not replaced."""
    parent = os.path.realpath(path.parent)
    return _DESCRIPTOR_DIR.fullmatch(parent) is not None and path.name.isdigit()


def _not_a_directory(path: Path) -> Path:
    """The first folder on the way to ``path`` that is something else (ENOTDIR)."""
    for ancestor in reversed(path.parents):
        if os.path.exists(ancestor) and not os.path.isdir(ancestor):  # never raise
            return ancestor
    return path.parent


def _readlink(path: Path, link: Path) -> str:
    try:
        return os.readlink(link)
    except OSError as exc:
        raise OutputError(f"{path}: cannot read the link {link} ({exc.strerror})") from None


def _check_directory(path: Path, new: Path) -> None:
    """A new file (or a dangling link's target) needs an existing directory to go in."""
    directory = new.parent if str(new.parent) else Path(".")
    if directory.is_dir():
        return
    if new == path:
        raise OutputError(f"{path}: directory {directory} does not exist")
    raise OutputError(f"{path}: links to {new}, whose directory {directory} does not exist")


def _replace(path: Path, target: _Destination, chunks: Iterable[bytes]) -> None:
    """Write a temporary file in the target's directory, then rename it over the target."""
    fd, tmp_name = _create_temporary(path, target)
    try:
        _write_stream(str(path), os.fdopen(fd, "wb"), chunks, close=True, durable=True)
        _written(path, os.replace, tmp_name, target.path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def _create_temporary(path: Path, target: _Destination) -> tuple[int, Path]:
    """A new hidden file beside the target, with the mode the target has or would get."""
    directory = target.path.parent
    existing = target.existing
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp_name = directory / f".{target.path.name}.{secrets.token_hex(4)}.tmp"
        try:
            # 0666 lets the umask decide for a new file, as for any other program's output.
            fd = os.open(tmp_name, flags, 0o600 if existing is not None else 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
        if existing is not None:
            try:
                _keep_owner_and_mode(fd, existing)
            except OSError as exc:
                os.close(fd)
                with contextlib.suppress(OSError):
                    os.unlink(tmp_name)
                raise OutputError(f"{path}: cannot keep its mode ({exc.strerror})") from None
        return fd, tmp_name
    raise OutputError(f"{path}: cannot create a temporary file in {directory}")


def _keep_owner_and_mode(fd: int, existing: os.stat_result) -> None:
    if (existing.st_uid, existing.st_gid) != (os.geteuid(), os.getegid()):
        with contextlib.suppress(OSError):  # only root may give a file away
            os.fchown(fd, existing.st_uid, existing.st_gid)
    os.fchmod(fd, stat.S_IMODE(existing.st_mode))  # after chown, which clears setuid bits


def _write_in_place(path: Path, where: Path, chunks: Iterable[bytes]) -> None:
    """Open a device, FIFO or descriptor name for writing; never create, rename or unlink it."""
    try:
        fd = _open_in_place(where)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
    _write_stream(str(path), os.fdopen(fd, "wb"), chunks, close=True)


def _open_in_place(where: Path) -> int:
    """A descriptor of our own (``/proc/self/fd/1``) is duplicated, so the write continues at
    its offset (``>> log`` appends); anything else is opened, never created."""
    if os.path.realpath(where.parent) == os.path.realpath(f"/proc/{os.getpid()}/fd"):
        return os.dup(int(where.name))
    return os.open(where, os.O_WRONLY | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))


def _write_stdout(chunks: Iterable[bytes]) -> None:
    stream = sys.stdout
    if stream is None:  # the process was started with descriptor 1 closed
        raise OutputError("standard output is closed")
    _written("standard output", stream.flush)  # text already printed goes first
    _write_stream("standard output", stream.buffer, chunks, close=False)


def _write_stream(
    shown: str, handle: BinaryIO, chunks: Iterable[bytes], *, close: bool, durable: bool = False
) -> None:
    """Write every chunk, flush (and fsync when ``durable``), close when asked; a write,
    flush, sync or close that fails is an OutputError naming ``shown``."""
    try:
        for chunk in chunks:
            _written(shown, handle.write, chunk)
        _written(shown, handle.flush)
        if durable:
            _written(shown, os.fsync, handle.fileno())
    except BaseException:
        if close:
            with contextlib.suppress(OSError):  # the failure itself is what gets reported
                handle.close()
        raise
    if close:
        _written(shown, handle.close)


def _written(path: Path | str, operation: Callable[..., object], *args: object) -> None:
    """Run one write step; an OSError becomes an OutputError naming the path.

    A broken pipe stays a BrokenPipeError: the reader (``head``) left, which the CLI treats
    as a normal end, not a failure.
    """
    try:
        operation(*args)
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
