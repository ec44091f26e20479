"""run.json as a pydantic model with a checked-in JSON Schema: the on-disk format as the
hand-written serialiser always wrote it, and hostile contents refused as one ConfigError line
naming the file and the key, never a traceback."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from micro_gastown.app.state_schemas import STATE_MODELS, main, render_state_schema, state_schema
from micro_gastown.engine.state import RunState, RunStatus, RunStore, StepState, StepStatus
from micro_gastown.errors import ConfigError, OutputError
from micro_gastown.llm.ledger import CostLedger
from micro_gastown.report.schema import SCHEMA_BASE

from documents import DELETE, set_path

ROOT = Path(__file__).resolve().parents[3]

USAGE = {
    "input_tokens": 2080,
    "output_tokens": 643,
    "cache_read_input_tokens": 0,
    "cache_creation_input_tokens": 0,
}
WRITTEN_BEFORE_THE_MODELS: dict[str, Any] = {
    "version": 1,
    "run_id": "20261122-051500-3f9a",
    "formula": "evolve",
    "formula_path": "/repo/formulas/evolve.formula.toml",
    "status": "incomplete",
    "created_at": "2026-11-22T05:15:00.000Z",
    "updated_at": "2026-11-22T05:15:09.120Z",
    "vars": {"since": "2026-11-21T05:15:00.000000000Z", "llm": "true"},
    "settings": {
        "source": "file:/logs/export.jsonl.gz",
        "backend": "replay",
        "allow_non_haiku": False,
        "claude_path": None,
        "budget_usd": 0.5,
        "config_dirs": ["/cfg/a", "/cfg/b"],
    },
    "steps": {
        "analyze": {
            "status": "completed",
            "attempts": 1,
            "started_at": "2026-11-22T05:15:00.100Z",
            "finished_at": "2026-11-22T05:15:09.100Z",
            "duration_ms": 9000,
            "inputs": {"since": "2026-11-21T05:15:00.000000000Z", "llm": "true"},
            "outputs": {"output": "/runs/r/steps/analyze/report.json", "patterns": 3},
        },
        "refine": {
            "status": "failed",
            "attempts": 2,
            "error": "the skill is not built yet",
            "discovered": True,
        },
        "file-pr": {"status": "pending", "attempts": 0},
    },
    "ledger": {
        "budget_usd": "0.5",
        "spent_usd": "0.005295",
        "usage": USAGE,
        "steps": {
            "analyze": {
                "usage": USAGE,
                "cost_usd": "0.005295",
                "calls": [
                    {
                        "model": "claude-haiku-4-5-20251001",
                        "usage": USAGE,
                        "cost_usd": "0.005295",
                        "cost_source": "price_table",
                    }
                ],
            }
        },
    },
    "message": "refine failed",
}
"""A run.json as the hand-written serialiser wrote it (every kind of step it recorded)."""


def _store_with(tmp_path: Path, document: dict[str, Any] | str) -> tuple[RunStore, Path]:
    store = RunStore(tmp_path / "runs")
    run_id = WRITTEN_BEFORE_THE_MODELS["run_id"]
    path = tmp_path / "runs" / run_id / "run.json"
    path.parent.mkdir(parents=True)
    text = document if isinstance(document, str) else json.dumps(document, indent=2)
    path.write_text(text)
    return store, path


# -- the schema ----------------------------------------------------------------------------


def test_checked_in_run_state_schema_equals_generated() -> None:
    """Run `make schemas` after changing engine/records.py."""
    path = ROOT / "schemas" / "state" / "RunState.json"
    assert path.read_bytes() == render_state_schema("RunState")


def test_run_state_schema_is_draft_2020_12_and_references_the_ledger() -> None:
    schema = state_schema("RunState")
    assert schema["$id"] == f"{SCHEMA_BASE}state/RunState.json"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["ledger"] == {"$ref": "#/$defs/LedgerRecord"}


def test_the_generator_writes_every_state_schema_with_make_schemas(tmp_path: Path) -> None:
    assert "schemas/state" in (ROOT / "Makefile").read_text()
    assert "micro_gastown.app.state_schemas" in (ROOT / "Makefile").read_text()
    assert main([str(tmp_path / "state")]) == 0
    written = sorted(p.name for p in (tmp_path / "state").iterdir())
    assert written == sorted(f"{name}.json" for name in STATE_MODELS)
    assert "RunState.json" in written
    for name in STATE_MODELS:
        assert (tmp_path / "state" / f"{name}.json").read_bytes() == render_state_schema(name)


# -- the format ----------------------------------------------------------------------------


def test_a_run_state_written_before_the_models_loads_and_is_rewritten_unchanged(
    tmp_path: Path,
) -> None:
    jsonschema.Draft202012Validator(state_schema("RunState")).validate(WRITTEN_BEFORE_THE_MODELS)
    store, path = _store_with(tmp_path, WRITTEN_BEFORE_THE_MODELS)
    state = store.load(WRITTEN_BEFORE_THE_MODELS["run_id"])
    assert state.status is RunStatus.INCOMPLETE
    assert state.steps["refine"] == StepState(
        StepStatus.FAILED, 2, error="the skill is not built yet", discovered=True
    )
    assert state.steps["file-pr"] == StepState()
    assert state.settings["config_dirs"] == ["/cfg/a", "/cfg/b"]
    assert CostLedger.from_dict(state.ledger).to_dict() == WRITTEN_BEFORE_THE_MODELS["ledger"]

    store.save(state)
    rewritten = json.loads(path.read_text())
    assert rewritten.pop("updated_at") != WRITTEN_BEFORE_THE_MODELS["updated_at"]
    expected = {k: v for k, v in WRITTEN_BEFORE_THE_MODELS.items() if k != "updated_at"}
    assert rewritten == expected
    assert path.read_text().startswith('{\n  "created_at"')  # indented, keys sorted


def test_a_new_run_is_written_as_before(tmp_path: Path) -> None:
    """A run before any step and any call: empty settings and ledger are written, a
    message only when there is one, a step only with what it has."""
    store = RunStore(tmp_path / "runs")
    state = RunState("r1", "evolve", "", {}, message="")
    state.steps["a"] = StepState(inputs={"paths": ("x", "y")})  # a tuple is an array
    store.create(state)
    written = json.loads((tmp_path / "runs" / "r1" / "run.json").read_text())
    assert set(written) == {
        *("version", "run_id", "formula", "formula_path", "status", "created_at"),
        *("updated_at", "vars", "settings", "steps", "ledger"),
    }
    assert (written["settings"], written["ledger"], written["vars"]) == ({}, {}, {})
    assert written["steps"] == {
        "a": {"status": "pending", "attempts": 0, "inputs": {"paths": ["x", "y"]}}
    }
    assert store.load("r1").steps["a"].inputs == {"paths": ["x", "y"]}


def test_a_state_no_run_state_may_hold_is_an_output_error_and_the_file_is_kept(
    tmp_path: Path,
) -> None:
    """A ledger of another shape would be written, then refused on every resume."""
    store = RunStore(tmp_path / "runs")
    store.create(RunState("r1", "evolve", "", {}))
    before = (tmp_path / "runs" / "r1" / "run.json").read_bytes()
    state = store.load("r1")
    state.ledger = {"spent": 0.3}
    with pytest.raises(OutputError, match=r"run\.json: cannot record the run state: ledger\.sp"):
        store.save(state)
    assert (tmp_path / "runs" / "r1" / "run.json").read_bytes() == before


def test_values_are_written_as_orjson_always_wrote_them(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    state = RunState("r1", "evolve", "", {})
    state.steps["a"] = StepState(
        outputs={"ratio": float("nan"), "at": datetime(2026, 1, 2, tzinfo=UTC)}
    )
    store.create(state)
    assert store.load("r1").steps["a"].outputs == {"ratio": None, "at": "2026-01-02T00:00:00+00:00"}


# -- hostile run states --------------------------------------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _with(path: str, value: Any) -> dict[str, Any]:
    """The document with the value at the dotted ``path`` replaced (``DELETE`` removes it)."""
    return set_path(copy.deepcopy(WRITTEN_BEFORE_THE_MODELS), path, value)


STEP = "steps.analyze"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("status", "paused", r"state: status: Input should be 'running', "),
        (f"{STEP}.status", "done", r"state: steps\.analyze\.status: Input should be"),
        (f"{STEP}.status", DELETE, r"state: steps\.analyze\.status: required, but missing"),
        (f"{STEP}.attempts", DELETE, r"steps\.analyze\.attempts: required, but missing"),
        (f"{STEP}.attempts", 10**15, r"steps\.analyze\.attempts: Input should be less than"),
        (f"{STEP}.attempts", -1, r"steps\.analyze\.attempts: Input should be greater"),
        (f"{STEP}.attempts", 1e300, r"steps\.analyze\.attempts: expected an integer"),
        (f"{STEP}.attempts", "1", r"steps\.analyze\.attempts: expected an integer"),
        (f"{STEP}.attempts", True, r"steps\.analyze\.attempts: expected an integer"),
        (f"{STEP}.duration_ms", 10**18, r"steps\.analyze\.duration_ms: Input should be less"),
        (f"{STEP}.discovered", "yes", r"steps\.analyze\.discovered: Input should be a valid b"),
        (f"{STEP}.outputs", [], r"steps\.analyze\.outputs: expected a JSON object"),
        (f"{STEP}.retries", 1, r"steps\.analyze\.retries: not a known field"),
        ("steps.analyze", [], r"steps\.analyze: expected a JSON object"),
        ("vars.since", 3, r"state: vars\.since: expected a string"),
        ("vars", [], r"state: vars: expected a JSON object"),
        ("run_id", "../elsewhere", r"state: run_id: String should match pattern"),
        ("run_id", "a\nb", r"state: run_id: String should match pattern"),
        ("formula", DELETE, r"state: formula: required, but missing"),
        ("settings", DELETE, r"state: settings: required, but missing"),
        ("ledger", DELETE, r"state: ledger: required, but missing"),
        ("owner", "me", r"state: owner: not a known field"),
        ("a\nb" + "x" * 100_000, 1, r'state: "a\\nbx+\.\.\.": not a known field'),
        ("message", 3, r"state: message: expected a string"),
        ("ledger.spent_usd", "1e400", r"state: ledger\.spent_usd: expected an amount of d"),
        (f"ledger.{STEP}.calls.0.cost_usd", "-1", r"ledger\.steps\.analyze\.calls\[0\]\.cost_u"),
        ("ledger.spent_usd", "0.1", r"state: ledger\.spent_usd: does not equal the sum"),
    ],
)
def test_a_hostile_run_state_is_one_config_error_line_naming_the_key(
    tmp_path: Path, path: str, value: Any, expected: str
) -> None:
    store, file = _store_with(tmp_path, _with(path, value))
    with pytest.raises(ConfigError, match=expected) as caught:
        store.load(WRITTEN_BEFORE_THE_MODELS["run_id"])
    message = str(caught.value)
    assert message.startswith(f"{file}: not a readable run state: ")
    assert "\n" not in message
    assert len(message) < 400 + len(str(file))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[]", r": not a run state$"),
        ('"run"', r": not a run state$"),
        ("null", r": not a run state$"),
        ('{"version": 1, "steps": {"a": {"attempts": NaN}}}', r": not JSON \(unexpected char"),
        ('{"version": 1, "settings": {"budget_usd": 1e400}}', r": not JSON \(number is inf"),
        ('{"version": 1, "settings": ' + nested(150) + "}", r": line 1: nested more than 100"),
        ('{"version": 1, "x": ' + nested(100_000) + "}", r": line 1: nested more than 100"),
        ('{"version": true}', r": run state version True, this micro-gastown reads version 1"),
        ('{"version": 1.0}', r": run state version 1\.0, this micro-gastown reads version 1"),
        ('{"version": "' + "9" * 10_000 + '"}', r": run state version '9{39}\.\.\., this"),
        ('{"version": ' + nested(50) + "}", r": run state version \[\[\[\["),
    ],
)
def test_a_run_state_file_that_is_no_run_state_is_one_config_error_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    store, file = _store_with(tmp_path, text)
    with pytest.raises(ConfigError, match=expected) as caught:
        store.load(WRITTEN_BEFORE_THE_MODELS["run_id"])
    message = str(caught.value)
    assert message.startswith(f"{file}: ")
    assert "\n" not in message
    assert len(message) < 300 + len(str(file))


def test_bytes_that_are_not_utf8_are_one_config_error(tmp_path: Path) -> None:
    store, file = _store_with(tmp_path, "")
    file.write_bytes(b'{"version": 1, "formula": "\xff\xfe"}')
    with pytest.raises(ConfigError, match=r"run\.json: not JSON \(not UTF-8\)$"):
        store.load(WRITTEN_BEFORE_THE_MODELS["run_id"])
