"""The socket layer: the request handler that routes to ``LokiApi``.

It applies what sits in front of Loki in production (auth, tenancy header, a path
prefix from a reverse proxy) and the scripted faults, records every request, and counts
the bytes it sends. HTTP/1.1 keep-alive is on, as httpx expects from a real Loki.
"""

from __future__ import annotations

import base64
import hmac
import io
import socket
import struct
import traceback
from typing import IO, TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from .api import TEXT_TYPE, Response
from .errors import LokiError, Unauthorized
from .faults import Fault, FaultKind
from localserver import LocalHTTPServer, QuietHandler

if TYPE_CHECKING:
    from .sim import LokiSim

_NOT_FOUND = Response.text(404, "404 page not found\n")
_API = "/loki/api/v1"


class _CountingWriter:
    """Wraps the socket writer so the simulator can report bytes sent."""

    def __init__(self, inner: IO[bytes] | io.BufferedIOBase, sim: LokiSim) -> None:
        self._inner = inner
        self._sim = sim

    def write(self, data: bytes) -> int:
        # Count first: once the bytes are out, the client may read them and check the
        # count before this thread runs again.
        self._sim._count_sent(len(data))
        return self._inner.write(data)

    def flush(self) -> None:
        if not self._inner.closed:  # closed already after a reset fault
            self._inner.flush()

    def close(self) -> None:
        self._inner.close()

    @property
    def closed(self) -> bool:
        return self._inner.closed


class LokiRequestHandler(QuietHandler):
    """One connection; each request goes auth -> fault -> API -> response."""

    server_version = "lokisim"
    server: LocalHTTPServer[LokiSim]

    def setup(self) -> None:
        super().setup()
        self.wfile = _CountingWriter(self.wfile, self.server.owner)  # type: ignore[assignment]

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    # -- request flow -----------------------------------------------------------------

    def _serve(self, method: str) -> None:
        sim = self.server.owner
        split = urlsplit(self.path)
        params = parse_qs(split.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        if method == "POST" and headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            for key, values in parse_qs(body.decode(), keep_blank_values=True).items():
                params.setdefault(key, []).extend(values)
        path = split.path
        api_path = sim._strip_prefix(path)
        sim._record(method, path, params, headers)
        fault = sim.faults.take_for(path, api_path)
        if fault is not None:
            if fault.kind is FaultKind.RESET:
                self._reset()
                return
            if fault.kind is FaultKind.STATUS:
                self._write(_fault_response(fault))
                return
            if fault.kind is FaultKind.DELAY:
                sim._stopping.wait(fault.seconds)
        response = self._answer(method, api_path, params, body, headers)
        self._write(response, truncate=fault is not None and fault.kind is FaultKind.TRUNCATE)

    def _answer(
        self,
        method: str,
        path: str | None,
        params: dict[str, list[str]],
        body: bytes,
        headers: dict[str, str],
    ) -> Response:
        sim = self.server.owner
        if path is None:
            return _NOT_FOUND
        try:
            if path == "/ready":
                return Response.text(200, "ready")
            _check_auth(sim, headers)
            return _route(sim, method, path, params, body, headers)
        except LokiError as exc:
            return Response.text(exc.status, exc.message)
        except Exception as exc:  # a simulator bug: answer 500, keep it for assertions
            sim.errors.append(traceback.format_exc())
            return Response.text(500, f"lokisim internal error: {exc!r}")

    def _write(self, response: Response, *, truncate: bool = False) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != 204:
            self.send_header("Content-Length", str(len(response.body)))
        if truncate:
            self.send_header("Connection", "close")
        self.end_headers()
        body = response.body[: len(response.body) // 2] if truncate else response.body
        if body and response.status != 204:
            self.wfile.write(body)
        self.wfile.flush()
        if truncate:
            self.close_connection = True

    def _reset(self) -> None:
        """Abort with RST: SO_LINGER 0 then close before anything is written."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.wfile.close()
        self.server.forget(self.connection)
        self.connection.close()


def _fault_response(fault: Fault) -> Response:
    response = Response.text(fault.status_code, fault.body)
    if fault.retry_after is not None:
        response.headers["Retry-After"] = fault.retry_after
    return response


def _check_auth(sim: LokiSim, headers: dict[str, str]) -> None:
    """Credentials first (the gateway), then the tenant header (Loki itself)."""
    auth = sim.auth
    if auth.basic is not None or auth.bearer is not None:
        given = headers.get("authorization", "")
        accepted = []
        if auth.basic is not None:
            token = base64.b64encode(f"{auth.basic[0]}:{auth.basic[1]}".encode()).decode()
            accepted.append(f"Basic {token}")
        if auth.bearer is not None:
            accepted.append(f"Bearer {auth.bearer}")
        if not any(hmac.compare_digest(given.encode(), a.encode()) for a in accepted):
            raise Unauthorized("unauthorized")
    if auth.org_id:
        tenant = headers.get("x-scope-orgid", "")
        if not tenant:
            raise Unauthorized("no org id")
        if isinstance(auth.org_id, str) and tenant != auth.org_id:
            raise Unauthorized("unauthorized")


def _route(
    sim: LokiSim,
    method: str,
    path: str,
    params: dict[str, list[str]],
    body: bytes,
    headers: dict[str, str],
) -> Response:
    api = sim.api
    reads = method in ("GET", "POST")
    if path == f"{_API}/push":
        return api.push(body, headers) if method == "POST" else _not_allowed()
    if path == f"{_API}/query_range":
        return api.query_range(params) if reads else _not_allowed()
    if path == f"{_API}/query":
        return api.query(params) if reads else _not_allowed()
    if path in (f"{_API}/labels", f"{_API}/label"):
        return api.labels(params) if reads else _not_allowed()
    if path == f"{_API}/series":
        return api.series(params) if reads else _not_allowed()
    if path == f"{_API}/patterns" and api.pattern_ingester.enabled:
        return api.patterns(params) if reads else _not_allowed()
    prefix, suffix = f"{_API}/label/", "/values"
    if path.startswith(prefix) and path.endswith(suffix) and len(path) > len(prefix + suffix):
        name = unquote(path[len(prefix) : -len(suffix)])
        return api.label_values(name, params) if reads else _not_allowed()
    return _NOT_FOUND


def _not_allowed() -> Response:
    return Response(405, b"Method Not Allowed\n", TEXT_TYPE)
