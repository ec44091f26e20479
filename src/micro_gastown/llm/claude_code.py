"""The Claude Code backend: ``claude -p`` as a subprocess, for users who prefer their
Claude Code login to an API key.

One request is one run of::

    claude -p --output-format json --model haiku --permission-mode default \
        --strict-mcp-config --disallowedTools Bash,Edit,...,Read,Glob,Grep,... \
        [--append-system-prompt SYSTEM] [--json-schema SCHEMA]

started from an argument list, never a shell. Decisions:

- **The prompt goes on stdin.** ``claude -p`` reads the prompt from stdin when none is given
  as an argument. Prompts carry report digests that can be long, and Linux refuses a single
  argument over 128 KiB (``E2BIG``); argv is also visible to other users in ``ps``.
- **No tools.** Claude Code runs its own tool loop, so the Python tools of a request
  (:class:`~micro_gastown.llm.base.ToolSpec`) cannot be offered to it, and its built-in
  Read/Grep/Glob are not opened on the machine either: every built-in tool that reads,
  writes, runs or fetches is denied (:data:`DENIED_TOOLS`; deny rules win over any user
  setting), ``--permission-mode default`` overrides a user's ``bypassPermissions`` (in print
  mode anything needing permission is then refused), ``--strict-mcp-config`` loads no MCP
  servers, and the process runs in a fresh empty directory, so no ``CLAUDE.md`` or project
  settings leak in. The system prompt tells the model which of the request's tools are
  unavailable; the caller must put what it needs into the prompt. Use the Anthropic
  backend for polecats that need to read the checkout. A deny list rather than ``--tools ""``
  (an empty allow list): Claude Code answers ``--json-schema`` through an internal
  ``StructuredOutput`` tool, and allow lists have been seen to hide it
  (anthropics/claude-code#82258).
- **Haiku only** unless ``allow_non_haiku``: names go through
  :func:`micro_gastown.llm.models.resolve_model`, which applies the policy. The alias
  ``haiku`` is passed to ``--model`` as it is (Claude Code maps it to its current Haiku);
  any other name is passed as the id it resolves to. The budget check prices the
  estimate with the resolved id; the cost recorded is what Claude Code reports.
- **Timeouts kill the whole process group**: ``claude`` is started in a new session, and on
  timeout (or Ctrl-C) the group is killed, so no helper it started outlives the run.
- **Structured output**: the schema goes to ``--json-schema`` and the answer is read from
  ``structured_output``; when that is missing (older versions) the ``result`` text is parsed
  as JSON (a Markdown code fence is allowed). Either way it is validated like the other
  backends' answers (:mod:`~micro_gastown.llm.output_schema`), and violations are an
  :class:`~micro_gastown.errors.LlmError` listing them. A schema no backend can use fails
  before ``claude`` is started.
- A Claude Code too old for one of these flags stops with "unknown option", which the
  error shows (the start of its stderr).
- **Cost**: Claude Code reports dollars (``total_cost_usd``, older ``cost_usd``), which the
  ledger takes as the call's cost; the usage it reports (summed over its turns) is kept too.
  The run is one :class:`~micro_gastown.llm.base.CallRecord`, reported even when the answer
  is then rejected: the money is spent.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_FLOOR, Context, Decimal
from typing import Any

from jsonschema.protocols import Validator

from micro_gastown.errors import LlmError, LlmOutputError, LlmRequestError, LlmTimeoutError
from micro_gastown.llm.base import (
    CallRecord,
    LlmRequest,
    LlmResponse,
    Meter,
    Usage,
    estimate_tokens,
)
from micro_gastown.llm.models import resolve_model
from micro_gastown.llm.output_schema import listed, output_errors, output_validator, plain_json

CLAUDE_CODE_ALIASES = frozenset({"haiku"})
"""Model aliases passed to ``--model`` unchanged: Claude Code maps them to its current model."""

DENIED_TOOLS = (
    "Bash",
    "BashOutput",
    "KillShell",
    "Edit",
    "MultiEdit",
    "Write",
    "NotebookEdit",
    "Read",
    "Glob",
    "Grep",
    "LS",
    "WebFetch",
    "WebSearch",
    "Task",
    "Agent",
    "Skill",
    "SlashCommand",
    "EnterWorktree",
)
"""Claude Code's built-in tools that touch files, processes, the network or other agents."""

CLAUDE_CODE_OVERHEAD_TOKENS = 10_000
"""Allowance for Claude Code's own system prompt in the pre-call budget estimate."""

MAX_ARGUMENT_BYTES = 100_000
"""Below Linux's 128 KiB limit on one argument (the system prompt and schema go on argv)."""

INSTALL_HINT = (
    "install Claude Code (npm install -g @anthropic-ai/claude-code) and log in with `claude`, "
    "or give its location"
)
"""Said with ``setting="claude_path"``, so each face names its own way to give the path."""

Runner = Callable[..., "subprocess.CompletedProcess[str]"]
"""``subprocess.run``-compatible: ``run(argv, input=, capture_output=, encoding=, errors=,
timeout=, cwd=, check=)``; raises ``subprocess.TimeoutExpired`` on timeout."""


def run_in_process_group(
    args: Sequence[str],
    *,
    input: str | None = None,
    capture_output: bool = True,
    encoding: str = "utf-8",
    errors: str = "replace",
    timeout: float | None = None,
    cwd: str | None = None,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Like :func:`subprocess.run`, but the child leads a new process group that is killed
    as a whole on timeout or interruption: ``subprocess.run`` kills only the child and
    leaves any helper it started running."""
    del capture_output, check  # always captured, never checked; kept for run() parity
    pipe = subprocess.PIPE
    with subprocess.Popen(
        list(args),
        stdin=pipe,
        stdout=pipe,
        stderr=pipe,
        cwd=cwd,
        encoding=encoding,
        errors=errors,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except BaseException:
            _kill_group(process)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.communicate(timeout=1.0)
            raise
    return subprocess.CompletedProcess(list(args), process.returncode, stdout, stderr)


def _kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        process.kill()


class ClaudeCodeBackend:
    """Answers requests by running Claude Code headless (``claude -p``)."""

    name = "claude-code"

    def __init__(
        self,
        executable: str = "claude",
        timeout_s: float = 300,
        allow_non_haiku: bool = False,
        run: Runner = run_in_process_group,
    ) -> None:
        self.executable = executable
        self.timeout_s = timeout_s
        self.allow_non_haiku = allow_non_haiku
        self._run = run

    def choose_model(self, requested: str) -> tuple[str, str]:
        """``(for --model, for pricing)`` of a requested model; refuses non-Haiku models
        unless allowed (:class:`~micro_gastown.errors.ModelPolicyError`)."""
        price_model = resolve_model(requested, allow_non_haiku=self.allow_non_haiku)
        alias = requested.strip().lower()
        return (alias if alias in CLAUDE_CODE_ALIASES else price_model), price_model

    def argv(
        self, request: LlmRequest, cli_model: str, max_budget_usd: Decimal | None = None
    ) -> list[str]:
        """The command line for ``request``; the prompt itself goes on stdin. With
        ``max_budget_usd``, claude itself stops spending there (its own turns cannot be
        capped by ``max_tokens``, so the run's remaining budget is passed on)."""
        argv = [self.executable, "-p", "--output-format", "json", "--model", cli_model]
        if max_budget_usd is not None:
            cap = max_budget_usd.quantize(Decimal("0.000001"), ROUND_FLOOR, Context(prec=60))
            argv += ["--max-budget-usd", format(cap, "f")]
        argv += ["--permission-mode", "default", "--strict-mcp-config"]
        argv += ["--disallowedTools", ",".join(DENIED_TOOLS)]
        system = _system_prompt(request)
        if system:
            argv += ["--append-system-prompt", system]
        if request.output_schema is not None:
            schema = json.dumps(plain_json(request.output_schema), separators=(",", ":"))
            argv += ["--json-schema", schema]
        for argument in argv:
            if len(argument.encode("utf-8")) > MAX_ARGUMENT_BYTES:
                raise LlmRequestError(
                    f"the system prompt or output schema is over {MAX_ARGUMENT_BYTES:,} bytes, "
                    "too long for claude's command line; use the anthropic backend"
                )
        return argv

    def close(self) -> None:
        """Nothing held between calls: each call is its own process."""

    def complete(self, request: LlmRequest, meter: Meter) -> LlmResponse:
        cli_model, price_model = self.choose_model(request.model)
        validator = output_validator(request)
        schema_text = json.dumps(plain_json(request.output_schema or {}))
        estimate = (
            estimate_tokens(_system_prompt(request), schema_text, request.prompt)
            + CLAUDE_CODE_OVERHEAD_TOKENS
        )
        meter.before(price_model, estimate, request.max_tokens)
        argv = self.argv(request, cli_model, meter.remaining_usd())

        completed = self._execute(argv, request.prompt)
        result = _parse_result(completed)
        record = CallRecord(price_model, _usage(result), _reported_cost(result))
        meter.after(record)

        if result.get("is_error") is True:
            raise LlmError(f"claude reported an error: {_error_text(result)}")
        if completed.returncode != 0:
            raise LlmError(
                f"claude exited with status {completed.returncode}: {_error_text(result)}"
            )
        output = _output(validator, result)
        return LlmResponse(output=output, calls=(record,))

    def _execute(self, argv: list[str], prompt: str) -> subprocess.CompletedProcess[str]:
        with tempfile.TemporaryDirectory(prefix="micro-gastown-claude-") as workdir:
            try:
                return self._run(
                    argv,
                    input=prompt,
                    capture_output=True,
                    encoding="utf-8",
                    errors="replace",
                    timeout=self.timeout_s,
                    cwd=workdir,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise LlmTimeoutError(f"claude timed out after {self.timeout_s:g} s") from None
            except FileNotFoundError:
                raise LlmError(
                    f"Claude Code executable {self.executable!r} not found: {INSTALL_HINT}",
                    setting="claude_path",
                ) from None
            except OSError as exc:  # not executable, not a program, ...
                raise LlmError(
                    f"Claude Code executable {self.executable!r} cannot be run "
                    f"({exc.strerror or exc}): {INSTALL_HINT}",
                    setting="claude_path",
                ) from None


def _system_prompt(request: LlmRequest) -> str:
    parts = [request.system.strip()] if request.system.strip() else []
    if request.tools:
        names = ", ".join(tool.name for tool in request.tools)
        parts.append(
            f"The tools {names} are not available in this session; "
            "answer from the content you are given."
        )
    if request.output_schema is not None:
        parts.append("Give your final answer as JSON that satisfies the output schema.")
    return "\n\n".join(parts)


def _parse_result(completed: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The final result object ``claude --output-format json`` prints (a list of messages
    in ``--verbose`` mode, whose last ``result`` message is taken)."""
    stdout = completed.stdout or ""
    parsed: Any = None
    for candidate in (stdout.strip(), *reversed(stdout.strip().splitlines())):
        with contextlib.suppress(ValueError):
            parsed = json.loads(candidate)
        if isinstance(parsed, dict | list):
            break
    if isinstance(parsed, list):
        results = [m for m in parsed if isinstance(m, dict) and m.get("type") == "result"]
        parsed = results[-1] if results else None
    if not isinstance(parsed, dict):
        detail = (completed.stderr or "").strip() or stdout.strip()
        raise LlmError(
            f"claude printed no JSON result (exit status {completed.returncode}): "
            f"{detail[:300] or '(no output)'}"
        )
    return parsed


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _usage(result: Mapping[str, Any]) -> Usage:
    raw = result.get("usage")
    if not isinstance(raw, Mapping):
        return Usage()
    return Usage(
        _count(raw.get("input_tokens")),
        _count(raw.get("output_tokens")),
        _count(raw.get("cache_read_input_tokens")),
        _count(raw.get("cache_creation_input_tokens")),
    )


def _reported_cost(result: Mapping[str, Any]) -> float | None:
    """``total_cost_usd`` (older Claude Code: ``cost_usd``) when it is a sane amount;
    otherwise None, and the ledger prices the usage instead."""
    for key in ("total_cost_usd", "cost_usd"):
        value = result.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value) and value >= 0:
            return float(value)
    return None


def _error_text(result: Mapping[str, Any]) -> str:
    text = result.get("result")
    if not isinstance(text, str) or not text.strip():
        errors = result.get("errors")
        if isinstance(errors, list) and errors:
            text = "; ".join(str(error) for error in errors)
        else:
            text = f"no message (subtype {result.get('subtype', 'unknown')})"
    return text.strip()[:1000]


def _output(validator: Validator | None, result: Mapping[str, Any]) -> Any:
    text = result.get("result")
    if validator is None:
        return text if isinstance(text, str) else ""
    if "structured_output" in result and result["structured_output"] is not None:
        output = result["structured_output"]
    elif isinstance(text, str):
        try:
            output = json.loads(_strip_code_fence(text))
        except ValueError:
            raise LlmOutputError(
                "claude gave no structured_output and its result is not JSON: "
                f"{text.strip()[:300]!r}"
            ) from None
    else:
        raise LlmOutputError("claude gave neither structured_output nor a result")
    errors = output_errors(validator, output)
    if errors:
        raise LlmOutputError(
            f"claude's structured output does not satisfy the schema:\n{listed(errors)}"
        )
    return output


def _strip_code_fence(text: str) -> str:
    """The JSON inside a Markdown code fence (```json ... ```), or ``text`` as it is."""
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```") and "\n" in stripped:
        return stripped[stripped.index("\n") + 1 : -3]
    return stripped
