"""The sample checkout in examples/: other features and the demo depend on its shape."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from micro_gastown.dsl import DslModel, NodeKind, read_dsl

EXPECTED_NODES = [
    ("entry", NodeKind.ENTRY, None, None),
    ("classify", NodeKind.LLM, "ClassifyTpl", "Classification"),
    ("route", NodeKind.LOGIC, None, None),
    ("answerFaq", NodeKind.LLM, "FaqTpl", "FaqAnswer"),
    ("refund", NodeKind.LOGIC, None, None),
    ("escalate", NodeKind.LLM, "EscalateTpl", None),
    ("summarize", NodeKind.LLM, "SummarizeTpl", "Reply"),
    ("exit", NodeKind.EXIT, None, None),
]

EXPECTED_EDGES = [
    ("classify", "route", "Classification"),
    ("route", "answerFaq", "FaqQuery"),
    ("route", "refund", "RefundRequest"),
    ("route", "escalate", "Escalation"),
    ("answerFaq", "summarize", "Draft"),
    ("refund", "summarize", "Draft"),
    ("refund", "escalate", "Escalation"),
    ("escalate", "summarize", "Draft"),
    ("summarize", "exit", "Reply"),
]


@pytest.fixture(scope="module")
def sample(sample_repo: Path) -> DslModel:
    return read_dsl(sample_repo)


def test_sample_declares_exactly_the_eight_triage_nodes(sample: DslModel) -> None:
    assert [g.name for g in sample.graphs] == ["TriageGraph"]
    assert sample.graphs[0].path == "src/Triage/Graph.hs"
    assert [(n.name, n.kind, n.template, n.schema) for n in sample.nodes()] == EXPECTED_NODES
    payloads = {n.name: n.payload for n in sample.nodes() if n.payload}
    assert payloads == {"entry": "Ticket", "exit": "Reply"}


def test_sample_declares_exactly_the_nine_triage_edges(sample: DslModel) -> None:
    assert [(e.source, e.target, e.payload) for e in sample.edges()] == EXPECTED_EDGES


def test_route_edges_come_from_the_synonym_in_types_hs(sample: DslModel) -> None:
    route = [e for e in sample.edges() if e.source == "route"]
    assert {e.declared_in.path for e in route} == {"src/Triage/Types.hs"}


def test_every_edge_location_is_the_line_of_its_goto(sample: DslModel) -> None:
    for edge in sample.edges():
        lines = (sample.root / edge.declared_in.path).read_text().splitlines()
        line = lines[edge.declared_in.line - 1]
        target = "Exit" if edge.target == "exit" else f'"{edge.target}"'
        assert f"Goto {target} {edge.payload}" in line, edge


def test_refund_mixes_a_payment_effect_with_its_gotos(sample: DslModel) -> None:
    refund = next(n for n in sample.nodes() if n.name == "refund")
    assert refund.effects == ("PaymentApi",)


def test_every_node_template_is_bound_to_an_existing_jinja_file(sample: DslModel) -> None:
    for node in sample.nodes():
        if node.template is None:
            continue
        binding = sample.template_binding(node.template)
        assert binding is not None, node.template
        assert binding.file is not None
        assert (sample.root / binding.file).is_file(), binding.file
    assert [t.file for t in sample.templates] == [
        "templates/classify.jinja",
        "templates/faq.jinja",
        "templates/escalate.jinja",
        "templates/summarize.jinja",
    ]


def test_template_variables_are_fields_of_their_context(sample: DslModel) -> None:
    """What `cabal build` checks: every root variable of a template is a field of the
    context record bound to it (the template's variable names ARE the field names)."""
    context_source = (sample.root / "src/Triage/Context.hs").read_text()
    records = {
        name: set(re.findall(r"(\w+)\s*::", body))
        for name, body in re.findall(r"^data (\w+) = \w+\s*\{(.*?)\}", context_source, re.M | re.S)
    }
    assert set(records) >= {"ClassifyContext", "FaqContext", "EscalateContext", "SummarizeContext"}
    for binding in sample.templates:
        assert binding.file is not None
        assert binding.context in records, binding.context
        text = (sample.root / binding.file).read_text()
        loop_vars = set(re.findall(r"{%\s*for\s+(\w+)\s+in", text))
        used = set(re.findall(r"{{\s*(\w+)", text)) | set(re.findall(r"for \w+ in (\w+)", text))
        assert used - loop_vars, binding.file
        assert used - loop_vars <= records[binding.context], binding.file


def test_faq_template_pastes_the_whole_knowledge_base(sample: DslModel) -> None:
    faq = (sample.root / "templates/faq.jinja").read_text()
    assert "{% for doc in kb_documents %}" in faq
    assert "{{ doc.body }}" in faq
