"""GitHub's OpenAPI description as the judge of every request and response of the sim.

The description (``../shared/github-openapi/api.github.com.json``, 13 MB) is read once per
process; openapi-core builds its validator lazily, so building one costs milliseconds. The
sim serves under a base path (``/api/v3``, as GitHub Enterprise does) on 127.0.0.1: each
request is checked as if sent to ``https://api.github.com`` with that prefix removed.
Mismatches are collected, never raised, so the server keeps answering and the test fixture
fails the test at teardown with the whole list.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.responses.exceptions import ResponseNotFound
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_PATH = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "github-openapi"
    / ("api.github.com.json")
)
SPEC_MISSING = (
    "../shared/github-openapi/api.github.com.json not found: the GitHub contract tests need it"
)
_HOST = "https://api.github.com"
_ANY_OPERATION = frozenset({401, 403, 404})
_SLASHY = re.compile(r"^(/repos/[^/]+/[^/]+/(?:git/(?:matching-)?refs?|compare))/(.+)$")
"""Operations whose last parameter holds slashes (``heads/main``); openapi-core matches a
parameter within one segment, so the check sees the slashes percent-encoded."""


@functools.cache
def spec() -> dict[str, Any]:
    """The description as a dict (raises FileNotFoundError when absent)."""
    with SPEC_PATH.open("rb") as handle:
        loaded: dict[str, Any] = json.load(handle)
    return loaded


@functools.cache
def _openapi() -> OpenAPI:
    return OpenAPI.from_dict(spec(), config=Config(spec_validator_cls=None))


class _Request:
    """A request as openapi-core reads it (it writes the resolved path parameters back)."""

    host_url = _HOST

    def __init__(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes | None
    ) -> None:
        self.method = method
        self.path = path
        self.body = body
        self.content_type = headers.get("content-type", "application/json").lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(query, keep_blank_values=True)),
            header=Headers(list(headers.items())),
        )


@dataclass(frozen=True)
class _Response:
    status_code: int
    headers: Headers
    data: bytes | None

    @property
    def content_type(self) -> str:
        return str(self.headers.get("content-type", "application/json")).lower()


@dataclass
class Contract:
    """Checks exchanges against the description; ``mismatches`` lists what failed."""

    mismatches: list[str] = field(default_factory=list)
    checked: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def check(
        self,
        *,
        method: str,
        path: str,
        query: str,
        request_headers: Mapping[str, str],
        request_body: bytes,
        status: int | None,
        response_headers: list[tuple[str, str]],
        response_body: bytes,
    ) -> None:
        """Validates the request, and the response unless ``status`` is None (a scripted
        fault or a cross-cutting answer the description does not list per operation)."""
        slashy = _SLASHY.match(path)
        if slashy:
            path = f"{slashy.group(1)}/{slashy.group(2).replace('/', '%2F')}"
        request = _Request(
            method.lower(),
            path,
            query,
            {k.lower(): v for k, v in request_headers.items()},
            request_body or None,
        )
        problems: list[str] = []
        api = _openapi()
        try:
            api.validate_request(request)
        except Exception as exc:
            problems.append(f"request: {_explain(exc)}")
        if status is not None:
            response = _Response(status, Headers(response_headers), response_body or None)
            try:
                api.validate_response(request, response)
            except ResponseNotFound:
                # GitHub answers these to any operation (bad token, a permission the token
                # lacks, a missing resource); the description lists them for some only.
                if status not in _ANY_OPERATION:
                    problems.append(f"response {status}: not a status this operation has")
            except Exception as exc:
                problems.append(f"response {status}: {_explain(exc)}")
        with self._lock:
            self.checked += 1
            self.mismatches.extend(f"{method} {path}: {problem}" for problem in problems)

    def note(self, problem: str) -> None:
        """A problem found outside the schema check (an endpoint the sim does not serve)."""
        with self._lock:
            self.mismatches.append(problem)


def _explain(exc: BaseException) -> str:
    """Where in the document and why, for a schema mismatch (not the whole value: a pull
    request in a message is unreadable); else the error itself."""
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None:
        for error in getattr(current, "schema_errors", None) or ():
            where = "/".join(map(str, error.absolute_path)) or "(root)"
            parts.append(f"at {where}: {str(error.message)[:300]}")
        current = current.__cause__ or current.__context__
    return "\n    ".join(parts) or f"{type(exc).__name__}: {str(exc)[:300]}"


def schema_template(name: str) -> dict[str, Any]:
    """A minimal valid instance of ``components/schemas/name``: every required property
    with a placeholder of the right type and format (nullable ones None). Serializers put
    the sim's real values over it, so objects carry every field GitHub's own do."""
    return copy.deepcopy(_cached_template(name))


@functools.cache
def _cached_template(name: str) -> dict[str, Any]:
    value = _template({"$ref": f"#/components/schemas/{name}"}, depth=0)
    assert isinstance(value, dict)
    return value


def _resolve(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        node: Any = spec()
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "uri": "https://api.github.com/placeholder",
    "uri-template": "https://api.github.com/placeholder{/id}",
    "email": "placeholder@example.com",
    "date": "2024-01-01",
}


def _template(schema: Mapping[str, Any], *, depth: int) -> Any:
    schema = _resolve(schema)
    if depth > 12:
        return None
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            sub = _template(part, depth=depth + 1)
            if isinstance(sub, dict):
                merged.update(sub)
        return merged
    if schema.get("nullable"):
        return None
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return _template(schema[key][0], depth=depth + 1)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {
            name: _template(properties.get(name, {}), depth=depth + 1)
            for name in schema.get("required", ())
        }
    if kind == "array":
        return []
    if kind == "string":
        return _FORMATS.get(schema.get("format", ""), "")
    if kind == "integer":
        return max(0, int(schema.get("minimum", 0)))
    if kind == "number":
        return 0
    if kind == "boolean":
        return False
    return None
