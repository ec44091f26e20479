"""Server settings a test can change at any time: limits, auth, Loki 3 labels and patterns."""

from __future__ import annotations

from dataclasses import dataclass, field

from .timeparse import NS_PER_SECOND

HOUR_NS = 3600 * NS_PER_SECOND

# Loki 3's default ``discover_service_name`` list (limits_config), in priority order.
DEFAULT_SERVICE_NAME_LABELS = (
    "service",
    "app",
    "application",
    "name",
    "app_kubernetes_io_name",
    "container",
    "container_name",
    "component",
    "workload",
    "job",
)


@dataclass
class Limits:
    """Loki's per-tenant query limits (defaults are Loki's defaults)."""

    max_entries_limit_per_query: int = 5000
    max_query_length_ns: int = 721 * HOUR_NS
    max_query_series: int = 500
    split_queries_by_interval_ns: int = HOUR_NS
    """Loki's query frontend splits queries by this (0: off). Splitting a metric range
    query first aligns it to its step (``start`` down, ``end`` up to a multiple), so its
    samples land on multiples of the step wherever ``start`` was asked for."""


@dataclass
class Auth:
    """What a request must carry; everything off by default (a bare single-tenant Loki).

    ``basic`` and ``bearer`` are alternatives (either one passes); ``org_id`` set to True
    requires any ``X-Scope-OrgID``, set to a string requires that tenant.
    """

    basic: tuple[str, str] | None = field(default=None, repr=False)
    bearer: str | None = field(default=None, repr=False)
    org_id: bool | str = False


@dataclass
class Loki3Labels:
    """Loki 3's automatic stream labels (off by default, like a Loki 2 server).

    ``service_name`` comes from the first label in ``service_name_from`` (default: Loki 3's
    discovery list), else ``unknown_service``; ``detected_level`` from the line.
    """

    enabled: bool = False
    service_name_from: tuple[str, ...] = DEFAULT_SERVICE_NAME_LABELS
    detected_level: bool = True


@dataclass
class Patterns:
    """Loki 3's pattern ingester (``pattern_ingester.enabled``; off by default, as in Loki).

    Off, ``/loki/api/v1/patterns`` answers 404 like a Loki without the ingester. On, only
    lines newer than ``now - retention_ns`` yield patterns: the ingester keeps about three
    hours in memory unless pattern persistence is configured.
    """

    enabled: bool = False
    retention_ns: int = 3 * HOUR_NS
