"""The worker processes of a split scan never outlive it, and report how they ended.

A worker left behind (its parent killed) blocks writing to a pipe nobody reads and holds
the caller's stdout open, so a caller waiting for EOF hangs: these tests are that caller.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from micro_gastown.analysis.workers import ForkedWorkers
from micro_gastown.errors import SourceError

from factories import Export

# Runs a real split scan whose worker, once started, writes its pid to stdout and then
# waits: long enough that only being killed ends it within the test.
_STUCK_SCAN = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from micro_gastown.analysis import scan
    from micro_gastown.analysis.runner import AnalysisSettings, run_analysis
    from micro_gastown.sources import FileSource
    from micro_gastown.timewindow import TimeWindow

    def stuck(*args):
        os.write(1, f"{os.getpid()}\\n".encode())
        time.sleep(120)

    scan._scan_part = stuck
    settings = AnalysisSettings(jobs=2, min_part_bytes=1)
    run_analysis(FileSource(Path(sys.argv[1])), TimeWindow(), settings)
    """
)


def _read_until(fd: int, deadline: float, done: Callable[[bytes], bool]) -> bytes:
    """Read ``fd`` until ``done(data)`` or EOF (``b""`` appended) or the deadline."""
    data = b""
    while not done(data) and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            return data + b"\0EOF"
        data += chunk
    return data


def _gone(pid: int) -> bool:
    """No such process, or only its zombie (dead, not yet reaped by whoever adopted it)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def _ends(pid: int, within: float) -> bool:
    """Whether ``pid`` is gone within ``within`` seconds (a dying process has closed its
    files, hence the EOF, a moment before it shows as a zombie)."""
    deadline = time.monotonic() + within
    while not _gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize(
    ("signum", "exit_code"),
    [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGKILL, -signal.SIGKILL)],
    ids=["TERM", "HUP", "KILL"],
)
def test_workers_end_with_a_signalled_scan(tmp_path: Path, signum: int, exit_code: int) -> None:
    """Whatever signal ends the scanning process, SIGKILL included, its worker ends too and
    the caller's pipe reaches EOF; SIGTERM/SIGHUP exit 128 + the signal, no traceback."""
    exp = Export()
    for i in range(2000):
        exp.transition(f"s{i % 9}", "a", "b")
    path = exp.write(tmp_path / "export.jsonl")
    scan = subprocess.Popen(
        [sys.executable, "-c", _STUCK_SCAN, str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert scan.stdout is not None
    assert scan.stderr is not None
    worker = 0
    try:
        started = _read_until(scan.stdout.fileno(), time.monotonic() + 60, lambda d: b"\n" in d)
        assert started.endswith(b"\n"), started
        worker = int(started)
        scan.send_signal(signum)
        rest = _read_until(scan.stdout.fileno(), time.monotonic() + 30, lambda d: False)
        assert rest.endswith(b"\0EOF")  # nobody holds the caller's stdout any more
        assert scan.wait(30) == exit_code
        assert _ends(worker, within=10)
        if signum != signal.SIGKILL:
            assert b"Traceback" not in scan.stderr.read()
    finally:
        if scan.poll() is None:
            scan.kill()
            scan.wait()
        if worker and not _gone(worker):
            os.kill(worker, signal.SIGKILL)  # what the old code left behind
        scan.stdout.close()
        scan.stderr.close()


def _what(index: int) -> str:
    return f"part {index + 2} of file:x"


def _raise_source_error() -> None:
    raise SourceError("x: read failed after line 7: Input/output error")


def test_a_worker_s_source_error_is_raised_in_the_parent() -> None:
    with (
        ForkedWorkers([_raise_source_error], _what) as workers,
        pytest.raises(SourceError, match="after line 7"),
    ):
        list(workers.results())


def _kill_myself() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_killed_is_a_source_error_naming_the_part_and_the_signal() -> None:
    with (
        ForkedWorkers([_kill_myself], _what) as workers,
        pytest.raises(SourceError, match=r"part 2 of file:x: .*killed by SIGKILL"),
    ):
        list(workers.results())


def _divide_by_zero() -> None:
    print(1 / 0)


def test_a_bug_in_a_worker_keeps_its_traceback() -> None:
    with (
        ForkedWorkers([_divide_by_zero], _what) as workers,
        pytest.raises(RuntimeError, match="ZeroDivisionError") as info,
    ):
        list(workers.results())
    assert "Traceback" in str(info.value)


def test_results_come_in_call_order_whatever_order_workers_finish_in() -> None:
    def after(seconds: float, value: int) -> Callable[[], int]:
        return lambda: time.sleep(seconds) or value

    with ForkedWorkers([after(0.3, 1), after(0.0, 2), after(0.1, 3)], _what) as workers:
        assert list(workers.results()) == [1, 2, 3]


def test_leaving_early_kills_and_reaps_the_workers() -> None:
    read_end, write_end = os.pipe()

    def wait_forever() -> None:
        os.write(write_end, f"{os.getpid()}\n".encode())
        time.sleep(120)

    class Stop(Exception):
        pass

    pids = b""
    left = False
    try:
        with ForkedWorkers([wait_forever, wait_forever], _what):
            pids = _read_until(read_end, time.monotonic() + 30, lambda d: d.count(b"\n") == 2)
            raise Stop
    except Stop:
        left = True
    finally:
        os.close(read_end)
        os.close(write_end)
    assert left
    assert pids.count(b"\n") == 2
    for pid in pids.split():
        with pytest.raises(ProcessLookupError):  # killed and reaped: no zombie left
            os.kill(int(pid), 0)
