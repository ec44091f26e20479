"""The Claude Code backend against a fake `claude` executable run as a real subprocess:
the command line it builds, how it reads Claude Code's JSON result, what it reports to
the meter, and how each failure becomes one clear LlmError."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from micro_gastown.errors import (
    BudgetExceeded,
    LlmError,
    LlmOutputError,
    LlmTimeoutError,
    ModelPolicyError,
)
from micro_gastown.llm.base import CallRecord, LlmRequest, ToolSpec, Usage
from micro_gastown.llm.claude_code import ClaudeCodeBackend
from micro_gastown.llm.ledger import CostLedger
from micro_gastown.llm.models import DEFAULT_HAIKU, price_decimal

from fakes import FakeClaude, claude_result, install_fake_claude

SCHEMA = {
    "type": "object",
    "required": ["answer"],
    "properties": {"answer": {"type": "string"}},
    "additionalProperties": False,
}
REQUEST = LlmRequest(
    system="You are the log-analyzer.",
    prompt="Rank these findings.",
    model="haiku",
    max_tokens=1_000,
    output_schema=SCHEMA,
)
USAGE_JSON = {
    "input_tokens": 12,
    "output_tokens": 340,
    "cache_read_input_tokens": 9_000,
    "cache_creation_input_tokens": 1_500,
}
USAGE = Usage(12, 340, 9_000, 1_500)


def result(**fields: Any) -> dict[str, Any]:
    return claude_result(USAGE_JSON, **fields)


@pytest.fixture
def fake_claude(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeClaude:
    fake = install_fake_claude(tmp_path, monkeypatch)
    fake.answer(result(structured_output={"answer": "42"}))
    return fake


@dataclass
class LoggingMeter:
    """Records the meter calls; ``fake`` lets it check nothing ran before ``before``."""

    fake: FakeClaude | None = None
    befores: list[tuple[str, int, int]] = field(default_factory=list)
    afters: list[CallRecord] = field(default_factory=list)

    def before(self, model: str, input_tokens: int, max_output_tokens: int) -> None:
        assert self.fake is None or not self.fake.ran, "claude ran before the budget check"
        self.befores.append((model, input_tokens, max_output_tokens))

    def after(self, record: CallRecord) -> None:
        self.afters.append(record)

    def remaining_usd(self) -> Decimal | None:
        return None  # no budget: claude gets no --max-budget-usd


def backend(fake: FakeClaude, **kwargs: Any) -> ClaudeCodeBackend:
    return ClaudeCodeBackend(executable=str(fake.path), **kwargs)


def test_structured_output_and_reported_cost(fake_claude: FakeClaude) -> None:
    meter = LoggingMeter(fake_claude)

    response = backend(fake_claude).complete(REQUEST, meter)

    assert response.output == {"answer": "42"}
    record = CallRecord(DEFAULT_HAIKU, USAGE, reported_cost_usd=0.0123)
    assert response.calls == (record,)
    assert meter.afters == [record]
    ((model, input_estimate, max_output),) = meter.befores
    assert (model, max_output) == (DEFAULT_HAIKU, 1_000)
    assert input_estimate > len(REQUEST.system + REQUEST.prompt) // 3


def test_the_ledger_takes_claude_codes_reported_dollars(fake_claude: FakeClaude) -> None:
    ledger = CostLedger(0.5)
    backend(fake_claude).complete(REQUEST, ledger.meter("analyze"))
    assert ledger.spent_usd == Decimal("0.0123")
    assert ledger.step_usage("analyze") == USAGE


def test_claude_may_spend_no_more_than_the_runs_remaining_budget(
    fake_claude: FakeClaude,
) -> None:
    """max_tokens cannot cap claude's own turns: the ledger's remaining dollars go on its
    command line as a hard stop, rounded down."""
    ledger = CostLedger(0.5)
    ledger.record("analyze", CallRecord(DEFAULT_HAIKU, Usage(0, 0), reported_cost_usd=0.1234564))
    backend(fake_claude).complete(REQUEST, ledger.meter("analyze"))
    argv = fake_claude.seen()["argv"]
    # 0.5 - 0.1234564 = 0.3765436: rounded half-even it would be 0.376544
    assert argv[argv.index("--max-budget-usd") + 1] == "0.376543"


def test_older_cost_usd_field_is_read(fake_claude: FakeClaude) -> None:
    fake_claude.answer(
        result(total_cost_usd=None, cost_usd=0.02, structured_output={"answer": "x"})
    )
    response = backend(fake_claude).complete(REQUEST, LoggingMeter())
    assert response.calls[0].reported_cost_usd == 0.02


def test_without_a_reported_cost_the_ledger_prices_the_usage(fake_claude: FakeClaude) -> None:
    fake_claude.answer(result(total_cost_usd=None, structured_output={"answer": "x"}))
    ledger = CostLedger(0.5)
    response = backend(fake_claude).complete(REQUEST, ledger.meter("analyze"))
    assert response.calls[0].reported_cost_usd is None
    assert ledger.spent_usd == price_decimal(DEFAULT_HAIKU, USAGE)


def test_exact_command_line_no_shell_prompt_on_stdin(fake_claude: FakeClaude) -> None:
    request = replace(REQUEST, system='Quote "$(touch pwned)" `id`; exit 1')

    backend(fake_claude).complete(request, LoggingMeter())

    seen = fake_claude.seen()
    assert seen["argv"] == [
        "-p",
        "--output-format",
        "json",
        "--model",
        "haiku",
        "--permission-mode",
        "default",
        "--strict-mcp-config",
        "--disallowedTools",
        "Bash,BashOutput,KillShell,Edit,MultiEdit,Write,NotebookEdit,Read,Glob,Grep,LS,"
        "WebFetch,WebSearch,Task,Agent,Skill,SlashCommand,EnterWorktree",
        "--append-system-prompt",
        'Quote "$(touch pwned)" `id`; exit 1\n\n'
        "Give your final answer as JSON that satisfies the output schema.",
        "--json-schema",
        json.dumps(SCHEMA, separators=(",", ":")),
    ]
    assert json.loads(seen["argv"][-1]) == SCHEMA
    assert seen["stdin"] == REQUEST.prompt
    # Runs in a fresh empty directory (no CLAUDE.md, no project settings), removed after.
    assert Path(seen["cwd"]).name.startswith("micro-gastown-claude-")
    assert not Path(seen["cwd"]).exists()


def test_runner_gets_an_argument_list_never_a_shell() -> None:
    calls: list[tuple[Any, dict[str, Any]]] = []

    def run(args: Any, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append((args, kwargs))
        return subprocess.CompletedProcess(args, 0, json.dumps(result(result="hi")), "")

    ClaudeCodeBackend(run=run).complete(replace(REQUEST, output_schema=None), LoggingMeter())

    ((args, kwargs),) = calls
    assert isinstance(args, list)
    assert args[0] == "claude"
    assert "shell" not in kwargs
    assert kwargs["input"] == REQUEST.prompt
    assert kwargs["timeout"] == 300


def test_a_long_prompt_goes_through_stdin(fake_claude: FakeClaude) -> None:
    prompt = "digest line\n" * 30_000  # 360 kB: over Linux's 128 KiB limit for one argument
    backend(fake_claude).complete(replace(REQUEST, prompt=prompt), LoggingMeter())
    assert fake_claude.seen()["stdin"] == prompt


def test_text_answer_without_a_schema(fake_claude: FakeClaude) -> None:
    fake_claude.answer(result(result="Two findings matter."))
    request = replace(REQUEST, output_schema=None)

    response = backend(fake_claude).complete(request, LoggingMeter())

    assert response.output == "Two findings matter."
    assert "--json-schema" not in fake_claude.seen()["argv"]


def test_request_tools_are_not_offered_and_the_model_is_told(fake_claude: FakeClaude) -> None:
    tool = ToolSpec("read_file", "Read a file", {"type": "object"}, lambda args: "")
    backend(fake_claude).complete(replace(REQUEST, tools=(tool,)), LoggingMeter())
    argv = fake_claude.seen()["argv"]
    denied = argv[argv.index("--disallowedTools") + 1].split(",")
    assert {"Bash", "Read", "Grep", "Glob", "Write", "Edit", "WebFetch"} <= set(denied)
    assert "--allowedTools" not in argv
    system = argv[argv.index("--append-system-prompt") + 1]
    assert "read_file are not available" in system


def test_json_in_result_is_used_when_structured_output_is_absent(
    fake_claude: FakeClaude,
) -> None:
    fake_claude.answer(result(result='```json\n{"answer": "from text"}\n```'))
    response = backend(fake_claude).complete(REQUEST, LoggingMeter())
    assert response.output == {"answer": "from text"}


def test_invalid_structured_output_is_an_error_listing_the_problems(
    fake_claude: FakeClaude,
) -> None:
    fake_claude.answer(result(structured_output={"answer": 42, "extra": True}))
    meter = LoggingMeter()

    with pytest.raises(LlmError) as caught:
        backend(fake_claude).complete(REQUEST, meter)

    assert str(caught.value).splitlines()[1:] == [
        "- $: Additional properties are not allowed ('extra' was unexpected)",
        "- $.answer: 42 is not of type 'string'",
    ]
    assert len(meter.afters) == 1  # the call was paid for all the same


def test_result_that_is_not_json_when_a_schema_is_required(fake_claude: FakeClaude) -> None:
    fake_claude.answer(result(result="Sure! Here is the ranking: a, b."))
    with pytest.raises(LlmOutputError, match="no structured_output and its result is not JSON"):
        backend(fake_claude).complete(REQUEST, LoggingMeter())


def test_is_error_becomes_an_error_with_claudes_text(fake_claude: FakeClaude) -> None:
    fake_claude.answer(
        result(subtype="success", is_error=True, result="Credit balance is too low"), exit=1
    )
    meter = LoggingMeter()

    with pytest.raises(LlmError, match="claude reported an error: Credit balance is too low"):
        backend(fake_claude).complete(REQUEST, meter)
    assert meter.afters == [CallRecord(DEFAULT_HAIKU, USAGE, 0.0123)]


def test_is_error_without_text_names_the_subtype(fake_claude: FakeClaude) -> None:
    fake_claude.answer(result(subtype="error_max_turns", is_error=True, result=None))
    with pytest.raises(LlmError, match="error_max_turns"):
        backend(fake_claude).complete(REQUEST, LoggingMeter())


def test_non_json_output_shows_the_start_of_stderr(fake_claude: FakeClaude) -> None:
    stderr = "error: unknown option '--strict-mcp-config'" + "x" * 1_000
    fake_claude.answer("Usage: claude [options]", stderr=stderr, exit=1)
    meter = LoggingMeter()

    with pytest.raises(LlmError) as caught:
        backend(fake_claude).complete(REQUEST, meter)

    message = str(caught.value)
    assert "claude printed no JSON result (exit status 1)" in message
    assert stderr[:300] in message
    assert stderr[:301] not in message
    assert meter.afters == []


def process_alive(pid: int) -> bool:
    """Running, and not a zombie waiting for a parent to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_timeout_kills_claude_and_the_helpers_it_started(fake_claude: FakeClaude) -> None:
    fake_claude.answer(result(), sleep=30, spawn_sleeper=True)
    meter = LoggingMeter()

    started = time.monotonic()
    with pytest.raises(LlmTimeoutError, match=r"^claude timed out after 0\.3 s$"):
        backend(fake_claude, timeout_s=0.3).complete(REQUEST, meter)

    assert time.monotonic() - started < 5
    assert meter.afters == []
    # subprocess.run would kill only `claude` and leave this helper running for 30 s.
    sleeper = fake_claude.seen()["sleeper_pid"]
    deadline = time.monotonic() + 2
    while process_alive(sleeper) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not process_alive(sleeper)


def test_missing_executable_says_how_to_install_or_point_to_it(tmp_path: Path) -> None:
    absent = tmp_path / "nowhere" / "claude"
    with pytest.raises(LlmError) as caught:
        ClaudeCodeBackend(executable=str(absent)).complete(REQUEST, LoggingMeter())
    message = str(caught.value)
    assert str(absent) in message
    assert "npm install -g @anthropic-ai/claude-code" in message
    assert caught.value.setting == "claude_path"
    assert message.endswith("or give its location")


def test_a_file_that_is_not_executable_is_reported(tmp_path: Path) -> None:
    not_executable = tmp_path / "claude"
    not_executable.write_text("#!/bin/sh\n")
    with pytest.raises(LlmError, match="cannot be run"):
        ClaudeCodeBackend(executable=str(not_executable)).complete(REQUEST, LoggingMeter())


def test_non_haiku_model_is_refused_before_anything_runs(fake_claude: FakeClaude) -> None:
    meter = LoggingMeter()
    with pytest.raises(ModelPolicyError, match=r"^allow_non_haiku: model"):
        backend(fake_claude).complete(replace(REQUEST, model="claude-sonnet-4-6"), meter)
    assert meter.befores == []
    assert not fake_claude.ran


def test_an_unusable_output_schema_is_refused_before_anything_runs(
    fake_claude: FakeClaude,
) -> None:
    meter = LoggingMeter()
    broken = replace(REQUEST, output_schema={"type": "object", "required": "answer"})
    with pytest.raises(LlmError, match="not valid JSON Schema draft-07"):
        backend(fake_claude).complete(broken, meter)
    assert meter.befores == []
    assert not fake_claude.ran


def test_non_haiku_model_runs_when_allowed(fake_claude: FakeClaude) -> None:
    request = replace(REQUEST, model="claude-sonnet-4-6")
    meter = LoggingMeter()
    backend(fake_claude, allow_non_haiku=True).complete(request, meter)
    argv = fake_claude.seen()["argv"]
    assert argv[argv.index("--model") + 1] == "claude-sonnet-4-6"
    assert meter.befores[0][0] == "claude-sonnet-4-6"


def test_upstream_haiku_id_is_sent_as_the_real_id(fake_claude: FakeClaude) -> None:
    request = replace(REQUEST, model="claude-haiku-4-20250514")
    backend(fake_claude).complete(request, LoggingMeter())
    argv = fake_claude.seen()["argv"]
    assert argv[argv.index("--model") + 1] == DEFAULT_HAIKU


def test_budget_stop_happens_before_claude_runs(fake_claude: FakeClaude) -> None:
    ledger = CostLedger(0.001)  # 1,000 output tokens of Haiku alone cost $0.005
    with pytest.raises(BudgetExceeded, match=r"^budget_usd: stopping before the budget"):
        backend(fake_claude).complete(REQUEST, ledger.meter("analyze"))
    assert not fake_claude.ran
    assert ledger.spent_usd == 0


def test_nonzero_exit_with_a_successful_looking_result_is_an_error(
    fake_claude: FakeClaude,
) -> None:
    fake_claude.answer(result(result="partial", structured_output={"answer": "x"}), exit=2)
    with pytest.raises(LlmError, match="claude exited with status 2: partial"):
        backend(fake_claude).complete(REQUEST, LoggingMeter())


def test_verbose_message_list_takes_the_final_result(fake_claude: FakeClaude) -> None:
    messages = [
        {"type": "system", "subtype": "init"},
        {"type": "assistant", "message": {}},
        result(structured_output={"answer": "last"}),
    ]
    fake_claude.scenario.write_text(json.dumps({"stdout": json.dumps(messages)}))
    response = backend(fake_claude).complete(REQUEST, LoggingMeter())
    assert response.output == {"answer": "last"}
