"""Sources that can block or never end (FIFOs, endless devices) and sources that are huge
(a gzip bomb, a 20 MB line), each run in a real process bounded in time and memory.

A FIFO is fed by a writer thread, or is shown not to hang the tool: the tool either refuses
it on its own or, once the test gives it a writer that closes at once, ends normally. An
endless device (zero, full) can only be refused. Peak memory comes from ``wait4``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from .corpus import ENDLESS_DEVICES, GZIP_BOMB, LONG_LINE, VALID_EVENTS, Input, jsonl, valid_lines
from .expect import assert_state_settled, check_events, load_report, run_state
from .outcome import (
    Outcome,
    assert_code_in,
    assert_error,
    assert_only_changed,
    assert_success,
    snapshot,
)
from .processes import Child, run_tool
from specialfiles import FifoWriter

pytestmark = pytest.mark.slow

MEMORY_BOUND_MIB = 256
"""Peak RSS a reader with a bound on its lines stays under, whatever the input (the
interpreter and the analyzer take about 60 MiB; a 400 MiB line read whole would not fit)."""

REFUSAL_TIMEOUT_S = 20.0
"""Refusing a source takes the interpreter's start-up and a look at the path: a few
seconds on a loaded machine. A tool still reading an endless device after this never ends."""

FIFO_SETTLE_S = 2.0
"""How long a tool gets to refuse a FIFO without a writer on its own before the test gives
it one (a writer that closes at once: end of input)."""

BOMB_TIMEOUT_S = 60.0
"""Inflating 400 MiB and skipping it takes a few seconds."""

Argv = Callable[[Path], list[str]]


def analyze_argv(tmp_path: Path) -> Argv:
    return lambda source: ["analyze", "--source", f"file:{source}", "-o", str(tmp_path / "r.json")]


def templates_argv(tmp_path: Path) -> Argv:
    return lambda source: ["logs", "templates", str(source)]


def evolve_argv(tmp_path: Path) -> Argv:
    config = tmp_path / "config"

    def argv(source: Path) -> list[str]:
        return [
            "evolve", "--formula", "hostile", "--config-dir", str(config),
            "--source", f"file:{source}", "--runs-dir", str(tmp_path / "runs"),
        ]  # fmt: skip

    return argv


COMMANDS: dict[str, Callable[[Path], Argv]] = {
    "analyze": analyze_argv,
    "logs-templates": templates_argv,
    "evolve": evolve_argv,
}


def expect_refused(command: str, outcome: Outcome, tmp_path: Path, source: Path) -> None:
    """Refused in one line (3); for ``evolve`` also as a run whose analyze step failed and
    says why (7, incomplete)."""
    if command != "evolve":
        assert_error(outcome, 3, naming=source.name)
        return
    assert_code_in(outcome, (7, 3))
    state = run_state(tmp_path / "runs")
    if outcome.returncode == 3:
        assert_error(outcome, 3, naming=source.name)
        assert state is None, "a run was created for a source refused at setup"
    else:
        assert state is not None
        assert_state_settled(state)
        assert state["steps"]["analyze"]["status"] == "failed"


def expect_read(command: str, outcome: Outcome, tmp_path: Path, events: int) -> None:
    assert_success(outcome)
    if command == "analyze":
        document = load_report((tmp_path / "r.json").read_bytes())
        assert document["summary"]["events_analyzed"] == events
    elif command == "evolve":
        state = run_state(tmp_path / "runs")
        assert state is not None
        assert state["status"] == "completed", state
        report = state["steps"]["analyze"]["outputs"]["output"]
        assert load_report(Path(report).read_bytes())["summary"]["events_analyzed"] == events


# -- FIFOs -------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["analyze", "evolve"])
def test_a_fifo_with_a_writer_is_read_to_its_end(
    command: str, tmp_path: Path, env: dict[str, str], analyze_only: Path
) -> None:
    """``file:`` on a FIFO (``file:/dev/stdin`` in a pipeline), with ``--jobs 2`` asked for
    (in the environment, so ``evolve`` passes it on): nothing is split or peeked away, and
    every event the writer sends is analyzed."""
    fifo = tmp_path / "in" / "fifo.jsonl"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    before = snapshot(tmp_path)
    writer = FifoWriter(fifo, jsonl(valid_lines()))
    try:
        outcome, _ = run_tool(
            COMMANDS[command](tmp_path)(fifo),
            cwd=tmp_path,
            env={**env, "MICRO_GASTOWN_JOBS": "2"},
        )
    finally:
        writer.close()
    expect_read(command, outcome, tmp_path, VALID_EVENTS)
    assert writer.written == len(writer.data), "the tool stopped reading before the end"
    assert_only_changed(tmp_path, before, outputs=[tmp_path / "r.json"], trees=[tmp_path / "runs"])


@pytest.mark.parametrize("command", ["analyze", "logs-templates", "evolve"])
def test_a_fifo_without_a_writer_does_not_block_forever(
    command: str, tmp_path: Path, env: dict[str, str], analyze_only: Path
) -> None:
    """Refused on its own (3, one line), or, once a writer opens the FIFO and closes it at
    once, read as the empty input it then is: never blocked for good."""
    fifo = tmp_path / "in" / "fifo.jsonl"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    before = snapshot(tmp_path)
    with Child(COMMANDS[command](tmp_path)(fifo), cwd=tmp_path, env=env) as child:
        fed = None
        if not child.ends_within(FIFO_SETTLE_S):
            fed = FifoWriter(fifo, b"")
        try:
            child.wait(60)
        finally:
            if fed is not None:
                fed.close()
        outcome = child.outcome()
    if fed is None and outcome.returncode != 0:
        expect_refused(command, outcome, tmp_path, fifo)
    else:
        expect_read(command, outcome, tmp_path, 0)
    assert_only_changed(tmp_path, before, outputs=[tmp_path / "r.json"], trees=[tmp_path / "runs"])


# -- endless devices ---------------------------------------------------------------------


_DEVICE_RUNS = [
    pytest.param(device, command, id=f"{device.name}-{command}")
    for device in ENDLESS_DEVICES
    for command in (
        ["analyze", "logs-templates", "evolve"] if device.name == "zero-device" else ["analyze"]
    )
]


@pytest.mark.parametrize(("device", "command"), _DEVICE_RUNS)
def test_an_endless_device_is_refused_in_bounded_time_and_memory(
    device: Input, command: str, tmp_path: Path, env: dict[str, str], analyze_only: Path
) -> None:
    """A zero or full device reads as NUL bytes for ever: the tool refuses it (3, one line
    naming it) instead of reading until the machine runs out of memory."""
    source = device.build(tmp_path)
    before = snapshot(tmp_path)
    argv = COMMANDS[command](tmp_path)(source)
    outcome, child = run_tool(argv, cwd=tmp_path, env=env, timeout=REFUSAL_TIMEOUT_S)
    expect_refused(command, outcome, tmp_path, source)
    assert child.maxrss_kib < MEMORY_BOUND_MIB * 1024, f"peak RSS {child.maxrss_kib} KiB"
    assert_only_changed(tmp_path, before, trees=[tmp_path / "runs"])


# -- huge inputs -------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["analyze", "logs-templates"])
def test_a_gzip_bomb_is_read_in_bounded_memory(
    command: str, tmp_path: Path, env: dict[str, str]
) -> None:
    """400 MiB of NUL bytes without a newline, in a ~400 KiB gzip: skipped or refused as
    an over-long line, never held whole in memory."""
    source = GZIP_BOMB.build(tmp_path)
    argv = COMMANDS[command](tmp_path)(source)
    outcome, child = run_tool(argv, cwd=tmp_path, env=env, timeout=BOMB_TIMEOUT_S)
    assert_code_in(outcome, (0, 3))
    if outcome.returncode == 3:
        assert_error(outcome, 3, naming=source.name)
    elif command == "analyze":
        assert load_report((tmp_path / "r.json").read_bytes())["summary"]["events_analyzed"] == 0
    assert child.maxrss_kib < MEMORY_BOUND_MIB * 1024, f"peak RSS {child.maxrss_kib} KiB"


def test_a_20mb_line_does_not_stop_the_analysis(tmp_path: Path, env: dict[str, str]) -> None:
    """An export line of 20 MB (an error whose message is 20 MB of words) among valid
    lines: the run ends normally with a schema-valid report of the valid events."""
    source = LONG_LINE.build(tmp_path)
    outcome, _ = run_tool(analyze_argv(tmp_path)(source), cwd=tmp_path, env=env, timeout=180)
    assert_success(outcome)
    check_events(LONG_LINE, load_report((tmp_path / "r.json").read_bytes()))
    assert (tmp_path / "r.json").stat().st_size < 1 << 20, "the report carries the 20 MB line"
