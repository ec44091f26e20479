"""Serve a logcli export from the test suite's Loki-compatible server, for bench/loki.py.

Usage: ``loki_serve.py EXPORT``. Loads the export (as Loki would store it, stream by
stream), prints ``URL FIRST_NS LAST_NS`` on one line once it serves, and stops when its
standard input closes. It runs in its own process so that the server's work does not
share a CPU-bound interpreter with the client being measured.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from factories import push_export  # noqa: E402 - the tests directory is added above
from lokisim import LokiSim  # noqa: E402


def main() -> int:
    export = Path(sys.argv[1])
    with LokiSim() as loki:
        first, last = push_export(loki, export)
        print(loki.url, first, last, flush=True)
        sys.stdin.read()  # until the parent closes the pipe
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
