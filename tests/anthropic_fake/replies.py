"""The script a test gives the fake: one canned reply per ``POST /v1/messages``, in order.

A reply is what "the model" answers (:class:`MessageReply`) or an API error
(:class:`ErrorReply`). Builders keep scripts short::

    script = [
        message(tool_use("read_dsl_file", {"path": "Graph.hs"})),
        message(tool_use("output", {"severity": "urgent"})),        # invalid: a repair follows
        message(tool_use("output", {"severity": "warning"})),
    ]

Ids of messages and tool calls are filled in by the server from counters, so a run is
deterministic. Usage is computed from the request (see ``api.count_usage``) unless a reply
overrides some of its fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# https://platform.claude.com/docs/en/api/errors: HTTP status -> error.type
ERROR_TYPES: Mapping[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


@dataclass(frozen=True)
class MessageReply:
    """A 200 answer: content blocks (``tool_use`` ids may be left out) and a stop reason."""

    content: tuple[Mapping[str, Any], ...]
    stop_reason: str
    usage: Mapping[str, int | None] = field(default_factory=dict)
    """Overrides of the computed usage fields (``input_tokens``, ...); None sends null."""
    stop_details: Mapping[str, Any] | None = None
    delay_s: float = 0.0
    """Seconds to wait before answering (to run into a client's timeout)."""


@dataclass(frozen=True)
class ErrorReply:
    """An API error: status, ``error.type``, ``error.message`` and extra headers."""

    status: int
    message: str
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0

    @property
    def error_type(self) -> str:
        return ERROR_TYPES[self.status]


Reply = MessageReply | ErrorReply


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(name: str, input: Mapping[str, Any], id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_use", "name": name, "input": dict(input)}
    if id is not None:
        block["id"] = id
    return block


def message(
    *blocks: Mapping[str, Any], stop_reason: str | None = None, **usage: int | None
) -> MessageReply:
    """A model turn; the stop reason defaults to ``tool_use`` when it calls a tool."""
    if stop_reason is None:
        calls_tool = any(block["type"] == "tool_use" for block in blocks)
        stop_reason = "tool_use" if calls_tool else "end_turn"
    return MessageReply(tuple(blocks), stop_reason, usage)


def refusal(category: str | None = None, explanation: str | None = None) -> MessageReply:
    """The model declines: no content, ``stop_reason: "refusal"`` and its details."""
    details = {"type": "refusal", "category": category, "explanation": explanation}
    return MessageReply((), "refusal", {}, details)


def api_error(status: int, message: str, **headers: str) -> ErrorReply:
    return ErrorReply(status, message, {name.replace("_", "-"): v for name, v in headers.items()})


def overloaded(retry_after_ms: int | None = None) -> ErrorReply:
    """529, the API's "try again soon". ``retry_after_ms`` lets a test keep the SDK's
    backoff short (the SDK honours ``retry-after-ms``)."""
    headers = {} if retry_after_ms is None else {"retry-after-ms": str(retry_after_ms)}
    return ErrorReply(529, "Overloaded", headers)
