"""Where log entries come from: a logcli export file now, Grafana Loki next."""

from __future__ import annotations

from pathlib import Path

from micro_gastown.errors import UsageError
from micro_gastown.sources.base import LogEntry, LogSource, SourceStats
from micro_gastown.sources.file import FileSource

__all__ = ["FileSource", "LogEntry", "LogSource", "SourceStats", "open_source"]


def open_source(spec: str) -> LogSource:
    """Build a source from a ``--source`` value such as ``file:logs.jsonl.gz``."""
    scheme, sep, rest = spec.partition(":")
    if sep and scheme == "file" and rest:
        return FileSource(Path(rest))
    if scheme == "loki":
        raise UsageError(
            "--source loki: the Loki client is not available yet; "
            "export with logcli and use --source file:PATH"
        )
    raise UsageError(
        f"--source {spec!r}: expected file:PATH (a logcli --output=jsonl export, .gz allowed)"
    )
