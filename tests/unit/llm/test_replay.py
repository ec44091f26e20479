"""Replay and recording: stable request keys, answers only from recordings, every recorded
call metered as if live, and recordings written by a live run that replay identically."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from micro_gastown.cli.flags import worded
from micro_gastown.errors import BudgetExceeded, ConfigError, LlmError
from micro_gastown.llm.base import (
    CallRecord,
    LlmRequest,
    LlmResponse,
    Meter,
    ToolSpec,
    Usage,
)
from micro_gastown.llm.ledger import CostLedger
from micro_gastown.llm.replay import RecordingBackend, ReplayBackend, request_key

SCHEMA = {
    "type": "object",
    "required": ["ranked"],
    "properties": {"ranked": {"type": "array", "items": {"type": "string"}}},
}
REQUEST = LlmRequest(
    system="You rank findings.",
    prompt="Findings: slow_llm@classify, token_bloat@summarize",
    model="haiku",
    output_schema=SCHEMA,
)
CALLS = (
    CallRecord("claude-haiku-4-5-20251001", Usage(800, 120, 0, 2_000)),
    CallRecord("claude-haiku-4-5-20251001", Usage(900, 60, 2_000, 0), reported_cost_usd=0.0015),
)


def recordings_for(
    request: LlmRequest, output: Any, calls: tuple[CallRecord, ...]
) -> dict[str, Any]:
    return {
        request_key(request): {
            "output": output,
            "calls": [
                {
                    "model": c.model,
                    "usage": {
                        "input_tokens": c.usage.input_tokens,
                        "output_tokens": c.usage.output_tokens,
                        "cache_read_input_tokens": c.usage.cache_read_input_tokens,
                        "cache_creation_input_tokens": c.usage.cache_creation_input_tokens,
                    },
                    "reported_cost_usd": c.reported_cost_usd,
                }
                for c in calls
            ],
        }
    }


@dataclass
class LoggingMeter:
    events: list[tuple[Any, ...]] = field(default_factory=list)

    def before(self, model: str, input_tokens: int, max_output_tokens: int) -> None:
        self.events.append(("before", model, input_tokens, max_output_tokens))

    def after(self, record: CallRecord) -> None:
        self.events.append(("after", record))


def test_request_key_is_pinned_hex_sha256() -> None:
    # Pinned: changing how keys are computed orphans every recordings file.
    assert request_key(REQUEST) == (
        "10ba0077e9525a65f50f542928a23ab0f1ed264ba983e4f4f8e5955db50773ab"
    )


def test_request_key_ignores_schema_key_order_and_mapping_types() -> None:
    reordered = dict(reversed(list(SCHEMA.items())))
    assert request_key(replace(REQUEST, output_schema=reordered)) == request_key(REQUEST)
    frozen = MappingProxyType(SCHEMA)
    assert request_key(replace(REQUEST, output_schema=frozen)) == request_key(REQUEST)


@pytest.mark.parametrize(
    "changed",
    [
        {"system": "You rank findings!"},
        {"prompt": REQUEST.prompt + " "},
        {"model": "claude-haiku-4-5"},
        {"output_schema": None},
        {"output_schema": {**SCHEMA, "required": []}},
    ],
)
def test_request_key_changes_with_what_the_answer_depends_on(changed: dict[str, Any]) -> None:
    assert request_key(replace(REQUEST, **changed)) != request_key(REQUEST)


def test_request_key_ignores_sampling_limits_and_tools() -> None:
    tool = ToolSpec("read_file", "Read a file", {"type": "object"}, lambda args: "")
    other = replace(REQUEST, max_tokens=1, temperature=0.7, timeout_s=1.0, tools=(tool,))
    assert request_key(other) == request_key(REQUEST)


def test_replay_answers_with_the_recording_and_meters_each_call() -> None:
    backend = ReplayBackend(recordings_for(REQUEST, {"ranked": ["a", "b"]}, CALLS))
    meter = LoggingMeter()

    response = backend.complete(REQUEST, meter)

    assert response == LlmResponse({"ranked": ["a", "b"]}, CALLS, 0)
    assert meter.events == [
        ("before", "claude-haiku-4-5-20251001", 2_800, REQUEST.max_tokens),
        ("after", CALLS[0]),
        ("before", "claude-haiku-4-5-20251001", 2_900, REQUEST.max_tokens),
        ("after", CALLS[1]),
    ]
    assert backend.unplayed_keys() == []


def test_replay_charges_the_ledger_as_a_live_run_would() -> None:
    ledger = CostLedger(1.0)
    ReplayBackend(recordings_for(REQUEST, {"ranked": []}, CALLS)).complete(
        REQUEST, ledger.meter("analyze")
    )
    # Haiku 4.5: 800 x $1 + 120 x $5 + 2,000 x $1.25 per million, then the reported $0.0015.
    assert ledger.spent_usd == Decimal("0.0039") + Decimal("0.0015")
    assert ledger.step_usage("analyze") == Usage(1_700, 180, 2_000, 2_000)


def test_replay_stops_at_the_budget_like_a_live_run() -> None:
    # Worst cases at 200 output tokens, input priced as cache writes: $0.0045 fits in
    # $0.0046; then $0.0039 is spent, and the second call's $0.004625 does not fit.
    ledger = CostLedger(0.0046)
    backend = ReplayBackend(recordings_for(REQUEST, {"ranked": []}, CALLS))
    with pytest.raises(BudgetExceeded):
        backend.complete(replace(REQUEST, max_tokens=200), ledger.meter("analyze"))
    assert [c.usage for c in ledger.calls("analyze")] == [CALLS[0].usage]


def test_replay_missing_key_names_key_file_and_how_to_record(tmp_path: Path) -> None:
    path = tmp_path / "recordings.json"
    path.write_text(json.dumps(recordings_for(REQUEST, {"ranked": []}, CALLS)))
    drifted = replace(REQUEST, prompt="Findings: something else")
    meter = LoggingMeter()

    with pytest.raises(LlmError) as caught:
        ReplayBackend(path).complete(drifted, meter)

    message = str(caught.value)
    assert request_key(drifted) in message
    assert str(path) in message
    assert "record it again with a live backend" in message
    assert worded(caught.value).startswith("--record: no recorded response")
    assert meter.events == []


def test_replay_validates_recorded_output_against_the_schema() -> None:
    backend = ReplayBackend(recordings_for(REQUEST, {"ranked": [1]}, CALLS))
    with pytest.raises(LlmError, match=r"schema:\n- \$\.ranked\[0\]: 1 is not of type 'string'$"):
        backend.complete(REQUEST, LoggingMeter())


def test_replay_returns_a_fresh_copy_of_the_output() -> None:
    backend = ReplayBackend(recordings_for(REQUEST, {"ranked": ["a"]}, ()))
    backend.complete(REQUEST, LoggingMeter()).output["ranked"].append("mutated")
    assert backend.complete(REQUEST, LoggingMeter()).output == {"ranked": ["a"]}


def test_unplayed_keys_lists_recordings_nobody_asked_for() -> None:
    other = replace(REQUEST, prompt="another")
    data = {
        **recordings_for(REQUEST, {"ranked": []}, ()),
        **recordings_for(other, {"ranked": []}, ()),
    }
    backend = ReplayBackend(data)
    backend.complete(REQUEST, LoggingMeter())
    assert backend.unplayed_keys() == [request_key(other)]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("not json", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('{"k": {"calls": []}}', r"k\.output: required, but missing"),
        (
            '{"k": {"output": 1, "calls": [{"model": "m", "usage": {"input_tokens": -3}}]}}',
            r"k\.calls\[0\]\.usage\.input_tokens",
        ),
        (
            '{"k": {"output": 1, "calls": [{"model": "m", "reported_cost_usd": "1"}]}}',
            r"k\.calls\[0\]\.reported_cost_usd",
        ),
    ],
)
def test_a_malformed_recordings_file_is_a_config_error_naming_it(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=expected) as caught:
        ReplayBackend(path)
    assert str(path) in str(caught.value)


def test_a_missing_recordings_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        ReplayBackend(tmp_path / "absent.json")


@dataclass
class StubBackend:
    """A live backend stand-in: answers each prompt from a table and meters its calls."""

    answers: dict[str, LlmResponse]
    name: str = "stub"

    def complete(self, request: LlmRequest, meter: Meter) -> LlmResponse:
        response = self.answers[request.prompt]
        for call in response.calls:
            meter.before(call.model, call.usage.input_tokens, request.max_tokens)
            meter.after(call)
        return response


def test_recording_then_replay_gives_the_same_output_calls_and_costs(tmp_path: Path) -> None:
    path = tmp_path / "recordings.json"
    second = replace(REQUEST, prompt="Findings: none", output_schema=None)
    inner = StubBackend(
        {
            REQUEST.prompt: LlmResponse({"ranked": ["x"]}, CALLS, repairs=1),
            second.prompt: LlmResponse("plain text answer", (CALLS[0],)),
        }
    )
    live_ledger = CostLedger(1.0)
    recorder = RecordingBackend(inner, path)
    assert recorder.name == "recording(stub)"
    live = [recorder.complete(r, live_ledger.meter("s")) for r in (REQUEST, second)]

    replay_ledger = CostLedger(1.0)
    replay = ReplayBackend(path)
    replayed = [replay.complete(r, replay_ledger.meter("s")) for r in (REQUEST, second)]

    assert replayed == live
    assert replay_ledger.to_dict() == live_ledger.to_dict()
    assert replay.unplayed_keys() == []


def test_recording_keeps_earlier_entries_and_skips_failed_requests(tmp_path: Path) -> None:
    path = tmp_path / "recordings.json"
    path.write_text(json.dumps(recordings_for(REQUEST, {"ranked": ["old"]}, ())))
    second = replace(REQUEST, prompt="new")
    recorder = RecordingBackend(StubBackend({"new": LlmResponse({"ranked": []}, ())}), path)

    recorder.complete(second, LoggingMeter())
    with pytest.raises(KeyError):
        recorder.complete(replace(REQUEST, prompt="unknown"), LoggingMeter())

    data = json.loads(path.read_text())
    assert set(data) == {request_key(REQUEST), request_key(second)}
    assert data[request_key(REQUEST)]["output"] == {"ranked": ["old"]}
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left behind


def test_recording_refuses_to_extend_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "recordings.json"
    path.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="must be a JSON object"):
        RecordingBackend(StubBackend({}), path)
