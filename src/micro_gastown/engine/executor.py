"""Run a DAG formula's steps in dependency order, recording every transition.

Semantics ("nondeterministic idempotence"; docs/formats.md describes the formula side):

- A step runs when every step it ``needs`` is done (completed, or skipped by its
  condition); if one of them failed or is blocked, it is blocked.
- ``condition`` is evaluated against the run's vars; false → skipped.
- Before running, the skill may *discover* that the step's effect already exists in the
  world (a PR for the same fingerprint): the step is then completed without running.
- Each attempt runs in a child process, so ``timeout_seconds`` is enforced by killing it;
  up to ``retry_count`` more attempts follow a failure that another attempt could fix (an
  error that is ``retryable``: an outage, a timeout). An error that is not (a bad flag,
  file, checkout, key or model, a corrupt input) or an exception that is not a
  MicroGastownError (a bug in our code) would only fail the same way again: not retried.
  A timeout sends SIGTERM (the skill's cleanup runs, e.g. a `claude` process group is
  killed), then SIGKILL after the engine's ``term_grace_s`` (``TERM_GRACE_S`` unless a
  test asks for less). An attempt whose process cannot be started (no fork: a process
  limit, no memory) fails with the OS's reason, and may be retried like an outage.
  Each model call an attempt makes is charged to the ledger and saved in ``run.json`` as
  it is reported, whether the attempt then succeeds, fails, times out or is interrupted.
- ``run.json`` is rewritten atomically after every transition. A completed step is never
  run again: resuming a killed run re-runs only what had not completed, unless the file
  its ``output`` names is gone or unreadable (then it runs again, and says so).
- Ctrl-C, SIGTERM or SIGHUP (see :func:`exit_on_term`) stop the step in progress and save
  the run as ``interrupted`` (the step as failed, "interrupted by ...") before the
  exception goes on: the run stays resumable.
- A model call that would exceed the budget is not sent: the run stops cleanly
  (``stopped``), resumable with a larger ``--budget-usd``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
import stat
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Protocol

from micro_gastown.engine.state import RunState, RunStatus, RunStore, StepState, StepStatus, now_iso
from micro_gastown.errors import BudgetExceeded, MicroGastownError, StepUnavailable
from micro_gastown.llm.base import CallRecord, Meter
from micro_gastown.parent_death import die_with_parent
from micro_gastown.termination import STOP_SIGNALS, Terminated, exit_on_term


class Outcome(StrEnum):
    """How one attempt of a step ended."""

    OK = "ok"
    ERROR = "error"  # worth another attempt, if the step has retries left
    SETUP = "setup"  # a bad flag, file, key or model, a corrupt input: fails the same way
    CRASH = "crash"  # not a MicroGastownError: a bug, which another attempt only repeats
    UNAVAILABLE = "unavailable"  # the skill is not built
    BUDGET = "budget"  # the next model call could pass the budget: the run stops
    TIMEOUT = "timeout"


_NOT_RETRIED = frozenset(
    {Outcome.OK, Outcome.SETUP, Outcome.CRASH, Outcome.UNAVAILABLE, Outcome.BUDGET}
)
TERM_GRACE_S = 5.0
"""After a timeout the step process gets SIGTERM, and this long to end its own children
(a `claude` process group) before SIGKILL."""


@dataclass(frozen=True)
class StepContext:
    run_id: str
    step_id: str
    inputs: dict[str, Any]
    directory: Path
    """Where the step writes its outputs (``<run>/steps/<step-id>/``)."""
    settings: Mapping[str, Any]
    previous: Mapping[str, Mapping[str, Any]]
    """Outputs of the steps completed so far, by step id."""
    meter: Meter
    say: Callable[[str], None] = field(default=lambda text: print(text, file=sys.stderr))
    """Tell the user a line while the step runs (the face words who is speaking)."""


class Skill(Protocol):
    """The Python side of a skill formula."""

    name: str

    def discover(self, context: StepContext) -> dict[str, Any] | None:
        """The outputs of a step whose effect already exists in the world, else None."""
        ...

    def run(self, context: StepContext) -> dict[str, Any]:
        """Do the step; return JSON-safe outputs. ``output``, if there, names the file the
        steps that need this one read; ``warnings``, a list of one-line strings, is shown
        in the run's summary."""
        ...


@dataclass(frozen=True)
class PlannedStep:
    """One step of the formula, as the engine needs it (from the loaded DAG formula)."""

    id: str
    skill: str
    needs: tuple[str, ...] = ()
    condition: str | None = None
    inputs: Mapping[str, Any] = field(default_factory=dict)
    timeout_seconds: float = 600.0
    retry_count: int = 0


class Ledger(Protocol):
    def meter(self, step_id: str) -> Meter: ...

    def to_dict(self) -> dict[str, Any]: ...


@dataclass
class _Attempt:
    outcome: Outcome
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


class _ReportingMeter:
    """The child's meter: checks against the ledger, and reports each call to the parent
    as it happens, so even an attempt killed by its timeout is charged for its calls."""

    def __init__(self, inner: Meter, conn: Connection) -> None:
        self._inner = inner
        self._conn = conn

    def before(self, model: str, input_tokens: int, max_output_tokens: int) -> None:
        self._inner.before(model, input_tokens, max_output_tokens)

    def after(self, record: CallRecord) -> None:
        self._conn.send(("call", record.to_dict()))
        self._inner.after(record)

    def remaining_usd(self) -> Decimal | None:
        return self._inner.remaining_usd()


def _child(
    skill: Skill, context: StepContext, ledger: Ledger, conn: Connection, parent: int
) -> None:
    # Its own process group: the engine stops the step with everything it started (a
    # scan's worker processes), and a Ctrl-C at the terminal reaches only the engine,
    # which then stops the step in order.
    os.setpgid(0, 0)
    # SIGTERM (a timeout) unwinds like an exception, so a skill's own cleanup runs: the
    # Claude Code backend kills its `claude` process group on the way out.
    signal.signal(signal.SIGTERM, exit_on_term)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # held while forking
    # SIGTERM if the engine dies, however it dies (kill -9, the OOM killer): the step is in
    # its own group, so nothing else would stop it.
    die_with_parent(parent, signal.SIGTERM)
    meter = _ReportingMeter(ledger.meter(context.step_id), conn)
    context = replace(context, meter=meter)
    try:
        outputs = skill.run(context)
        message: tuple[Outcome, dict[str, Any], str | None] = (Outcome.OK, outputs, None)
    except BudgetExceeded as exc:
        message = (Outcome.BUDGET, {}, str(exc))
    except StepUnavailable as exc:
        message = (Outcome.UNAVAILABLE, {}, str(exc))
    except MicroGastownError as exc:
        message = (Outcome.ERROR if exc.retryable else Outcome.SETUP, {}, str(exc))
    except Exception as exc:  # a bug in a skill: keep the traceback in the run state
        error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
        message = (Outcome.CRASH, {}, error)
    conn.send(("done", *message))
    conn.close()


def _signal_name(exc: BaseException) -> str:
    if isinstance(exc, Terminated):
        try:
            return signal.Signals(exc.signum).name
        except ValueError:
            return f"signal {exc.signum}"
    return "SIGINT (Ctrl-C)"


_STOP_SIGNALS = STOP_SIGNALS


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP back for a moment that must not be cut short (a
    fork, the save of an interrupted run); they are delivered when it is over."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _lost_output(record: StepState) -> str | None:
    """Why the file a completed step's ``output`` names cannot be read any more (deleted,
    replaced, no permission), or None when it can (or the step names no file)."""
    output = record.outputs.get("output")
    if record.status is not StepStatus.COMPLETED or not isinstance(output, str) or not output:
        return None
    try:
        if not stat.S_ISREG(os.stat(output).st_mode):
            return f"{output} is not a regular file"
        with open(output, "rb") as handle:
            handle.read(1)
    except OSError as exc:
        return f"{output}: {exc.strerror or exc}"
    return None


def _stop(child: BaseProcess, grace_s: float) -> None:
    """End a step process and its process group: SIGTERM, ``grace_s`` for cleanup, then
    SIGKILL (at once if the wait is interrupted). Safe to call when it has ended."""
    if child.pid is None:
        return
    _signal(child, signal.SIGTERM)
    try:
        child.join(grace_s)
    finally:
        _signal(child, signal.SIGKILL)  # whatever is left, workers included
        child.join()


def _signal(child: BaseProcess, signum: int) -> None:
    """``signum`` to the step's process group (a group id is never reused while a member
    lives), or to the step alone if it is not reaped yet and has no group."""
    assert child.pid is not None
    try:
        os.killpg(child.pid, signum)
    except ProcessLookupError:  # no such group: all ended, or not grouped yet
        if child.exitcode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signum)
    except PermissionError:
        pass


def _drain_calls(receive: Connection, charge: Callable[[CallRecord], None]) -> None:
    """Charge calls the step reported after the engine stopped listening (during its
    grace period, or in the pipe at Ctrl-C); a message cut off by SIGKILL is dropped."""
    try:
        while receive.poll(0):
            message = receive.recv()
            if message[0] == "call":
                charge(CallRecord.from_dict(message[1]))
    except (EOFError, OSError, pickle.UnpicklingError):
        pass


def _cannot_start(exc: OSError) -> str:
    """Why an attempt never began; a limit that may pass, so the step may try again."""
    return f"cannot start the step's process ({exc.strerror or exc})"


class Engine:
    """Runs one run of one formula against a store of run directories."""

    def __init__(
        self,
        store: RunStore,
        skills: Mapping[str, Skill],
        ledger: Ledger,
        *,
        condition: Callable[[str, Mapping[str, str]], bool],
        substitute: Callable[[Any, Mapping[str, str]], Any],
        echo: Callable[[str], None] = lambda line: None,
        term_grace_s: float = TERM_GRACE_S,
    ) -> None:
        """``term_grace_s``: how long a step told to stop (timeout, Ctrl-C) may take to
        clean up before it is killed; tests pass a fraction of a second, not to wait."""
        self.store = store
        self.skills = skills
        self.ledger = ledger
        self._condition = condition
        self._substitute = substitute
        self._echo = echo
        self._term_grace_s = term_grace_s

    def execute(self, state: RunState, plan: list[PlannedStep]) -> RunState:
        """Run (or continue) ``state`` over the steps of ``plan`` (in dependency order).

        Ctrl-C, or SIGTERM/SIGHUP turned into :class:`Terminated`, saves the run as
        ``interrupted`` and is raised again."""
        for step in plan:
            state.steps.setdefault(step.id, StepState())
        state.status = RunStatus.RUNNING
        state.message = None
        self._save(state)
        try:
            self._execute_steps(state, plan)
        except (KeyboardInterrupt, Terminated) as exc:
            self._interrupted(state, _signal_name(exc))
            raise
        state.status = self._final_status(state)
        self._save(state)
        return state

    def _interrupted(self, state: RunState, how: str) -> None:
        with _signals_held():
            for step_id, record in state.steps.items():
                if record.status is StepStatus.RUNNING:
                    record.status = StepStatus.FAILED
                    record.error = f"interrupted by {how}"
                    record.finished_at = now_iso()
                    self._echo(f"{step_id}: interrupted by {how}")
            state.status = RunStatus.INTERRUPTED
            state.message = f"interrupted by {how}; the run is resumable"
            self._save(state)

    def _execute_steps(self, state: RunState, plan: list[PlannedStep]) -> None:
        for step in plan:
            record = state.steps[step.id]
            lost = _lost_output(record)
            if lost is not None:
                record.status = StepStatus.PENDING
                record.outputs = {}
                record.discovered = False
                self._save(state)
                self._echo(f"{step.id}: its output is gone or unreadable ({lost}); running again")
            if record.status.done:
                continue  # never run again
            if state.status is RunStatus.STOPPED:
                break
            waiting = [n for n in step.needs if not state.steps[n].status.done]
            if waiting:
                record.status = StepStatus.BLOCKED
                record.error = f"needs {', '.join(waiting)}, which did not complete"
                self._save(state)
                self._echo(f"{step.id}: blocked ({record.error})")
                continue
            if step.condition is not None and not self._condition(step.condition, state.vars):
                record.status = StepStatus.SKIPPED
                record.error = None
                record.finished_at = now_iso()
                self._save(state)
                self._echo(f"{step.id}: skipped ({step.condition} is false)")
                continue
            self._run_step(state, step, record)

    def _final_status(self, state: RunState) -> RunStatus:
        if state.status is RunStatus.STOPPED:
            return RunStatus.STOPPED
        if all(step.status.done for step in state.steps.values()):
            return RunStatus.COMPLETED
        return RunStatus.INCOMPLETE

    def _run_step(self, state: RunState, step: PlannedStep, record: StepState) -> None:
        skill = self.skills.get(step.skill)
        values = dict(state.vars)
        for step_id, done in state.steps.items():
            if done.status is StepStatus.COMPLETED and "output" in done.outputs:
                values[f"steps.{step_id}.output"] = str(done.outputs["output"])
        inputs = {k: self._substitute(v, values) for k, v in step.inputs.items()}
        context = StepContext(
            state.run_id,
            step.id,
            inputs,
            self.store.step_directory(state.run_id, step.id),
            state.settings,
            {k: v.outputs for k, v in state.steps.items() if v.status is StepStatus.COMPLETED},
            self.ledger.meter(step.id),
            say=self._echo,
        )
        record.inputs = inputs
        if skill is None:
            missing = _Attempt(Outcome.UNAVAILABLE, error=f"no skill {step.skill!r}")
            self._finish(state, step.id, record, missing)
            return
        found = skill.discover(context)
        if found is not None:
            record.status = StepStatus.COMPLETED
            record.discovered = True
            record.outputs = found
            record.error = None
            record.finished_at = now_iso()
            self._save(state)
            self._echo(f"{step.id}: already done (found its effect), not repeated")
            return
        for _ in range(step.retry_count + 1):
            record.status = StepStatus.RUNNING
            record.attempts += 1
            record.started_at = now_iso()
            record.error = None
            self._save(state)
            self._echo(f"{step.id}: running (attempt {record.attempts})")
            started = time.perf_counter()
            meter = self.ledger.meter(step.id)

            def charge(call: CallRecord, meter: Meter = meter) -> None:
                meter.after(call)  # recorded at once: a crash now still counts it as spent
                self._save(state)

            attempt = self._attempt(skill, context, step.timeout_seconds, charge)
            record.duration_ms = int((time.perf_counter() - started) * 1000)
            self._finish(state, step.id, record, attempt)
            if attempt.outcome in _NOT_RETRIED:
                return

    def _finish(self, state: RunState, step_id: str, record: StepState, attempt: _Attempt) -> None:
        record.finished_at = now_iso()
        if attempt.outcome is Outcome.OK:
            record.status = StepStatus.COMPLETED
            record.outputs = attempt.outputs
            record.error = None
        else:
            record.status = StepStatus.FAILED
            record.error = attempt.error
            if attempt.outcome is Outcome.BUDGET:
                state.status = RunStatus.STOPPED
                state.message = attempt.error
        self._save(state)
        first_line = (attempt.error or "").partition("\n")[0]  # a crash's traceback is in run.json
        what = "completed" if attempt.outcome is Outcome.OK else f"failed: {first_line}"
        self._echo(f"{step_id}: {what}")

    def _attempt(
        self,
        skill: Skill,
        context: StepContext,
        timeout: float,
        charge: Callable[[CallRecord], None],
    ) -> _Attempt:
        ctx = multiprocessing.get_context("fork")
        try:
            receive, send = ctx.Pipe(duplex=False)
        except OSError as exc:  # out of file descriptors
            return _Attempt(Outcome.ERROR, error=_cannot_start(exc))
        # Not a daemon: a step may start processes of its own (a parallel file scan).
        child = ctx.Process(target=_child, args=(skill, context, self.ledger, send, os.getpid()))
        try:
            # A signal landing in the fork's own handlers would be swallowed there (Python
            # ignores exceptions in at-fork callbacks): hold it until the child is started.
            with _signals_held():
                try:
                    child.start()
                except OSError as exc:  # no fork: out of processes or memory, for now
                    return _Attempt(Outcome.ERROR, error=_cannot_start(exc))
            with contextlib.suppress(OSError):  # also from here, so no signal can miss it
                os.setpgid(child.pid, child.pid)  # type: ignore[arg-type]
            send.close()
            deadline = time.monotonic() + timeout
            while True:
                if not receive.poll(max(deadline - time.monotonic(), 0)):
                    _stop(child, self._term_grace_s)
                    return _Attempt(Outcome.TIMEOUT, error=f"timed out after {timeout:g} s")
                try:
                    message = receive.recv()
                except EOFError:
                    child.join()
                    died = f"the step's process died (exit {child.exitcode})"
                    return _Attempt(Outcome.ERROR, error=died)
                if message[0] == "call":
                    charge(CallRecord.from_dict(message[1]))
                    continue
                _, outcome, outputs, error = message
                child.join(self._term_grace_s)  # what it left running is stopped below
                return _Attempt(Outcome(outcome), outputs, error)
        finally:
            _stop(child, self._term_grace_s)  # also when the parent is interrupted (Ctrl-C)
            send.close()  # if an interrupt came before it was handed over
            _drain_calls(receive, charge)
            receive.close()

    def _save(self, state: RunState) -> None:
        state.ledger = self.ledger.to_dict()
        self.store.save(state)
