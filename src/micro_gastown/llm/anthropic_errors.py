"""The Anthropic SDK's exceptions as micro-gastown's: the one place they are translated.

Part of the Anthropic adapter (with :mod:`micro_gastown.llm.anthropic_backend`, whose
docstring says which SDK error becomes which class); the classes are drawn in
:mod:`micro_gastown.errors`. Messages never quote the API key.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import anthropic

from micro_gastown.errors import (
    LlmAuthError,
    LlmError,
    LlmRequestError,
    LlmTimeoutError,
    LlmUnavailableError,
)


def credentials_error(exc: anthropic.CredentialsError) -> LlmAuthError:
    """A profile or federation set-up the SDK could not load."""
    return LlmAuthError(f"the Anthropic SDK could not load credentials: {exc}")


def translate(
    exc: anthropic.AnthropicError, client: anthropic.Anthropic, timeout_s: float
) -> LlmError:
    """The SDK's exception as the most specific :class:`~micro_gastown.errors.LlmError`."""
    retries = f"after {client.max_retries} retries"
    if isinstance(exc, anthropic.CredentialsError):
        return credentials_error(exc)
    if not isinstance(exc, anthropic.APIError):
        return LlmError(f"the Anthropic SDK failed: {type(exc).__name__}: {exc}")
    if isinstance(exc, anthropic.APITimeoutError):
        return LlmTimeoutError(
            f"the Anthropic API did not answer within {timeout_s:g} s ({retries}); "
            f"try again later or raise the step's timeout"
        )
    if isinstance(exc, anthropic.APIConnectionError):
        cause = exc.__cause__ or exc
        return LlmUnavailableError(
            f"cannot reach the Anthropic API at {_public(client.base_url)} ({retries}): {cause}"
        )
    if not isinstance(exc, anthropic.APIStatusError):
        return LlmError(f"the Anthropic API answered something unreadable: {exc.message}")
    status, kind = exc.status_code, exc.type or "error"
    api_message = exc.api_message or ""
    if isinstance(exc, anthropic.AuthenticationError):
        return LlmAuthError(
            f"the Anthropic API rejected the API key ({status} {kind}): check ANTHROPIC_API_KEY"
        )
    if isinstance(exc, anthropic.PermissionDeniedError):
        return LlmAuthError(
            f"the Anthropic API key may not do this ({status} {kind}): {api_message}"
        )
    if status == 529:
        return LlmUnavailableError(
            f"the Anthropic API is overloaded ({status} {kind}) and stayed so {retries}; "
            f"try again in a few minutes"
        )
    if status == 429:
        return LlmUnavailableError(
            f"the Anthropic API is rate-limiting this key ({status} {kind}) {retries}: "
            f"{api_message}"
        )
    if status >= 500:
        return LlmUnavailableError(
            f"the Anthropic API failed ({status} {kind}) {retries}: {api_message}"
        )
    return LlmRequestError(
        f"the Anthropic API rejected the request ({status} {kind}): {api_message}",
        api_message=api_message,
    )


def _public(url: object) -> str:
    """``url`` without user and password (ANTHROPIC_BASE_URL may carry a proxy's)."""
    parts = urlsplit(str(url))
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
