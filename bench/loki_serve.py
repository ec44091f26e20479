"""Serve a logcli export from the test suite's Loki-compatible server, for the Loki benches.

Usage: ``loki_serve.py EXPORT``. Loads the export (as Loki would store it, stream by
stream), prints ``URL FIRST_NS LAST_NS`` on one line once it serves, and stops when its
standard input closes. It runs in its own process so that the server's work does not
share a CPU-bound interpreter with the client being measured; :func:`serving` starts it so.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from micro_gastown.timewindow import format_ns

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from factories import push_export  # noqa: E402 - the tests directory is added above
from lokisim import LokiSim  # noqa: E402

MS = 1_000_000


@contextmanager
def serving(export: Path) -> Iterator[tuple[str, list[str]]]:
    """``export`` served by this script in a process of its own: its URL, and the
    ``--since``/``--until`` flags of a window over all of it."""
    server = subprocess.Popen(
        [sys.executable, __file__, str(export)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    try:
        assert server.stdout is not None
        url, first, last = server.stdout.readline().split()
        yield url, whole_window(int(first), int(last))
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=60)


def whole_window(first: int, last: int) -> list[str]:
    """The first event's millisecond to the millisecond after the last: a LogQL range is
    whole milliseconds, and push-down refuses a finer window."""
    return ["--since", format_ns(first // MS * MS), "--until", format_ns((last // MS + 1) * MS)]


def main() -> int:
    export = Path(sys.argv[1])
    with LokiSim() as loki:
        first, last = push_export(loki, export)
        print(loki.url, first, last, flush=True)
        sys.stdin.read()  # until the parent closes the pipe
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
