"""Progress on a terminal: what is running, lines and bytes read, requests, the rate.

Shown on stderr, and only when stderr is a terminal (so CI logs, pipes and redirects stay
quiet); ``MICRO_GASTOWN_PROGRESS=0`` turns it off there too. The display is rich's,
transient: it disappears when the command ends, leaving only what the command prints.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from micro_gastown.progress import ProgressSink, Reading
from micro_gastown.termination import unwinding

_OFF = frozenset({"0", "off", "no", "false"})


def wanted(stream: TextIO) -> bool:
    if os.environ.get("MICRO_GASTOWN_PROGRESS", "").strip().lower() in _OFF:
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (ValueError, OSError):  # closed or detached
        return False


def figures(reading: Reading, elapsed_s: float) -> str:
    """``1,234,567 lines · 120.0 of 400.0 MB (30%) · 12 requests · 250,000 lines/s``."""
    parts = [f"{reading.entries:,} lines"]
    if reading.bytes_read is not None:
        read_mb = reading.bytes_read / 1e6
        if reading.bytes_total:
            share = min(reading.bytes_read / reading.bytes_total, 1.0)
            parts.append(f"{read_mb:,.1f} of {reading.bytes_total / 1e6:,.1f} MB ({share:.0%})")
        else:
            parts.append(f"{read_mb:,.1f} MB")
    if reading.requests:
        parts.append(f"{reading.requests:,} requests")
    if elapsed_s > 0 and reading.entries:
        parts.append(f"{reading.entries / elapsed_s:,.0f} lines/s")
    return " · ".join(parts)


@contextmanager
def terminal_progress(stream: TextIO | None = None) -> Iterator[ProgressSink | None]:
    """A sink that shows readings on ``stream`` (stderr), or None when it is no terminal."""
    stream = sys.stderr if stream is None else stream
    if not wanted(stream):
        yield None
        return
    # rich is imported only for a terminal: a run in CI or a pipe skips its start-up cost.
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(file=stream)
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.fields[figures]}"),
        TimeElapsedColumn(),
    )
    # The display hides the terminal's cursor: SIGTERM or SIGHUP must unwind through it
    # (as Ctrl-C does) so that the cursor comes back, not leave the user's shell without one.
    with unwinding(), Progress(*columns, console=console, transient=True) as display:
        task = display.add_task("starting", total=None, figures="")
        started = time.monotonic()

        def show(reading: Reading) -> None:
            elapsed = time.monotonic() - started
            display.update(task, description=reading.step, figures=figures(reading, elapsed))

        yield show
