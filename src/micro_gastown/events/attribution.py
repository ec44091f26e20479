"""Attribution: which graph node an event belongs to (SPEC §1).

Inside one scope (a ``span`` label, else a ``session_id``) the most recent
``graph_transition.to`` is the running node, so the ``llm_call``, ``effect_execution`` and
``error`` events that follow belong to it. Scopes interleave freely in real logs, so state
is kept per scope and never shared; events without a scope stay unattributed (we never
guess across sessions). An explicit ``node`` field from newer emitters wins.

Memory stays bounded on long windows: scopes idle for longer than ``idle_timeout_ns`` (in
event time) are forgotten; an event arriving after that is counted as unattributed.
"""

from __future__ import annotations

from micro_gastown.events.model import Event, GraphTransition

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


class Attributor:
    __slots__ = (
        "_seen",
        "idle_timeout_ns",
        "out_of_order",
        "pruned_scopes",
        "scopes",
        "unattributed",
    )

    def __init__(self, idle_timeout_ns: int = 2 * 3600 * 1_000_000_000) -> None:
        self.idle_timeout_ns = idle_timeout_ns
        self.scopes: dict[str, ScopeState] = {}
        self.unattributed = 0
        self.out_of_order = 0
        self.pruned_scopes = 0
        self._seen = 0

    def observe(self, event: Event) -> ScopeState | None:
        """Attribute ``event`` (setting ``event.node``) and return its scope's state."""
        ts = event.ts_ns
        self._seen += 1
        if self._seen & (_PRUNE_EVERY - 1) == 0:
            self._prune(ts)
        scope = event.scope
        state = self.scopes.get(scope) if scope is not None else None
        if type(event) is GraphTransition:
            if scope is None:
                return None
            if state is None:
                state = self.scopes[scope] = ScopeState(ts)
            elif ts < state.last_ts:
                self.out_of_order += 1
            else:
                state.last_ts = ts
            state.node = event.target
            state.edge = (event.source, event.target)
            state.edge_failed = False
            return state
        if state is not None:
            if ts < state.last_ts:
                self.out_of_order += 1  # a late event never makes its scope look idle
            else:
                state.last_ts = ts
            if event.node is None:
                event.node = state.node
        if event.node is None:
            self.unattributed += 1
        return state

    def _prune(self, now_ts: int) -> None:
        # The newest event time is found here, when pruning, not tracked on every event.
        latest = max((state.last_ts for state in self.scopes.values()), default=now_ts)
        horizon = max(latest, now_ts) - self.idle_timeout_ns
        stale = [key for key, state in self.scopes.items() if state.last_ts < horizon]
        for key in stale:
            del self.scopes[key]
        self.pruned_scopes += len(stale)
