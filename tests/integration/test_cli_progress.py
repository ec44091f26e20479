"""A long analyze shows progress on a terminal and nothing when stderr is not one."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from micro_gastown.cli.progress import figures
from micro_gastown.progress import TICK_ENTRIES, Reading
from micro_gastown.testing.synthetic import generate_export


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("progress") / "export.jsonl"
    generate_export(path, lines=3 * TICK_ENTRIES)
    return path


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MICRO_GASTOWN_PROGRESS"}
    return {**env, "MICRO_GASTOWN_JOBS": "1", "TERM": "xterm", "COLUMNS": "160", **extra}


def _analyze_on_a_terminal(export: Path, out: Path, env: dict[str, str]) -> str:
    """Run analyze with stderr on a pseudo-terminal; everything written to it."""
    leader, follower = pty.openpty()
    argv = [sys.executable, "-m", "micro_gastown", "analyze", "--source", f"file:{export}"]
    with subprocess.Popen(
        [*argv, "--output", str(out)], stderr=follower, stdout=subprocess.DEVNULL, env=env
    ) as child:
        os.close(follower)
        seen = bytearray()
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            seen += chunk
        assert child.wait(timeout=120) == 0, bytes(seen)
    os.close(leader)
    return seen.decode("utf-8", "replace")


def test_a_terminal_sees_the_step_lines_and_bytes(export: Path, tmp_path: Path) -> None:
    shown = _analyze_on_a_terminal(export, tmp_path / "report.json", _env())
    assert f"reading file:{export}" in shown
    assert "lines" in shown
    assert " MB" in shown  # bytes of the file read so far, of its size
    assert "wrote " in shown  # the command's own line is still there


def test_sigterm_mid_read_gives_the_terminal_its_cursor_back(export: Path, tmp_path: Path) -> None:
    """The display hides the cursor; a signalled analyze must not leave the shell without it."""
    big = tmp_path / "big.jsonl"
    generate_export(big, lines=10 * TICK_ENTRIES)
    leader, follower = pty.openpty()
    argv = [sys.executable, "-m", "micro_gastown", "analyze", "--source", f"file:{big}"]
    with subprocess.Popen(
        [*argv, "--output", str(tmp_path / "r.json")],
        stderr=follower,
        stdout=subprocess.DEVNULL,
        env=_env(),
    ) as child:
        os.close(follower)
        seen = bytearray()
        while b"reading file:" not in seen:  # the display is up: the read is under way
            chunk = os.read(leader, 65536)
            assert chunk, bytes(seen)
            seen += chunk
        child.send_signal(signal.SIGTERM)
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        assert child.wait(timeout=60) == 128 + signal.SIGTERM
    os.close(leader)
    hidden, shown = seen.count(b"\x1b[?25l"), seen.count(b"\x1b[?25h")
    assert hidden >= 1
    assert shown == hidden, bytes(seen[-300:])
    assert not (tmp_path / "r.json").exists()  # nothing half-written


def test_progress_can_be_turned_off_on_a_terminal(export: Path, tmp_path: Path) -> None:
    shown = _analyze_on_a_terminal(
        export, tmp_path / "report.json", _env(MICRO_GASTOWN_PROGRESS="0")
    )
    assert "reading file:" not in shown
    assert "wrote " in shown


def test_a_pipe_gets_no_progress(export: Path, tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "micro_gastown", "analyze", "--source", f"file:{export}"]
    done = subprocess.run(
        [*argv, "--output", str(tmp_path / "r.json")],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        line for line in done.stderr.splitlines() if line.startswith("wrote ")
    ]


def test_figures_read_as_a_person_reads_them() -> None:
    reading = Reading("reading file:x", 1_234_567, 120_000_000, 400_000_000, requests=12)
    assert figures(reading, 5.0) == (
        "1,234,567 lines · 120.0 of 400.0 MB (30%) · 12 requests · 246,913 lines/s"
    )
    assert figures(Reading("reading loki", 10, 2_500_000), 0.0) == "10 lines · 2.5 MB"
