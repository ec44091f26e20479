"""A real Grafana Loki for the tests that must be measured against Loki itself.

lokisim is fast and scriptable, but it only behaves like Loki where someone wrote it to;
the push-down equivalence suite runs against the real server so that the product (and
lokisim) are measured against Loki, not the reverse. The binary is not part of this repo:
it is read from ``../shared/loki/`` beside the checkout (CI has the same folder), or from
``MICRO_GASTOWN_TEST_LOKI`` (a ``loki`` binary, its ``.xz`` archive, or a folder holding
either and ``loki-local.yaml``). Absent, the tests skip naming where they looked; with
``CI=true`` they fail instead, since CI always has it.

One server per test session (startup takes 10-15 s on 2 cores), on free 127.0.0.1 ports
with its data in a temporary directory, always stopped at the end. It runs multi-tenant
(``auth_enabled: true``), so each test pushes into and reads from a tenant of its own
(``RealLoki.tenant``, ``X-Scope-OrgID``) and sees exactly its own streams, label sets
unchanged. Real Loki refuses entries older than 168h and too far in the future, and a
fresh server answers only from its ingesters for the last ~2.5 h: push data time-stamped
within that, relative to now.
"""

from __future__ import annotations

import contextlib
import json
import lzma
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import pytest

from micro_gastown.sources.loki import LokiConfig

from factories import push_export
from lokisim import LokiSim

ENV_VAR: Final = "MICRO_GASTOWN_TEST_LOKI"
DEFAULT_FOLDER: Final = Path(__file__).resolve().parents[1] / ".." / "shared" / "loki"
CONFIG_NAME: Final = "loki-local.yaml"
READY_WITHIN_S: Final = 90.0
STOP_WITHIN_S: Final = 15.0
PUSH_BODY_BYTES: Final = 1_000_000
"""Loki's gRPC limit is 4 MB a message; pushes stay well under it."""

KEEP_LABELS_AS_PUSHED: Final = """\
  # Added by the tests' realloki fixture: keep the labels a push carries, add none.
  discover_log_levels: false
  discover_service_name: []
"""
"""Added to ``limits_config`` (every tenant's defaults). Loki 3 adds ``detected_level``
(structured metadata) and ``service_name`` to what it is sent; an export already carries
the ones its Loki gave it, and pushed again it would come back with a
``detected_level_extracted`` label, or a ``service_name`` the file does not have."""
DEFAULT_TENANT: Final = "realloki"

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


@dataclass(frozen=True)
class RealLoki:
    """A running Loki seen as one tenant: its base URL, and a ``push`` in the shape
    ``factories.push_export`` uses with lokisim, over Loki's real push API."""

    url: str
    log: Path
    tenant: str = DEFAULT_TENANT

    def for_tenant(self, tenant: str) -> RealLoki:
        """The same server, as another tenant (``X-Scope-OrgID``)."""
        return replace(self, tenant=tenant)

    def fresh_tenant(self) -> RealLoki:
        """The same server, as a tenant no other test uses."""
        return self.for_tenant(f"t-{uuid.uuid4().hex[:16]}")

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
            headers={"Content-Type": "application/json", "X-Scope-OrgID": self.tenant},
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
        headers = {"X-Scope-OrgID": self.tenant}
        request = urllib.request.Request(f"{self.url}{path}", headers=headers)
        try:
            with _OPENER.open(request, timeout=5) as response:
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
    config = workdir / "loki.yaml"
    config.write_text(multi_tenant_config(files.config.read_text()))
    log = workdir / "loki.log"
    loki = RealLoki(f"http://127.0.0.1:{http_port}", log)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(binary),
                f"-config.file={config}",
                "-config.expand-env=true",
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


def multi_tenant_config(text: str) -> str:
    """``loki-local.yaml`` with auth on (one tenant per test) and ``KEEP_LABELS_AS_PUSHED``
    in its ``limits_config``; edited as text, since the file expands ``${VAR}`` itself."""
    auth = re.compile(r"^auth_enabled:.*$", re.MULTILINE)
    if auth.search(text):
        text = auth.sub("auth_enabled: true", text)
    else:
        text = "auth_enabled: true\n" + text
    limits = re.compile(r"^limits_config:[ \t]*\n", re.MULTILINE)
    if limits.search(text):
        return limits.sub(lambda found: found.group(0) + KEEP_LABELS_AS_PUSHED, text, count=1)
    return text.rstrip("\n") + "\n\nlimits_config:\n" + KEEP_LABELS_AS_PUSHED


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


# -- either Loki: what a suite parametrized over lokisim and the real server talks to --


@dataclass(frozen=True)
class LokiServer:
    """The Loki a test talks to: a ``LokiSim``, or a fresh tenant of the session's real
    Loki. Suites that describe Loki's observable behaviour take it over both; what only
    a simulator can do (faults, recorded requests) stays on ``sim``.
    """

    kind: str
    url: str
    org_id: str | None
    target: LokiSim | RealLoki

    @property
    def sim(self) -> LokiSim | None:
        """The simulator, or None against the real Loki."""
        return self.target if isinstance(self.target, LokiSim) else None

    @property
    def is_real(self) -> bool:
        return isinstance(self.target, RealLoki)

    def push(self, labels: Mapping[str, str], entries: Iterable[tuple[int, str]]) -> None:
        self.target.push(labels, entries)

    def push_export(self, path: Path) -> tuple[int, int]:
        """``factories.push_export`` into this Loki (in ~1 MB bodies for the real one)."""
        if isinstance(self.target, RealLoki):
            with self.target.batch() as batch:
                return push_export(batch, path)
        return push_export(self.target, path)

    @contextlib.contextmanager
    def sibling(self) -> Iterator[LokiServer]:
        """Another, empty Loki of the same kind: a new lokisim, or a fresh tenant."""
        if isinstance(self.target, RealLoki):
            real = self.target.fresh_tenant()
            yield LokiServer(self.kind, real.url, real.tenant, real)
            return
        with LokiSim() as simulator:
            yield LokiServer(self.kind, simulator.url, None, simulator)
            assert not simulator.errors, "\n".join(simulator.errors)

    def config(self, **settings: Any) -> LokiConfig:
        """A client config for this Loki (its tenant included)."""
        settings.setdefault("org_id", self.org_id)
        return LokiConfig(url=self.url, **settings)

    def use_in_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point the CLI (``--source loki``) at this Loki, as its users' env would."""
        monkeypatch.setenv("LOKI_ADDR", self.url)
        monkeypatch.delenv("GRAFANA_LOKI_URL", raising=False)
        if self.org_id is None:
            monkeypatch.delenv("LOKI_ORG_ID", raising=False)
        else:
            monkeypatch.setenv("LOKI_ORG_ID", self.org_id)


BOTH: Final = ("lokisim", "real")
"""``params`` of a fixture serving ``LokiServer``: the simulator, then the real Loki."""


@contextlib.contextmanager
def serving(kind: str, request: pytest.FixtureRequest, **sim: Any) -> Iterator[LokiServer]:
    """A ``LokiServer`` of ``kind``: a new ``LokiSim(**sim)`` (stopped, and checked for
    internal errors, afterwards), or a fresh tenant of the session's ``real_loki``."""
    if kind == "real":
        real: RealLoki = request.getfixturevalue("real_loki").fresh_tenant()
        yield LokiServer(kind, real.url, real.tenant, real)
        return
    with LokiSim(**sim) as simulator:
        yield LokiServer(kind, simulator.url, None, simulator)
        assert not simulator.errors, "lokisim hit internal errors:\n" + "\n".join(simulator.errors)
