"""Names a polecat may use: the read-only tools a model can call during a step.

A polecat's ``[tools] available`` may list only these; another module maps each name to
the Python function that implements it. Every tool reads; none writes, runs commands or
reaches the network, so a model steered by hostile log text can at worst read the checkout.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

TOOL_NAMES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "read_report": "Read the run's PatternReport: its summary and every pattern in brief.",
        "read_pattern": "Read one pattern of the report by id: details, recommendation, evidence.",
        "read_dsl_file": "Read one file of the DSL checkout, by path relative to its root.",
        "list_dsl_files": "List the DSL checkout's files, optionally under a folder or by glob.",
        "search_dsl": "Search the DSL checkout's files for a string, returning file:line hits.",
        "read_proposed_changes": "Read the ProposedChanges document the refine step produced.",
    }
)
"""Every tool name a polecat may list, with what the tool does (one line each)."""
