"""SIGTERM and SIGHUP as an exception, so a stopped process unwinds instead of vanishing.

The engine saves an interrupted run on the way out, and a scan's worker processes are
reaped, because ``finally`` blocks run; the exit status is the one the signal would give.
"""

from __future__ import annotations


class Terminated(SystemExit):
    """SIGTERM or SIGHUP as an exception: the process unwinds (cleanup runs, the run's
    state is saved) and exits with 128 + the signal's number, as the signal would."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


def exit_on_term(signum: int, frame: object) -> None:
    """A SIGTERM/SIGHUP handler that unwinds the process like an exception."""
    raise Terminated(signum)
