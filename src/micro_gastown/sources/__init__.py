"""Where log entries come from: a logcli export file, or Grafana Loki itself."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from micro_gastown.errors import UsageError
from micro_gastown.logql import DEFAULT_SELECTOR
from micro_gastown.sources.base import LogEntry, LogSource, SourceStats
from micro_gastown.sources.file import FileSource

__all__ = [
    "FileSource",
    "LogEntry",
    "LogSource",
    "SourceStats",
    "is_file_source",
    "open_source",
]


def is_file_source(spec: str) -> bool:
    """``file:PATH``: an export, whose default window is the whole file (a window back from
    now, right for Loki, would miss an export made yesterday entirely)."""
    scheme, sep, rest = spec.partition(":")
    return bool(sep) and scheme == "file" and bool(rest)


def open_source(
    spec: str, *, selector: str = DEFAULT_SELECTOR, environ: Mapping[str, str] | None = None
) -> LogSource:
    """Build a source from a ``--source`` value.

    ``file:PATH`` is a logcli ``--output=jsonl`` export; ``loki`` reads Loki configured by
    the environment (``GRAFANA_LOKI_URL``/``LOKI_ADDR`` and the credential variables), and
    ``loki:URL`` overrides the address. The environment is read only when it is passed in.
    """
    if is_file_source(spec):
        return FileSource(Path(spec.partition(":")[2]))
    scheme, sep, rest = spec.partition(":")
    if scheme == "loki":
        from micro_gastown.sources.loki import LokiClient, LokiConfig, LokiSource

        overrides = {"url": rest} if sep and rest else {}
        config = LokiConfig.from_env(environ or {}, **overrides)
        return LokiSource(LokiClient(config), selector)
    raise UsageError(
        "expected file:PATH (a logcli JSONL export, .gz allowed), "
        "loki (address from GRAFANA_LOKI_URL or LOKI_ADDR) or loki:URL",
        setting="source",
        value=spec,
    )
