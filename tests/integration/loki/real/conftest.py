"""The session's real Grafana Loki (see ``realloki``), for the tests in this folder."""

from __future__ import annotations

from realloki import real_loki

__all__ = ["real_loki"]
