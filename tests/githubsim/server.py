"""The socket side of GitHubSim: each request goes log → fault → auth → route → contract.

REST lives under ``/api/v3``; ``/{owner}/{name}.git/...`` is git smart HTTP, handed to
:mod:`.githttp` (``git http-backend``) once Basic auth names a known token as password.
"""

from __future__ import annotations

import base64
import json
import time
import traceback
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .faults import FaultKind
from .replies import ApiError, Call, Reply
from .rest_git import ROUTES as GIT_ROUTES
from .rest_pulls import ROUTES as PULL_ROUTES
from .state import Account
from localserver import LocalHTTPServer, QuietHandler

if TYPE_CHECKING:
    from .sim import Exchange, GitHubSim

API_PREFIX = "/api/v3"
ROUTES = [*GIT_ROUTES, *PULL_ROUTES]
_JSON = "application/json; charset=utf-8"


class GitHubHandler(QuietHandler):
    server_version = "githubsim"
    server: LocalHTTPServer[GitHubSim]

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self, method: str) -> None:
        from .sim import Exchange

        sim = self.server.owner
        arrived = time.time()
        split = urlsplit(self.path)
        body = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        authorization = headers.pop("authorization", None)
        exchange = Exchange(
            method,
            split.path,
            split.query,
            _json_or_none(body),
            headers,
            arrived,
            authorization=authorization.split(" ", 1)[0] if authorization else None,
        )
        with sim.lock:
            sim.log.append(exchange)
        git_prefix = f"/{sim.owner_login}/{sim.name}.git/"
        if split.path.startswith(git_prefix):
            exchange.git = True
            self._serve_git(sim, exchange, authorization, body)
            return
        fault = sim.faults.take(method, split.path)
        if fault is not None:
            exchange.fault = fault.kind
            if fault.kind is FaultKind.DROP:
                self.close_connection = True
                self.connection.close()
                return
            status, fault_headers, fault_body = fault.answer()
            self._check_contract(sim, exchange, body, None, [], b"")
            self._send(exchange, status, fault_headers, fault_body)
            return
        reply, validate = self._answer(sim, method, split.path, split.query, body, authorization)
        payload = b"" if reply.status == 204 else json.dumps(reply.json).encode()
        out_headers = [("Content-Type", _JSON), *_rate_headers(), *reply.headers]
        api_path = split.path.removeprefix(API_PREFIX)
        self._check_contract(
            sim,
            exchange,
            body,
            reply.status if validate else None,
            out_headers,
            payload,
            path=api_path,
        )
        self._send(exchange, reply.status, out_headers, payload)

    def _answer(
        self,
        sim: GitHubSim,
        method: str,
        path: str,
        query: str,
        body: bytes,
        authorization: str | None,
    ) -> tuple[Reply, bool]:
        """The reply, and whether its shape is held to the operation's schema (not for a
        sim bug, nor a path outside the API)."""
        if not path.startswith(API_PREFIX + "/"):
            return ApiError(404, "Not Found").reply(), False
        api_path = path.removeprefix(API_PREFIX)
        account = _account(sim, authorization)
        if account is None:
            message = "Bad credentials" if authorization else "Requires authentication"
            return ApiError(401, message).reply(), True
        for route in ROUTES:
            match = route.pattern.match(api_path) if route.method == method else None
            if match is None:
                continue
            params = {key: unquote(value) for key, value in match.groupdict().items()}
            if "owner" in params and (params["owner"], params["repo"]) != (
                sim.owner_login,
                sim.name,
            ):
                return ApiError(404, "Not Found").reply(), True
            if route.write and account.read_only:
                kind = "integration" if account.installation else "personal access token"
                return ApiError(403, f"Resource not accessible by {kind}").reply(), True
            call = Call(sim, account, params, dict(parse_qsl(query)), _json_or_none(body) or {})
            try:
                with sim.lock:
                    reply = route.handler(call)
            except ApiError as error:
                reply = error.reply()
            except Exception:
                sim.errors.append(traceback.format_exc())
                return Reply(500, {"message": "githubsim internal error"}), False
            if sim.response_hook is not None:
                reply = sim.response_hook(method, api_path, reply)
            return reply, True
        if sim.contract is not None:
            sim.contract.note(f"{method} {api_path}: not served by githubsim")
        return ApiError(404, "Not Found").reply(), False

    def _check_contract(
        self,
        sim: GitHubSim,
        exchange: Exchange,
        body: bytes,
        status: int | None,
        headers: list[tuple[str, str]],
        payload: bytes,
        *,
        path: str | None = None,
    ) -> None:
        if sim.contract is None or not exchange.path.startswith(API_PREFIX + "/"):
            return
        request_headers = dict(exchange.headers)
        sim.contract.check(
            method=exchange.method,
            path=path or exchange.path.removeprefix(API_PREFIX),
            query=exchange.query,
            request_headers=request_headers,
            request_body=body,
            status=status,
            response_headers=headers,
            response_body=payload,
        )

    def _send(
        self, exchange: Exchange, status: int, headers: list[tuple[str, str]], payload: bytes
    ) -> None:
        exchange.status, exchange.response_headers = status, headers
        # Stamped before the first byte goes out: the client cannot have read the answer
        # (and started a Retry-After sleep) earlier. Recorded only once the write succeeded.
        writing = time.time()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)
        self.wfile.flush()
        exchange.answered = writing

    def _serve_git(
        self, sim: GitHubSim, exchange: Exchange, authorization: str | None, body: bytes
    ) -> None:
        account = _basic_account(sim, authorization)
        if account is None:
            self._send(
                exchange,
                401,
                [("WWW-Authenticate", 'Basic realm="GitHub"'), ("Content-Type", "text/plain")],
                b"Invalid username or token.\n",
            )
            return
        from .githttp import serve_git  # another engineer's module; imported when used

        split = urlsplit(self.path)
        status, headers, payload = serve_git(
            exchange.method,
            unquote(split.path),
            split.query,
            exchange.headers,
            body,
            project_root=sim.git_root,
            remote_user=account.login,
        )
        headers = [(name, value) for name, value in headers if name.lower() != "content-length"]
        self._send(exchange, status, headers, payload)


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _rate_headers() -> list[tuple[str, str]]:
    return [
        ("x-ratelimit-limit", "5000"),
        ("x-ratelimit-remaining", "4999"),
        ("x-ratelimit-used", "1"),
        ("x-ratelimit-resource", "core"),
        ("x-ratelimit-reset", str(int(time.time()) + 3600)),
        ("x-github-api-version-selected", "2022-11-28"),
    ]


def _account(sim: GitHubSim, authorization: str | None) -> Account | None:
    """``token X`` or ``Bearer X``, as GitHub accepts a token."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() not in ("token", "bearer") or not value:
        return None
    return sim.account_for_token(value.strip())


def _basic_account(sim: GitHubSim, authorization: str | None) -> Account | None:
    """Basic auth whose password is a known token (any username, as GitHub takes it)."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        _, _, password = base64.b64decode(value.strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return sim.account_for_token(password) if password else None
