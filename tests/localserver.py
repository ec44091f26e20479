"""The socket plumbing shared by the test suite's local HTTP servers (lokisim, anthropic_fake).

A test starts a server with ``with``, talks to it over real sockets and, on leaving,
expects every handler thread joined and every connection closed: an idle keep-alive
connection would otherwise keep its handler thread (and the test) waiting.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar

Owner = TypeVar("Owner", bound="BackgroundServer")

# Tracebacks from clients hanging up mid-answer (timeouts, scripted faults): not bugs.
_HANG_UPS = ("ConnectionError", "ConnectionReset", "BrokenPipe")


class LocalHTTPServer(ThreadingHTTPServer, Generic[Owner]):
    """Joins handler threads on close; tracks open connections so stop() can end them."""

    daemon_threads = False
    block_on_close = True

    def __init__(
        self, owner: Owner, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]
    ) -> None:
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Keep unexpected errors for the test to assert on, instead of printing them."""
        error = traceback.format_exc()
        if not any(hang_up in error for hang_up in _HANG_UPS):
            self.owner.errors.append(error)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def forget(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def drop_connections(self) -> None:
        """Shut down every open connection so idle keep-alive handler threads exit."""
        with self._connections_lock:
            open_connections = list(self._connections)
        for connection in open_connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class QuietHandler(BaseHTTPRequestHandler):
    """One keep-alive connection, known to the server; every method goes to ``_serve``."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm the second waits
    # for the client's delayed ACK (~40 ms a request on Linux). Real servers (Loki's Go
    # server among them) set TCP_NODELAY too.
    disable_nagle_algorithm = True
    server: LocalHTTPServer[Any]

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        self.server.forget(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: pytest output is for test failures."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        raise NotImplementedError


class BackgroundServer:
    """Serves ``handler`` in a background thread from start() to stop(), or within ``with``.

    ``_stopping`` is set on stop() so that scripted delays end at once; ``errors`` gets
    what the server did not expect (see ``LocalHTTPServer.handle_error``).
    """

    handler: ClassVar[type[QuietHandler]]

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.errors: list[str] = []
        self._address = (host, port)
        self._stopping = threading.Event()
        self._server: LocalHTTPServer[Self] | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Bind and serve in a background thread; returns self for chaining."""
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} already started")
        self._stopping.clear()
        self._server = LocalHTTPServer(self, self._address, self.handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=self.handler.server_version,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end open connections and join every handler thread."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        server.drop_connections()  # idle keep-alive handlers would block server_close
        server.server_close()
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (only while started)."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:53211``."""
        return f"http://{self._address[0]}:{self.port}"
