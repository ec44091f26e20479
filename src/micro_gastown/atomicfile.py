"""Atomic file output: write to a temporary file beside the target, then rename over it.

A crash, a full disk or Ctrl-C never leaves a half-written report behind: readers see the
old file or the new one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from micro_gastown.errors import OutputError


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically; OutputError naming the path when it fails."""
    stream_atomic(path, (data,))


def stream_atomic(path: Path, chunks: Iterable[bytes]) -> None:
    """Write ``chunks`` to ``path`` atomically, holding one chunk at a time in memory.

    Only a failure to write is an OutputError; an exception raised while producing the
    chunks (a source that fails mid-way) passes through unchanged, and either way the
    temporary file is removed and ``path`` is left as it was.
    """
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise OutputError(f"{path}: directory {directory} does not exist")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                _written(path, handle.write, chunk)
            _written(path, handle.flush)
            _written(path, os.fsync, handle.fileno())
        _written(path, os.replace, tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def _written(path: Path, operation: Callable[..., object], *args: object) -> None:
    try:
        operation(*args)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
