"""What the suites expect of a run's results: a schema-valid report with the right events,
a run state that settled, and the verdict (read or refused) a source deserves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from .corpus import Input, Readable
from .outcome import Outcome, assert_code_in, assert_error, assert_success

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "PatternReport.json"
SINCE = ("--since", "2000-01-01T00:00:00Z")
_VALIDATOR = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))


def load_report(data: bytes) -> dict[str, Any]:
    """A PatternReport as JSON, checked against ``schemas/PatternReport.json``."""
    document: dict[str, Any] = json.loads(data)
    errors = sorted(_VALIDATOR.iter_errors(document), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
    return document


def expect_read_or_refused(outcome: Outcome, case: Input, source: Path) -> None:
    if case.readable is Readable.YES:
        assert_success(outcome)
    elif case.readable is Readable.NO:
        assert_error(outcome, 3, naming=source.name)
    else:
        assert_code_in(outcome, (0, 3))
        if outcome.returncode == 3:
            assert_error(outcome, 3, naming=source.name)


def check_events(case: Input, document: dict[str, Any]) -> None:
    analyzed = document["summary"]["events_analyzed"]
    if case.events is not None:
        assert analyzed == case.events, document["metadata"]
    assert analyzed >= case.at_least, document["metadata"]


def run_state(runs: Path) -> dict[str, Any] | None:
    """The one run's ``run.json`` (None when no run was created); it must parse."""
    states = list(runs.glob("*/run.json"))
    if not states:
        return None
    (path,) = states
    state: dict[str, Any] = json.loads(path.read_text())
    return state


def assert_state_settled(state: dict[str, Any]) -> None:
    """No step left ``running`` and no step error that is a traceback (a skill crash)."""
    assert state["status"] != "running", state
    for step_id, step in state["steps"].items():
        assert step["status"] != "running", (step_id, step)
        assert "Traceback" not in (step.get("error") or ""), (step_id, step["error"])
