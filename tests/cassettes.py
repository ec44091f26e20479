"""What every vcrpy cassette of ours keeps of an exchange, and what it drops.

A recording is made against a local server on an ephemeral port; the cassette names a
fixed host instead, and keeps only the headers that say what was asked and answered
(Date, Server, credentials and the like change between runs or must never be stored).

The Anthropic Messages API cassettes (``tests/data/cassettes/anthropic/``) are recorded
from ``anthropic_fake`` and replayed by more than one test module (the backend's own
flows, refine's drafting loop): their directory, replay host and vcrpy options live here,
so every module records and matches them the same way.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

RECORD = os.environ.get("MG_RECORD_CASSETTES") == "1"
"""``MG_RECORD_CASSETTES=1``: record the cassettes again (from the fakes) before replaying."""


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


# -- the Anthropic Messages API ---------------------------------------------------------------

ANTHROPIC_CASSETTES = Path(__file__).resolve().parent / "data" / "cassettes" / "anthropic"
ANTHROPIC_REPLAY_URL = "http://anthropic-fake.test"  # stands in for the fake's ephemeral port
_ANTHROPIC_REQUEST_HEADERS = ("content-type", "anthropic-version")
_ANTHROPIC_RESPONSE_HEADERS = ("content-type", "content-length", "request-id", "retry-after-ms")
_scrub_anthropic_request, _scrub_anthropic_response = scrubbers(
    ANTHROPIC_REPLAY_URL, _ANTHROPIC_REQUEST_HEADERS, _ANTHROPIC_RESPONSE_HEADERS
)

ANTHROPIC_CASSETTE_OPTIONS: dict[str, Any] = {
    "serializer": "yaml",
    # "body" compares JSON bodies as parsed JSON when both sides say application/json
    "match_on": ("method", "path", "body"),
    "filter_headers": ["x-api-key", "authorization"],
    "before_record_request": _scrub_anthropic_request,
    "before_record_response": _scrub_anthropic_response,
}
"""``vcr.VCR(**ANTHROPIC_CASSETTE_OPTIONS)``: how an Anthropic cassette is written and
matched (a drifted prompt, tool list or ``tool_choice`` is a different request)."""


def sent(cassette: Any) -> list[dict[str, Any]]:
    """The JSON bodies a cassette (in use, or loaded from its file) pins as sent, in order."""
    return [json.loads(request.body) for request in cassette.requests]
