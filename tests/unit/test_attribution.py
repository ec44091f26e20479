"""events.attribution: which node an event belongs to, per span/session scope (docs/events.md)."""

from __future__ import annotations

import pickle
from typing import Any

import orjson
import pytest

from micro_gastown.events import Attributor, Event, LlmCall, SkipCounter, parse_line
from micro_gastown.events import attribution as attribution_module

T0 = 1_763_683_200_000_000_000
MS = 1_000_000


def _event(fields: dict[str, Any], ts: int, span: str | None = None) -> Event:
    labels = (
        {"job": "exomonad-native"} if span is None else {"job": "exomonad-native", "span": span}
    )
    event = parse_line(ts, orjson.dumps(fields), labels, SkipCounter())
    assert event is not None, fields
    return event


def transition(span: str | None, source: str, target: str, ts: int, **extra: Any) -> Event:
    fields = {"type": "graph_transition", "from": source, "to": target, "trigger": "t", **extra}
    return _event(fields, ts, span)


def llm(span: str | None, ts: int, **extra: Any) -> Event:
    fields = {
        "type": "llm_call",
        "model": "m",
        "prompt_tokens": 1,
        "completion_tokens": 1,
        "latency_ms": 1,
        **extra,
    }
    return _event(fields, ts, span)


def effect(span: str | None, ts: int) -> Event:
    fields = {"type": "effect_execution", "effect_type": "Http", "success": True, "latency_ms": 3}
    return _event(fields, ts, span)


def error(span: str | None, ts: int) -> Event:
    return _event({"type": "error", "message": "boom"}, ts, span)


def user(span: str | None, ts: int) -> Event:
    return _event({"type": "user_action", "action_type": "ok", "node_context": "x"}, ts, span)


# ---------------------------------------------------------------- basic attribution


def test_events_after_a_transition_belong_to_its_target() -> None:
    """llm_call, effect_execution, error and user_action after A→B belong to B."""
    attributor = Attributor()
    attributor.observe(transition("s1", "entry", "classify", T0))
    followers = [llm("s1", T0 + 1), effect("s1", T0 + 2), error("s1", T0 + 3), user("s1", T0 + 4)]
    for event in followers:
        state = attributor.observe(event)
        assert state is not None
        assert state.node == "classify"
    assert [e.node for e in followers] == ["classify"] * 4
    assert attributor.unattributed == 0


def test_each_transition_moves_the_running_node() -> None:
    """A later transition in the same scope re-attributes the events after it."""
    attributor = Attributor()
    first, second = llm("s1", T0 + 2), llm("s1", T0 + 4)
    for event in [
        transition("s1", "entry", "classify", T0 + 1),
        first,
        transition("s1", "classify", "route", T0 + 3),
        second,
    ]:
        attributor.observe(event)
    assert (first.node, second.node) == ("classify", "route")


def test_transition_returns_its_scope_state() -> None:
    """observe(transition) returns the scope state now running the target node."""
    attributor = Attributor()
    state = attributor.observe(transition("s1", "entry", "classify", T0))
    assert state is attributor.scopes["s1"]
    assert state.node == "classify"
    assert state.last_ts == T0


def test_interleaved_sessions_never_mix() -> None:
    """Two spans alternating line by line each keep their own running node."""
    attributor = Attributor()
    a1, b1, a2, b2, a3, b3 = (llm(s, T0 + 10 + i) for i, s in enumerate("ababab"))
    stream = [
        transition("a", "entry", "a_node1", T0),
        transition("b", "entry", "b_node1", T0 + 1),
        a1,
        b1,
        transition("a", "a_node1", "a_node2", T0 + 12),
        a2,
        b2,
        transition("b", "b_node1", "b_node2", T0 + 15),
        a3,
        b3,
    ]
    for event in stream:
        attributor.observe(event)
    assert [a1.node, a2.node, a3.node] == ["a_node1", "a_node2", "a_node2"]
    assert [b1.node, b2.node, b3.node] == ["b_node1", "b_node1", "b_node2"]
    assert attributor.out_of_order == 0


def test_session_id_scopes_work_like_spans() -> None:
    """Without span labels, session_id fields scope attribution just the same."""
    attributor = Attributor()
    stream = [
        transition(None, "entry", "x1", T0, session_id="sx"),
        transition(None, "entry", "y1", T0 + 1, session_id="sy"),
        llm(None, T0 + 2, session_id="sx"),
        llm(None, T0 + 3, session_id="sy"),
    ]
    for event in stream:
        attributor.observe(event)
    assert [e.node for e in stream[2:]] == ["x1", "y1"]
    assert set(attributor.scopes) == {"sx", "sy"}


# ---------------------------------------------------------------- unattributed


def test_event_without_scope_is_unattributed_and_counted() -> None:
    """An event with no span/session stays node-less, counts as unattributed, returns None."""
    attributor = Attributor()
    attributor.observe(transition("s1", "entry", "classify", T0))
    orphan = llm(None, T0 + 1)
    assert attributor.observe(orphan) is None
    assert orphan.node is None  # never guessed from the only active span
    assert attributor.unattributed == 1
    assert attributor.unattributed_by == {("llm_call", attribution_module.NO_SCOPE): 1}
    assert set(attributor.scopes) == {"s1"}


def test_event_before_any_transition_in_its_scope_is_unattributed() -> None:
    """The first events of a scope, before its first transition, have no node."""
    attributor = Attributor()
    early = error("s1", T0)
    assert attributor.observe(early) is None
    assert early.node is None
    assert attributor.unattributed == 1
    assert attributor.scopes == {}  # only transitions open a scope
    later = llm("s1", T0 + 2)
    attributor.observe(transition("s1", "entry", "classify", T0 + 1))
    attributor.observe(later)
    assert later.node == "classify"
    assert attributor.unattributed == 1
    assert attributor.unattributed_by == {("error", attribution_module.NO_TRANSITION): 1}


def test_transition_without_scope_is_not_tracked_nor_counted() -> None:
    """A scope-less transition opens no scope and is not an unattributed event."""
    attributor = Attributor()
    event = transition(None, "entry", "classify", T0)
    assert attributor.observe(event) is None
    assert attributor.scopes == {}
    assert attributor.unattributed == 0
    follower = llm(None, T0 + 1)
    attributor.observe(follower)
    assert follower.node is None


# ---------------------------------------------------------------- explicit node


def test_explicit_node_field_wins_over_the_running_node() -> None:
    """A `node` field on the event is kept even inside a scope running another node."""
    attributor = Attributor()
    attributor.observe(transition("s1", "entry", "classify", T0))
    tagged = llm("s1", T0 + 1, node="summarize")
    attributor.observe(tagged)
    assert tagged.node == "summarize"
    assert attributor.scopes["s1"].node == "classify"
    assert attributor.unattributed == 0


def test_explicit_node_without_scope_is_attributed() -> None:
    """A scope-less event naming its node is attributed, not counted as unattributed."""
    attributor = Attributor()
    tagged = effect(None, T0)
    tagged.node = "fetch"  # as parse does for a `node` field
    attributor.observe(tagged)
    assert tagged.node == "fetch"
    assert attributor.unattributed == 0


# ---------------------------------------------------------------- ordering


def test_equal_timestamps_follow_file_order() -> None:
    """With equal timestamps, an event before the transition in the file keeps the old node."""
    attributor = Attributor()
    attributor.observe(transition("s1", "entry", "classify", T0))
    before, after = llm("s1", T0 + MS), llm("s1", T0 + MS)
    attributor.observe(before)
    attributor.observe(transition("s1", "classify", "route", T0 + MS))
    attributor.observe(after)
    assert (before.node, after.node) == ("classify", "route")
    assert attributor.out_of_order == 0


def test_equal_timestamp_before_first_transition_is_unattributed() -> None:
    """At one timestamp, an event filed before the first transition has no node."""
    attributor = Attributor()
    event = llm("s1", T0)
    attributor.observe(event)
    attributor.observe(transition("s1", "entry", "classify", T0))
    assert event.node is None
    assert attributor.unattributed == 1


def test_out_of_order_events_are_counted_per_scope() -> None:
    """A timestamp earlier than its scope's last one counts; other scopes' clocks don't matter."""
    attributor = Attributor()
    attributor.observe(transition("s1", "entry", "classify", T0 + 10))
    attributor.observe(transition("s2", "entry", "route", T0 + 100))
    late = llm("s1", T0 + 5)  # earlier than s1's transition
    attributor.observe(late)
    assert attributor.out_of_order == 1
    assert late.node == "classify"  # counted, still attributed in arrival order
    attributor.observe(llm("s1", T0 + 50))  # earlier than s2's clock, fine for s1
    assert attributor.out_of_order == 1
    attributor.observe(transition("s2", "route", "done", T0 + 99))
    assert attributor.out_of_order == 2


def test_out_of_order_events_count_at_the_node_they_were_attributed_to() -> None:
    """A late event counts at the node it landed on; a late transition at its target, where
    the events after it go; events in order count nowhere."""
    attributor = Attributor()
    attributor.observe(transition("s1", "entry", "classify", T0 + 10))
    attributor.observe(llm("s1", T0 + 20))
    assert attributor.out_of_order_nodes == {}
    attributor.observe(llm("s1", T0 + 5))  # late: lands on classify
    attributor.observe(error("s1", T0 + 6))  # late: lands on classify
    attributor.observe(transition("s1", "classify", "route", T0 + 7))  # late: into route
    attributor.observe(llm("s1", T0 + 30))  # in order, now at route
    attributor.observe(llm("s1", T0 + 1, node="summarize"))  # late, explicit node
    assert attributor.out_of_order == 4
    assert attributor.out_of_order_nodes == {"classify": 2, "route": 1, "summarize": 1}


def test_events_without_scope_are_never_out_of_order() -> None:
    """Scope-less events have no clock to be out of order against."""
    attributor = Attributor()
    attributor.observe(llm(None, T0 + 10))
    attributor.observe(llm(None, T0))
    assert attributor.out_of_order == 0


# ---------------------------------------------------------------- edges


def test_transition_records_its_edge_and_resets_edge_failed() -> None:
    """Each transition sets edge=(from, to) and clears edge_failed for the new edge."""
    attributor = Attributor()
    state = attributor.observe(transition("s1", "entry", "classify", T0))
    assert state is not None
    assert state.edge == ("entry", "classify")
    assert state.edge_failed is False
    state.edge_failed = True  # what the failed_transition detector does on an error
    attributor.observe(error("s1", T0 + 1))
    assert state.edge == ("entry", "classify")
    assert state.edge_failed is True  # other events leave the edge alone
    again = attributor.observe(transition("s1", "classify", "route", T0 + 2))
    assert again is state
    assert state.edge == ("classify", "route")
    assert state.edge_failed is False


# ---------------------------------------------------------------- pruning


def test_idle_scopes_are_pruned_and_later_events_unattributed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A scope idle longer than idle_timeout_ns (event time) is forgotten at the next prune."""
    monkeypatch.setattr(attribution_module, "_PRUNE_EVERY", 4)
    attributor = Attributor(idle_timeout_ns=1000)
    attributor.observe(transition("old", "entry", "classify", T0))  # seen 1
    attributor.observe(transition("live", "entry", "route", T0 + 5000))  # seen 2
    attributor.observe(llm("live", T0 + 5001))  # seen 3
    assert "old" in attributor.scopes
    live_event = llm("live", T0 + 5002)
    attributor.observe(live_event)  # seen 4: prune
    assert set(attributor.scopes) == {"live"}
    assert attributor.pruned_scopes == 1
    assert live_event.node == "route"
    stale = llm("old", T0 + 5003)
    assert attributor.observe(stale) is None
    assert stale.node is None
    assert attributor.unattributed == 1


def test_scope_within_idle_timeout_survives_pruning(monkeypatch: pytest.MonkeyPatch) -> None:
    """A scope last seen within idle_timeout_ns of the newest event is kept."""
    monkeypatch.setattr(attribution_module, "_PRUNE_EVERY", 2)
    attributor = Attributor(idle_timeout_ns=1000)
    attributor.observe(transition("s1", "entry", "classify", T0))
    attributor.observe(llm("s2", T0 + 1000))  # horizon = T0: s1 (last_ts == T0) is not older
    assert "s1" in attributor.scopes
    assert attributor.pruned_scopes == 0


def test_pruned_scope_is_reopened_by_a_new_transition(monkeypatch: pytest.MonkeyPatch) -> None:
    """After pruning, a fresh transition in that scope attributes again."""
    monkeypatch.setattr(attribution_module, "_PRUNE_EVERY", 2)
    attributor = Attributor(idle_timeout_ns=10)
    attributor.observe(transition("s1", "entry", "classify", T0))
    attributor.observe(llm("s2", T0 + 100))  # prune: s1 goes
    assert "s1" not in attributor.scopes
    attributor.observe(transition("s1", "classify", "route", T0 + 101))
    follower = llm("s1", T0 + 102)
    attributor.observe(follower)
    assert follower.node == "route"


def test_pruning_runs_every_65536_events_by_default() -> None:
    """With the real prune interval, a stale scope is dropped after 65,536 events."""
    attributor = Attributor(idle_timeout_ns=1000)
    attributor.observe(transition("old", "entry", "classify", T0))
    attributor.observe(transition("busy", "entry", "route", T0 + 10_000))
    labels = {"span": "busy"}
    n_fill = (1 << 16) - 3  # the event after these is number 65,536
    for i in range(n_fill):
        attributor.observe(LlmCall(T0 + 10_001 + i, labels, {}, "busy", None, "m", 1, 1, 1))
    assert "old" in attributor.scopes  # not pruned before the 65,536th event
    last = llm("old", T0 + 10_000 + n_fill + 1)
    attributor.observe(last)  # the 65,536th: prune first, then attribute
    assert "old" not in attributor.scopes
    assert attributor.pruned_scopes == 1
    assert last.node is None
    assert attributor.unattributed == 1


def test_late_event_does_not_make_an_active_scope_look_idle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A scope active at the newest timestamp is kept even after one late-arriving event."""
    monkeypatch.setattr(attribution_module, "_PRUNE_EVERY", 4)
    attributor = Attributor(idle_timeout_ns=500)
    attributor.observe(transition("s1", "entry", "classify", T0 + 1000))  # seen 1
    attributor.observe(llm("s1", T0))  # seen 2: arrives 1000 ns late
    attributor.observe(transition("s2", "entry", "route", T0 + 1001))  # seen 3
    attributor.observe(llm("s2", T0 + 1002))  # seen 4: prune, horizon T0 + 502
    follower = llm("s1", T0 + 1003)
    attributor.observe(follower)
    assert follower.node == "classify"  # s1 was active at T0 + 1000, well within 500 ns


def test_observe_sets_node_on_the_event_object() -> None:
    """Attribution writes the node onto the event itself (detectors read event.node)."""
    attributor = Attributor()
    attributor.observe(transition("s1", "entry", "classify", T0))
    event = llm("s1", T0 + 1)
    assert event.node is None
    attributor.observe(event)
    assert event.node == "classify"


# ---------------------------------------------------------------- idle scopes, between prunes


def test_a_scope_idle_past_the_timeout_is_over_even_before_any_prune() -> None:
    """The idle rule is checked on every event, not only when pruning frees memory."""
    attributor = Attributor(idle_timeout_ns=1000)  # the next prune is 65,536 events away
    first = attributor.observe(transition("s1", "entry", "classify", T0))
    at_limit = llm("s1", T0 + 1000)  # exactly the timeout after the last event: still on
    attributor.observe(at_limit)
    assert at_limit.node == "classify"
    after = error("s1", T0 + 2001)  # 1001 ns of silence: the scope is over
    assert attributor.observe(after) is None
    assert after.node is None
    assert after.failed_edge is None
    assert attributor.unattributed == 1
    fresh = attributor.observe(transition("s1", "classify", "route", T0 + 4000))
    assert fresh is not None
    assert fresh is not first  # started afresh
    assert (fresh.node, fresh.edge, fresh.last_ts) == ("route", ("classify", "route"), T0 + 4000)
    assert attributor.out_of_order == 0


def test_every_late_transition_counts_at_its_target() -> None:
    attributor = Attributor()
    attributor.observe(transition("s1", "entry", "classify", T0 + 100))
    attributor.observe(transition("s1", "classify", "route", T0 + 1))
    attributor.observe(transition("s1", "route", "route", T0 + 2))
    assert attributor.out_of_order_nodes == {"route": 2}


def test_only_llm_calls_that_took_their_node_from_the_scope_are_inferred() -> None:
    """The list tells LogQL which nodes it cannot select by a ``node`` field."""
    attributor = Attributor()
    attributor.observe(transition("s1", "entry", "classify", T0))
    attributor.observe(effect("s1", T0 + 1))
    attributor.observe(error("s1", T0 + 2))
    attributor.observe(llm("s1", T0 + 3, node="summarize"))  # names its node
    assert attributor.inferred_llm_nodes == set()
    attributor.observe(llm("s1", T0 + 4))
    assert attributor.inferred_llm_nodes == {"classify"}


# ---------------------------------------------------------------- parts of a file


def test_events_of_unknown_scopes_are_deferred_only_when_asked() -> None:
    """A later part of a file defers the events of scopes an earlier part may have begun."""
    deferring = Attributor(idle_timeout_ns=1000, defer_unknown=True)
    begun_earlier = llm("s1", T0)
    assert deferring.observe(begun_earlier) is attribution_module.DEFERRED
    assert begun_earlier.node is None
    assert deferring.unattributed == 0  # not decided yet
    orphan = llm(None, T0 + 1)  # no scope: no earlier part can attribute it
    assert deferring.observe(orphan) is None
    assert deferring.unattributed == 1
    deferring.observe(transition("s2", "entry", "classify", T0 + 2))
    stale = llm("s2", T0 + 5000)  # the scope is known here and over: not deferred
    assert deferring.observe(stale) is None
    assert deferring.unattributed == 2
    plain = Attributor()
    assert plain.observe(llm("s1", T0)) is None
    assert plain.unattributed == 1


def test_adopted_states_carry_on_and_win_over_what_was_known() -> None:
    earlier, later = Attributor(), Attributor()
    earlier.observe(transition("s1", "entry", "classify", T0))
    later.observe(transition("s1", "classify", "route", T0 + 10))
    earlier.adopt(later.scopes)
    follower = llm("s1", T0 + 11)
    earlier.observe(follower)
    assert follower.node == "route"


def test_scope_states_travel_between_processes_intact() -> None:
    attributor = Attributor()
    state = attributor.observe(transition("s1", "entry", "classify", T0))
    assert state is not None
    state.edge_failed = True
    copy = pickle.loads(pickle.dumps(state))
    assert (copy.node, copy.edge, copy.edge_failed, copy.last_ts) == (
        "classify",
        ("entry", "classify"),
        True,
        T0,
    )


def test_pruning_nothing_is_harmless_and_counts_add_up() -> None:
    attributor = Attributor(idle_timeout_ns=10)
    attributor.prune(T0)  # no scope yet
    assert attributor.pruned_scopes == 0
    attributor.observe(transition("a", "entry", "classify", T0))
    attributor.prune(T0 + 100)
    attributor.observe(transition("b", "entry", "classify", T0 + 200))
    attributor.prune(T0 + 300)
    assert attributor.pruned_scopes == 2
    assert attributor.scopes == {}
