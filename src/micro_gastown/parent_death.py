"""A child process that dies with its parent, however the parent dies.

A parent killed by SIGKILL (or the OOM killer) runs no cleanup, so nothing it could do
would stop its children: they live on under PID 1, a scan worker blocked writing its result
to a pipe nobody reads, holding the caller's stdout and stderr open. Linux lets the child
ask the kernel instead (``prctl(PR_SET_PDEATHSIG)``), which signals it when its parent
goes. Elsewhere this is a no-op, and the parent's own signal handling must do.
"""

from __future__ import annotations

import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int, signum: int) -> None:
    """Have ``signum`` sent to this process when its parent dies.

    Call it first thing in the child, with ``parent`` the parent's pid taken before the
    fork: a parent that died before the request took effect gets the signal raised at once
    (with the handler this process has for it then).
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signum)
    except (OSError, AttributeError):  # no libc prctl: not Linux
        return
    if os.getppid() != parent:
        signal.raise_signal(signum)
