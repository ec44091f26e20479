"""Loki 3's ingest-time labels: ``service_name`` and ``detected_level``.

Loki 3 adds these so Explore can group by service and level; a client that builds
selectors or groups results must tolerate them. Level detection follows the distributor:
a ``level``-like JSON or logfmt field first, else a keyword scan of the line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from .config import Loki3Labels

UNKNOWN_SERVICE = "unknown_service"
_LEVEL_FIELDS = ("level", "LEVEL", "Level", "severity", "SEVERITY", "Severity", "lvl", "LVL")
_LOGFMT_LEVEL = re.compile(r"(?:^|\s)(?:level|lvl|severity)=\"?(\w+)")
_NORMAL = {
    "trace": "trace",
    "debug": "debug",
    "dbg": "debug",
    "info": "info",
    "inf": "info",
    "warn": "warn",
    "warning": "warn",
    "wrn": "warn",
    "error": "error",
    "err": "error",
    "critical": "critical",
    "fatal": "fatal",
}


def service_name(labels: Mapping[str, str], settings: Loki3Labels) -> str:
    """The ``service_name`` Loki 3 would attach to a stream with these labels."""
    if labels.get("service_name"):
        return labels["service_name"]
    for name in settings.service_name_from:
        if labels.get(name):
            return labels[name]
    return UNKNOWN_SERVICE


def detect_level(line: str) -> str:
    """``detected_level`` for one line: an explicit field, else a keyword, else unknown."""
    stripped = line.lstrip()
    if stripped.startswith("{"):
        try:
            obj = json.loads(stripped)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            for name in _LEVEL_FIELDS:
                value = obj.get(name)
                if isinstance(value, str) and value.lower() in _NORMAL:
                    return _NORMAL[value.lower()]
    match = _LOGFMT_LEVEL.search(line)
    if match and match.group(1).lower() in _NORMAL:
        return _NORMAL[match.group(1).lower()]
    lowered = line.lower()
    for keyword, level in (("error", "error"), ("warn", "warn"), ("debug", "debug")):
        if keyword in lowered:
            return level
    if "info" in lowered:
        return "info"
    return "unknown"


def annotate(
    labels: Mapping[str, str], entries: list[tuple[int, str]], settings: Loki3Labels
) -> list[tuple[dict[str, str], list[tuple[int, str]]]]:
    """Split one pushed stream into the streams Loki 3 stores (one per detected level)."""
    base = dict(labels)
    base["service_name"] = service_name(labels, settings)
    if not settings.detected_level or "detected_level" in labels:
        return [(base, entries)]
    by_level: dict[str, list[tuple[int, str]]] = {}
    for ts, line in entries:
        by_level.setdefault(detect_level(line), []).append((ts, line))
    return [({**base, "detected_level": level}, group) for level, group in by_level.items()]
