"""What one attempt's outcome means: the one place httpx errors and Loki's answers are mapped.

Each failure becomes the most specific class of the ``LokiError`` tree in
:mod:`micro_gastown.errors`, or a ``Transient`` that the retry loop
(:mod:`~micro_gastown.sources.loki.retrying`) tries again::

    network error, cut-short answer           -> Transient
      connection refused, host not resolved   -> Unreachable (a Transient)
      no connection or answer in time         -> TimedOut (a Transient)
    any other httpx error (a bad encoding,
      a header value httpx refuses, ...)      -> LokiError (never retried)
    200, body not JSON (cut short? not Loki?) -> NotLokiAnswer (a Transient)
    200, JSON but not Loki's envelope         -> LokiError ("is the URL a Loki?")
    200 with a "status" other than "success"  -> LokiError
    408, 429, 5xx                             -> Transient, carrying Retry-After
    400                                       -> LokiQueryError (never retried)
    401, 403                                  -> LokiAuthError naming the setting to fix
    404                                       -> LokiNotFoundError
    any other status                          -> LokiError

Loki's own error text is kept, shortened; credentials never reach a message (``scrub``),
and the address is always the masked ``display_url``.
"""

from __future__ import annotations

import socket
from typing import Any

import httpx
import orjson

from micro_gastown.errors import LokiAuthError, LokiError, LokiNotFoundError, LokiQueryError
from micro_gastown.sources.loki.config import LokiConfig
from micro_gastown.sources.loki.retrying import NotLokiAnswer, TimedOut, Transient, Unreachable

_MAX_TEXT = 500  # Loki's error bodies are short; a proxy's HTML page is not


def transport_failure(
    exc: httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError,
    timeout_s: float,
) -> Transient:
    """No HTTP answer: a timeout (after ``timeout_s``), a network error, or an answer cut
    short; worth retrying."""
    if isinstance(exc, httpx.TimeoutException):
        waited = "no connection" if isinstance(exc, httpx.ConnectTimeout) else "no answer"
        return TimedOut(f"{waited} within {seconds(timeout_s)} s ({type(exc).__name__})")
    reason = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, httpx.ConnectError) and (why := _unreachable(exc)) is not None:
        return Unreachable(f"{why} ({reason})")
    return Transient(reason)


def http_failure(exc: httpx.HTTPError, config: LokiConfig) -> LokiError:
    """An httpx error that no retry can help: the request could not be made or the answer
    not be decoded as HTTP. Names the address; never quotes a credential."""
    reason = scrub(f"{type(exc).__name__}: {exc}", config)
    hint = ""
    if isinstance(exc, httpx.LocalProtocolError):
        hint = (
            "; a header could not be sent: check the credential and tenant variables "
            "(GRAFANA_LOKI_USER/GRAFANA_LOKI_TOKEN, LOKI_BEARER_TOKEN, LOKI_ORG_ID) for stray "
            "spaces or newlines"
        )
    elif isinstance(exc, httpx.DecodingError):
        hint = "; the answer's Content-Encoding could not be decoded (a proxy in between?)"
    return LokiError(f"cannot talk to Loki at {config.display_url} ({reason}){hint}")


def seconds(value: float) -> str:
    """``30``, ``0.3``, ``29.5``: a duration as an error message shows it."""
    return f"{value:.1f}".removesuffix(".0") if value >= 0.1 else f"{value:.2g}"


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


def read_answer(
    response: httpx.Response, config: LokiConfig, *, path: str, query: str | None
) -> dict[str, Any]:
    """The decoded success envelope of a 200; any other answer raises what it maps to.

    ``path`` is the full API path asked for; ``query`` the LogQL, if any, for a 400.
    """
    status = response.status_code
    if status == 200:
        try:
            decoded = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise NotLokiAnswer(_begins(response, config)) from None
        if not isinstance(decoded, dict) or "status" not in decoded:
            raise LokiError(not_loki(config, _begins(response, config)))
        if decoded.get("status") != "success":
            raise LokiError(f"Loki answered 200 without success: {_text(response, config)}")
        return decoded
    text = _text(response, config)
    if status in (408, 429) or status >= 500:
        raise Transient(f"HTTP {status}: {text}", _retry_after(response.headers.get("Retry-After")))
    if status == 400:
        raise LokiQueryError(
            f"Loki rejected the query {query or path}: {text}"
            if query
            else f"Loki rejected {path}: {text}",
            loki_message=text,
        )
    if status in (401, 403):
        raise LokiAuthError(_auth_hint(config, status, text))
    if status == 404:
        raise LokiNotFoundError(
            f"Loki at {config.display_url} answered 404 for {path}: the URL or path "
            "prefix is probably wrong (GRAFANA_LOKI_URL/LOKI_ADDR should point at the "
            "address in front of /loki/api/v1)"
        )
    raise LokiError(f"Loki at {config.display_url} answered HTTP {status} for {path}: {text}")


def not_loki(config: LokiConfig, detail: str) -> str:
    """Why a 200 is not Loki's: likely the URL points at some other server."""
    return scrub(
        f"the server at {config.display_url} answered 200 with a body that is not Loki JSON "
        f"({detail}): is the URL a Loki? Check the address in GRAFANA_LOKI_URL or LOKI_ADDR "
        "(or of a loki:URL source)",
        config,
    )


def _begins(response: httpx.Response, config: LokiConfig) -> str:
    """The first few characters of a body, quoted, to recognise an HTML page or the like."""
    head = response.content[:60].decode("utf-8", "replace")
    more = "…" if len(response.content) > 60 else ""
    return f"it begins {scrub(head, config) + more!r}" if head else "the body is empty"


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the HTTP-date form is ignored: Loki sends seconds)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _text(response: httpx.Response, config: LokiConfig) -> str:
    """Loki's plain-text error, shortened and scrubbed of any secret."""
    text = response.content.decode("utf-8", "replace").strip()
    if len(text) > _MAX_TEXT:
        text = text[:_MAX_TEXT] + "…"
    return scrub(text, config)


def scrub(text: str, config: LokiConfig) -> str:
    """``text`` with every secret of ``config`` replaced by ``<redacted>``."""
    for secret in config.secrets:
        text = text.replace(secret, "<redacted>")
    return text


def _auth_hint(config: LokiConfig, status: int, text: str) -> str:
    """Say which setting to fix: the credentials sent, or the tenant header."""
    lead = f"Loki at {config.display_url} answered {status} ({text or 'no reason given'}): "
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
    return scrub(lead + "; ".join(hints), config)
