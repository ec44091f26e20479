"""events.parse: one Loki line → a typed event, or one counted SkipReason (docs/events.md)."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micro_gastown.events import (
    EffectExecution,
    ErrorEvent,
    Event,
    EventType,
    GraphTransition,
    LlmCall,
    SkipCounter,
    SkipReason,
    UserAction,
    parse_line,
    scope_of,
)
from micro_gastown.events.parse import MAX_COUNT

TS = 1_763_683_200_000_000_000

TRANSITION = {"type": "graph_transition", "from": "classify", "to": "route", "trigger": "ok"}
LLM = {
    "type": "llm_call",
    "model": "claude-haiku-4-5",
    "prompt_tokens": 1200,
    "completion_tokens": 80,
    "latency_ms": 640,
}
EFFECT = {
    "type": "effect_execution",
    "effect_type": "HttpFetch",
    "success": False,
    "latency_ms": 31,
}
ERROR = {"type": "error", "message": "schema mismatch", "context": {"node": "route", "n": [1, 2]}}
USER = {"type": "user_action", "action_type": "approve", "node_context": "review"}
VALID = [TRANSITION, LLM, EFFECT, ERROR, USER]


def _parse(
    fields: dict[str, Any] | str | bytes, labels: dict[str, str] | None = None
) -> tuple[Event | None, SkipCounter]:
    skips = SkipCounter()
    line = fields if isinstance(fields, str | bytes) else orjson.dumps(fields).decode()
    return parse_line(TS, line, labels if labels is not None else {}, skips), skips


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """``base`` with fields replaced; a value of ``...`` deletes the field."""
    out = dict(base)
    for key, value in changes.items():
        name = key.rstrip("_")  # from_ → from
        if value is ...:
            out.pop(name, None)
        else:
            out[name] = value
    return out


# ---------------------------------------------------------------- the five types


def test_graph_transition_fields_and_node_is_target() -> None:
    """A transition carries from/to/trigger and runs in its `to` node."""
    event, skips = _parse(TRANSITION)
    assert isinstance(event, GraphTransition)
    assert event.kind is EventType.GRAPH_TRANSITION
    assert (event.source, event.target, event.trigger) == ("classify", "route", "ok")
    assert event.node == "route"
    assert event.ts_ns == TS
    assert skips.total == 0


def test_llm_call_fields() -> None:
    """An llm_call carries model, both token counts and latency as ints."""
    event, skips = _parse(LLM)
    assert isinstance(event, LlmCall)
    assert event.kind is EventType.LLM_CALL
    assert event.model == "claude-haiku-4-5"
    assert (event.prompt_tokens, event.completion_tokens, event.latency_ms) == (1200, 80, 640)
    assert event.node is None
    assert skips.total == 0


def test_effect_execution_fields() -> None:
    """An effect_execution carries effect_type, success (bool) and latency."""
    event, _ = _parse(EFFECT)
    assert isinstance(event, EffectExecution)
    assert event.kind is EventType.EFFECT_EXECUTION
    assert (event.effect_type, event.success, event.latency_ms) == ("HttpFetch", False, 31)


def test_error_fields_keep_any_json_context() -> None:
    """An error carries its message and the context exactly as decoded."""
    event, _ = _parse(ERROR)
    assert isinstance(event, ErrorEvent)
    assert event.kind is EventType.ERROR
    assert event.message == "schema mismatch"
    assert event.context == {"node": "route", "n": [1, 2]}


@pytest.mark.parametrize("context", [None, 0, "text", [1, "a"], {"k": {"deep": True}}, False])
def test_error_context_may_be_any_json_value(context: Any) -> None:
    """context is 'any JSON': every JSON value is accepted unchanged."""
    event, skips = _parse(_with(ERROR, context=context))
    assert isinstance(event, ErrorEvent)
    assert event.context == context
    assert skips.total == 0


def test_error_without_context_has_none() -> None:
    """A missing context is accepted and read as None."""
    event, _ = _parse(_with(ERROR, context=...))
    assert isinstance(event, ErrorEvent)
    assert event.context is None


def test_user_action_fields() -> None:
    """A user_action carries action_type and node_context."""
    event, _ = _parse(USER)
    assert isinstance(event, UserAction)
    assert event.kind is EventType.USER_ACTION
    assert (event.action_type, event.node_context) == ("approve", "review")


def test_bytes_lines_parse_like_str_lines() -> None:
    """parse_line accepts the raw bytes of a line as well as str."""
    event, _ = _parse(orjson.dumps(LLM))
    assert isinstance(event, LlmCall)
    assert event.latency_ms == 640


def test_labels_are_passed_through() -> None:
    """The event keeps its Loki stream labels."""
    labels = {"job": "exomonad-native", "event_type": "llm_call"}
    event, _ = _parse(LLM, labels)
    assert event is not None
    assert event.labels == labels


# ---------------------------------------------------------------- extra fields, node, scope


def test_extra_fields_are_kept() -> None:
    """Fields newer emitters add (graph, template, session_id, anything) stay in `fields`."""
    extra = {"graph": "support", "template": "route.jinja", "session_id": "s-1", "x": [1]}
    event, _ = _parse({**LLM, **extra})
    assert event is not None
    assert event.fields == {**LLM, **extra}


@pytest.mark.parametrize("fields", [LLM, EFFECT, ERROR, USER], ids=lambda f: f["type"])
def test_explicit_node_field_is_used(fields: dict[str, Any]) -> None:
    """An explicit `node` field names the event's node for every non-transition type."""
    event, _ = _parse({**fields, "node": "summarize"})
    assert event is not None
    assert event.node == "summarize"


@pytest.mark.parametrize("node", ["", 7, None, ["a"]])
def test_unusable_node_field_is_ignored(node: Any) -> None:
    """An empty or non-string `node` is ignored (node stays unknown), not an error."""
    event, skips = _parse({**LLM, "node": node})
    assert isinstance(event, LlmCall)
    assert event.node is None
    assert skips.total == 0


def test_scope_is_span_label() -> None:
    """The `span` stream label is the attribution scope."""
    event, _ = _parse(LLM, {"span": "span-7"})
    assert event is not None
    assert event.scope == "span-7"


def test_span_label_wins_over_session_id() -> None:
    """With both, the span label is the scope."""
    event, _ = _parse({**LLM, "session_id": "sess-1"}, {"span": "span-7"})
    assert event is not None
    assert event.scope == "span-7"


@pytest.mark.parametrize("labels", [{}, {"span": ""}], ids=["no-span", "empty-span"])
def test_scope_falls_back_to_session_id(labels: dict[str, str]) -> None:
    """Without a (non-empty) span label, the session_id field is the scope."""
    event, _ = _parse({**LLM, "session_id": "sess-1"}, labels)
    assert event is not None
    assert event.scope == "sess-1"


@pytest.mark.parametrize("span", [["a"], {"k": 1}, 7, True], ids=["list", "object", "int", "bool"])
def test_non_string_span_label_is_ignored_for_scope(span: Any) -> None:
    """A span label that is not a string (junk exports) is no scope; session_id is used instead."""
    event, _ = _parse({**LLM, "session_id": "sess-1"}, {"span": span})
    assert event is not None
    assert event.scope == "sess-1"


@pytest.mark.parametrize("session", ["", 5, None, {"id": "x"}])
def test_no_usable_scope_is_none(session: Any) -> None:
    """No span and no non-empty string session_id: the event has no scope."""
    event, _ = _parse({**LLM, "session_id": session})
    assert event is not None
    assert event.scope is None


def test_scope_of_directly() -> None:
    """scope_of: span label, else string session_id, else None."""
    assert scope_of({"span": "a"}, {"session_id": "b"}) == "a"
    assert scope_of({}, {"session_id": "b"}) == "b"
    assert scope_of({"job": "x"}, {}) is None


# ---------------------------------------------------------------- lenient-but-typed fields


def test_transition_without_trigger_is_accepted_with_empty_trigger() -> None:
    """Older emitters omit trigger: accepted, trigger reads as ''."""
    event, skips = _parse(_with(TRANSITION, trigger=...))
    assert isinstance(event, GraphTransition)
    assert event.trigger == ""
    assert skips.total == 0


def test_integral_float_tokens_are_accepted_as_int() -> None:
    """Some emitters write 12.0: it is accepted and stored as the int 12."""
    event, skips = _parse(_with(LLM, prompt_tokens=12.0, latency_ms=0.0))
    assert isinstance(event, LlmCall)
    assert event.prompt_tokens == 12
    assert type(event.prompt_tokens) is int
    assert type(event.latency_ms) is int
    assert skips.total == 0


def test_zero_counts_are_valid() -> None:
    """0 tokens and 0 ms are legal values."""
    event, _ = _parse(_with(LLM, prompt_tokens=0, completion_tokens=0, latency_ms=0))
    assert isinstance(event, LlmCall)
    assert event.completion_tokens == 0


def test_non_integral_float_count_is_mistyped_not_truncated() -> None:
    """latency_ms 12.5 is not an integer count: skipped as mistyped, not truncated to 12."""
    event, skips = _parse(_with(LLM, latency_ms=12.5))
    assert event is None
    assert skips.as_dict() == {"mistyped_field": 1}


def test_largest_count_is_accepted_as_int_or_integral_float() -> None:
    """MAX_COUNT (15 digits) is a count, as an int and as an integral float."""
    for value in (MAX_COUNT, float(MAX_COUNT)):
        event, skips = _parse(_with(LLM, latency_ms=value, prompt_tokens=value))
        assert isinstance(event, LlmCall)
        assert (event.latency_ms, event.prompt_tokens) == (MAX_COUNT, MAX_COUNT)
        assert type(event.latency_ms) is int
        assert skips.total == 0


def _huge(base: dict[str, Any], field: str, literal: str) -> str:
    """``base`` as a JSON line whose ``field`` is written exactly as ``literal``."""
    return json.dumps({**base, field: "@"}).replace('"@"', literal)


# Numbers no emitter means as a count: JSON integers beyond 64 bits (orjson reads them as
# floats), floats far past any token count or latency, the edge of 64 bits, 16 digits.
_HUGE_COUNTS = [
    ("llm latency of 30 digits", _huge(LLM, "latency_ms", "123456789012345678901234567890")),
    ("llm prompt_tokens 1e23", _huge(LLM, "prompt_tokens", "1e23")),
    ("llm prompt_tokens 1.79e308", _huge(LLM, "prompt_tokens", "1.79e308")),
    ("llm completion_tokens 2**64", _huge(LLM, "completion_tokens", str(2**64))),
    ("llm completion_tokens 2**64-1", _huge(LLM, "completion_tokens", str(2**64 - 1))),
    ("llm latency of 16 digits", _huge(LLM, "latency_ms", str(MAX_COUNT + 1))),
    ("llm latency 1e15 as float", _huge(LLM, "latency_ms", "1e15")),
    ("llm prompt_tokens -1e30", _huge(LLM, "prompt_tokens", "-1e30")),
    ("effect latency of 30 digits", _huge(EFFECT, "latency_ms", "9" * 30)),
    ("effect latency 1e300", _huge(EFFECT, "latency_ms", "1e300")),
    ("effect latency 2**63", _huge(EFFECT, "latency_ms", str(2**63))),
]


@pytest.mark.parametrize("line", [c[1] for c in _HUGE_COUNTS], ids=[c[0] for c in _HUGE_COUNTS])
def test_huge_counts_are_mistyped_fields(line: str) -> None:
    """A count no 64-bit report field could hold is skipped as mistyped, never an event."""
    event, skips = _parse(line)
    assert event is None
    assert skips.as_dict() == {"mistyped_field": 1}


# ---------------------------------------------------------------- every skip reason

_SKIPS: list[tuple[str, str | bytes, SkipReason]] = [
    ("plain text", "panic: runtime error", SkipReason.NOT_JSON),
    ("empty line", "", SkipReason.NOT_JSON),
    ("truncated object", orjson.dumps(LLM).decode()[:-1], SkipReason.NOT_JSON),
    ("invalid utf-8", b'{"type": "error", "message": "\xff"}', SkipReason.NOT_JSON),
    ("NaN literal", '{"type": "llm_call", "latency_ms": NaN}', SkipReason.NOT_JSON),
    # orjson refuses what a double cannot hold, so these never reach the count checks.
    ("Infinity literal", _huge(LLM, "latency_ms", "-Infinity"), SkipReason.NOT_JSON),
    ("1e400 overflows a double", _huge(LLM, "prompt_tokens", "1e400"), SkipReason.NOT_JSON),
    ("400-digit integer", _huge(EFFECT, "latency_ms", "1" + "0" * 400), SkipReason.NOT_JSON),
    ("json array", "[1, 2, 3]", SkipReason.NOT_OBJECT),
    ("json number", "42", SkipReason.NOT_OBJECT),
    ("json string", '"llm_call"', SkipReason.NOT_OBJECT),
    ("json null", "null", SkipReason.NOT_OBJECT),
    ("json bool", "true", SkipReason.NOT_OBJECT),
    ("no type", '{"model": "m"}', SkipReason.MISSING_TYPE),
    ("null type", '{"type": null}', SkipReason.MISSING_TYPE),
    ("unknown type", '{"type": "span_start"}', SkipReason.UNKNOWN_TYPE),
    ("type case matters", '{"type": "LLM_CALL"}', SkipReason.UNKNOWN_TYPE),
    ("numeric type", '{"type": 3}', SkipReason.UNKNOWN_TYPE),
    ("list type", '{"type": ["llm_call"]}', SkipReason.UNKNOWN_TYPE),
]


def _case(name: str, fields: dict[str, Any], reason: SkipReason) -> tuple[str, str, SkipReason]:
    return (name, orjson.dumps(fields).decode(), reason)


MISSING, MISTYPED = SkipReason.MISSING_FIELD, SkipReason.MISTYPED_FIELD
_SKIPS += [
    _case("transition without to", _with(TRANSITION, to=...), MISSING),
    _case("transition without from", _with(TRANSITION, from_=...), MISSING),
    _case("transition null to", _with(TRANSITION, to=None), MISSING),
    _case("transition numeric to", _with(TRANSITION, to=1), MISTYPED),
    _case("transition mistyped trigger", _with(TRANSITION, trigger=1), MISTYPED),
    _case("transition list trigger", _with(TRANSITION, trigger=["a"]), MISTYPED),
    _case("llm without model", _with(LLM, model=...), MISSING),
    _case("llm without latency", _with(LLM, latency_ms=...), MISSING),
    _case("llm without prompt_tokens", _with(LLM, prompt_tokens=...), MISSING),
    _case("llm string latency", _with(LLM, latency_ms="640"), MISTYPED),
    _case("llm bool as int", _with(LLM, completion_tokens=True), MISTYPED),
    _case("llm false as int", _with(LLM, latency_ms=False), MISTYPED),
    _case("llm negative tokens", _with(LLM, prompt_tokens=-1), MISTYPED),
    _case("llm negative float tokens", _with(LLM, prompt_tokens=-2.0), MISTYPED),
    _case("llm object tokens", _with(LLM, prompt_tokens={"n": 1}), MISTYPED),
    _case("llm numeric model", _with(LLM, model=4), MISTYPED),
    _case("effect without success", _with(EFFECT, success=...), MISSING),
    _case("effect string success", _with(EFFECT, success="true"), MISTYPED),
    _case("effect int success", _with(EFFECT, success=1), MISTYPED),
    _case("effect without effect_type", _with(EFFECT, effect_type=...), MISSING),
    _case("effect string latency", _with(EFFECT, latency_ms="31"), MISTYPED),
    _case("error without message", _with(ERROR, message=...), MISSING),
    _case("error non-str message", _with(ERROR, message={"text": "x"}), MISTYPED),
    _case("error numeric message", _with(ERROR, message=500), MISTYPED),
    _case("user without node_context", _with(USER, node_context=...), MISSING),
    _case("user numeric action_type", _with(USER, action_type=2), MISTYPED),
]


@pytest.mark.parametrize(("line", "reason"), [c[1:] for c in _SKIPS], ids=[c[0] for c in _SKIPS])
def test_each_bad_line_is_skipped_and_counted_once(line: str | bytes, reason: SkipReason) -> None:
    """A bad line yields no event and exactly one count under the right reason; no raise."""
    event, skips = _parse(line)
    assert event is None
    assert skips.total == 1
    assert skips.as_dict() == {reason.value: 1}


def test_first_invalid_field_decides_the_single_reason() -> None:
    """A line with several bad fields is still counted once."""
    event, skips = _parse(_with(LLM, model=..., latency_ms="slow", prompt_tokens=-3))
    assert event is None
    assert skips.total == 1


# ---------------------------------------------------------------- SkipCounter


def test_unknown_types_are_counted_by_value() -> None:
    """unknown_types tallies each unknown `type` value (non-strings by their str())."""
    skips = SkipCounter()
    for line in ['{"type": "span_start"}', '{"type": "span_start"}', '{"type": 3}', "{}"]:
        parse_line(TS, line, {}, skips)
    assert dict(skips.unknown_types) == {"span_start": 2, "3": 1}
    assert skips.as_dict() == {"unknown_type": 3, "missing_type": 1}


def test_unknown_type_names_are_truncated_to_80_chars() -> None:
    """A huge unknown type value is recorded by its first 80 characters."""
    skips = SkipCounter()
    parse_line(TS, orjson.dumps({"type": "z" * 500}), {}, skips)
    assert dict(skips.unknown_types) == {"z" * 80: 1}


def test_unknown_types_are_capped_at_50_distinct_but_known_ones_keep_counting() -> None:
    """After 50 distinct unknown types new ones are not recorded; seen ones still count."""
    skips = SkipCounter()
    for i in range(60):
        parse_line(TS, orjson.dumps({"type": f"t{i}"}), {}, skips)
    parse_line(TS, orjson.dumps({"type": "t0"}), {}, skips)
    assert len(skips.unknown_types) == 50
    assert "t55" not in skips.unknown_types
    assert skips.unknown_types["t0"] == 2
    assert skips.reasons[SkipReason.UNKNOWN_TYPE] == 61


def test_long_unknown_type_keeps_counting_after_the_cap() -> None:
    """A >80-char unknown type already recorded keeps counting once the 50-type cap is hit."""
    skips = SkipCounter()
    long_type = "x" * 100
    for i in range(49):
        parse_line(TS, orjson.dumps({"type": f"t{i}"}), {}, skips)
    for _ in range(3):
        parse_line(TS, orjson.dumps({"type": long_type}), {}, skips)
    assert skips.unknown_types[long_type[:80]] == 3


def test_skip_counter_as_dict_lists_only_nonzero_reasons_by_value() -> None:
    """as_dict() maps reason values to counts, omitting zero counts; total sums them."""
    skips = SkipCounter()
    assert skips.as_dict() == {}
    assert skips.total == 0
    skips.add(SkipReason.NOT_JSON)
    skips.add(SkipReason.NOT_JSON)
    skips.add(SkipReason.BAD_TIMESTAMP)
    assert skips.as_dict() == {"bad_timestamp": 1, "not_json": 2}
    assert list(skips.as_dict()) == ["bad_timestamp", "not_json"]  # SkipReason order
    assert skips.total == 3


# ---------------------------------------------------------------- fuzz

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-5, max_value=10**12)
    | st.floats(min_value=-10.0, max_value=1e6)
    | st.text(max_size=6)
)
# Shallow JSON values: cheap to generate, still every JSON kind.
_JSON = (
    _SCALARS
    | st.lists(_SCALARS, max_size=3)
    | st.dictionaries(st.sampled_from("abc"), _SCALARS, max_size=3)
)
_TYPE_NAMES = [t.value for t in EventType]
_FIELD_NAMES = [
    "from",
    "to",
    "trigger",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "latency_ms",
    "effect_type",
    "success",
    "message",
    "context",
    "action_type",
    "node_context",
    "node",
    "session_id",
]
_FIELDS = st.dictionaries(st.sampled_from(_FIELD_NAMES), _JSON, max_size=7)


def _with_type(pair: tuple[dict[str, Any], Any]) -> dict[str, Any]:
    fields, kind = pair
    return fields if kind is None else {**fields, "type": kind}


_NOT_AN_OBJECT_TEXT = st.text(max_size=40).filter(lambda s: not s.lstrip().startswith("{"))
_NON_OBJECT_JSON = (_SCALARS | st.lists(_SCALARS, max_size=3)).map(
    lambda v: orjson.dumps(v).decode()
)
_BAD_TYPE_DICT = st.tuples(
    _FIELDS, st.none() | st.text(max_size=12).filter(lambda t: t not in _TYPE_NAMES) | _SCALARS
).map(lambda pair: orjson.dumps(_with_type(pair)).decode())


@st.composite
def _truncated_valid(draw: st.DrawFn) -> str:
    line = orjson.dumps(draw(st.sampled_from(VALID))).decode()
    return line[: draw(st.integers(min_value=0, max_value=len(line) - 1))]


_JUNK = _NOT_AN_OBJECT_TEXT | _NON_OBJECT_JSON | _BAD_TYPE_DICT | _truncated_valid()
# A dict with any of the five types (or a bogus/missing one) and random values for known fields.
_RECORDS = st.tuples(_FIELDS, st.sampled_from([*_TYPE_NAMES, "bogus", None])).map(_with_type)


def _check_types(event: Event) -> None:
    """Whatever is accepted has exactly the documented Python types."""
    if isinstance(event, GraphTransition):
        assert all(type(v) is str for v in (event.source, event.target, event.trigger))
        assert event.node == event.target
    elif isinstance(event, LlmCall):
        assert type(event.model) is str
        for count in (event.prompt_tokens, event.completion_tokens, event.latency_ms):
            assert type(count) is int
            assert 0 <= count <= MAX_COUNT
    elif isinstance(event, EffectExecution):
        assert type(event.effect_type) is str
        assert type(event.success) is bool
        assert type(event.latency_ms) is int
        assert 0 <= event.latency_ms <= MAX_COUNT
    elif isinstance(event, ErrorEvent):
        assert type(event.message) is str
    else:
        assert isinstance(event, UserAction)
        assert type(event.action_type) is str
        assert type(event.node_context) is str
    if not isinstance(event, GraphTransition):
        assert event.node is None or (type(event.node) is str and event.node)
    assert event.scope is None or (type(event.scope) is str and event.scope)


@settings(max_examples=60, deadline=None)
@given(
    junk=st.lists(_JUNK, max_size=10),
    valid=st.lists(st.sampled_from(VALID), max_size=8),
    order=st.randoms(use_true_random=False),
)
def test_fuzz_junk_mixed_with_valid_lines_yields_exactly_the_valid_events(
    junk: list[str], valid: list[dict[str, Any]], order: Any
) -> None:
    """Junk never raises; exactly the N valid lines become events, every junk line is one skip."""
    lines = [(True, orjson.dumps(v).decode()) for v in valid] + [(False, j) for j in junk]
    order.shuffle(lines)
    skips = SkipCounter()
    events = []
    for is_valid, line in lines:
        event = parse_line(TS, line, {}, skips)
        assert (event is not None) == is_valid, line
        if event is not None:
            events.append(event)
    assert len(events) == len(valid)
    assert skips.total == len(junk)
    assert sorted(e.kind.value for e in events) == sorted(v["type"] for v in valid)


@settings(max_examples=60, deadline=None)
@given(
    records=st.lists(
        _RECORDS,
        min_size=1,
        max_size=5,
    ),
    span=st.none() | st.text(max_size=4),
)
def test_fuzz_generated_dicts_are_an_event_or_counted_exactly_once(
    records: list[dict[str, Any]], span: str | None
) -> None:
    """Any dict with a valid or invalid type is an event or one skip; events are well typed."""
    skips = SkipCounter()
    labels = {} if span is None else {"span": span}
    events = []
    for record in records:
        event = parse_line(TS, orjson.dumps(record), labels, skips)
        if event is not None:
            _check_types(event)
            assert event.fields == record
            events.append(event)
    assert len(events) + skips.total == len(records)


@settings(max_examples=60, deadline=None)
@given(lines=st.lists(st.binary(max_size=40) | st.text(max_size=40), max_size=10))
def test_fuzz_arbitrary_bytes_and_text_never_raise(lines: list[bytes | str]) -> None:
    """Arbitrary bytes/text never raise; each line is an event or exactly one skip."""
    skips = SkipCounter()
    produced = sum(parse_line(TS, line, {}, skips) is not None for line in lines)
    assert produced + skips.total == len(lines)
