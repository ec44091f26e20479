"""Reading ExoMonad logs straight from Grafana Loki: config, HTTP client, log source."""

from __future__ import annotations

from micro_gastown.sources.loki.client import LokiClient
from micro_gastown.sources.loki.config import LokiConfig, RetryPolicy
from micro_gastown.sources.loki.models import LogPattern, QueryResult, ResultType, Stream
from micro_gastown.sources.loki.source import LokiSource

__all__ = [
    "LogPattern",
    "LokiClient",
    "LokiConfig",
    "LokiSource",
    "QueryResult",
    "ResultType",
    "RetryPolicy",
    "Stream",
]
