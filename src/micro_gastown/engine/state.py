"""The recorded state of one run: what it was asked, what each step did, what it cost.

A run lives in its own directory (default ``.micro-gastown/runs/<run-id>/``): ``run.json``
holds this state and is rewritten atomically after every change of a step, so a run
killed at any instant leaves the state of its last finished transition; each step writes
its outputs (reports, proposals) under ``steps/<step-id>/``. ``evolve --resume RUN-ID``
loads it and carries on: a completed step is never run again. While a process runs a
run it holds ``lock`` there (an advisory ``flock``, released by the kernel when the process
dies, however it dies), so two processes never run the same run at once.

What ``run.json`` may hold is :class:`~micro_gastown.engine.records.RunStateRecord` (a
pydantic model with a checked-in JSON Schema); the dataclasses here are what the engine
mutates, converted to and from that record when the file is written and read.
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
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from micro_gastown.atomicfile import write_atomic
from micro_gastown.engine.records import (
    STATE_VERSION,
    RunStateRecord,
    RunStatus,
    StepRecord,
    StepStatus,
)
from micro_gastown.errors import ConfigError, OutputError
from micro_gastown.llm.records import first_problem
from micro_gastown.nesting import too_deep_at, too_deep_message

__all__ = [
    "LOCK_FILE",
    "STATE_FILE",
    "STATE_VERSION",
    "RunState",
    "RunStatus",
    "RunStore",
    "StepState",
    "StepStatus",
    "new_run_id",
    "now_iso",
    "parse_run_state",
]

STATE_FILE = "run.json"
LOCK_FILE = "lock"

_held: set[int] = set()
"""Lock descriptors this process holds. A forked step process closes its copies, so the
lock goes with the process that runs the run, not with a step left running."""


def _close_held_in_child() -> None:
    for fd in _held:
        with suppress(OSError):
            os.close(fd)
    _held.clear()


os.register_at_fork(after_in_child=_close_held_in_child)


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

    @classmethod
    def of(cls, record: StepRecord) -> StepState:
        return cls(**{name: getattr(record, name) for name in StepRecord.model_fields})


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

    def to_record(self) -> RunStateRecord:
        """The state as ``run.json`` records it. The run's values are first made what
        orjson has always written for them (a tuple an array, a datetime a string, NaN
        null); ValidationError when the result is still not what the file may hold (a
        ledger of another shape, a run id that is a path)."""
        plain = {
            "version": STATE_VERSION,
            "run_id": self.run_id,
            "formula": self.formula,
            "formula_path": self.formula_path,
            "status": self.status,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "vars": self.vars,
            "settings": self.settings,
            "steps": {step_id: asdict(step) for step_id, step in self.steps.items()},
            "ledger": self.ledger,
            "message": self.message or None,
        }
        return RunStateRecord.model_validate(orjson.loads(orjson.dumps(plain)))

    @classmethod
    def of(cls, record: RunStateRecord) -> RunState:
        return cls(
            run_id=record.run_id,
            formula=record.formula,
            formula_path=record.formula_path,
            vars=dict(record.vars),
            settings=dict(record.settings),
            status=record.status,
            created_at=record.created_at,
            updated_at=record.updated_at,
            steps={step_id: StepState.of(step) for step_id, step in record.steps.items()},
            ledger=record.ledger.model_dump(mode="json", exclude_unset=True),
            message=record.message,
        )


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
        path = self.directory(state.run_id) / STATE_FILE
        try:
            record = state.to_record()
        except ValidationError as exc:  # a value no run.json may hold: refused, not mangled
            where, problem = first_problem(exc)
            raise OutputError(f"{path}: cannot record the run state: {where}: {problem}") from None
        data = orjson.dumps(
            record.to_json_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
        )
        try:
            write_atomic(path, data + b"\n")
        except OSError as exc:  # one the writer let through (a close on a full disk once did)
            raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None

    def load(self, run_id: str) -> RunState:
        """The run's state as its ``run.json`` holds it; one ConfigError line naming the file
        and the key when the file is missing, not JSON, of another version or not a run
        state (edited, cut short, written to break the tool)."""
        path = self.directory(run_id) / STATE_FILE
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            known = sorted(p.parent.name for p in self.root.glob("*/" + STATE_FILE))
            hint = f"; runs here: {', '.join(p for p in known[-5:])}" if known else ""
            raise ConfigError(
                f"no run state at {path}{hint}", setting="resume", value=run_id
            ) from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
        return RunState.of(parse_run_state(raw, path))


def parse_run_state(raw: bytes, path: Path) -> RunStateRecord:
    """``run.json``'s bytes as a record; ConfigError naming ``path`` and the key."""
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not JSON (not UTF-8)") from None
    deep_line = too_deep_at(text)
    if deep_line is not None:  # before any parser or validator recurses into it
        raise ConfigError(f"{path}: line {deep_line}: {too_deep_message()}")
    try:
        data = orjson.loads(raw)  # refuses NaN, Infinity and numbers past a float
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: not a run state")
    version = data.get("version")
    if type(version) is not int or version != STATE_VERSION:
        shown = repr(version)
        shown = shown if len(shown) <= 40 else shown[:40] + "..."
        raise ConfigError(
            f"{path}: run state version {shown}, this micro-gastown reads version {STATE_VERSION}"
        )
    try:
        return RunStateRecord.model_validate(data)
    except ValidationError as exc:
        where, problem = first_problem(exc)
        raise ConfigError(f"{path}: not a readable run state: {where}: {problem}") from None
