"""What reading alone costs: the export turned into typed events, and nothing more.

The analyzer reads a logcli export with :class:`~micro_gastown.sources.file.FileSource`
(lines cut out of blocks, the outer JSON, timestamps, duplicates dropped) and turns each
line into a typed event with :func:`~micro_gastown.events.parse.parse_line`; attribution,
the detectors and the report come after. This does the reading and nothing after it, in
one process, so ``bench/run.py`` can show how much of analyze's ratio to the bare parse is
already spent before a single event is attributed.

Usage: ``.venv/bin/python bench/read_floor.py EXPORT.jsonl[.gz]``
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson

from micro_gastown.events.parse import parse_line
from micro_gastown.events.skips import SkipCounter
from micro_gastown.sources.file import FileSource
from micro_gastown.timewindow import TimeWindow


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: read_floor.py EXPORT.jsonl[.gz]", file=sys.stderr)
        return 2
    source = FileSource(Path(argv[1]))
    skips = SkipCounter()
    events = 0
    for ts_ns, line, labels in source.entries(TimeWindow(), skips):
        if parse_line(ts_ns, line, labels, skips) is not None:
            events += 1
    figures = {"lines": source.stats.lines_read, "events": events, "skipped": skips.total}
    print(orjson.dumps(figures).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
