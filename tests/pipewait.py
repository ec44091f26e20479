"""Wait for a child process to say something on a pipe, instead of polling files with sleeps.

Why: a test that needs a child to reach a point (a step running, a cleanup done) can have
the child say so on its stdout or stderr and block on that pipe with ``select``. It wakes
the moment the line arrives, and fails at the bound, or at once when the pipe ends first
(the child died), with what the child did say.
"""

from __future__ import annotations

import os
import select
import time

import pytest


def read_until(fd: int, needle: bytes, timeout: float) -> bytes:
    """Read the pipe ``fd`` until ``needle`` has arrived; returns everything read.

    Reads the descriptor itself, so nothing is left in a Python file object's buffer: a
    later ``communicate()`` on the same pipe gets exactly the rest.
    """
    deadline = time.monotonic() + timeout
    seen = bytearray()
    while needle not in seen:
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            pytest.fail(f"no {needle!r} within {timeout:g} s; the child said {bytes(seen)!r}")
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            pytest.fail(f"the pipe ended before {needle!r}; the child said {bytes(seen)!r}")
        seen += chunk
    return bytes(seen)
