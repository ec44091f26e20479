"""``POST /v1/messages`` as the public API defines it, minus the model.

Follows https://platform.claude.com/docs/en/api/messages and .../api/errors: the request
is checked the way the API checks it (auth and version headers, required fields, field
types, unknown fields, tool definitions, ``tool_choice``, ``cache_control`` breakpoints,
every ``tool_use`` answered by a ``tool_result`` in the next turn), and a valid request
gets the next scripted reply wrapped in the API's message object, with a usage block the
API would plausibly report:

* tokens are counted as one per four characters of canonical JSON (deterministic);
* prompt caching is simulated: the prefix up to the last ``cache_control`` breakpoint
  (tools, then system, then messages) is written on first sight and read on later
  requests, as ``cache_creation_input_tokens`` / ``cache_read_input_tokens``. The real
  API has a minimum cacheable length (1024-4096 tokens by model); here it is
  ``min_cacheable_tokens`` (default 0) so small test prompts cache too.

Not simulated: streaming (rejected with 400), images/documents, server tools, batches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .replies import ErrorReply, MessageReply

API_PATH = "/v1/messages"
TOP_LEVEL_FIELDS = frozenset(
    {
        "model",
        "max_tokens",
        "messages",
        "system",
        "tools",
        "tool_choice",
        "temperature",
        "top_p",
        "top_k",
        "stop_sequences",
        "stream",
        "metadata",
        "thinking",
        "output_config",
        "service_tier",
        "cache_control",
        "container",
        "inference_geo",
    }
)
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
USER_BLOCKS = frozenset({"text", "image", "document", "search_result", "tool_result"})
ASSISTANT_BLOCKS = frozenset({"text", "tool_use", "thinking", "redacted_thinking"})
MAX_CACHE_BREAKPOINTS = 4


class InvalidRequest(Exception):
    """The request breaks the API's rules: answered with ``reply`` and never scripted."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.reply = ErrorReply(status, message)


def _invalid(message: str) -> InvalidRequest:
    return InvalidRequest(400, message)


# -- headers ------------------------------------------------------------------------------


def check_headers(headers: Mapping[str, str], api_key: str) -> None:
    """``x-api-key`` (or ``Authorization: Bearer``, which the SDK sends) and
    ``anthropic-version`` are required; auth is checked first."""
    given = headers.get("x-api-key")
    bearer = headers.get("authorization", "")
    if given is None and bearer.startswith("Bearer "):
        given = bearer.removeprefix("Bearer ")
    if given is None:
        raise InvalidRequest(401, "x-api-key header is required")
    if given != api_key:
        raise InvalidRequest(401, "invalid x-api-key")
    if not headers.get("anthropic-version"):
        raise _invalid("anthropic-version: header is required")


# -- body ---------------------------------------------------------------------------------


def parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    if not content_type.startswith("application/json"):
        raise _invalid("content-type: expected application/json")
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise _invalid(f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise _invalid("request body must be a JSON object")
    check_body(body)
    return body


def check_body(body: Mapping[str, Any]) -> None:
    extra = sorted(set(body) - TOP_LEVEL_FIELDS)
    if extra:
        raise _invalid(f"{extra[0]}: Extra inputs are not permitted")
    for name in ("model", "max_tokens", "messages"):
        if name not in body:
            raise _invalid(f"{name}: Field required")
    if not isinstance(body["model"], str) or not body["model"]:
        raise _invalid("model: Input should be a valid string")
    max_tokens = body["max_tokens"]
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 0:
        raise _invalid("max_tokens: Input should be a non-negative integer")
    if body.get("stream"):
        raise _invalid("stream: the fake serves non-streaming requests only")
    temperature = body.get("temperature", 1.0)
    if isinstance(temperature, bool) or not isinstance(temperature, int | float):
        raise _invalid("temperature: Input should be a valid number")
    if not 0.0 <= temperature <= 1.0:
        raise _invalid("temperature: Input should be less than or equal to 1")
    _check_system(body.get("system"))
    tool_names = _check_tools(body.get("tools"))
    _check_tool_choice(body.get("tool_choice"), tool_names, body.get("thinking"))
    _check_messages(body["messages"])
    breakpoints = sum(1 for _ in _breakpoints(body))
    if breakpoints > MAX_CACHE_BREAKPOINTS:
        raise _invalid(
            f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {breakpoints}."
        )


def _check_cache_control(block: Mapping[str, Any], where: str) -> None:
    control = block.get("cache_control")
    if control is None:
        return
    if not isinstance(control, dict) or control.get("type") != "ephemeral":
        raise _invalid(f"{where}.cache_control.type: Input should be 'ephemeral'")
    if control.get("ttl", "5m") not in ("5m", "1h"):
        raise _invalid(f"{where}.cache_control.ttl: Input should be '5m' or '1h'")


def _check_system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        raise _invalid("system: Input should be a valid string or list of text blocks")
    for index, block in enumerate(system):
        where = f"system.{index}"
        if not isinstance(block, dict) or block.get("type") != "text":
            raise _invalid(f"{where}.type: Input should be 'text'")
        if not isinstance(block.get("text"), str):
            raise _invalid(f"{where}.text: Field required")
        _check_cache_control(block, where)


def _check_tools(tools: Any) -> list[str]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise _invalid("tools: Input should be a valid list")
    names: list[str] = []
    for index, tool in enumerate(tools):
        where = f"tools.{index}"
        if not isinstance(tool, dict):
            raise _invalid(f"{where}: Input should be a valid dictionary")
        name = tool.get("name")
        if not isinstance(name, str) or not TOOL_NAME.match(name):
            raise _invalid(
                f"{where}.custom.name: String should match pattern '{TOOL_NAME.pattern}'"
            )
        schema = tool.get("input_schema")
        if not isinstance(schema, dict):
            raise _invalid(f"{where}.custom.input_schema: Field required")
        if schema.get("type") != "object":
            raise _invalid(f"{where}.custom.input_schema.type: Input should be 'object'")
        if "description" in tool and not isinstance(tool["description"], str):
            raise _invalid(f"{where}.custom.description: Input should be a valid string")
        _check_cache_control(tool, where)
        if name in names:
            raise _invalid("tools: Tool names must be unique.")
        names.append(name)
    return names


def _check_tool_choice(choice: Any, tool_names: Sequence[str], thinking: Any) -> None:
    if choice is None:
        return
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind not in ("auto", "any", "tool", "none"):
        raise _invalid("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
    if kind in ("any", "tool") and not tool_names:
        raise _invalid(f"tool_choice: tool_choice.type '{kind}' requires tools")
    if kind == "tool" and choice.get("name") not in tool_names:
        raise _invalid(f"tool_choice.name: Tool '{choice.get('name')}' not found in tools")
    thinks = isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")
    if kind in ("any", "tool") and thinks:
        raise _invalid("Thinking may not be enabled when tool_choice forces tool use.")


def _check_messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise _invalid("messages: at least one message is required")
    for index, msg in enumerate(messages):
        where = f"messages.{index}"
        if not isinstance(msg, dict):
            raise _invalid(f"{where}: Input should be a valid dictionary")
        role = msg.get("role")
        if role not in ("user", "assistant"):
            raise _invalid(f"{where}.role: Input should be 'user' or 'assistant'")
        content = msg.get("content")
        if isinstance(content, str):
            continue
        if not isinstance(content, list) or not content:
            raise _invalid(f"{where}.content: Input should be a string or a non-empty list")
        allowed = USER_BLOCKS if role == "user" else ASSISTANT_BLOCKS
        for position, block in enumerate(content):
            kind = block.get("type") if isinstance(block, dict) else None
            if kind not in allowed:
                raise _invalid(f"{where}.content.{position}.type: {kind!r} is not allowed here")
            _check_block(block, f"{where}.content.{position}")
        _check_tool_results_first(content, where)
    _check_tool_pairs(messages)


def _check_block(block: Mapping[str, Any], where: str) -> None:
    kind = block["type"]
    if kind == "text" and not isinstance(block.get("text"), str):
        raise _invalid(f"{where}.text: Field required")
    if kind == "tool_use":
        if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
            raise _invalid(f"{where}: tool_use blocks need id and name")
        if not isinstance(block.get("input"), dict):
            raise _invalid(f"{where}.input: Input should be a valid dictionary")
    if kind == "tool_result":
        if not isinstance(block.get("tool_use_id"), str):
            raise _invalid(f"{where}.tool_use_id: Field required")
        content = block.get("content", "")
        if not isinstance(content, str | list):
            raise _invalid(f"{where}.content: Input should be a string or a list of blocks")
        if "is_error" in block and not isinstance(block["is_error"], bool):
            raise _invalid(f"{where}.is_error: Input should be a valid boolean")
    _check_cache_control(block, where)


def _check_tool_results_first(content: Sequence[Mapping[str, Any]], where: str) -> None:
    seen_other = False
    for block in content:
        if block["type"] != "tool_result":
            seen_other = True
        elif seen_other:
            raise _invalid(
                f"{where}: tool_result blocks must come FIRST in the content array of a "
                f"user message, before any other content"
            )


def _ids(message: Mapping[str, Any], kind: str, key: str) -> list[str]:
    content = message.get("content")
    if not isinstance(content, list):
        return []
    return [block[key] for block in content if block["type"] == kind]


def _check_tool_pairs(messages: Sequence[Mapping[str, Any]]) -> None:
    """Every ``tool_use`` is answered in the very next message, and only those are."""
    for index, msg in enumerate(messages):
        if msg["role"] == "assistant":
            asked = _ids(msg, "tool_use", "id")
            following = messages[index + 1] if index + 1 < len(messages) else None
            answered = _ids(following, "tool_result", "tool_use_id") if following else []
            missing = [tool_id for tool_id in asked if tool_id not in answered]
            if missing and following is not None:
                raise _invalid(
                    f"messages.{index + 1}: `tool_use` ids were found without `tool_result` "
                    f"blocks immediately after: {', '.join(missing)}. Each `tool_use` block "
                    f"must have a corresponding `tool_result` block in the next message."
                )
        else:
            previous = messages[index - 1] if index else None
            asked = _ids(previous, "tool_use", "id") if previous else []
            for tool_id in _ids(msg, "tool_result", "tool_use_id"):
                if tool_id not in asked:
                    raise _invalid(
                        f"messages.{index}: unexpected `tool_use_id` found in `tool_result` "
                        f"blocks: {tool_id}. Each `tool_result` block must have a "
                        f"corresponding `tool_use` block in the previous message."
                    )


# -- usage ----------------------------------------------------------------------------------


def tokens(value: Any) -> int:
    """The fake tokenizer: one token per four characters of canonical JSON."""
    if value is None:
        return 0
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return max(1, len(text) // 4)


def _segments(body: Mapping[str, Any]) -> list[tuple[Any, bool]]:
    """The prompt in cache order (tools, system, messages), each piece with whether it
    carries a breakpoint."""
    pieces: list[tuple[Any, bool]] = []
    for tool in body.get("tools") or []:
        pieces.append((tool, "cache_control" in tool))
    system = body.get("system")
    if isinstance(system, str):
        pieces.append((system, False))
    for block in system if isinstance(system, list) else []:
        pieces.append((block, "cache_control" in block))
    for msg in body["messages"]:
        content = msg["content"]
        if isinstance(content, str):
            pieces.append(({"role": msg["role"], "content": content}, False))
            continue
        for block in content:
            pieces.append(({"role": msg["role"], "block": block}, "cache_control" in block))
    return pieces


def _breakpoints(body: Mapping[str, Any]) -> list[int]:
    return [index for index, (_, marked) in enumerate(_segments(body)) if marked]


@dataclass
class PromptCache:
    """Prefixes seen so far, keyed by model and canonical JSON (no expiry: tests are short)."""

    min_cacheable_tokens: int = 0

    def __post_init__(self) -> None:
        self._seen: set[str] = set()

    def usage(self, body: Mapping[str, Any]) -> dict[str, int]:
        pieces = _segments(body)
        total = sum(tokens(piece) for piece, _ in pieces)
        read = written = 0
        ends = [index + 1 for index, (_, marked) in enumerate(pieces) if marked]
        if ends:
            sizes = {end: sum(tokens(piece) for piece, _ in pieces[:end]) for end in ends}
            keys = {end: self._key(body["model"], pieces[:end]) for end in ends}
            hits = [end for end in ends if keys[end] in self._seen]
            read = sizes[max(hits)] if hits else 0
            last = ends[-1]
            if sizes[last] >= self.min_cacheable_tokens:
                written = sizes[last] - read
                self._seen.update(keys.values())
        return {
            "input_tokens": total - read - written,
            "cache_creation_input_tokens": written,
            "cache_read_input_tokens": read,
        }

    @staticmethod
    def _key(model: str, pieces: Sequence[tuple[Any, bool]]) -> str:
        return json.dumps([model, [piece for piece, _ in pieces]], sort_keys=True)


# -- answers --------------------------------------------------------------------------------


@dataclass
class Counters:
    """Deterministic ids: the n-th message, tool call and request of one server."""

    messages: int = 0
    tool_uses: int = 0
    requests: int = 0

    def request_id(self) -> str:
        self.requests += 1
        return f"req_fake_{self.requests:04d}"


def message_body(
    reply: MessageReply, body: Mapping[str, Any], cache: PromptCache, counters: Counters
) -> dict[str, Any]:
    """The API's message object for ``reply`` to ``body``."""
    counters.messages += 1
    content: list[dict[str, Any]] = []
    for block in reply.content:
        block = dict(block)
        if block["type"] == "tool_use" and "id" not in block:
            counters.tool_uses += 1
            block = {"type": "tool_use", "id": f"toolu_fake_{counters.tool_uses:04d}", **block}
        content.append(block)
    usage: dict[str, int | None] = {**cache.usage(body)}
    usage["output_tokens"] = tokens(content) if content else 1
    usage.update(reply.usage)
    answer: dict[str, Any] = {
        "id": f"msg_fake_{counters.messages:04d}",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": content,
        "stop_reason": reply.stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": usage["input_tokens"],
            "cache_creation_input_tokens": usage["cache_creation_input_tokens"],
            "cache_read_input_tokens": usage["cache_read_input_tokens"],
            "output_tokens": usage["output_tokens"],
        },
    }
    if reply.stop_details is not None:
        answer["stop_details"] = dict(reply.stop_details)
    return answer


def error_body(reply: ErrorReply, request_id: str) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {"type": reply.error_type, "message": reply.message},
        "request_id": request_id,
    }
