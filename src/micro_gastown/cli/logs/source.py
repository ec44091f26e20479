"""Where ``logs`` views and ``export`` read from (flags: :mod:`micro_gastown.cli.source_flags`).

A source is opened per read and closed when its entries are exhausted or abandoned.
"""

from __future__ import annotations

import os
from collections.abc import Generator

from micro_gastown.cli import say
from micro_gastown.events import SkipCounter
from micro_gastown.logql import LogQL
from micro_gastown.sources import LogSource, open_source
from micro_gastown.timewindow import TimeWindow

Entry = tuple[int, str, dict[str, str]]


def read_entries(
    spec: str, selector: str, window: TimeWindow, skips: SkipCounter
) -> Generator[Entry, None, None]:
    """``(ts_ns, line, labels)`` of the window, oldest first; close it to release the source."""
    source: LogSource = open_source(spec, selector=selector, environ=os.environ)
    try:
        yield from source.entries(window, skips)
    finally:
        source.close()


def resolve_event_kinds(spec: str, logql: LogQL, window: TimeWindow) -> LogQL:
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
            say.note(fallback_note(missing))
        return logql
    finally:
        source.close()
