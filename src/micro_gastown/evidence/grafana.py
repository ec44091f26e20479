"""Grafana Explore links: a clickable view of the LogQL behind each finding (docs/loki.md).

The host and the Loki datasource uid are configuration, never hard-coded. Links use the
Explore ``panes`` URL state of Grafana 10+ with an absolute time range in epoch milliseconds.
Reference: https://grafana.com/docs/grafana/latest/explore/get-started-with-explore/
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import orjson

from micro_gastown.errors import ConfigError
from micro_gastown.logql import is_metric


@dataclass(frozen=True, slots=True)
class GrafanaExplore:
    base_url: str
    datasource_uid: str
    org_id: int = 1

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                "expected http(s)://host[/path]", setting="grafana_url", value=self.base_url
            )
        if parts.username or parts.password:
            raise ConfigError("must not carry credentials", setting="grafana_url")
        if not self.datasource_uid:
            raise ConfigError("the Loki datasource uid is required", setting="grafana_datasource")

    def link(self, expr: str, start_ns: int, end_ns: int) -> str:
        datasource = {"type": "loki", "uid": self.datasource_uid}
        # A metric query's figure is one value over the whole window: an instant query at
        # its end (Explore evaluates it at "to"); a log query lists the window's lines.
        kind = "instant" if is_metric(expr) else "range"
        query = {"refId": "A", "expr": expr, "queryType": kind, "datasource": datasource}
        panes = {
            "mg": {
                "datasource": self.datasource_uid,
                "queries": [query],
                "range": {"from": str(start_ns // 1_000_000), "to": str(end_ns // 1_000_000)},
            }
        }
        state = quote(orjson.dumps(panes).decode(), safe="")
        base = self.base_url.rstrip("/")
        return f"{base}/explore?schemaVersion=1&orgId={self.org_id}&panes={state}"
