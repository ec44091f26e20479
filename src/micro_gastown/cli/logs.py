"""`micro-gastown logs ...`: look at raw logs offline, one sub-command per view.

Each sub-command is one ``_add_<name>(commands)`` function that adds its parser and sets
``func``; `register` wires them under ``logs``.

``transitions``, ``llm-calls``, ``errors`` and ``session`` replace sleeptime-logs (SPEC §4):
they read a window from ``--source`` (Loki by default, or a ``file:`` export), keep the
newest ``--limit`` matching events in a bounded deque and print them oldest first, as one
readable line each or (``--json``) as a JSON array of ``{"timestamp": "<ns>", "event":
{...}}``. Loki queries narrow the base selector by the ``event_type`` label, or by a line
filter on the JSON ``type`` when a probe finds events in streams without that label
(:mod:`micro_gastown.sources.loki.selection`); parsed events are filtered by type as well.
``export`` streams the whole base selector as logcli ``--output=jsonl`` lines.

``logs templates FILE`` reads one raw message per line and prints, for each input line and
in input order, the template its message belongs to. Lines are split on ``\\n`` only (a
trailing ``\\r`` is dropped), so output line N always describes input line N; blank lines
are messages too (their template is ``""``). Bytes that are not UTF-8 are replaced with
U+FFFD rather than failing the run.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import os
import sys
import tempfile
import zlib
from array import array
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, cast

import orjson

from micro_gastown.clustering import TemplateMiner
from micro_gastown.errors import OutputError, SourceError
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
from micro_gastown.evidence import default_redactor
from micro_gastown.logql import DEFAULT_SELECTOR, LogQL
from micro_gastown.sources import LogSource, open_source
from micro_gastown.timewindow import TimeWindow, format_ns, window_from_flags

_GZIP_MAGIC = b"\x1f\x8b"


class OutputFormat(StrEnum):
    JSONL = "jsonl"
    TEXT = "text"


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "logs",
        help="inspect raw log files offline",
        description="Inspect raw log files offline.",
    )
    commands = parser.add_subparsers(dest="logs_command", metavar="SUBCOMMAND")
    commands.required = True
    _add_templates(commands)
    _add_transitions(commands)
    _add_llm_calls(commands)
    _add_errors(commands)
    _add_session(commands)
    _add_export(commands)


def _add_templates(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "templates",
        help="cluster messages (one per line) into templates",
        description=(
            "Cluster raw messages, one per line, into Drain templates and print one result "
            "per input line, in order. Variable parts are written <*>; every line shows its "
            "cluster's final template."
        ),
    )
    parser.add_argument("file", metavar="FILE", help="messages, one per line; '-' for stdin")
    parser.add_argument(
        "--format",
        choices=[f.value for f in OutputFormat],
        default=OutputFormat.JSONL.value,
        help=(
            'jsonl: {"template_id": N, "template": "..."} per line (default); '
            "text: N<TAB>template per line"
        ),
    )
    parser.set_defaults(func=_run_templates)


def _run_templates(args: argparse.Namespace) -> int:
    redactor = default_redactor()
    # Pass 1 clusters every message and keeps only its cluster id (4 bytes a line); pass 2
    # prints from the ids, once every cluster has reached its final template.
    miner = TemplateMiner()
    ids = array("I")
    for message in _read_lines(args.file):
        ids.append(miner.add(message))

    rendered = {
        # Templates are log text: a secret that never repeated survives masking verbatim.
        template.template_id: _render(
            template.template_id, redactor.redact_text(template.text), args.format
        )
        for template in miner.templates()
    }
    out = sys.stdout
    for start in range(0, len(ids), 4096):
        out.write("".join(rendered[cluster_id] for cluster_id in ids[start : start + 4096]))
    out.flush()
    return 0


def _render(template_id: int, text: str, output_format: str) -> str:
    if output_format == OutputFormat.TEXT:
        return f"{template_id}\t{text}\n"
    return orjson.dumps({"template_id": template_id, "template": text}).decode() + "\n"


def _read_lines(source: str) -> Iterator[str]:
    """Lines of ``source`` (a path or ``-``), decoded leniently, gzip handled.

    Every way the source can fail to open or read becomes a SourceError naming it.
    """
    name = "standard input" if source == "-" else source
    try:
        with _open_binary(source) as stream:
            for raw in stream:
                if raw.endswith(b"\n"):
                    raw = raw[:-1]
                if raw.endswith(b"\r"):
                    raw = raw[:-1]
                yield raw.decode("utf-8", errors="replace")
    except (OSError, EOFError, zlib.error) as exc:
        # OSError covers missing/unreadable files and gzip.BadGzipFile; EOFError is a
        # truncated gzip stream.
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SourceError(f"cannot read {name}: {reason or type(exc).__name__}") from exc


@contextmanager
def _open_binary(source: str) -> Iterator[Iterable[bytes]]:
    """``source`` as a binary stream, gunzipped when it is gzip (by name or magic bytes)."""
    if source == "-":
        stream: IO[bytes] = sys.stdin.buffer
        if not hasattr(stream, "peek"):  # a replaced stdin: buffer it so we can sniff it
            stream = io.BufferedReader(cast(io.RawIOBase, stream))
        if _starts_with_gzip_magic(stream):
            with gzip.GzipFile(fileobj=stream) as unzipped:
                yield unzipped
        else:
            yield stream
        return
    with open(source, "rb") as raw:
        if source.endswith(".gz") or _starts_with_gzip_magic(raw):
            with gzip.GzipFile(fileobj=raw) as unzipped:
                yield unzipped
        else:
            yield raw


def _starts_with_gzip_magic(stream: IO[bytes]) -> bool:
    peek = getattr(stream, "peek", None)  # BufferedReader: look without consuming
    return peek is not None and bytes(peek(2)[:2]) == _GZIP_MAGIC


# -- sleeptime-logs views ------------------------------------------------------------------

EventFilter = Callable[[Event], bool]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def _add_source_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        default="loki",
        help="file:PATH (a logcli --output=jsonl export), loki (address from "
        "GRAFANA_LOKI_URL or LOKI_ADDR; the default) or loki:URL",
    )
    parser.add_argument(
        "--selector",
        default=os.environ.get("MICRO_GASTOWN_SELECTOR", DEFAULT_SELECTOR),
        help=f"base LogQL stream selector (env MICRO_GASTOWN_SELECTOR; default {DEFAULT_SELECTOR})",
    )


def _add_view_flags(parser: argparse.ArgumentParser, *, since_default: str) -> None:
    parser.add_argument(
        "--since",
        "-s",
        default=since_default,
        help=f"duration back from now (1h, 7d) or RFC 3339 time (default {since_default})",
    )
    parser.add_argument("--until", help="RFC 3339 time or duration back from now (default now)")
    parser.add_argument(
        "--limit",
        "-n",
        type=_positive_int,
        default=100,
        help="show at most this many events, the newest ones (default 100)",
    )
    parser.add_argument(
        "--json",
        "-j",
        action="store_true",
        help='print a JSON array of {"timestamp": "<ns>", "event": {...}}',
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="also show stream labels")
    _add_source_flags(parser)


def _add_transitions(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "transitions",
        help="graph transitions (source -> target)",
        description="Show graph_transition events: source -> target (trigger).",
    )
    _add_view_flags(parser, since_default="1h")
    parser.set_defaults(func=_run_transitions)


def _add_llm_calls(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "llm-calls",
        help="LLM calls with latency and token counts",
        description="Show llm_call events: model, latency, prompt/completion tokens.",
    )
    parser.add_argument(
        "--min-latency",
        type=_non_negative_int,
        default=None,
        metavar="MS",
        help="only calls that took at least MS milliseconds",
    )
    _add_view_flags(parser, since_default="1h")
    parser.set_defaults(func=_run_llm_calls)


def _add_errors(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "errors", help="error events", description="Show error events and their messages."
    )
    _add_view_flags(parser, since_default="1h")
    parser.set_defaults(func=_run_errors)


def _add_session(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "session",
        help="every event of one session",
        description=(
            "Show every event of one session: those whose span label or session_id field is "
            "SESSION-ID. Looks back 7 days unless --since says otherwise."
        ),
    )
    parser.add_argument("session_id", metavar="SESSION-ID")
    _add_view_flags(parser, since_default="7d")
    parser.set_defaults(func=_run_session)


def _run_transitions(args: argparse.Namespace) -> int:
    return _show(args, EventType.GRAPH_TRANSITION, lambda event: type(event) is GraphTransition)


def _run_llm_calls(args: argparse.Namespace) -> int:
    min_latency: int | None = args.min_latency

    def keep(event: Event) -> bool:
        return type(event) is LlmCall and (min_latency is None or event.latency_ms >= min_latency)

    return _show(args, EventType.LLM_CALL, keep)


def _run_errors(args: argparse.Namespace) -> int:
    return _show(args, EventType.ERROR, lambda event: type(event) is ErrorEvent)


def _run_session(args: argparse.Namespace) -> int:
    wanted: str = args.session_id

    def keep(event: Event) -> bool:
        return event.labels.get("span") == wanted or event.fields.get("session_id") == wanted

    return _show(args, None, keep)


def _show(args: argparse.Namespace, event_type: EventType | None, keep: EventFilter) -> int:
    """Read the window, keep the newest ``--limit`` events ``keep`` accepts, print them."""
    logql = LogQL(args.selector)  # validates --selector
    window = window_from_flags(args.since, args.until)
    if event_type is not None:
        logql = _event_kinds(args.source, logql, window)
    selector = logql.stream(event_type.value) if event_type is not None else logql.selector
    newest: deque[Event] = deque(maxlen=args.limit)
    skips = SkipCounter()
    with contextlib.closing(_read(args.source, selector, window, skips)) as entries:
        for ts_ns, line, labels in entries:
            event = parse_line(ts_ns, line, labels, skips)
            if event is not None and keep(event):
                newest.append(event)
    out = sys.stdout
    if args.json:
        out.write(_render_json(newest, verbose=args.verbose))
    else:
        out.write("".join(_render_text(event, verbose=args.verbose) for event in newest))
    out.flush()
    return 0


def _event_kinds(spec: str, logql: LogQL, window: TimeWindow) -> LogQL:
    """For Loki, how to select one kind: by label, or by line filter where labels lack."""
    from micro_gastown.sources.loki import LokiSource
    from micro_gastown.sources.loki.selection import fallback_note, select_event_kinds

    source = open_source(spec, selector=logql.selector, environ=os.environ)
    try:
        if not isinstance(source, LokiSource) or window.start_ns is None:
            return logql  # a file is read whole and filtered after parsing
        end = window.end_ns if window.end_ns is not None else source.now()
        logql, missing = select_event_kinds(source.client, logql, window.start_ns, end)
        if missing:
            print(f"micro-gastown: note: {fallback_note(missing)}", file=sys.stderr)
        return logql
    finally:
        source.close()


def _read(
    spec: str, selector: str, window: TimeWindow, skips: SkipCounter
) -> Generator[tuple[int, str, dict[str, str]], None, None]:
    source: LogSource = open_source(spec, selector=selector, environ=os.environ)
    try:
        yield from source.entries(window, skips)
    finally:
        source.close()


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
    return line + "\n"


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


# -- export --------------------------------------------------------------------------------


def _add_export(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "export",
        help="export raw log lines as logcli --output=jsonl",
        description=(
            "Write every entry of the base selector in the window, oldest first, as logcli "
            '--output=jsonl lines: {"labels": {...}, "line": "<raw>", "timestamp": '
            '"<RFC3339Nano>"}. The result is a file: source for analyze.'
        ),
    )
    parser.add_argument(
        "--since", "-s", required=True, help="duration back from now (24h, 7d) or RFC 3339 time"
    )
    parser.add_argument("--until", help="RFC 3339 time or duration back from now (default now)")
    parser.add_argument(
        "--output", "-o", type=Path, help="write here (atomically), not to standard output"
    )
    _add_source_flags(parser)
    parser.set_defaults(func=_run_export)


def _run_export(args: argparse.Namespace) -> int:
    logql = LogQL(args.selector)  # validates --selector
    window = window_from_flags(args.since, args.until)
    with contextlib.closing(_read(args.source, logql.selector, window, SkipCounter())) as entries:
        chunks = _chunks(_export_lines(entries))
        if args.output is None:
            out = sys.stdout
            for chunk in chunks:
                out.write(chunk.decode())
            out.flush()
        else:
            _stream_atomic(args.output, chunks)
    return 0


def _export_lines(entries: Iterable[tuple[int, str, dict[str, str]]]) -> Iterator[bytes]:
    for ts_ns, line, labels in entries:
        record = {"labels": labels, "line": line, "timestamp": format_ns(ts_ns)}
        yield orjson.dumps(record) + b"\n"


def _chunks(lines: Iterable[bytes], size: int = 1 << 16) -> Iterator[bytes]:
    """Join lines into chunks of about ``size`` bytes so writes stay few but memory bounded."""
    buffer: list[bytes] = []
    held = 0
    for line in lines:
        buffer.append(line)
        held += len(line)
        if held >= size:
            yield b"".join(buffer)
            buffer.clear()
            held = 0
    if buffer:
        yield b"".join(buffer)


def _stream_atomic(path: Path, chunks: Iterable[bytes]) -> None:
    """Stream ``chunks`` into a temporary file beside ``path``, then rename it over ``path``."""
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise OutputError(f"{path}: directory {directory} does not exist")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                try:
                    handle.write(chunk)
                except OSError as exc:
                    raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
