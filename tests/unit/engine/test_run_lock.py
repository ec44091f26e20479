"""The run lock: one process runs a run at a time, and a dead holder never blocks a resume."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from micro_gastown.engine.state import RunState, RunStore
from micro_gastown.errors import ConfigError


def _store(tmp_path: Path) -> RunStore:
    store = RunStore(tmp_path / "runs")
    store.create(RunState("r1", "evolve", "", {}, {}))
    return store


def test_a_second_holder_is_refused_with_the_first_ones_pid(tmp_path: Path) -> None:
    store = _store(tmp_path)
    refused = rf"run r1 is being run by .* \(pid {os.getpid()}\)"
    with store.hold("r1"), pytest.raises(ConfigError, match=refused), store.hold("r1"):
        pass  # pragma: no cover
    with store.hold("r1"):  # released on exit
        pass


def test_a_killed_holder_releases_the_lock(tmp_path: Path) -> None:
    store = _store(tmp_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from pathlib import Path\n"
            "from micro_gastown.engine.state import RunStore\n"
            "with RunStore(Path(sys.argv[1])).hold('r1'):\n"
            "    print('held', flush=True)\n"
            "    sys.stdin.read()\n",  # until it is killed (or the test ends)
            str(tmp_path / "runs"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ConfigError, match=f"pid {holder.pid}"), store.hold("r1"):
            pass  # pragma: no cover
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        # a process's descriptors are closed before it can be reaped: the lock is free now
        with store.hold("r1"):
            pass
    finally:
        holder.kill()
        holder.wait()
        for pipe in (holder.stdin, holder.stdout):
            if pipe is not None:
                pipe.close()


def test_a_forked_step_process_does_not_keep_the_lock(tmp_path: Path) -> None:
    """A step left running (its parent gone) must not block a resume: once the holder lets
    go, the lock is free while the forked child still lives."""
    store = _store(tmp_path)
    started, started_said = os.pipe()
    held_open, hold_open = os.pipe()
    with store.hold("r1"):
        pid = os.fork()
        if pid == 0:  # the child: a step process that outlives the hold
            try:
                # the fork has returned here, so the at-fork handlers have run
                os.write(started_said, b"x")
                os.read(held_open, 1)  # alive until the test lets go (or ends)
            finally:
                os._exit(0)
    os.close(started_said)
    os.close(held_open)
    try:
        assert select.select([started], [], [], 10)[0], "the forked child never started"
        # A new open file description conflicts with any copy still open, so this fails
        # if the child kept its copy of the lock.
        with store.hold("r1"):
            pass
        assert os.waitpid(pid, os.WNOHANG) == (0, 0), "the child was meant to be alive"
    finally:
        os.close(hold_open)
        os.close(started)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
