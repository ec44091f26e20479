"""The Loki address as the user gave it (GRAFANA_LOKI_URL, LOKI_ADDR, ``--source loki:URL``):
checked once, before any request, and never printed with a secret in it.

A mistyped address (port 99999, a port that is not a number, no host) would otherwise
surface minutes later as "connection refused"; it is a ``ConfigError`` naming the
setting instead. A proxy in front of Loki may want a token in the query string
(``?token=...``): those parameters are sent with every request, and every URL printed
(errors, the report's ``source``) shows their names with the values masked. Credentials
in the user-info part are refused (they belong in the credential variables).
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from micro_gastown.errors import ConfigError

MASK: Final = "<redacted>"
EXAMPLE: Final = "http://localhost:3100"
_USERINFO: Final = re.compile(r"//[^/?#@]*@")


def check_url(url: str, variable: str | None) -> None:
    """Raise a ``ConfigError`` unless ``url`` is an http(s) URL with a host and, if it has
    one, a port from 1 to 65535. It names the environment ``variable`` the URL came from,
    or, for ``None``, the source setting (``loki:URL``), which each face words itself."""
    shown = masked(url)

    def bad(reason: str, *, show: bool = True) -> ConfigError:
        if variable is None:
            return ConfigError(reason, setting="source", value=f"loki:{shown}" if show else None)
        return ConfigError(f"{variable}={shown!r}: {reason}" if show else f"{variable}: {reason}")

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # an out-of-range or non-numeric port, a broken IPv6 host
        raise bad(f"not a usable URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad(f"expected an http(s) URL such as {EXAMPLE}")
    if any(char.isspace() for char in parts.netloc):
        raise bad("the host must not contain spaces")
    if port == 0:
        raise bad("the port must be from 1 to 65535")
    if parts.username is not None or parts.password is not None:
        # A URL is printed in reports and errors; credentials inside it would leak.
        raise bad(
            "do not put credentials in the URL; set LOKI_USERNAME/LOKI_PASSWORD "
            "(or GRAFANA_LOKI_USER/GRAFANA_LOKI_TOKEN) or LOKI_BEARER_TOKEN instead",
            show=False,
        )


def without_query(url: str) -> str:
    """``url`` without its query string and fragment: the base the API paths hang off."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query="", fragment=""))


def query_params(url: str) -> tuple[tuple[str, str], ...]:
    """The query-string parameters of ``url``, sent with every request."""
    return tuple(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def with_masked_query(base: str, params: tuple[tuple[str, str], ...]) -> str:
    """``base`` followed by ``params`` with every value masked."""
    if not params:
        return base
    return base + "?" + "&".join(f"{name}={MASK}" for name, _ in params)


def masked(url: str) -> str:
    """``url`` fit to print: no user-info, query values masked, no fragment. Works on
    text that does not even parse as a URL (it is what error messages quote)."""
    try:
        parts = urlsplit(url)
        params = query_params(url)
    except ValueError:
        text = _USERINFO.sub("//", url.partition("#")[0])
        base, question, _ = text.partition("?")
        return base + (f"?{MASK}" if question else "")
    netloc = parts.netloc.rpartition("@")[2]
    base = urlunsplit(parts._replace(netloc=netloc, query="", fragment=""))
    return with_masked_query(base, params) if parts.query else base
