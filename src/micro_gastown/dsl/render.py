"""Print a ``DslModel`` for people (text), programs (JSON) and diagrams (Mermaid).

Every format is deterministic: declaration order, stable JSON key order, no absolute
paths, so outputs can be diffed between runs and checked into a PR description. Every
format also lists the model's problems (what could not be read), and every string from
the checkout is neutralized first (:func:`neutralized`, built on the evidence sanitizer):
a name, path or payload cannot put a control, bidi or zero-width character on a terminal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import fields, is_dataclass, replace
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, TypeVar, cast

import orjson

from micro_gastown.dsl.model import (
    DslModel,
    DslProblem,
    DslProblemCode,
    Edge,
    GraphDecl,
    Node,
    NodeKind,
    SourceLocation,
    TemplateBinding,
)
from micro_gastown.evidence.sanitize import neutralize_line

__all__ = [
    "OutputFormat",
    "model_from_dict",
    "model_to_dict",
    "neutralized",
    "render",
    "render_json",
    "render_mermaid",
    "render_text",
]


class OutputFormat(StrEnum):
    """The formats ``micro-gastown graph --format`` offers."""

    TEXT = "text"
    JSON = "json"
    MERMAID = "mermaid"


def render(model: DslModel, output_format: OutputFormat) -> str:
    renderers = {
        OutputFormat.TEXT: render_text,
        OutputFormat.JSON: render_json,
        OutputFormat.MERMAID: render_mermaid,
    }
    return renderers[output_format](model)


_T = TypeVar("_T")


def neutralized(value: _T) -> _T:
    """``value`` (a model or any part of it) with every string in it neutralized.

    The checkout is untrusted: a name, a file name, a payload or a problem's message may
    hold NUL, escape sequences, bidi overrides, zero-width characters or line breaks. Each
    renderer starts from this, so no format can print them or fake a line; a clean model
    comes back equal.
    """
    if isinstance(value, Enum | Path):
        return value
    if isinstance(value, str):
        return cast(_T, neutralize_line(value))
    if isinstance(value, tuple):
        return cast(_T, tuple(neutralized(item) for item in value))
    if is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: neutralized(getattr(value, f.name)) for f in fields(value)}
        return cast(_T, replace(value, **changes))
    return value


# --------------------------------------------------------------------------------------
# text
# --------------------------------------------------------------------------------------


def render_text(model: DslModel) -> str:
    """Aligned columns per graph: nodes, then edges, each ending with its ``file:line``;
    then templates and what could not be read."""
    model = neutralized(model)
    blocks = [_text_graph(graph) for graph in model.graphs]
    if not model.graphs:
        blocks.append(
            "no graph records found (a record needs fields typed `mode :- G.Entry ...`)\n"
        )
    if model.templates:
        blocks.append(_text_templates(model.templates))
    if model.problems:
        blocks.append(_text_problems(model.problems))
    return "\n".join(blocks)


def _text_graph(graph: GraphDecl) -> str:
    lines = [f"graph {graph.name}  ({graph.path})", f"  nodes ({len(graph.nodes)}):"]
    node_rows = [
        [
            node.name,
            node.kind.value,
            " ".join(
                f"{label}={value}"
                for label, value in (
                    ("payload", node.payload),
                    ("template", node.template),
                    ("schema", node.schema),
                )
                if value
            ),
            str(node.declared_in),
        ]
        for node in graph.nodes
    ]
    lines.extend(_columns(node_rows))
    lines.append(f"  edges ({len(graph.edges)}):")
    edge_rows = [
        [
            f"{edge.source} -> {edge.target}",
            f"[{edge.payload}]" if edge.payload else "",
            str(edge.declared_in),
        ]
        for edge in graph.edges
    ]
    lines.extend(_columns(edge_rows))
    return "\n".join(lines) + "\n"


def _text_templates(templates: Sequence[TemplateBinding]) -> str:
    rows = [
        [
            binding.type_name,
            f'"{binding.template_name}"' if binding.template_name else "",
            binding.file or "(file not found)",
            str(binding.declared_in),
        ]
        for binding in templates
    ]
    return "\n".join([f"templates ({len(templates)}):", *_columns(rows)]) + "\n"


def _text_problems(problems: Sequence[DslProblem]) -> str:
    rows = [[p.where, p.code.value, p.message] for p in problems]
    heading = f"problems ({len(problems)}): what these lines declare may be missing above"
    return "\n".join([heading, *_columns(rows)]) + "\n"


def _columns(rows: Sequence[Sequence[str]], indent: str = "    ") -> list[str]:
    if not rows:
        return [f"{indent}(none)"]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        (indent + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))).rstrip()
        for row in rows
    ]


# --------------------------------------------------------------------------------------
# json
# --------------------------------------------------------------------------------------


def render_json(model: DslModel) -> str:
    return orjson.dumps(model_to_dict(model), option=orjson.OPT_INDENT_2).decode() + "\n"


def model_to_dict(model: DslModel) -> dict[str, Any]:
    """Plain data in a fixed key order, strings neutralized; ``model_from_dict`` reverses
    it exactly for a model without hidden characters."""
    model = neutralized(model)
    return {
        "graphs": [
            {
                "name": graph.name,
                "path": graph.path,
                "nodes": [_node_dict(node) for node in graph.nodes],
                "edges": [_edge_dict(edge) for edge in graph.edges],
            }
            for graph in model.graphs
        ],
        "templates": [
            {
                "type_name": binding.type_name,
                "template_name": binding.template_name,
                "file": binding.file,
                "context": binding.context,
                "declared_in": _location_dict(binding.declared_in),
            }
            for binding in model.templates
        ],
        "problems": [
            {
                "code": problem.code.value,
                "path": problem.location.path,
                "line": problem.location.line,
                "message": problem.message,
            }
            for problem in model.problems
        ],
    }


def model_from_dict(data: Mapping[str, Any], root: Path) -> DslModel:
    """Rebuild a model from ``model_to_dict`` output (the root is not serialised)."""
    graphs = tuple(
        GraphDecl(
            name=graph["name"],
            path=graph["path"],
            nodes=tuple(
                Node(
                    graph=node["graph"],
                    name=node["name"],
                    kind=NodeKind(node["kind"]),
                    declared_in=_location(node["declared_in"]),
                    payload=node["payload"],
                    template=node["template"],
                    schema=node["schema"],
                    annotations=tuple(node["annotations"]),
                    effects=tuple(node["effects"]),
                )
                for node in graph["nodes"]
            ),
            edges=tuple(
                Edge(
                    graph=edge["graph"],
                    source=edge["source"],
                    target=edge["target"],
                    payload=edge["payload"],
                    declared_in=_location(edge["declared_in"]),
                )
                for edge in graph["edges"]
            ),
        )
        for graph in data["graphs"]
    )
    templates = tuple(
        TemplateBinding(
            type_name=binding["type_name"],
            template_name=binding["template_name"],
            file=binding["file"],
            declared_in=_location(binding["declared_in"]),
            context=binding["context"],
        )
        for binding in data["templates"]
    )
    problems = tuple(
        DslProblem(
            code=DslProblemCode(problem["code"]),
            location=SourceLocation(problem["path"], int(problem["line"])),
            message=problem["message"],
        )
        for problem in data.get("problems", ())
    )
    return DslModel(root=root, graphs=graphs, templates=templates, problems=problems)


def _node_dict(node: Node) -> dict[str, Any]:
    return {
        "graph": node.graph,
        "name": node.name,
        "kind": node.kind.value,
        "payload": node.payload,
        "template": node.template,
        "schema": node.schema,
        "annotations": list(node.annotations),
        "effects": list(node.effects),
        "declared_in": _location_dict(node.declared_in),
    }


def _edge_dict(edge: Edge) -> dict[str, Any]:
    return {
        "graph": edge.graph,
        "source": edge.source,
        "target": edge.target,
        "payload": edge.payload,
        "declared_in": _location_dict(edge.declared_in),
    }


def _location_dict(location: SourceLocation) -> dict[str, Any]:
    return {"path": location.path, "line": location.line}


def _location(data: Mapping[str, Any]) -> SourceLocation:
    return SourceLocation(path=data["path"], line=int(data["line"]))


# --------------------------------------------------------------------------------------
# mermaid (https://mermaid.js.org/syntax/flowchart.html)
# --------------------------------------------------------------------------------------

# Node shapes: entry/exit are stadiums, LLM nodes rounded boxes, logic nodes rhombi.
_SHAPES = {
    NodeKind.ENTRY: ('(["', '"])'),
    NodeKind.EXIT: ('(["', '"])'),
    NodeKind.LLM: ('("', '")'),
    NodeKind.LOGIC: ('{"', '"}'),
}


def render_mermaid(model: DslModel) -> str:
    """A ``flowchart TD``; one subgraph per graph when there are several.

    Node ids are ``<graph>__<node>`` so two graphs may share node names and no id can
    collide with a Mermaid keyword such as ``end``. An edge to an undeclared node draws
    that node with a dashed border rather than dropping the edge. Problems come first,
    as ``%%`` comments.
    """
    model = neutralized(model)
    lines = ["flowchart TD"]
    lines.extend(f"    %% could not read: {problem}" for problem in model.problems)
    nested = len(model.graphs) > 1
    any_undeclared = False
    for graph in model.graphs:
        indent = "    " * (2 if nested else 1)
        lines.append(f"    %% {graph.name} ({graph.path})")
        if nested:
            lines.append(f'    subgraph {_mermaid_id(graph.name)}["{_escape(graph.name)}"]')
        declared = {node.name for node in graph.nodes}
        for node in graph.nodes:
            opening, closing = _SHAPES[node.kind]
            label = _escape(node.name)
            lines.append(f"{indent}{_node_id(graph, node.name)}{opening}{label}{closing}")
        mentioned = {e.source for e in graph.edges} | {e.target for e in graph.edges}
        undeclared = sorted(mentioned - declared)
        for name in undeclared:
            any_undeclared = True
            lines.append(f'{indent}{_node_id(graph, name)}["{_escape(name)}"]:::undeclared')
        for edge in graph.edges:
            label = f'|"{_escape(edge.payload)}"|' if edge.payload else ""
            source, target = _node_id(graph, edge.source), _node_id(graph, edge.target)
            lines.append(f"{indent}{source} -->{label} {target}")
        if nested:
            lines.append("    end")
    if any_undeclared:
        lines.append("    classDef undeclared stroke-dasharray: 5 5")
    return "\n".join(lines) + "\n"


def _node_id(graph: GraphDecl, name: str) -> str:
    return f"{_mermaid_id(graph.name)}__{_mermaid_id(name)}"


def _mermaid_id(name: str) -> str:
    """Letters, digits and ``_`` only; other characters (a prime: ``go'``) become hex codes."""
    return re.sub(r"[^A-Za-z0-9_]", lambda m: f"_{ord(m.group()):x}_", name) or "_"


def _escape(text: str) -> str:
    """Mermaid entity codes for characters that would end or confuse a quoted label."""
    return (
        text.replace("#", "#35;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    )
