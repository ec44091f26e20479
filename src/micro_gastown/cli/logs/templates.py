"""``logs templates FILE``: the Drain template of every raw message, in input order.

Reads one raw message per line and prints, for each input line and in input order, the
template its message belongs to. Lines are split on ``\\n`` only (a trailing ``\\r`` is
dropped), so output line N always describes input line N; blank lines are messages too
(their template is ``""``). Bytes that are not UTF-8 are replaced with U+FFFD rather than
failing the run.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import stat
import sys
import zlib
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import IO, Any, Final, Protocol, cast

import orjson

from micro_gastown.clustering import MAX_CLUSTERED_CHARS, OVERFLOW_ID, OVERFLOW_TEXT, TemplateMiner
from micro_gastown.errors import SourceError
from micro_gastown.evidence import default_redactor
from micro_gastown.sources.file import ENDLESS_LINE_BYTES

_GZIP_MAGIC = b"\x1f\x8b"
_KEPT_BYTES: Final = 4 * MAX_CLUSTERED_CHARS + 8
"""The bytes of a line kept: whatever the UTF-8, they hold every character the miner
clusters (it reads no further), so longer lines are read past instead of held whole."""
_SKIP_CHUNK: Final = 1 << 16


class OutputFormat(StrEnum):
    JSONL = "jsonl"
    TEXT = "text"


def register(commands: Any) -> None:
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
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
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
    if miner.overflowed:  # lines past the template limit share one id and say so
        rendered[OVERFLOW_ID] = _render(OVERFLOW_ID, OVERFLOW_TEXT, args.format)
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
            for raw in _line_starts(stream):
                if raw.endswith(b"\n"):
                    raw = raw[:-1]
                if raw.endswith(b"\r"):
                    raw = raw[:-1]
                yield raw.decode("utf-8", errors="replace")
    except _EndlessLine:
        raise SourceError(
            f"cannot read {name}: no newline in {ENDLESS_LINE_BYTES >> 20} MiB "
            "(a device that never ends?)"
        ) from None
    except (OSError, EOFError, zlib.error) as exc:
        # OSError covers missing/unreadable files and gzip.BadGzipFile; EOFError is a
        # truncated gzip stream.
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SourceError(f"cannot read {name}: {reason or type(exc).__name__}") from exc


class _Readable(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...

    def fileno(self) -> int: ...


class _EndlessLine(Exception):
    """A line of a pipe or device went on past ENDLESS_LINE_BYTES."""


def _line_starts(stream: _Readable) -> Iterator[bytes]:
    """Each line of ``stream``, cut to its first ``_KEPT_BYTES``: memory stays bounded
    however long a line is (a dumped payload). A line without end, which only a source
    that is not a regular file can have (``/dev/zero``), raises _EndlessLine."""
    endless_after = None if _is_regular(stream) else ENDLESS_LINE_BYTES
    readline = stream.readline
    while line := readline(_KEPT_BYTES):
        if len(line) == _KEPT_BYTES and not line.endswith(b"\n"):
            skipped = len(line)
            while (rest := readline(_SKIP_CHUNK)) and not rest.endswith(b"\n"):
                skipped += len(rest)
                if endless_after is not None and skipped > endless_after:
                    raise _EndlessLine
        yield line


def _is_regular(stream: _Readable) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # no descriptor: assume the worst
        return False


@contextmanager
def _open_binary(source: str) -> Iterator[_Readable]:
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
