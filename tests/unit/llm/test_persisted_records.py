"""The files the LLM runtime persists (the ledger in run.json, replay files): pydantic models
with checked-in JSON Schemas, the same on-disk format as before, and hostile contents
refused as one ConfigError line naming the file and the key."""

from __future__ import annotations

import json
import re
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from micro_gastown.cli.flags import worded
from micro_gastown.errors import ConfigError
from micro_gastown.llm.base import CallRecord, LlmRequest, LlmResponse, Meter, Usage
from micro_gastown.llm.ledger import CostLedger
from micro_gastown.llm.models import DEFAULT_HAIKU
from micro_gastown.llm.records import LedgerRecord, ReplayRecordings
from micro_gastown.llm.replay import RecordingBackend, ReplayBackend, load_recordings
from micro_gastown.llm.state_schemas import STATE_MODELS, main, render_state_schema, state_schema
from micro_gastown.report.schema import SCHEMA_BASE

from documents import DELETE, set_path

ROOT = Path(__file__).resolve().parents[3]
SHIPPED_REPLAY = ROOT / "examples" / "llm" / "log-analyzer-review.replay.json"
KEY = "8d762cfc43d55ec4cc3bbd56fc5d441b69e4d3bfcd392c8d7b9b430d5e203d10"


def validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(state_schema(name))


def a_real_ledger() -> CostLedger:
    """Priced from the table and reported by a backend, over two steps."""
    ledger = CostLedger("2.5")
    ledger.record("analyze", CallRecord(DEFAULT_HAIKU, Usage(12_345, 1_234, 10_000, 777)))
    ledger.record("analyze", CallRecord(DEFAULT_HAIKU, Usage(1, 1), reported_cost_usd=0.1234567))
    ledger.record("refine", CallRecord("claude-sonnet-4-6", Usage(99_999, 4_096, 50_001, 12_345)))
    return ledger


# -- the schemas ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(STATE_MODELS))
def test_checked_in_state_schema_equals_generated(name: str) -> None:
    """Run `make schemas` after changing the models in llm/records.py."""
    assert (ROOT / "schemas" / "state" / f"{name}.json").read_bytes() == render_state_schema(name)


@pytest.mark.parametrize("name", sorted(STATE_MODELS))
def test_state_schemas_are_draft_2020_12_under_the_schema_base(name: str) -> None:
    schema = state_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"{SCHEMA_BASE}state/{name}.json"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_the_generator_writes_every_state_schema(tmp_path: Path) -> None:
    target = tmp_path / "state"
    assert main([str(target)]) == 0
    assert sorted(p.name for p in target.iterdir()) == [
        "LedgerRecord.json",
        "ReplayRecordings.json",
    ]
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    assert main([str(blocked)]) == 5


def test_the_shipped_replay_file_validates_and_loads_unchanged() -> None:
    data = json.loads(SHIPPED_REPLAY.read_text())
    validator("ReplayRecordings").validate(data)
    assert ReplayRecordings.model_validate(data).model_dump(mode="json") == {
        KEY: {**data[KEY]}  # every field, the note included, read back as written
    }
    [recording] = load_recordings(SHIPPED_REPLAY).values()
    assert recording.calls == (
        CallRecord("claude-haiku-4-5-20251001", Usage(2080, 643), reported_cost_usd=None),
    )
    assert recording.output == data[KEY]["output"]


def test_a_ledger_from_a_real_run_validates_and_round_trips() -> None:
    ledger = a_real_ledger()
    stored = json.loads(json.dumps(ledger.to_dict()))
    validator("LedgerRecord").validate(stored)
    assert LedgerRecord.model_validate(stored).model_dump(mode="json") == stored
    # the format as it always was: amounts as decimal strings, every total written
    assert stored["budget_usd"] == "2.5"
    assert stored["steps"]["analyze"]["calls"][1] == {
        "model": DEFAULT_HAIKU,
        "usage": {
            "input_tokens": 1,
            "output_tokens": 1,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        },
        "cost_usd": "0.1234567",
        "cost_source": "reported",
    }
    assert CostLedger.from_dict(stored).to_dict() == stored


def test_a_ledger_written_before_the_models_still_loads() -> None:
    """A hand-serialised ledger as run.json files hold it today."""
    usage = {
        "input_tokens": 2080,
        "output_tokens": 643,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
    }
    stored = {
        "budget_usd": "0.5",
        "spent_usd": "0.005295",
        "usage": usage,
        "steps": {
            "analyze": {
                "usage": usage,
                "cost_usd": "0.005295",
                "calls": [
                    {
                        "model": "claude-haiku-4-5-20251001",
                        "usage": usage,
                        "cost_usd": "0.005295",
                        "cost_source": "price_table",
                    }
                ],
            }
        },
    }
    validator("LedgerRecord").validate(stored)
    ledger = CostLedger.from_dict(stored)
    assert ledger.spent_usd == Decimal("0.005295")
    assert ledger.to_dict() == stored


@pytest.mark.parametrize("empty", [{}, {"steps": {}}])
def test_a_ledger_before_any_call_validates(empty: dict[str, Any]) -> None:
    validator("LedgerRecord").validate(empty)
    assert CostLedger.from_dict(empty).spent_usd == 0


class Stub:
    name = "stub"

    def close(self) -> None:
        """Nothing held."""

    def complete(self, request: LlmRequest, meter: Meter) -> LlmResponse:
        record = CallRecord(DEFAULT_HAIKU, Usage(10, 2), reported_cost_usd=0.25)
        meter.after(record)
        return LlmResponse({"answer": [1, 2.5, None]}, (record,), repairs=2)


def test_recording_into_the_shipped_file_keeps_its_entry_and_writes_the_schema(
    tmp_path: Path,
) -> None:
    path = tmp_path / "recordings.json"
    shutil.copyfile(SHIPPED_REPLAY, path)
    request = LlmRequest(system="s", prompt="p", model=DEFAULT_HAIKU)
    RecordingBackend(Stub(), path).complete(request, CostLedger().meter("analyze"))

    written = json.loads(path.read_text())
    validator("ReplayRecordings").validate(written)
    assert written[KEY] == json.loads(SHIPPED_REPLAY.read_text())[KEY]
    [new_key] = set(written) - {KEY}
    assert written[new_key] == {
        "output": {"answer": [1, 2.5, None]},
        "calls": [
            {
                "model": DEFAULT_HAIKU,
                "usage": {
                    "input_tokens": 10,
                    "output_tokens": 2,
                    "cache_read_input_tokens": 0,
                    "cache_creation_input_tokens": 0,
                },
                "reported_cost_usd": 0.25,
            }
        ],
        "repairs": 2,
    }
    assert ReplayBackend(path).complete(request, CostLedger().meter("a")).repairs == 2


# -- hostile replay files ----------------------------------------------------------------------


def entry(**changes: Any) -> dict[str, Any]:
    call = {"model": "m", "usage": {"input_tokens": 1}, "reported_cost_usd": None}
    call.update(changes.pop("call", {}))
    return {"output": {"ok": True}, "calls": [call], **changes}


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1, 2]", "must be a JSON object of request keys"),
        ('"just a string"', "must be a JSON object of request keys"),
        (json.dumps({"k": entry(call={"usage": {"input_tokens": 10**40}})}), "input_tokens"),
        (json.dumps({"k": entry(call={"reported_cost_usd": 10**40})}), "reported_cost_usd"),
        (json.dumps({"k": entry()}).replace("null", "1e999"), "too large"),
        (json.dumps({"k": entry()}).replace("true", "1e999"), "too large"),
        ('{"k": {"output": ' + "9" * 5000 + ', "calls": []}}', "not valid JSON"),
        (json.dumps({"k": entry(call={"reported_cost_usd": -0.01})}), "reported_cost_usd"),
        (json.dumps({"k": entry(call={"usage": {"output_tokens": -1}})}), "output_tokens"),
        (json.dumps({"k": entry()}).replace("null", "NaN"), "NaN is not a JSON number"),
        (json.dumps({"k": entry()}).replace("true", "Infinity"), "Infinity is not a JSON"),
        (json.dumps({"k": {"calls": []}}), r"k\.output: required, but missing"),
        (json.dumps({"k": {"output": 1}}), r"k\.calls: required, but missing"),
        (json.dumps({"k": entry(call={"model": None})}), r"k\.calls\[0\]\.model"),
        (json.dumps({"k": entry(call={"model": ""})}), r"k\.calls\[0\]\.model"),
        (json.dumps({"k": entry(ouptut=1)}), r"k\.ouptut: not a known field"),
        (json.dumps({"k": entry(call={"cost_usd": 1})}), r"k\.calls\[0\]\.cost_usd: not a kn"),
        (json.dumps({"k": entry(call={"usage": {"tokens": 1}})}), r"usage\.tokens: not a kn"),
        (json.dumps({"k": entry(call={"usage": {"input_tokens": True}})}), "expected an int"),
        (json.dumps({"k": entry(call={"usage": {"input_tokens": "3"}})}), "expected an int"),
        (json.dumps({"k": entry(call={"usage": {"input_tokens": 3.0}})}), "expected an int"),
        (json.dumps({"k": entry(repairs=-1)}), r"k\.repairs"),
        (json.dumps({"k": entry(call={"model": "m\nforged line"})}), r"k\.calls\[0\]\.model"),
        (json.dumps({"k": [1]}), "k: expected a JSON object"),
        ('{"k": {"output": ' + deep(10_000) + ', "calls": []}}', "line 1: nested more than"),
        (deep(10_000), "line 1: nested more than"),
    ],
)
def test_a_hostile_replay_file_is_one_config_error_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "hostile.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=expected) as caught:
        ReplayBackend(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    assert len(message) < 400


def test_a_hostile_key_cannot_break_the_line_or_flood_it(tmp_path: Path) -> None:
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps({"a\nb" + "x" * 100_000: {"calls": []}}))
    with pytest.raises(ConfigError, match=r': "a\\nbx+\.\.\."\.output: required') as caught:
        ReplayBackend(path)
    assert "\n" not in str(caught.value)
    assert len(str(caught.value)) < 400


def test_several_problems_are_one_line_counting_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps({"a": {}, "b": {}}))
    with pytest.raises(ConfigError, match=r"a\.output: required, but missing \(and 3 more"):
        ReplayBackend(path)


def test_bytes_that_are_not_utf8_are_one_config_error(tmp_path: Path) -> None:
    path = tmp_path / "hostile.json"
    path.write_bytes(b'{"k": "\xff\xfe\xfa"}')
    with pytest.raises(ConfigError, match="not valid JSON"):
        ReplayBackend(path)


def test_recordings_given_in_code_are_checked_the_same_way() -> None:
    with pytest.raises(ConfigError, match=r"given in code: k\.calls\[0\]\.usage\.input_tokens"):
        ReplayBackend({"k": entry(call={"usage": {"input_tokens": -1}})})


# -- hostile ledgers -----------------------------------------------------------------------------


def stored_ledger() -> dict[str, Any]:
    stored: dict[str, Any] = json.loads(json.dumps(a_real_ledger().to_dict()))
    return stored


def nested_dict(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {}
    for _ in range(depth):
        node = {"x": node}
    return node


def nested_list(depth: int) -> list[Any]:
    node: list[Any] = []
    for _ in range(depth):
        node = [node]
    return node


CALL = "steps.analyze.calls.0"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (f"{CALL}.cost_usd", "1e400", r"calls\[0\]\.cost_usd: expected an amount of dollars"),
        (f"{CALL}.cost_usd", "9" * 14, r"calls\[0\]\.cost_usd: expected an amount"),
        (f"{CALL}.cost_usd", "9999999999999", r"calls\[0\]\.cost_usd: more than \$1,000,000,0"),
        (f"{CALL}.cost_usd", "0." + "1" * 13, r"calls\[0\]\.cost_usd: expected an amount"),
        (f"{CALL}.cost_usd", "-0.1", r"calls\[0\]\.cost_usd: expected an amount"),
        (f"{CALL}.cost_usd", "NaN", r"calls\[0\]\.cost_usd: expected an amount"),
        (f"{CALL}.cost_usd", float("nan"), r"calls\[0\]\.cost_usd: expected an amount"),
        (f"{CALL}.cost_usd", 0.5, r"calls\[0\]\.cost_usd: expected an amount"),
        (f"{CALL}.cost_usd", "٣", r"calls\[0\]\.cost_usd: expected an amount"),
        (f"{CALL}.usage.input_tokens", 10**40, r"usage\.input_tokens: Input should be less"),
        (f"{CALL}.usage.input_tokens", -1, r"usage\.input_tokens: Input should be greater"),
        (f"{CALL}.cost_source", DELETE, r"calls\[0\]\.cost_source: required, but missing"),
        (f"{CALL}.cost_source", "guessed", r"calls\[0\]\.cost_source: Input should be"),
        (f"{CALL}.model", DELETE, r"calls\[0\]\.model: required, but missing"),
        (f"{CALL}.price", "1", r"calls\[0\]\.price: not a known field"),
        ("steps.analyze.calls", DELETE, r"ledger\.steps\.analyze\.calls: required"),
        ("steps.analyze.notes", "x", r"ledger\.steps\.analyze\.notes: not a known field"),
        ("spent", "0", r"ledger\.spent: not a known field"),
        ("budget_usd", "-1", r"ledger\.budget_usd: expected an amount"),
        ("steps", [], r"ledger\.steps: expected a JSON object"),
        ("steps.analyze", [], r"ledger\.steps\.analyze: expected a JSON object"),
        ("steps.analyze.calls", nested_list(10_000), r"analyze\.calls\[0\]: expected a JSON"),
        ("steps.analyze.usage", nested_dict(10_000), r"analyze\.usage\.x: not a known field"),
        ("extra", nested_dict(10_000), r"ledger\.extra: not a known field"),
        ("steps.refine.cost_usd", "0", r"ledger\.steps\.refine\.cost_usd: does not equal"),
        ("usage.output_tokens", 0, r"ledger\.usage: does not equal the sum"),
    ],
)
def test_a_hostile_ledger_is_one_config_error_line_naming_the_key(
    path: str, value: Any, expected: str
) -> None:
    stored = set_path(stored_ledger(), path, value)
    with pytest.raises(ConfigError, match=expected) as caught:
        CostLedger.from_dict(stored, source="runs/r1/run.json")
    message = str(caught.value)
    assert message.startswith("runs/r1/run.json: ledger")
    assert "\n" not in message
    assert len(message) < 400


@pytest.mark.parametrize("document", [[], "ledger", None, 3])
def test_a_ledger_that_is_no_object_is_a_config_error(document: Any) -> None:
    with pytest.raises(ConfigError, match=r"^run state: ledger: expected a JSON object$"):
        CostLedger.from_dict(document)


@pytest.mark.parametrize("budget", ["1e400", "1e13", Decimal("1e13")])
def test_an_absurd_budget_is_a_config_error_naming_the_flag(budget: str | Decimal) -> None:
    with pytest.raises(ConfigError) as caught:
        CostLedger(budget)
    assert re.match(r"--budget-usd .* at most \$1,000,000,000,000", worded(caught.value))
