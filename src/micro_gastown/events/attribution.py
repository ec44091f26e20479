"""Attribution: which graph node an event belongs to (see docs/events.md).

Inside one scope (a ``span`` label, else a ``session_id``) the most recent
``graph_transition.to`` is the running node, so the ``llm_call``, ``effect_execution`` and
``error`` events that follow belong to it. Scopes interleave freely in real logs, so state
is kept per scope and never shared; events without a scope stay unattributed (we never
guess across sessions). An explicit ``node`` field from newer emitters wins.

An ``error`` is the failure of the transition that led into its node when it is the first
error since that transition; attribution records that on the event (``failed_edge``).

A scope silent for longer than ``idle_timeout_ns`` (event time) is over: a later event in
it is unattributed, and a later transition starts it afresh. The rule depends only on the
scope's own events, so results do not depend on when memory is reclaimed; pruning merely
frees the state of such scopes now and then.

Attribution assumes each scope's events arrive oldest first. An event older than the last
one of its scope is counted as out of order (``out_of_order``) and under the node it was
attributed to (``out_of_order_nodes``; a transition's is its target, where the events after
it will go): findings about those nodes may hold events of another node, and the report
marks them.

A scan of one part of a file (see :mod:`micro_gastown.analysis.runner`) starts without the
states of scopes begun earlier. With ``defer_unknown`` the events of such scopes are not
attributed but handed back (:data:`DEFERRED`), to be replayed once the earlier parts are
known.
"""

from __future__ import annotations

from collections import Counter
from typing import Final

from micro_gastown.events.model import ErrorEvent, Event, GraphTransition, LlmCall

_PRUNE_EVERY = 1 << 16


class ScopeState:
    """What one span/session is doing now."""

    __slots__ = ("edge", "edge_failed", "last_ts", "node")

    def __init__(self, ts_ns: int) -> None:
        self.node: str | None = None
        # The transition that led into ``node``, and whether an error has followed it yet.
        self.edge: tuple[str, str] | None = None
        self.edge_failed = False
        self.last_ts = ts_ns

    def __getstate__(self) -> tuple[str | None, tuple[str, str] | None, bool, int]:
        return (self.node, self.edge, self.edge_failed, self.last_ts)

    def __setstate__(self, state: tuple[str | None, tuple[str, str] | None, bool, int]) -> None:
        self.node, self.edge, self.edge_failed, self.last_ts = state


NO_SCOPE: Final = "no_scope"
"""Why an event has no node: it carries neither a span label nor a session id."""
NO_TRANSITION: Final = "no_transition"
"""Why an event has no node: its scope had no transition yet (or was idle too long)."""

DEFERRED: Final = ScopeState(-1)
"""Returned by ``observe`` for an event left for later (``defer_unknown``)."""


class Attributor:
    __slots__ = (
        "_until_prune",
        "defer_unknown",
        "idle_timeout_ns",
        "inferred_llm_nodes",
        "out_of_order",
        "out_of_order_nodes",
        "pruned_scopes",
        "scopes",
        "unattributed",
        "unattributed_by",
    )

    def __init__(
        self, idle_timeout_ns: int = 2 * 3600 * 1_000_000_000, *, defer_unknown: bool = False
    ) -> None:
        self.idle_timeout_ns = idle_timeout_ns
        self.defer_unknown = defer_unknown
        self.scopes: dict[str, ScopeState] = {}
        self.unattributed = 0
        # (event kind, why) → events left without a node: why is NO_SCOPE (neither a span
        # nor a session id) or NO_TRANSITION (a scope with no transition yet, or one idle
        # past the timeout). The report's attribution coverage comes from it.
        self.unattributed_by: Counter[tuple[str, str]] = Counter()
        # Nodes with an LLM call whose node came from its scope, not from a ``node`` field:
        # a LogQL filter on ``node`` would miss those calls.
        self.inferred_llm_nodes: set[str] = set()
        self.out_of_order = 0
        # Node → out-of-order events attributed to it (each such event counts at one node).
        self.out_of_order_nodes: Counter[str] = Counter()
        self.pruned_scopes = 0
        self._until_prune = _PRUNE_EVERY  # events left before the next prune

    def observe(self, event: Event) -> ScopeState | None:
        """Attribute ``event`` (setting ``event.node``) and return its scope's state."""
        ts = event.ts_ns
        self._until_prune -= 1
        if not self._until_prune:
            self._until_prune = _PRUNE_EVERY
            self.prune(ts)
        scope = event.scope
        state = self.scopes.get(scope) if scope is not None else None
        if state is not None and ts - state.last_ts > self.idle_timeout_ns:
            state = None  # the scope went quiet for too long: it is over
        if type(event) is GraphTransition:
            if scope is None:
                return None
            if state is None:
                state = self.scopes[scope] = ScopeState(ts)
            elif ts < state.last_ts:
                self.out_of_order += 1
                self.out_of_order_nodes[event.target] += 1
            else:
                state.last_ts = ts
            state.node = event.target
            state.edge = (event.source, event.target)
            state.edge_failed = False
            return state
        if state is not None:
            late = ts < state.last_ts
            if late:
                self.out_of_order += 1  # a late event never makes its scope look idle
            else:
                state.last_ts = ts
            if event.node is None:
                event.node = state.node
                if type(event) is LlmCall and state.node is not None:
                    self.inferred_llm_nodes.add(state.node)
            if late and event.node is not None:
                self.out_of_order_nodes[event.node] += 1
            if type(event) is ErrorEvent and state.edge is not None and not state.edge_failed:
                state.edge_failed = True
                event.failed_edge = state.edge
        elif self.defer_unknown and scope is not None and scope not in self.scopes:
            return DEFERRED
        if event.node is None:
            self.unattributed += 1
            why = NO_SCOPE if scope is None else NO_TRANSITION
            self.unattributed_by[(event.kind.value, why)] += 1
        return state

    def prune(self, now_ts: int) -> None:
        """Forget scopes idle for longer than the timeout before ``now_ts`` (memory only)."""
        # The newest event time is found here, when pruning, not tracked on every event.
        latest = max((state.last_ts for state in self.scopes.values()), default=now_ts)
        horizon = max(latest, now_ts) - self.idle_timeout_ns
        stale = [key for key, state in self.scopes.items() if state.last_ts < horizon]
        for key in stale:
            del self.scopes[key]
        self.pruned_scopes += len(stale)

    def adopt(self, states: dict[str, ScopeState]) -> None:
        """Take over scope states that a later part of the stream left behind.

        The later part's state wins for a scope it saw: whatever it did there started from
        a transition of its own.
        """
        self.scopes.update(states)
