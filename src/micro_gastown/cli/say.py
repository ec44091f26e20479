"""One shape for everything a command tells its user on stderr.

``micro-gastown <command>: <what>`` — with ``error:``, ``warning:`` or ``note:`` before the
what when it is one of those — and the program name once. :func:`speaking_as` sets the
command for the process (a CLI process runs one command); errors raised anywhere below
are worded by the command line, never by the layer that raised them.
"""

from __future__ import annotations

import sys
from typing import Final

PROGRAM: Final = "micro-gastown"

_speaker = PROGRAM


def speaking_as(prog: str) -> None:
    """``micro-gastown analyze`` (a parser's ``prog``): who the lines below come from."""
    global _speaker
    _speaker = prog if prog.startswith(PROGRAM) else PROGRAM


def speaker() -> str:
    return _speaker


def line(text: str) -> None:
    print(f"{_speaker}: {text}", file=sys.stderr)


def error(text: str) -> None:
    line(f"error: {text}")


def warning(text: str) -> None:
    line(f"warning: {text}")


def note(text: str) -> None:
    line(f"note: {text}")
