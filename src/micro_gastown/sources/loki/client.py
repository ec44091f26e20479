"""A small Loki HTTP API v1 client over httpx (SPEC §5).

This is the boundary: every httpx exception and every non-success answer is mapped here,
once, to the ``LokiError`` tree in ``micro_gastown.errors``. Transient trouble (network,
timeouts, cut-short or unparseable bodies, 408, 429, 5xx) is retried with exponential
backoff and jitter within a time budget, honouring ``Retry-After``; a 400 never is, since
the same query fails the same way. Credentials never reach an error message.
Reference: https://grafana.com/docs/loki/latest/reference/loki-http-api/
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Any

import httpx
import orjson
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_before_delay,
    wait_exponential_jitter,
)

from micro_gastown.errors import (
    LokiAuthError,
    LokiError,
    LokiNotFoundError,
    LokiQueryError,
    LokiUnavailableError,
)
from micro_gastown.sources.loki.config import LokiConfig
from micro_gastown.timewindow import format_ns

API = "/loki/api/v1"
_MAX_TEXT = 500  # Loki's error bodies are short; a proxy's HTML page is not


class ResultType(StrEnum):
    STREAMS = "streams"
    MATRIX = "matrix"
    VECTOR = "vector"
    SCALAR = "scalar"


@dataclass(frozen=True, slots=True)
class Stream:
    """One log stream of a ``streams`` result, timestamps already as int nanoseconds."""

    labels: dict[str, str]
    values: list[tuple[int, str]]


@dataclass(frozen=True, slots=True)
class QueryResult:
    """``data`` of a query answer; ``result`` kept as Loki sent it for metric types."""

    result_type: ResultType
    result: list[Any]
    stats: dict[str, Any]

    def streams(self) -> list[Stream]:
        """The result as log streams; a LokiError if it is a metric result or malformed."""
        if self.result_type is not ResultType.STREAMS:
            raise LokiError(f"expected a log query result, Loki sent {self.result_type}")
        try:
            return [
                Stream(dict(item["stream"]), [(int(v[0]), str(v[1])) for v in item["values"]])
                for item in self.result
            ]
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise LokiError(f"Loki sent a malformed streams result ({exc!r})") from None


class _Transient(Exception):
    """An attempt failed in a way that may pass: the retry loop's only trigger."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the HTTP-date form is ignored: Loki sends seconds)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class LokiClient:
    """Loki's read API; use as a context manager so the connection pool is closed.

    ``transport`` lets tests substitute an ``httpx.MockTransport``. ``requests`` and
    ``bytes_received`` count every attempt, for the report metadata.
    """

    def __init__(self, config: LokiConfig, *, transport: httpx.BaseTransport | None = None):
        self.config = config
        self.requests = 0
        self.bytes_received = 0
        headers = {"Accept": "application/json"}
        if config.org_id:
            headers["X-Scope-OrgID"] = config.org_id
        if config.bearer_token:
            headers["Authorization"] = f"Bearer {config.bearer_token}"
        auth = (
            httpx.BasicAuth(config.username, config.password)
            if config.username is not None and config.password is not None
            else None
        )
        verify: ssl.SSLContext | bool = config.verify_tls
        if config.verify_tls and config.ca_bundle is not None:
            verify = ssl.create_default_context(cafile=str(config.ca_bundle))
        self._http = httpx.Client(
            base_url=config.base_url,
            headers=headers,
            auth=auth,
            verify=verify,
            timeout=httpx.Timeout(config.timeout_s),
            transport=transport,
            trust_env=False,  # the environment is read once, explicitly, by LokiConfig
        )

    def __enter__(self) -> LokiClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def describe(self) -> str:
        return f"loki:{self.config.base_url}"

    # -- API --------------------------------------------------------------------------

    def query_range(
        self,
        query: str,
        start_ns: int,
        end_ns: int,
        *,
        limit: int,
        direction: str = "forward",
        step: str | None = None,
    ) -> QueryResult:
        """``/query_range`` over ``[start_ns, end_ns)``: streams, or a matrix for metrics."""
        params = {
            "query": query,
            "start": str(start_ns),
            "end": str(end_ns),
            "limit": str(limit),
            "direction": direction,
        }
        if step is not None:
            params["step"] = step
        what = f"query {query} over {format_ns(start_ns)} .. {format_ns(end_ns)}"
        return self._result(self._get("/query_range", params, what=what, query=query))

    def query(self, query: str, time_ns: int) -> QueryResult:
        """``/query`` at one instant: a vector (or scalar) for metric queries."""
        what = f"query {query} at {format_ns(time_ns)}"
        params = {"query": query, "time": str(time_ns)}
        return self._result(self._get("/query", params, what=what, query=query))

    def labels(self, start_ns: int | None = None, end_ns: int | None = None) -> list[str]:
        params = self._bounds(start_ns, end_ns)
        return self._names(self._get("/labels", params, what="label names"))

    def label_values(
        self, name: str, start_ns: int | None = None, end_ns: int | None = None
    ) -> list[str]:
        path = f"/label/{httpx.URL(name).raw_path.decode()}/values"
        params = self._bounds(start_ns, end_ns)
        return self._names(self._get(path, params, what=f"values of label {name}"))

    def series(
        self, match: str | list[str], start_ns: int | None = None, end_ns: int | None = None
    ) -> list[dict[str, str]]:
        """Label sets of the streams matching ``match`` (one selector or several)."""
        selectors = [match] if isinstance(match, str) else match
        params: dict[str, str | list[str]] = {"match[]": selectors}
        params.update(self._bounds(start_ns, end_ns))
        body = self._get("/series", params, what=f"series {' '.join(selectors)}")
        data = body.get("data") or []
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise LokiError("Loki sent a malformed series answer")
        return [{str(k): str(v) for k, v in item.items()} for item in data]

    # -- plumbing ---------------------------------------------------------------------

    @staticmethod
    def _bounds(start_ns: int | None, end_ns: int | None) -> dict[str, str]:
        params = {}
        if start_ns is not None:
            params["start"] = str(start_ns)
        if end_ns is not None:
            params["end"] = str(end_ns)
        return params

    @staticmethod
    def _names(body: dict[str, Any]) -> list[str]:
        data = body.get("data") or []  # Loki omits ``data`` when there is nothing
        if not isinstance(data, list):
            raise LokiError("Loki sent a malformed label answer")
        return [str(item) for item in data]

    @staticmethod
    def _result(body: dict[str, Any]) -> QueryResult:
        data = body.get("data")
        if not isinstance(data, dict):
            raise LokiError("Loki's answer has no data")
        try:
            result_type = ResultType(str(data.get("resultType")))
        except ValueError:
            raise LokiError(f"Loki sent an unknown resultType {data.get('resultType')!r}") from None
        result = data.get("result") or []
        if not isinstance(result, list):
            raise LokiError("Loki sent a malformed result")
        stats = data.get("stats")
        return QueryResult(result_type, result, stats if isinstance(stats, dict) else {})

    def _get(
        self,
        path: str,
        params: Mapping[str, str | list[str]],
        *,
        what: str,
        query: str | None = None,
    ) -> dict[str, Any]:
        """One API call with retries; returns the decoded success envelope."""
        policy = self.config.retry
        backoff = wait_exponential_jitter(
            multiplier=policy.initial_backoff_s, max=policy.max_backoff_s, jitter=policy.jitter_s
        )

        def wait(state: RetryCallState) -> float:
            delay = float(backoff(state))
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, _Transient) and error.retry_after is not None:
                delay = max(delay, error.retry_after)
            return delay

        started = time.monotonic()
        attempts = 0
        try:
            for attempt in Retrying(
                retry=retry_if_exception_type(_Transient),
                wait=wait,
                stop=stop_before_delay(policy.budget_s),
                reraise=False,
            ):
                with attempt:
                    attempts += 1
                    return self._attempt(API + path, params, query=query)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            reason = last.reason if isinstance(last, _Transient) else repr(last)
            elapsed = time.monotonic() - started
            raise LokiUnavailableError(
                self._scrub(
                    f"Loki at {self.config.base_url} did not answer the {what}: {reason} "
                    f"({attempts} attempt{'s' if attempts != 1 else ''} over {elapsed:.1f}s, "
                    f"retry budget {policy.budget_s:g}s). Check that Loki is up, or narrow "
                    "the window with --since/--until"
                )
            ) from None
        raise AssertionError("unreachable: Retrying either returns or raises")

    def _attempt(
        self, path: str, params: Mapping[str, str | list[str]], *, query: str | None
    ) -> dict[str, Any]:
        self.requests += 1
        try:
            response = self._http.get(path, params=params)
        except httpx.TimeoutException as exc:
            raise _Transient(f"timed out ({type(exc).__name__})") from None
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from None
        body = response.content
        self.bytes_received += len(body)
        status = response.status_code
        if status == 200:
            try:
                decoded = orjson.loads(body)
            except orjson.JSONDecodeError:
                raise _Transient("the answer was not valid JSON (cut short?)") from None
            if not isinstance(decoded, dict) or decoded.get("status") != "success":
                raise LokiError(f"Loki answered 200 without success: {self._text(response)}")
            return decoded
        text = self._text(response)
        if status in (408, 429) or status >= 500:
            raise _Transient(
                f"HTTP {status}: {text}", _retry_after(response.headers.get("Retry-After"))
            )
        if status == 400:
            raise LokiQueryError(
                f"Loki rejected the query {query or path}: {text}"
                if query
                else f"Loki rejected {path}: {text}",
                loki_message=text,
            )
        if status in (401, 403):
            raise LokiAuthError(self._auth_hint(status, text))
        if status == 404:
            raise LokiNotFoundError(
                f"Loki at {self.config.base_url} answered 404 for {path}: the URL or path "
                "prefix is probably wrong (GRAFANA_LOKI_URL/LOKI_ADDR should point at the "
                "address in front of /loki/api/v1)"
            )
        raise LokiError(f"Loki at {self.config.base_url} answered HTTP {status} for {path}: {text}")

    def _text(self, response: httpx.Response) -> str:
        """Loki's plain-text error, shortened and scrubbed of any secret."""
        text = response.content.decode("utf-8", "replace").strip()
        if len(text) > _MAX_TEXT:
            text = text[:_MAX_TEXT] + "…"
        return self._scrub(text)

    def _scrub(self, text: str) -> str:
        for secret in self.config.secrets:
            text = text.replace(secret, "<redacted>")
        return text

    def _auth_hint(self, status: int, text: str) -> str:
        """Say which setting to fix: the credentials sent, or the tenant header."""
        config = self.config
        lead = f"Loki at {config.base_url} answered {status} ({text or 'no reason given'}): "
        hints = []
        if config.username is not None:
            hints.append(
                f"the basic-auth credentials for user {config.username!r} were refused; check "
                "GRAFANA_LOKI_USER/GRAFANA_LOKI_TOKEN (or LOKI_USERNAME/LOKI_PASSWORD); on "
                "Grafana Cloud the user is the instance id and the token needs logs:read"
            )
        elif config.bearer_token is not None:
            hints.append("the bearer token was refused; check LOKI_BEARER_TOKEN")
        else:
            hints.append(
                "no credentials were sent; set GRAFANA_LOKI_USER/GRAFANA_LOKI_TOKEN (basic "
                "auth) or LOKI_BEARER_TOKEN"
            )
        if config.org_id is None and "org id" in text.lower():
            hints.insert(0, "Loki needs a tenant: set LOKI_ORG_ID (sent as X-Scope-OrgID)")
        elif config.org_id is None:
            hints.append("a multi-tenant Loki also needs LOKI_ORG_ID (X-Scope-OrgID)")
        else:
            hints.append(f"or LOKI_ORG_ID={config.org_id!r} is not a tenant you may read")
        return self._scrub(lead + "; ".join(hints))
