"""Stable pattern ids: a fingerprint of the pattern type and its key, never of counts or time.

The same problem gets the same id in every run, so later stages (PR filing, rollback) can
recognise it; the readable prefix makes ids meaningful in branch names and PR titles.
"""

from __future__ import annotations

import hashlib
import re

import orjson

from micro_gastown.report.model import PatternType

_NON_SLUG = re.compile(r"[^a-z0-9]+")


def fingerprint(kind: PatternType, key: dict[str, str | None]) -> str:
    canonical = orjson.dumps({"type": kind.value, "key": key}, option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha256(canonical).hexdigest()[:10]
    readable = "-".join(
        _NON_SLUG.sub("-", (value or "none").lower()).strip("-") for value in key.values()
    )
    readable = readable[:40].strip("-")
    prefix = kind.value.replace("_", "-")
    return f"{prefix}-{readable}-{digest}" if readable else f"{prefix}-{digest}"
