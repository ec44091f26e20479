"""A log source over logcli ``query --output=jsonl`` exports (SPEC §5), plain or gzip.

Each export line is ``{"labels": {...}, "line": "<raw Loki line>", "timestamp":
"<RFC3339Nano>"}``. Lines are streamed; the file is never loaded whole. A timestamp may
also be a string of epoch nanoseconds (the ``--json`` output of ``micro-gastown logs``).
For a file, ``--since``/``--until`` filter by event timestamp and default to the whole file.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import stat
import zlib
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson

from micro_gastown.errors import SourceError
from micro_gastown.events.parse import SkipCounter, SkipReason
from micro_gastown.sources.base import LogEntry, SourceStats
from micro_gastown.timewindow import (
    FRACTION_SCALE,
    NS_PER_SECOND,
    TimestampParser,
    TimeWindow,
)

_GZIP_MAGIC = b"\x1f\x8b"
_EMPTY_LABELS: dict[str, str] = {}
_MAX_NS = 253_402_300_799_999_999_999  # 9999-12-31T23:59:59.999999999Z, the RFC 3339 limit


class _OwningGzipFile(gzip.GzipFile):
    """A GzipFile that closes the file it decompresses (the stdlib one leaves it open)."""

    def __init__(self, raw: io.BufferedReader) -> None:
        super().__init__(fileobj=raw, mode="rb")
        self._raw = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()


class _ByteRange(io.RawIOBase):
    """A read-only view of ``[start, end)`` of a file, so a part reads only its own lines."""

    def __init__(self, raw: io.BufferedReader, start: int, end: int) -> None:
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
        count = self._raw.readinto(view)
        self._left -= count
        return count

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


class FileSource:
    """Replays a logcli JSONL export (``.gz`` detected by content, not just by name).

    ``byte_range`` restricts it to the lines that start inside ``[start, end)``; such
    parts come from :meth:`split`, whose boundaries fall on line starts.
    """

    def __init__(self, path: Path, byte_range: tuple[int, int] | None = None) -> None:
        self.path = path
        self.byte_range = byte_range
        self.stats = SourceStats()

    def describe(self) -> str:
        return f"file:{self.path}"

    def close(self) -> None:
        """Nothing stays open between reads."""

    def split(self, parts: int, min_part_bytes: int) -> list[FileSource]:
        """Up to ``parts`` parts of at least ``min_part_bytes``, cut at line starts.

        Only a plain file splits (gzip cannot be entered mid-stream): otherwise, or when it
        is too small to be worth it, the answer is ``[]``.
        """
        if self.byte_range is not None or parts < 2:
            return []
        try:
            size = self.path.stat().st_size
            with self.path.open("rb") as handle:
                if handle.read(2) == _GZIP_MAGIC:
                    return []
                count = min(parts, size // max(min_part_bytes, 1))
                if count < 2:
                    return []
                cuts = [0]
                for i in range(1, count):
                    handle.seek(max(size * i // count, cuts[-1]))
                    handle.readline()  # finish the line the cut fell into
                    cuts.append(handle.tell())
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
            raise SourceError(f"{self.path}: cannot open ({exc.strerror})") from None
        if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
            self._open().close()

    def _open(self) -> io.BufferedIOBase:
        try:
            raw = self.path.open("rb")
        except FileNotFoundError:
            raise SourceError(f"{self.path}: no such log export file") from None
        except IsADirectoryError:
            raise SourceError(f"{self.path}: is a directory, expected a JSONL export") from None
        except OSError as exc:
            raise SourceError(f"{self.path}: cannot open ({exc.strerror})") from None
        if self.byte_range is not None:
            return io.BufferedReader(_ByteRange(raw, *self.byte_range), buffer_size=1 << 16)
        # Peek rather than read, so pipes and FIFOs (file:/dev/stdin) lose no bytes.
        if raw.peek(2)[:2] == _GZIP_MAGIC:
            return _OwningGzipFile(raw)
        return raw

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
        lines = 0
        prefix = "\0"  # "YYYY-MM-DDTHH:MM:SS." of the second seen last, UTC
        second_ns = 0
        handle = self._open()
        try:
            for raw in handle:
                lines += 1
                try:
                    record = loads(raw)
                    line = record["line"]
                    stamp = record["timestamp"]
                except (decode_error, KeyError, TypeError):
                    if raw.strip():
                        skips.add(SkipReason.BAD_EXPORT_LINE)
                    continue
                if type(line) is not str or type(stamp) is not str:
                    skips.add(SkipReason.BAD_EXPORT_LINE)
                    continue
                fraction = stamp[20:-1]
                if (
                    stamp.startswith(prefix)
                    and stamp[-1] == "Z"
                    and fraction.isdigit()
                    and len(fraction) < 10
                ):
                    ts = second_ns + int(fraction) * scale[len(fraction)]
                else:
                    try:
                        ts = int(stamp) if stamp.isdigit() else parse_ts(stamp)
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
                    continue
                labels = record.get("labels")
                if type(labels) is not dict:
                    labels = _EMPTY_LABELS
                yield ts, line, labels
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise SourceError(
                f"{self.path}: corrupt or truncated gzip data after line {lines} ({exc})"
            ) from None
        except OSError as exc:
            raise SourceError(f"{self.path}: read failed after line {lines}: {exc}") from None
        finally:
            # Published however the loop ends; bytes are the (decompressed) bytes consumed.
            stats.lines_read += lines
            with contextlib.suppress(OSError, ValueError):
                stats.bytes_read += handle.tell()
            handle.close()
