"""A run's ``run.json`` as a pydantic model with a JSON Schema.

The engine keeps a run's state in plain dataclasses it mutates step by step
(:mod:`micro_gastown.engine.state`); this module says what the file may hold. The file is
read back from the user's disk, where it may have been edited, cut short or written to break
the tool, so the model refuses everything it does not describe (unknown keys, wrong types,
NaN, negative or absurd counts, an unknown status) and :class:`RunStateRecord` generates the
schema checked in as ``schemas/state/RunState.json`` (``make schemas``).

The on-disk format is the one the hand-written serialiser always wrote: a step records only
what it has (no ``null``, ``{}`` or ``false``; ``status`` and ``attempts`` always), a run
always records its ``vars``, ``settings``, ``steps`` and ``ledger``. The ledger is the LLM
runtime's own :class:`~micro_gastown.llm.records.LedgerRecord`, referenced, not re-described.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_serializer

from micro_gastown.llm.records import LedgerRecord

STATE_VERSION: Final = 1
"""The ``version`` of ``run.json`` this micro-gastown reads and writes."""

MAX_ATTEMPTS: Final = 10**6
"""Attempts of one step: far past any retry policy; more is a broken or hostile file."""

MAX_DURATION_MS: Final = 10**12
"""About 31 years, in milliseconds."""

RUN_ID_PATTERN: Final = r"^[^/.\u0000-\u001f\u007f][^/\u0000-\u001f\u007f]{0,199}$"
"""A run id names a directory under the runs root: no path, no hidden file, one line."""


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


Attempts = Annotated[int, Field(ge=0, le=MAX_ATTEMPTS)]
DurationMs = Annotated[int, Field(ge=0, le=MAX_DURATION_MS)]
RunId = Annotated[str, Field(pattern=RUN_ID_PATTERN)]
JsonObject = dict[str, JsonValue]


class _Persisted(BaseModel):
    """No unknown keys, no coercion (a ``"3"`` is not 3, ``true`` is not 1), no NaN."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class StepRecord(_Persisted):
    """One step of a run, as ``run.json`` stores it under ``steps.<step-id>``."""

    status: Annotated[StepStatus, Field(strict=False)]  # the file holds its value
    attempts: Attempts
    started_at: str | None = None
    finished_at: str | None = None
    duration_ms: DurationMs | None = None
    inputs: JsonObject = Field(default_factory=dict)
    outputs: JsonObject = Field(default_factory=dict)
    error: str | None = None
    discovered: bool = False
    """Completed by finding its effect already in the world, not by running it."""


class RunStateRecord(_Persisted):
    """A run's ``run.json``: what it was asked, what each step did, what it cost."""

    model_config = ConfigDict(title="RunState")

    version: Literal[1]
    run_id: RunId
    formula: str
    formula_path: str
    status: Annotated[RunStatus, Field(strict=False)]
    created_at: str
    updated_at: str
    vars: dict[str, str]
    settings: JsonObject
    """How the run was invoked (source, repo, backend, budget...), reused on resume."""
    steps: dict[str, StepRecord]
    ledger: LedgerRecord
    message: str | None = None

    @field_serializer("ledger")
    def _ledger_as_given(self, ledger: LedgerRecord) -> dict[str, Any]:
        """The ledger keeps the keys it was given (``{}`` before any call), whatever the
        run's own dump leaves out."""
        return ledger.model_dump(mode="json", exclude_unset=True)

    def to_json_dict(self) -> dict[str, Any]:
        """The document as ``run.json`` holds it (see the module's docstring)."""
        return self.model_dump(mode="json", exclude_defaults=True)
