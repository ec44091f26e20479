"""Fixtures of the Loki suites: the session's real Loki, and a Loki that is either one.

``loki_server`` (and its module-scoped twin, for suites that push once and read many
times) runs a test against lokisim and against a fresh tenant of the real Loki 3.4 (see
``realloki``; skipped when the binary is absent, failed under ``CI=true``). Tests that
script faults or read what lokisim received take ``LokiSim`` directly instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from realloki import BOTH, LokiServer, real_loki, serving

__all__ = ["loki_server", "module_loki_server", "real_loki"]


@pytest.fixture(params=BOTH)
def loki_server(request: pytest.FixtureRequest) -> Iterator[LokiServer]:
    with serving(request.param, request) as server:
        yield server


@pytest.fixture(scope="module", params=BOTH)
def module_loki_server(request: pytest.FixtureRequest) -> Iterator[LokiServer]:
    with serving(request.param, request) as server:
        yield server
