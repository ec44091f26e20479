"""``logs export``: every entry of the base selector in a window, as logcli JSONL.

The output (``{"labels": {...}, "line": "<raw>", "timestamp": "<RFC3339Nano>"}`` per line,
oldest first) is a ``file:`` source for ``analyze`` and the views. It is streamed in
bounded chunks, so a day of logs never has to fit in memory.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from micro_gastown.atomicfile import stream_atomic
from micro_gastown.cli.logs.source import Entry, read_entries
from micro_gastown.cli.source_flags import add_source_flags
from micro_gastown.events import SkipCounter
from micro_gastown.logql import LogQL
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
        "--since", "-s", required=True, help="duration back from now (24h, 7d) or RFC 3339 time"
    )
    parser.add_argument("--until", help="RFC 3339 time or duration back from now (default now)")
    parser.add_argument(
        "--output", "-o", type=Path, help="write here (atomically), not to standard output"
    )
    add_source_flags(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logql = LogQL(args.selector)  # validates --selector
    window = window_from_flags(args.since, args.until)
    entries = read_entries(args.source, logql.selector, window, SkipCounter())
    with contextlib.closing(entries):
        chunks = _chunks(_export_lines(entries))
        if args.output is None:
            out = sys.stdout
            for chunk in chunks:
                out.write(chunk.decode())
            out.flush()
        else:
            stream_atomic(args.output, chunks)
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
