"""Pytest fixture for a running ``LokiSim`` (the lead wires it into a conftest)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .sim import LokiSim


@pytest.fixture
def loki() -> Iterator[LokiSim]:
    """A started simulator on an ephemeral port, stopped (threads joined) afterwards."""
    with LokiSim() as sim:
        yield sim
        assert not sim.errors, "lokisim hit internal errors:\n" + "\n".join(sim.errors)
