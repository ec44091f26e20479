"""A real Grafana Loki for the tests that must be measured against Loki itself.

lokisim is fast and scriptable, but it only behaves like Loki where someone wrote it to;
the push-down equivalence suite runs against the real server so that the product (and
lokisim) are measured against Loki, not the reverse. The binary is not part of this repo:
it is read from ``../shared/loki/`` beside the checkout (CI has the same folder), or from
``MICRO_GASTOWN_TEST_LOKI`` (a ``loki`` binary, its ``.xz`` archive, or a folder holding
either and ``loki-local.yaml``). Absent, the tests skip naming where they looked; with
``CI=true`` they fail instead, since CI always has it.

One server per test session (startup takes 10-15 s on 2 cores), on free 127.0.0.1 ports
with its data in a temporary directory, always stopped at the end. Real Loki refuses
entries older than 168h and too far in the future, and a fresh server answers only from
its ingesters for the last ~2.5 h: push data time-stamped within that, relative to now.
"""

from __future__ import annotations

import contextlib
import json
import lzma
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

ENV_VAR: Final = "MICRO_GASTOWN_TEST_LOKI"
DEFAULT_FOLDER: Final = Path(__file__).resolve().parents[1] / ".." / "shared" / "loki"
CONFIG_NAME: Final = "loki-local.yaml"
READY_WITHIN_S: Final = 90.0
STOP_WITHIN_S: Final = 15.0
PUSH_BODY_BYTES: Final = 1_000_000
"""Loki's gRPC limit is 4 MB a message; pushes stay well under it."""

KEEP_LABELS_AS_PUSHED: Final = """\
# Written by the tests' realloki fixture: keep the labels a push carries, add none.
overrides:
  fake:  # the tenant of a Loki without auth
    discover_log_levels: false
    discover_service_name: []
"""
"""Per-tenant overrides (``-runtime-config.file``). Loki 3 adds ``detected_level``
(structured metadata) and ``service_name`` to what it is sent; an export already carries
the ones its Loki gave it, and pushed again it would come back with a
``detected_level_extracted`` label, or a ``service_name`` the file does not have."""

# The server is always local: never route its requests through an HTTP(S)_PROXY.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class LokiMissing(Exception):
    """No Loki binary (or no config for it) where the tests look; says where that was."""


@dataclass(frozen=True)
class LokiFiles:
    """A Loki binary (or its ``.xz`` archive) and the config to run it with."""

    binary: Path
    config: Path

    @property
    def packed(self) -> bool:
        return self.binary.suffix == ".xz"


def locate(environ: Mapping[str, str] | None = None) -> LokiFiles:
    """The Loki to run: ``MICRO_GASTOWN_TEST_LOKI`` if set, else ``../shared/loki``."""
    environ = os.environ if environ is None else environ
    given = environ.get(ENV_VAR)
    where = Path(given) if given else DEFAULT_FOLDER.resolve()
    origin = f"{ENV_VAR}={given}" if given else f"{where} (set {ENV_VAR} to override)"
    if where.is_file():
        folder, binary = where.parent, where
    elif where.is_dir():
        folder = where
        candidates = [*sorted(where.glob("loki-*-linux-amd64.xz")), where / "loki"]
        binary = next((path for path in candidates if path.is_file()), where / "loki")
        if not binary.is_file():
            raise LokiMissing(f"no loki binary or loki-*-linux-amd64.xz in {origin}")
    else:
        raise LokiMissing(f"no real Loki: nothing at {origin}")
    config = next(
        (path for path in (folder / CONFIG_NAME, DEFAULT_FOLDER / CONFIG_NAME) if path.is_file()),
        None,
    )
    if config is None:
        raise LokiMissing(f"no {CONFIG_NAME} beside {binary} (from {origin})")
    return LokiFiles(binary, config)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RealLoki:
    """A running Loki: its base URL, and a ``push`` in the shape ``factories.push_export``
    uses with lokisim, over Loki's real push API."""

    url: str
    log: Path

    def push(self, labels: Mapping[str, str], entries: Iterable[tuple[int, str]]) -> None:
        """Push one stream's entries, in bodies of at most ~1 MB."""
        with self.batch() as batch:
            batch.push(labels, entries)

    @contextlib.contextmanager
    def batch(self) -> Iterator[PushBatch]:
        """A pusher that packs many streams into each body (one span is one stream, so a
        request per stream would be thousands); everything is sent when the block ends."""
        batch = PushBatch(self)
        yield batch
        batch.flush()

    def post(self, streams: list[dict[str, object]]) -> None:
        body = json.dumps({"streams": streams}).encode()
        request = urllib.request.Request(
            f"{self.url}/loki/api/v1/push",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with _OPENER.open(request, timeout=30) as response:
                response.read()
        except urllib.error.HTTPError as err:
            with err:
                text = err.read().decode("utf-8", "replace")[:500]
            raise AssertionError(f"Loki refused a push ({err.code}): {text}") from None

    def get(self, path: str) -> tuple[int, str]:
        """GET ``path`` (no retries); the status and the body as text."""
        try:
            with _OPENER.open(f"{self.url}{path}", timeout=5) as response:
                return int(response.status), response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            with err:
                return err.code, err.read().decode("utf-8", "replace")


class PushBatch:
    """Streams collected into push bodies of about ``PUSH_BODY_BYTES`` each."""

    def __init__(self, loki: RealLoki) -> None:
        self._loki = loki
        self._streams: list[dict[str, object]] = []
        self._size = 0

    def push(self, labels: Mapping[str, str], entries: Iterable[tuple[int, str]]) -> None:
        values: list[list[str]] = []
        for ts, line in sorted(entries, key=lambda entry: entry[0]):
            values.append([str(ts), line])
            self._size += len(line) + 40
            if self._size >= PUSH_BODY_BYTES:
                self._streams.append({"stream": dict(labels), "values": values})
                self.flush()
                values = []
        if values:
            self._streams.append({"stream": dict(labels), "values": values})

    def flush(self) -> None:
        if self._streams:
            self._loki.post(self._streams)
        self._streams, self._size = [], 0


def unpack(files: LokiFiles, into: Path) -> Path:
    """An executable copy of the binary in ``into`` (the repository never holds one)."""
    target = into / "loki"
    if files.packed:
        with lzma.open(files.binary) as packed, target.open("wb") as out:
            shutil.copyfileobj(packed, out, 1 << 20)
    else:
        shutil.copyfile(files.binary, target)
    target.chmod(0o755)
    return target


@contextlib.contextmanager
def running_loki(files: LokiFiles, workdir: Path) -> Iterator[RealLoki]:
    """Loki on free 127.0.0.1 ports with its data under ``workdir``, ready; always stopped."""
    binary = unpack(files, workdir)
    data = workdir / "data"
    data.mkdir()
    http_port, grpc_port = free_port(), free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "LOKI_DATA_DIR": str(data),
        "LOKI_HTTP_PORT": str(http_port),
        "LOKI_GRPC_PORT": str(grpc_port),
    }
    overrides = workdir / "overrides.yaml"
    overrides.write_text(KEEP_LABELS_AS_PUSHED)
    log = workdir / "loki.log"
    loki = RealLoki(f"http://127.0.0.1:{http_port}", log)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(binary),
                f"-config.file={files.config}",
                "-config.expand-env=true",
                f"-runtime-config.file={overrides}",
                "-log.level=warn",
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
        )
        try:
            _wait_ready(loki, process)
            yield loki
        finally:
            process.terminate()
            try:
                process.wait(STOP_WITHIN_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(loki: RealLoki, process: subprocess.Popen[bytes]) -> None:
    """Poll ``/ready`` until it says ready, the process dies, or ``READY_WITHIN_S`` pass."""
    deadline = time.monotonic() + READY_WITHIN_S
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"Loki exited with {process.returncode} before it was ready:\n{_tail(loki.log)}"
            )
        try:
            status, text = loki.get("/ready")
        except OSError as exc:  # not listening yet
            last = repr(exc)
        else:
            if status == 200 and text.strip() == "ready":
                return
            last = f"{status} {text.strip()}"
        time.sleep(0.25)
    raise RuntimeError(
        f"Loki was not ready within {READY_WITHIN_S:g} s (last: {last}):\n{_tail(loki.log)}"
    )


def _tail(log: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    return "(no log)"


@pytest.fixture(scope="session")
def real_loki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealLoki]:
    """The session's real Loki; skipped (failed under ``CI=true``) when it is absent."""
    try:
        files = locate()
    except LokiMissing as missing:
        message = f"real Loki tests need the Loki binary: {missing}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI must provide it)")
        pytest.skip(message)
    with running_loki(files, tmp_path_factory.mktemp("realloki")) as loki:
        yield loki
