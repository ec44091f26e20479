"""micro-gastown evolve end to end: real processes, a real kill, a resume that repeats nothing."""

from __future__ import annotations

import contextlib
import errno
import gzip
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from evolveruns import UNFINISHABLE_ERROR, UNFINISHABLE_STEP, unfinishable_config
from micro_gastown.cli import main
from micro_gastown.engine.state import RunStore
from micro_gastown.testing.demo_refine import demo_checkout

from pipewait import read_until
from specialfiles import FifoWriter

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "examples" / "logs" / "exomonad-sample.jsonl.gz"
WINDOW = ["--since", "2026-01-01T00:00:00Z", "--until", "2027-01-01T00:00:00Z"]


def _state(runs: Path) -> dict[str, Any]:
    (path,) = runs.glob("*/run.json")
    state: dict[str, Any] = json.loads(path.read_text())
    return state


def _incomplete_run(tmp_path: Path, runs: Path) -> str:
    """An evolve run whose bundled steps all completed and whose extra last step is not
    built (tests/evolveruns.py): incomplete, resumable; its id."""
    config = unfinishable_config(tmp_path)
    argv = ["evolve", "--source", f"file:{DEMO}", "--runs-dir", str(runs), *WINDOW]
    assert main([*argv, "--config-dir", str(config)]) == 7
    state = _state(runs)
    assert state["status"] == "incomplete"
    assert state["steps"]["file-pr"]["status"] == "completed"
    assert state["steps"][UNFINISHABLE_STEP]["error"] == UNFINISHABLE_ERROR
    run_id: str = state["run_id"]
    return run_id


def test_a_missing_key_for_refine_is_refused_before_a_run_exists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refine always calls a model: no key for the default backend is a setup mistake."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    runs = tmp_path / "runs"
    repo = demo_checkout(tmp_path)
    argv = ["evolve", "--source", f"file:{DEMO}", "--repo", str(repo), "--runs-dir", str(runs)]
    assert main([*argv, *WINDOW]) == 4
    assert "no Anthropic API key" in capsys.readouterr().err
    assert not list(runs.glob("*/run.json"))


def test_without_a_checkout_refine_completes_with_nothing_refined(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No --repo: nothing to change, no model needed (no key asked for); said as a warning."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    runs = tmp_path / "runs"
    argv = ["evolve", "--source", f"file:{DEMO}", "--runs-dir", str(runs), "--dry-run", *WINDOW]
    assert main(argv) == 0
    steps = _state(runs)["steps"]
    assert steps["refine"]["status"] == "completed"
    assert steps["refine"]["outputs"]["warnings"] == [
        "the run has no DSL checkout (repo): nothing refined"
    ]
    assert steps["file-pr"]["status"] == "completed"
    assert steps["file-pr"]["outputs"]["warnings"] == ["refine left nothing to file"]
    assert "nothing refined" in capsys.readouterr().out


def test_evolve_analyzes_then_stops_where_refine_has_no_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A refine step that fails (here: no recorded answer for its request) leaves the run
    resumable, analyze never run again (test_evolve_refine has it complete)."""
    runs = tmp_path / "runs"
    recordings = tmp_path / "none.json"
    recordings.write_text("{}")
    argv = [
        "evolve", "--source", f"file:{DEMO}", "--repo", str(demo_checkout(tmp_path)),
        "--runs-dir", str(runs),
        "--backend", "replay", "--replay", str(recordings),
    ]  # fmt: skip
    assert main([*argv, *WINDOW]) == 7
    out = capsys.readouterr().out
    state = _state(runs)
    steps = state["steps"]
    assert state["status"] == "incomplete"
    assert (steps["analyze"]["status"], steps["analyze"]["attempts"]) == ("completed", 1)
    assert (steps["refine"]["status"], steps["refine"]["attempts"]) == ("failed", 1)
    assert "no recorded response for request" in steps["refine"]["error"]
    assert steps["file-pr"]["status"] == "blocked"
    assert steps["refine"]["inputs"] == {
        "pattern_report": steps["analyze"]["outputs"]["output"],
        "max_prs": "1",
        "exclude": "",
    }
    report = json.loads(Path(steps["analyze"]["outputs"]["output"]).read_text())
    schema = json.loads((ROOT / "schemas" / "PatternReport.json").read_text())
    jsonschema.validate(report, schema)
    assert steps["analyze"]["outputs"]["critical"] == report["summary"]["critical"] == 4
    assert f"resume with: micro-gastown evolve --resume {state['run_id']}" in out
    assert "$0.0000 of $0.50" in out

    # Resumed: analyze is never run again; refine is tried again (and still has no answer).
    assert main(["evolve", "--resume", state["run_id"], "--runs-dir", str(runs)]) == 7
    again = _state(runs)["steps"]
    assert again["analyze"] == steps["analyze"]
    assert again["refine"]["attempts"] == 2


def test_a_relative_window_is_pinned_when_the_run_is_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ "24h" is the day before the run started, also when it is resumed later."""
    runs = tmp_path / "runs"
    before = datetime.now(UTC)
    argv = ["evolve", "--source", f"file:{DEMO}", "--runs-dir", str(runs), "--since", "24h"]
    assert main(argv) == 0
    after = datetime.now(UTC)
    state = _state(runs)
    since = datetime.fromisoformat(state["vars"]["since"])
    until = datetime.fromisoformat(state["vars"]["until"])
    assert until - since == timedelta(hours=24)
    assert before - timedelta(seconds=1) <= until <= after
    assert state["steps"]["analyze"]["inputs"] == {
        "since": state["vars"]["since"],
        "until": state["vars"]["until"],
        "llm": "false",
    }


def test_a_bad_window_is_refused_before_a_run_exists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    assert main(["evolve", "--since", "yesterday", "--runs-dir", str(runs)]) == 2
    assert "--since 'yesterday'" in capsys.readouterr().err
    assert not runs.exists() or not any(runs.iterdir())


@pytest.mark.parametrize(
    ("flags", "code", "needle"),
    [
        (["--source", "file:/no/such/export.jsonl"], 3, "/no/such/export.jsonl: no such log"),
        (["--source", f"file:{DEMO}", "--llm"], 4, "no Anthropic API key"),
        (["--source", f"file:{DEMO}", "--budget-usd", "nan"], 2, "'nan': expected dollars"),
        (["--source", "elastic"], 2, "--source 'elastic': expected file:PATH"),
        (["--source", f"file:{DEMO}", "--repo", "{empty}"], 3, "no Graph.hs file found"),
    ],
)
def test_a_setup_error_is_refused_before_a_run_exists(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    flags: list[str],
    code: int,
    needle: str,
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    runs = tmp_path / "runs"
    argv = ["evolve", "--runs-dir", str(runs), *(f.format(empty=empty) for f in flags)]
    assert main(argv) == code
    assert needle in capsys.readouterr().err
    assert not runs.exists()


def test_a_run_another_process_is_running_is_not_resumed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    run_id = _incomplete_run(tmp_path, runs)
    (path,) = runs.glob("*/run.json")
    recorded = path.read_bytes()
    capsys.readouterr()
    with RunStore(runs).hold(run_id):
        assert main(["evolve", "--resume", run_id, "--runs-dir", str(runs)]) == 2
        refused = capsys.readouterr()
        assert "is being run by another micro-gastown process" in refused.err
        assert UNFINISHABLE_ERROR not in refused.err  # nothing ran
        assert path.read_bytes() == recorded  # nothing saved
    assert main(["evolve", "--resume", run_id, "--runs-dir", str(runs)]) == 7
    assert f"{UNFINISHABLE_STEP}: failed: {UNFINISHABLE_ERROR}" in capsys.readouterr().err
    assert path.read_bytes() != recorded


def test_a_resumed_run_keeps_its_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    run_id = _incomplete_run(tmp_path, runs)
    (path,) = runs.glob("*/run.json")
    recorded = path.read_bytes()
    resume = ["evolve", "--resume", run_id, "--runs-dir", str(runs)]
    assert main([*resume, "--since", "1h", "--backend", "claude-code"]) == 2
    error = capsys.readouterr().err
    assert "--since, --backend would change them" in error
    assert path.read_bytes() == recorded  # nothing ran
    # the same source again changes nothing; the budget may change
    assert main([*resume, "--source", f"file:{DEMO}", "--budget-usd", "2"]) == 7
    state = _state(runs)
    assert state["settings"]["budget_usd"] == 2
    assert state["vars"]["since"] == WINDOW[1].replace("Z", ".000000000Z")


def test_unknown_run_and_unknown_formula_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["evolve", "--resume", "nope", "--runs-dir", str(tmp_path)]) == 2
    assert "--resume 'nope': no run state at" in capsys.readouterr().err
    assert main(["evolve", "--formula", "nope", "--runs-dir", str(tmp_path)]) == 2
    assert "nope" in capsys.readouterr().err


TWICE = """
formula = "twice"
description = "Analyze the window twice (a test of resuming)."
version = 1

[vars.since]
default = "2026-01-01T00:00:00Z"

[[steps]]
id = "first"
title = "Analyze once"
skill = "analyze"

[steps.with]
since = "{{since}}"

[[steps]]
id = "second"
title = "Analyze again"
needs = ["first"]
skill = "analyze"

[steps.with]
since = "{{since}}"
"""


def test_a_killed_run_resumes_without_repeating_completed_steps(tmp_path: Path) -> None:
    """The export is a FIFO fed once: the first step reads all of it and completes, the
    second waits for a writer that never comes, so the run is surely mid-step when killed."""
    export = tmp_path / "export.jsonl.gz"
    os.mkfifo(export)
    config = tmp_path / "config"
    (config / "formulas").mkdir(parents=True)
    (config / "formulas" / "twice.formula.toml").write_text(TWICE)
    runs = tmp_path / "runs"
    argv = [
        sys.executable, "-m", "micro_gastown", "evolve", "--formula", "twice",
        "--config-dir", str(config), "--source", f"file:{export}", "--runs-dir", str(runs),
    ]  # fmt: skip
    env = {**os.environ, "MICRO_GASTOWN_JOBS": "1"}
    child = subprocess.Popen(argv, env=env, start_new_session=True, stderr=subprocess.PIPE)
    feeder = FifoWriter(export, DEMO.read_bytes())
    try:
        assert child.stderr is not None
        # said once run.json has it running (the engine saves, then says)
        read_until(child.stderr.fileno(), b"second: running", timeout=120)
        os.killpg(child.pid, signal.SIGKILL)  # the run, mid-step; its step dies with it
    finally:
        feeder.close()
        child.kill()
        child.wait()
        if child.stderr is not None:
            child.stderr.close()
    assert feeder.written == len(DEMO.read_bytes())  # the first step read all of it
    killed = _state(runs)
    assert killed["status"] == "running"
    assert killed["steps"]["first"]["status"] == "completed"
    assert killed["steps"]["second"]["status"] == "running"
    export.unlink()  # the same export, now a file: the second step can read it
    export.write_bytes(DEMO.read_bytes())
    resumed = subprocess.run(
        [*argv[:4], "--resume", killed["run_id"], "--runs-dir", str(runs)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    final = _state(runs)
    assert final["status"] == "completed"
    assert final["steps"]["first"] == killed["steps"]["first"]  # not run again
    assert final["steps"]["second"]["attempts"] == 2
    assert final["steps"]["second"]["status"] == "completed"


@contextlib.contextmanager
def _full_disk(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``directory`` on a 64 KiB tmpfs filled to the last byte; where mounting is not
    permitted, the run state's writer fails as a full disk makes it fail."""
    directory.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(directory)]
    mounted = subprocess.run(mount, capture_output=True, check=False).returncode == 0
    try:
        if mounted:
            with contextlib.suppress(OSError), (directory / "filler").open("wb") as filler:
                while True:  # until the disk is full (the write or the close says so)
                    filler.write(b"\0" * 4096)
                    filler.flush()
        else:

            def no_space(path: Path, data: bytes) -> None:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

            monkeypatch.setattr("micro_gastown.engine.state.write_atomic", no_space)
        yield
    finally:
        if mounted:
            subprocess.run(["umount", str(directory)], check=True)


def test_a_full_disk_when_the_run_is_created_is_one_line_and_leaves_no_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = tmp_path / "disk"
    with _full_disk(disk, monkeypatch):
        runs = disk / "runs"
        argv = ["evolve", "--source", f"file:{DEMO}", "--runs-dir", str(runs), *WINDOW]
        assert main(argv) == 6
        err = capsys.readouterr().err
        assert err.splitlines() == [err.strip()]
        assert err.startswith("micro-gastown evolve: error: ")
        assert "run.json: cannot write (No space left on device)" in err
        assert list(runs.iterdir()) == []  # no run directory without its state


def test_on_a_file_the_default_window_is_the_whole_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not the formula's 24h back from now, which on an export holds nothing: the whole
    file, as analyze reads it, pinned as an empty since/until (also on resume)."""
    runs = tmp_path / "runs"
    assert main(["evolve", "--source", f"file:{DEMO}", "--runs-dir", str(runs)]) == 0
    state = _state(runs)
    assert state["status"] == "completed"
    assert (state["vars"]["since"], state["vars"]["until"]) == ("", "")
    analyze = state["steps"]["analyze"]
    assert analyze["status"] == "completed"
    assert analyze["outputs"]["events_analyzed"] > 19_000
    assert analyze["outputs"]["critical"] == 4
    assert "warnings" not in analyze["outputs"]
    assert "no events" not in capsys.readouterr().err


def test_a_window_without_events_is_said_on_stderr_and_in_the_steps_record(
    tmp_path: Path,
) -> None:
    runs = tmp_path / "runs"
    window = ["--since", "2020-01-01T00:00:00Z", "--until", "2020-01-02T00:00:00Z"]
    evolve = [sys.executable, "-m", "micro_gastown", "evolve", "--source", f"file:{DEMO}"]
    done = subprocess.run(
        [*evolve, "--runs-dir", str(runs), *window],
        capture_output=True,
        text=True,
        check=False,
    )  # a subprocess: the step's own stderr is the real descriptor, not a capture
    # completed: with no events and no --repo, refine and file-pr have nothing to do
    assert done.returncode == 0, done.stderr
    [said] = [line for line in done.stderr.splitlines() if "no events in the window" in line]
    run_id = _state(runs)["run_id"]
    assert said.startswith(
        f"micro-gastown evolve: {run_id}: warning: no events in the window (19,997 lines"
    )
    analyze = _state(runs)["steps"]["analyze"]
    assert analyze["status"] == "completed"
    assert analyze["outputs"]["events_analyzed"] == 0
    [warning] = analyze["outputs"]["warnings"]
    assert warning.startswith("no events in the window (19,997 lines read fell outside it)")
    assert f"warning: {warning}" in done.stdout  # the summary shows it under the step


def test_a_corrupt_export_is_not_retried(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """analyze has one retry; a truncated gzip reads the same way on every attempt."""
    corrupt = tmp_path / "cut.jsonl.gz"
    corrupt.write_bytes(DEMO.read_bytes()[:3000])
    runs = tmp_path / "runs"
    assert main(["evolve", "--source", f"file:{corrupt}", "--runs-dir", str(runs)]) == 7
    analyze = _state(runs)["steps"]["analyze"]
    assert (analyze["status"], analyze["attempts"]) == ("failed", 1)
    assert "corrupt or truncated gzip data" in analyze["error"]


def test_a_step_whose_output_is_gone_runs_again_on_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    _incomplete_run(tmp_path, runs)
    first = _state(runs)
    report = Path(first["steps"]["analyze"]["outputs"]["output"])
    report.unlink()
    capsys.readouterr()
    assert main(["evolve", "--resume", first["run_id"], "--runs-dir", str(runs)]) == 7
    err = capsys.readouterr().err
    assert f"analyze: its output is gone or unreadable ({report}:" in err
    again = _state(runs)["steps"]["analyze"]
    assert (again["status"], again["attempts"]) == ("completed", 2)
    assert json.loads(report.read_text())["summary"]["critical"] == 4
    # an output still there is trusted: the next resume runs only the unfinished step again
    assert main(["evolve", "--resume", first["run_id"], "--runs-dir", str(runs)]) == 7
    assert "analyze: running" not in capsys.readouterr().err
    assert _state(runs)["steps"]["analyze"]["attempts"] == 2


@pytest.mark.parametrize(
    ("signum", "code"),
    [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)],
)
def test_a_signal_mid_step_saves_the_run_as_interrupted_and_resumable(
    tmp_path: Path, signum: int, code: int
) -> None:
    """The step reads a FIFO nobody writes, so it is still running when the signal comes."""
    export = tmp_path / "export.jsonl"
    os.mkfifo(export)
    runs = tmp_path / "runs"
    argv = [sys.executable, "-m", "micro_gastown", "evolve", "--runs-dir", str(runs)]
    child = subprocess.Popen(
        [*argv, "--source", f"file:{export}"], stderr=subprocess.PIPE, text=True
    )
    try:
        assert child.stderr is not None
        # said once run.json has it running (the engine saves, then says)
        said = read_until(child.stderr.fileno(), b"analyze: running", timeout=60)
        child.send_signal(signum)
        _, rest = child.communicate(timeout=30)
        err = said.decode() + rest
    finally:
        child.kill()
        child.wait()
    assert child.returncode == code, err
    state = _state(runs)
    name = "SIGINT (Ctrl-C)" if signum == signal.SIGINT else signal.Signals(signum).name
    assert state["status"] == "interrupted"
    analyze = state["steps"]["analyze"]
    assert (analyze["status"], analyze["error"]) == ("failed", f"interrupted by {name}")
    assert f"resume with: micro-gastown evolve --resume {state['run_id']}" in err
    assert "Traceback" not in err
    # resumable: with an export in place of the FIFO, the step runs again and the run completes
    export.unlink()
    export.write_bytes(gzip.decompress(DEMO.read_bytes()))
    assert main(["evolve", "--resume", state["run_id"], "--runs-dir", str(runs)]) == 0
    resumed = _state(runs)
    assert resumed["status"] == "completed"
    analyze = resumed["steps"]["analyze"]
    assert (analyze["status"], analyze["attempts"]) == ("completed", 2)
