"""Fixtures for lokisim's tests: a simulator with a frozen clock and a query helper.

Test modules must not import from this file: several conftest.py files share the module
name ``conftest`` in this repository. Shared constants live in ``lokisim.clock``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lokisim import LokiSim
from lokisim.client import HttpResult, get
from lokisim.clock import NOW, T0

QueryRange = Callable[..., HttpResult]


@pytest.fixture
def loki() -> Iterator[LokiSim]:
    """A started simulator whose "now" is ``NOW``; fails the test on internal errors."""
    with LokiSim(clock=NOW) as sim:
        yield sim
        assert not sim.errors, "\n".join(sim.errors)


@pytest.fixture
def query_range(loki: LokiSim) -> QueryRange:
    """GET query_range with ``start=T0``/``end=NOW`` unless overridden."""

    def run(query: str, **params: Any) -> HttpResult:
        merged: dict[str, Any] = {"query": query, "start": T0, "end": NOW, **params}
        return get(f"{loki.url}/loki/api/v1/query_range", merged)

    return run
