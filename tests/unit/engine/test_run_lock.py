"""The run lock: one process runs a run at a time, and a dead holder never blocks a resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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
            "import sys, time\n"
            "from pathlib import Path\n"
            "from micro_gastown.engine.state import RunStore\n"
            "with RunStore(Path(sys.argv[1])).hold('r1'):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(60)\n",
            str(tmp_path / "runs"),
        ],
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
        deadline = time.monotonic() + 5
        while True:  # the kernel drops the lock with the process
            try:
                with store.hold("r1"):
                    break
            except ConfigError:
                assert time.monotonic() < deadline, "the lock outlived its holder"
                time.sleep(0.05)
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_a_forked_step_process_does_not_keep_the_lock(tmp_path: Path) -> None:
    """A step left running (its parent gone) must not block a resume: once the holder lets
    go, the lock is free while the forked child still lives."""
    store = _store(tmp_path)
    with store.hold("r1"):
        pid = os.fork()
        if pid == 0:  # the child: a step process that outlives the hold
            time.sleep(5)
            os._exit(0)
    try:
        # A new open file description conflicts with any copy still open. The child drops
        # its copy right after the fork (it may not have run yet): allow it a moment.
        deadline = time.monotonic() + 2
        while True:
            try:
                with store.hold("r1"):
                    break
            except ConfigError:
                assert time.monotonic() < deadline, "the forked child kept the lock"
                time.sleep(0.02)
        assert os.waitpid(pid, os.WNOHANG) == (0, 0), "the child was meant to be alive"
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
