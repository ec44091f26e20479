"""A tiny urllib client for lokisim's own tests (no third-party HTTP library needed).

Every response is read and closed before returning, because the suite runs with
``filterwarnings = error`` and a leaked socket is a ResourceWarning.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

# Ignore HTTP(S)_PROXY from the environment: the simulator is always local.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

ParamValue = str | int | float | Sequence[str]


@dataclass
class HttpResult:
    """Status, headers (lower-cased names) and the full body."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode()

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


def request(
    method: str,
    url: str,
    *,
    params: Mapping[str, ParamValue] | None = None,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 5.0,
) -> HttpResult:
    """Send one request; HTTP error statuses are returned, not raised."""
    query = ""
    if params:
        pairs: list[tuple[str, str]] = []
        for key, value in params.items():
            if isinstance(value, str | int | float):
                pairs.append((key, str(value)))
            else:
                pairs.extend((key, str(item)) for item in value)
        query = "?" + urlencode(pairs)
    req = urllib.request.Request(url + query, data=body, method=method, headers=dict(headers or {}))
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return HttpResult(resp.status, _lower(resp.headers.items()), resp.read())
    except urllib.error.HTTPError as err:
        with err:
            return HttpResult(err.code, _lower(err.headers.items()), err.read())


def _lower(items: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in items}


def get(url: str, params: Mapping[str, ParamValue] | None = None, **kwargs: Any) -> HttpResult:
    """GET ``url`` with query parameters."""
    return request("GET", url, params=params, **kwargs)


def push_json(url: str, streams: list[dict[str, Any]], **kwargs: Any) -> HttpResult:
    """POST a JSON push body to ``{url}/loki/api/v1/push``."""
    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    body = json.dumps({"streams": streams}).encode()
    return request("POST", f"{url}/loki/api/v1/push", body=body, headers=headers, **kwargs)
