"""SIGINT, SIGTERM, SIGHUP and SIGKILL to ``analyze`` and ``evolve`` mid-read, with one
process and with parallel workers.

After any signal: the exit code is the table's (130 for SIGINT, 128+N, or death by the
signal itself), stderr holds no traceback, no process the tool started survives, and the
caller's stdout/stderr pipes reach end-of-file (no orphan holds them). ``analyze`` leaves no
``--output`` file and no temporary file beside it. ``evolve`` leaves a ``run.json`` that
parses with no step still ``running`` (SIGINT, SIGTERM, SIGHUP), and after SIGKILL
``evolve --resume`` completes the run.

The signal goes to the tool's own pid (``kill PID``, a supervisor, ``timeout``); one test
sends SIGINT to the whole process group, as Ctrl-C at a terminal does.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from .expect import assert_state_settled, load_report, run_state
from .outcome import Outcome, assert_no_traceback, assert_only_changed, assert_success, snapshot
from .processes import Child, run_tool

pytestmark = pytest.mark.slow

SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL]
START_TIMEOUT_S = 90.0
"""Start-up and, with workers, the fork of the pool: slow on a loaded two-core machine."""
STOP_TIMEOUT_S = 30.0
"""How long a signalled process may take to end (evolve gives its step 5 s to clean up)."""
PIPE_EOF_S = 5.0


def exit_codes(signum: int) -> set[int]:
    """The table's code for ``signum``, or death by the signal (``-N`` from subprocess)."""
    if signum == signal.SIGKILL:
        return {-signal.SIGKILL}
    own = 130 if signum == signal.SIGINT else 128 + signum
    return {own, -signum}


def _name(signum: int) -> str:
    return signal.Signals(signum).name


def assert_stopped_cleanly(child: Child, signum: int) -> Outcome:
    """The checks every signalled run shares; its outcome, for the command's own."""
    code = child.wait(STOP_TIMEOUT_S)
    survivors = child.survivors()
    pipes_closed = child.pipes_closed(PIPE_EOF_S)
    outcome = child.outcome()
    assert code in exit_codes(signum), f"exit {code} after {_name(signum)}: {outcome}"
    assert_no_traceback(outcome)
    assert len(outcome.stderr_lines) <= 5, str(outcome)
    assert not survivors, f"still running after {_name(signum)}: {survivors}"
    assert pipes_closed, "stdout/stderr still open: a process the tool started holds them"
    return outcome


def _temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp") or ".tmp." in p.name]


# -- analyze -----------------------------------------------------------------------------


@pytest.mark.parametrize("jobs", [1, 2], ids=["single", "workers"])
@pytest.mark.parametrize("signum", SIGNALS, ids=_name)
def test_a_signalled_analyze_stops_everything_and_writes_nothing(
    signum: int,
    jobs: int,
    tmp_path: Path,
    env: dict[str, str],
    export_block: Path,
    big_export: Path,
) -> None:
    export = big_export if jobs == 2 else export_block
    out = tmp_path / "out" / "report.json"
    out.parent.mkdir()
    before = snapshot(tmp_path)
    argv = ["analyze", "--source", f"file:{export}", "--jobs", str(jobs), "--output", str(out)]
    with Child(argv, cwd=tmp_path, env=env) as child:
        child.wait_until(
            lambda: child.reading(export) and child.descendants_reading(export) >= jobs - 1,
            START_TIMEOUT_S,
            f"analyze with {jobs} process(es) reading {export.name}",
        )
        child.send(signum)
        assert_stopped_cleanly(child, signum)
    assert not out.exists(), "a report was written by an interrupted run"
    assert _temp_files(tmp_path) == []
    assert_only_changed(tmp_path, before)


def test_ctrl_c_at_a_terminal_stops_a_parallel_analyze_quietly(
    tmp_path: Path, env: dict[str, str], big_export: Path
) -> None:
    """SIGINT to the whole foreground process group, workers included: exit 130 with one
    line, not a traceback from every worker."""
    out = tmp_path / "report.json"
    argv = ["analyze", "--source", f"file:{big_export}", "--jobs", "2", "--output", str(out)]
    with Child(argv, cwd=tmp_path, env=env) as child:
        child.wait_until(
            lambda: child.reading(big_export) and child.descendants_reading(big_export) >= 1,
            START_TIMEOUT_S,
            "analyze with a worker reading",
        )
        os.killpg(child.pid, signal.SIGINT)
        outcome = assert_stopped_cleanly(child, signal.SIGINT)
    assert outcome.returncode == 130, str(outcome)
    assert len(outcome.stderr_lines) == 1, str(outcome)
    assert not out.exists()
    assert _temp_files(tmp_path) == []


# -- evolve ------------------------------------------------------------------------------


def _step_running(runs: Path) -> bool:
    try:
        state = run_state(runs)
    except (ValueError, OSError):
        return False  # being replaced right now
    return state is not None and state["steps"].get("analyze", {}).get("status") == "running"


@pytest.mark.parametrize("jobs", [1, 2], ids=["single", "workers"])
@pytest.mark.parametrize("signum", SIGNALS, ids=_name)
def test_a_signalled_evolve_leaves_a_run_that_is_settled_or_resumable(
    signum: int,
    jobs: int,
    tmp_path: Path,
    env: dict[str, str],
    analyze_only: Path,
    export_block: Path,
    big_export: Path,
) -> None:
    export = big_export if jobs == 2 else export_block
    runs = tmp_path / "runs"
    env = {**env, "MICRO_GASTOWN_JOBS": str(jobs)}
    argv = [
        "evolve", "--formula", "hostile", "--config-dir", str(analyze_only),
        "--source", f"file:{export}", "--runs-dir", str(runs),
    ]  # fmt: skip
    with Child(argv, cwd=tmp_path, env=env) as child:
        child.wait_until(
            lambda: _step_running(runs) and child.descendants_reading(export) >= jobs,
            START_TIMEOUT_S,
            f"the analyze step reading {export.name} with {jobs} process(es)",
        )
        child.send(signum)
        assert_stopped_cleanly(child, signum)
    state = run_state(runs)  # parses
    assert state is not None
    assert _temp_files(runs) == []
    if signum != signal.SIGKILL:
        assert_state_settled(state)
        return
    assert state["steps"]["analyze"]["status"] == "running"  # killed mid-step, as recorded
    resumed, _ = run_tool(
        ["evolve", "--resume", state["run_id"], "--runs-dir", str(runs)],
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert_success(resumed)
    final = run_state(runs)
    assert final is not None
    assert final["status"] == "completed", final
    step = final["steps"]["analyze"]
    assert (step["status"], step["attempts"]) == ("completed", 2)
    load_report(Path(step["outputs"]["output"]).read_bytes())
