"""``logs export``: every entry of the base selector in a window, as logcli JSONL.

The output (``{"labels": {...}, "line": "<raw>", "timestamp": "<RFC3339Nano>"}`` per line,
oldest first) is a ``file:`` source for ``analyze`` and the views. It is streamed in
bounded chunks, so a day of logs never has to fit in memory.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from micro_gastown.atomicfile import STDOUT, stream_atomic
from micro_gastown.cli.logs.source import Entry, read_entries
from micro_gastown.cli.source_flags import add_source_flags, refuse_output_over_source
from micro_gastown.errors import UsageError
from micro_gastown.events import SkipCounter
from micro_gastown.logql import LogQL
from micro_gastown.sources import is_file_source
from micro_gastown.timewindow import format_ns, window_from_flags


def register(commands: Any) -> None:
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
        "--since",
        "-s",
        help="duration back from now (24h, 7d) or RFC 3339 time; required for Loki, "
        "a file: source is exported whole by default",
    )
    parser.add_argument("--until", help="RFC 3339 time or duration back from now (default now)")
    parser.add_argument(
        "--output",
        "-o",
        type=Path,
        help="write here, not to standard output: a file atomically, a symlink's target, "
        "a device or FIFO in place; - is standard output",
    )
    add_source_flags(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logql = LogQL(args.selector)  # validates --selector
    if args.since is None and not is_file_source(args.source):
        raise UsageError("logs export: --since is required with a Loki source (e.g. --since 24h)")
    window = window_from_flags(args.since, args.until)
    refuse_output_over_source(args.source, args.output)
    entries = read_entries(args.source, logql.selector, window, SkipCounter())
    with contextlib.closing(entries):
        stream_atomic(
            STDOUT if args.output is None else args.output, _chunks(_export_lines(entries))
        )
    return 0


def _export_lines(entries: Iterable[Entry]) -> Iterator[bytes]:
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
