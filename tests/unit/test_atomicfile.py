"""Atomic output: readers see the old file or the new one, never a half-written one."""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from micro_gastown.atomicfile import stream_atomic, write_atomic
from micro_gastown.errors import OutputError

from specialfiles import FULL_DEVICE, NULL_DEVICE, FifoReader, make_device


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


# --- where the path leads: files, links, devices, FIFOs, descriptors, standard output ---


@pytest.fixture
def umask_027() -> Iterator[None]:
    previous = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(previous)


def test_a_new_file_gets_the_mode_the_umask_allows(tmp_path: Path, umask_027: None) -> None:
    target = tmp_path / "report.json"
    write_atomic(target, b"new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_an_existing_file_keeps_its_mode(tmp_path: Path, umask_027: None) -> None:
    target = tmp_path / "report.json"
    target.write_bytes(b"old")
    target.chmod(0o644)
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_an_existing_file_keeps_its_owner(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a file away needs root")
    target = tmp_path / "report.json"
    target.write_bytes(b"old")
    os.chown(target, 4321, 4321)
    write_atomic(target, b"new")
    assert (target.stat().st_uid, target.stat().st_gid) == (4321, 4321)


def test_a_symlink_writes_its_target_and_stays_a_link(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "report.json"
    target.write_bytes(b"old")
    link = tmp_path / "latest.json"
    link.symlink_to(Path("real") / "report.json")  # relative, as users make them
    write_atomic(link, b"new")
    assert link.is_symlink()
    assert os.readlink(link) == str(Path("real") / "report.json")
    assert target.read_bytes() == b"new"
    assert _leftovers(tmp_path) == []
    assert _leftovers(tmp_path / "real") == []


def test_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "latest.json"
    link.symlink_to(tmp_path / "report.json")
    write_atomic(link, b"new")
    assert link.is_symlink()
    assert (tmp_path / "report.json").read_bytes() == b"new"


def test_a_dangling_symlink_into_a_missing_directory_is_named(tmp_path: Path) -> None:
    link = tmp_path / "latest.json"
    link.symlink_to(tmp_path / "gone" / "report.json")
    with pytest.raises(OutputError, match=r"latest\.json: links to .*gone.* does not exist"):
        write_atomic(link, b"new")
    assert link.is_symlink()
    assert not (tmp_path / "gone").exists()


def test_a_symlink_loop_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(OutputError, match=r"a: too many levels of symbolic links"):
        write_atomic(tmp_path / "a", b"new")
    assert (tmp_path / "a").is_symlink()
    assert (tmp_path / "b").is_symlink()


@pytest.mark.parametrize("through_link", [False, True])
def test_a_directory_is_not_an_output(tmp_path: Path, through_link: bool) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    path = folder
    if through_link:
        path = tmp_path / "latest"
        path.symlink_to(folder)
    with pytest.raises(OutputError, match="is a directory, not a file"):
        write_atomic(path, b"new")
    assert folder.is_dir()
    assert path.is_symlink() == through_link
    assert list(folder.iterdir()) == []


def test_a_file_used_as_a_directory_is_named(tmp_path: Path) -> None:
    (tmp_path / "plain").write_bytes(b"")
    with pytest.raises(OutputError, match=r"report\.json: \S*/plain is not a directory"):
        write_atomic(tmp_path / "plain" / "deeper" / "report.json", b"new")


def test_a_fifo_is_written_in_place_to_its_reader(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    data = bytes(range(256)) * 4096  # 1 MiB: far more than a pipe holds, so it streams
    reader = FifoReader(fifo)  # opened first, so the tool's open for writing never waits
    try:
        write_atomic(fifo, data)
        assert reader.wait_for_eof(30), "the writer never closed the FIFO"
    finally:
        reader.close()
    assert bytes(reader.received) == data
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert _leftovers(tmp_path) == []


def test_a_null_device_stays_a_device(tmp_path: Path) -> None:
    null = make_device(tmp_path / "null", NULL_DEVICE)
    stream_atomic(null, (b"x" * 1000 for _ in range(100)))
    info = os.lstat(null)
    assert stat.S_ISCHR(info.st_mode)
    assert info.st_rdev == os.makedev(1, 3)
    assert _leftovers(tmp_path) == []


def test_a_full_device_is_an_output_error_and_stays_a_device(tmp_path: Path) -> None:
    full = make_device(tmp_path / "full", FULL_DEVICE)
    with pytest.raises(OutputError, match=r"full: cannot write \(No space left on device\)"):
        write_atomic(full, b"report\n")
    assert stat.S_ISCHR(os.lstat(full).st_mode)
    assert _leftovers(tmp_path) == []


def test_a_descriptor_name_continues_at_the_descriptor(tmp_path: Path) -> None:
    """What /dev/stdout points at: an open descriptor of ours, here a log opened for append
    (`>> log`), which must be written through, not replaced or rewritten from the start."""
    log = tmp_path / "log"
    log.write_bytes(b"old\n")
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    try:
        write_atomic(Path(f"/proc/self/fd/{fd}"), b"new\n")
    finally:
        os.close(fd)
    assert log.read_bytes() == b"old\nnew\n"


def test_a_descriptor_name_of_a_pipe_writes_into_the_pipe() -> None:
    read_fd, write_fd = os.pipe()
    try:
        write_atomic(Path(f"/dev/fd/{write_fd}"), b"report\n")
        os.close(write_fd)
        write_fd = -1
        assert os.read(read_fd, 100) == b"report\n"
    finally:
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)


def test_dash_is_standard_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    monkeypatch.chdir(tmp_path)
    stream_atomic(Path("-"), (b"one\n", b"two\n"))
    assert capsysbinary.readouterr().out == b"one\ntwo\n"
    assert list(tmp_path.iterdir()) == []


def test_a_closed_standard_output_is_an_output_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdout", None)
    with pytest.raises(OutputError, match="standard output is closed"):
        write_atomic(Path("-"), b"report\n")
    assert list(tmp_path.iterdir()) == []
