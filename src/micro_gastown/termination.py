"""SIGTERM and SIGHUP as an exception, so a stopped process unwinds instead of vanishing.

The engine saves an interrupted run on the way out, and a scan's worker processes are
reaped, because ``finally`` blocks run; the exit status is the one the signal would give.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final


class Terminated(SystemExit):
    """SIGTERM or SIGHUP as an exception: the process unwinds (cleanup runs, the run's
    state is saved) and exits with 128 + the signal's number, as the signal would."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


def exit_on_term(signum: int, frame: object) -> None:
    """A SIGTERM/SIGHUP handler that unwinds the process like an exception."""
    raise Terminated(signum)


STOP_SIGNALS: Final = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
"""The signals that stop a run: held back (``pthread_sigmask``) around a moment that must
not be cut short, such as starting a child, then delivered."""

UNWINDING_SIGNALS: Final = (signal.SIGTERM, signal.SIGHUP)
"""The signals :func:`unwinding` turns into :class:`Terminated` (Ctrl-C already unwinds)."""


@contextmanager
def unwinding() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP unwind like Ctrl-C (``finally`` blocks run: a
    worktree is removed, a build stopped, a cursor shown, a run saved); the previous
    handlers come back after it."""
    previous = {signum: signal.signal(signum, exit_on_term) for signum in UNWINDING_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
