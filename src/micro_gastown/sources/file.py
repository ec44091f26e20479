"""A log source over logcli ``query --output=jsonl`` exports (docs/events.md), plain or gzip.

Each export line is ``{"labels": {...}, "line": "<raw Loki line>", "timestamp":
"<RFC3339Nano>"}``. Lines are streamed; the file is never loaded whole. A timestamp may
also be a string of epoch nanoseconds (the ``--json`` output of ``micro-gastown logs``).
For a file, ``--since``/``--until`` filter by event timestamp and default to the whole file.

The path may be anything that reads: a regular file, a pipe (``file:/dev/stdin``), a FIFO,
a character device. Only a regular file with real storage behind it is ever split into
parts (:meth:`FileSource.split`); anything else is read once, from its first byte, and
gzip is recognised on it without losing a byte (nothing is ever sought back).

Lines are cut out of 64 KiB blocks (as fast as iterating a buffered file, and no line is
ever read whole before its length is known). Dropped, and counted:

- a line longer than :data:`MAX_LINE_BYTES`: skipped as ``line_too_long``, never held
  whole. A pipe or device whose line goes on past :data:`ENDLESS_LINE_BYTES`
  (``/dev/zero`` has no newline at all) is refused, since it may never end;
- an exact duplicate entry: Loki drops an entry whose timestamp and line equal one it
  already holds in the same stream (same labels). An export is in time order, so such
  entries sit in one run of lines sharing a timestamp; a duplicate within a run is
  dropped and counted (``SourceStats.duplicates``).

A UTF-8 BOM before the first line (an export saved by an editor) is passed over.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import io
import os
import stat
import zlib
from collections.abc import Callable, Iterator
from itertools import chain, pairwise
from pathlib import Path
from typing import Any, Final

import orjson

from micro_gastown.errors import SourceError
from micro_gastown.events.skips import SkipCounter, SkipReason
from micro_gastown.sources.base import LogEntry, SourceStats
from micro_gastown.timewindow import (
    FRACTION_SCALE,
    NS_PER_SECOND,
    TimestampParser,
    TimeWindow,
)

MAX_LINE_BYTES: Final = 16 * 1024 * 1024
"""The longest export line read (its newline included). A longer one is skipped, counted as
``line_too_long``, and read past in small chunks: memory stays near this bound whatever the
source holds (``file:/dev/zero`` has no newline at all)."""

ENDLESS_LINE_BYTES: Final = 16 * MAX_LINE_BYTES
"""A line still going after this many bytes, in a source that is not a regular file (a pipe,
a device), is taken for one that never ends: the source is refused, not read for ever. A
regular file ends, so its long lines are only skipped, however long."""

MAX_SAME_TIMESTAMP_LINES: Final = 65_536
"""Distinct lines of one timestamp remembered for finding duplicates, and at most
MAX_LINE_BYTES characters of them in all: past that, later lines of that same nanosecond
are no longer checked (memory stays bounded on a flood of lines sharing one timestamp)."""

_GZIP_MAGIC = b"\x1f\x8b"
_UTF8_BOM = b"\xef\xbb\xbf"
_EMPTY_LABELS: dict[str, str] = {}
_MAX_NS = 253_402_300_799_999_999_999  # 9999-12-31T23:59:59.999999999Z, the RFC 3339 limit
_BUFFER_BYTES = 1 << 16
_BLOCK_BYTES = 1 << 16  # read at a time, then cut into lines
_DISCARD_CHUNK = 1 << 20  # how an over-long line is read past when looking for a cut
_TOO_LONG: Final = b"\0a line over MAX_LINE_BYTES\0"
"""Stands for a line too long among the lines read; told apart by identity (``bytes.split``
never returns this object), and not JSON, so it costs the loop nothing until it fails."""


class _OwningGzipFile(gzip.GzipFile):
    """A GzipFile that closes the file it decompresses (the stdlib one leaves it open)."""

    def __init__(self, raw: io.BufferedIOBase) -> None:
        super().__init__(fileobj=raw, mode="rb")
        self._raw = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()


class _Replayed(io.RawIOBase):
    """A file read from its first byte, the bytes already taken off it (to tell gzip from
    text) given back first: a pipe cannot seek back, so nothing is lost this way."""

    def __init__(self, head: bytes, raw: io.RawIOBase, consumed: int = 0) -> None:
        super().__init__()
        self._head = head
        self._raw = raw
        self._consumed = consumed  # bytes taken off before ``head`` and not given back

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        """Bytes delivered so far (what the stats count), seekable file or not."""
        return self._consumed

    def readinto(self, buffer: Any) -> int:
        if self._head:
            count = min(len(buffer), len(self._head))
            memoryview(buffer)[:count] = self._head[:count]
            self._head = self._head[count:]
        else:
            read = self._raw.readinto(buffer)
            if read is None:  # a descriptor someone made non-blocking: no data yet
                raise OSError(errno.EAGAIN, os.strerror(errno.EAGAIN))
            count = read
        self._consumed += count
        return count

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


class _ByteRange(io.RawIOBase):
    """A read-only view of ``[start, end)`` of a file, so a part reads only its own lines."""

    def __init__(self, raw: io.RawIOBase, start: int, end: int) -> None:
        super().__init__()
        raw.seek(start)
        self._raw = raw
        self._size = self._left = end - start

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        """Bytes of the range consumed so far (what the stats count)."""
        return self._size - self._left

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(buffer)[: self._left]
        count = self._raw.readinto(view) or 0
        self._left -= count
        return count

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def _read_head(raw: io.RawIOBase, size: int) -> bytes:
    """The first ``size`` bytes (fewer only at end of file): a pipe may deliver them in
    pieces, so one read is not enough to tell gzip from plain text."""
    head = b""
    while len(head) < size:
        chunk = raw.read(size - len(head))
        if not chunk:
            break
        head += chunk
    return head


class _EndlessLine(Exception):
    """A line of a source that may never end went on past ENDLESS_LINE_BYTES."""


def _line_batches(
    read: Callable[[int], bytes | None], endless_after: int | None = None
) -> Iterator[list[bytes]]:
    """The lines ``read`` delivers, without their newlines, one list per block read.

    A line longer than MAX_LINE_BYTES (its newline included) comes as ``_TOO_LONG``: as
    soon as it passes the bound (a line may never end), and without being held, since the
    rest of it is only read past. Blocks are no larger than the bound, so only a line
    carried over from earlier blocks can be that long. With ``endless_after``, a line
    longer than that raises _EndlessLine instead of being read past for ever.
    """
    limit = MAX_LINE_BYTES
    size = min(_BLOCK_BYTES, limit)
    carry: list[bytes] = []  # the start of a line the blocks so far did not finish
    carried = 0
    skipping = False  # inside a line already reported too long
    while block := read(size):
        lines = block.split(b"\n")
        tail = lines.pop()  # after the last newline: the start of the next line
        if lines:
            if skipping:
                del lines[0]  # the end of the long line
                skipping = False
            elif carry:
                carry.append(lines[0])
                line = b"".join(carry)
                lines[0] = line if len(line) < limit else _TOO_LONG
            carry = [tail] if tail else []
            carried = len(tail)
            if lines:
                yield lines
        elif skipping:
            carried += len(tail)
            if endless_after is not None and carried > endless_after:
                raise _EndlessLine
        else:
            carry.append(tail)
            carried += len(tail)
            if carried > limit:
                carry = []
                skipping = True
                yield [_TOO_LONG]
    if carry:
        yield [b"".join(carry)]


def _next_line(readline: Callable[[int], bytes]) -> bytes | None:
    """The next whole line of a regular file (``b""`` at its end), or None for a line over
    MAX_LINE_BYTES, read past in pieces: the lines and verdicts of ``_line_batches``."""
    raw = readline(MAX_LINE_BYTES)
    if len(raw) < MAX_LINE_BYTES or raw[-1] == 0x0A:
        return raw
    chunk = min(_DISCARD_CHUNK, MAX_LINE_BYTES)
    piece = readline(chunk)
    if not piece:
        return raw  # the file ended right there: a last line exactly the bound long
    while piece and piece[-1] != 0x0A:
        piece = readline(chunk)
    return None


def _line_timestamp(raw: bytes, parse_ts: TimestampParser) -> int | None:
    """The timestamp of an export line as :meth:`FileSource.entries` reads it, or None for a
    line it skips (not a record, a bad timestamp)."""
    try:
        record = orjson.loads(raw)
        line = record["line"]
        stamp = record["timestamp"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    if type(line) is not str or type(stamp) is not str:
        return None
    try:
        ts = int(stamp) if stamp.isascii() and stamp.isdigit() else parse_ts(stamp)
    except ValueError:
        return None
    return ts if 0 <= ts <= _MAX_NS else None


def _cut_near(handle: io.BufferedReader, position: int, parse_ts: TimestampParser) -> int:
    """A line start at or after ``position`` where the timestamp changes: the last record
    before it and the first after it differ in time. Duplicates are found within runs of
    one timestamp, so a run never straddles two parts. End of file if there is none."""
    handle.seek(position)
    readline = handle.readline
    while True:  # finish the line the position fell into
        chunk = readline(_DISCARD_CHUNK)
        if not chunk or chunk[-1] == 0x0A:
            break
    previous: int | None = None
    while True:
        start = handle.tell()
        raw = _next_line(readline)
        if raw == b"":
            return start
        ts = _line_timestamp(raw, parse_ts) if raw is not None else None
        if ts is None:
            continue  # skipped lines are invisible to runs
        if previous is not None and ts != previous:
            return start
        previous = ts


def _splittable(info: os.stat_result) -> bool:
    """A regular file whose size is real: pipes, FIFOs, devices and sockets can only be
    read once, and /proc or /sys files (no blocks behind them) make their size up."""
    return stat.S_ISREG(info.st_mode) and info.st_blocks > 0


class FileSource:
    """Replays a logcli JSONL export (``.gz`` detected by content, not just by name).

    ``byte_range`` restricts it to the lines that start inside ``[start, end)``; such
    parts come from :meth:`split`, whose boundaries fall on line starts.
    """

    def __init__(self, path: Path, byte_range: tuple[int, int] | None = None) -> None:
        self.path = path
        self.byte_range = byte_range
        self.stats = SourceStats()
        self._reading: int | None = None  # the file descriptor being read, while reading
        self._opened_fd: int | None = None  # the descriptor _open opened last

    def describe(self) -> str:
        return f"file:{self.path}"

    def position(self) -> tuple[int, int | None] | None:
        """While reading: the file's bytes consumed so far (compressed bytes for gzip) and
        the size being read (None for a pipe or device), for a progress display."""
        fd = self._reading
        if fd is None:
            return None
        try:
            here = os.lseek(fd, 0, os.SEEK_CUR)
            info = os.fstat(fd)
        except OSError:  # a pipe cannot tell its position
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        start, end = self.byte_range or (0, info.st_size)
        return max(here - start, 0), end - start

    def close(self) -> None:
        """Nothing stays open between reads."""

    def split(self, parts: int, min_part_bytes: int) -> list[FileSource]:
        """Up to ``parts`` parts of about ``min_part_bytes`` or more, cut at line starts
        where the timestamp changes (so duplicates are found as in one read).

        Only a plain regular file splits: gzip cannot be entered mid-stream, and a pipe,
        FIFO or device would lose what a look at it consumed. Otherwise, or when it is too
        small to be worth it, the answer is ``[]`` and the file is read whole, once.
        """
        if self.byte_range is not None or parts < 2:
            return []
        try:
            if not _splittable(os.stat(self.path)):  # look before opening: opening a
                return []  # FIFO would wait for a writer, reading it would eat its data
            with self.path.open("rb") as handle:
                info = os.fstat(handle.fileno())  # what was opened, should the path change
                if not _splittable(info) or not handle.seekable():
                    return []
                if handle.read(2) == _GZIP_MAGIC:
                    return []
                size = info.st_size
                count = min(parts, size // max(min_part_bytes, 1))
                if count < 2:
                    return []
                parse_ts = TimestampParser()
                cuts = [0]
                for i in range(1, count):
                    cut = _cut_near(handle, max(size * i // count, cuts[-1]), parse_ts)
                    if cut >= size:
                        break
                    cuts.append(cut)
        except OSError:
            return []  # reading it whole will report the problem properly
        cuts.append(size)
        return [FileSource(self.path, (start, end)) for start, end in pairwise(cuts) if end > start]

    def check(self) -> None:
        """The SourceError a read would raise, without reading: a regular file is opened
        and closed; a pipe or FIFO (file:/dev/stdin) is only looked at, since opening it
        would consume what it holds."""
        try:
            mode = self.path.stat().st_mode
        except FileNotFoundError:
            raise SourceError(f"{self.path}: no such log export file") from None
        except OSError as exc:
            raise SourceError(f"{self.path}: cannot open ({exc.strerror or exc})") from None
        if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
            self._open()[0].close()

    def _open(self) -> tuple[io.RawIOBase | _OwningGzipFile, bool]:
        """The stream of export bytes (gunzipped, past a UTF-8 BOM), and whether it comes
        from a regular file (a pipe or a device may never end)."""
        try:
            raw = self.path.open("rb", buffering=0)
            self._opened_fd = raw.fileno()
        except FileNotFoundError:
            raise SourceError(f"{self.path}: no such log export file") from None
        except IsADirectoryError:
            raise SourceError(f"{self.path}: is a directory, expected a JSONL export") from None
        except OSError as exc:
            raise SourceError(f"{self.path}: cannot open ({exc.strerror or exc})") from None
        try:
            regular = stat.S_ISREG(os.fstat(raw.fileno()).st_mode)
            source: io.RawIOBase = raw
            if self.byte_range is not None:
                source = _ByteRange(raw, *self.byte_range)
                if self.byte_range[0] > 0:
                    return source, regular  # starts at a line: no BOM, no gzip header
            head = _read_head(source, len(_GZIP_MAGIC))
            if head == _UTF8_BOM[:2]:
                head += _read_head(source, 1)
        except OSError as exc:
            raw.close()
            raise SourceError(f"{self.path}: cannot read ({exc.strerror or exc})") from None
        if head == _UTF8_BOM:  # an export saved by an editor: the text starts after it
            return _Replayed(b"", source, consumed=len(head)), regular
        stream = _Replayed(head, source)
        if head == _GZIP_MAGIC:
            return _OwningGzipFile(io.BufferedReader(stream, _BUFFER_BYTES)), regular
        return stream, regular

    def entries(self, window: TimeWindow, skips: SkipCounter) -> Iterator[LogEntry]:
        # This loop runs once per line: names are local, checks are ordered for the common
        # case, and the timestamp of a line in the same UTC second as the previous one costs
        # one startswith and one int() of its fraction (logcli trims trailing zeros).
        stats = self.stats
        parse_ts = TimestampParser()
        lowest = max(window.start_ns or 0, 0)
        highest = min(window.end_ns if window.end_ns is not None else _MAX_NS + 1, _MAX_NS + 1)
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        scale = FRACTION_SCALE
        kept_chars = MAX_LINE_BYTES  # of the lines remembered for duplicates, in all
        lines = 0
        duplicates = 0
        prefix = "\0"  # "YYYY-MM-DDTHH:MM:SS." of the second seen last, UTC
        second_ns = 0
        # The run of entries sharing the timestamp of the last one read: its first entry,
        # then (from a second one on) each line with the labels it came with. Most runs hold
        # one entry, and the lines of a longer one rarely repeat: a line is hashed once and
        # labels are compared (as dicts: key order does not matter) only for a repeated line.
        run_ts = -1
        run_line = ""
        run_labels = _EMPTY_LABELS
        run_seen: dict[str, list[dict[str, Any]]] | None = None
        run_chars = 0
        handle, regular = self._open()
        endless_after = None if regular else ENDLESS_LINE_BYTES
        self._reading = self._opened_fd
        try:
            for raw in chain.from_iterable(_line_batches(handle.read, endless_after)):
                lines += 1
                try:
                    record = loads(raw)
                    line = record["line"]
                    stamp = record["timestamp"]
                except (decode_error, KeyError, TypeError):
                    if raw is _TOO_LONG:
                        skips.add(SkipReason.LINE_TOO_LONG)
                    elif raw.strip():
                        skips.add(SkipReason.BAD_EXPORT_LINE)
                    continue
                if type(line) is not str or type(stamp) is not str:
                    skips.add(SkipReason.BAD_EXPORT_LINE)
                    continue
                fraction = stamp[20:-1]
                if (
                    stamp.startswith(prefix)
                    and stamp[-1] == "Z"
                    and stamp.isascii()  # str.isdigit() also says yes to "²", "٣"
                    and fraction.isdigit()
                    and len(fraction) < 10
                ):
                    ts = second_ns + int(fraction) * scale[len(fraction)]
                else:
                    try:
                        ts = int(stamp) if stamp.isascii() and stamp.isdigit() else parse_ts(stamp)
                    except ValueError:
                        ts = -1
                    if stamp[-1:] == "Z" and ts >= 0:
                        prefix = stamp[:19] + "."
                        second_ns = ts - ts % NS_PER_SECOND
                if ts < lowest or ts >= highest:
                    if ts < 0 or ts > _MAX_NS:
                        skips.add(SkipReason.BAD_TIMESTAMP)
                    else:
                        stats.outside_window += 1
                        run_ts = -1  # a line of another time ends the run
                    continue
                labels = record.get("labels")
                if type(labels) is not dict:
                    labels = _EMPTY_LABELS
                if ts == run_ts:
                    if run_seen is None:
                        run_seen = {run_line: [run_labels]}
                        run_chars = len(run_line)
                    same = run_seen.get(line)
                    if same is None:
                        if len(run_seen) < MAX_SAME_TIMESTAMP_LINES and run_chars < kept_chars:
                            run_seen[line] = [labels]
                            run_chars += len(line)
                    elif labels in same:
                        duplicates += 1
                        continue
                    else:
                        same.append(labels)
                else:
                    run_ts = ts
                    run_line = line
                    run_labels = labels
                    run_seen = None
                yield ts, line, labels
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise SourceError(
                f"{self.path}: corrupt or truncated gzip data after line {lines} ({exc})"
            ) from None
        except _EndlessLine:
            raise SourceError(
                f"{self.path}: no newline in {ENDLESS_LINE_BYTES >> 20} MiB after line "
                f"{lines - 1}: not a JSONL export (a device that never ends?)"
            ) from None
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise SourceError(f"{self.path}: read failed after line {lines}: {reason}") from None
        finally:
            # Published however the loop ends; bytes are the (decompressed) bytes consumed.
            stats.lines_read += lines
            stats.duplicates += duplicates
            with contextlib.suppress(OSError, ValueError):
                stats.bytes_read += handle.tell()
            self._reading = None
            handle.close()
