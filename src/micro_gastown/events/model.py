"""Typed ExoMonad observability events (see docs/events.md).

One class per ``type``. Every event keeps the decoded JSON object in ``fields`` (so extra
fields that newer emitters add — ``node``, ``graph``, ``session_id``, ``template`` — are
never lost), its Loki stream ``labels`` and its timestamp in epoch nanoseconds. ``scope``
is the span label or ``session_id`` that attribution keys on; ``node`` is filled in by
attribution (or taken from an explicit ``node`` field).

These are slotted dataclasses rather than pydantic models on purpose: millions are built
per run and validation is done by hand in :mod:`micro_gastown.events.parse`. Construction
is positional: the common fields first, then the type's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar


class EventType(StrEnum):
    GRAPH_TRANSITION = "graph_transition"
    LLM_CALL = "llm_call"
    EFFECT_EXECUTION = "effect_execution"
    ERROR = "error"
    USER_ACTION = "user_action"


@dataclass(slots=True, eq=False, repr=False)
class Event:
    """Common part of every event."""

    kind: ClassVar[EventType]
    ts_ns: int
    labels: dict[str, str]
    fields: dict[str, Any]
    scope: str | None
    node: str | None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} ts={self.ts_ns} scope={self.scope} node={self.node}>"


@dataclass(slots=True, eq=False, repr=False)
class GraphTransition(Event):
    kind: ClassVar[EventType] = EventType.GRAPH_TRANSITION
    source: str
    target: str
    trigger: str


@dataclass(slots=True, eq=False, repr=False)
class LlmCall(Event):
    kind: ClassVar[EventType] = EventType.LLM_CALL
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int


@dataclass(slots=True, eq=False, repr=False)
class EffectExecution(Event):
    kind: ClassVar[EventType] = EventType.EFFECT_EXECUTION
    effect_type: str
    success: bool
    latency_ms: int


@dataclass(slots=True, eq=False, repr=False)
class ErrorEvent(Event):
    kind: ClassVar[EventType] = EventType.ERROR
    message: str
    context: Any
    # Set by attribution: the transition this error is the first failure of, if any.
    failed_edge: tuple[str, str] | None = None


@dataclass(slots=True, eq=False, repr=False)
class UserAction(Event):
    kind: ClassVar[EventType] = EventType.USER_ACTION
    action_type: str
    node_context: str
