"""`analyze --repo` on a checkout that cannot be read whole: each problem is a report note
and a stderr warning, and a look-alike edge never becomes a second dead_path finding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from micro_gastown.cli import main

from factories import Export

GRAPH = """\
module G where
data TriageGraph mode = TriageGraph
  { entry :: mode :- G.Entry Ticket
  , route :: mode :- G.LogicNode
      :@ UsesEffects '[Goto "answerFaq" Query, Goto "answer\u202eFaq" Query, Goto Exit Reply]
  , answerFaq :: mode :- G.LLMNode
      :@ UsesEffects '[Goto Exit Reply]
  , exit :: mode :- G.Exit Reply
  }
"""


def test_dsl_problems_are_notes_and_warnings_and_no_look_alike_edge_is_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "Graph.hs").write_text(GRAPH, encoding="utf-8")
    exp = Export()
    for i in range(150):
        exp.transition(f"s{i}", "route", "answerFaq")
        exp.transition(f"s{i}", "answerFaq", "exit")
    source = exp.write(tmp_path / "export.jsonl")

    code = main(["analyze", "--source", f"file:{source}", "--repo", str(repo)])
    out, err = capsys.readouterr()

    assert code == 0
    problem = (
        "Graph.hs:5: Goto target 'answerFaq' contains U+202E RIGHT-TO-LEFT OVERRIDE, which "
        "does not show: edge skipped (invisible_character)"
    )
    assert f"micro-gastown analyze: warning: --repo: could not read {problem}" in err.splitlines()
    report = json.loads(out)
    assert f"DSL checkout: could not read {problem}" in report["metadata"]["notes"]
    # Before, the override made a second route -> answerFaq edge, never taken: a dead_path
    # finding that read the same as the edge taken 150 times.
    dead = [p for p in report["patterns"] if p["type"] == "dead_path"]
    assert [p["key"] for p in dead if "answer" in json.dumps(p["key"])] == []
    assert report["metadata"]["declared_edges"] == 3
