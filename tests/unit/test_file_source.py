"""sources.file + open_source: streaming logcli JSONL exports, plain or gzip (docs/events.md)."""

from __future__ import annotations

import errno
import gzip
import io
import itertools
import os
import stat
import threading
import time
import tracemalloc
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any, cast

import orjson
import pytest

from micro_gastown.analysis.runner import AnalysisSettings, run_analysis
from micro_gastown.cli.flags import worded
from micro_gastown.errors import SourceError, UsageError
from micro_gastown.events import Attributor, SkipCounter, parse_line
from micro_gastown.events.skips import SkipReason
from micro_gastown.sources import FileSource, LogEntry, open_source
from micro_gastown.sources import file as file_source
from micro_gastown.timewindow import TimeWindow, format_ns

from factories import BASE_NS, Export

MS = 1_000_000
LLM_LINE = orjson.dumps(
    {"type": "llm_call", "model": "m", "prompt_tokens": 1, "completion_tokens": 1, "latency_ms": 9}
).decode()


def _read(
    path: Path, window: TimeWindow | None = None
) -> tuple[list[LogEntry], SkipCounter, FileSource]:
    source = FileSource(path)
    skips = SkipCounter()
    entries = list(source.entries(window or TimeWindow(), skips))
    return entries, skips, source


def _record(line: str = LLM_LINE, ts: int | str = BASE_NS, **labels: str) -> bytes:
    stamp = ts if isinstance(ts, str) else format_ns(ts)
    return orjson.dumps({"labels": labels, "line": line, "timestamp": stamp})


def _three_events() -> Export:
    return Export().transition("s1", "entry", "classify").llm("s1").error("s1", "boom")


# ---------------------------------------------------------------- reading


def test_plain_export_yields_timestamp_line_and_labels(tmp_path: Path) -> None:
    """Each export line becomes (ts_ns, raw Loki line, labels), in file order."""
    exp = _three_events()
    entries, skips, _ = _read(exp.write(tmp_path / "logs.jsonl"))
    assert [ts for ts, _, _ in entries] == [BASE_NS + MS, BASE_NS + 2 * MS, BASE_NS + 3 * MS]
    _, line, labels = entries[1]
    assert orjson.loads(line)["type"] == "llm_call"
    assert labels == {"job": "exomonad-native", "event_type": "llm_call", "span": "s1"}
    assert skips.total == 0


def test_loki_line_is_passed_through_unparsed(tmp_path: Path) -> None:
    """The source does not judge the Loki line: junk lines are yielded as-is for the parser."""
    path = tmp_path / "logs.jsonl"
    path.write_bytes(_record("panic: not json at all ✗") + b"\n")
    entries, skips, _ = _read(path)
    assert entries == [(BASE_NS, "panic: not json at all ✗", {})]
    assert skips.total == 0


@pytest.mark.parametrize("name", ["logs.jsonl.gz", "logs.jsonl", "export"])
def test_gzip_is_detected_by_content_whatever_the_name(tmp_path: Path, name: str) -> None:
    """A gzip export reads the same as the plain one, with or without a .gz suffix."""
    exp = _three_events()
    plain = exp.write(tmp_path / "plain.jsonl")
    zipped = tmp_path / name
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    assert _read(zipped)[0] == _read(plain)[0]


def test_concatenated_gzip_members_are_all_read(tmp_path: Path) -> None:
    """`cat a.gz b.gz` (a multi-member gzip) reads as one export, in order."""
    path = tmp_path / "joined.jsonl.gz"
    path.write_bytes(
        gzip.compress(_record(ts=BASE_NS) + b"\n") + gzip.compress(_record(ts=BASE_NS + 1) + b"\n")
    )
    assert [ts for ts, _, _ in _read(path)[0]] == [BASE_NS, BASE_NS + 1]


def test_plain_file_named_gz_is_read_as_plain(tmp_path: Path) -> None:
    """A .gz name on an uncompressed file does not make it gzip."""
    path = _three_events().write(tmp_path / "mislabelled.jsonl.gz")
    entries, _, _ = _read(path)
    assert len(entries) == 3


def test_stats_count_lines_and_bytes_read(tmp_path: Path) -> None:
    """lines_read counts every physical line (blank ones too); bytes_read the file's bytes."""
    path = tmp_path / "logs.jsonl"
    content = _record(ts=BASE_NS) + b"\n\n" + _record(ts=BASE_NS + 1) + b"\n"
    path.write_bytes(content)
    entries, _, source = _read(path)
    assert len(entries) == 2
    assert source.stats.lines_read == 3
    assert source.stats.bytes_read == len(content)
    assert source.stats.outside_window == 0


def test_blank_lines_are_ignored_not_counted(tmp_path: Path) -> None:
    """Empty and whitespace-only lines are neither entries nor skips."""
    path = tmp_path / "logs.jsonl"
    path.write_bytes(b"\n   \n" + _record() + b"\n\t\n\n")
    entries, skips, _ = _read(path)
    assert len(entries) == 1
    assert skips.total == 0


def test_crlf_line_endings_are_accepted(tmp_path: Path) -> None:
    """Exports with Windows line endings read normally."""
    path = tmp_path / "logs.jsonl"
    path.write_bytes(_record(ts=BASE_NS) + b"\r\n" + _record(ts=BASE_NS + 1) + b"\r\n")
    entries, skips, _ = _read(path)
    assert [ts for ts, _, _ in entries] == [BASE_NS, BASE_NS + 1]
    assert skips.total == 0


def test_last_line_without_newline_is_read(tmp_path: Path) -> None:
    """A final line with no trailing newline is still an entry."""
    path = tmp_path / "logs.jsonl"
    path.write_bytes(_record(ts=BASE_NS) + b"\n" + _record(ts=BASE_NS + 5))
    assert [ts for ts, _, _ in _read(path)[0]] == [BASE_NS, BASE_NS + 5]


def test_empty_file_yields_nothing(tmp_path: Path) -> None:
    """An empty export is no entries and no skips."""
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    entries, skips, source = _read(path)
    assert entries == []
    assert skips.total == 0
    assert source.stats.lines_read == 0


# ---------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("1763683200000000123", BASE_NS + 123),  # `micro-gastown logs --json` form
        ("2025-11-21T00:00:00Z", BASE_NS),
        ("2025-11-21T00:00:00.5Z", BASE_NS + 500_000_000),
        ("2025-11-21T01:00:00.000000007+01:00", BASE_NS + 7),
        ("2025-11-20T18:30:00-0530", BASE_NS),
    ],
)
def test_timestamp_forms_accepted(tmp_path: Path, stamp: str, expected: int) -> None:
    """RFC 3339 (any fraction, any offset) and numeric-string epoch ns are both read exactly."""
    path = tmp_path / "logs.jsonl"
    path.write_bytes(_record(ts=stamp) + b"\n")
    assert [ts for ts, _, _ in _read(path)[0]] == [expected]


@pytest.mark.parametrize(
    "stamp", ["", "yesterday", "-5", "2025-13-01T00:00:00Z", "2025-11-21T00:00:00", "1.5e18"]
)
def test_bad_timestamps_are_counted_and_skipped(tmp_path: Path, stamp: str) -> None:
    """An unreadable timestamp string skips the line as bad_timestamp; reading goes on."""
    path = tmp_path / "logs.jsonl"
    path.write_bytes(_record(ts=stamp) + b"\n" + _record(ts=BASE_NS) + b"\n")
    entries, skips, _ = _read(path)
    assert [ts for ts, _, _ in entries] == [BASE_NS]
    assert skips.as_dict() == {"bad_timestamp": 1}


@pytest.mark.parametrize(
    "stamp",
    [
        "2025-11-21T00:00:00.\u00b2Z",  # a superscript two: str.isdigit() says yes, int() no
        "2025-11-21T00:00:00.\u0663Z",  # an Arabic-Indic three, which int() would read
        "2025-11-21T00:00:0\u0663.5Z",
        "\u0661" * 19,  # epoch nanoseconds in Arabic-Indic digits
        "\u00b2" * 19,
    ],
)
@pytest.mark.parametrize("after_same_second", [True, False])
def test_timestamps_with_digits_other_than_ascii_are_bad(
    tmp_path: Path, stamp: str, after_same_second: bool
) -> None:
    """RFC 3339 and epoch stamps are ASCII digits: any other digit makes a bad_timestamp,
    after a line of the same second (the cached fast path) as on its own, and never ends
    the read with a traceback."""
    first = [_record(ts="2025-11-21T00:00:00.1Z")] if after_same_second else []
    path = tmp_path / "logs.jsonl"
    path.write_bytes(b"\n".join([*first, _record(ts=stamp), _record(ts=BASE_NS)]) + b"\n")
    entries, skips, _ = _read(path)
    assert len(entries) == len(first) + 1
    assert entries[-1][0] == BASE_NS
    assert skips.as_dict() == {"bad_timestamp": 1}


_BAD_EXPORT_LINES: list[bytes] = [
    b"not json",
    b'{"labels": {}, "line": "x", "timestamp": "2025-11-21T00:00:00Z"',  # truncated
    b"[1, 2]",
    b"null",
    b"42",
    b'"a string"',
    b'{"labels": {}, "line": "x"}',  # no timestamp
    b'{"labels": {}, "timestamp": "2025-11-21T00:00:00Z"}',  # no line
    b'{"line": 5, "timestamp": "2025-11-21T00:00:00Z"}',  # line not a string
    b'{"line": {"type": "error"}, "timestamp": "2025-11-21T00:00:00Z"}',
    b'{"line": "x", "timestamp": 1763683200000000000}',  # timestamp not a string
    b'{"line": "x", "timestamp": null}',
    b"\xff\xfe garbage",
]


@pytest.mark.parametrize("bad", _BAD_EXPORT_LINES)
def test_bad_export_lines_are_counted_and_skipped(tmp_path: Path, bad: bytes) -> None:
    """A line that is not a logcli JSONL record counts once as bad_export_line; reading goes on."""
    path = tmp_path / "logs.jsonl"
    path.write_bytes(bad + b"\n" + _record(ts=BASE_NS) + b"\n")
    entries, skips, source = _read(path)
    assert [ts for ts, _, _ in entries] == [BASE_NS]
    assert skips.as_dict() == {"bad_export_line": 1}
    assert source.stats.lines_read == 2


@pytest.mark.parametrize("labels", [None, [], "job=x", 5], ids=["missing", "list", "str", "int"])
def test_missing_or_non_object_labels_become_empty(tmp_path: Path, labels: Any) -> None:
    """No labels (or labels that are not an object) yield an empty label dict, not a skip."""
    record: dict[str, Any] = {"line": LLM_LINE, "timestamp": format_ns(BASE_NS)}
    if labels is not None:
        record["labels"] = labels
    path = tmp_path / "logs.jsonl"
    path.write_bytes(orjson.dumps(record) + b"\n")
    entries, skips, _ = _read(path)
    assert entries == [(BASE_NS, LLM_LINE, {})]
    assert skips.total == 0


@pytest.mark.parametrize("span", [["a"], {"k": "v"}, 5], ids=["list", "object", "int"])
def test_non_string_span_label_is_no_scope_and_never_fatal(tmp_path: Path, span: Any) -> None:
    """A list/object/number span label is ignored (no scope); parsing and attribution go on."""
    path = tmp_path / "logs.jsonl"
    record = {"labels": {"span": span}, "line": LLM_LINE, "timestamp": format_ns(BASE_NS)}
    path.write_bytes(orjson.dumps(record) + b"\n")
    skips = SkipCounter()
    attributor = Attributor()
    entries = list(FileSource(path).entries(TimeWindow(), skips))
    assert len(entries) == 1
    ts, line, labels = entries[0]
    event = parse_line(ts, line, labels, skips)
    assert event is not None
    assert attributor.observe(event) is None
    assert event.scope is None
    assert attributor.unattributed == 1


MAX_NS = 253_402_300_799_999_999_999  # 9999-12-31T23:59:59.999999999Z


@pytest.mark.parametrize(
    ("stamp", "kept"),
    [
        ("0", True),
        ("1970-01-01T00:00:00Z", True),
        ("1969-12-31T23:59:59.999999999Z", False),  # before the epoch
        (str(MAX_NS), True),
        (str(MAX_NS + 1), False),  # past year 9999: format_ns could not render it
        ("10000000000000000000000", False),
        ("9" * 5000, False),  # beyond int()'s digit limit
    ],
)
def test_timestamps_outside_epoch_to_year_9999_are_bad(
    tmp_path: Path, stamp: str, kept: bool
) -> None:
    """Only 1970..9999 timestamps are entries (each renderable); others count as bad_timestamp."""
    path = tmp_path / "logs.jsonl"
    path.write_bytes(_record(ts=stamp) + b"\n")
    entries, skips, _ = _read(path)
    assert len(entries) == int(kept)
    assert skips.as_dict() == ({} if kept else {"bad_timestamp": 1})
    for ts, _, _ in entries:
        format_ns(ts)


# ---------------------------------------------------------------- window


def test_window_is_half_open_and_outside_lines_are_counted(tmp_path: Path) -> None:
    """Entries at start..end-1 pass; before start and at end are counted outside_window."""
    start, end = BASE_NS + 10, BASE_NS + 20
    stamps = [start - 1, start, start + 5, end - 1, end, end + 1]
    path = tmp_path / "logs.jsonl"
    path.write_bytes(b"\n".join(_record(ts=ts) for ts in stamps) + b"\n")
    entries, skips, source = _read(path, TimeWindow(start, end))
    assert [ts for ts, _, _ in entries] == [start, start + 5, end - 1]
    assert source.stats.outside_window == 3
    assert source.stats.lines_read == 6
    assert skips.total == 0  # outside the window is not a skip


@pytest.mark.parametrize(
    ("window", "kept"),
    [
        (TimeWindow(start_ns=BASE_NS + 1), [BASE_NS + 1, BASE_NS + 2]),
        (TimeWindow(end_ns=BASE_NS + 1), [BASE_NS]),
        (TimeWindow(), [BASE_NS, BASE_NS + 1, BASE_NS + 2]),
    ],
    ids=["since-only", "until-only", "unbounded"],
)
def test_window_with_one_open_side(tmp_path: Path, window: TimeWindow, kept: list[int]) -> None:
    """An open side of the window does not filter; the default window keeps the whole file."""
    path = tmp_path / "logs.jsonl"
    path.write_bytes(b"\n".join(_record(ts=BASE_NS + i) for i in range(3)) + b"\n")
    entries, _, source = _read(path, window)
    assert [ts for ts, _, _ in entries] == kept
    assert source.stats.outside_window == 3 - len(kept)


def test_window_uses_event_timestamps_not_file_order(tmp_path: Path) -> None:
    """Out-of-order files are filtered line by line, not cut at the first late entry."""
    stamps = [BASE_NS + 50, BASE_NS + 5, BASE_NS + 15, BASE_NS + 1]
    path = tmp_path / "logs.jsonl"
    path.write_bytes(b"\n".join(_record(ts=ts) for ts in stamps) + b"\n")
    entries, _, _ = _read(path, TimeWindow(BASE_NS + 2, BASE_NS + 20))
    assert [ts for ts, _, _ in entries] == [BASE_NS + 5, BASE_NS + 15]


# ---------------------------------------------------------------- errors


def test_missing_file_is_a_source_error_naming_the_path(tmp_path: Path) -> None:
    """A missing export is a SourceError that names the path (raised when reading starts)."""
    path = tmp_path / "nope.jsonl.gz"
    entries = FileSource(path).entries(TimeWindow(), SkipCounter())  # lazy: no error yet
    with pytest.raises(SourceError, match="no such") as info:
        next(entries)
    assert str(path) in str(info.value)


def test_directory_is_a_source_error_naming_the_path(tmp_path: Path) -> None:
    """A directory given as the export is a SourceError naming it."""
    with pytest.raises(SourceError, match="directory") as info:
        _read(tmp_path)
    assert str(tmp_path) in str(info.value)


def _big_gzip_export(path: Path, n_lines: int) -> Path:
    """A gzip export of n_lines records with incompressible content (random hex per line)."""
    with gzip.open(path, "wb", compresslevel=1) as out:
        for i in range(n_lines):
            line = orjson.dumps({"type": "error", "message": os.urandom(48).hex()}).decode()
            out.write(_record(line, ts=BASE_NS + i, span="s") + b"\n")
    return path


def test_truncated_gzip_is_a_source_error(tmp_path: Path) -> None:
    """A gzip export cut short raises SourceError naming the path and the last line read."""
    full = _big_gzip_export(tmp_path / "full.gz", 2000).read_bytes()
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(full[: len(full) // 2])
    source = FileSource(cut)
    seen: list[LogEntry] = []
    with pytest.raises(SourceError, match="truncated gzip") as info:
        seen.extend(source.entries(TimeWindow(), SkipCounter()))
    message = str(info.value)
    assert str(cut) in message
    assert f"after line {source.stats.lines_read}" in message
    assert 0 < len(seen) < 2000  # what was readable was yielded before the error


def test_corrupt_gzip_is_a_source_error(tmp_path: Path) -> None:
    """A gzip export with a broken CRC raises SourceError, not a gzip exception."""
    data = bytearray(gzip.compress(_record() + b"\n"))
    data[-8] ^= 0xFF  # CRC32 in the trailer
    path = tmp_path / "bad.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(SourceError, match="gzip") as info:
        _read(path)
    assert str(path) in str(info.value)


# ---------------------------------------------------------------- streaming


_PROC_FD = Path("/proc/self/fd")
needs_proc = pytest.mark.skipif(not _PROC_FD.is_dir(), reason="needs Linux /proc/self/fd")


def _open_offsets(path: Path) -> list[int]:
    """Offsets of this process's open descriptors on ``path``, from Linux /proc/self/fdinfo."""
    target = str(path.resolve())
    offsets = []
    for fd in os.listdir(_PROC_FD):
        try:
            if os.readlink(_PROC_FD / fd) != target:
                continue
            info = Path(f"/proc/self/fdinfo/{fd}").read_text()
        except OSError:  # the fd closed (or was listdir's own) meanwhile
            continue
        offsets.append(int(info.split("pos:")[1].split()[0]))
    return offsets


def _first_entry_then_offsets(path: Path) -> tuple[LogEntry, FileSource, list[int]]:
    """Take one entry from ``path`` and return where the still-open file handles stand."""
    source = FileSource(path)
    entries = cast(Generator[LogEntry], source.entries(TimeWindow(), SkipCounter()))
    try:
        first = next(entries)
        return first, source, _open_offsets(path)
    finally:
        entries.close()


@needs_proc
def test_gzip_export_is_streamed_not_read_up_front(tmp_path: Path) -> None:
    """Taking the first entry of a large .gz export reads one line and a small part of the file."""
    path = _big_gzip_export(tmp_path / "big.jsonl.gz", 10_000)
    size = path.stat().st_size
    assert size > 500_000
    first, source, offsets = _first_entry_then_offsets(path)
    assert first[0] == BASE_NS
    assert source.stats.lines_read == 1
    assert offsets  # the file is still open, mid-stream
    assert max(offsets) < size // 4


@needs_proc
def test_plain_export_is_streamed_not_read_up_front(tmp_path: Path) -> None:
    """Taking the first entry of a large plain export reads one line and a small part of it."""
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"".join(_record(ts=BASE_NS + i) + b"\n" for i in range(5_000)))
    size = path.stat().st_size
    first, source, offsets = _first_entry_then_offsets(path)
    assert first[0] == BASE_NS
    assert source.stats.lines_read == 1
    assert offsets
    assert max(offsets) < size // 4


@needs_proc
@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_file_handles_are_closed_after_reading(tmp_path: Path, compressed: bool) -> None:
    """No handle on the export stays open after a full read or an abandoned one."""
    data = b"".join(_record(ts=BASE_NS + i) + b"\n" for i in range(3))
    path = tmp_path / "logs.jsonl"
    path.write_bytes(gzip.compress(data) if compressed else data)
    assert len(_read(path)[0]) == 3
    assert _open_offsets(path) == []
    _first_entry_then_offsets(path)
    assert _open_offsets(path) == []


@needs_proc
def test_file_handle_is_closed_after_a_gzip_error(tmp_path: Path) -> None:
    """A truncated gzip export raises SourceError and leaves no handle open."""
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(_record() + b"\n")[:-6])
    with pytest.raises(SourceError, match="gzip"):
        _read(path)
    assert _open_offsets(path) == []


# ---------------------------------------------------------------- open_source


def test_open_source_file_scheme_builds_a_file_source(tmp_path: Path) -> None:
    """--source file:PATH is a FileSource over PATH that describes itself as file:PATH."""
    path = _three_events().write(tmp_path / "logs.jsonl")
    source = open_source(f"file:{path}")
    assert isinstance(source, FileSource)
    assert source.path == path
    assert source.describe() == f"file:{path}"
    assert len(list(source.entries(TimeWindow(), SkipCounter()))) == 3


def test_open_source_does_not_touch_the_disk(tmp_path: Path) -> None:
    """Building a source for a missing file succeeds; the error comes when reading."""
    source = open_source(f"file:{tmp_path / 'missing.jsonl'}")
    with pytest.raises(SourceError, match=r"missing\.jsonl"):
        list(source.entries(TimeWindow(), SkipCounter()))


def test_open_source_keeps_colons_in_the_path() -> None:
    """Only the first colon splits the scheme: file:a:b.jsonl is the path a:b.jsonl."""
    source = open_source("file:a:b.jsonl")
    assert isinstance(source, FileSource)
    assert source.path == Path("a:b.jsonl")


@pytest.mark.parametrize(
    "spec", ["", "logs.jsonl", "file:", "FILE:logs.jsonl", "http://localhost:3100", "s3:bucket/x"]
)
def test_open_source_bad_spec_is_a_usage_error_naming_source(spec: str) -> None:
    """An unknown or incomplete --source is a UsageError that names --source and the form."""
    with pytest.raises(UsageError) as info:
        open_source(spec)
    assert worded(info.value).startswith(f"--source {spec!r}: expected file:PATH")


def test_open_source_loki_reads_only_the_environment_it_is_given() -> None:
    """--source loki takes its address from the passed environ; loki:URL overrides it."""
    from micro_gastown.sources.loki import LokiSource

    source = open_source("loki", environ={"LOKI_ADDR": "http://loki.internal:3100"})
    try:
        assert isinstance(source, LokiSource)
        assert source.describe() == "loki:http://loki.internal:3100"
    finally:
        source.close()
    source = open_source("loki:http://other:3100", environ={"LOKI_ADDR": "http://x:1"})
    try:
        assert source.describe() == "loki:http://other:3100"
    finally:
        source.close()
    source = open_source("loki")  # no environ: the default address, nothing read implicitly
    try:
        assert source.describe() == "loki:http://localhost:3100"
    finally:
        source.close()


def test_check_reads_nothing_from_a_pipe(tmp_path: Path) -> None:
    """file:/dev/stdin: checking the source must not eat the start of the stream."""
    lines = [orjson.dumps({"labels": {}, "line": f"l{i}", "timestamp": "2026-11-21T10:00:00Z"})
             for i in range(3)]  # fmt: skip
    read_end, write_end = os.pipe()
    os.write(write_end, b"\n".join(lines) + b"\n")
    os.close(write_end)
    try:
        source = FileSource(Path(f"/dev/fd/{read_end}"))
        source.check()
        entries = list(source.entries(TimeWindow(), SkipCounter()))
    finally:
        os.close(read_end)
    assert [line for _, line, _ in entries] == ["l0", "l1", "l2"]


def test_check_names_a_missing_export() -> None:
    with pytest.raises(SourceError, match="no such log export file"):
        FileSource(Path("/no/such/export.jsonl")).check()


# ---------------------------------------------------------------- pipes, FIFOs, devices


def _export_bytes(count: int) -> bytes:
    """``count`` distinct llm_call records (a few hundred kB at most): no duplicates."""
    return b"".join(_record(ts=BASE_NS + i * MS, span=f"s{i % 7}") + b"\n" for i in range(count))


def _feed(write_end: int, chunks: Iterable[bytes]) -> threading.Thread:
    """Write ``chunks`` into a pipe from a thread (more than the pipe's buffer holds, maybe),
    then close it."""

    def run() -> None:
        try:
            with os.fdopen(write_end, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
        except BrokenPipeError:  # the reader went away: the test's assertions say why
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _report_of(path: Path, *, jobs: int) -> dict[str, Any]:
    """The report of ``path`` as plain data, without what differs from run to run or names
    the path; ``min_part_bytes=1`` lets any regular file split."""
    settings = AnalysisSettings(jobs=jobs, min_part_bytes=1)
    document: dict[str, Any] = orjson.loads(
        run_analysis(FileSource(path), TimeWindow(), settings).to_json()
    )
    for key in ("generated_at", "query_duration_ms", "source", "parts"):
        document["metadata"].pop(key)
    return document


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_a_pipe_is_read_whole_by_one_process_whatever_jobs(
    tmp_path: Path, compressed: bool
) -> None:
    """file:/dev/stdin with --jobs 4: nothing is lost to a look at the pipe (it used to lose
    a buffer's worth of lines, and gzip its header), and gzip is still recognised."""
    data = _export_bytes(3000)
    assert len(data) > 4 * 65536  # more than a pipe buffer: the writer blocks meanwhile
    regular = tmp_path / "export.jsonl"
    regular.write_bytes(data)
    expected = _report_of(regular, jobs=1)
    assert expected["metadata"]["lines_read"] == 3000
    read_end, write_end = os.pipe()
    writer = _feed(write_end, [gzip.compress(data) if compressed else data])
    try:
        piped = _report_of(Path(f"/dev/fd/{read_end}"), jobs=4)
    finally:
        os.close(read_end)
        writer.join(10)
    assert piped["metadata"]["lines_read"] == 3000
    assert piped == expected  # bytes_read too: the pipe's bytes are counted as they are read


def test_a_fifo_is_read_once_whole_whatever_jobs(tmp_path: Path) -> None:
    """A FIFO is opened once: opening it a second time (to look at it before reading) used to
    hang or lose data, since a FIFO's data goes to whoever reads first."""
    data = _export_bytes(3000)
    regular = tmp_path / "export.jsonl"
    regular.write_bytes(data)
    expected = _report_of(regular, jobs=1)
    fifo = tmp_path / "export.fifo"
    os.mkfifo(fifo)

    def write() -> None:
        try:
            with fifo.open("wb") as out:
                out.write(data)
        except BrokenPipeError:
            # The reader closed early; a reader opening the FIFO again would wait forever
            # for a writer: give it one that ends at once, so the test fails, not hangs.
            with fifo.open("wb"):
                pass

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        assert _report_of(fifo, jobs=4) == expected
    finally:
        writer.join(10)
    assert not writer.is_alive()


def test_a_pipe_delivering_the_gzip_magic_in_pieces_is_still_gzip(tmp_path: Path) -> None:
    """The first two bytes may come in two reads of a pipe: gzip is detected all the same."""
    data = gzip.compress(_export_bytes(3))
    read_end, write_end = os.pipe()

    def trickle() -> None:
        with os.fdopen(write_end, "wb", buffering=0) as out:
            out.write(data[:1])
            time.sleep(0.2)  # ordering, not a timing assert: the reader sees 1 byte first
            out.write(data[1:])

    writer = threading.Thread(target=trickle, daemon=True)
    writer.start()
    try:
        entries, skips, _ = _read(Path(f"/dev/fd/{read_end}"))
    finally:
        os.close(read_end)
        writer.join(10)
    assert len(entries) == 3
    assert skips.total == 0


def test_split_refuses_everything_but_a_regular_file_with_storage(tmp_path: Path) -> None:
    """Pipes, FIFOs, devices and files whose size is made up are never split, and looking at
    them does not open them (opening a FIFO would wait, reading a pipe would eat it)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    answers: list[list[FileSource]] = []
    looking = threading.Thread(target=lambda: answers.append(FileSource(fifo).split(4, 1)))
    looking.start()
    looking.join(10)
    opened = looking.is_alive()  # opening a FIFO to read waits for a writer
    if opened:
        with fifo.open("wb"):  # be that writer, so the thread ends
            pass
        looking.join(10)
    assert not opened
    assert answers == [[]]
    zero = tmp_path / "zero"
    os.mknod(zero, stat.S_IFCHR | 0o666, os.makedev(1, 5))
    assert FileSource(zero).split(4, 1) == []
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b"x" * 100 + b"\n")
        assert FileSource(Path(f"/dev/fd/{read_end}")).split(4, 1) == []
        assert os.read(read_end, 1000) == b"x" * 100 + b"\n"  # nothing was consumed
    finally:
        os.close(read_end)
        os.close(write_end)
    sparse = tmp_path / "sparse.jsonl"  # no blocks behind it: its size says nothing
    with sparse.open("wb") as out:
        out.truncate(1 << 20)
    assert os.stat(sparse).st_blocks == 0
    assert FileSource(sparse).split(4, 1) == []


# ---------------------------------------------------------------- bounded lines


class _StopReading(Exception):
    """Raised from a skip counter to end an endless read (a test's own stop)."""


class _StopAfter(SkipCounter):
    """A skip counter that stops the read after ``limit`` lines too long."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def add(self, reason: SkipReason) -> None:
        super().add(reason)
        if self.reasons[SkipReason.LINE_TOO_LONG] >= self.limit:
            raise _StopReading


def test_a_source_without_newlines_counts_a_line_too_long_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """file:/dev/zero (here a node for it in tmp_path) never ends its first line: it is
    counted as line_too_long as soon as it passes the bound (it used to be read into memory
    until MemoryError). The read would go on forever; the counter stops it here."""
    monkeypatch.setattr(file_source, "MAX_LINE_BYTES", 64 * 1024)
    zero = tmp_path / "zero"
    os.mknod(zero, stat.S_IFCHR | 0o666, os.makedev(1, 5))
    skips = _StopAfter(1)
    with pytest.raises(_StopReading):
        for _ in FileSource(zero).entries(TimeWindow(), skips):
            pass
    assert skips.as_dict() == {"line_too_long": 1}


def test_an_endless_device_is_refused_after_a_bounded_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A line of a device or pipe still going after ENDLESS_LINE_BYTES is taken for one that
    never ends: a SourceError naming the path, not a read that goes on for ever."""
    monkeypatch.setattr(file_source, "MAX_LINE_BYTES", 64 * 1024)
    monkeypatch.setattr(file_source, "ENDLESS_LINE_BYTES", 1 << 20)
    zero = tmp_path / "zero"
    os.mknod(zero, stat.S_IFCHR | 0o666, os.makedev(1, 5))
    skips = SkipCounter()
    with pytest.raises(SourceError, match="no newline in 1 MiB") as info:
        for _ in FileSource(zero).entries(TimeWindow(), skips):
            pass
    assert str(zero) in str(info.value)
    assert skips.as_dict() == {"line_too_long": 1}


def test_a_regular_file_s_long_line_is_skipped_however_long(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A regular file ends: a line past ENDLESS_LINE_BYTES in it is only skipped."""
    monkeypatch.setattr(file_source, "MAX_LINE_BYTES", 64 * 1024)
    monkeypatch.setattr(file_source, "ENDLESS_LINE_BYTES", 1 << 20)
    path = tmp_path / "logs.jsonl"
    path.write_bytes(b"\0" * (3 << 20) + b"\n" + _record(ts=BASE_NS) + b"\n")
    entries, skips, _ = _read(path)
    assert [ts for ts, _, _ in entries] == [BASE_NS]
    assert skips.as_dict() == {"line_too_long": 1}


def test_a_utf8_bom_before_the_export_is_not_a_bad_line(tmp_path: Path) -> None:
    """An export saved by an editor may start with a UTF-8 BOM: its first line is read, also
    when the file is split, and the BOM counts in bytes_read."""
    data = b"\xef\xbb\xbf" + _export_bytes(300)
    path = tmp_path / "bom.jsonl"
    path.write_bytes(data)
    entries, skips, source = _read(path)
    assert len(entries) == 300
    assert skips.total == 0
    assert source.stats.bytes_read == len(data)
    assert _report_of(path, jobs=3) == _report_of(path, jobs=1)


def test_a_line_far_over_the_bound_is_read_past_in_bounded_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20 MB without a newline, through a pipe, then a good record: memory stays a small
    multiple of the bound while the long line is read past, and the record after it is read."""
    bound = 64 * 1024
    monkeypatch.setattr(file_source, "MAX_LINE_BYTES", bound)
    read_end, write_end = os.pipe()
    zeros = itertools.repeat(b"\0" * 1_000_000, 20)  # 20 MB without a newline
    writer = _feed(write_end, itertools.chain(zeros, [b"\n" + _record(ts=BASE_NS) + b"\n"]))
    tracemalloc.start()
    try:
        entries, skips, source = _read(Path(f"/dev/fd/{read_end}"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        os.close(read_end)
        writer.join(10)
    assert [ts for ts, _, _ in entries] == [BASE_NS]
    assert skips.as_dict() == {"line_too_long": 1}
    assert source.stats.lines_read == 2
    assert peak < 8 * bound


def test_a_line_over_the_bound_is_skipped_and_reading_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A line longer than MAX_LINE_BYTES (newline included) is counted as line_too_long and
    never yielded; the lines after it are read. A last line of exactly the bound, with no
    newline after it, is whole."""
    good = _record(ts=BASE_NS) + b"\n"
    bound = len(good) + 10
    monkeypatch.setattr(file_source, "MAX_LINE_BYTES", bound)
    long_line = _record("x" * 5000, ts=BASE_NS + 1) + b"\n"
    base = len(_record("", ts=BASE_NS + 2))
    at_bound = _record("y" * (bound - base), ts=BASE_NS + 2)  # the bound long, no newline
    assert len(at_bound) == bound
    path = tmp_path / "logs.jsonl"
    path.write_bytes(good + long_line + _record(ts=BASE_NS + 5) + b"\n" + at_bound)
    entries, skips, source = _read(path)
    assert [ts for ts, _, _ in entries] == [BASE_NS, BASE_NS + 5, BASE_NS + 2]
    assert skips.as_dict() == {"line_too_long": 1}
    assert source.stats.lines_read == 4


def test_the_line_bound_is_the_documented_16_mib() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "longer than 16 MiB is skipped" in " ".join(readme.split())
    assert file_source.MAX_LINE_BYTES == 16 * 1024 * 1024


# ---------------------------------------------------------------- OS errors


class _FailingReads(io.FileIO):
    """A file whose every read fails like /proc/self/mem at offset 0 (EIO)."""

    def readinto(self, buffer: Any) -> int:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    def read(self, size: int = -1) -> bytes:
        raise OSError(errno.EIO, os.strerror(errno.EIO))


def test_an_os_error_on_the_first_read_is_a_source_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """file:/proc/self/mem opens but fails its first read (EIO): a SourceError naming the
    path and the OS reason, not an OSError traceback (it used to escape from the gzip peek)."""
    path = tmp_path / "mem"
    path.write_bytes(b"")
    real_open = Path.open

    def failing_open(self: Path, mode: str = "r", buffering: int = -1, **kw: Any) -> Any:
        if self != path:
            return real_open(self, mode, buffering, **kw)
        raw = _FailingReads(self, "rb")
        return raw if buffering == 0 else io.BufferedReader(raw)

    monkeypatch.setattr(Path, "open", failing_open)
    with pytest.raises(SourceError) as info:
        _read(path)
    assert str(path) in str(info.value)
    assert os.strerror(errno.EIO) in str(info.value)


def test_a_directory_is_one_source_error_whatever_jobs(tmp_path: Path) -> None:
    """A directory as file: source, with splitting allowed: one clear SourceError."""
    settings = AnalysisSettings(jobs=4, min_part_bytes=1)
    with pytest.raises(SourceError, match="is a directory") as info:
        run_analysis(FileSource(tmp_path), TimeWindow(), settings)
    assert str(tmp_path) in str(info.value)


# ---------------------------------------------------------------- duplicates


def test_an_exact_duplicate_entry_is_dropped_and_counted(tmp_path: Path) -> None:
    """Same timestamp, labels and line: Loki keeps one, so the file source does too."""
    path = tmp_path / "logs.jsonl"
    one = _record(ts=BASE_NS, span="s1", job="j")
    reordered = orjson.dumps(  # the same stream: label order does not matter
        {"timestamp": format_ns(BASE_NS), "line": LLM_LINE, "labels": {"job": "j", "span": "s1"}}
    )
    path.write_bytes(one + b"\n" + reordered + b"\n" + _record(ts=BASE_NS + 1) + b"\n")
    entries, skips, source = _read(path)
    assert [ts for ts, _, _ in entries] == [BASE_NS, BASE_NS + 1]
    assert source.stats.duplicates == 1
    assert source.stats.lines_read == 3
    assert skips.total == 0


@pytest.mark.parametrize(
    "second",
    [
        _record(ts=BASE_NS, span="s2"),  # another stream
        _record(LLM_LINE.replace('"m"', '"m2"'), ts=BASE_NS, span="s1"),  # another line
        _record(ts=BASE_NS + 1, span="s1"),  # another time
    ],
    ids=["other-labels", "other-line", "other-timestamp"],
)
def test_entries_differing_in_labels_line_or_time_are_all_kept(
    tmp_path: Path, second: bytes
) -> None:
    path = tmp_path / "logs.jsonl"
    path.write_bytes(_record(ts=BASE_NS, span="s1") + b"\n" + second + b"\n")
    entries, _, source = _read(path)
    assert len(entries) == 2
    assert source.stats.duplicates == 0


def test_duplicates_among_many_entries_of_one_timestamp_are_all_found(tmp_path: Path) -> None:
    """A run of one nanosecond, duplicates anywhere in it (not only next to each other)."""
    lines = [_record(f"line {i}", ts=BASE_NS, span=f"s{i % 3}") for i in range(50)]
    path = tmp_path / "logs.jsonl"
    path.write_bytes(b"\n".join(lines + lines[::-1] + lines[:5]) + b"\n")
    entries, _, source = _read(path)
    assert len(entries) == 50
    assert source.stats.duplicates == 55


def test_duplicates_are_in_the_report_metadata_and_notes(tmp_path: Path) -> None:
    path = tmp_path / "logs.jsonl"
    line = _record(ts=BASE_NS, span="s1")
    path.write_bytes(line + b"\n" + line + b"\n" + line + b"\n")
    report = run_analysis(FileSource(path), TimeWindow(), AnalysisSettings())
    assert report.metadata is not None
    assert report.metadata.duplicate_entries == 2
    assert report.metadata.events_analyzed == 1
    assert any("2 exact duplicate entries" in note for note in report.metadata.notes)
