"""Atomic output: readers see the old file or the new one, never a half-written one."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from micro_gastown.atomicfile import stream_atomic, write_atomic
from micro_gastown.errors import OutputError


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_write_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_bytes(b"old")
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert _leftovers(tmp_path) == []


def test_streamed_chunks_arrive_in_order(tmp_path: Path) -> None:
    target = tmp_path / "export.jsonl"
    stream_atomic(target, (f"{i}\n".encode() for i in range(1000)))
    assert target.read_text().splitlines() == [str(i) for i in range(1000)]


def test_a_source_failing_mid_stream_keeps_the_old_file_and_its_own_error(
    tmp_path: Path,
) -> None:
    target = tmp_path / "export.jsonl"
    target.write_bytes(b"old\n")

    def chunks() -> Iterator[bytes]:
        yield b"first\n"
        raise ConnectionResetError(errno.ECONNRESET, "Loki went away")

    with pytest.raises(ConnectionResetError, match="Loki went away"):
        stream_atomic(target, chunks())
    assert target.read_bytes() == b"old\n"
    assert _leftovers(tmp_path) == []


def test_a_failed_write_is_an_output_error_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.json"
    target.write_bytes(b"old")

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OutputError, match=r"report\.json: cannot write \(No space left"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        write_atomic(tmp_path / "nope" / "report.json", b"x")
