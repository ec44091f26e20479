"""``logs transitions|llm-calls|errors|session``: the views of the old sleeptime-logs tool.

Each view reads a window from ``--source`` (Loki by default, or a ``file:`` export), keeps
the newest ``--limit`` matching events in a bounded deque and prints them oldest first, as
one readable line each or (``--json``) as a JSON array of ``{"timestamp": "<ns>", "event":
{...}}``. The window defaults to the last hour (a session: 7 days) of Loki, and to the
whole of an export, which a window back from now would usually miss; when it holds no
matching event, a note on stderr says so. Loki queries narrow the base selector by the
``event_type`` label, or by a line filter on the JSON ``type`` when a probe finds events in
streams without that label (:mod:`micro_gastown.sources.loki.selection`); parsed events
are filtered by type as well.

The views differ only in the table :data:`VIEWS`; their flags are declared once, in
:func:`_add_view_flags`.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from micro_gastown.cli import say
from micro_gastown.cli.logs.source import read_entries, resolve_event_kinds
from micro_gastown.cli.source_flags import add_source_flags
from micro_gastown.errors import UsageError
from micro_gastown.events import (
    EffectExecution,
    ErrorEvent,
    Event,
    EventType,
    GraphTransition,
    LlmCall,
    SkipCounter,
    UserAction,
    parse_line,
)
from micro_gastown.evidence import neutralize_line
from micro_gastown.logql import LogQL
from micro_gastown.sources import is_file_source
from micro_gastown.timewindow import format_ns, window_from_flags

EventFilter = Callable[[Event], bool]


@dataclass(frozen=True)
class View:
    """One sub-command: its parser texts, the kind Loki is asked for, and its filter."""

    name: str
    help: str
    description: str
    event_type: EventType | None  # None: every kind (the filter alone decides)
    keep: Callable[[argparse.Namespace], EventFilter]
    since_default: str = "1h"
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None  # before the shared

    def run(self, args: argparse.Namespace) -> int:
        since = args.since
        if since is None and not is_file_source(args.source):  # an export is read whole
            since = self.since_default
        return _show(args, since, self.event_type, self.keep(args))


def _int_at_least(minimum: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


def _add_view_flags(parser: argparse.ArgumentParser, *, since_default: str) -> None:
    parser.add_argument(
        "--since",
        "-s",
        help=f"duration back from now (1h, 7d) or RFC 3339 time (default {since_default}; "
        "for a file source, the whole file)",
    )
    parser.add_argument(
        "--until",
        help="RFC 3339 time or duration back from now (default now; for a file, its end)",
    )
    parser.add_argument(
        "--limit",
        "-n",
        type=_int_at_least(1, "a positive integer"),
        default=100,
        help="show at most this many events, the newest ones (default 100)",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help='text: one event a line (default); json: an array of {"timestamp": "<ns>", '
        '"event": {...}}',
    )
    # sleeptime-logs spelled it --json: say what it is called here, rather than "unrecognized"
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--verbose", "-v", action="store_true", help="also show stream labels")
    add_source_flags(parser)


# -- the views -----------------------------------------------------------------------------


def _add_min_latency(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--min-latency",
        type=_int_at_least(0, "a non-negative integer"),
        default=None,
        metavar="MS",
        help="only calls that took at least MS milliseconds",
    )


def _add_session_id(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session_id", metavar="SESSION-ID")


def _transitions(args: argparse.Namespace) -> EventFilter:
    return lambda event: type(event) is GraphTransition


def _llm_calls(args: argparse.Namespace) -> EventFilter:
    min_latency: int | None = args.min_latency

    def keep(event: Event) -> bool:
        return type(event) is LlmCall and (min_latency is None or event.latency_ms >= min_latency)

    return keep


def _errors(args: argparse.Namespace) -> EventFilter:
    return lambda event: type(event) is ErrorEvent


def _session(args: argparse.Namespace) -> EventFilter:
    wanted: str = args.session_id

    def keep(event: Event) -> bool:
        return event.labels.get("span") == wanted or event.fields.get("session_id") == wanted

    return keep


VIEWS = (
    View(
        "transitions",
        help="graph transitions (source -> target)",
        description="Show graph_transition events: source -> target (trigger).",
        event_type=EventType.GRAPH_TRANSITION,
        keep=_transitions,
    ),
    View(
        "llm-calls",
        help="LLM calls with latency and token counts",
        description="Show llm_call events: model, latency, prompt/completion tokens.",
        event_type=EventType.LLM_CALL,
        keep=_llm_calls,
        add_arguments=_add_min_latency,
    ),
    View(
        "errors",
        help="error events",
        description="Show error events and their messages.",
        event_type=EventType.ERROR,
        keep=_errors,
    ),
    View(
        "session",
        help="every event of one session",
        description=(
            "Show every event of one session: those whose span label or session_id field is "
            "SESSION-ID. Looks back 7 days unless --since says otherwise."
        ),
        event_type=None,
        keep=_session,
        since_default="7d",
        add_arguments=_add_session_id,
    ),
)


def register(commands: Any) -> None:
    for view in VIEWS:
        parser: argparse.ArgumentParser = commands.add_parser(
            view.name, help=view.help, description=view.description
        )
        if view.add_arguments is not None:
            view.add_arguments(parser)
        _add_view_flags(parser, since_default=view.since_default)
        parser.set_defaults(func=view.run)


# -- reading and printing ------------------------------------------------------------------


def _show(
    args: argparse.Namespace, since: str | None, event_type: EventType | None, keep: EventFilter
) -> int:
    """Read the window from ``since`` (None: the start of a file), keep the newest
    ``--limit`` events ``keep`` accepts, print them."""
    if args.json:
        raise UsageError("--json: this is --format json here (one way to pick a format)")
    logql = LogQL(args.selector)  # validates --selector
    window = window_from_flags(since, args.until)
    if event_type is not None:
        logql = resolve_event_kinds(args.source, logql, window)
    selector = logql.stream(event_type.value) if event_type is not None else logql.selector
    newest: deque[Event] = deque(maxlen=args.limit)
    skips = SkipCounter()
    with contextlib.closing(read_entries(args.source, selector, window, skips)) as entries:
        for ts_ns, line, labels in entries:
            event = parse_line(ts_ns, line, labels, skips)
            if event is not None and keep(event):
                newest.append(event)
    out = sys.stdout
    if args.format == "json":
        out.write(_render_json(newest, verbose=args.verbose))
    else:
        out.write("".join(_render_text(event, verbose=args.verbose) for event in newest))
    out.flush()
    if not newest:
        what = f"{event_type.value} events" if event_type is not None else "events"
        say.note(
            f"no {what} matched in the window ({window.describe()}): "
            "check --since/--until, the source and its selector"
        )
    return 0


def _render_json(events: Iterable[Event], *, verbose: bool) -> str:
    items: list[dict[str, Any]] = []
    for event in events:
        item: dict[str, Any] = {"timestamp": str(event.ts_ns), "event": event.fields}
        if verbose:
            item["labels"] = event.labels
        items.append(item)
    return orjson.dumps(items, option=orjson.OPT_INDENT_2).decode() + "\n"


def _render_text(event: Event, *, verbose: bool) -> str:
    span = (event.scope or "-")[:8]
    line = f"{format_ns(event.ts_ns)} [{span}] {event.kind.value} {_describe(event)}"
    if verbose:
        line += " " + orjson.dumps(event.labels, option=orjson.OPT_SORT_KEYS).decode()
    # Log text reaches a terminal: no escape sequence, bidi control or line break of its own.
    return neutralize_line(line) + "\n"


def _describe(event: Event) -> str:
    if isinstance(event, GraphTransition):
        return f"{event.source} -> {event.target} ({event.trigger})"
    if isinstance(event, LlmCall):
        return (
            f"{event.model} {event.latency_ms}ms "
            f"{event.prompt_tokens}/{event.completion_tokens} tokens"
        )
    if isinstance(event, ErrorEvent):
        return event.message
    if isinstance(event, EffectExecution):
        outcome = "ok" if event.success else "failed"
        return f"{event.effect_type} {outcome} {event.latency_ms}ms"
    if isinstance(event, UserAction):
        return f"{event.action_type} at {event.node_context}"
    return orjson.dumps(event.fields).decode()  # pragma: no cover - every type is above
