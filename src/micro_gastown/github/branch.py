"""Branch names: ``sleeptime/<YYYY-MM-DD>-<type>-<short id>`` (SPEC §3, PRResult's pattern).

The short id is a digest of the fingerprint set, so the same findings always get the same
suffix: a run that finds a branch ending in it (pushed by a run that died before opening
its PR, on another day) resumes that branch instead of starting a second one. The date is
the day the change was drafted, not the day it is filed, so a resumed run names the branch
the same way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from typing import Final

from micro_gastown.github.model import BRANCH_PREFIX
from micro_gastown.report.changes import BRANCH_NAME as _BRANCH_NAME_PATTERN

__all__ = ["SHORT_ID_LENGTH", "branch_name", "short_id", "with_short_id"]

SHORT_ID_LENGTH: Final = 10
_KIND_LENGTH: Final = 30
_SLUG = re.compile(r"[^a-z0-9]+")
BRANCH_NAME: Final = re.compile(_BRANCH_NAME_PATTERN)


def short_id(fingerprints: Iterable[str]) -> str:
    """The same for the same set of pattern ids, whatever their order."""
    joined = "\n".join(sorted(set(fingerprints)))
    return hashlib.sha256(joined.encode()).hexdigest()[:SHORT_ID_LENGTH]


def branch_name(fingerprints: Iterable[str], pattern_type: str, day: dt.date) -> str:
    """``sleeptime/2026-12-03-slow-llm-1a2b3c4d5e``."""
    kind = _SLUG.sub("-", pattern_type.lower()).strip("-")[:_KIND_LENGTH].rstrip("-") or "change"
    name = f"{BRANCH_PREFIX}{day.isoformat()}-{kind}-{short_id(fingerprints)}"
    assert BRANCH_NAME.match(name), name
    return name


def with_short_id(branches: Iterable[str], fingerprints: Iterable[str]) -> list[str]:
    """The branches of ours named for this fingerprint set (any day), newest first."""
    suffix = f"-{short_id(fingerprints)}"
    return sorted(
        (b for b in branches if BRANCH_NAME.match(b) and b.endswith(suffix)), reverse=True
    )
