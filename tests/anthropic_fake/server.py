"""The socket layer: a threaded HTTP/1.1 server answering ``POST /v1/messages`` from a script.

Each valid request takes the next scripted reply; a request the API would reject is
answered with the API's error and takes nothing from the script. Every request is kept
(``FakeAnthropic.requests``) for assertions, with auth headers redacted.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from .api import (
    API_PATH,
    Counters,
    InvalidRequest,
    PromptCache,
    check_headers,
    error_body,
    message_body,
    parse_body,
)
from .replies import ErrorReply, MessageReply, Reply

DEFAULT_API_KEY = "sk-ant-fake-key"
_REDACTED = ("x-api-key", "authorization")


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the fake saw it, and the status it answered."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    status: int


class FakeAnthropic:
    """A scripted Anthropic Messages API on 127.0.0.1 and an ephemeral port.

    ``with FakeAnthropic([message(text("hi"))]) as fake:`` then point a client at
    ``fake.url`` with ``fake.api_key``. After the run: ``fake.requests`` (everything
    received), ``fake.rejections`` (requests the API rules refused, with the reason),
    ``fake.remaining`` (replies never asked for) and ``fake.errors`` (bugs of the fake or
    requests beyond the script; a test should assert it is empty).
    """

    def __init__(
        self,
        script: Iterable[Reply] = (),
        *,
        api_key: str = DEFAULT_API_KEY,
        min_cacheable_tokens: int = 0,
    ) -> None:
        self.script: list[Reply] = list(script)
        self.api_key = api_key
        self.cache = PromptCache(min_cacheable_tokens)
        self.counters = Counters()
        self.requests: list[ReceivedRequest] = []
        self.rejections: list[str] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeAnthropic:
        if self._server is not None:
            raise RuntimeError("FakeAnthropic already started")
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="anthropic-fake",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()  # ends any scripted delay
        server.shutdown()
        server.drop_connections()  # idle keep-alive handlers would block server_close
        server.server_close()
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeAnthropic is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def remaining(self) -> int:
        with self._lock:
            return len(self.script)

    @property
    def bodies(self) -> list[Any]:
        """The JSON bodies of every request to ``/v1/messages``, in order."""
        with self._lock:
            return [r.body for r in self.requests if r.path == API_PATH]

    # -- one request ------------------------------------------------------------------------

    def answer(
        self, method: str, path: str, headers: Mapping[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """Status, extra headers and body for one request (called by the handler)."""
        status, extra, payload, delay_s = self._answer(method, path, headers, raw)
        if delay_s:
            self._stopping.wait(delay_s)
        return status, extra, payload

    def _answer(
        self, method: str, path: str, headers: Mapping[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes, float]:
        with self._lock:
            request_id = self.counters.request_id()
            body: Any = None
            try:
                if path != API_PATH or method != "POST":
                    raise InvalidRequest(404, f"Not found: {method} {path}")
                check_headers(headers, self.api_key)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode(errors="replace")
                parse_body(raw, headers.get("content-type", ""))
                reply = self._next_reply()
            except InvalidRequest as rejected:
                self.rejections.append(rejected.reply.message)
                reply = rejected.reply
            if isinstance(reply, MessageReply):
                status, extra = 200, {}
                payload = message_body(reply, body, self.cache, self.counters)
            else:
                status, extra = reply.status, dict(reply.headers)
                payload = error_body(reply, request_id)
            shown = {k: ("[redacted]" if k in _REDACTED else v) for k, v in headers.items()}
            self.requests.append(ReceivedRequest(method, path, shown, body, status))
        extra["request-id"] = request_id
        return status, extra, json.dumps(payload).encode(), reply.delay_s

    def _next_reply(self) -> Reply:
        if not self.script:
            message = "fake: the script has no reply left for this request"
            self.errors.append(message)
            return ErrorReply(500, message)
        return self.script.pop(0)


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], fake: FakeAnthropic) -> None:
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def drop_connections(self) -> None:
        with self.connections_lock:
            open_connections = list(self.connections)
        for connection in open_connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = traceback.format_exc()
        if "ConnectionReset" in error or "BrokenPipe" in error:
            return  # a client hanging up (timeouts) is not a bug of the fake
        self.fake.errors.append(error)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "anthropic-fake"
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: pytest output is for test failures."""

    def do_POST(self) -> None:
        self._serve("POST")

    def do_GET(self) -> None:
        self._serve("GET")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            status, extra, body = self.server.fake.answer(method, self.path, headers, raw)
        except Exception as exc:  # a bug of the fake: answer 500 and keep it for the test
            self.server.fake.errors.append(traceback.format_exc())
            status, extra = 500, {}
            body = json.dumps(
                {"type": "error", "error": {"type": "api_error", "message": repr(exc)}}
            ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
