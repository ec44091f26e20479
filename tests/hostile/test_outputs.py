"""Hostile output paths for ``analyze --output`` and ``logs export -o``: links, FIFOs,
devices, directories, missing and unwritable directories, ``-``.

For each: written where it leads (a link stays a link, a device stays a device, a FIFO's
reader gets everything) with exit 0, or exit 6 with one line naming the path; either way
no other file changes and no temporary file is left beside the output.
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import gzip
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .corpus import jsonl, valid_lines
from .expect import SINCE, load_report
from .outcome import (
    assert_error,
    assert_only_changed,
    assert_success,
    run_main,
    snapshot,
)
from .processes import run_tool
from specialfiles import FULL_DEVICE, NULL_DEVICE, FifoReader, make_device, make_symlink_loop


def _report_ok(data: bytes) -> None:
    assert load_report(data)["summary"]["events_analyzed"] == len(valid_lines())


def _export_ok(data: bytes) -> None:
    lines = data.splitlines()
    assert len(lines) == len(valid_lines())
    assert all(set(json.loads(line)) == {"labels", "line", "timestamp"} for line in lines)


def _analyze(source: Path, out: Path) -> list[str]:
    return ["analyze", "--source", f"file:{source}", "--output", str(out)]


def _export(source: Path, out: Path) -> list[str]:
    return ["logs", "export", "--source", f"file:{source}", *SINCE, "-o", str(out)]


COMMANDS: dict[str, tuple[Callable[[Path, Path], list[str]], Callable[[bytes], None]]] = {
    "analyze": (_analyze, _report_ok),
    "logs-export": (_export, _export_ok),
}
"""Each command writing to ``--output``: its arguments, and the check of what it wrote."""


@dataclass(frozen=True)
class Target:
    """An output path and where its bytes must land (``None``: nowhere, it fails)."""

    output: Path
    lands_in: Path | None


def _symlink_to_file(root: Path) -> Target:
    (root / "real.json").write_bytes(b"old content\n")
    (root / "link.json").symlink_to("real.json")
    return Target(root / "link.json", root / "real.json")


def _dangling_symlink(root: Path) -> Target:
    (root / "link.json").symlink_to("created-by-the-tool.json")
    return Target(root / "link.json", root / "created-by-the-tool.json")


def _null_device(root: Path) -> Target:
    return Target(make_device(root / "null", NULL_DEVICE), None)


def _directory(root: Path) -> Target:
    (root / "out.json").mkdir()
    return Target(root / "out.json", None)


def _missing_directory(root: Path) -> Target:
    return Target(root / "no-such-dir" / "out.json", None)


def _parent_is_a_file(root: Path) -> Target:
    (root / "plain-file").write_bytes(b"x")
    return Target(root / "plain-file" / "out.json", None)


def _symlink_loop(root: Path) -> Target:
    return Target(make_symlink_loop(root, "loop.json"), None)


OUTPUTS: dict[str, tuple[Callable[[Path], Target], int]] = {
    "symlink-to-file": (_symlink_to_file, 0),
    "dangling-symlink": (_dangling_symlink, 0),
    "null-device": (_null_device, 0),
    "full-device": (lambda root: Target(make_device(root / "full", FULL_DEVICE), None), 6),
    "directory": (_directory, 6),
    "missing-directory": (_missing_directory, 6),
    "parent-is-a-file": (_parent_is_a_file, 6),
    "symlink-loop": (_symlink_loop, 6),
}


@pytest.fixture
def source(sandbox: Path) -> Path:
    path = sandbox / "in" / "export.jsonl"
    path.write_bytes(jsonl(valid_lines()))
    return path


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", OUTPUTS)
def test_output_path_is_written_where_it_leads_or_refused_in_one_line(
    kind: str,
    command: str,
    sandbox: Path,
    source: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    build, code = OUTPUTS[kind]
    argv, valid = COMMANDS[command]
    out_dir = sandbox / "out"
    out_dir.mkdir()
    target = build(out_dir)
    before = snapshot(sandbox)
    outcome = run_main(argv(source, target.output), capsysbinary)
    if code == 0:
        assert_success(outcome)
        if target.lands_in is not None:
            valid(target.lands_in.read_bytes())
        assert_only_changed(
            sandbox, before, outputs=[] if target.lands_in is None else [target.lands_in]
        )
    else:
        assert_error(outcome, code, naming=str(target.output))
        assert_only_changed(sandbox, before)


@pytest.mark.parametrize("command", COMMANDS)
def test_output_to_a_fifo_reaches_its_reader_whole(
    command: str, sandbox: Path, source: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """The FIFO is written in place, not replaced by a regular file: its reader gets the
    whole output and the FIFO is still a FIFO."""
    argv, valid = COMMANDS[command]
    fifo = sandbox / "out.fifo"
    os.mkfifo(fifo)
    before = snapshot(sandbox)
    reader = FifoReader(fifo)
    try:
        outcome = run_main(argv(source, fifo), capsysbinary)
        assert reader.wait_for_eof(10), "the reader never saw the end of the output"
    finally:
        reader.close()
    assert_success(outcome)
    valid(bytes(reader.received))
    assert_only_changed(sandbox, before)


@pytest.mark.parametrize("command", COMMANDS)
def test_output_dash_means_standard_output(
    command: str, sandbox: Path, source: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    argv, valid = COMMANDS[command]
    before = snapshot(sandbox)
    outcome = run_main(argv(source, Path("-")), capsysbinary)
    assert_success(outcome)
    valid(outcome.stdout)
    assert not (sandbox / "-").exists()
    assert_only_changed(sandbox, before)


_FS_IOC_GETFLAGS = 0x80086601
_FS_IOC_SETFLAGS = 0x40086602
_FS_IMMUTABLE_FL = 0x10


@contextlib.contextmanager
def _unwritable_directory(path: Path) -> Iterator[None]:
    """A directory no one may add a file to. As root, permission bits stop nothing, so the
    directory is made immutable (``chattr +i``) for the duration, where the file system
    allows it; otherwise the test is skipped."""
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o500)
        try:
            yield
        finally:
            path.chmod(0o700)
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        flags = array.array("i", [0])
        try:
            fcntl.ioctl(fd, _FS_IOC_GETFLAGS, flags, True)
            flags[0] |= _FS_IMMUTABLE_FL
            fcntl.ioctl(fd, _FS_IOC_SETFLAGS, flags, True)
        except OSError as exc:
            pytest.skip(f"cannot make a directory immutable here ({exc.strerror})")
        try:
            yield
        finally:
            flags[0] &= ~_FS_IMMUTABLE_FL
            fcntl.ioctl(fd, _FS_IOC_SETFLAGS, flags, True)
    finally:
        os.close(fd)


@pytest.mark.parametrize("command", COMMANDS)
def test_output_in_a_directory_that_cannot_be_written_is_refused_in_one_line(
    command: str, sandbox: Path, source: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """As root (this suite's usual user) the directory is immutable rather than read-only,
    since root writes through permission bits."""
    argv, _ = COMMANDS[command]
    locked = sandbox / "locked"
    with _unwritable_directory(locked):
        before = snapshot(sandbox)
        outcome = run_main(argv(source, locked / "out.json"), capsysbinary)
        assert_error(outcome, 6, naming=str(locked / "out.json"))
        assert_only_changed(sandbox, before)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_run_that_fails_leaves_an_existing_output_as_it_was(
    command: str, sandbox: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """A source that turns out corrupt after megabytes of good lines (``logs export`` has
    streamed chunks by then): exit 3, and the previous output is untouched, with no
    temporary file left beside it."""
    argv, _ = COMMANDS[command]
    whole = gzip.compress(jsonl(valid_lines() * 2000), mtime=0)
    broken = sandbox / "in" / "broken.jsonl.gz"
    broken.write_bytes(whole[: len(whole) * 3 // 4])
    out = sandbox / "previous.out"
    out.write_bytes(b"the previous run's output\n")
    before = snapshot(sandbox)
    outcome = run_main(argv(broken, out), capsysbinary)
    assert_error(outcome, 3, naming=broken.name)
    assert out.read_bytes() == b"the previous run's output\n"
    assert_only_changed(sandbox, before)


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["analyze"], id="analyze"),
        pytest.param(["logs", "export", *SINCE], id="logs-export"),
        pytest.param(["logs", "errors", *SINCE], id="logs-errors"),
    ],
)
def test_standard_output_on_a_full_device_is_an_output_error(
    argv: list[str], tmp_path: Path, env: dict[str, str]
) -> None:
    source = tmp_path / "export.jsonl"
    source.write_bytes(jsonl(valid_lines()))
    full = make_device(tmp_path / "full", FULL_DEVICE)
    with full.open("wb") as stdout:
        outcome, _ = run_tool(
            [*argv, "--source", f"file:{source}"], cwd=tmp_path, env=env, stdout=stdout
        )
    assert_error(outcome, 6, naming="standard output")
    assert full.is_char_device()
