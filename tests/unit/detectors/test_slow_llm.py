"""slow_llm: p95 latency per (node, model) against the warning/critical thresholds."""

from __future__ import annotations

from pathlib import Path

import pytest

from factories import Export, analyze, patterns_of


def _node_with_latencies(
    exp: Export, span: str, node: str, latencies: list[int], model: str = "claude-haiku-4-5"
) -> None:
    exp.transition(span, "entry", node)
    for latency in latencies:
        exp.llm(span, latency=latency, model=model)


@pytest.mark.parametrize(
    ("latencies", "severity"),
    [
        ([100] * 18 + [2500, 2600], "warning"),  # p95 = 2500 > 2000
        ([100] * 18 + [5200, 5300], "critical"),  # p95 = 5200 > 5000
        ([100] * 19 + [9000], None),  # one outlier: p95 = 100
        ([2000] * 20, None),  # exactly at the threshold is not above it
    ],
)
def test_severity_follows_p95(tmp_path: Path, latencies: list[int], severity: str | None) -> None:
    exp = Export()
    _node_with_latencies(exp, "s1", "summarize", latencies)
    found = patterns_of(analyze(exp, tmp_path), "slow_llm")
    if severity is None:
        assert found == []
    else:
        assert [(p.key, p.severity.value) for p in found] == [
            ({"node": "summarize", "model": "claude-haiku-4-5"}, severity)
        ]


def test_min_occurrences_gates_the_finding(tmp_path: Path) -> None:
    exp = Export()
    _node_with_latencies(exp, "s1", "summarize", [9000, 9000])
    assert patterns_of(analyze(exp, tmp_path), "slow_llm") == []
    assert patterns_of(analyze(exp, tmp_path, min_occurrences=2), "slow_llm") != []


def test_keys_split_by_node_and_model(tmp_path: Path) -> None:
    exp = Export()
    _node_with_latencies(exp, "s1", "summarize", [6000] * 5, model="claude-haiku-4-5")
    _node_with_latencies(exp, "s2", "summarize", [100] * 5, model="other-model")
    _node_with_latencies(exp, "s3", "classify", [100] * 5, model="claude-haiku-4-5")
    found = patterns_of(analyze(exp, tmp_path), "slow_llm")
    assert [p.key for p in found] == [{"node": "summarize", "model": "claude-haiku-4-5"}]
    details = found[0].details
    assert details["calls"] == 5
    assert details["p50_ms"] == details["p95_ms"] == details["max_ms"] == 6000


def test_unattributed_calls_have_a_null_node(tmp_path: Path) -> None:
    exp = Export()
    for _ in range(4):
        exp.llm(None, latency=7000)
    (pattern,) = patterns_of(analyze(exp, tmp_path), "slow_llm")
    assert pattern.key == {"node": None, "model": "claude-haiku-4-5"}
    assert pattern.details["node"] is None


def test_samples_are_the_slowest_calls(tmp_path: Path) -> None:
    exp = Export()
    _node_with_latencies(exp, "s1", "summarize", [6000 + i for i in range(10)])
    (pattern,) = patterns_of(analyze(exp, tmp_path), "slow_llm")
    assert [s.event["latency_ms"] for s in pattern.sample_events] == [6009, 6008, 6007, 6006, 6005]
    assert all(s.node == "summarize" for s in pattern.sample_events)
    assert "quantile_over_time(0.95" in (pattern.grafana_query or "")


def test_interleaved_sessions_attribute_to_their_own_node(tmp_path: Path) -> None:
    exp = Export()
    exp.transition("a", "entry", "summarize")
    exp.transition("b", "entry", "classify")
    for _ in range(5):
        exp.llm("b", latency=100)
        exp.llm("a", latency=8000)
    found = patterns_of(analyze(exp, tmp_path), "slow_llm")
    assert [p.key["node"] for p in found] == ["summarize"]


def test_the_query_selects_the_node_only_when_its_calls_name_it(tmp_path: Path) -> None:
    """The Grafana query must reproduce the figure: a ``node`` filter when every call of the
    node carries a ``node`` field, else the model's calls (LogQL cannot see spans)."""
    exp = Export()
    exp.transition("a", "entry", "summarize").transition("b", "entry", "classify")
    for i in range(5):
        exp.llm("a", latency=7000 + i, fields={"node": "summarize"})
        exp.llm("b", latency=7000 + i, model="claude-haiku-4-5-20251001")  # node from span
    found = {p.key["node"]: p for p in patterns_of(analyze(exp, tmp_path), "slow_llm")}
    named = found["summarize"].grafana_query or ""
    assert '| json | node="summarize" | model="claude-haiku-4-5" |' in named
    assert named.endswith("by (node, model)")
    inferred = found["classify"].grafana_query or ""
    assert "node=" not in inferred
    assert inferred.endswith("by (model)")
