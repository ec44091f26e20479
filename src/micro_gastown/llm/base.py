"""The protocol every LLM backend implements, and the plain data crossing it.

A polecat step builds one :class:`LlmRequest` (system prompt, the user's content, the tools
it may call, the JSON Schema its answer must satisfy) and a backend returns one
:class:`LlmResponse`: the validated structured output (or text), and the usage of every
model call it made, so the cost ledger can price each call exactly. Backends raise
:class:`~micro_gastown.errors.LlmError` (or a subclass) for anything the caller can act on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Protocol


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens of one model call, as the API reports them."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_input_tokens + other.cache_read_input_tokens,
            self.cache_creation_input_tokens + other.cache_creation_input_tokens,
        )

    def to_dict(self) -> dict[str, int]:
        """The four counts under the API's own names (run state, recordings)."""
        return {name: getattr(self, name) for name in USAGE_FIELDS}


USAGE_FIELDS: Final = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
)


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One model call: which model, its usage, and the cost the backend reported, if any
    (Claude Code reports dollars; for the API the ledger prices the usage)."""

    model: str
    usage: Usage
    reported_cost_usd: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "usage": self.usage.to_dict(),
            "reported_cost_usd": self.reported_cost_usd,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CallRecord:
        """The inverse of :meth:`to_dict`, for data this program wrote (recordings from
        elsewhere are checked field by field in :mod:`micro_gastown.llm.replay`)."""
        return cls(str(data["model"]), Usage(**data["usage"]), data.get("reported_cost_usd"))


ToolFunction = Callable[[Mapping[str, Any]], str]
"""A read-only tool: the model's arguments in, text for the model out."""


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str
    input_schema: Mapping[str, Any]
    function: ToolFunction


@dataclass(frozen=True, slots=True)
class LlmRequest:
    system: str
    prompt: str
    model: str
    max_tokens: int = 4096
    temperature: float = 0.0
    tools: tuple[ToolSpec, ...] = ()
    output_schema: Mapping[str, Any] | None = None
    """When set, the answer must be JSON valid against it (structured output)."""
    output_name: str = "output"
    """The name of the forced output tool, for backends that use one."""
    timeout_s: float = 120.0


@dataclass(frozen=True, slots=True)
class LlmResponse:
    output: Any
    """The structured output (validated against ``output_schema``) or the final text."""
    calls: tuple[CallRecord, ...] = field(default_factory=tuple)
    repairs: int = 0
    """Rounds spent sending validation errors back."""


class Meter(Protocol):
    """Watches every model call of a request: the cost ledger implements it per step."""

    def before(self, model: str, input_tokens: int, max_output_tokens: int) -> None:
        """Runs before each call with an upper estimate of its size; may raise
        :class:`~micro_gastown.errors.BudgetExceeded`, and then nothing is sent."""

    def after(self, record: CallRecord) -> None:
        """Runs after each call that returned usage, even if the request later fails."""

    def remaining_usd(self) -> Decimal | None:
        """Dollars left before the budget (None: no budget), for backends that can pass a
        hard cap on to what they run (``claude --max-budget-usd``)."""


def estimate_tokens(*texts: str) -> int:
    """A generous upper estimate of the tokens in ``texts`` (for budget checks only)."""
    return sum(len(text) for text in texts) // 3 + 16


class LlmBackend(Protocol):
    name: str

    def complete(self, request: LlmRequest, meter: Meter) -> LlmResponse:
        """Answer ``request``, reporting every model call to ``meter``."""
        ...

    def close(self) -> None:
        """Release what the backend holds (an HTTP connection pool); no-op if nothing."""
        ...
