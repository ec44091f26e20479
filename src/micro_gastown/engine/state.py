"""The recorded state of one run: what it was asked, what each step did, what it cost.

A run lives in its own directory (default ``.micro-gastown/runs/<run-id>/``): ``run.json``
holds this state and is rewritten atomically after every change of a step, so a run
killed at any instant leaves the state of its last finished transition; each step writes
its outputs (reports, proposals) under ``steps/<step-id>/``. ``evolve --resume RUN-ID``
loads it and carries on: a completed step is never run again. While a process runs a
run it holds ``lock`` there (an advisory ``flock``, released by the kernel when the process
dies, however it dies), so two processes never run the same run at once.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

from micro_gastown.atomicfile import write_atomic
from micro_gastown.errors import ConfigError, OutputError

STATE_FILE = "run.json"
LOCK_FILE = "lock"
STATE_VERSION = 1

_held: set[int] = set()
"""Lock descriptors this process holds. A forked step process closes its copies, so the
lock goes with the process that runs the run, not with a step left running."""


def _close_held_in_child() -> None:
    for fd in _held:
        with suppress(OSError):
            os.close(fd)
    _held.clear()


os.register_at_fork(after_in_child=_close_held_in_child)


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"  # on disk only while a process runs it, or after it was killed
    COMPLETED = "completed"
    SKIPPED = "skipped"  # its condition was false
    FAILED = "failed"
    BLOCKED = "blocked"  # a step it needs did not complete

    @property
    def done(self) -> bool:
        """Finished for good: the steps that need it may run."""
        return self in (StepStatus.COMPLETED, StepStatus.SKIPPED)


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"  # every step completed or was skipped
    INCOMPLETE = "incomplete"  # some step failed or is blocked; resumable
    STOPPED = "stopped"  # stopped cleanly (budget); resumable with a larger budget
    INTERRUPTED = "interrupted"  # a signal (Ctrl-C, SIGTERM, SIGHUP) ended it; resumable


@dataclass
class StepState:
    status: StepStatus = StepStatus.PENDING
    attempts: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    duration_ms: int | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    discovered: bool = False
    """Completed by finding its effect already in the world, not by running it."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return {k: v for k, v in data.items() if v not in (None, {}, False) or k == "attempts"}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepState:
        return cls(
            status=StepStatus(data.get("status", "pending")),
            attempts=int(data.get("attempts", 0)),
            started_at=data.get("started_at"),
            finished_at=data.get("finished_at"),
            duration_ms=data.get("duration_ms"),
            inputs=dict(data.get("inputs") or {}),
            outputs=dict(data.get("outputs") or {}),
            error=data.get("error"),
            discovered=bool(data.get("discovered", False)),
        )


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run_id(clock: datetime | None = None) -> str:
    """``20261122-051500-3f9a``: sortable by start time, unique enough for one machine."""
    moment = clock or datetime.now(UTC)
    return f"{moment:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


@dataclass
class RunState:
    run_id: str
    formula: str
    formula_path: str
    vars: dict[str, str]
    settings: dict[str, Any] = field(default_factory=dict)
    """How the run was invoked (source, repo, backend, budget...), reused on resume."""
    status: RunStatus = RunStatus.RUNNING
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    steps: dict[str, StepState] = field(default_factory=dict)
    ledger: dict[str, Any] = field(default_factory=dict)
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "run_id": self.run_id,
            "formula": self.formula,
            "formula_path": self.formula_path,
            "status": self.status.value,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "vars": self.vars,
            "settings": self.settings,
            "steps": {step_id: step.to_dict() for step_id, step in self.steps.items()},
            "ledger": self.ledger,
            **({"message": self.message} if self.message else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: Path) -> RunState:
        if data.get("version") != STATE_VERSION:
            raise ConfigError(
                f"{origin}: run state version {data.get('version')!r}, this micro-gastown "
                f"reads version {STATE_VERSION}"
            )
        try:
            return cls(
                run_id=str(data["run_id"]),
                formula=str(data["formula"]),
                formula_path=str(data["formula_path"]),
                vars={str(k): str(v) for k, v in data["vars"].items()},
                settings=dict(data.get("settings") or {}),
                status=RunStatus(data["status"]),
                created_at=str(data["created_at"]),
                updated_at=str(data["updated_at"]),
                steps={k: StepState.from_dict(v) for k, v in data["steps"].items()},
                ledger=dict(data.get("ledger") or {}),
                message=data.get("message"),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"{origin}: not a readable run state ({exc!r})") from None


class RunStore:
    """Run directories under one root (default ``.micro-gastown/runs``)."""

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()  # a run resumed from another directory finds its files

    def directory(self, run_id: str) -> Path:
        if not run_id or "/" in run_id or run_id.startswith("."):
            raise ConfigError(f"run id {run_id!r}: not a run id")
        return self.root / run_id

    def step_directory(self, run_id: str, step_id: str) -> Path:
        path = self.directory(run_id) / "steps" / step_id
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{path}: cannot create ({exc.strerror or exc})") from None
        return path

    def create(self, state: RunState) -> None:
        """Make the run's directory and write its first state; a directory left without
        its state file (a full disk, an interrupt) is removed again, so no run exists."""
        directory = self.directory(state.run_id)
        try:
            directory.mkdir(parents=True, exist_ok=False)
        except FileExistsError:
            raise ConfigError(f"{directory}: a run with this id exists already") from None
        except OSError as exc:
            raise OutputError(
                f"{directory}: cannot create the run directory ({exc.strerror or exc})"
            ) from None
        try:
            self.save(state)
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise

    @contextmanager
    def hold(self, run_id: str) -> Iterator[None]:
        """Run ``run_id`` exclusively; ConfigError at once if another process runs it."""
        path = self.directory(run_id) / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot open the run's lock ({exc.strerror})") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                raise ConfigError(
                    f"run {run_id} is being run by another micro-gastown process (pid "
                    f"{holder}); wait for it to finish, then resume"
                ) from None
            with suppress(OSError):  # the holder's pid only informs; a full disk may refuse it
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            _held.add(fd)
            yield
        finally:
            _held.discard(fd)
            os.close(fd)

    def save(self, state: RunState) -> None:
        """Rewrite ``run.json`` atomically; OutputError naming it when it cannot be written
        (the file is then left as it was)."""
        state.updated_at = now_iso()
        data = orjson.dumps(state.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        path = self.directory(state.run_id) / STATE_FILE
        try:
            write_atomic(path, data + b"\n")
        except OSError as exc:  # one the writer let through (a close on a full disk once did)
            raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None

    def load(self, run_id: str) -> RunState:
        path = self.directory(run_id) / STATE_FILE
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            known = sorted(p.parent.name for p in self.root.glob("*/" + STATE_FILE))
            hint = f"; runs here: {', '.join(p for p in known[-5:])}" if known else ""
            raise ConfigError(f"--resume {run_id}: no run state at {path}{hint}") from None
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: not a run state")
        return RunState.from_dict(data, path)
