"""Where a value sits inside a document, as one line of a message: ``steps[2].needs``.

Keys come from files users and tools write (TOML, JSON Schema, run state, replay files),
and some are hostile: a key is shown as it is only when it is a plain name; any other is
quoted as a JSON string (which is also how TOML quotes a key), cut to its first
:data:`KEY_SHOWN` characters. So a dotted key never reads as two keys, and a newline, an
ANSI escape, a right-to-left override or a megabyte in a key cannot break or hide the line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Final

_PLAIN_KEY: Final = re.compile(r"[A-Za-z0-9_$-]{1,100}")
"""A TOML bare key, or a JSON Schema keyword such as ``$defs``, of a sensible length."""
KEY_SHOWN: Final = 60
"""The most characters of a key that is not plain shown in a message."""


def key_text(part: str | int) -> str:
    """One step of a location: ``[3]`` for a list index, the key when it is plain, else
    the key quoted (and cut)."""
    if isinstance(part, int):
        return f"[{part}]"
    if _PLAIN_KEY.fullmatch(part):
        return part
    shown = part if len(part) <= KEY_SHOWN else part[:KEY_SHOWN] + "..."
    return json.dumps(shown)


def where_text(location: Iterable[str | int]) -> str:
    """``('steps', 2, 'needs')`` → ``steps[2].needs``; ``('output', 'a.b')`` →
    ``output."a.b"``."""
    text = ""
    for part in location:
        shown = key_text(part)
        text += shown if not text or shown.startswith("[") else f".{shown}"
    return text
