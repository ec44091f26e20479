"""lokisim: an in-memory, Loki-compatible HTTP server for tests.

Follows Grafana Loki's HTTP API v1 (push, query_range, query, labels, label values,
series, ready, and Loki 3's patterns) and a LogQL subset, with Loki's limits, plain-text
errors and scripted faults, so a Loki client can be tested over real sockets. See
``sim.LokiSim``.
"""

from .config import Auth, Limits, Loki3Labels, Patterns
from .faults import Fault, FaultKind, FaultPlan
from .sim import LokiSim, RecordedRequest

__all__ = [
    "Auth",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "Limits",
    "Loki3Labels",
    "LokiSim",
    "Patterns",
    "RecordedRequest",
]
