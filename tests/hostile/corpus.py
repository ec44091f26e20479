"""The hostile-input corpus: files, links, FIFOs, sockets and devices, built in a test's own
temporary directory.

Why a builder rather than checked-in files: half of the corpus cannot be checked in (FIFOs,
sockets, device nodes, links that dangle or loop, 400 MiB of zeros), and the other half is
cheaper to describe than to store. Every builder takes a directory and returns the path it
made inside it; nothing here touches a file outside that directory. Device nodes are made
with ``os.mknod`` (the suite runs as root), so the tool is pointed at a null, zero or full
device of its own and never at the machine's ``/dev``.
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import orjson

from factories import BASE_NS, Export
from specialfiles import (
    FULL_DEVICE,
    NULL_DEVICE,
    ZERO_DEVICE,
    make_dangling_symlink,
    make_device,
    make_socket,
    make_symlink_loop,
)

# ---------------------------------------------------------------------------------------
# valid content, to surround the hostile bytes with


VALID_EVENTS = 24
"""Events in :func:`valid_export`: a case that hides hostile lines among valid ones must
still see these."""


def valid_export() -> Export:
    """A small export with a finding of each common kind, so a report has content."""
    exp = Export()
    for i in range(6):
        span = f"s{i}"
        exp.transition(span, "route", "refund")
        exp.llm(span, latency=6000)
        exp.effect(span, "payment_api", success=i % 2 == 0)
        exp.error(span, f"payment gateway timeout after {i} ms")
    return exp


def valid_lines() -> list[bytes]:
    return valid_export().lines


def jsonl(lines: list[bytes], end: bytes = b"\n") -> bytes:
    return end.join(lines) + end


def export_record(line: str | bytes, *, ts_ns: int = BASE_NS, labels: object = None) -> bytes:
    """One logcli export line around ``line`` (the raw Loki log line)."""
    text = line.decode() if isinstance(line, bytes) else line
    record = {
        "labels": labels if labels is not None else {"job": "exomonad-native"},
        "line": text,
        "timestamp": f"{ts_ns}",
    }
    return orjson.dumps(record)


# ---------------------------------------------------------------------------------------
# hostile regular files


def gzip_of(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def gzip_bomb(decompressed_mib: int) -> bytes:
    """``decompressed_mib`` MiB of NUL bytes (no newline at all) in a few hundred KiB: one
    gzip member of 1 MiB repeated (a multi-member gzip is one stream to every reader)."""
    member = gzip.compress(bytes(1 << 20), compresslevel=9, mtime=0)
    return member * decompressed_mib


def binary_garbage(size: int = 1 << 16) -> bytes:
    data = bytearray(random.Random(1).randbytes(size))
    data[0:2] = b"PK"  # anything but the gzip magic: this case is about plain garbage
    return bytes(data)


def invalid_utf8() -> bytes:
    """Valid lines between lines carrying bytes that are not UTF-8, raw and escaped."""
    bad = [
        b'{"labels":{"job":"x\xff\xfe"},"line":"{\\"type\\":\\"error\\"}","timestamp":"1"}',
        b'{"labels":{},"line":"\xc3\x28 overlong \xe0\x80\xaf","timestamp":"1763683200000000000"}',
        export_record('{"type":"error","message":"lone \\udc80 surrogate"}'),
        b'{"labels":{},"line":"\\ud800","timestamp":"1763683200000000000"}',
        b"\xed\xa0\x80\xed\xb0\x80 CESU-8 and \xf8\x88\x80\x80\x80 five-byte forms",
    ]
    lines = valid_lines()
    return jsonl([*lines[:10], *bad, *lines[10:]])


def long_line(megabytes: int = 20) -> bytes:
    """A valid export line whose error message is ``megabytes`` MB of words, among
    valid lines."""
    words = b"payment gateway timeout 4711 " * (megabytes * (1 << 20) // 29)
    message = orjson.dumps({"type": "error", "message": words.decode()})
    return jsonl([*valid_lines(), export_record(message, ts_ns=BASE_NS + 1)])


def no_newline(size: int = 3 << 20) -> bytes:
    """Export records glued together without a single newline (3 MB)."""
    record = valid_lines()[0]
    return b" ".join([record] * (size // (len(record) + 1)))


_HUGE = (
    "1234567890123456789012345678901234567890",
    "-1234567890123456789012345678901234567890",
    "1e308",
    "-1e308",
    "1e400",
    "1.7976931348623157e308",
    "4.9e-324",
    "18446744073709551616",
    "9223372036854775808",
    "-9223372036854775809",
    "NaN",
    "Infinity",
    "-Infinity",
    '"NaN"',
    '"1e999"',
    "1E+308",
)


def huge_numbers() -> bytes:
    """Every numeric field of every event type given 40-digit, 1e308, overflowing and
    NaN-ish values (repeated, so detectors compute percentiles over them), plus the same in
    timestamps and labels."""
    lines = valid_lines()
    for round_ in range(3):
        for n, value in enumerate(_HUGE):
            span = f"h{n}"
            transition = '{"type":"graph_transition","from":"route","to":"refund","trigger":"x"}'
            llm = (
                f'{{"type":"llm_call","model":"claude-haiku-4-5","node":"route",'
                f'"prompt_tokens":{value},"completion_tokens":{value},"latency_ms":{value}}}'
            )
            llm_fast = (
                f'{{"type":"llm_call","model":"claude-haiku-4-5","prompt_tokens":{value},'
                f'"completion_tokens":{value},"latency_ms":{value}}}'
            )
            effect = (
                f'{{"type":"effect_execution","effect_type":"payment_api","success":false,'
                f'"latency_ms":{value}}}'
            )
            error = f'{{"type":"error","message":"boom {value}","context":{{"n":{value}}}}}'
            for offset, line in enumerate((transition, llm, llm_fast, effect, error)):
                ts = BASE_NS + (round_ * 1000 + n * 10 + offset) * 1_000_000
                lines.append(export_record(line, ts_ns=ts, labels={"span": span, "n": value}))
    for stamp in (
        *_HUGE,
        "99999-01-01T00:00:00Z",
        "2025-11-21T00:00:00.1234567890123456789012345678901234567890Z",
        "2025-13-45T25:61:61Z",
        "0000-00-00T00:00:00Z",
        "-1",
    ):
        record = {"labels": {}, "line": '{"type":"error","message":"when?"}', "timestamp": stamp}
        lines.append(orjson.dumps(record))
        lines.append(b'{"labels":{},"line":"{}","timestamp":' + stamp.encode() + b"}")
    # Label values that are not strings: numbers, objects, null (Loki's are always strings).
    odd_labels = (
        b'{"span":1e308,"job":{"x":[1,2]},"event_type":null,"n":123456789012345678901234567890}'
    )
    for i in range(4):
        event = orjson.dumps({"type": "error", "message": f"odd labels {i}"}).decode()
        quoted = orjson.dumps(event)
        lines.append(b'{"labels":' + odd_labels + b',"line":' + quoted + b',"timestamp":"1"}')
    return jsonl(lines)


def deep_nesting(depth: int = 100_000) -> bytes:
    """JSON nested ``depth`` deep: as the log line, as the export record itself and as an
    event's context; and an error whose context is 1000 deep, just inside what a JSON
    parser with a recursion limit of 1024 accepts."""
    deep = "[" * depth + "]" * depth
    lines = valid_lines()
    lines.append(export_record(deep))
    lines.append(b'{"labels":' + b'{"a":' * depth + b"1" + b"}" * depth + b"}")
    lines.append(b"[" * depth + b"]" * depth)
    lines.append(export_record('{"type":"error","message":"deep","context":' + deep + "}"))
    for depth_kept in (900, 1000, 1020):
        context = '{"k":' * depth_kept + "1" + "}" * depth_kept
        for i in range(4):
            message = f'{{"type":"error","message":"deep context {i}","context":{context}}}'
            lines.append(export_record(message, ts_ns=BASE_NS + i, labels={"span": "deep"}))
    return jsonl(lines)


def nul_bytes() -> bytes:
    lines = valid_lines()
    lines.insert(3, b"\x00" * 64)
    lines.insert(5, lines[5][:20] + b"\x00" + lines[5][20:])
    for i in range(4):
        message = f'{{"type":"error","message":"nul \\u0000 inside {i}","node":"a\\u0000b"}}'
        lines.append(export_record(message, labels={"span": "n\u0000ul", "job": "\u0000"}))
    return jsonl(lines)


def crlf() -> bytes:
    return jsonl(valid_lines(), end=b"\r\n")


def bom() -> bytes:
    return b"\xef\xbb\xbf" + jsonl(valid_lines())


HOSTILE_TEXT = (
    "\u202egnp.exe\u202c \u2066isolate\u2069 zero\u200bwidth\u200d\ufeff "
    "\x1b[31mred\x1b[0m \x1b]0;pwned\x07 \x1b[2J "
    "@octocat @github/security-team cc @everyone "
    "<img src=x onerror=alert(1)> <script>alert(1)</script> <!-- c --> "
    "[link](https://evil.example) **bold** `tick` | pipe |"
    "\n```\n<b>out of the fence</b> @fenced\n```\n"
)
"""A message that tries every way log text could become markup, a ping or hidden text."""


def hostile_text() -> bytes:
    """Messages, node names, models and labels full of :data:`HOSTILE_TEXT`, repeated so
    they become findings (and so reach every part of a report)."""
    lines = valid_lines()
    node = "node\u202e<b>@octocat</b>\x1b[1m"
    for i in range(12):
        span = f"t{i}"
        events = [
            {"type": "graph_transition", "from": "route", "to": node, "trigger": HOSTILE_TEXT},
            {"type": "llm_call", "model": HOSTILE_TEXT, "node": node, "prompt_tokens": 20000,
             "completion_tokens": 10, "latency_ms": 9000},
            {"type": "effect_execution", "effect_type": HOSTILE_TEXT, "success": False,
             "latency_ms": 5, "node": node},
            {"type": "error", "message": f"{HOSTILE_TEXT} {i}", "node": node},
        ]  # fmt: skip
        for n, event in enumerate(events):
            ts = BASE_NS + (i * 10 + n) * 1_000_000
            labels = {"span": span, "job": "exomonad-native", "hostile": HOSTILE_TEXT}
            lines.append(export_record(orjson.dumps(event), ts_ns=ts, labels=labels))
    return jsonl(lines)


# ---------------------------------------------------------------------------------------
# the corpus


class Readable(Enum):
    """What the table of exit codes says a command must do with an input."""

    YES = "read"  # exit 0: it is a (possibly empty or junk-filled) export
    NO = "refused"  # exit 3: the source cannot be read, said in one line
    EITHER = "read or refused"


@dataclass(frozen=True)
class Input:
    """One hostile ``file:`` source."""

    name: str
    build: Callable[[Path], Path]
    readable: Readable
    events: int | None = None
    """Events an analysis must find in it, when that is known (None: not checked)."""
    at_least: int = 0
    """Events an analysis must find at least (the valid ones among the hostile lines)."""
    blocking: bool = False
    """A FIFO or a device: may block or never end, so it runs in a subprocess only."""


def _file(name: str, content: Callable[[], bytes]) -> Callable[[Path], Path]:
    def build(directory: Path) -> Path:
        path = directory / name
        path.write_bytes(content())
        return path

    return build


def _directory(directory: Path) -> Path:
    path = directory / "a-directory.jsonl"
    path.mkdir()
    (path / "inside.jsonl").write_bytes(jsonl(valid_lines()))
    return path


def _device(minor: int) -> Callable[[Path], Path]:
    return lambda directory: make_device(directory / f"device-{minor}.jsonl", minor)


def _truncated_gzip(directory: Path) -> Path:
    whole = gzip_of(jsonl(valid_lines() * 20))
    path = directory / "truncated.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    return path


REGULAR_INPUTS = (
    Input("empty", _file("empty.jsonl", lambda: b""), Readable.YES, events=0),
    Input("directory", _directory, Readable.NO),
    Input(
        "dangling-symlink",
        lambda d: make_dangling_symlink(d / "dangling.jsonl"),
        Readable.NO,
    ),
    Input("symlink-loop", lambda d: make_symlink_loop(d, "loop.jsonl"), Readable.NO),
    Input("socket", lambda d: make_socket(d / "socket.jsonl"), Readable.NO),
    Input("null-device", _device(NULL_DEVICE), Readable.EITHER, events=0),
    Input("binary-garbage", _file("garbage.jsonl", binary_garbage), Readable.YES, events=0),
    Input(
        "invalid-utf8",
        _file("invalid-utf8.jsonl", invalid_utf8),
        Readable.YES,
        events=VALID_EVENTS,
    ),
    Input("truncated-gzip", _truncated_gzip, Readable.NO),
    Input("no-newline-3mb", _file("no-newline.jsonl", no_newline), Readable.YES, events=0),
    Input(
        "huge-numbers",
        _file("huge-numbers.jsonl", huge_numbers),
        Readable.YES,
        at_least=VALID_EVENTS,
    ),
    Input("deep-nesting", _file("deep.jsonl", deep_nesting), Readable.YES, at_least=VALID_EVENTS),
    Input("nul-bytes", _file("nul.jsonl", nul_bytes), Readable.YES, at_least=VALID_EVENTS - 1),
    Input("crlf", _file("crlf.jsonl", crlf), Readable.YES, events=VALID_EVENTS),
    Input("bom", _file("bom.jsonl", bom), Readable.YES, events=VALID_EVENTS),
    Input(
        "hostile-text",
        _file("hostile-text.jsonl", hostile_text),
        Readable.YES,
        at_least=VALID_EVENTS,
    ),
)
"""Inputs that can be read (or refused) without any risk of blocking."""

LONG_LINE = Input(
    "line-of-20mb",
    _file("long-line.jsonl", long_line),
    Readable.YES,
    at_least=VALID_EVENTS,
)
"""A 20 MB line: slow to cluster, so it runs once, through ``analyze``, in a subprocess."""

GZIP_BOMB_MIB = 400

GZIP_BOMB = Input(
    "gzip-bomb",
    _file("bomb.jsonl.gz", lambda: gzip_bomb(GZIP_BOMB_MIB)),
    Readable.EITHER,
    events=0,
)
"""400 MiB of NUL bytes without a newline in a ~400 KiB gzip: reading it whole as one line
would take that much memory; a tool that bounds its lines does not."""

ENDLESS_DEVICES = (
    Input("zero-device", _device(ZERO_DEVICE), Readable.NO, blocking=True),
    Input("full-device", _device(FULL_DEVICE), Readable.NO, blocking=True),
)
"""Devices that read as an endless run of NUL bytes: only refusing them ends a run."""
