"""A refine stopped by a signal mid-build cleans up after itself: the worktree is removed
(from disk and from git's records) and the build command it started stops too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from micro_gastown.testing.demo_refine import REPLAY
from refinesample import config_with_must_pass, isolated, make_sample

WORKTREE_PREFIX = "micro-gastown-refine-"


def _gone(pid: int) -> bool:
    """No such process, or only its zombie (nobody here may reap an orphan)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


def _wait_for(path: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("signum", "exit_code"),
    [(signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGINT, 130)],
    ids=["SIGTERM", "SIGINT"],
)
def test_a_signal_mid_build_removes_the_worktree_and_stops_the_build(
    tmp_path: Path, signum: int, exit_code: int
) -> None:
    with isolated(tmp_path):
        sample = make_sample(tmp_path / "sample")
        started = tmp_path / "build-started"
        build = tmp_path / "build.sh"
        build.write_text(f"#!/bin/sh\necho $$ > {started}.tmp\nmv {started}.tmp {started}\n"
                         "exec sleep 120\n")  # fmt: skip
        build.chmod(0o755)
        config = config_with_must_pass(tmp_path / "config", [str(build)])
        argv = [
            sys.executable, "-m", "micro_gastown", "refine",
            "--input", str(sample.report_path), "--repo", str(sample.checkout),
            "--backend", "replay", "--replay", str(REPLAY), "--config-dir", str(config),
            "--output", str(tmp_path / "changes.diff"),
        ]  # fmt: skip
        refine = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        try:
            _wait_for(started, 60)
            build_pid = int(started.read_text())
            scratch = Path(os.environ["TMPDIR"])
            assert [p.name for p in scratch.iterdir() if p.name.startswith(WORKTREE_PREFIX)]
            refine.send_signal(signum)
            _, err = refine.communicate(timeout=30)
        finally:
            refine.kill()
        assert refine.returncode == exit_code, err.decode()
        assert b"Traceback" not in err
        deadline = time.monotonic() + 10
        while not _gone(build_pid):
            assert time.monotonic() < deadline, "the build command outlived refine"
            time.sleep(0.05)
        assert not [p for p in scratch.iterdir() if p.name.startswith(WORKTREE_PREFIX)]
        listed = subprocess.run(
            ["git", "worktree", "list", "--porcelain"],
            cwd=sample.checkout, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert listed.count("worktree ") == 1  # the checkout itself, nothing else
        assert not (tmp_path / "changes.json").exists()  # nothing half-written
