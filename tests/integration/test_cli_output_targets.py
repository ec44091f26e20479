"""Where output goes: --output/-o to links, FIFOs and devices, and a stdout that is full,
closed or gone (`| head`): one line and exit 5, never a traceback or a replaced device."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from micro_gastown.cli import main

from factories import small_export
from specialfiles import FULL_DEVICE, NULL_DEVICE, FifoReader, make_device

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "exomonad-sample"
WHOLE_FILE = ["--since", "2000-01-01T00:00:00Z", "--until", "2100-01-01T00:00:00Z"]


def _export(tmp_path: Path) -> Path:
    return small_export(tmp_path / "export.jsonl")


def _analyze(tmp_path: Path, *extra: str) -> list[str]:
    return ["analyze", "--source", f"file:{_export(tmp_path)}", "--jobs", "1", *extra]


def _one_error_line(err: str) -> str:
    assert "Traceback" not in err, err
    assert "Exception ignored" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert re.match(r"micro-gastown( [a-z-]+){1,2}: error: ", lines[0]), err
    return lines[0]


# --- --output / -o ---------------------------------------------------------------------


def test_analyze_output_through_a_symlink_writes_its_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "reports" / "today.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    assert main(_analyze(tmp_path, "--output", str(link))) == 0
    assert link.is_symlink()
    assert json.loads(target.read_text())["metadata"]["events_analyzed"] == 50


def test_analyze_output_to_a_fifo_reaches_its_reader(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "report.pipe"
    os.mkfifo(fifo)
    reader = FifoReader(fifo)  # opened first, so the tool's open for writing never waits
    try:
        code = main(_analyze(tmp_path, "--output", str(fifo)))
        assert reader.wait_for_eof(30), "the writer never closed the FIFO"
    finally:
        reader.close()
    assert code == 0
    assert json.loads(bytes(reader.received))["metadata"]["events_analyzed"] == 50
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_analyze_output_to_a_null_device_keeps_the_device(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    null = make_device(tmp_path / "null", NULL_DEVICE)
    assert main(_analyze(tmp_path, "--output", str(null))) == 0
    info = os.lstat(null)
    assert stat.S_ISCHR(info.st_mode)
    assert info.st_rdev == os.makedev(1, 3)


def test_analyze_output_to_a_full_device_is_exit_6(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full = make_device(tmp_path / "full", FULL_DEVICE)
    assert main(_analyze(tmp_path, "--output", str(full))) == 6
    line = _one_error_line(capsys.readouterr().err)
    assert f"{full}: cannot write (No space left on device)" in line
    assert stat.S_ISCHR(os.lstat(full).st_mode)


def test_analyze_output_dash_is_stdout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(_analyze(tmp_path, "--output", "-")) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["metadata"]["events_analyzed"] == 50
    assert "wrote" not in err
    assert not (tmp_path / "-").exists()


def test_logs_export_to_a_null_device_keeps_the_device(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    null = make_device(tmp_path / "null", NULL_DEVICE)
    source = f"file:{_export(tmp_path)}"
    assert main(["logs", "export", "--source", source, *WHOLE_FILE, "-o", str(null)]) == 0
    assert stat.S_ISCHR(os.lstat(null).st_mode)


def test_logs_export_to_a_symlink_writes_its_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "day.jsonl"
    link = tmp_path / "latest.jsonl"
    link.symlink_to(target.name)  # dangling until the export creates it
    source = f"file:{_export(tmp_path)}"
    assert main(["logs", "export", "--source", source, *WHOLE_FILE, "-o", str(link)]) == 0
    assert link.is_symlink()
    assert len(target.read_text().splitlines()) == 50


# --- MICRO_GASTOWN_JOBS ------------------------------------------------------------------


def test_a_bad_jobs_environment_value_is_blamed_on_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MICRO_GASTOWN_JOBS", "0")
    assert main(["analyze", "--source", f"file:{_export(tmp_path)}"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "MICRO_GASTOWN_JOBS='0': expected 1 or more" in line
    assert "--jobs" not in line


# --- standard output that is full, closed or gone (a real process, real descriptors) -------


def _commands(tmp_path: Path) -> dict[str, list[str]]:
    source = f"file:{_export(tmp_path)}"
    templates = tmp_path / "messages.txt"
    templates.write_text("tool search failed\ntool fetch failed\n")
    return {
        "analyze": ["analyze", "--source", source, "--jobs", "1"],
        "logs export": ["logs", "export", "--source", source, *WHOLE_FILE],
        "logs transitions": ["logs", "transitions", "--source", source, *WHOLE_FILE],
        "logs templates": ["logs", "templates", str(templates)],
        "graph": ["graph", "--repo", str(SAMPLE)],
        "validate": ["validate"],
    }


COMMANDS = ["analyze", "logs export", "logs transitions", "logs templates", "graph", "validate"]


# Standard output buffered as users have it (the test runner may set PYTHONUNBUFFERED): a
# buffered write can fail late, at the final flush or at interpreter exit.
BUFFERED_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}


def _run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "micro_gastown", *args],
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        timeout=120,
        env=BUFFERED_ENV,
        **kwargs,
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_stdout_on_a_full_device_is_one_line_and_exit_6(tmp_path: Path, command: str) -> None:
    args = _commands(tmp_path)[command]
    full = make_device(tmp_path / "full", FULL_DEVICE)
    with full.open("wb") as stdout:
        result = _run(args, stdout=stdout)
    line = _one_error_line(result.stderr)
    assert "standard output: cannot write (No space left on device)" in line
    assert result.returncode == 6


@pytest.mark.parametrize("command", ["analyze", "graph"])
def test_a_closed_stdout_is_one_line_and_exit_6(tmp_path: Path, command: str) -> None:
    args = _commands(tmp_path)[command]
    script = 'exec "$@" >&-'
    result = subprocess.run(
        ["bash", "-c", script, "bash", sys.executable, "-m", "micro_gastown", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=BUFFERED_ENV,
    )
    line = _one_error_line(result.stderr)
    assert "standard output is closed" in line
    assert result.returncode == 6


@pytest.mark.parametrize("command", ["graph", "validate"])
def test_a_reader_that_left_ends_quietly(tmp_path: Path, command: str) -> None:
    """`... | head`: the pipe's reader is gone before the first write. Exit 0 and nothing
    on stderr, not even Python's "Exception ignored ... BrokenPipeError" at exit."""
    args = _commands(tmp_path)[command]
    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    try:
        result = _run(args, stdout=write_fd)
    finally:
        os.close(write_fd)
    assert result.stderr == ""
    assert result.returncode == 0


@pytest.mark.parametrize("command", ["analyze", "export"])
def test_an_output_that_is_the_source_file_is_refused_and_the_logs_kept(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--output` naming the export being read (here through a symlink) would replace the
    logs with the report: a usage error, and the export is untouched."""
    export = _export(tmp_path)
    before = export.read_bytes()
    alias = tmp_path / "alias.jsonl"
    alias.symlink_to(export)
    argv = (
        ["analyze", "--source", f"file:{export}", "--jobs", "1"]
        if command == "analyze"
        else ["logs", "export", "--source", f"file:{export}"]
    )
    assert main([*argv, "--output", str(alias)]) == 2
    assert "is the --source file itself" in capsys.readouterr().err
    assert export.read_bytes() == before
