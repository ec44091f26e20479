"""The Anthropic Messages API backend. It and :mod:`~micro_gastown.llm.anthropic_errors`
are the only modules that import the ``anthropic`` SDK.

One :meth:`AnthropicBackend.complete` is a small tool-use loop
(https://platform.claude.com/docs/en/agents-and-tools/tool-use/how-tool-use-works):

1. The model is resolved under the Haiku-only policy (:mod:`micro_gastown.llm.models`), and
   calls to the real API are refused while ``MICRO_GASTOWN_NO_LIVE_LLM`` is set (tests).
2. The request's read-only tools are offered, plus, for structured output, an output tool
   whose ``input_schema`` is the output schema. ``tool_choice`` makes the model call *some*
   tool (``any``); after ``max_tool_turns`` rounds of read-only calls, and during repairs,
   it is forced to call the output tool.
3. Read-only calls run in-process; their results (or their exceptions, as ``is_error``
   results) go back to the model. The output tool's input is validated against the schema
   (:mod:`~micro_gastown.llm.output_schema`); when invalid, the errors go back as an
   ``is_error`` result, at most :data:`MAX_REPAIRS` times.
4. The system prompt and the tool definitions carry ``cache_control`` breakpoints, so every
   turn after the first reads them from the prompt cache
   (https://platform.claude.com/docs/en/build-with-claude/prompt-caching).

Every API call is announced to the meter first (it may refuse with BudgetExceeded, and then
nothing is sent) and its usage reported after, even when the request fails later on.
Transient failures (429, 5xx, 529, network) are retried by the SDK itself (``max_retries``).

The SDK's errors are translated once, in :mod:`~micro_gastown.llm.anthropic_errors`, to
the classes drawn in :mod:`micro_gastown.errors`:

- no key, ``CredentialsError``, 401 ``AuthenticationError``, 403 ``PermissionDeniedError``:
  :class:`~micro_gastown.errors.LlmAuthError`;
- 529 overloaded, 429, other 5xx, ``APIConnectionError``:
  :class:`~micro_gastown.errors.LlmUnavailableError`, after the SDK's retries;
  ``APITimeoutError``: its subclass :class:`~micro_gastown.errors.LlmTimeoutError`;
- any other status (400, 404, 413, ...): :class:`~micro_gastown.errors.LlmRequestError`,
  keeping the API's own message;
- anything else from the SDK: :class:`~micro_gastown.errors.LlmError`.

The model itself can fail too: a refusal is :class:`~micro_gastown.errors.LlmRefusalError`,
output still invalid after the repairs or cut off twice is
:class:`~micro_gastown.errors.LlmOutputError`; the policy
(:class:`~micro_gastown.errors.ModelPolicyError`) and the test switch
(:class:`~micro_gastown.errors.LiveCallForbidden`) refuse before any I/O.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, Final, cast

import anthropic
from anthropic.types import (
    ContentBlock,
    ContentBlockParam,
    Message,
    MessageParam,
    TextBlockParam,
    ThinkingConfigParam,
    ToolChoiceParam,
    ToolParam,
    ToolResultBlockParam,
    ToolUseBlock,
)

from micro_gastown.errors import LiveCallForbidden, LlmAuthError, LlmOutputError, LlmRefusalError
from micro_gastown.llm.anthropic_errors import credentials_error, translate
from micro_gastown.llm.base import (
    CallRecord,
    LlmRequest,
    LlmResponse,
    Meter,
    Usage,
    estimate_tokens,
)
from micro_gastown.llm.models import ModelInfo, model_info, resolve_model
from micro_gastown.llm.output_schema import listed, output_errors, output_validator

NO_LIVE_ENV: Final = "MICRO_GASTOWN_NO_LIVE_LLM"
"""When set (to anything but ``0``), calls to the real API are refused before any I/O."""
REAL_API_HOST: Final = "api.anthropic.com"
MAX_TOOL_TURNS: Final = 8
MAX_REPAIRS: Final = 2
_NO_KEY = (
    "no Anthropic API key: set ANTHROPIC_API_KEY (https://platform.claude.com/settings/keys), "
    "or use the Claude Code backend, which uses your Claude Code login"
)


class AnthropicBackend:
    """:class:`~micro_gastown.llm.base.LlmBackend` over the Anthropic Messages API.

    Pass ``client`` (an ``anthropic.Anthropic``) to reuse one, else one is built from
    ``api_key`` (default: the ``ANTHROPIC_API_KEY`` environment variable), ``base_url``
    (default: ``ANTHROPIC_BASE_URL``, else the real API) and ``max_retries``, the SDK's own
    retries of 408/409/429/5xx/529 and network errors, with backoff.
    """

    name = "anthropic"

    def __init__(
        self,
        client: anthropic.Anthropic | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        max_retries: int = 2,
        allow_non_haiku: bool = False,
        max_tool_turns: int = MAX_TOOL_TURNS,
    ) -> None:
        if client is None:
            try:
                client = anthropic.Anthropic(
                    api_key=api_key or None, base_url=base_url, max_retries=max_retries
                )
            except anthropic.CredentialsError as exc:
                raise credentials_error(exc) from exc
            if client.api_key is None and client.auth_token is None and client.credentials is None:
                raise LlmAuthError(_NO_KEY)
        self._client = client
        self._allow_non_haiku = allow_non_haiku
        self._max_tool_turns = max_tool_turns

    def close(self) -> None:
        """Close the client's connection pool (also when the client was passed in)."""
        self._client.close()

    def __enter__(self) -> AnthropicBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def complete(self, request: LlmRequest, meter: Meter) -> LlmResponse:
        model = resolve_model(request.model, allow_non_haiku=self._allow_non_haiku)
        self._refuse_live_calls()
        return _Exchange(
            self._client, request, model_info(model), meter, self._max_tool_turns
        ).run()

    def _refuse_live_calls(self) -> None:
        if os.environ.get(NO_LIVE_ENV, "") in ("", "0"):
            return
        if self._client.base_url.host == REAL_API_HOST:
            raise LiveCallForbidden(
                f"a real Anthropic API call was refused because {NO_LIVE_ENV} is set "
                f"(the test suite sets it): point the backend at a fake server or a cassette"
            )


class _Exchange:
    """The state of one complete(): the conversation so far and the calls it cost."""

    def __init__(
        self,
        client: anthropic.Anthropic,
        request: LlmRequest,
        model: ModelInfo,
        meter: Meter,
        max_tool_turns: int,
    ) -> None:
        self.client = client
        self.request = request
        self.model = model
        self.meter = meter
        self.max_tool_turns = max_tool_turns
        self.tools = {tool.name: tool for tool in request.tools}
        self.validator = output_validator(request)
        self.tool_params = _tool_params(request)
        self.system: list[TextBlockParam] = [
            {"type": "text", "text": request.system, "cache_control": {"type": "ephemeral"}}
        ]
        self.messages: list[MessageParam] = [
            {"role": "user", "content": [{"type": "text", "text": request.prompt}]}
        ]
        self.calls: list[CallRecord] = []
        self.tool_turns = 0
        self.repairs = 0
        self.cut_off_retried = False

    # -- the loop -----------------------------------------------------------------------

    def run(self) -> LlmResponse:
        while True:
            response = self._call()
            if response.stop_reason == "refusal":
                raise LlmRefusalError(_refusal_text(response))
            if response.stop_reason == "max_tokens":
                self._retry_cut_off()
                continue
            if response.stop_reason not in ("end_turn", "tool_use", "stop_sequence"):
                raise LlmOutputError(
                    f"the model stopped with stop_reason {response.stop_reason!r}, "
                    f"which micro-gastown does not handle"
                )
            uses = [block for block in response.content if isinstance(block, ToolUseBlock)]
            output_use = self._output_use(uses)
            if output_use is not None:
                assert self.validator is not None  # else there is no output tool
                errors = output_errors(self.validator, output_use.input)
                if not errors:
                    return self._response(dict(cast(Mapping[str, Any], output_use.input)))
                self._repair(response, uses, output_use, errors)
            elif uses:
                self._run_tools(response, uses)
            elif self.validator is None:
                return self._response(_text(response.content))
            else:
                self._ask_for_output(response)

    def _response(self, output: Any) -> LlmResponse:
        return LlmResponse(output=output, calls=tuple(self.calls), repairs=self.repairs)

    def _output_use(self, uses: Sequence[ToolUseBlock]) -> ToolUseBlock | None:
        if self.validator is None:
            return None
        return next((use for use in uses if use.name == self.request.output_name), None)

    def _repair(
        self,
        response: Message,
        uses: Sequence[ToolUseBlock],
        output_use: ToolUseBlock,
        errors: Sequence[str],
    ) -> None:
        name, bullets = self.request.output_name, listed(errors)
        if self.repairs >= MAX_REPAIRS:
            raise LlmOutputError(
                f"the model's {name!r} output is still not valid against its schema after "
                f"{MAX_REPAIRS} repair rounds:\n{bullets}"
            )
        self.repairs += 1
        feedback = (
            f"The {name} input is not valid against its schema:\n{bullets}\n"
            f"Call {name} again with the complete, corrected answer."
        )
        results = [
            _tool_result(use.id, feedback, is_error=True) if use is output_use else self._run(use)
            for use in uses
        ]
        self._append_turn(response, results)

    def _run_tools(self, response: Message, uses: Sequence[ToolUseBlock]) -> None:
        self.tool_turns += 1
        self._append_turn(response, [self._run(use) for use in uses])

    def _run(self, use: ToolUseBlock) -> ToolResultBlockParam:
        """One read-only tool call; a failure becomes an error result the model can read."""
        tool = self.tools.get(use.name)
        if tool is None:
            known = ", ".join(
                [*self.tools, *([self.request.output_name] if self.validator else [])]
            )
            return _tool_result(use.id, f"unknown tool {use.name!r}; tools: {known}", is_error=True)
        if not isinstance(use.input, Mapping):
            return _tool_result(use.id, "tool input must be a JSON object", is_error=True)
        try:
            return _tool_result(use.id, str(tool.function(use.input)))
        except Exception as exc:  # any tool failure is the model's information, not a crash
            return _tool_result(use.id, f"{type(exc).__name__}: {exc}", is_error=True)

    def _ask_for_output(self, response: Message) -> None:
        """The model answered in prose although an output tool was required."""
        name = self.request.output_name
        if self.repairs >= MAX_REPAIRS:
            raise LlmOutputError(
                f"the model answered in text instead of calling {name!r}, {MAX_REPAIRS + 1} times"
            )
        self.repairs += 1
        self.messages.append({"role": "assistant", "content": _content_params(response.content)})
        note = f"Answer by calling the {name} tool; a text answer cannot be used."
        self.messages.append({"role": "user", "content": [{"type": "text", "text": note}]})

    def _retry_cut_off(self) -> None:
        """The answer hit max_tokens: ask once more, for a shorter one, then give up."""
        limit = self.request.max_tokens
        if self.cut_off_retried:
            raise LlmOutputError(
                f"the model's answer was cut off at max_tokens ({limit}) twice; raise the "
                f"polecat's [model] max_tokens or ask for less"
            )
        self.cut_off_retried = True
        note = (
            f"Your previous answer was cut off at the {limit}-token limit and was discarded. "
            f"Answer again, more briefly, so that it fits."
        )
        last = self.messages[-1]
        content = cast(list[ContentBlockParam], last["content"])
        self.messages[-1] = {"role": "user", "content": [*content, {"type": "text", "text": note}]}

    def _append_turn(self, response: Message, results: list[ToolResultBlockParam]) -> None:
        self.messages.append({"role": "assistant", "content": _content_params(response.content)})
        self.messages.append({"role": "user", "content": list(results)})

    # -- one API call -------------------------------------------------------------------

    def _tool_choice(self) -> ToolChoiceParam | None:
        if not self.tool_params:
            return None
        if self.validator is None:
            if self.tool_turns >= self.max_tool_turns:
                return {"type": "none"}
            return {"type": "auto"}
        if self.repairs or self.tool_turns >= self.max_tool_turns or not self.tools:
            return {"type": "tool", "name": self.request.output_name}
        return {"type": "any"}

    def _call(self) -> Message:
        request, model = self.request, self.model
        tool_choice = self._tool_choice()
        thinking: ThinkingConfigParam | None = (
            {"type": "disabled"} if model.adaptive_thinking else None
        )
        extra_body = {"temperature": request.temperature} if model.accepts_temperature else None
        self.meter.before(model.id, self._input_estimate(), request.max_tokens)
        try:
            response = self.client.messages.create(
                model=model.id,
                max_tokens=request.max_tokens,
                system=self.system,
                messages=self.messages,
                tools=self.tool_params if self.tool_params else anthropic.omit,
                tool_choice=tool_choice if tool_choice is not None else anthropic.omit,
                thinking=thinking if thinking is not None else anthropic.omit,
                extra_body=extra_body,
                timeout=request.timeout_s,
            )
        except anthropic.AnthropicError as exc:
            raise translate(exc, self.client, request.timeout_s) from exc
        record = CallRecord(model.id, _usage(response))
        self.calls.append(record)
        self.meter.after(record)
        return response

    def _input_estimate(self) -> int:
        tools = json.dumps(self.tool_params, default=str)
        return estimate_tokens(self.request.system, tools, json.dumps(self.messages, default=str))


# -- request pieces -----------------------------------------------------------------------


def _tool_params(request: LlmRequest) -> list[ToolParam]:
    """Read-only tools, then the output tool; the last one carries the cache breakpoint,
    which caches every tool definition before it too."""
    params: list[ToolParam] = [
        {
            "name": tool.name,
            "description": tool.description,
            "input_schema": dict(tool.input_schema),
        }
        for tool in request.tools
    ]
    if request.output_schema is not None:
        params.append(
            {
                "name": request.output_name,
                "description": (
                    "Give your final answer by calling this tool exactly once; its input "
                    "must satisfy the schema."
                ),
                "input_schema": dict(request.output_schema),
            }
        )
    if params:
        params[-1]["cache_control"] = {"type": "ephemeral"}
    return params


def _tool_result(tool_use_id: str, text: str, *, is_error: bool = False) -> ToolResultBlockParam:
    result: ToolResultBlockParam = {"type": "tool_result", "tool_use_id": tool_use_id}
    result["content"] = text
    if is_error:
        result["is_error"] = True
    return result


def _content_params(blocks: Sequence[ContentBlock]) -> list[ContentBlockParam]:
    """The assistant's answer, sent back as the next request's assistant turn."""
    params: list[ContentBlockParam] = []
    for block in blocks:
        if block.type == "text":
            params.append({"type": "text", "text": block.text})
        elif block.type == "tool_use":
            params.append(
                {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
            )
        else:  # thinking and server-tool blocks must go back as they came
            params.append(cast(ContentBlockParam, block.to_dict(mode="json")))
    return params


# -- reading answers ----------------------------------------------------------------------


def _usage(response: Message) -> Usage:
    usage = response.usage
    return Usage(
        input_tokens=usage.input_tokens or 0,
        output_tokens=usage.output_tokens or 0,
        cache_read_input_tokens=usage.cache_read_input_tokens or 0,
        cache_creation_input_tokens=usage.cache_creation_input_tokens or 0,
    )


def _text(blocks: Sequence[ContentBlock]) -> str:
    return "".join(block.text for block in blocks if block.type == "text")


def _refusal_text(response: Message) -> str:
    details = response.stop_details
    reason = ""
    if details is not None and details.category:
        reason = f" (category {details.category}"
        reason += f": {details.explanation})" if details.explanation else ")"
    return (
        f"the model refused to answer{reason}; nothing was produced. Rephrase the prompt or "
        f"leave out the evidence that triggers it"
    )
