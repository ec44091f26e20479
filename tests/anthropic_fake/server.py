"""The socket layer: a threaded HTTP/1.1 server answering ``POST /v1/messages`` from a script.

Each valid request takes the next scripted reply; a request the API would reject is
answered with the API's error and takes nothing from the script. Every request is kept
(``FakeAnthropic.requests``) for assertions, with auth headers redacted.
"""

from __future__ import annotations

import json
import threading
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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
from localserver import BackgroundServer, LocalHTTPServer, QuietHandler

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


class _Handler(QuietHandler):
    """Hands each request to ``FakeAnthropic.answer`` and writes its answer as JSON."""

    server_version = "anthropic-fake"
    server: LocalHTTPServer[FakeAnthropic]

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            status, extra, body = self.server.owner.answer(method, self.path, headers, raw)
        except Exception as exc:  # a bug of the fake: answer 500 and keep it for the test
            self.server.owner.errors.append(traceback.format_exc())
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


class FakeAnthropic(BackgroundServer):
    """A scripted Anthropic Messages API on 127.0.0.1 and an ephemeral port.

    ``with FakeAnthropic([message(text("hi"))]) as fake:`` then point a client at
    ``fake.url`` with ``fake.api_key``. After the run: ``fake.requests`` (everything
    received), ``fake.rejections`` (requests the API rules refused, with the reason),
    ``fake.remaining`` (replies never asked for) and ``fake.errors`` (bugs of the fake or
    requests beyond the script; a test should assert it is empty).
    """

    handler = _Handler

    def __init__(
        self,
        script: Iterable[Reply] = (),
        *,
        api_key: str = DEFAULT_API_KEY,
        min_cacheable_tokens: int = 0,
    ) -> None:
        super().__init__()
        self.script: list[Reply] = list(script)
        self.api_key = api_key
        self.cache = PromptCache(min_cacheable_tokens)
        self.counters = Counters()
        self.requests: list[ReceivedRequest] = []
        self.rejections: list[str] = []
        self._lock = threading.Lock()

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
