"""What every vcrpy cassette of ours keeps of an exchange, and what it drops.

A recording is made against a local server on an ephemeral port; the cassette names a
fixed host instead, and keeps only the headers that say what was asked and answered
(Date, Server, credentials and the like change between runs or must never be stored).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import urlsplit


def scrubbers(
    replay_url: str, request_headers: Collection[str], response_headers: Collection[str]
) -> tuple[Callable[[Any], Any], Callable[[dict[str, Any]], dict[str, Any]]]:
    """``before_record_request`` and ``before_record_response`` hooks for vcrpy."""

    def scrub_request(request: Any) -> Any:
        parts = urlsplit(request.uri)
        request.uri = replay_url + parts.path + (f"?{parts.query}" if parts.query else "")
        request.headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() in request_headers
        }
        return request

    def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
        response["headers"] = {
            name: values
            for name, values in response["headers"].items()
            if name.lower() in response_headers
        }
        return response

    return scrub_request, scrub_response
