"""Read-only tools: bound to the run's data, confined to the checkout, bounded output."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from micro_gastown.errors import ConfigError
from micro_gastown.llm.tools import MAX_FILE_CHARS, ToolInputError, build_tools


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "src" / "Triage").mkdir(parents=True)
    (root / "src" / "Triage" / "Graph.hs").write_text(
        "data TriageGraph = TriageGraph\n  { route :: Goto\n"
    )
    (root / "templates").mkdir()
    (root / "templates" / "big.jinja").write_text("x" * (MAX_FILE_CHARS + 10))
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[remote] token=secret\n")
    (tmp_path / "outside.txt").write_text("not yours")
    os.symlink(tmp_path / "outside.txt", root / "link.txt")
    return root


def _tool(checkout: Path, name: str):  # type: ignore[no-untyped-def]
    (tool,) = [t for t in build_tools([name], checkout=checkout) if t.name == name]
    return tool.function


def test_file_tools_read_list_and_search_inside_the_checkout(checkout: Path) -> None:
    assert "route :: Goto" in _tool(checkout, "read_dsl_file")({"path": "src/Triage/Graph.hs"})
    listed = _tool(checkout, "list_dsl_files")({"glob": "*.hs"}).splitlines()
    assert listed == ["src/Triage/Graph.hs"]
    assert (
        _tool(checkout, "search_dsl")({"text": "Goto"}) == "src/Triage/Graph.hs:2: { route :: Goto"
    )
    big = _tool(checkout, "read_dsl_file")({"path": "templates/big.jinja"})
    assert big.endswith("[... 10 more chars]")


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", "link.txt", ".git/config", ""])
def test_nothing_outside_the_checkout_or_hidden_can_be_read(checkout: Path, path: str) -> None:
    with pytest.raises(ToolInputError):
        _tool(checkout, "read_dsl_file")({"path": path})


def test_listing_skips_hidden_folders_and_links_out(checkout: Path) -> None:
    listed = _tool(checkout, "list_dsl_files")({}).splitlines()
    assert listed == ["src/Triage/Graph.hs", "templates/big.jinja"]


def test_report_tools_and_unknown_names() -> None:
    report = {"summary": {"total_patterns": 1}, "patterns": [{"id": "p-1", "type": "slow_llm"}]}
    tools = {
        t.name: t.function for t in build_tools(["read_report", "read_pattern"], report=report)
    }
    assert '"p-1"' in tools["read_report"]({})
    with pytest.raises(ToolInputError, match="ids: p-1"):
        tools["read_pattern"]({"id": "nope"})
    # Tools without their data are left out rather than offered.
    assert build_tools(["read_dsl_file", "read_proposed_changes"]) == ()
    with pytest.raises(ConfigError, match="rm_rf"):
        build_tools(["rm_rf"])
