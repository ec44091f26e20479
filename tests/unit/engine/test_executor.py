"""The engine: dependency order, conditions, retries, timeouts, budget stop, resume."""

from __future__ import annotations

import contextlib
import errno
import json
import multiprocessing
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from multiprocessing.synchronize import Event as ProcessEvent
from pathlib import Path
from typing import Any

import pytest

from micro_gastown.engine.executor import TERM_GRACE_S, Engine, PlannedStep, StepContext
from micro_gastown.engine.state import RunState, RunStatus, RunStore, StepStatus
from micro_gastown.errors import (
    BudgetExceeded,
    ConfigError,
    LlmAuthError,
    MicroGastownError,
    StepUnavailable,
)
from micro_gastown.llm.base import CallRecord, Meter, Usage
from micro_gastown.llm.ledger import CostLedger
from micro_gastown.llm.models import price_decimal

from pipewait import read_until

GRACE_S = 0.2
"""The grace a stopped step gets here before SIGKILL: the production 5 s
(``TERM_GRACE_S``) would only make the suite wait."""


def _hang() -> None:
    """Stay busy until the engine stops the step (SIGTERM unwinds this wait), and give
    up after a minute should that never come."""
    threading.Event().wait(60)


class FakeLedger:
    """Dollars = output tokens / 1000; the budget check uses the worst case."""

    def __init__(self, budget: float = 1.0) -> None:
        self.budget = budget
        self.calls: list[tuple[str, CallRecord]] = []

    @property
    def spent(self) -> float:
        return sum(c.usage.output_tokens for _, c in self.calls) / 1000

    def meter(self, step_id: str) -> Meter:
        ledger = self

        class _Meter:
            def before(self, model: str, input_tokens: int, max_output_tokens: int) -> None:
                if ledger.spent + max_output_tokens / 1000 > ledger.budget:
                    raise BudgetExceeded(f"budget ${ledger.budget} would be exceeded")

            def after(self, record: CallRecord) -> None:
                ledger.calls.append((step_id, record))

        return _Meter()

    def to_dict(self) -> dict[str, Any]:
        """The calls as a real ledger records them, priced as above (run.json holds no
        other shape)."""
        ledger = CostLedger(self.budget, price=lambda _, usage: Decimal(usage.output_tokens) / 1000)
        for step_id, record in self.calls:
            ledger.record(step_id, record)
        return ledger.to_dict()


class Scripted:
    """A skill whose behaviour per attempt is read from a script; logs every run."""

    def __init__(self, name: str, log: Path, script: list[str] | None = None) -> None:
        self.name = name
        self.log = log
        self.script = script or ["ok"]
        self.found: dict[str, Any] | None = None
        self.charge_saved: ProcessEvent | None = None
        """Set by the parent (see ``_SavesWatched``) once a charged call is saved."""

    def discover(self, context: StepContext) -> dict[str, Any] | None:
        return self.found

    def run(self, context: StepContext) -> dict[str, Any]:
        with self.log.open("a") as handle:
            handle.write(f"{context.step_id}\n")
        runs = self.log.read_text().split().count(context.step_id)
        action = self.script[min(runs, len(self.script)) - 1]
        if action == "fail":
            raise MicroGastownError("it broke")
        if action == "unavailable":
            raise StepUnavailable(f"{self.name} is not available yet")
        if action == "setup":
            raise ConfigError("polecats/x.toml: model.name: unknown model")
        if action == "spend":
            context.meter.before("haiku", 10, 100)
            context.meter.after(CallRecord("haiku", Usage(10, 100)))
        if action == "spend-then-hang":
            context.meter.after(CallRecord("haiku", Usage(10, 300)))
            _hang()
        if action == "overspend":
            context.meter.before("haiku", 10, 10_000)
        if action == "auth":
            raise LlmAuthError("the Anthropic API rejected the API key (401)")
        if action == "die":  # the step's process ends without a word (the OOM killer)
            os._exit(3)
        if action == "crash":  # a bug in our code, not an error we explain
            raise ValueError("an index went wrong")
        if action == "output":
            written = context.directory / "out.json"
            if written.is_dir():
                written.rmdir()
            written.unlink(missing_ok=True)  # whatever took the output's place
            written.write_text("{}")
            return {"output": str(written)}
        if action == "pool":  # a step that starts processes of its own (a parallel scan)
            with ProcessPoolExecutor(1) as pool:
                assert pool.submit(abs, -3).result() == 3
        if action == "spend-then-watch":
            # the parent must have saved the charge before the attempt ends
            context.meter.after(CallRecord("haiku", Usage(10, 200)))
            assert self.charge_saved is not None
            assert self.charge_saved.wait(5), "the charge was not saved while running"
        if action == "pool-then-hang":  # a scan's worker busy when the timeout strikes
            pool = ProcessPoolExecutor(1)
            worker = pool.submit(os.getpid).result()
            (context.directory / "worker.pid").write_text(str(worker))
            pool.submit(_hang)
            _hang()
        if action == "ignore-term-then-hang":  # a step whose cleanup never ends
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            (context.directory / "ignoring").write_text("yes")
            _hang()
        if action == "hang-then-clean-up":
            try:
                _hang()
            finally:  # runs on SIGTERM, as a Claude Code call's process-group kill does
                (context.directory / "cleaned-up").write_text("yes")
        return {
            "step": context.step_id,
            "inputs": dict(context.inputs),
            "seen": list(context.previous),
        }


def _condition(text: str, variables: Mapping[str, str]) -> bool:
    name = text.strip("!{}")
    value = variables.get(name, "") not in ("", "false")
    return not value if text.startswith("!") else value


def _substitute(value: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for name, replacement in variables.items():
            value = value.replace("{{" + name + "}}", replacement)
    return value


def _engine(
    tmp_path: Path,
    skills: Mapping[str, Scripted],
    ledger: FakeLedger | None = None,
    *,
    store: RunStore | None = None,
    grace_s: float = GRACE_S,
) -> Engine:
    return Engine(
        store or RunStore(tmp_path / "runs"),
        skills,
        ledger or FakeLedger(),
        condition=_condition,
        substitute=_substitute,
        term_grace_s=grace_s,
    )


def _state(tmp_path: Path, **variables: str) -> RunState:
    state = RunState("r1", "test", "formulas/test.formula.toml", dict(variables))
    RunStore(tmp_path / "runs").create(state)
    return state


def _ran(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def test_steps_run_in_dependency_order_and_see_earlier_outputs(tmp_path: Path) -> None:
    log = tmp_path / "log"
    skills = {"s": Scripted("s", log)}
    plan = [
        PlannedStep("a", "s", inputs={"since": "{{since}}"}),
        PlannedStep("b", "s", needs=("a",)),
        PlannedStep("c", "s", needs=("a",)),
        PlannedStep("d", "s", needs=("b", "c")),
    ]
    state = _engine(tmp_path, skills).execute(_state(tmp_path, since="24h"), plan)
    assert _ran(log) == ["a", "b", "c", "d"]
    assert state.status is RunStatus.COMPLETED
    assert state.steps["a"].outputs["inputs"] == {"since": "24h"}
    assert state.steps["d"].outputs["seen"] == ["a", "b", "c"]
    on_disk = json.loads((tmp_path / "runs" / "r1" / "run.json").read_text())
    assert on_disk["status"] == "completed"
    assert {k: v["status"] for k, v in on_disk["steps"].items()} == dict.fromkeys(
        "abcd", "completed"
    )


def test_a_false_condition_skips_and_dependents_still_run(tmp_path: Path) -> None:
    log = tmp_path / "log"
    plan = [
        PlannedStep("a", "s"),
        PlannedStep("pr", "s", needs=("a",), condition="!{{dry_run}}"),
        PlannedStep("after", "s", needs=("pr",)),
    ]
    state = _engine(tmp_path, {"s": Scripted("s", log)}).execute(
        _state(tmp_path, dry_run="true"), plan
    )
    assert _ran(log) == ["a", "after"]
    assert state.steps["pr"].status is StepStatus.SKIPPED
    assert state.status is RunStatus.COMPLETED


def test_a_failure_blocks_what_needs_it_and_leaves_the_run_incomplete(tmp_path: Path) -> None:
    log = tmp_path / "log"
    skills = {"s": Scripted("s", log), "bad": Scripted("bad", log, ["fail"])}
    plan = [PlannedStep("a", "bad"), PlannedStep("b", "s", needs=("a",)), PlannedStep("c", "s")]
    state = _engine(tmp_path, skills).execute(_state(tmp_path), plan)
    assert _ran(log) == ["a", "c"]
    assert (state.steps["a"].status, state.steps["a"].error) == (StepStatus.FAILED, "it broke")
    assert state.steps["b"].status is StepStatus.BLOCKED
    assert "needs a" in (state.steps["b"].error or "")
    assert state.status is RunStatus.INCOMPLETE


def test_retries_until_an_attempt_succeeds(tmp_path: Path) -> None:
    log = tmp_path / "log"
    skills = {"s": Scripted("s", log, ["fail", "fail", "ok"])}
    state = _engine(tmp_path, skills).execute(
        _state(tmp_path), [PlannedStep("a", "s", retry_count=2)]
    )
    assert state.steps["a"].status is StepStatus.COMPLETED
    assert state.steps["a"].attempts == 3
    short = _engine(tmp_path / "2", {"s": Scripted("s", tmp_path / "log2", ["fail"] * 3)})
    (tmp_path / "2").mkdir()
    state = short.execute(_state(tmp_path / "2"), [PlannedStep("a", "s", retry_count=1)])
    assert (state.steps["a"].status, state.steps["a"].attempts) == (StepStatus.FAILED, 2)


def test_a_setup_error_is_not_retried(tmp_path: Path) -> None:
    log = tmp_path / "log"
    skills = {"s": Scripted("s", log, ["setup", "ok"])}
    state = _engine(tmp_path, skills).execute(
        _state(tmp_path), [PlannedStep("a", "s", retry_count=3)]
    )
    assert (state.steps["a"].status, state.steps["a"].attempts) == (StepStatus.FAILED, 1)
    assert state.steps["a"].error == "polecats/x.toml: model.name: unknown model"
    assert _ran(log) == ["a"]


def test_a_crash_in_our_code_is_not_retried(tmp_path: Path) -> None:
    """Another attempt runs the same code on the same input: it would crash the same way."""
    log = tmp_path / "log"
    skills = {"s": Scripted("s", log, ["crash", "ok"])}
    state = _engine(tmp_path, skills).execute(
        _state(tmp_path), [PlannedStep("a", "s", retry_count=2)]
    )
    record = state.steps["a"]
    assert (record.status, record.attempts) == (StepStatus.FAILED, 1)
    assert (record.error or "").startswith("ValueError: an index went wrong\n")
    assert "Traceback" in (record.error or "")  # kept in the run state, for the bug report
    assert _ran(log) == ["a"]


def test_a_step_process_that_dies_without_a_word_fails_its_attempt_and_is_retried(
    tmp_path: Path,
) -> None:
    log = tmp_path / "log"
    skills = {"s": Scripted("s", log, ["die", "ok"])}
    said: list[str] = []
    engine = _engine(tmp_path, skills)
    engine._echo = said.append
    state = engine.execute(_state(tmp_path), [PlannedStep("a", "s", retry_count=1)])
    assert (state.steps["a"].status, state.steps["a"].attempts) == (StepStatus.COMPLETED, 2)
    assert "a: failed: the step's process died (exit 3)" in said
    assert _ran(log) == ["a", "a"]


def test_a_step_process_that_cannot_be_started_fails_its_step_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No fork (a process limit, no memory): the OS's refusal is the step's error, the run
    is saved incomplete and resumable, and nothing escapes as a traceback."""
    log = tmp_path / "log"
    skills = {"s": Scripted("s", log)}

    def no_fork() -> int:
        raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    state = _engine(tmp_path, skills).execute(
        _state(tmp_path), [PlannedStep("a", "s", retry_count=1)]
    )
    record = state.steps["a"]
    assert (record.status, record.attempts) == (StepStatus.FAILED, 2)  # worth another try
    assert record.error == "cannot start the step's process (Resource temporarily unavailable)"
    assert _ran(log) == []
    on_disk = json.loads((tmp_path / "runs" / "r1" / "run.json").read_text())
    assert on_disk["status"] == "incomplete"


@pytest.mark.parametrize("lost", ["deleted", "a directory", "unreadable"])
def test_resume_runs_a_completed_step_again_when_its_output_is_lost(
    tmp_path: Path, lost: str
) -> None:
    log = tmp_path / "log"
    skills = {"s": Scripted("s", log, ["output"]), "next": Scripted("next", log, ["fail"])}
    plan = [
        PlannedStep("a", "s", timeout_seconds=20),
        PlannedStep("b", "next", needs=("a",), timeout_seconds=20),
    ]
    first = _engine(tmp_path, skills).execute(_state(tmp_path), plan)
    assert first.steps["a"].status is StepStatus.COMPLETED
    output = Path(first.steps["a"].outputs["output"])
    output.unlink()
    if lost == "a directory":
        output.mkdir()
    elif lost == "unreadable":
        os.mkfifo(output)  # opening it would block: not a regular file
    said: list[str] = []
    engine = _engine(tmp_path, skills)
    engine._echo = said.append
    resumed = engine.execute(RunStore(tmp_path / "runs").load("r1"), plan)
    assert _ran(log) == ["a", "b", "a", "b"]
    assert (resumed.steps["a"].status, resumed.steps["a"].attempts) == (StepStatus.COMPLETED, 2)
    assert any(line.startswith(f"a: its output is gone or unreadable ({output}") for line in said)
    # a completed step whose output is in place is still never run again
    engine.execute(RunStore(tmp_path / "runs").load("r1"), plan)
    assert _ran(log) == ["a", "b", "a", "b", "b"]


def test_a_step_past_its_timeout_is_killed_and_its_calls_still_charged(tmp_path: Path) -> None:
    ledger = FakeLedger()
    skills = {"s": Scripted("s", tmp_path / "log", ["spend-then-hang"])}
    started = time.monotonic()
    state = _engine(tmp_path, skills, ledger).execute(
        _state(tmp_path), [PlannedStep("a", "s", timeout_seconds=0.5)]
    )
    assert time.monotonic() - started < 4  # killed, not waited for
    assert state.steps["a"].status is StepStatus.FAILED
    assert state.steps["a"].error == "timed out after 0.5 s"
    assert [step for step, _ in ledger.calls] == ["a"]
    assert state.ledger["spent_usd"] == "0.3"


def test_a_timeout_lets_the_step_clean_up_before_it_is_killed(tmp_path: Path) -> None:
    skills = {"s": Scripted("s", tmp_path / "log", ["hang-then-clean-up"])}
    # a grace far longer than the cleanup takes: the engine waits for the step to end
    engine = _engine(tmp_path, skills, grace_s=TERM_GRACE_S)
    state = engine.execute(_state(tmp_path), [PlannedStep("a", "s", timeout_seconds=0.5)])
    assert state.steps["a"].error == "timed out after 0.5 s"
    marker = RunStore(tmp_path / "runs").step_directory("r1", "a") / "cleaned-up"
    assert marker.read_text() == "yes"


def test_a_step_that_ignores_sigterm_is_killed_when_the_engines_grace_ends(
    tmp_path: Path,
) -> None:
    """The grace is the engine's to set: a step deaf to SIGTERM costs that, not 5 s."""
    skills = {"s": Scripted("s", tmp_path / "log", ["ignore-term-then-hang"])}
    started = time.monotonic()
    state = _engine(tmp_path, skills, grace_s=0.1).execute(
        _state(tmp_path), [PlannedStep("a", "s", timeout_seconds=0.5)]
    )
    assert state.steps["a"].error == "timed out after 0.5 s"
    step_dir = RunStore(tmp_path / "runs").step_directory("r1", "a")
    assert (step_dir / "ignoring").exists()  # SIGTERM could not end it: SIGKILL did
    assert time.monotonic() - started < TERM_GRACE_S


def _gone_within(pid: int, timeout: float) -> bool:
    """Whether ``pid`` ends (a zombie waiting for whoever adopted it counts) within
    ``timeout``: the kernel wakes the wait through a pidfd, nothing polls."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        return bool(ready)
    finally:
        os.close(fd)


def test_a_timeout_stops_the_processes_a_step_started(tmp_path: Path) -> None:
    """The worker is busy and the step's cleanup waits for it: both outlive the grace,
    and SIGKILL to the step's process group ends them."""
    skills = {"s": Scripted("s", tmp_path / "log", ["pool-then-hang"])}
    state = _engine(tmp_path, skills).execute(
        _state(tmp_path), [PlannedStep("a", "s", timeout_seconds=2)]
    )
    assert state.steps["a"].error == "timed out after 2 s"
    pid_file = RunStore(tmp_path / "runs").step_directory("r1", "a") / "worker.pid"
    worker = int(pid_file.read_text())
    try:
        assert _gone_within(worker, 5), f"the step's worker {worker} outlived it"
    finally:  # never leave an orphan holding the test run's output open
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker, signal.SIGKILL)


class _SavesWatched(RunStore):
    """A run store that tells a step process (across the fork) when a state holding a
    charged call has been saved."""

    def __init__(self, root: Path, charge_saved: ProcessEvent) -> None:
        super().__init__(root)
        self.charge_saved = charge_saved

    def save(self, state: RunState) -> None:
        super().save(state)
        if state.ledger.get("steps"):
            self.charge_saved.set()


def test_each_call_is_saved_as_spent_while_the_attempt_still_runs(tmp_path: Path) -> None:
    ledger = FakeLedger()
    skill = Scripted("s", tmp_path / "log", ["spend-then-watch"])
    skill.charge_saved = multiprocessing.get_context("fork").Event()
    store = _SavesWatched(tmp_path / "runs", skill.charge_saved)
    state = _engine(tmp_path, {"s": skill}, ledger, store=store).execute(
        _state(tmp_path), [PlannedStep("a", "s")]
    )
    assert state.steps["a"].status is StepStatus.COMPLETED, state.steps["a"].error
    assert state.ledger["spent_usd"] == "0.2"


def test_a_step_may_start_processes_of_its_own(tmp_path: Path) -> None:
    skills = {"s": Scripted("s", tmp_path / "log", ["pool"])}
    state = _engine(tmp_path, skills).execute(_state(tmp_path), [PlannedStep("a", "s")])
    assert state.steps["a"].status is StepStatus.COMPLETED, state.steps["a"].error


def test_a_rejected_key_is_a_setup_error_and_not_retried(tmp_path: Path) -> None:
    skills = {"s": Scripted("s", tmp_path / "log", ["auth", "ok"])}
    state = _engine(tmp_path, skills).execute(
        _state(tmp_path), [PlannedStep("a", "s", retry_count=2)]
    )
    assert (state.steps["a"].status, state.steps["a"].attempts) == (StepStatus.FAILED, 1)


def test_the_real_ledger_charges_calls_made_in_the_step_process(tmp_path: Path) -> None:
    ledger = CostLedger(budget_usd=0.5)
    skills = {"s": Scripted("s", tmp_path / "log", ["spend"])}
    state = _engine(tmp_path, skills, ledger).execute(_state(tmp_path), [PlannedStep("a", "s")])
    [call] = state.ledger["steps"]["a"]["calls"]
    assert call["usage"]["input_tokens"] == 10
    assert Decimal(state.ledger["spent_usd"]) == price_decimal("haiku", Usage(10, 100)) > 0


def test_a_call_over_budget_is_not_sent_and_the_run_stops_cleanly(tmp_path: Path) -> None:
    log = tmp_path / "log"
    ledger = FakeLedger(budget=0.5)
    skills = {"s": Scripted("s", log, ["spend"]), "big": Scripted("big", log, ["overspend"])}
    plan = [PlannedStep("a", "s"), PlannedStep("b", "big", retry_count=3), PlannedStep("c", "s")]
    state = _engine(tmp_path, skills, ledger).execute(_state(tmp_path), plan)
    assert state.status is RunStatus.STOPPED
    assert state.steps["b"].status is StepStatus.FAILED
    assert state.steps["b"].attempts == 1  # a budget stop is not retried
    assert "budget" in (state.message or "")
    assert state.steps["c"].status is StepStatus.PENDING
    assert [step for step, _ in ledger.calls] == ["a"]


def test_resume_never_reruns_a_completed_step(tmp_path: Path) -> None:
    log = tmp_path / "log"
    later = Scripted("later", log, ["unavailable", "ok"])
    skills = {"s": Scripted("s", log), "later": later}
    plan = [PlannedStep("a", "s"), PlannedStep("b", "later", needs=("a",))]
    store = RunStore(tmp_path / "runs")
    first = _engine(tmp_path, skills).execute(_state(tmp_path), plan)
    assert first.status is RunStatus.INCOMPLETE
    assert "not available yet" in (first.steps["b"].error or "")
    resumed = _engine(tmp_path, skills).execute(store.load("r1"), plan)
    assert resumed.status is RunStatus.COMPLETED
    assert _ran(log) == ["a", "b", "b"]
    assert resumed.steps["a"].attempts == 1


def test_a_step_found_done_in_the_world_is_not_repeated(tmp_path: Path) -> None:
    log = tmp_path / "log"
    skill = Scripted("pr", log)
    skill.found = {"pr_url": "https://example.test/pr/7"}
    state = _engine(tmp_path, {"pr": skill}).execute(_state(tmp_path), [PlannedStep("a", "pr")])
    assert _ran(log) == []
    assert state.steps["a"].discovered
    assert state.steps["a"].outputs == {"pr_url": "https://example.test/pr/7"}


def test_a_missing_skill_fails_its_step_clearly(tmp_path: Path) -> None:
    state = _engine(tmp_path, {}).execute(_state(tmp_path), [PlannedStep("a", "nope")])
    assert state.steps["a"].error == "no skill 'nope'"


def test_resuming_an_unknown_run_names_what_exists(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    store.create(RunState("20261122-010000-abcd", "f", "p", {}))
    with pytest.raises(MicroGastownError, match="20261122-010000-abcd"):
        store.load("nope")


ENGINE_SCRIPT = """
import os, sys, threading
from pathlib import Path
from micro_gastown.engine.executor import Engine, PlannedStep
from micro_gastown.engine.state import RunState, RunStore
from micro_gastown.llm.ledger import CostLedger

class Sleeper:
    name = "sleeper"
    def discover(self, context):
        return None
    def run(self, context):
        try:  # said inside: a signal that comes once it is said finds the cleanup set up
            os.write(1, b"started\\n")
            threading.Event().wait(60)
        finally:
            os.write(1, b"cleaned-up\\n")
        return {}

store = RunStore(Path(sys.argv[1]))
state = RunState("r1", "f", "", {}, {})
store.create(state)
engine = Engine(store, {"s": Sleeper()}, CostLedger(), condition=lambda c, v: True,
                substitute=lambda value, values: value)
engine.execute(state, [PlannedStep("a", "s", timeout_seconds=120)])
"""


def test_a_step_is_stopped_when_the_engine_is_killed(tmp_path: Path) -> None:
    """kill -9 of the engine (the OOM killer, a cancelled job) must not leave its step
    running on its own: the step is told to end, and its cleanup runs."""
    command = [sys.executable, "-c", ENGINE_SCRIPT, str(tmp_path / "runs")]
    engine = subprocess.Popen(command, stdout=subprocess.PIPE)
    assert engine.stdout is not None
    try:
        said = engine.stdout.fileno()  # the engine's, and so its step's, stdout
        read_until(said, b"started\n", timeout=30)
        engine.kill()
        engine.wait()
        read_until(said, b"cleaned-up\n", timeout=10)  # else: the step outlived its engine
    finally:
        engine.kill()
        engine.wait()
        engine.stdout.close()
