"""The raw lines push-down cannot avoid: errors, failed effects, and what orders them.

``repeated_error`` needs every error's message and ``effect_failure`` every failed
execution. Attribution gives an error (or an effect that does not name its node) the node
of the last transition of its span or session, and ``failed_transition`` the edge of that
transition when the error is the first since it; so the transitions of those scopes are
read too, a hundred scopes to a query (a regex alternation keeps URLs short), and nothing
else of them: their LLM calls and successful effects change no attribution.

Two exceptions, which is why the reads are checked before they are used. A scope silent
for longer than the idle timeout is over (:mod:`~micro_gastown.events.attribution`), and
any event keeps it alive: where an error or effect follows the scope's previous
transition, error or effect by more than the timeout, the events between (unread) may be
what kept the scope alive. And an error in the same instant as a transition follows or
precedes it as Loki orders the two streams in one answer. Those scopes alone are read
whole, in one query. So the events fed to the scan attribute exactly as a raw scan of
every line does.
"""

from __future__ import annotations

import heapq
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import orjson

from micro_gastown.analysis.pushdown.queries import WindowQueries
from micro_gastown.events.model import EffectExecution, Event
from micro_gastown.events.parse import parse_line, scope_of
from micro_gastown.events.skips import SkipCounter
from micro_gastown.logql import escape_regex, quote_regex
from micro_gastown.sources.base import LogEntry

SCOPES_PER_QUERY: Final = 100
"""Spans or sessions named in one raw query (a regex alternation): keeps URLs short."""
MAX_BATCH_PATTERN: Final = 20_000
"""URL-encoded characters of span or session names in one query (a session query carries
them twice): httpx refuses a query string of 64 KiB, and servers one far shorter."""
MAX_NAME_PATTERN: Final = 1_000
"""A name whose pattern is longer (URL-encoded) is matched by its first _NAME_PREFIX
characters (session ids are free text in the line: they can be any length)."""
_NAME_PREFIX: Final = 100

_TRANSITION: Final = "graph_transition"
_VERBATIM: Final = re.compile(r"[A-Za-z0-9_.:-]+")
"""Characters that appear in a JSON line as they are, whatever the encoder."""


@dataclass(frozen=True)
class Attention:
    """What :func:`read_attention` found: the entries to scan, and what they cost."""

    entries: Iterator[LogEntry]
    lines: int
    """Errors and failed effects read."""
    scopes: int
    """Spans and sessions whose transitions were read."""
    whole: int
    """Of those, the ones read whole (an idle gap or a tie the transitions cannot judge)."""


def read_attention(
    queries: WindowQueries, *, errors: bool, failed_effects: bool, idle_timeout_ns: int
) -> Attention:
    """Errors and failed effects, with the transitions of every span or session in which
    one needs attributing, merged in time order, each line once."""
    skips = SkipCounter()
    direct: list[LogEntry] = []
    # scope -> times of its events that need attributing, scopes in order of first
    # appearance so that each batch is close in time
    spans: dict[str, list[int]] = {}
    sessions: dict[str, list[int]] = {}
    pulls = []
    if errors:
        pulls.append(queries.pull(queries.logql.stream("error")))
    if failed_effects:
        pulls.append(queries.pull(queries.kind("effect_execution") + ' | success="false"'))
    for entry in heapq.merge(*pulls, key=lambda e: e[0]):
        direct.append(entry)
        scope = _attributed_in(parse_line(entry[0], entry[1], entry[2], skips))
        if scope is not None:
            scopes = spans if entry[2].get("span") else sessions
            scopes.setdefault(scope, []).append(entry[0])
    reads = _ScopeReads(queries, idle_timeout_ns)
    scoped = [
        *(reads.batch(batch, spans, by_span=True) for batch in _batches(spans)),
        *(reads.batch(batch, sessions, by_span=False) for batch in _batches(sessions)),
    ]
    # A line a whole-scope read returned is fed from there, in Loki's order for its scope.
    alone = [entry for entry in direct if _line_key(entry) not in reads.whole_lines]
    return Attention(
        heapq.merge(*scoped, alone, key=lambda e: e[0]),
        lines=len(direct),
        scopes=len(spans) + len(sessions),
        whole=reads.whole_scopes,
    )


def _attributed_in(event: Event | None) -> str | None:
    """The scope whose transitions give ``event`` its node (None: none does)."""
    if event is None or (isinstance(event, EffectExecution) and event.node is not None):
        return None
    return event.scope


def _batches(scopes: dict[str, list[int]]) -> Iterator[list[str]]:
    """The scopes in order, at most SCOPES_PER_QUERY to a batch and no more of their
    patterns than MAX_BATCH_PATTERN (URL-encoded) allows; at least one each."""
    batch: list[str] = []
    size = 0
    for scope in scopes:
        more = _encoded_size(_name_pattern(scope)) + 1
        if batch and (len(batch) == SCOPES_PER_QUERY or size + more > MAX_BATCH_PATTERN):
            yield batch
            batch, size = [], 0
        batch.append(scope)
        size += more
    if batch:
        yield batch


def _name_pattern(name: str) -> str:
    """An RE2 pattern matching the span or session ``name``: the name itself, or, for a
    name too long for a URL, its start followed by anything (the lines read are then kept
    only for their exact scope)."""
    pattern = escape_regex(name)
    if _encoded_size(pattern) <= MAX_NAME_PATTERN:
        return pattern
    return escape_regex(name[:_NAME_PREFIX]) + "(?s:.*)"


def _encoded_size(text: str) -> int:
    """Characters ``text`` takes in a URL's query string."""
    return len(urllib.parse.quote(text, safe=""))


class _ScopeReads:
    """Reads the transitions of batches of scopes, and whole the scopes that need it."""

    def __init__(self, queries: WindowQueries, idle_timeout_ns: int) -> None:
        self.queries = queries
        self.idle_timeout_ns = idle_timeout_ns
        self.whole_scopes = 0
        self.whole_lines: set[tuple[int, str, str | None]] = set()

    def batch(
        self, batch: list[str], needing: dict[str, list[int]], *, by_span: bool
    ) -> list[LogEntry]:
        """The transitions of ``batch``'s scopes, and every line of those that need it."""
        transitions = self._pull(batch, by_span=by_span, kinds=(_TRANSITION,))
        times: dict[str, list[int]] = {}
        for scope, entry in transitions:
            times.setdefault(scope, []).append(entry[0])
        whole = [
            scope
            for scope in batch
            if _read_whole(times.get(scope, []), needing[scope], self.idle_timeout_ns)
        ]
        if not whole:
            return [entry for _, entry in transitions]
        self.whole_scopes += len(whole)
        read_whole = set(whole)
        kept = [entry for scope, entry in transitions if scope not in read_whole]
        everything = [entry for _, entry in self._pull(whole, by_span=by_span, kinds=())]
        self.whole_lines.update(_line_key(entry) for entry in everything)
        return sorted([*kept, *everything], key=lambda e: e[0])

    def _pull(
        self, scopes: list[str], *, by_span: bool, kinds: tuple[str, ...]
    ) -> list[tuple[str, LogEntry]]:
        """The lines (of ``kinds``; all if none) of exactly these spans or sessions, each
        with its scope."""
        logql = self.queries.logql
        pattern = quote_regex("|".join(_name_pattern(scope) for scope in scopes))
        if by_span:
            query = (
                logql.stream(*kinds, where=(f"span=~{pattern}",))
                if kinds
                else logql.base(f"span=~{pattern}")
            )
        else:
            selected = logql.stream(*kinds) if kinds else logql.base()
            query = f'{selected}{_prefilter(scopes)} | json | session_id=~{pattern} | span=""'
        wanted = set(scopes)
        found = ((_scope(entry), entry) for entry in self.queries.pull_where_present(query))
        return [(scope, entry) for scope, entry in found if scope is not None and scope in wanted]


def _prefilter(sessions: list[str]) -> str:
    """A cheap line filter ahead of the exact ``| json | session_id=~`` match.

    It runs on the raw JSON line, where the emitter may have escaped part of an id (a
    quote, a backslash, ``<`` or non-ASCII text), so it looks for each id's longest run of
    characters no JSON encoder escapes; with an id that has none, there is no prefilter.
    """
    runs = []
    for session in sessions:
        verbatim = max(_VERBATIM.findall(session), key=len, default="")
        if not verbatim:
            return ""
        runs.append(escape_regex(verbatim[:_NAME_PREFIX]))
    return f" |~ {quote_regex('|'.join(runs))}"


def _line_key(entry: LogEntry) -> tuple[int, str, str | None]:
    """What tells one line from another across the reads: its time, text and span."""
    return entry[0], entry[1], entry[2].get("span")


def _scope(entry: LogEntry) -> str | None:
    """The scope of a line a scope query returned, as the parser would give it."""
    span = entry[2].get("span")
    if span:
        return span
    try:
        fields = orjson.loads(entry[1])
    except orjson.JSONDecodeError:
        return None
    return scope_of(entry[2], fields) if isinstance(fields, dict) else None


def _read_whole(transitions: list[int], attributed: list[int], idle_timeout_ns: int) -> bool:
    """Whether the scope's transitions and its ``attributed`` events (their times) cannot
    show how a raw scan attributes them, so the scope must be read whole:

    - an attributed event at the very time of a transition: which comes first is the
      order Loki answers the two streams in, which only one query over both gives;
    - an attributed event following the scope's previous read event by more than the idle
      timeout: in a raw scan, events in between (LLM calls, successful effects) may have
      kept the scope alive. A gap before a transition does not matter: a transition sets
      its scope's state alike whether the scope was idle or not.
    """
    if not set(transitions).isdisjoint(attributed):
        return True
    marked = sorted([(ts, False) for ts in transitions] + [(ts, True) for ts in attributed])
    previous: int | None = None  # the previous event's time, once a transition was seen
    for ts, needs in marked:
        if needs and previous is not None and ts - previous > idle_timeout_ns:
            return True
        if previous is not None or not needs:
            previous = ts
    return False
