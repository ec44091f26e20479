"""dead_path: declared edges (from a DSL checkout) never or hardly ever taken."""

from __future__ import annotations

from pathlib import Path

from micro_gastown.dsl import read_dsl

from factories import Export, analyze, patterns_of

SAMPLE = Path(__file__).resolve().parents[3] / "examples" / "exomonad-sample"


def _traffic(exp: Export, runs: int, *, escalations: int = 0) -> None:
    for i in range(runs):
        s = f"s{i}"
        exp.transition(s, "entry", "classify").transition(s, "classify", "route")
        if i % 2:
            exp.transition(s, "route", "answerFaq").transition(s, "answerFaq", "summarize")
        else:
            exp.transition(s, "route", "refund")
            if i < 2 * escalations:
                exp.transition(s, "refund", "escalate").transition(s, "escalate", "summarize")
            else:
                exp.transition(s, "refund", "summarize")
        exp.transition(s, "summarize", "exit")


def test_never_taken_edge_from_a_busy_node_is_a_warning(tmp_path: Path) -> None:
    exp = Export()
    _traffic(exp, 300, escalations=1)
    found = {
        (p.key["from"], p.key["to"]): p
        for p in patterns_of(analyze(exp, tmp_path, dsl=read_dsl(SAMPLE)), "dead_path")
    }
    dead = found[("route", "escalate")]
    assert dead.severity.value == "warning"
    assert dead.details["taken"] == 0
    assert dead.details["source_visits"] == 300
    assert dead.details["declared_in"].startswith("src/Triage/")
    underused = found[("refund", "escalate")]
    assert underused.severity.value == "info"
    assert underused.details["underused"] is True
    assert underused.details["taken"] == 1
    assert set(found) == {("route", "escalate"), ("refund", "escalate")}


def test_quiet_source_makes_dead_edges_info(tmp_path: Path) -> None:
    exp = Export()
    _traffic(exp, 20)
    found = patterns_of(analyze(exp, tmp_path, dsl=read_dsl(SAMPLE)), "dead_path")
    assert {(p.key["from"], p.key["to"]): p.severity.value for p in found} == {
        ("route", "escalate"): "info",
        ("refund", "escalate"): "info",
        ("escalate", "summarize"): "info",
    }


def test_a_window_without_transitions_says_nothing_about_paths(tmp_path: Path) -> None:
    exp = Export()
    exp.llm("s1", latency=100)  # the app ran, but no graph transition was logged
    report = analyze(exp, tmp_path, dsl=read_dsl(SAMPLE))
    assert patterns_of(report, "dead_path") == []
    assert report.metadata is not None
    assert "no graph transitions in the window: dead_path had nothing to compare" in (
        report.metadata.notes
    )


def test_without_a_repo_nothing_is_reported(tmp_path: Path) -> None:
    exp = Export()
    _traffic(exp, 300)
    report = analyze(exp, tmp_path)
    assert patterns_of(report, "dead_path") == []
    assert any("--repo" in note for note in report.metadata.notes)
