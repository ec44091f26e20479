"""The PR body's mermaid charts: a finding's counts over its window and its place in the
graph, drawn from numbers, our own words and DSL names reduced to a safe alphabet, so no
name or log text can inject mermaid (a ``click`` URL, an ``%%{init}`` directive, an HTML
label), and sizes stay readable.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from micro_gastown.dsl.model import DslModel, Edge, GraphDecl, Node, NodeKind, SourceLocation
from micro_gastown.github.charts import (
    MAX_BUCKETS,
    MAX_NODES,
    neighbourhood,
    neighbourhood_chart,
    safe_label,
    series_chart,
)
from micro_gastown.report.model import Pattern, Series
from prbody import (
    DEAD_ID,
    FAILED_ID,
    five_minute_series,
    sample_dsl,
    sample_pattern,
    sample_report,
)

# Every line a chart may hold. Anything else (a click, a directive, a stray quote) fails.
_FLOWCHART_LINES = [
    re.compile(r"flowchart LR"),
    re.compile(r'    n\d+\["[A-Za-z0-9_.-]{1,40}"\]'),
    re.compile(r'    n\d+ (?:-->|-\.->)(?:\|"[0-9a-z ,]+"\|)? n\d+'),
    re.compile(r"    linkStyle \d+ stroke:#d00,stroke-width:3px(?:,stroke-dasharray:6 4)?"),
    re.compile(r"    style n\d+ stroke:#d00,stroke-width:3px"),
]
_XYCHART_LINES = [
    re.compile(r"xychart-beta"),
    re.compile(r'    title "[a-z0-9 +]+ per [0-9,]* ?(?:days?|hours?|min|s), from [0-9: -]+ UTC"'),
    re.compile(r'    x-axis \["[0-9: -]+"(?:, "[0-9: -]+")*\]'),
    re.compile(r'    y-axis "[a-z0-9 +]+" -?\d+ --> \d+'),
    re.compile(r"    bar \[-?\d+(?:, -?\d+)*\]"),
]


def _foreign_lines(chart: str, allowed: list[re.Pattern[str]]) -> list[str]:
    return [line for line in chart.splitlines() if not any(p.fullmatch(line) for p in allowed)]


def _with_series(pattern: Pattern, series: Series) -> Pattern:
    return pattern.model_copy(update={"series": series})


def test_a_series_is_a_bar_chart_of_its_buckets_from_zero() -> None:
    pattern = _with_series(sample_pattern(FAILED_ID), five_minute_series(179, 822))
    chart = series_chart(pattern)
    assert chart is not None
    assert _foreign_lines(chart, _XYCHART_LINES) == []
    assert 'title "failed traversals per 5 min, from 2026-11-21 10:00 UTC"' in chart
    assert '"10:00", "10:05", "10:10"' in chart
    assert '"10:55"]' in chart  # 12 buckets: the last starts at 10:55
    assert 'y-axis "failed traversals" 0 --> 15' in chart  # from zero, never a cut axis
    bars = re.search(r"bar \[(.*)\]", chart)
    assert bars is not None
    assert sum(map(int, bars.group(1).split(", "))) == 179


def test_a_long_series_is_summed_into_at_most_sixty_wider_buckets() -> None:
    week = Series(
        start="2026-11-14T00:00:00Z",
        step_seconds=3600,
        metric="slow calls",
        values=[1] * 168,
    )
    chart = series_chart(_with_series(sample_pattern(FAILED_ID), week))
    assert chart is not None
    bars = re.search(r"bar \[(.*)\]", chart)
    assert bars is not None
    values = [int(v) for v in bars.group(1).split(", ")]
    assert len(values) <= MAX_BUCKETS
    assert sum(values) == 168  # summed, nothing dropped
    assert "per 3 hours" in chart  # the title names the wider step
    assert '"11-14 00:00", "11-14 03:00"' in chart  # dates shown once the window spans days
    assert _foreign_lines(chart, _XYCHART_LINES) == []


def test_daily_buckets_are_labelled_by_date() -> None:
    days = Series(
        start="2026-11-14T00:00:00Z", step_seconds=86_400, metric="errors", values=[2] * 3
    )
    chart = series_chart(_with_series(sample_pattern(FAILED_ID), days))
    assert chart is not None
    assert 'x-axis ["2026-11-14", "2026-11-15", "2026-11-16"]' in chart
    assert "errors per day" in chart


@pytest.mark.parametrize(
    "metric",
    ['x" ]\n    click A "https://evil.example', "%%{init: {}}%%", "<b>x</b>", "errors; drop"],
)
def test_a_metric_that_is_not_plain_words_becomes_our_word_for_the_type(metric: str) -> None:
    series = five_minute_series(10, 20).model_copy(update={"metric": metric})
    chart = series_chart(_with_series(sample_pattern(FAILED_ID), series))
    assert chart is not None
    assert _foreign_lines(chart, _XYCHART_LINES) == []
    assert '"failed traversals"' in chart


@pytest.mark.parametrize("metric", ["calls over 2000 ms", "calls with prompts of 8000+ tokens"])
def test_the_analyzers_own_metric_words_are_kept(metric: str) -> None:
    series = five_minute_series(10, 20).model_copy(update={"metric": metric})
    chart = series_chart(_with_series(sample_pattern(FAILED_ID), series))
    assert chart is not None
    assert f'y-axis "{metric}" 0 --> 1' in chart
    assert _foreign_lines(chart, _XYCHART_LINES) == []


def test_no_series_or_an_unreadable_start_draws_no_chart() -> None:
    pattern = sample_pattern(DEAD_ID).model_copy(update={"series": None})
    assert series_chart(pattern) is None
    broken = five_minute_series(1, 1).model_copy(update={"start": "yesterday"})
    assert series_chart(_with_series(pattern, broken)) is None


def test_the_failing_edge_is_drawn_red_among_its_neighbours() -> None:
    pattern = sample_pattern(FAILED_ID)  # route -> refund, 179 of 822 failed
    chart = neighbourhood_chart(pattern, sample_dsl())
    assert chart is not None
    assert _foreign_lines(chart, _FLOWCHART_LINES) == []
    labels = dict(re.findall(r'    (n\d+)\["([^"]+)"\]', chart))
    ids = {name: node_id for node_id, name in labels.items()}
    # route's predecessor (classify) and successors, refund's successors: all drawn.
    assert set(labels.values()) == {
        "route",
        "refund",
        "classify",
        "answerFaq",
        "escalate",
        "summarize",
    }
    links = [line.strip() for line in chart.splitlines() if re.match(r"    n\d+ -", line)]
    failing = links.index(f'{ids["route"]} -->|"179 of 822 failed"| {ids["refund"]}')
    assert f"    linkStyle {failing} stroke:#d00,stroke-width:3px" in chart.splitlines()
    assert "exit" not in labels.values()  # summarize -> exit is two steps away


def test_a_dead_edge_is_dashed_and_says_never_taken() -> None:
    chart = neighbourhood_chart(sample_pattern(DEAD_ID), sample_dsl())
    assert chart is not None
    labels = {name: node_id for node_id, name in re.findall(r'    (n\d+)\["([^"]+)"\]', chart)}
    links = [line.strip() for line in chart.splitlines() if re.match(r"    n\d+ -", line)]
    dead = links.index(f'{labels["route"]} -.->|"never taken"| {labels["escalate"]}')
    assert f"linkStyle {dead} stroke:#d00,stroke-width:3px,stroke-dasharray:6 4" in chart


def test_a_node_finding_outlines_its_node() -> None:
    slow = next(p for p in _sample_patterns() if p.type.value == "slow_llm")  # summarize
    chart = neighbourhood_chart(slow, sample_dsl())
    assert chart is not None
    assert chart.splitlines()[1] == '    n0["summarize"]'  # the finding's node first
    assert "    style n0 stroke:#d00,stroke-width:3px" in chart.splitlines()
    assert "linkStyle" not in chart


def test_an_effect_failure_is_placed_by_the_nodes_it_failed_in() -> None:
    effect = next(p for p in _sample_patterns() if p.type.value == "effect_failure")
    place = neighbourhood(effect, sample_dsl())
    assert place is not None
    assert place.focus == {"refund"}
    assert place.edge is None


def test_a_finding_the_dsl_does_not_declare_draws_nothing() -> None:
    pattern = sample_pattern(FAILED_ID).model_copy(update={"key": {"from": "x", "to": "y"}})
    assert neighbourhood_chart(pattern, sample_dsl()) is None


def _sample_patterns() -> list[Pattern]:
    return sample_report().patterns


def _model(nodes: list[str], edges: list[tuple[str, str]]) -> DslModel:
    where = SourceLocation("src/G.hs", 1)
    graph = GraphDecl(
        name="G",
        path="src/G.hs",
        nodes=tuple(Node("G", n, NodeKind.LOGIC, where, None, None, None, ()) for n in nodes),
        edges=tuple(Edge("G", s, t, None, where) for s, t in edges),
    )
    return DslModel(root=Path("."), graphs=(graph,), templates=())


HOSTILE_NAMES = [
    'A-->B; click A "http://x"',
    'A"]\n    click n0 call alert(1)\n    n9["',
    "%%{init: {'securityLevel': 'loose'}}%%",
    "<img src=x onerror=alert(1)>",
    "end",
    "x" * 500,
    "\u202eevil",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_dsl_name_cannot_inject_into_the_flowchart(name: str) -> None:
    model = _model(["start", name, "after"], [("start", name), (name, "after")])
    pattern = sample_pattern(FAILED_ID).model_copy(
        update={"key": {"from": "start", "to": name}, "details": {"failures": 1, "transitions": 2}}
    )
    chart = neighbourhood_chart(pattern, model)
    assert chart is not None
    assert _foreign_lines(chart, _FLOWCHART_LINES) == []
    for forbidden in ("%%", "<", "://", "click "):
        assert forbidden not in chart
    assert f'["{safe_label(name)}"]' in chart


def test_a_label_keeps_only_the_safe_alphabet() -> None:
    assert safe_label("answerFaq") == "answerFaq"
    assert safe_label('A-->B; click A "http://x"') == "A--_B__click_A__http___x_"
    assert safe_label("") == "node"
    assert len(safe_label("x" * 500)) == 40


def test_a_wide_neighbourhood_is_capped_with_the_finding_kept() -> None:
    fan = [f"f{i}" for i in range(50)]
    model = _model(["hub", "next", *fan], [*(("hub", f) for f in fan), ("hub", "next")])
    pattern = sample_pattern(FAILED_ID).model_copy(update={"key": {"from": "hub", "to": "next"}})
    place = neighbourhood(pattern, model)
    assert place is not None
    assert len(place.nodes) == MAX_NODES
    assert place.nodes[:2] == ("hub", "next")
    assert ("hub", "next") in place.edges  # the finding's edge is always drawn
    chart = neighbourhood_chart(pattern, model)
    assert chart is not None
    assert "linkStyle" in chart
