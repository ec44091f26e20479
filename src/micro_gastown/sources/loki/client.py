"""A small Loki HTTP API v1 client over httpx (docs/loki.md): the endpoints, and each call's run.

This is the boundary: every httpx exception and every non-success answer is mapped, once,
to the ``LokiError`` tree in ``micro_gastown.errors``. The layers, one module each:

- ``client``: ``LokiClient``, building the request (auth, tenant, TLS) and wording a
  call that ran out of retries as a ``LokiUnavailableError``;
- ``failures``: what an attempt's outcome means (retry, or which ``LokiError``);
- ``retrying``: transient trouble (network, timeouts, cut-short or unparseable bodies,
  408, 429, 5xx) retried with exponential backoff and jitter within a time budget that
  bounds the whole call, honouring ``Retry-After``; a 400 never is, since the same query
  fails the same way; a wrong address (refused, unresolvable) gets three quick attempts
  until this Loki has answered once, a timeout one retry (none before a first answer),
  and a 200 that is not JSON one retry;
- ``models``: the answers' ``data`` decoded into typed values;
- ``tally``: per-caller counts of attempts and bytes.

Credentials never reach an error message, and the address is printed as
``LokiConfig.display_url`` (query-string values masked).
Reference: https://grafana.com/docs/loki/latest/reference/loki-http-api/
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

from micro_gastown.errors import LokiError, LokiNotFoundError, LokiUnavailableError
from micro_gastown.sources.loki import retrying, tally
from micro_gastown.sources.loki.config import LokiConfig
from micro_gastown.sources.loki.failures import (
    http_failure,
    not_loki,
    read_answer,
    scrub,
    transport_failure,
)
from micro_gastown.sources.loki.models import (
    LogPattern,
    QueryResult,
    decode_names,
    decode_patterns,
    decode_query_result,
    decode_series,
)
from micro_gastown.sources.loki.retrying import (
    NotLokiAnswer,
    RetriesExhausted,
    TimedOut,
    Transient,
    Unreachable,
    call_with_retries,
)
from micro_gastown.timewindow import format_ns

API = "/loki/api/v1"
MIN_TIMEOUT_S = 0.05  # a retry squeezed into the end of the budget still gets a chance


class LokiClient:
    """Loki's read API; use as a context manager so the connection pool is closed.

    ``transport`` lets tests substitute an ``httpx.MockTransport``. ``requests`` and
    ``bytes_received`` count every attempt, for the report metadata.
    """

    def __init__(self, config: LokiConfig, *, transport: httpx.BaseTransport | None = None):
        self.config = config
        self.requests = 0
        self.bytes_received = 0
        self._count_lock = threading.Lock()  # LokiSource's workers share the counters
        self._answered = False  # has this Loki ever answered? (see retrying.Unreachable)
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
            params=config.url_params,
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
        return f"loki:{self.config.display_url}"

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
        return decode_query_result(self._get("/query_range", params, what=what, query=query))

    def query(self, query: str, time_ns: int) -> QueryResult:
        """``/query`` at one instant: a vector (or scalar) for metric queries."""
        what = f"query {query} at {format_ns(time_ns)}"
        params = {"query": query, "time": str(time_ns)}
        return decode_query_result(self._get("/query", params, what=what, query=query))

    def labels(self, start_ns: int | None = None, end_ns: int | None = None) -> list[str]:
        params = _bounds(start_ns, end_ns)
        return decode_names(self._get("/labels", params, what="label names"))

    def label_values(
        self, name: str, start_ns: int | None = None, end_ns: int | None = None
    ) -> list[str]:
        path = f"/label/{httpx.URL(name).raw_path.decode()}/values"
        params = _bounds(start_ns, end_ns)
        return decode_names(self._get(path, params, what=f"values of label {name}"))

    def series(
        self, match: str | list[str], start_ns: int | None = None, end_ns: int | None = None
    ) -> list[dict[str, str]]:
        """Label sets of the streams matching ``match`` (one selector or several)."""
        selectors = [match] if isinstance(match, str) else match
        params: dict[str, str | list[str]] = {"match[]": selectors}
        params.update(_bounds(start_ns, end_ns))
        return decode_series(self._get("/series", params, what=f"series {' '.join(selectors)}"))

    def patterns(
        self, selector: str, start_ns: int, end_ns: int, step: str | None = None
    ) -> list[LogPattern]:
        """``/patterns``: templates of the streams ``selector`` matches, most lines first.

        Needs Loki 3.x with the pattern ingester, which keeps about 3 h unless persistence
        is on; an optional input, so a 404 says so. ``step`` (``"1m"``, ``"60"``) defaults
        to Loki's ~250 points over the window.
        """
        params = {"query": selector, "start": str(start_ns), "end": str(end_ns)}
        if step is not None:
            params["step"] = step
        what = f"patterns of {selector} over {format_ns(start_ns)} .. {format_ns(end_ns)}"
        try:
            body = self._get("/patterns", params, what=what, query=selector)
        except LokiNotFoundError:
            raise LokiNotFoundError(
                scrub(
                    f"Loki at {self.config.display_url} answered 404 for {API}/patterns: log "
                    "patterns are optional and need Loki 3.x with the pattern ingester on "
                    "(pattern_ingester.enabled: true); if other queries fail too, the URL or "
                    "path prefix is wrong",
                    self.config,
                )
            ) from None
        return decode_patterns(body)

    # -- thread-scoped controls ---------------------------------------------------------

    waits_end_on = staticmethod(retrying.waits_end_on)
    counting = staticmethod(tally.counting)

    # -- plumbing ---------------------------------------------------------------------

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
        try:
            return call_with_retries(
                lambda left: self._attempt(API + path, params, query=query, left_s=left),
                policy,
                answered=lambda: self._answered,
            )
        except RetriesExhausted as exc:
            last = exc.last
            reason = last.reason if isinstance(last, Transient) else repr(last)
            attempts = exc.attempts
            tries = f"{attempts} attempt{'s' if attempts != 1 else ''} over {exc.elapsed_s:.1f}s"
            address = self.config.display_url
            if isinstance(last, NotLokiAnswer):
                raise LokiError(not_loki(self.config, f"{reason}; {tries}")) from None
            if isinstance(last, Unreachable | TimedOut) and not self._answered:
                slow = isinstance(last, TimedOut)
                hint = "; a Loki this slow needs a narrower time window" if slow else ""
                raise LokiUnavailableError(
                    scrub(
                        f"cannot reach Loki at {address}: {reason} ({tries}). Check the "
                        "address in GRAFANA_LOKI_URL or LOKI_ADDR (or of a loki:URL source), "
                        f"and that Loki is running there{hint}",
                        self.config,
                    )
                ) from None
            raise LokiUnavailableError(
                scrub(
                    f"Loki at {address} did not answer the {what}: {reason} "
                    f"({tries}, retry budget {policy.budget_s:g}s). Check that Loki is up, or "
                    "narrow the time window",
                    self.config,
                )
            ) from None

    def _attempt(
        self,
        path: str,
        params: Mapping[str, str | list[str]],
        *,
        query: str | None,
        left_s: float | None,
    ) -> dict[str, Any]:
        """One request; ``left_s`` (what is left of the retry budget) caps its timeout."""
        counts = tally.current_tally()
        if counts is not None:
            counts.requests += 1
        with self._count_lock:
            self.requests += 1
        timeout = self.config.timeout_s
        if left_s is not None:
            timeout = max(min(timeout, left_s), MIN_TIMEOUT_S)
        try:
            response = self._http.get(path, params=params, timeout=timeout)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise transport_failure(exc, timeout) from None
        except httpx.HTTPError as exc:
            raise http_failure(exc, self.config) from None
        except httpx.InvalidURL as exc:  # a query too long for a URL (httpx caps 64 KiB)
            raise LokiError(f"cannot send the query to Loki: {exc}") from None
        received = len(response.content)
        if counts is not None:
            counts.bytes_received += received
        with self._count_lock:
            self.bytes_received += received
        try:
            answer = read_answer(response, self.config, path=path, query=query)
        except NotLokiAnswer:
            raise  # some server answered, but not as Loki does: no proof of the address
        except (LokiError, Transient):
            self._answered = True  # Loki (or its proxy) answered, if with an error
            raise
        self._answered = True
        return answer


def _bounds(start_ns: int | None, end_ns: int | None) -> dict[str, str]:
    params = {}
    if start_ns is not None:
        params["start"] = str(start_ns)
    if end_ns is not None:
        params["end"] = str(end_ns)
    return params
