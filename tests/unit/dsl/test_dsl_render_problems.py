"""Rendering what could not be read, and rendering untrusted text inert in every format."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import orjson
import pytest

from micro_gastown.dsl import DslModel, Edge, GraphDecl, Node, NodeKind, SourceLocation
from micro_gastown.dsl.model import DslProblem, DslProblemCode, TemplateBinding
from micro_gastown.dsl.render import (
    OutputFormat,
    model_from_dict,
    model_to_dict,
    neutralized,
    render,
    render_json,
    render_mermaid,
    render_text,
)

PROBLEM = DslProblem(
    DslProblemCode.UNTERMINATED_STRING,
    SourceLocation("src/Graph.hs", 7),
    "string literal has no closing quote: the rest of the line is skipped",
)

# Everything a checkout can smuggle to a terminal: NUL, an escape sequence, DEL, a C1
# control, bidi override and isolate, zero-width space and joiner, BOM, a tag character.
HOSTILE = "\x00\x1b[31m\x7f\x9b\u202e\u2066\u200b\u200d\ufeff\U000e0041"


def hostile_model() -> DslModel:
    path = f"src/{HOSTILE}/Graph.hs"
    location = SourceLocation(path, 3)
    nodes = (
        Node("G" + HOSTILE, "a" + HOSTILE, NodeKind.LOGIC, location, "P" + HOSTILE, None, None, ()),
        Node(
            "G" + HOSTILE,
            "b",
            NodeKind.LLM,
            location,
            None,
            "T" + HOSTILE,
            "S" + HOSTILE,
            ("Template" + HOSTILE,),
            ("Eff" + HOSTILE,),
        ),
    )
    edges = (Edge("G" + HOSTILE, "a" + HOSTILE, "c" + HOSTILE, "Pay" + HOSTILE, location),)
    templates = (
        TemplateBinding("T" + HOSTILE, "t" + HOSTILE, "f" + HOSTILE + ".jinja", location, "C"),
    )
    problems = (
        DslProblem(DslProblemCode.INVALID_NAME, location, "name 'x" + HOSTILE + "' skipped"),
    )
    graph = GraphDecl("G" + HOSTILE, path, nodes, edges)
    return DslModel(Path("/repo"), (graph,), templates, problems)


def unsafe_characters(text: str) -> list[str]:
    """Every character of ``text`` a terminal would not show as itself (newline, tab and
    visible text aside)."""
    return [
        f"U+{ord(ch):04X}"
        for ch in text
        if ch not in "\n\t" and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp")
    ]


@pytest.mark.parametrize("output_format", list(OutputFormat))
def test_every_format_renders_untrusted_text_inert(output_format: OutputFormat) -> None:
    text = render(hostile_model(), output_format)
    assert unsafe_characters(text) == []
    assert "[31m" in text  # visible text stays; only the invisible ESC before it goes


def strings_in(data: object) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for key, value in data.items() for s in strings_in(key) + strings_in(value)]
    if isinstance(data, list):
        return [s for item in data for s in strings_in(item)]
    return []


def test_json_values_are_inert_once_parsed_too() -> None:
    # orjson writes a NUL as the escape \u0000, harmless on a terminal but back once parsed.
    values = strings_in(orjson.loads(render_json(hostile_model())))
    assert len(values) > 20
    assert [unsafe_characters(value) for value in values if unsafe_characters(value)] == []


def test_line_breaks_in_a_file_name_cannot_fake_output_lines() -> None:
    location = SourceLocation("src/x\ngraph Fake  (evil)/Graph.hs", 1)
    node = Node("G", "a", NodeKind.ENTRY, location, None, None, None, ())
    model = DslModel(Path("/r"), (GraphDecl("G", location.path, (node,), ()),), ())
    assert not any(line.startswith("graph Fake") for line in render_text(model).splitlines())
    assert not any(line.startswith("graph Fake") for line in render_mermaid(model).splitlines())


def test_neutralized_leaves_a_clean_model_equal() -> None:
    model = DslModel(Path("/r"), (), (), (PROBLEM,))
    assert neutralized(model) == model


def test_text_lists_problems_after_the_graphs() -> None:
    model = DslModel(Path("/r"), (), (), (PROBLEM,))
    lines = render_text(model).splitlines()
    assert lines[0].startswith("no graph records found")
    heading = next(i for i, line in enumerate(lines) if line.startswith("problems (1)"))
    assert re.fullmatch(
        r"\s+src/Graph\.hs:7\s+unterminated_string\s+string literal has no closing quote.*",
        lines[heading + 1],
    )


def test_json_carries_problems_with_their_code_and_round_trips() -> None:
    model = DslModel(Path("/r"), (), (), (PROBLEM,))
    data = orjson.loads(render_json(model))
    assert data["problems"] == [
        {
            "code": "unterminated_string",
            "path": "src/Graph.hs",
            "line": 7,
            "message": PROBLEM.message,
        }
    ]
    assert model_from_dict(data, model.root) == model


def test_json_without_problems_key_still_loads() -> None:
    model = DslModel(Path("/r"), (), (), ())
    data = model_to_dict(model)
    del data["problems"]
    assert model_from_dict(data, model.root) == model


def test_mermaid_lists_problems_as_comments() -> None:
    lines = render_mermaid(DslModel(Path("/r"), (), (), (PROBLEM,))).splitlines()
    assert lines[0] == "flowchart TD"
    assert lines[1] == f"    %% could not read: {PROBLEM}"
