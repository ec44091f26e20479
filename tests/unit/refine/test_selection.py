"""Which findings the refiner takes, in which order, and why it skips the others."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from micro_gastown.dsl.model import (
    DslModel,
    Edge,
    GraphDecl,
    Node,
    NodeKind,
    SourceLocation,
    TemplateBinding,
)
from micro_gastown.errors import UsageError
from micro_gastown.refine.selection import (
    Candidate,
    SkipCode,
    select_findings,
)
from micro_gastown.report.model import (
    Pattern,
    PatternReport,
    PatternType,
    SampleEvent,
    Severity,
    Summary,
)

GRAPH_PATH = "src/Triage/Graph.hs"


def _node(name: str, line: int, **extra: Any) -> Node:
    fields: dict[str, Any] = {
        "payload": None,
        "template": None,
        "schema": None,
        "annotations": (),
        "effects": (),
    }
    fields.update(extra)
    return Node(
        graph="TriageGraph",
        name=name,
        kind=fields.pop("kind", NodeKind.LOGIC),
        declared_in=SourceLocation(GRAPH_PATH, line),
        **fields,
    )


def _edge(source: str, target: str, where: str = GRAPH_PATH, line: int = 1) -> Edge:
    return Edge("TriageGraph", source, target, None, SourceLocation(where, line))


NODES = (
    _node("classify", 10, kind=NodeKind.LLM, template="ClassifyTpl", schema="Classification"),
    _node("route", 20),
    _node("answerFaq", 30, kind=NodeKind.LLM, template="FaqTpl", schema="FaqAnswer"),
    _node("refund", 40, effects=("PaymentApi", "State Ledger")),
    _node("escalate", 50, kind=NodeKind.LLM, template="EscalateTpl"),
    _node("audit", 60, effects=("Effects.PaymentApi",)),
)
EDGES = (
    _edge("classify", "route", line=12),
    _edge("route", "answerFaq", "src/Triage/Types.hs", 109),
    _edge("route", "refund", "src/Triage/Types.hs", 110),
    _edge("route", "escalate", "src/Triage/Types.hs", 111),
    _edge("refund", "escalate", line=44),
)
DSL = DslModel(
    root=Path("/nonexistent"),
    graphs=(GraphDecl("TriageGraph", GRAPH_PATH, NODES, EDGES),),
    templates=(
        TemplateBinding(
            "FaqTpl", "faq", "templates/faq.jinja", SourceLocation("src/T.hs", 5), "FaqContext"
        ),
        TemplateBinding(
            "ClassifyTpl",
            "classify",
            "templates/classify.jinja",
            SourceLocation("src/T.hs", 9),
            "ClassifyContext",
        ),
    ),
)


def pattern(
    pattern_id: str,
    kind: PatternType,
    details: dict[str, Any],
    *,
    severity: Severity = Severity.WARNING,
    occurrences: int = 10,
    key: dict[str, str | None] | None = None,
    samples: list[SampleEvent] | None = None,
    out_of_order: int | None = None,
) -> Pattern:
    return Pattern(
        id=pattern_id,
        type=kind,
        severity=severity,
        occurrences=occurrences,
        details=details,
        recommendation="fix it",
        key=key if key is not None else {},
        sample_events=samples or [],
        out_of_order_events=out_of_order,
    )


def sample(node: str | None, message: str = "boom") -> SampleEvent:
    return SampleEvent(
        timestamp="2026-11-21T10:00:00.000000000Z",
        timestamp_ns="1795255200000000000",
        labels={"job": "exomonad-native"},
        node=node,
        event={"type": "error", "message": message},
    )


def report(*patterns: Pattern) -> PatternReport:
    return PatternReport(
        patterns=list(patterns),
        summary=Summary(total_patterns=len(patterns), critical=0, warning=0, info=0),
    )


def slow(node: str | None, pattern_id: str = "slow", **kw: Any) -> Pattern:
    return pattern(
        pattern_id,
        PatternType.SLOW_LLM,
        {"node": node, "model": "m", "p95_ms": 7149, "calls": 100},
        key={"node": node, "model": "m"},
        **kw,
    )


def only(selection_report: PatternReport, **kw: Any) -> Candidate:
    selection = select_findings(selection_report, DSL, **kw)
    assert len(selection.candidates) == 1, selection.skipped
    return selection.candidates[0]


def skip_of(finding: Pattern) -> tuple[SkipCode, str]:
    selection = select_findings(report(finding), DSL)
    assert not selection.candidates
    (skip,) = selection.skipped
    assert skip.pattern_id == finding.id
    return skip.code, skip.reason


# ---------------------------------------------------------------------------------------
# Order and limit
# ---------------------------------------------------------------------------------------


def test_most_severe_first_then_occurrences_then_id_and_the_rest_over_limit() -> None:
    findings = report(
        slow("classify", "w-many", occurrences=900),
        slow("answerFaq", "c-few", severity=Severity.CRITICAL, occurrences=5),
        slow("escalate", "c-many-b", severity=Severity.CRITICAL, occurrences=50),
        slow("classify", "c-many-a", severity=Severity.CRITICAL, occurrences=50),
    )
    selection = select_findings(findings, DSL, limit=3)
    assert [c.pattern.id for c in selection.candidates] == ["c-many-a", "c-many-b", "c-few"]
    (skip,) = selection.skipped
    assert (skip.pattern_id, skip.code) == ("w-many", SkipCode.OVER_LIMIT)
    assert "max_prs" in skip.reason


def test_default_limit_is_one_finding() -> None:
    selection = select_findings(report(slow("classify", "a"), slow("answerFaq", "b")), DSL)
    assert len(selection.candidates) == 1
    assert [s.code for s in selection.skipped] == [SkipCode.OVER_LIMIT]


def test_info_findings_are_never_refined() -> None:
    code, _ = skip_of(slow("classify", severity=Severity.INFO))
    assert code is SkipCode.INFO_LEVEL


# ---------------------------------------------------------------------------------------
# slow_llm / token_bloat
# ---------------------------------------------------------------------------------------


def test_slow_llm_anchors_the_node_and_its_template_binding() -> None:
    candidate = only(report(slow("answerFaq")))
    assert candidate.kind is PatternType.SLOW_LLM
    assert candidate.anchors.node.name == "answerFaq"
    assert candidate.anchors.template is not None
    assert candidate.anchors.template.file == "templates/faq.jinja"
    assert (candidate.key_figure.key, candidate.key_figure.value) == ("p95_ms", 7149.0)


def test_token_bloat_of_a_known_node_is_a_candidate() -> None:
    bloat = pattern(
        "bloat",
        PatternType.TOKEN_BLOAT,
        {"node": "answerFaq", "prompt_tokens_p95": 11981.6},
        key={"node": "answerFaq"},
    )
    candidate = only(report(bloat))
    assert candidate.anchors.template is not None
    assert candidate.anchors.template.context == "FaqContext"
    assert candidate.key_figure.value == 11981.6


def test_calls_with_no_known_node_are_unattributed() -> None:
    code, reason = skip_of(slow(None))
    assert code is SkipCode.UNATTRIBUTED
    assert "no known node" in reason


def test_a_finding_without_any_node_field_has_no_node() -> None:
    bare = pattern("bare", PatternType.TOKEN_BLOAT, {"prompt_tokens_p95": 9000})
    assert skip_of(bare)[0] is SkipCode.NO_NODE


def test_a_node_the_checkout_does_not_declare_is_unknown() -> None:
    code, reason = skip_of(slow("ghostNode"))
    assert code is SkipCode.UNKNOWN_NODE
    assert "'ghostNode'" in reason


def test_a_hostile_node_name_is_escaped_and_cut_in_the_reason() -> None:
    name = "\u202e\x1b[31m" + "x" * 5000
    code, reason = skip_of(slow(name))
    assert code is SkipCode.UNKNOWN_NODE
    assert "\u202e" not in reason
    assert "\x1b" not in reason
    assert len(reason) < 200


# ---------------------------------------------------------------------------------------
# failed_transition
# ---------------------------------------------------------------------------------------


def failed(samples: list[SampleEvent], template: str = "gateway timeout <*>") -> Pattern:
    return pattern(
        "failed",
        PatternType.FAILED_TRANSITION,
        {"from": "route", "to": "refund", "failure_rate": 0.21, "top_error_template": template},
        key={"from": "route", "to": "refund"},
        samples=samples,
    )


def test_failed_transition_changes_the_target_node_where_the_error_is_raised() -> None:
    candidate = only(report(failed([sample("refund"), sample("refund")])))
    assert candidate.anchors.node.name == "refund"
    assert candidate.anchors.edge is not None
    assert (candidate.anchors.edge.source, candidate.anchors.edge.target) == ("route", "refund")
    assert candidate.anchors.schema_error is False
    assert candidate.key_figure.key == "failure_rate"


def test_failed_transition_takes_the_source_when_most_samples_are_attributed_to_it() -> None:
    samples = [sample("route"), sample("route"), sample("refund")]
    assert only(report(failed(samples))).anchors.node.name == "route"


def test_failed_transition_with_a_schema_error_names_the_schema_type() -> None:
    finding = pattern(
        "failed",
        PatternType.FAILED_TRANSITION,
        {"from": "classify", "to": "route", "top_error_template": "x"},
        samples=[sample("classify", "schema validation failed for field 'priority'")] * 3,
    )
    candidate = only(report(finding))
    assert candidate.anchors.node.name == "classify"
    assert candidate.anchors.schema_error is True
    assert candidate.anchors.schema_type == "Classification"


# ---------------------------------------------------------------------------------------
# repeated_error
# ---------------------------------------------------------------------------------------


def repeated(nodes: dict[str, int], count: int, template: str = "boom <*>") -> Pattern:
    return pattern(
        "repeated",
        PatternType.REPEATED_ERROR,
        {"template": template, "count": count, "nodes": nodes},
        key={"template": template},
        occurrences=count,
    )


def test_repeated_error_takes_the_node_holding_most_of_the_errors() -> None:
    candidate = only(report(repeated({"classify": 41, "route": 3}, 44, "decode failed <*>")))
    assert candidate.anchors.node.name == "classify"
    assert candidate.anchors.schema_error is True
    assert candidate.anchors.schema_type == "Classification"


def test_repeated_error_spread_over_nodes_is_skipped() -> None:
    code, reason = skip_of(repeated({"classify": 5, "route": 5, "refund": 4}, 14))
    assert code is SkipCode.SPREAD
    assert "spread over nodes" in reason


def test_repeated_error_whose_errors_mostly_carry_no_node_is_unattributed() -> None:
    assert skip_of(repeated({"classify": 10}, 100))[0] is SkipCode.UNATTRIBUTED
    assert skip_of(repeated({}, 100))[0] is SkipCode.UNATTRIBUTED


def test_repeated_error_in_a_node_the_checkout_lacks_is_unknown() -> None:
    assert skip_of(repeated({"vanished": 50}, 50))[0] is SkipCode.UNKNOWN_NODE


# ---------------------------------------------------------------------------------------
# dead_path
# ---------------------------------------------------------------------------------------


def dead(source: str, target: str, declared_in: str) -> Pattern:
    return pattern(
        "dead",
        PatternType.DEAD_PATH,
        {
            "from": source,
            "to": target,
            "graph": "TriageGraph",
            "declared_in": declared_in,
            "taken": 0,
        },
        key={"from": source, "to": target},
    )


def test_dead_path_anchors_the_declared_edge_and_its_source() -> None:
    candidate = only(report(dead("route", "escalate", "src/Triage/Types.hs:111")))
    edge = candidate.anchors.edge
    assert edge is not None
    assert str(edge.declared_in) == "src/Triage/Types.hs:111"
    assert [n.name for n in candidate.anchors.nodes] == ["route", "escalate"]
    assert candidate.key_figure.lower_is_better is False


def test_dead_path_of_an_edge_no_longer_declared_is_skipped() -> None:
    assert skip_of(dead("route", "exit", "src/Triage/Graph.hs:3"))[0] is SkipCode.UNKNOWN_EDGE


# ---------------------------------------------------------------------------------------
# effect_failure
# ---------------------------------------------------------------------------------------


def effect(effect_type: str, nodes: dict[str, int]) -> Pattern:
    return pattern(
        "effect",
        PatternType.EFFECT_FAILURE,
        {"effect_type": effect_type, "failure_rate": 0.2, "nodes": nodes},
        key={"effect_type": effect_type},
    )


def test_effect_failure_anchors_every_node_using_the_effect_blamed_first() -> None:
    candidate = only(report(effect("PaymentApi", {"audit": 7, "refund": 2})))
    assert [n.name for n in candidate.anchors.nodes] == ["audit", "refund"]
    assert candidate.anchors.effect == "PaymentApi"


def test_effect_failure_matches_an_effect_with_arguments_by_its_name() -> None:
    candidate = only(report(effect("State", {})))
    assert [n.name for n in candidate.anchors.nodes] == ["refund"]


def test_effect_failure_of_an_effect_no_node_uses_is_skipped() -> None:
    code, reason = skip_of(effect("Mailer", {"refund": 3}))
    assert code is SkipCode.NO_NODE
    assert "Mailer" in reason


# ---------------------------------------------------------------------------------------
# include / exclude / history
# ---------------------------------------------------------------------------------------


def test_an_unknown_requested_id_is_a_usage_error_listing_valid_ids() -> None:
    many = report(*(slow("classify", f"p-{i:02d}") for i in range(15)))
    with pytest.raises(UsageError) as caught:
        select_findings(many, DSL, include=["p-99"])
    assert caught.value.setting == "pattern"
    assert caught.value.value == "p-99"
    message = str(caught.value)
    assert "p-00" in message
    assert "p-09" in message
    assert "p-10" not in message
    assert "5 more" in message


def test_include_restricts_and_exclude_drops() -> None:
    findings = report(slow("classify", "a"), slow("answerFaq", "b"), slow("escalate", "c"))
    selection = select_findings(findings, DSL, include=["a", "b"], exclude=["a"], limit=5)
    assert [c.pattern.id for c in selection.candidates] == ["b"]
    assert {(s.pattern_id, s.code) for s in selection.skipped} == {
        ("a", SkipCode.EXCLUDED),
        ("c", SkipCode.NOT_REQUESTED),
    }


class _History:
    def __init__(self, suppressed: dict[str, str]) -> None:
        self.suppressed = suppressed
        self.asked: list[str] = []

    def suppression(self, pattern: Pattern) -> str | None:
        self.asked.append(pattern.id)
        return self.suppressed.get(pattern.id)


def test_history_suppresses_a_finding_and_frees_its_slot() -> None:
    findings = report(
        slow("classify", "first", severity=Severity.CRITICAL),
        slow("answerFaq", "second"),
        slow(None, "unattributed"),
    )
    history = _History({"first": "open PR #12"})
    selection = select_findings(findings, DSL, history=history)
    assert [c.pattern.id for c in selection.candidates] == ["second"]
    suppressed = next(s for s in selection.skipped if s.pattern_id == "first")
    assert suppressed.code is SkipCode.SUPPRESSED
    assert "open PR #12" in suppressed.reason
    assert "unattributed" not in history.asked  # only actionable findings are looked up


def test_out_of_order_events_become_a_caveat() -> None:
    candidate = only(report(slow("classify", out_of_order=4)))
    assert any("out of time order" in note for note in candidate.notes)
