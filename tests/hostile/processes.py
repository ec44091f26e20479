"""The tool as a real process: started in its own session, watched through ``/proc``,
signalled, and never left running.

Why ``/proc`` and sessions: a worker whose parent died is re-parented to init, so its parent
chain no longer leads back to the process the test started. It keeps its session, though
(``start_new_session`` makes the child a session leader, and nothing in the tool calls
``setsid``), and it keeps the process group it was in. A background poller also records
every descendant it sees while the child runs, by pid and start time, so a process that
left both would still be found. Whatever survives is killed by pid in ``close()``, so a
failing test leaves nothing running.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .outcome import Outcome

MEMORY_LIMIT = 3 << 30
"""Address space each started process may use: a tool that reads an endless device into
memory fails inside this bound instead of taking the machine with it."""

_ENV_PREFIXES = ("ANTHROPIC_", "LOKI_", "GRAFANA_", "MICRO_GASTOWN_")


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The test process's environment without any credential or setting of the tool, with
    HOME in the test's directory (so nothing the tool writes there escapes the test)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_ENV_PREFIXES)}
    env["HOME"] = str(home)
    env["MICRO_GASTOWN_NO_LIVE_LLM"] = "1"
    env.update(extra)
    return env


@dataclass(frozen=True)
class ProcInfo:
    pid: int
    ppid: int
    pgid: int
    sid: int
    state: str
    start: int  # clock ticks after boot: with the pid, names one process for good
    command: str

    @property
    def alive(self) -> bool:
        return self.state not in ("Z", "X")


def read_proc(pid: int) -> ProcInfo | None:
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    head, _, rest = data.rpartition(b") ")
    fields = rest.split()
    command = head.partition(b" (")[2].decode(errors="replace")
    return ProcInfo(
        pid=pid,
        ppid=int(fields[1]),
        pgid=int(fields[2]),
        sid=int(fields[3]),
        state=fields[0].decode(),
        start=int(fields[19]),
        command=command,
    )


def all_processes() -> list[ProcInfo]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = read_proc(int(entry))
            if info is not None:
                found.append(info)
    return found


def open_files(pid: int) -> set[str]:
    """The paths a process has open (empty if it is gone)."""
    paths: set[str] = set()
    try:
        entries = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return paths
    for entry in entries:
        try:
            paths.add(os.readlink(f"/proc/{pid}/fd/{entry}"))
        except OSError:
            continue
    return paths


class _Drain(threading.Thread):
    """Reads one of the child's pipes to its end, so the child never blocks on it and the
    test can see whether (and when) every holder of the pipe let go of it."""

    def __init__(self, stream: IO[bytes], name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.stream = stream
        self.data = bytearray()
        self.eof = threading.Event()
        self.start()

    def run(self) -> None:
        try:
            while chunk := self.stream.read1(1 << 16):  # type: ignore[attr-defined]
                self.data += chunk
        finally:
            self.eof.set()


def peak_rss_kib(pid: int) -> int:
    """The peak resident memory of ``pid``'s program so far (``VmHWM``), 0 once it is gone.

    Not ``ru_maxrss`` from ``wait4``: the kernel starts a child's count at the memory of the
    process it was forked from (the whole pytest process) and carries it across exec, so a
    long test session would blame its own size on the tool. ``VmHWM`` belongs to the address
    space exec made; polled while the child runs, it misses at most the last poll interval.
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0  # a zombie: its memory is already gone


def _limit_memory(limit: int | None) -> Callable[[], None]:
    def apply() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


class Child:
    """``python -m micro_gastown ARGV`` in a new session, with its pipes drained, its
    descendants recorded and a bound on its memory. Use as a context manager."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        stdout: Any = subprocess.PIPE,
        memory_limit: int | None = MEMORY_LIMIT,
    ) -> None:
        self.argv = tuple(argv)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "micro_gastown", *argv],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.PIPE,  # closed at once: an empty stdin, and no /dev/null needed
            stdout=stdout,
            stderr=subprocess.PIPE,
            start_new_session=True,
            # Set in the child before exec, so the bound holds from its first allocation.
            preexec_fn=_limit_memory(memory_limit),
        )
        self.pid = self.proc.pid
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        me = read_proc(self.pid)
        self.start_ticks = me.start if me is not None else 0
        self.returncode: int | None = None
        self.maxrss_kib = 0
        self.seen: dict[tuple[int, int], ProcInfo] = {}
        self.groups: set[int] = {self.pid}
        self._lock = threading.Lock()
        self._stdout = _Drain(self.proc.stdout, "stdout") if self.proc.stdout else None
        assert self.proc.stderr is not None
        self._stderr = _Drain(self.proc.stderr, "stderr")
        self._watching = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="proc-watcher", daemon=True)
        self._watcher.start()

    # -- watching ------------------------------------------------------------------------

    def _belongs(self, info: ProcInfo, by_pid: Mapping[int, ProcInfo]) -> bool:
        if info.pid == self.pid or info.sid == self.pid or info.pgid in self.groups:
            return info.start >= self.start_ticks
        if (info.pid, info.start) in self.seen:
            return True
        parent = by_pid.get(info.ppid)
        hops = 0
        while parent is not None and hops < 64:
            if (parent.pid, parent.start) in self.seen or (
                parent.pid == self.pid and parent.start == self.start_ticks
            ):
                return True
            parent = by_pid.get(parent.ppid)
            hops += 1
        return False

    def family(self) -> list[ProcInfo]:
        """The child and every process it started (directly or not) that still exists."""
        everyone = all_processes()
        by_pid = {info.pid: info for info in everyone}
        with self._lock:  # the watcher thread records too
            members = [info for info in everyone if self._belongs(info, by_pid)]
            for info in members:
                self.seen.setdefault((info.pid, info.start), info)
                self.groups.add(info.pgid)
        return members

    def _watch(self) -> None:
        while not self._watching.is_set():
            self.family()
            self._watching.wait(0.1)

    def descendants(self) -> list[ProcInfo]:
        return [info for info in self.family() if info.pid != self.pid and info.alive]

    def wait_until(self, condition: Any, timeout: float, what: str) -> None:
        """Poll ``condition()`` until true; fail naming ``what`` if the child ends first
        or the time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            if not self.running():
                raise AssertionError(
                    f"{what}: the process ended first; "
                    f"stderr: {bytes(self._stderr.data).decode(errors='replace')[-2000:]}"
                )
            time.sleep(0.02)
        raise AssertionError(f"{what}: not within {timeout} s")

    def reading(self, path: Path) -> bool:
        """Whether the child has ``path`` open: it is past its start-up, reading."""
        return str(path.resolve()) in open_files(self.pid)

    def descendants_reading(self, path: Path) -> int:
        """How many processes the child started have ``path`` open (a step, its workers)."""
        target = str(path.resolve())
        return sum(target in open_files(info.pid) for info in self.descendants())

    # -- ending --------------------------------------------------------------------------

    def running(self) -> bool:
        """Whether the child has not ended (it is not reaped: ``wait`` still sees it)."""
        if self.returncode is not None:
            return False
        ended = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        return ended is None

    def ends_within(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.running():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def send(self, signum: int) -> None:
        """``signum`` to the child alone, as ``kill PID`` would send it."""
        os.kill(self.pid, signum)

    def wait(self, timeout: float) -> int:
        """The exit code (``-N`` for death by signal N); kills everything and fails when
        the child does not end within ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            self.maxrss_kib = max(self.maxrss_kib, peak_rss_kib(self.pid))
            pid, status, _ = os.wait4(self.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                self.kill_all()
                os.wait4(self.pid, 0)
                self.proc.returncode = -9
                self.returncode = -9
                raise AssertionError(
                    f"micro-gastown {' '.join(self.argv)} did not end within {timeout} s; "
                    f"stderr: {self.stderr[-2000:]}"
                )
            time.sleep(0.02)
        self.returncode = os.waitstatus_to_exitcode(status)
        self.proc.returncode = self.returncode  # reaped here: Popen must not wait again
        return self.returncode

    def pipes_closed(self, timeout: float) -> bool:
        """Whether stdout and stderr reach EOF within ``timeout``: no process the child
        started still holds them."""
        deadline = time.monotonic() + timeout
        for drain in (self._stdout, self._stderr):
            if drain is not None and not drain.eof.wait(max(deadline - time.monotonic(), 0)):
                return False
        return True

    def survivors(self, grace: float = 5.0) -> list[ProcInfo]:
        """Processes of the child's family still alive after ``grace`` seconds."""
        deadline = time.monotonic() + grace
        while True:
            alive = [info for info in self.family() if info.alive and info.pid != self.pid]
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.05)

    def kill_all(self) -> None:
        """SIGKILL the child and every recorded descendant still alive, one by one."""
        members = self.family()
        with self._lock:
            recorded = list(self.seen.values())
        for info in [*members, *recorded]:
            current = read_proc(info.pid)
            if current is None or current.start != info.start or not current.alive:
                continue
            with contextlib.suppress(ProcessLookupError):
                os.kill(info.pid, signal.SIGKILL)

    @property
    def stdout(self) -> bytes:
        return bytes(self._stdout.data) if self._stdout is not None else b""

    @property
    def stderr(self) -> str:
        return bytes(self._stderr.data).decode(errors="replace")

    def outcome(self) -> Outcome:
        assert self.returncode is not None
        return Outcome(self.argv, self.returncode, self.stdout, self.stderr)

    def close(self) -> None:
        self._watching.set()
        self._watcher.join()
        if self.returncode is None:
            self.kill_all()
            with contextlib.suppress(AssertionError, ChildProcessError):
                self.wait(10)
        self.kill_all()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_tool(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float = 60,
    stdout: Any = subprocess.PIPE,
) -> tuple[Outcome, Child]:
    """Run the tool to its end (failing past ``timeout``); its outcome, and the finished
    child (for its peak memory, its pipes and what it left running)."""
    with Child(argv, cwd=cwd, env=env, stdout=stdout) as child:
        child.wait(timeout)
        child.pipes_closed(5)
        return child.outcome(), child
