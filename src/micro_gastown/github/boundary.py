"""Where PyGithub's and requests' failures become ours, and how long we wait for GitHub.

:class:`CappedRetry` is GithubRetry (5xx, primary rate limits until ``x-ratelimit-reset``,
secondary ones after ``Retry-After``) with one cap on any wait GitHub asks for, so a run
never sleeps an hour; :func:`translate` turns a PyGithub exception into the
:mod:`micro_gastown.errors` tree once, keeping GitHub's own message on one line with the
token removed; :func:`check_api_url` keeps the token off plain HTTP.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Final
from urllib.parse import urlsplit

import urllib3
from github import GithubException, GithubRetry, RateLimitExceededException

from micro_gastown.errors import (
    ConfigError,
    GitHubAuthError,
    GitHubConflictError,
    GitHubError,
    GitHubNotFoundError,
    GitHubUnavailableError,
)

__all__ = [
    "CappedRetry",
    "WaitTooLong",
    "api_message",
    "check_api_url",
    "is_loopback",
    "is_rate_limit",
    "one_line",
    "redactor",
    "translate",
]

_MAX_MESSAGE: Final = 300


class WaitTooLong(Exception):
    """GitHub asked for a longer wait (Retry-After) than the run allows."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


class CappedRetry(GithubRetry):
    """GithubRetry, with ``Retry-After`` held to the same cap as the rate-limit resets
    (``max_rate_limit_wait``): urllib3 would otherwise sleep whatever GitHub says."""

    def sleep_for_retry(self, response: urllib3.BaseHTTPResponse) -> bool:
        wait = self.get_retry_after(response)
        cap = self.max_rate_limit_wait
        if wait is not None and cap is not None and wait > cap:
            raise WaitTooLong(wait)
        return bool(super().sleep_for_retry(response))


def check_api_url(api_url: str) -> str:
    """``api_url`` without a trailing slash; refuses plain HTTP unless the host is this
    machine (the token must not travel in clear)."""
    parts = urlsplit(api_url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return api_url.rstrip("/")
    if parts.scheme == "http" and is_loopback(host):
        return api_url.rstrip("/")
    raise ConfigError(
        "expected an https:// URL (plain http only to this machine: the token must not "
        "travel in clear)",
        setting="github_api_url",
        value=api_url,
    )


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: the only hosts a token may reach over plain http."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def translate(
    exc: GithubException, action: str, permission: str, redact: Callable[[str], str]
) -> GitHubError:
    """The error for a refusal of ``action``: a rate limit still there after the retries
    is GitHub being unavailable, not the token's fault; a 403 otherwise names the
    ``permission`` the call needs, which is what the user must grant."""
    status = exc.status
    message = redact(api_message(exc))
    said = f" ({status} {message})" if message else f" ({status})"
    if isinstance(exc, RateLimitExceededException) or is_rate_limit(exc):
        return GitHubUnavailableError(
            f"cannot {action}: rate-limited by GitHub{said}", status=status, api_message=message
        )
    if status == 401:
        return GitHubAuthError(
            f"cannot {action}: GitHub rejected the token{said}",
            status=status,
            api_message=message,
        )
    if status == 403:
        return GitHubAuthError(
            f"cannot {action}: the token lacks a permission; it needs {permission}{said}",
            status=status,
            api_message=message,
        )
    if status == 404:
        return GitHubNotFoundError(
            f"cannot {action}: not found, or the token cannot see it{said}",
            status=status,
            api_message=message,
        )
    if status in (409, 422):
        return GitHubConflictError(
            f"cannot {action}: GitHub refused{said}", status=status, api_message=message
        )
    if status >= 500:
        return GitHubUnavailableError(
            f"cannot {action}: GitHub failed after retries{said}",
            status=status,
            api_message=message,
        )
    return GitHubError(f"cannot {action}{said}", status=status, api_message=message)


def is_rate_limit(exc: GithubException) -> bool:
    """GitHub's ways of saying "later": 429, ``Retry-After``, or a 403 with the primary
    limit spent (``x-ratelimit-remaining: 0``) or a rate-limit message."""
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    if exc.status == 429 or "retry-after" in headers:
        return True
    message = api_message(exc).lower()
    return exc.status == 403 and (
        headers.get("x-ratelimit-remaining") == "0" or "rate limit" in message
    )


def api_message(exc: GithubException) -> str:
    """GitHub's ``message`` with the ``errors[].message`` details, on one line."""
    data = exc.data
    if not isinstance(data, dict):
        return one_line(str(data or ""))
    parts = [str(data.get("message") or "")]
    for error in data.get("errors") or ():
        if isinstance(error, dict):
            detail = error.get("message") or " ".join(
                str(error[key]) for key in ("resource", "field", "code") if key in error
            )
            parts.append(str(detail))
        else:
            parts.append(str(error))
    return one_line(": ".join(part for part in parts if part))


def one_line(text: str) -> str:
    """``text`` as one short line: errors are shown on one line, and a message echoing a
    whole request body would bury the point."""
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def redactor(token: str) -> Callable[[str], str]:
    """Removes the token from text shown to the user, should GitHub or requests echo it."""

    def redact(text: str) -> str:
        return text.replace(token, "[token]")

    return redact
