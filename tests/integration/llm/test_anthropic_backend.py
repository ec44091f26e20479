"""The Anthropic backend end to end: the real SDK over HTTP, the Messages API wire format.

The flows (structured output, a tool-use loop, repairs, a refusal, 529 overloads, a
cut-off answer, plain text) are pinned as vcrpy cassettes under
``tests/data/cassettes/anthropic/<scenario>.yaml``. There is no network here and no key,
so they were recorded from ``anthropic_fake``, a scripted server that checks requests the
way the API does. Three guards, as for the Loki cassettes:

* replay: each scenario runs through ``AnthropicBackend`` with pytest-recording in record
  mode ``none``, requests matched on method + path + JSON body (so a drifted prompt, tool
  list or ``tool_choice`` fails), and every recorded interaction must have been played;
* the recorded request bodies are asserted directly (cache breakpoints, tool results,
  forced output tool), and no cassette holds a credential;
* determinism: recording a scenario again against a fresh fake gives the committed YAML
  byte for byte (fixed ids, a fixed host instead of the ephemeral port, volatile headers
  dropped), so neither the backend's requests nor the fake's answers drifted.

Re-record after a deliberate change of the backend's requests (then review the diff)::

    MG_RECORD_CASSETTES=1 .venv/bin/pytest tests/integration/llm/test_anthropic_backend.py

Flows that need no cassette (budget refusals, auth, policy, timeouts) run against the
fake directly. The whole module may only open sockets to 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import vcr as vcrpy  # type: ignore[import-untyped]
import yaml  # type: ignore[import-untyped]

from micro_gastown.errors import (
    BudgetExceeded,
    LiveCallForbidden,
    LlmAuthError,
    LlmError,
    LlmOutputError,
    LlmRefusalError,
    LlmRequestError,
    LlmTimeoutError,
    LlmUnavailableError,
    ModelPolicyError,
)
from micro_gastown.llm.anthropic_backend import NO_LIVE_ENV, AnthropicBackend
from micro_gastown.llm.base import CallRecord, LlmRequest, LlmResponse, ToolSpec, Usage
from micro_gastown.llm.models import DEFAULT_HAIKU

from anthropic_fake import (
    DEFAULT_API_KEY,
    FakeAnthropic,
    Reply,
    api_error,
    message,
    overloaded,
    refusal,
    text,
    tool_use,
)
from cassettes import ANTHROPIC_CASSETTE_OPTIONS as CASSETTE_OPTIONS
from cassettes import ANTHROPIC_CASSETTES as CASSETTES
from cassettes import ANTHROPIC_REPLAY_URL as REPLAY_URL
from cassettes import RECORD, sent

EPHEMERAL = {"type": "ephemeral"}

pytestmark = pytest.mark.block_network(allowed_hosts=["127.0.0.1"])


# -- what the scenarios ask -------------------------------------------------------------------

SYSTEM = "You rank log findings for an ExoMonad agent. Never invent findings."
PROMPT = "Findings:\n1. slow_llm classify/m-fast p95 2400 ms (12 calls)\nRank them."
RANKING = {
    "type": "object",
    "properties": {
        "ranked": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "severity": {"enum": ["critical", "warning", "info"]},
                    "recommendation": {"type": "string", "minLength": 10},
                },
                "required": ["id", "severity", "recommendation"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["ranked"],
    "additionalProperties": False,
}
VALID = {
    "ranked": [
        {
            "id": "slow-llm-classify",
            "severity": "warning",
            "recommendation": "Shorten the classify template; its prompt dominates latency.",
        }
    ]
}
INVALID = {"ranked": [{"id": "slow-llm-classify", "severity": "urgent", "recommendation": "x"}]}
INVALID_ERRORS = [
    "$.ranked[0].recommendation: 'x' is too short",
    "$.ranked[0].severity: 'urgent' is not one of ['critical', 'warning', 'info']",
]
FILES = {"Graph.hs": "classify :: mode :- G.LLMNode :@ Template ClassifyTpl", "a.jinja": "{{x}}"}


def read_dsl_file(args: Mapping[str, Any]) -> str:
    path = str(args["path"])
    if path not in FILES:
        raise FileNotFoundError(f"no such file in the checkout: {path}")
    return FILES[path]


READ_DSL_FILE = ToolSpec(
    name="read_dsl_file",
    description="Read one file of the DSL checkout, by path relative to its root.",
    input_schema={
        "type": "object",
        "properties": {"path": {"type": "string"}},
        "required": ["path"],
    },
    function=read_dsl_file,
)
RANK = LlmRequest(system=SYSTEM, prompt=PROMPT, model="haiku", output_schema=RANKING)
RANK_WITH_TOOLS = replace(RANK, tools=(READ_DSL_FILE,))


@dataclass(frozen=True)
class Scenario:
    """One recorded flow: the request, what "the model" answers, the backend's settings."""

    name: str
    request: LlmRequest
    script: tuple[Reply, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)


STRUCTURED = Scenario("structured_output", RANK, (message(tool_use("output", VALID)),))
TOOL_LOOP = Scenario(
    "tool_use_loop",
    RANK_WITH_TOOLS,
    (
        message(text("Let me look at the graph."), tool_use("read_dsl_file", {"path": "Graph.hs"})),
        message(
            tool_use("read_dsl_file", {"path": "a.jinja"}),
            tool_use("read_dsl_file", {"path": "Missing.hs"}),
        ),
        message(tool_use("output", VALID)),
    ),
)
TURN_CAP = Scenario(
    "tool_turn_cap",
    RANK_WITH_TOOLS,
    (
        message(tool_use("read_dsl_file", {"path": "Graph.hs"})),
        message(tool_use("read_dsl_file", {"path": "a.jinja"})),
        message(tool_use("output", VALID)),
    ),
    {"max_tool_turns": 2},
)
REPAIR = Scenario(
    "repair_round",
    RANK,
    (message(tool_use("output", INVALID)), message(tool_use("output", VALID))),
)
REPAIRS_EXHAUSTED = Scenario(
    "repairs_exhausted", RANK, tuple(message(tool_use("output", INVALID)) for _ in range(3))
)
REFUSAL = Scenario(
    "refusal",
    RANK,
    (refusal("cyber", "The request could enable cyber harm."),),
)
OVERLOAD_THEN_SUCCESS = Scenario(
    "overloaded_then_success",
    RANK,
    (overloaded(retry_after_ms=1), message(tool_use("output", VALID))),
    {"max_retries": 2},
)
OVERLOAD_EXHAUSTED = Scenario(
    "overloaded_exhausted", RANK, tuple(overloaded(retry_after_ms=1) for _ in range(3))
)
CUT_OFF = Scenario(
    "cut_off_then_success",
    replace(RANK, max_tokens=64),
    (
        message(tool_use("output", {"ranked": []}), stop_reason="max_tokens", output_tokens=64),
        message(tool_use("output", VALID)),
    ),
)
PLAIN_TEXT = Scenario(
    "plain_text",
    replace(RANK, output_schema=None, prompt="Say which finding matters most, in one line."),
    (message(text("The slow classify node: "), text("its p95 is 2.4 s.")),),
)
SCENARIOS = [
    STRUCTURED,
    TOOL_LOOP,
    TURN_CAP,
    REPAIR,
    REPAIRS_EXHAUSTED,
    REFUSAL,
    OVERLOAD_THEN_SUCCESS,
    OVERLOAD_EXHAUSTED,
    CUT_OFF,
    PLAIN_TEXT,
]
SCENARIO_IDS = [scenario.name for scenario in SCENARIOS]


class RecordingMeter:
    """Keeps what the backend announced and reported; refuses from call ``refuse_from``."""

    def __init__(self, refuse_from: int | None = None) -> None:
        self.refuse_from = refuse_from
        self.announced: list[tuple[str, int, int]] = []
        self.records: list[CallRecord] = []

    def before(self, model: str, input_tokens: int, max_output_tokens: int) -> None:
        if self.refuse_from is not None and len(self.announced) >= self.refuse_from:
            raise BudgetExceeded("budget reached: the next call was not sent")
        self.announced.append((model, input_tokens, max_output_tokens))

    def after(self, record: CallRecord) -> None:
        self.records.append(record)


# -- recording and replaying ----------------------------------------------------------------


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CASSETTES)


@pytest.fixture
def vcr_config() -> dict[str, Any]:
    # "rewrite" (pytest-recording) deletes the old cassette first, then records
    return {**CASSETTE_OPTIONS, "record_mode": "rewrite" if RECORD else "none"}


@contextmanager
def backend_at(url: str, scenario: Scenario | None = None, **settings: Any) -> Iterator[Any]:
    options = {"max_retries": 2, **(scenario.settings if scenario else {}), **settings}
    backend = AnthropicBackend(api_key=DEFAULT_API_KEY, base_url=url, **options)
    with backend:
        yield backend


def run(scenario: Scenario, meter: RecordingMeter) -> LlmResponse:
    """The scenario through the backend: against a fresh fake when recording, else against
    the replay host, which only the cassette answers."""
    if not RECORD:
        with backend_at(REPLAY_URL, scenario) as backend:
            return backend.complete(scenario.request, meter)  # type: ignore[no-any-return]
    with FakeAnthropic(scenario.script) as fake:
        try:
            with backend_at(fake.url, scenario) as backend:
                return backend.complete(scenario.request, meter)  # type: ignore[no-any-return]
        finally:
            assert fake.rejections == [], fake.rejections
            assert fake.errors == [], fake.errors
            assert fake.remaining == 0, f"{fake.remaining} scripted replies never asked for"


def record(scenario: Scenario, path: Path) -> None:
    """Record ``scenario`` against a fresh fake into ``path``, whatever its outcome."""
    recorder = vcrpy.VCR(**CASSETTE_OPTIONS)
    with (
        FakeAnthropic(scenario.script) as fake,
        recorder.use_cassette(str(path), record_mode="all"),
        backend_at(fake.url, scenario) as backend,
    ):
        with suppress(LlmError):  # the outcome is pinned by the replay tests
            backend.complete(scenario.request, RecordingMeter())
        assert fake.rejections == []
        assert fake.errors == []
        assert fake.remaining == 0


def interactions(scenario: Scenario) -> list[dict[str, Any]]:
    """A committed cassette's request/response pairs, read as plain YAML."""
    path = CASSETTES / f"{scenario.name}.yaml"
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return list(loaded["interactions"])


def tool_results(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The tool_result blocks of the last user turn of a request body."""
    last = body["messages"][-1]
    assert last["role"] == "user"
    return [block for block in last["content"] if block["type"] == "tool_result"]


def assert_all_played(cassette: Any) -> None:
    """Replaying, every recorded interaction must have been asked for (recording plays none)."""
    assert cassette is not None, "no cassette was used"
    assert len(cassette) > 0, "the cassette holds no interaction"
    unplayed = len(cassette) - cassette.play_count
    assert RECORD or cassette.all_played, f"{unplayed} recorded interactions were never played"


# -- the recorded flows ---------------------------------------------------------------------


@pytest.mark.vcr
@pytest.mark.default_cassette("structured_output")
def test_structured_output_in_one_forced_call(vcr: Any) -> None:
    meter = RecordingMeter()
    response = run(STRUCTURED, meter)
    assert response.output == VALID
    assert response.repairs == 0
    assert [call.model for call in response.calls] == [DEFAULT_HAIKU]
    assert meter.records == list(response.calls)
    [(model, _, max_output)] = meter.announced
    assert (model, max_output) == (DEFAULT_HAIKU, 4096)
    [body] = sent(vcr)
    assert body["model"] == DEFAULT_HAIKU
    assert body["tool_choice"] == {"type": "tool", "name": "output"}
    assert [tool["name"] for tool in body["tools"]] == ["output"]
    assert body["tools"][0]["input_schema"] == RANKING
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": PROMPT}]}]
    assert body["temperature"] == 0.0
    assert_all_played(vcr)


@pytest.mark.vcr
@pytest.mark.default_cassette("tool_use_loop")
def test_tool_use_loop_runs_read_only_tools_until_the_output(vcr: Any) -> None:
    meter = RecordingMeter()
    response = run(TOOL_LOOP, meter)
    assert response.output == VALID
    assert len(response.calls) == len(meter.records) == 3
    first, second, third = sent(vcr)
    assert first["tool_choice"] == {"type": "any"}
    assert [tool["name"] for tool in first["tools"]] == ["read_dsl_file", "output"]
    [result] = tool_results(second)
    assert result == {
        "type": "tool_result",
        "tool_use_id": second["messages"][1]["content"][1]["id"],
        "content": FILES["Graph.hs"],
    }
    assert second["messages"][1]["content"][0] == {
        "type": "text",
        "text": "Let me look at the graph.",
    }
    found, missing = tool_results(third)  # two calls in one turn, answered in one turn
    assert found == {"type": "tool_result", "tool_use_id": found["tool_use_id"], "content": "{{x}}"}
    assert missing["is_error"] is True
    assert missing["content"] == "FileNotFoundError: no such file in the checkout: Missing.hs"
    assert third["tool_choice"] == {"type": "any"}
    assert_all_played(vcr)


@pytest.mark.vcr
@pytest.mark.default_cassette("tool_turn_cap")
def test_after_the_tool_turn_cap_the_output_tool_is_forced(vcr: Any) -> None:
    response = run(TURN_CAP, RecordingMeter())
    assert response.output == VALID
    choices = [body["tool_choice"] for body in sent(vcr)]
    assert choices == [{"type": "any"}, {"type": "any"}, {"type": "tool", "name": "output"}]
    assert_all_played(vcr)


@pytest.mark.vcr
@pytest.mark.default_cassette("repair_round")
def test_invalid_output_goes_back_with_its_validation_errors(vcr: Any) -> None:
    meter = RecordingMeter()
    response = run(REPAIR, meter)
    assert response.output == VALID
    assert response.repairs == 1
    assert len(meter.records) == 2
    _, repair = sent(vcr)
    assert repair["messages"][1]["content"][0]["input"] == INVALID
    [result] = tool_results(repair)
    assert result["is_error"] is True
    for error in INVALID_ERRORS:
        assert f"- {error}" in result["content"]
    assert repair["tool_choice"] == {"type": "tool", "name": "output"}
    assert_all_played(vcr)


@pytest.mark.vcr
@pytest.mark.default_cassette("repairs_exhausted")
def test_output_still_invalid_after_two_repairs_is_an_error(vcr: Any) -> None:
    meter = RecordingMeter()
    with pytest.raises(LlmOutputError, match="after 2 repair rounds") as caught:
        run(REPAIRS_EXHAUSTED, meter)
    for error in INVALID_ERRORS:
        assert error in str(caught.value)
    # every call that returned is reported, although the request failed
    assert len(meter.records) == 3
    assert all(record.usage.output_tokens > 0 for record in meter.records)
    assert len(sent(vcr)) == 3
    assert_all_played(vcr)


@pytest.mark.vcr
@pytest.mark.default_cassette("refusal")
def test_a_refusal_is_an_error_that_says_so(vcr: Any) -> None:
    meter = RecordingMeter()
    with pytest.raises(LlmRefusalError, match="the model refused") as caught:
        run(REFUSAL, meter)
    assert "cyber" in str(caught.value)
    assert "could enable cyber harm" in str(caught.value)
    assert len(meter.records) == 1
    assert_all_played(vcr)


@pytest.mark.vcr
@pytest.mark.default_cassette("overloaded_then_success")
def test_a_529_is_retried_by_the_sdk(vcr: Any) -> None:
    meter = RecordingMeter()
    response = run(OVERLOAD_THEN_SUCCESS, meter)
    assert response.output == VALID
    assert len(meter.announced) == 1  # one backend call; the SDK retried underneath
    assert len(response.calls) == 1
    first, retry = sent(vcr)
    assert first == retry
    assert_all_played(vcr)


@pytest.mark.vcr
@pytest.mark.default_cassette("overloaded_exhausted")
def test_a_529_on_every_retry_is_an_unavailable_error(vcr: Any) -> None:
    meter = RecordingMeter()
    with pytest.raises(LlmUnavailableError, match="overloaded") as caught:
        run(OVERLOAD_EXHAUSTED, meter)
    assert "529 overloaded_error" in str(caught.value)
    assert "after 2 retries" in str(caught.value)
    assert meter.records == []  # no answer, no usage
    assert len(sent(vcr)) == 3
    assert_all_played(vcr)


@pytest.mark.vcr
@pytest.mark.default_cassette("cut_off_then_success")
def test_output_cut_off_at_max_tokens_is_asked_again_once(vcr: Any) -> None:
    meter = RecordingMeter()
    response = run(CUT_OFF, meter)
    assert response.output == VALID
    assert response.repairs == 0
    assert meter.records[0].usage.output_tokens == 64
    first, again = sent(vcr)
    assert len(again["messages"]) == 1  # the cut-off turn is dropped, not answered
    note = again["messages"][0]["content"][-1]["text"]
    assert "cut off at the 64-token limit" in note
    assert again["messages"][0]["content"][0] == first["messages"][0]["content"][0]
    assert_all_played(vcr)


@pytest.mark.vcr
@pytest.mark.default_cassette("plain_text")
def test_without_a_schema_the_text_is_the_output(vcr: Any) -> None:
    response = run(PLAIN_TEXT, RecordingMeter())
    assert response.output == "The slow classify node: its p95 is 2.4 s."
    [body] = sent(vcr)
    assert "tools" not in body
    assert "tool_choice" not in body
    assert_all_played(vcr)


# -- what every cassette pins -----------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_system_prompt_and_tools_carry_cache_breakpoints(scenario: Scenario) -> None:
    for interaction in interactions(scenario):
        body = json.loads(interaction["request"]["body"])
        assert body["system"] == [{"type": "text", "text": SYSTEM, "cache_control": EPHEMERAL}]
        tools = body.get("tools", [])
        if tools:  # one breakpoint after the last tool caches every definition
            assert tools[-1]["cache_control"] == EPHEMERAL
            assert all("cache_control" not in tool for tool in tools[:-1])


def test_the_cached_prefix_is_read_back_on_the_next_turn() -> None:
    [first, *later] = [item["response"]["body"]["string"] for item in interactions(TOOL_LOOP)]
    written = json.loads(first)["usage"]["cache_creation_input_tokens"]
    assert written > 0
    assert [json.loads(body)["usage"]["cache_read_input_tokens"] for body in later] == [written] * 2


def test_cassettes_hold_no_credentials() -> None:
    for path in CASSETTES.glob("*.yaml"):
        content = path.read_text(encoding="utf-8").lower()
        assert DEFAULT_API_KEY.lower() not in content, path
        assert "authorization" not in content, path
        assert "x-api-key" not in content, path


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_recording_again_reproduces_the_cassette(scenario: Scenario, tmp_path: Path) -> None:
    again = tmp_path / f"{scenario.name}.yaml"
    record(scenario, again)
    committed = CASSETTES / f"{scenario.name}.yaml"
    assert again.read_text(encoding="utf-8") == committed.read_text(encoding="utf-8")


def test_every_cassette_belongs_to_a_scenario() -> None:
    # refine_*.yaml belong to tests/integration/refine/test_drafting_cassettes.py
    mine = {path.stem for path in CASSETTES.glob("*.yaml") if not path.stem.startswith("refine_")}
    assert mine == set(SCENARIO_IDS)


# -- flows checked against the fake directly ----------------------------------------------


@contextmanager
def fake_backend(*script: Reply, **settings: Any) -> Iterator[tuple[FakeAnthropic, Any]]:
    with FakeAnthropic(script) as fake, backend_at(fake.url, **settings) as backend:
        yield fake, backend
        assert fake.errors == [], fake.errors


def test_a_budget_refusal_sends_nothing() -> None:
    meter = RecordingMeter(refuse_from=0)
    with fake_backend(message(tool_use("output", VALID))) as (fake, backend):
        with pytest.raises(BudgetExceeded):
            backend.complete(RANK, meter)
        assert fake.requests == []
    assert meter.records == []


def test_a_budget_refusal_mid_loop_keeps_the_calls_already_paid() -> None:
    meter = RecordingMeter(refuse_from=1)
    with fake_backend(
        message(tool_use("read_dsl_file", {"path": "Graph.hs"})),
        message(tool_use("output", VALID)),
    ) as (fake, backend):
        with pytest.raises(BudgetExceeded):
            backend.complete(RANK_WITH_TOOLS, meter)
        assert len(fake.requests) == 1
        assert fake.remaining == 1
    assert len(meter.records) == 1


def test_a_rejected_key_is_an_auth_error_that_does_not_show_the_key() -> None:
    with FakeAnthropic([message(tool_use("output", VALID))], api_key="sk-ant-right") as fake:
        key = "sk-ant-wrong-secret-value"
        with (
            AnthropicBackend(api_key=key, base_url=fake.url) as backend,
            pytest.raises(LlmAuthError, match="ANTHROPIC_API_KEY") as caught,
        ):
            backend.complete(RANK, RecordingMeter())
        assert fake.rejections == ["invalid x-api-key"]
    assert key not in str(caught.value)
    assert "401 authentication_error" in str(caught.value)


def _no_credentials(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """No key, token, profile or federation settings; a home without SDK config files."""
    for name in list(os.environ):
        if name.startswith("ANTHROPIC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))


def test_no_key_anywhere_is_reported_before_any_call(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_credentials(monkeypatch, tmp_path)
    with pytest.raises(LlmAuthError, match="set ANTHROPIC_API_KEY"):
        AnthropicBackend(base_url="http://127.0.0.1:9")


def test_a_broken_sdk_profile_is_an_auth_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_credentials(monkeypatch, tmp_path)
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path / "anthropic"))  # holds no profile
    with pytest.raises(LlmAuthError, match="could not load credentials"):
        AnthropicBackend(base_url="http://127.0.0.1:9")


def test_a_400_keeps_the_api_message() -> None:
    too_long = "prompt is too long: 212000 tokens > 200000 maximum"
    with (
        fake_backend(api_error(400, too_long)) as (_, backend),
        pytest.raises(LlmRequestError) as caught,
    ):
        backend.complete(RANK, RecordingMeter())
    assert caught.value.api_message == too_long
    assert str(caught.value).endswith(f"(400 invalid_request_error): {too_long}")


def test_a_request_the_api_would_reject_is_a_request_error() -> None:
    bad_name = replace(RANK, output_name="final answer")  # spaces are not allowed in names
    with fake_backend() as (fake, backend):
        with pytest.raises(LlmRequestError, match="String should match pattern"):
            backend.complete(bad_name, RecordingMeter())
        assert len(fake.rejections) == 1


def test_no_answer_within_the_timeout_is_a_timeout_error() -> None:
    slow = replace(message(tool_use("output", VALID)), delay_s=5.0)
    with (
        fake_backend(slow, max_retries=0) as (_, backend),
        pytest.raises(LlmTimeoutError, match=r"within 0\.2 s"),
    ):
        backend.complete(replace(RANK, timeout_s=0.2), RecordingMeter())


def test_an_unreachable_api_is_named_without_the_urls_credentials() -> None:
    """ANTHROPIC_BASE_URL may point at a proxy with a user and password in it."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://proxy-user:proxy-pw-5e1@127.0.0.1:{port}"
    with backend_at(url, max_retries=0) as backend, pytest.raises(LlmUnavailableError) as caught:
        backend.complete(RANK, RecordingMeter())
    message = str(caught.value)
    assert f"cannot reach the Anthropic API at http://127.0.0.1:{port}" in message
    assert "proxy-pw-5e1" not in message
    assert "proxy-user" not in message


def test_non_haiku_models_are_refused_before_any_call() -> None:
    with fake_backend() as (fake, backend):
        with pytest.raises(ModelPolicyError, match=r"^allow_non_haiku: model"):
            backend.complete(replace(RANK, model="claude-sonnet-4-6"), RecordingMeter())
        assert fake.requests == []


def test_allow_non_haiku_lets_a_priced_model_through() -> None:
    with fake_backend(message(tool_use("output", VALID)), allow_non_haiku=True) as (fake, backend):
        response = backend.complete(replace(RANK, model="claude-opus-4-8"), RecordingMeter())
        [body] = fake.bodies
    assert response.calls[0].model == body["model"] == "claude-opus-4-8"
    assert "temperature" not in body  # Opus 4.7 and later reject sampling parameters


def test_haiku_5_5_gets_thinking_off_and_no_temperature() -> None:
    with fake_backend(message(tool_use("output", VALID))) as (fake, backend):
        backend.complete(replace(RANK, model="claude-haiku-5-5"), RecordingMeter())
        [body] = fake.bodies
    assert body["model"] == "claude-haiku-5-5"
    assert body["thinking"] == {"type": "disabled"}  # forcing a tool needs thinking off
    assert "temperature" not in body


def test_an_invalid_output_schema_fails_before_any_call() -> None:
    broken = replace(RANK, output_schema={"type": "object", "properties": {"a": {"type": 5}}})
    with fake_backend() as (fake, backend):
        with pytest.raises(LlmError, match="not valid JSON Schema draft-07"):
            backend.complete(broken, RecordingMeter())
        assert fake.requests == []


def test_live_calls_are_switched_off_for_the_whole_test_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert os.environ[NO_LIVE_ENV] == "1"  # tests/conftest.py
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)  # the SDK's default: the real API
    with (
        AnthropicBackend(api_key="sk-ant-not-a-key") as backend,
        pytest.raises(LiveCallForbidden, match=NO_LIVE_ENV),
    ):
        backend.complete(RANK, RecordingMeter())


def test_tool_failures_of_any_kind_reach_the_model_as_errors() -> None:
    def broken(args: Mapping[str, Any]) -> str:
        raise RuntimeError("disk on fire")

    tool = ToolSpec("inspect", "Inspect.", {"type": "object"}, broken)
    with fake_backend(
        message(tool_use("inspect", {}), tool_use("made_up_tool", {})),
        message(tool_use("output", VALID)),
    ) as (fake, backend):
        backend.complete(replace(RANK, tools=(tool,)), RecordingMeter())
        _, second = fake.bodies
    inspect_result, made_up_result = tool_results(second)
    assert inspect_result["is_error"] is True
    assert inspect_result["content"] == "RuntimeError: disk on fire"
    assert made_up_result["is_error"] is True
    assert "unknown tool 'made_up_tool'" in made_up_result["content"]


def test_usage_fields_the_api_leaves_null_count_as_zero() -> None:
    reply = message(
        tool_use("output", VALID),
        input_tokens=7,
        output_tokens=3,
        cache_read_input_tokens=None,
        cache_creation_input_tokens=None,
    )
    meter = RecordingMeter()
    with fake_backend(reply) as (_, backend):
        backend.complete(RANK, meter)
    assert [record.usage for record in meter.records] == [Usage(7, 3, 0, 0)]
