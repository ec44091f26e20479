"""Typed ExoMonad observability events (SPEC §1).

One class per ``type``. Every event keeps the decoded JSON object in ``fields`` (so extra
fields that newer emitters add — ``node``, ``graph``, ``session_id``, ``template`` — are
never lost), its Loki stream ``labels`` and its timestamp in epoch nanoseconds. ``scope``
is the span label or ``session_id`` that attribution keys on; ``node`` is filled in by
attribution (or taken from an explicit ``node`` field).

These are slotted classes rather than pydantic models on purpose: millions are built per
run and validation is done by hand in :mod:`micro_gastown.events.parse`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar


class EventType(StrEnum):
    GRAPH_TRANSITION = "graph_transition"
    LLM_CALL = "llm_call"
    EFFECT_EXECUTION = "effect_execution"
    ERROR = "error"
    USER_ACTION = "user_action"


class Event:
    """Common part of every event."""

    __slots__ = ("fields", "labels", "node", "scope", "ts_ns")
    kind: ClassVar[EventType]

    def __init__(
        self,
        ts_ns: int,
        labels: dict[str, str],
        fields: dict[str, Any],
        scope: str | None,
        node: str | None,
    ) -> None:
        self.ts_ns = ts_ns
        self.labels = labels
        self.fields = fields
        self.scope = scope
        self.node = node

    def __repr__(self) -> str:
        return f"<{type(self).__name__} ts={self.ts_ns} scope={self.scope} node={self.node}>"


class GraphTransition(Event):
    __slots__ = ("source", "target", "trigger")
    kind = EventType.GRAPH_TRANSITION

    def __init__(
        self,
        ts_ns: int,
        labels: dict[str, str],
        fields: dict[str, Any],
        scope: str | None,
        node: str | None,
        source: str,
        target: str,
        trigger: str,
    ) -> None:
        super().__init__(ts_ns, labels, fields, scope, node)
        self.source = source
        self.target = target
        self.trigger = trigger


class LlmCall(Event):
    __slots__ = ("completion_tokens", "latency_ms", "model", "prompt_tokens")
    kind = EventType.LLM_CALL

    def __init__(
        self,
        ts_ns: int,
        labels: dict[str, str],
        fields: dict[str, Any],
        scope: str | None,
        node: str | None,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        latency_ms: int,
    ) -> None:
        super().__init__(ts_ns, labels, fields, scope, node)
        self.model = model
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.latency_ms = latency_ms


class EffectExecution(Event):
    __slots__ = ("effect_type", "latency_ms", "success")
    kind = EventType.EFFECT_EXECUTION

    def __init__(
        self,
        ts_ns: int,
        labels: dict[str, str],
        fields: dict[str, Any],
        scope: str | None,
        node: str | None,
        effect_type: str,
        success: bool,
        latency_ms: int,
    ) -> None:
        super().__init__(ts_ns, labels, fields, scope, node)
        self.effect_type = effect_type
        self.success = success
        self.latency_ms = latency_ms


class ErrorEvent(Event):
    __slots__ = ("context", "message")
    kind = EventType.ERROR

    def __init__(
        self,
        ts_ns: int,
        labels: dict[str, str],
        fields: dict[str, Any],
        scope: str | None,
        node: str | None,
        message: str,
        context: Any,
    ) -> None:
        super().__init__(ts_ns, labels, fields, scope, node)
        self.message = message
        self.context = context


class UserAction(Event):
    __slots__ = ("action_type", "node_context")
    kind = EventType.USER_ACTION

    def __init__(
        self,
        ts_ns: int,
        labels: dict[str, str],
        fields: dict[str, Any],
        scope: str | None,
        node: str | None,
        action_type: str,
        node_context: str,
    ) -> None:
        super().__init__(ts_ns, labels, fields, scope, node)
        self.action_type = action_type
        self.node_context = node_context
