"""The raw lines push-down cannot avoid: errors, failed effects, and the scopes they are in.

``repeated_error`` needs every error's message and ``effect_failure`` every failed
execution; ``failed_transition`` attributes an error to a transition by the order of
events in its span or session, so every event of those scopes is read too, a hundred
scopes to a query (a regex alternation keeps URLs short).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from micro_gastown.analysis.pushdown.queries import WindowQueries
from micro_gastown.events.model import EffectExecution, Event
from micro_gastown.events.parse import parse_line
from micro_gastown.events.skips import SkipCounter
from micro_gastown.logql import escape_regex, quote_regex
from micro_gastown.sources.base import LogEntry

SCOPES_PER_QUERY: Final = 100
"""Spans or sessions named in one raw query (a regex alternation): keeps URLs short."""


@dataclass(frozen=True)
class Attention:
    """What :func:`read_attention` found: the entries to scan, and what they cost."""

    entries: Iterator[LogEntry]
    lines: int
    """Errors and failed effects read."""
    scopes: int
    """Spans and sessions read whole."""


def read_attention(queries: WindowQueries, *, errors: bool, failed_effects: bool) -> Attention:
    """Errors and failed effects, merged in time order, each once, with the whole of
    every span or session in which attribution needs the order of events.

    The errors and failed effects are read now; the scopes as the entries are consumed.
    """
    skips = SkipCounter()
    lines = 0
    direct: list[tuple[LogEntry, str | None, str | None]] = []
    # in order of first appearance, so that each batch of scopes is close in time
    spans: dict[str, None] = {}
    sessions: dict[str, None] = {}
    pulls = []
    if errors:
        pulls.append(queries.pull(queries.logql.stream("error")))
    if failed_effects:
        pulls.append(queries.pull(queries.kind("effect_execution") + ' | success="false"'))
    for entry in heapq.merge(*pulls, key=lambda e: e[0]):
        lines += 1
        event = parse_line(entry[0], entry[1], entry[2], skips)
        span, session = _scope_query_key(entry, event)
        direct.append((entry, span, session))
        if event is None or event.scope is None:
            continue
        if isinstance(event, EffectExecution) and event.node is not None:
            continue  # names its node: no attribution needed
        if span is not None:
            spans[span] = None
        elif session is not None:
            sessions[session] = None
    # An entry a scope query returns comes from there, so each is fed exactly once.
    alone = [
        entry
        for entry, span, session in direct
        if not (span in spans if span is not None else session in sessions)
    ]
    streams: list[Iterator[LogEntry]] = [iter(alone)]
    ordered = list(spans)
    for i in range(0, len(ordered), SCOPES_PER_QUERY):
        batch = _regex_alternation(ordered[i : i + SCOPES_PER_QUERY])
        streams.append(
            queries.pull_where_present(queries.logql.base(f"span=~{quote_regex(batch)}"))
        )
    ordered = list(sessions)
    for i in range(0, len(ordered), SCOPES_PER_QUERY):
        batch = _regex_alternation(ordered[i : i + SCOPES_PER_QUERY])
        streams.append(
            queries.pull_where_present(
                f"{queries.logql.base()} |~ {quote_regex(batch)} | json "
                f'| session_id=~{quote_regex(batch)} | span=""'
            )
        )
    return Attention(
        heapq.merge(*streams, key=lambda e: e[0]), lines, scopes=len(spans) + len(sessions)
    )


def _regex_alternation(values: list[str]) -> str:
    return "|".join(escape_regex(value) for value in values)


def _scope_query_key(entry: LogEntry, event: Event | None) -> tuple[str | None, str | None]:
    """(span, session): which scope query would return this entry, if any."""
    span = entry[2].get("span") or None
    session = event.fields.get("session_id") if event is not None else None
    return span, session if isinstance(session, str) and session else None
