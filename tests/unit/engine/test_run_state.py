"""The run store's refusals: every one a clear error naming the run or file, none a traceback.

A run directory is the user's (``--runs-dir``, ``--resume RUN-ID``): its ``run.json`` may be
edited, cut short or left by another version, and the directory may not be writable.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from micro_gastown.engine.state import RunState, RunStore
from micro_gastown.errors import ConfigError, OutputError


def _store(tmp_path: Path) -> RunStore:
    store = RunStore(tmp_path / "runs")
    store.create(RunState("r1", "evolve", "", {}, {}))
    return store


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{", r"run\.json: not JSON"),
        (b"[]", r"run\.json: not a run state$"),
        (b'{"version": 2}', r"run state version 2, this micro-gastown reads version 1"),
        (
            b'{"version": 1, "run_id": "r1"}',
            r"run\.json: not a readable run state: formula: required, but missing \(and 8 more",
        ),
        (
            b'{"version": 1, "run_id": "r1", "formula": "f", "formula_path": "", "vars": [],'
            b' "status": "running", "created_at": "", "updated_at": "", "steps": {},'
            b' "settings": {}, "ledger": {}}',
            r"run\.json: not a readable run state: vars: expected a JSON object$",
        ),
    ],
)
def test_a_run_state_that_cannot_be_read_is_a_config_error(
    tmp_path: Path, content: bytes, message: str
) -> None:
    store = _store(tmp_path)
    (tmp_path / "runs" / "r1" / "run.json").write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        store.load("r1")


@pytest.mark.parametrize("run_id", ["", "../r1", ".hidden", "a/b"])
def test_a_run_id_that_is_a_path_is_refused(tmp_path: Path, run_id: str) -> None:
    with pytest.raises(ConfigError, match="not a run id"):
        RunStore(tmp_path).load(run_id)


def test_a_run_id_is_created_once(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with pytest.raises(ConfigError, match="a run with this id exists already"):
        store.create(RunState("r1", "evolve", "", {}, {}))


def test_directories_that_cannot_be_made_are_output_errors(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    with pytest.raises(OutputError, match="cannot create the run directory"):
        RunStore(blocked).create(RunState("r1", "evolve", "", {}, {}))
    store = _store(tmp_path)
    (tmp_path / "runs" / "r1" / "steps").write_text("not a directory")
    with pytest.raises(OutputError, match=r"steps/a: cannot create \(Not a directory\)"):
        store.step_directory("r1", "a")


def test_a_lock_that_cannot_be_opened_is_a_config_error(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")  # the run directory does not exist
    with pytest.raises(ConfigError, match="cannot open the run's lock"), store.hold("r1"):
        pass  # pragma: no cover


def test_a_write_the_writer_lets_through_is_an_output_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The atomic writer lets a broken pipe through (run.json a symlink to a FIFO whose
    reader left): saving the state still fails as one OutputError naming the file."""
    store = _store(tmp_path)

    def broken_pipe(path: Path, data: bytes) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("micro_gastown.engine.state.write_atomic", broken_pipe)
    with pytest.raises(OutputError, match=r"run\.json: cannot write \(Broken pipe\)"):
        store.save(RunState("r1", "evolve", "", {}, {}))


def test_a_run_without_state_is_named_by_its_id_and_setting(tmp_path: Path) -> None:
    """Neutral words: the CLI turns the setting into ``--resume``, another face its own way."""
    store = _store(tmp_path)
    with pytest.raises(ConfigError) as caught:
        store.load("nope")
    error = caught.value
    assert (error.setting, error.value) == ("resume", "nope")
    assert error.reason.startswith(f"no run state at {tmp_path / 'runs' / 'nope' / 'run.json'}")
    assert error.reason.endswith("; runs here: r1")
    assert "--" not in str(error)
