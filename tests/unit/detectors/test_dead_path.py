"""dead_path: declared edges (from a DSL checkout) never or hardly ever taken."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from micro_gastown.detectors.base import DetectorContext, ErrorTemplates, Finding, Traffic
from micro_gastown.detectors.dead_path import DeadPathDetector
from micro_gastown.dsl import DslModel, Edge, GraphDecl, SourceLocation, read_dsl
from micro_gastown.events.attribution import Attributor
from micro_gastown.logql import LogQL
from micro_gastown.thresholds import Thresholds

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
    assert "no DSL checkout was given: dead_path was not checked" in report.metadata.notes


# --- the detector on its own ----------------------------------------------------------------

_TRAFFIC = {
    ("entry", "classify"): 200,
    ("classify", "route"): 199,
    ("classify", "escalate"): 1,
}


def _dsl(*edges: tuple[str, str]) -> DslModel:
    """A graph declaring ``edges`` in order, one ``Goto`` per line from line 10."""
    declared = tuple(
        Edge("Triage", source, target, None, SourceLocation("src/Triage/Graph.hs", 10 + i))
        for i, (source, target) in enumerate(edges)
    )
    return DslModel(Path("."), (GraphDecl("Triage", "src/Triage/Graph.hs", (), declared),), ())


def _findings(
    dsl: DslModel, edges: dict[tuple[str, str], int] = _TRAFFIC, **thresholds: Any
) -> list[Finding]:
    traffic = Traffic()
    traffic.edges.update(edges)
    context = DetectorContext(
        thresholds=Thresholds().with_overrides(thresholds),
        logql=LogQL(),
        attributor=Attributor(),
        traffic=traffic,
        error_templates=ErrorTemplates(),
        dsl=dsl,
    )
    return DeadPathDetector(context).finish()


def test_findings_read_in_full() -> None:
    dsl = _dsl(
        ("entry", "classify"),
        ("classify", "summarize"),
        ("classify", "route"),
        ("classify", "escalate"),
        ("escalate", "exit"),
    )
    dead, underused, quiet = _findings(dsl)
    assert dead.key == {"from": "classify", "to": "summarize"}
    assert (dead.severity.value, dead.occurrences) == ("warning", 200)
    assert dead.details == {
        "from": "classify",
        "to": "summarize",
        "graph": "Triage",
        "declared_in": "src/Triage/Graph.hs:11",
        "taken": 0,
        "source_visits": 200,
        "source_exits": 200,
        "underused": False,
    }
    assert dead.recommendation == (
        "The edge `classify` → `summarize` declared at src/Triage/Graph.hs:11 was never "
        "taken, while `classify` ran 200 times. Check the condition that should choose it; "
        "if the path is obsolete, remove the Goto and its handler branch."
    )
    assert dead.logql == LogQL().exits("classify")
    assert dead.nodes == ()
    assert underused.key == {"from": "classify", "to": "escalate"}
    assert (underused.severity.value, underused.occurrences) == ("info", 200)
    assert underused.details == {
        "from": "classify",
        "to": "escalate",
        "graph": "Triage",
        "declared_in": "src/Triage/Graph.hs:13",
        "taken": 1,
        "source_visits": 200,
        "source_exits": 200,
        "underused": True,
        "share": 0.005,
    }
    assert underused.recommendation == (
        "The edge `classify` → `escalate` (src/Triage/Graph.hs:13) carried 1 of 200 exits "
        "from `classify` (0.50%). Confirm the rare case is intended, or fold it into a more "
        "common path."
    )
    assert quiet.key == {"from": "escalate", "to": "exit"}
    assert (quiet.severity.value, quiet.occurrences) == ("info", 1)
    assert quiet.details["source_visits"] == 1


def test_an_edge_whose_source_never_ran_still_counts_one_occurrence() -> None:
    (ghost,) = _findings(_dsl(("ghost", "exit")))
    assert (ghost.severity.value, ghost.occurrences) == ("info", 1)
    assert ghost.details["source_visits"] == 0


def test_an_edge_declared_twice_is_reported_once_and_the_rest_still_checked() -> None:
    dsl = _dsl(
        ("classify", "summarize"),
        ("entry", "classify"),
        ("classify", "summarize"),  # the same Goto again (another constructor, say)
        ("escalate", "exit"),
    )
    assert [(f.key["from"], f.key["to"]) for f in _findings(dsl)] == [
        ("classify", "summarize"),
        ("escalate", "exit"),
    ]


@pytest.mark.parametrize(
    ("thresholds", "expected"),
    [
        ({"dead_path_min_visits": 200}, "warning"),  # exactly at the bar: busy enough
        ({"dead_path_min_visits": 201}, "info"),
    ],
)
def test_visits_needed_for_a_warning(thresholds: dict[str, int], expected: str) -> None:
    (dead,) = _findings(_dsl(("classify", "summarize")), **thresholds)
    assert dead.severity.value == expected


@pytest.mark.parametrize(
    ("thresholds", "underused"),
    [
        ({"underused_min_exits": 200}, True),  # exactly enough exits to judge a share
        ({"underused_min_exits": 201}, False),
        ({"underused_share": 0.005}, False),  # exactly at the share is not below it
        ({"underused_share": 0.0051}, True),
    ],
)
def test_underused_needs_enough_exits_and_a_share_below_the_bar(
    thresholds: dict[str, Any], underused: bool
) -> None:
    found = _findings(_dsl(("classify", "escalate")), **thresholds)
    assert [f.details["underused"] for f in found] == ([True] if underused else [])


def test_the_share_of_an_underused_edge_keeps_five_decimals() -> None:
    edges = {("classify", "route"): 299, ("classify", "escalate"): 1}
    (underused,) = _findings(_dsl(("classify", "escalate")), edges)
    assert underused.details["share"] == 0.00333
