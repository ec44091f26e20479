"""Run the formula's ``must_pass`` commands (``cabal build all``, ``cabal test all``) in the
worktree, and say honestly whether they passed, failed or could not run.

The commands compile and test code a model wrote, so they run with care: split with
``shlex`` and started without a shell; with stdin closed and an environment stripped of
credentials (``build_environment``); in a session of their own, so a timeout, or our own
process being stopped, kills the whole process group (compilers, test binaries, anything
they spawned) with SIGTERM and, after a grace period, SIGKILL. Their output is read as it
comes and only its last ``tail_chars`` are kept, so gigabytes of output cost no memory;
the tail is stripped of invisible characters and secrets before anyone sees it.

A missing tool or a timeout is NOT_RUN ("not validated: ..."), never a pass; after the
first command that does not pass, the rest are NOT_RUN too ("not run: ... did not pass").
"""

from __future__ import annotations

import contextlib
import functools
import os
import selectors
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from micro_gastown.evidence.redact import Redactor, default_redactor
from micro_gastown.evidence.sanitize import neutralize_line, neutralize_text
from micro_gastown.parent_death import die_with_parent
from micro_gastown.refine.model import CheckOutcome, CheckResult
from micro_gastown.termination import STOP_SIGNALS

__all__ = ["KILL_GRACE_S", "build_environment", "run_commands"]

KILL_GRACE_S = 3.0
"""Seconds between SIGTERM and SIGKILL for a command's process group."""

_READ_CHUNK = 65536
_DRAIN_AFTER_EXIT_S = 2.0
"""How long output is still read once the command has exited (a grandchild may hold the
pipe open); then what is left of its process group is killed."""

_DROPPED_NAMES = frozenset({"ANTHROPIC_API_KEY", "GITHUB_TOKEN", "GH_TOKEN", "SSH_AUTH_SOCK"})
_DROPPED_PREFIXES = ("LOKI_", "MICRO_GASTOWN_LOKI_")
_DROPPED_WORDS = (
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "API_KEY",
    "APIKEY",
    "ACCESS_KEY",
    "CREDENTIAL",
    "PRIVATE_KEY",
)


def build_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without credentials, for commands that build code a model wrote.

    Dropped, whatever the letter case: ``ANTHROPIC_API_KEY``, ``GITHUB_TOKEN``, ``GH_TOKEN``,
    ``LOKI_*`` and ``MICRO_GASTOWN_LOKI_*``, ``SSH_AUTH_SOCK`` (the SSH agent is a
    credential too) and any name containing TOKEN (so ``ACTIONS_RUNTIME_TOKEN``), SECRET,
    PASSWORD, PASSWD, API_KEY, APIKEY, ACCESS_KEY, CREDENTIAL or PRIVATE_KEY.
    """
    return {name: value for name, value in environ.items() if not _is_credential(name)}


def _is_credential(name: str) -> bool:
    upper = name.upper()
    return (
        upper in _DROPPED_NAMES
        or upper.startswith(_DROPPED_PREFIXES)
        or any(word in upper for word in _DROPPED_WORDS)
    )


def run_commands(
    commands: Sequence[str],
    cwd: Path,
    *,
    timeout_s: float,
    env: Mapping[str, str],
    tail_chars: int = 4000,
    kill_grace_s: float = KILL_GRACE_S,
) -> list[CheckResult]:
    """Run ``commands`` in order in ``cwd``, each within ``timeout_s``, with exactly ``env``
    (pass it through ``build_environment``); one ``CheckResult`` per command, named by the
    command as configured. Never raises for what a command does; ``KeyboardInterrupt`` and
    ``SystemExit`` (our own SIGINT/SIGTERM) pass through after the running command's process
    group is killed."""
    if tail_chars < 1 or timeout_s <= 0:
        raise ValueError("tail_chars >= 1 and timeout_s > 0 are required")
    results: list[CheckResult] = []
    blocker: str | None = None
    for command in commands:
        shown = neutralize_line(command)
        if blocker is not None:
            reason = f"not run: `{blocker}` did not pass"
            results.append(CheckResult(command, CheckOutcome.NOT_RUN, reason=reason))
            continue
        result = _run_one(command, shown, cwd, timeout_s, env, tail_chars, kill_grace_s)
        results.append(result)
        if result.outcome is not CheckOutcome.PASSED:
            blocker = shown
    return results


def _run_one(
    command: str,
    shown: str,
    cwd: Path,
    timeout_s: float,
    env: Mapping[str, str],
    tail_chars: int,
    kill_grace_s: float,
) -> CheckResult:
    started = time.monotonic()

    def result(outcome: CheckOutcome, reason: str, output: str = "") -> CheckResult:
        duration = time.monotonic() - started
        return CheckResult(command, outcome, output=output, reason=reason, duration_s=duration)

    try:
        argv = shlex.split(command)
    except ValueError as exc:
        return result(CheckOutcome.FAILED, f"`{shown}` cannot be parsed as a command: {exc}")
    if not argv:
        return result(CheckOutcome.FAILED, "an empty command cannot be run")
    tool = neutralize_line(argv[0])
    missing = _missing_executable(argv[0], cwd, env)
    if missing is not None:
        return result(CheckOutcome.NOT_RUN, f"not validated: `{tool}` {missing}")
    if not cwd.is_dir():
        return result(CheckOutcome.NOT_RUN, f"not validated: {cwd} is not a directory")
    tail = _Tail(tail_chars * 4)  # UTF-8: at most 4 bytes a character
    # A stop signal (SIGTERM, Ctrl-C) that lands while Popen is still starting the command
    # would leave it running with nobody to stop it: hold them until the try below, which
    # stops the group whatever happens in it. The command itself starts with them unheld.
    unheld = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            preexec_fn=functools.partial(_in_child, os.getpid(), unheld),
        )
    except OSError as exc:
        signal.pthread_sigmask(signal.SIG_SETMASK, unheld)
        why = exc.strerror or str(exc)
        return result(CheckOutcome.NOT_RUN, f"not validated: `{tool}` cannot be started ({why})")
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, unheld)  # a held stop is raised here
        finished = _read_until_exit(process, tail, started + timeout_s)
    finally:
        # Also on KeyboardInterrupt/SystemExit: nothing of the command outlives this call.
        _stop_group(process, kill_grace_s)
    output = _clean(tail, tail_chars)
    if not finished:
        reason = f"not validated: `{shown}` timed out after {timeout_s:g} s"
        return result(CheckOutcome.NOT_RUN, reason, output)
    code = process.returncode
    if code == 0:
        return result(CheckOutcome.PASSED, "", output)
    if code < 0:
        name = _signal_name(-code)
        return result(CheckOutcome.FAILED, f"`{shown}` was killed by {name}", output)
    return result(CheckOutcome.FAILED, f"`{shown}` exited with status {code}", output)


def _in_child(parent: int, unheld: set[int | signal.Signals]) -> None:
    """In the command's process before it runs: the stop signals unheld again, and killed
    with us if we are killed outright (SIGKILL, the OOM killer)."""
    signal.pthread_sigmask(signal.SIG_SETMASK, unheld)
    die_with_parent(parent, signal.SIGKILL)


def _missing_executable(program: str, cwd: Path, env: Mapping[str, str]) -> str | None:
    """Why ``program`` cannot be run (as the rest of a reason), or None when it can.

    A name with a ``/`` is a path (relative to ``cwd``, as the command will see it); any
    other is looked up on ``env``'s PATH, as ``subprocess`` will look it up.
    """
    if "/" in program:
        path = cwd / program
        if path.is_file() and os.access(path, os.X_OK):
            return None
        return "does not exist or is not executable"
    if shutil.which(program, path=env.get("PATH", os.defpath)) is None:
        return "is not installed (not on PATH)"
    return None


class _Tail:
    """The last ``limit`` bytes of a stream, and how many bytes came before them."""

    __slots__ = ("data", "dropped", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        excess = len(self.data) - self.limit
        if excess > 0:
            del self.data[:excess]
            self.dropped += excess


def _read_until_exit(process: subprocess.Popen[bytes], tail: _Tail, deadline: float) -> bool:
    """Read the command's output into ``tail`` until it exits and its output ends (True),
    or until ``deadline`` (False). Once it has exited, output is drained for a short while
    only: a grandchild holding the pipe open must not hold up the result."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    os.set_blocking(fd, False)
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        open_ = True
        drain_until: float | None = None
        while True:
            now = time.monotonic()
            if process.poll() is not None:
                if not open_:
                    return True
                drain_until = drain_until or min(deadline, now + _DRAIN_AFTER_EXIT_S)
                if now >= drain_until:
                    return True
            if now >= deadline:
                return False
            if not open_:
                time.sleep(min(0.05, deadline - now))  # the pipe is closed: wait for the exit
                continue
            limit = drain_until if drain_until is not None else deadline
            if selector.select(timeout=max(0.0, min(limit - now, 0.5))):
                open_ = _read_available(fd, tail)
                if not open_:
                    selector.unregister(fd)


def _read_available(fd: int, tail: _Tail) -> bool:
    """Read what the pipe holds into ``tail``; False at the end of the output."""
    try:
        chunk = os.read(fd, _READ_CHUNK)
    except BlockingIOError:  # a spurious wake-up
        return True
    if not chunk:
        return False
    tail.add(chunk)
    return True


def _stop_group(process: subprocess.Popen[bytes], grace_s: float) -> None:
    """Kill what is left of the command's process group: SIGTERM, then SIGKILL after
    ``grace_s``; reap the command and close its pipe."""
    group = process.pid  # start_new_session: the command leads its own group
    if _signal_group(group, signal.SIGTERM):
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            process.poll()  # reap the leader, or it keeps the group alive as a zombie
            if not _group_alive(group):
                break
            time.sleep(0.05)
        else:
            _signal_group(group, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):  # only a process stuck in the kernel
        process.wait(timeout=grace_s + 5)
    if process.stdout is not None:
        process.stdout.close()


def _group_alive(group: int) -> bool:
    """Whether a process of the group still runs. Zombies do not count: a grandchild
    reparented to an init that does not reap (some containers) stays one for ever, and
    ``killpg(group, 0)`` still finds it. Without ``/proc``, ``killpg`` decides."""
    if not _signal_group(group, 0):
        return False
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as file:
                fields = file.read().rsplit(b")", 1)[-1].split()
        except OSError:
            continue  # ended meanwhile
        # After the command name: state, parent pid, process group.
        if len(fields) > 2 and fields[2] == str(group).encode() and fields[0] not in (b"Z", b"X"):
            return True
    return False


def _signal_group(group: int, signum: int) -> bool:
    """Send ``signum`` to the group; False when the group no longer exists."""
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a member changed its credentials
        return True
    return True


def _clean(tail: _Tail, tail_chars: int) -> str:
    """The kept output as text: decoded, cut to ``tail_chars`` at a line start when it was
    cut at all (half a line could be half a secret no rule recognises), invisible
    characters removed, secrets redacted."""
    text = tail.data.decode("utf-8", errors="replace")
    cut = tail.dropped > 0 or len(text) > tail_chars
    if len(text) > tail_chars:
        text = text[-tail_chars:]
    if cut:
        newline = text.find("\n")
        text = text[newline + 1 :] if 0 <= newline < len(text) - 1 else text
    text = _redactor(tail_chars).redact_text(neutralize_text(text))
    return f"[earlier output cut]\n{text}" if cut else text


@functools.lru_cache(maxsize=4)
def _redactor(tail_chars: int) -> Redactor:
    """The default redactor, or one that keeps ``tail_chars`` whole when that is longer."""
    redactor = default_redactor()
    return redactor if tail_chars <= redactor.max_chars else Redactor(max_chars=tail_chars)


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
