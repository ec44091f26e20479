"""`micro-gastown graph` end to end: real checkouts on disk, output on stdout, errors on stderr."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from micro_gastown.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "exomonad-sample"
DSL_ERROR_EXIT = 4
USAGE_ERROR_EXIT = 2


def test_text_is_the_default_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "--repo", str(SAMPLE)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith("graph TriageGraph  (src/Triage/Graph.hs)\n")
    assert "classify -> route" in out
    assert "src/Triage/Types.hs:" in out  # route's edges come from the synonym


def test_json_format_prints_the_whole_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "--repo", str(SAMPLE), "--format", "json"]) == 0
    data = orjson.loads(capsys.readouterr().out)
    (graph,) = data["graphs"]
    assert len(graph["nodes"]) == 8
    assert [(e["source"], e["target"]) for e in graph["edges"]][-1] == ("summarize", "exit")
    assert len(graph["edges"]) == 9
    assert len(data["templates"]) == 4


def test_mermaid_format_prints_a_flowchart(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "--repo", str(SAMPLE), "--format", "mermaid"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "flowchart TD"
    assert sum("-->" in line for line in lines) == 9


def test_repo_may_be_given_relative_to_the_working_directory(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(SAMPLE.parent)
    assert main(["graph", "--repo", SAMPLE.name, "--format", "json"]) == 0
    assert orjson.loads(capsys.readouterr().out)["graphs"][0]["path"] == "src/Triage/Graph.hs"


def assert_one_error_line(err: str, *fragments: str) -> None:
    assert err.count("\n") == 1, err
    assert err.startswith("micro-gastown: error: ")
    for fragment in fragments:
        assert fragment in err


def test_missing_repo_fails_with_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such-checkout"
    assert main(["graph", "--repo", str(missing)]) == DSL_ERROR_EXIT
    out, err = capsys.readouterr()
    assert out == ""
    assert_one_error_line(err, f"--repo {missing}", "no such directory")


def test_repo_without_graph_hs_fails_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Types.hs").write_text("module Types where\n")
    assert main(["graph", "--repo", str(tmp_path)]) == DSL_ERROR_EXIT
    out, err = capsys.readouterr()
    assert out == ""
    assert_one_error_line(err, f"--repo {tmp_path}: no Graph.hs file found under it")


def test_repo_that_is_a_file_fails(capsys: pytest.CaptureFixture[str]) -> None:
    graph_hs = SAMPLE / "src" / "Triage" / "Graph.hs"
    assert main(["graph", "--repo", str(graph_hs)]) == DSL_ERROR_EXIT
    assert_one_error_line(capsys.readouterr().err, str(graph_hs), "not a directory")


def test_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "--repo", str(SAMPLE), "--format", "dot"]) == USAGE_ERROR_EXIT
    assert_one_error_line(capsys.readouterr().err, "--format", "dot")


def test_repo_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph"]) == USAGE_ERROR_EXIT
    assert_one_error_line(capsys.readouterr().err, "--repo")
