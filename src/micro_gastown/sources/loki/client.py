"""A small Loki HTTP API v1 client over httpx (SPEC §5).

This is the boundary: every httpx exception and every non-success answer is mapped here,
once, to the ``LokiError`` tree in ``micro_gastown.errors``. Transient trouble (network,
timeouts, cut-short or unparseable bodies, 408, 429, 5xx) is retried with exponential
backoff and jitter within a time budget, honouring ``Retry-After``; a 400 never is, since
the same query fails the same way, and a wrong address (refused, unresolvable) gets three
quick attempts until this Loki has answered once. Credentials never reach an error message.
Reference: https://grafana.com/docs/loki/latest/reference/loki-http-api/
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
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
from micro_gastown.timewindow import NS_PER_SECOND, format_ns

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


@dataclass(frozen=True, slots=True)
class LogPattern:
    """One template from Loki's pattern ingester, e.g. ``<_> level=info msg=<_>``.

    ``samples`` are ``(timestamp_ns, count)`` pairs: Loki sends whole Unix seconds, kept
    here in nanoseconds like every other timestamp of this client.
    """

    pattern: str
    samples: list[tuple[int, int]]

    @property
    def total(self) -> int:
        """Lines that matched the pattern over the queried window."""
        return sum(count for _, count in self.samples)


class _Transient(Exception):
    """An attempt failed in a way that may pass: the retry loop's only trigger."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _Unreachable(_Transient):
    """Nothing listens at the address, or its host name does not resolve.

    Before Loki has answered once this is almost always a wrong GRAFANA_LOKI_URL/LOKI_ADDR,
    so it gets ``_UNREACHABLE_ATTEMPTS`` quick tries instead of the whole budget; after an
    answer it is a restart or a network blip, and transient like any other.
    """


class _Cancelled(Exception):
    """A retry wait ended because the caller stopped (``LokiClient.waits_end_on``)."""


@dataclass(slots=True)
class RequestTally:
    """What the calls made inside ``LokiClient.counting()`` cost: attempts and body bytes."""

    requests: int = 0
    bytes_received: int = 0


_UNREACHABLE_ATTEMPTS = 3
# Set per thread (a new thread starts with them unset) by ``waits_end_on``/``counting``.
_STOP_WAITING: ContextVar[threading.Event | None] = ContextVar("loki_stop_waiting", default=None)
_TALLY: ContextVar[RequestTally | None] = ContextVar("loki_tally", default=None)


def _unreachable(exc: BaseException) -> str | None:
    """Why ``exc`` means "wrong address" (refused, unresolvable host), else None.

    httpx wraps the socket error in httpcore's exception; look through causes and args.
    """
    pending, seen = [exc], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, socket.gaierror):
            return f"the host name does not resolve ({current.strerror or current})"
        linked = (current.__cause__, current.__context__, *current.args)
        pending.extend(item for item in linked if isinstance(item, BaseException))
    return None


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
        self._count_lock = threading.Lock()  # LokiSource's workers share the counters
        self._answered = False  # has this Loki ever answered? (see _Unreachable)
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
                self._scrub(
                    f"Loki at {self.config.base_url} answered 404 for {API}/patterns: log "
                    "patterns are optional and need Loki 3.x with the pattern ingester on "
                    "(pattern_ingester.enabled: true); if other queries fail too, the URL or "
                    "path prefix is wrong"
                )
            ) from None
        data = body.get("data") or []
        try:
            return [
                LogPattern(
                    str(item["pattern"]),
                    [(int(ts) * NS_PER_SECOND, int(count)) for ts, count in item["samples"]],
                )
                for item in data
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise LokiError(f"Loki sent a malformed patterns answer ({exc!r})") from None

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

        out_of_budget = stop_before_delay(policy.budget_s)

        def stop(state: RetryCallState) -> bool:
            error = state.outcome.exception() if state.outcome else None
            wrong_address = isinstance(error, _Unreachable) and not self._answered
            if wrong_address and state.attempt_number >= _UNREACHABLE_ATTEMPTS:
                return True
            return bool(out_of_budget(state))

        started = time.monotonic()
        attempts = 0
        try:
            for attempt in Retrying(
                retry=retry_if_exception_type(_Transient),
                wait=wait,
                stop=stop,
                sleep=self._sleep,
                reraise=False,
            ):
                with attempt:
                    attempts += 1
                    return self._attempt(API + path, params, query=query)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            reason = last.reason if isinstance(last, _Transient) else repr(last)
            elapsed = time.monotonic() - started
            tries = f"{attempts} attempt{'s' if attempts != 1 else ''} over {elapsed:.1f}s"
            if isinstance(last, _Unreachable) and not self._answered:
                raise LokiUnavailableError(
                    self._scrub(
                        f"cannot reach Loki at {self.config.base_url}: {reason} ({tries}). "
                        "Check the address in GRAFANA_LOKI_URL or LOKI_ADDR (or --source "
                        "loki:URL), and that Loki is running there"
                    )
                ) from None
            raise LokiUnavailableError(
                self._scrub(
                    f"Loki at {self.config.base_url} did not answer the {what}: {reason} "
                    f"({tries}, retry budget {policy.budget_s:g}s). Check that Loki is up, or "
                    "narrow the window with --since/--until"
                )
            ) from None
        raise AssertionError("unreachable: Retrying either returns or raises")

    @staticmethod
    @contextmanager
    def waits_end_on(stop: threading.Event) -> Iterator[None]:
        """Inside this block, in this thread, a retry wait ends the call once ``stop`` is set.

        For workers that must stop promptly (LokiSource's sub-range fetchers): the call
        then raises an internal exception that the worker discards rather than sitting out
        a backoff of up to ``max_backoff_s``. An attempt already on the wire still runs to
        its end (at most ``timeout_s``).
        """
        token = _STOP_WAITING.set(stop)
        try:
            yield
        finally:
            _STOP_WAITING.reset(token)

    @staticmethod
    @contextmanager
    def counting() -> Iterator[RequestTally]:
        """Tally the attempts and bytes of the calls made in this block, in this thread.

        ``requests``/``bytes_received`` total every thread; this is exact per caller when
        several threads or sources share one client. A nested tally also counts outward.
        """
        tally = RequestTally()
        token = _TALLY.set(tally)
        try:
            yield tally
        finally:
            _TALLY.reset(token)
            outer = _TALLY.get()
            if outer is not None:
                outer.requests += tally.requests
                outer.bytes_received += tally.bytes_received

    @staticmethod
    def _sleep(seconds: float) -> None:
        stop = _STOP_WAITING.get()
        if stop is None:
            time.sleep(seconds)
        elif stop.wait(seconds):
            raise _Cancelled("stopped while waiting to retry")

    def _attempt(
        self, path: str, params: Mapping[str, str | list[str]], *, query: str | None
    ) -> dict[str, Any]:
        tally = _TALLY.get()
        if tally is not None:
            tally.requests += 1
        with self._count_lock:
            self.requests += 1
        try:
            response = self._http.get(path, params=params)
        except httpx.TimeoutException as exc:
            raise _Transient(f"timed out ({type(exc).__name__})") from None
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, httpx.ConnectError) and (why := _unreachable(exc)) is not None:
                raise _Unreachable(f"{why} ({reason})") from None
            raise _Transient(reason) from None
        self._answered = True  # any HTTP answer proves the address right
        body = response.content
        if tally is not None:
            tally.bytes_received += len(body)
        with self._count_lock:
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
