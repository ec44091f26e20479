"""Tolerant, fast parsing of one Loki log line into a typed event (see docs/events.md).

Real deployments mix emitter versions and junk: lines that are not JSON, unknown ``type``s,
missing or mistyped fields. Each such line is skipped and counted under a
:class:`SkipReason`; nothing here raises on bad input. Validation is hand-written (not
pydantic) because it runs once per log line on millions of lines.

A count (tokens, milliseconds) is a whole number from 0 to :data:`MAX_COUNT`; anything else
(a negative, a fraction, a boolean, a number of 16 digits or more) is a mistyped field. The
bound keeps every figure derived from counts exact as a double (Loki's ``unwrap`` and JSON
readers) and writable as a 64-bit JSON integer, so no log line can break a report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from micro_gastown.events.model import (
    EffectExecution,
    ErrorEvent,
    Event,
    EventType,
    GraphTransition,
    LlmCall,
    UserAction,
)
from micro_gastown.events.skips import SkipCounter, SkipReason

COUNT_DIGITS = 15
"""The most digits a count may have (push-down's line filters use it too)."""
MAX_COUNT = 10**COUNT_DIGITS - 1
"""The largest count accepted: below 2**53, so exact as a double; 31,000 years in ms."""


class _Invalid(Exception):
    """Raised inside a builder; carries the reason. Never escapes this module."""

    def __init__(self, reason: SkipReason) -> None:
        self.reason = reason


_MISSING = _Invalid(SkipReason.MISSING_FIELD)
_MISTYPED = _Invalid(SkipReason.MISTYPED_FIELD)


def _str(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    if type(value) is str:
        return value
    raise _MISSING if value is None else _MISTYPED


def _name(fields: dict[str, Any], name: str) -> str:
    """A node name: a non-empty string (an empty one would become a phantom node)."""
    value = _str(fields, name)
    if value:
        return value
    raise _MISSING


def _count(fields: dict[str, Any], name: str) -> int:
    """An integer from 0 to MAX_COUNT; integral floats (some emitters write 12.0) are accepted.

    A JSON integer too large for 64 bits arrives as a float (orjson), so the bound applies
    to both; ``bool`` is not ``int`` here (``type`` rather than ``isinstance``).
    """
    value = fields.get(name)
    if type(value) is int:
        if 0 <= value <= MAX_COUNT:
            return value
        raise _MISTYPED
    if value is None:
        raise _MISSING
    if type(value) is float and 0 <= value <= MAX_COUNT and value.is_integer():
        return int(value)
    raise _MISTYPED


def _bool(fields: dict[str, Any], name: str) -> bool:
    value = fields.get(name)
    if type(value) is bool:
        return value
    raise _MISSING if value is None else _MISTYPED


def _node_field(fields: dict[str, Any]) -> str | None:
    node = fields.get("node")
    return node if type(node) is str and node else None


_Builder = Callable[[int, dict[str, str], dict[str, Any], "str | None"], Event]


# The careful builders: each names what is wrong with a bad event. ``parse_line`` inlines
# a fast path for the common, well-formed case of the three busiest types and falls back to
# these; the fast path accepts a subset of what they accept and builds the same event.


def _transition(ts: int, labels: dict[str, str], f: dict[str, Any], scope: str | None) -> Event:
    source = _name(f, "from")
    target = _name(f, "to")
    trigger = f.get("trigger")
    if trigger is None:
        trigger = ""  # older emitters omit it; it is descriptive only
    elif type(trigger) is not str:
        raise _MISTYPED
    return GraphTransition(ts, labels, f, scope, target, source, target, trigger)


def _llm_call(ts: int, labels: dict[str, str], f: dict[str, Any], scope: str | None) -> Event:
    return LlmCall(
        ts,
        labels,
        f,
        scope,
        _node_field(f),
        _str(f, "model"),
        _count(f, "prompt_tokens"),
        _count(f, "completion_tokens"),
        _count(f, "latency_ms"),
    )


def _effect(ts: int, labels: dict[str, str], f: dict[str, Any], scope: str | None) -> Event:
    return EffectExecution(
        ts,
        labels,
        f,
        scope,
        _node_field(f),
        _str(f, "effect_type"),
        _bool(f, "success"),
        _count(f, "latency_ms"),
    )


def _error(ts: int, labels: dict[str, str], f: dict[str, Any], scope: str | None) -> Event:
    return ErrorEvent(ts, labels, f, scope, _node_field(f), _str(f, "message"), f.get("context"))


def _user_action(ts: int, labels: dict[str, str], f: dict[str, Any], scope: str | None) -> Event:
    return UserAction(
        ts, labels, f, scope, _node_field(f), _str(f, "action_type"), _str(f, "node_context")
    )


_BUILDERS: dict[str, _Builder] = {
    EventType.GRAPH_TRANSITION.value: _transition,
    EventType.LLM_CALL.value: _llm_call,
    EventType.EFFECT_EXECUTION.value: _effect,
    EventType.ERROR.value: _error,
    EventType.USER_ACTION.value: _user_action,
}


def scope_of(labels: dict[str, str], fields: dict[str, Any]) -> str | None:
    """The attribution scope: the ``span`` stream label, else the ``session_id`` field."""
    span = labels.get("span")
    if type(span) is str and span:
        return span
    session = fields.get("session_id")
    if type(session) is str and session:
        return session
    return None


_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError


def parse_line(
    ts_ns: int, line: str | bytes, labels: dict[str, str], skips: SkipCounter
) -> Event | None:
    """One Loki log line → an event, or ``None`` after counting why it was skipped."""
    try:
        f = _loads(line)
    except _JSONDecodeError:
        skips.add(SkipReason.NOT_JSON)
        return None
    if type(f) is not dict:
        skips.add(SkipReason.NOT_OBJECT)
        return None
    kind = f.get("type")
    # scope_of, inlined: it runs once per line
    scope = labels.get("span")
    if type(scope) is not str or not scope:
        scope = f.get("session_id")
        if type(scope) is not str or not scope:
            scope = None
    # Fast paths (see the builders above): one line per event makes each step count.
    if kind == "graph_transition":
        source = f.get("from")
        target = f.get("to")
        trigger = f.get("trigger")
        if (
            type(source) is str
            and type(target) is str
            and type(trigger) is str
            and source
            and target
        ):
            return GraphTransition(ts_ns, labels, f, scope, target, source, target, trigger)
    elif kind == "llm_call":
        model = f.get("model")
        prompt = f.get("prompt_tokens")
        completion = f.get("completion_tokens")
        latency = f.get("latency_ms")
        if (
            type(model) is str
            and type(prompt) is int
            and type(completion) is int
            and type(latency) is int
            and 0 <= prompt <= MAX_COUNT
            and 0 <= completion <= MAX_COUNT
            and 0 <= latency <= MAX_COUNT
            and "node" not in f
        ):
            return LlmCall(ts_ns, labels, f, scope, None, model, prompt, completion, latency)
    elif kind == "effect_execution":
        effect = f.get("effect_type")
        success = f.get("success")
        latency = f.get("latency_ms")
        if (
            type(effect) is str
            and type(success) is bool
            and type(latency) is int
            and 0 <= latency <= MAX_COUNT
            and "node" not in f
        ):
            return EffectExecution(ts_ns, labels, f, scope, None, effect, success, latency)
    builder = _BUILDERS.get(kind) if type(kind) is str else None
    if builder is None:
        if kind is None:
            skips.add(SkipReason.MISSING_TYPE)
        else:
            skips.add(SkipReason.UNKNOWN_TYPE)
            name = str(kind)[:80]
            if len(skips.unknown_types) < 50 or name in skips.unknown_types:
                skips.unknown_types[name] += 1
        return None
    try:
        return builder(ts_ns, labels, f, scope)
    except _Invalid as invalid:
        skips.add(invalid.reason)
        return None
