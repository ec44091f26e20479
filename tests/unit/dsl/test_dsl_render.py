"""Rendering: text for people, JSON that round-trips, Mermaid that parses."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from micro_gastown.dsl import (
    DslModel,
    Edge,
    GraphDecl,
    Node,
    NodeKind,
    SourceLocation,
    read_dsl,
)
from micro_gastown.dsl.render import (
    OutputFormat,
    model_from_dict,
    model_to_dict,
    render,
    render_json,
    render_mermaid,
    render_text,
)

# A Mermaid flowchart node id, then one of the shapes we draw, with a quoted label.
MERMAID_NODE = re.compile(r'^\s+(\w+)(\(\[".*"\]\)|\(".*"\)|\{".*"\}|\[".*"\]:::undeclared)$')
MERMAID_EDGE = re.compile(r'^\s+(\w+) -->(\|"[^"]*"\|)? (\w+)$')


@pytest.fixture(scope="module")
def sample(sample_repo: Path) -> DslModel:
    return read_dsl(sample_repo)


@pytest.fixture(scope="module")
def shop(data_dir: Path) -> DslModel:
    return read_dsl(data_dir / "two-graphs")


def make_model(payload: str | None, target: str = "b") -> DslModel:
    location = SourceLocation("src/Graph.hs", 3)
    nodes = (
        Node("G", "a", NodeKind.LOGIC, location, None, None, None, ()),
        Node("G", "b", NodeKind.LLM, location, None, "BTpl", None, ("Template",)),
    )
    edges = (Edge("G", "a", target, payload, location),)
    return DslModel(Path("/repo"), (GraphDecl("G", "src/Graph.hs", nodes, edges),), ())


# --------------------------------------------------------------------------------------
# text
# --------------------------------------------------------------------------------------


def test_text_has_a_header_nodes_and_edges_with_locations(sample: DslModel) -> None:
    lines = render_text(sample).splitlines()
    assert lines[0] == "graph TriageGraph  (src/Triage/Graph.hs)"
    classify = next(line for line in lines if line.split()[:2] == ["classify", "llm"])
    assert "template=ClassifyTpl" in classify
    assert "schema=Classification" in classify
    assert classify.endswith("src/Triage/Graph.hs:32")
    edge = next(line for line in lines if line.strip().startswith("classify -> route"))
    assert re.fullmatch(r"\s+classify -> route\s+\[Classification\]\s+src/Triage/Graph.hs:36", edge)
    assert sum(" -> " in line for line in lines) == len(sample.edges())


def test_text_lists_template_bindings_after_the_graphs(sample: DslModel) -> None:
    text = render_text(sample)
    templates = text[text.index("templates (4):") :]
    assert '"faq"' in templates
    assert "templates/faq.jinja" in templates


def test_text_has_no_trailing_whitespace(shop: DslModel) -> None:
    assert all(line == line.rstrip() for line in render_text(shop).splitlines())


def test_text_says_so_when_no_graph_record_was_found() -> None:
    assert "no graph records found" in render_text(DslModel(Path("."), (), ()))


# --------------------------------------------------------------------------------------
# json
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("model_name", ["sample", "shop"])
def test_json_round_trips_the_model(model_name: str, request: pytest.FixtureRequest) -> None:
    model: DslModel = request.getfixturevalue(model_name)
    data = orjson.loads(render_json(model))
    assert model_from_dict(data, model.root) == model


def test_json_key_order_is_stable(sample: DslModel) -> None:
    data = orjson.loads(render_json(sample))
    assert list(data) == ["graphs", "templates", "problems"]
    graph = data["graphs"][0]
    assert list(graph) == ["name", "path", "nodes", "edges"]
    assert list(graph["edges"][0]) == ["graph", "source", "target", "payload", "declared_in"]
    assert graph["nodes"][0]["kind"] == "entry"
    route_to_faq = sample.edges()[1].declared_in
    assert graph["edges"][1]["declared_in"] == {
        "path": route_to_faq.path,
        "line": route_to_faq.line,
    }


def test_json_is_indented_and_has_no_absolute_paths(sample: DslModel) -> None:
    text = render_json(sample)
    assert text.startswith('{\n  "graphs": [')
    assert str(sample.root.resolve()) not in text
    assert model_to_dict(sample) == orjson.loads(text)


# --------------------------------------------------------------------------------------
# mermaid
# --------------------------------------------------------------------------------------


def test_mermaid_draws_one_line_per_edge_labelled_with_its_payload(sample: DslModel) -> None:
    lines = render_mermaid(sample).splitlines()
    assert lines[0] == "flowchart TD"
    edge_lines = [line for line in lines if "-->" in line]
    assert len(edge_lines) == len(sample.edges()) == 9
    assert all(MERMAID_EDGE.match(line) for line in edge_lines)
    assert '    TriageGraph__classify -->|"Classification"| TriageGraph__route' in lines


def test_mermaid_shapes_follow_node_kinds(sample: DslModel) -> None:
    text = render_mermaid(sample)
    assert 'TriageGraph__entry(["entry"])' in text  # stadium
    assert 'TriageGraph__exit(["exit"])' in text
    assert 'TriageGraph__classify("classify")' in text  # rounded box
    assert 'TriageGraph__route{"route"}' in text  # rhombus
    assert "subgraph" not in text  # a single graph needs none


def test_mermaid_every_line_is_a_known_statement(shop: DslModel) -> None:
    for line in render_mermaid(shop).splitlines()[1:]:
        assert (
            MERMAID_NODE.match(line)
            or MERMAID_EDGE.match(line)
            or re.fullmatch(r'    subgraph \w+\["\w+"\]', line)
            or line in ("    end", "    classDef undeclared stroke-dasharray: 5 5")
            or line.startswith("    %% ")
        ), line


def test_mermaid_wraps_each_of_several_graphs_in_a_subgraph(shop: DslModel) -> None:
    lines = render_mermaid(shop).splitlines()
    assert [line for line in lines if "subgraph" in line] == [
        '    subgraph CheckoutGraph["CheckoutGraph"]',
        '    subgraph ReviewGraph["ReviewGraph"]',
    ]
    assert lines.count("    end") == 2


def test_mermaid_draws_undeclared_targets_dashed_instead_of_dropping_edges(
    shop: DslModel,
) -> None:
    text = render_mermaid(shop)
    assert 'ReviewGraph__thank["thank"]:::undeclared' in text
    assert 'ReviewGraph__rate -->|"Rating"| ReviewGraph__thank' in text


def test_mermaid_escapes_quotes_and_omits_empty_labels() -> None:
    text = render_mermaid(make_model('Tagged "x" #1'))
    assert '-->|"Tagged #quot;x#quot; #35;1"| G__b' in text
    assert "G__a --> G__b" in render_mermaid(make_model(None))


def test_mermaid_ids_avoid_keywords_and_odd_characters() -> None:
    text = render_mermaid(make_model(None, target="go'"))
    assert "G__go_27_" in text
    assert all(" end" not in line for line in text.splitlines() if "-->" in line)


# --------------------------------------------------------------------------------------
# dispatch
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output_format", "renderer"),
    [
        (OutputFormat.TEXT, render_text),
        (OutputFormat.JSON, render_json),
        (OutputFormat.MERMAID, render_mermaid),
    ],
)
def test_render_dispatches_on_the_format(
    output_format: OutputFormat, renderer: object, sample: DslModel
) -> None:
    assert callable(renderer)
    assert render(sample, output_format) == renderer(sample)
