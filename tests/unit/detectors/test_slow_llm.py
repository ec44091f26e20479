"""slow_llm: p95 latency per (node, model) against the warning/critical thresholds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from micro_gastown.detectors.base import DetectorContext, ErrorTemplates, Traffic
from micro_gastown.detectors.slow_llm import SlowLlmDetector
from micro_gastown.detectors.stats import RemoteDistribution
from micro_gastown.dsl import DslModel, GraphDecl, Node, NodeKind, SourceLocation, TemplateBinding
from micro_gastown.events.attribution import Attributor
from micro_gastown.events.model import LlmCall
from micro_gastown.logql import LogQL
from micro_gastown.thresholds import Thresholds

from factories import BASE_NS, Export, analyze, patterns_of


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


def test_slow_calls_at_no_node_are_coverage_not_a_finding(tmp_path: Path) -> None:
    exp = Export()
    for _ in range(4):
        exp.llm(None, latency=7000)
    report = analyze(exp, tmp_path)
    assert patterns_of(report, "slow_llm") == []  # "no node" is nothing a DSL change can fix
    assert report.metadata is not None
    [gap] = [g for g in report.metadata.attribution if g.event_type == "llm_call"]
    assert (gap.total, gap.unattributed) == (4, 4)
    assert gap.no_scope + gap.no_transition == 4


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


# --- the detector on its own: edges of the thresholds, merging, push-down -----------------


def _detector(dsl: DslModel | None = None, **thresholds: Any) -> SlowLlmDetector:
    context = DetectorContext(
        thresholds=Thresholds().with_overrides(thresholds),
        logql=LogQL(),
        attributor=Attributor(),
        traffic=Traffic(),
        error_templates=ErrorTemplates(),
        dsl=dsl,
    )
    return SlowLlmDetector(context)


def _feed(detector: SlowLlmDetector, latencies: list[int], node: str | None = "summarize") -> None:
    handle = detector.handlers()[LlmCall]
    for latency in latencies:
        detector.context.position += 1
        ts = BASE_NS + detector.context.position
        handle(LlmCall(ts, {}, {}, "s1", node, "m", 10, 1, latency))


def _summarize_dsl() -> DslModel:
    """One graph whose ``summarize`` node is bound to a Jinja template."""
    where = SourceLocation("src/Triage/Graph.hs", 12)
    node = Node("Triage", "summarize", NodeKind.LLM, where, None, "SummaryTpl", None, ())
    binding = TemplateBinding("SummaryTpl", "summary", "templates/summary.jinja", where)
    graph = GraphDecl("Triage", "src/Triage/Graph.hs", (node,), ())
    return DslModel(Path("."), (graph,), (binding,))


def test_a_finding_reads_in_full() -> None:
    """19 calls at 2000 ms and one at 10 s: p95 interpolates to 2400 ms, one call is slow."""
    detector = _detector(_summarize_dsl())
    _feed(detector, [2000] * 19 + [10_000])
    (finding,) = detector.finish()
    assert finding.key == {"node": "summarize", "model": "m"}
    assert finding.severity.value == "warning"
    assert finding.occurrences == 1
    assert finding.details == {
        "node": "summarize",
        "model": "m",
        "calls": 20,
        "slow_calls": 1,
        "p50_ms": 2000,
        "p95_ms": 2400,
        "p99_ms": 8480,
        "max_ms": 10_000,
    }
    assert finding.recommendation == (
        "LLM calls in node `summarize` on m have p95 latency 2,400 ms over 20 calls "
        "(warning above 2,000 ms; 1 calls slower than 2,000 ms). Shrink what the prompt "
        "sends (template `templates/summary.jinja`, bound as SummaryTpl), lower max_tokens, "
        "or split the node so each call does less."
    )
    assert finding.logql == LogQL().llm_latency_p95("m", "summarize")
    assert finding.nodes == ("summarize",)
    assert [call.latency_ms for call in finding.samples] == [10_000, 2000, 2000, 2000, 2000]


def test_calls_with_no_node_make_no_finding() -> None:
    detector = _detector()
    _feed(detector, [6000] * 3, node=None)
    assert detector.finish() == []


def test_p95_exactly_at_the_critical_threshold_is_a_warning() -> None:
    detector = _detector()
    _feed(detector, [5000] * 20)
    (finding,) = detector.finish()
    assert finding.severity.value == "warning"
    assert finding.details["p95_ms"] == 5000


def test_a_key_under_min_occurrences_does_not_hide_the_keys_after_it() -> None:
    """Keys are checked in the order they were first seen; a quiet first one is skipped."""
    detector = _detector()
    _feed(detector, [9000], node="classify")  # one call: below min_occurrences
    _feed(detector, [100] * 5, node="route")  # fast: no finding
    _feed(detector, [9000] * 5, node="summarize")
    assert [f.key["node"] for f in detector.finish()] == ["summarize"]


def test_samples_are_the_slowest_whatever_order_the_calls_come_in() -> None:
    """Slow calls first: the cheap pre-check must not turn calls away before 5 are kept."""
    detector = _detector()
    _feed(detector, [6009 - i for i in range(10)])
    (finding,) = detector.finish()
    assert [call.latency_ms for call in finding.samples] == [6009, 6008, 6007, 6006, 6005]


def test_merge_adds_keys_the_first_part_never_saw() -> None:
    first, second = _detector(), _detector()
    _feed(first, [7000] * 2, node="summarize")
    _feed(second, [7000], node="summarize")  # 2 + 1 calls: the merged key reaches 3
    _feed(second, [8000] * 3, node="classify")  # only the second part saw this key
    first.merge(second)
    found = {f.key["node"]: f for f in first.finish()}
    assert sorted(found) == ["classify", "summarize"]
    assert found["summarize"].details["calls"] == 3
    assert found["classify"].details["calls"] == 3
    assert [call.latency_ms for call in found["classify"].samples] == [8000] * 3


def test_latencies_computed_by_loki_make_the_same_finding() -> None:
    """Push-down: the distribution comes from Loki's aggregates; no samples are kept."""
    detector = _detector()
    remote = RemoteDistribution(
        20, {0.5: 2000.0, 0.95: 2400.0, 0.99: 8480.0}, maximum=10_000.0, above={2000: 1}
    )
    detector.load_remote({("summarize", "m"): remote}, calls={}, slow={})
    (finding,) = detector.finish()
    local = _detector()
    _feed(local, [2000] * 19 + [10_000])
    (expected,) = local.finish()
    assert finding.details == expected.details
    assert finding.recommendation == expected.recommendation
    assert finding.samples == []
