"""How a REST handler answers: a :class:`Reply`, or an :class:`ApiError` GitHub's way."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .faults import DOCS

if TYPE_CHECKING:
    from .server import GitHubSim
    from .state import Account

__all__ = ["ApiError", "Call", "Reply", "Route"]


@dataclass
class Reply:
    status: int
    json: Any = None
    headers: list[tuple[str, str]] = field(default_factory=list)


class ApiError(Exception):
    """An error answer: ``{"message", "documentation_url", ...}`` as GitHub writes it."""

    def __init__(self, status: int, message: str, *, errors: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors

    def reply(self) -> Reply:
        body: dict[str, Any] = {"message": self.message, "documentation_url": DOCS}
        if self.errors is not None:
            body["errors"] = self.errors
        if self.status in (401, 403, 404):
            body["status"] = str(self.status)
        return Reply(self.status, body)


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def invalid(message: str, *, resource: str, field_name: str | None = None) -> ApiError:
    """422 "Validation Failed" with one error, the shape of most of GitHub's 422s."""
    error: dict[str, Any] = {"resource": resource, "code": "custom", "message": message}
    if field_name:
        error["field"] = field_name
    return ApiError(422, "Validation Failed", errors=[error])


@dataclass
class Call:
    """One REST request, authenticated, as a handler sees it."""

    sim: GitHubSim
    account: Account
    params: Mapping[str, str]
    """Path parameters of the route."""
    query: Mapping[str, str]
    body: Any


Handler = Callable[[Call], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    write: bool = False
    """Needs a token allowed to write (read-only tokens get 403)."""


def route(method: str, template: str, handler: Handler) -> Route:
    """``/repos/{owner}/{repo}/pulls/{pull_number}`` as a regex on the path after the base
    (``{ref}`` and ``{name}`` may hold slashes, as GitHub allows)."""
    slashy = {"ref", "basehead"}

    def group(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"(?P<{name}>.+)" if name in slashy else f"(?P<{name}>[^/]+)"

    pattern = re.compile("^" + re.sub(r"\{(\w+)\}", group, template) + "$")
    return Route(method, pattern, handler, write=method != "GET")
