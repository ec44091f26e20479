"""Mermaid charts for a PR body: a finding's counts over its window, and the part of the
graph it sits in, with the failing or dead edge drawn in red.

GitHub renders ```` ```mermaid ```` blocks as diagrams, so mermaid is a second language
a hostile string could inject into (a ``click`` that opens a URL, an ``%%{init}``
directive, an HTML label). Nothing from the logs is ever written into a chart: node ids
are ours (``n0``, ``n1``...), labels are DSL names reduced to ``[A-Za-z0-9_.-]``, and all
other text is numbers and our own fixed words. Sizes are capped so a chart stays readable
(:data:`MAX_BUCKETS` bars, :data:`MAX_NODES` nodes).

Syntax: https://mermaid.js.org/syntax/xyChart.html and
https://mermaid.js.org/syntax/flowchart.html (``linkStyle``, ``style``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from micro_gastown.dsl.model import DslModel, Edge, GraphDecl
from micro_gastown.github.facts import count_text, detail_number, series_window, step_text
from micro_gastown.report.model import Pattern, PatternType, Series
from micro_gastown.timewindow import NS_PER_SECOND

__all__ = [
    "HIGHLIGHT",
    "MAX_BUCKETS",
    "MAX_NODES",
    "Neighbourhood",
    "neighbourhood",
    "neighbourhood_chart",
    "safe_label",
    "series_chart",
]

MAX_BUCKETS: Final = 60
"""More buckets are summed in groups, so bars stay wide enough to read."""
MAX_NODES: Final = 20
"""The finding's nodes first, then their neighbours in declaration order, up to this."""
HIGHLIGHT: Final = "stroke:#d00,stroke-width:3px"
_DASHED: Final = ",stroke-dasharray:6 4"
_MAX_LABEL: Final = 40

_UNSAFE_LABEL = re.compile(r"[^A-Za-z0-9_.-]")
_METRIC_WORDS = re.compile(r"^[a-z][a-z0-9 +]{0,46}[a-z0-9+]$")

_DEFAULT_METRIC: Final[Mapping[PatternType, str]] = {
    PatternType.SLOW_LLM: "slow calls",
    PatternType.FAILED_TRANSITION: "failed traversals",
    PatternType.REPEATED_ERROR: "errors",
    PatternType.EFFECT_FAILURE: "failed executions",
    PatternType.DEAD_PATH: "traversals",
    PatternType.TOKEN_BLOAT: "bloated calls",
}


def safe_label(name: str) -> str:
    """``name`` with every character outside ``[A-Za-z0-9_.-]`` replaced by ``_``, cut to
    40 characters (``node`` when nothing is left)."""
    label = _UNSAFE_LABEL.sub("_", name)[:_MAX_LABEL]
    return label or "node"


def metric_words(pattern: Pattern) -> str:
    """What the chart counts: the series' metric when it is plain lowercase words and
    numbers (``calls over 2000 ms``), else our word for the pattern type (a report file is
    untrusted, so only such words pass)."""
    metric = pattern.series.metric if pattern.series is not None else ""
    if _METRIC_WORDS.match(metric):
        return metric
    return _DEFAULT_METRIC.get(pattern.type, "events")


def _regroup(values: Sequence[int], step: int) -> tuple[list[int], int]:
    """At most :data:`MAX_BUCKETS` buckets: neighbours summed in groups of ``factor`` (the
    last group may be shorter)."""
    factor = max(1, math.ceil(len(values) / MAX_BUCKETS))
    grouped = [sum(values[i : i + factor]) for i in range(0, len(values), factor)]
    return grouped, step * factor


def _tick_format(start: datetime, end: datetime, step: int) -> str:
    if step % 86_400 == 0:
        return "%Y-%m-%d"
    if end.date() != start.date():
        return "%m-%d %H:%M"
    return "%H:%M" if step % 60 == 0 else "%H:%M:%S"


def series_chart(pattern: Pattern) -> str | None:
    """An ``xychart-beta`` bar chart of the finding's series (None without a series, or
    with one whose start cannot be read)."""
    series: Series | None = pattern.series
    if series is None or not series.values:
        return None
    window = series_window(series)
    if window is None:
        return None
    values, step = _regroup(series.values, series.step_seconds)
    start = window.start_ns // NS_PER_SECOND
    first = datetime.fromtimestamp(start, tz=UTC)
    last = datetime.fromtimestamp(start + (len(values) - 1) * step, tz=UTC)
    fmt = _tick_format(first, last, step)
    ticks = [
        datetime.fromtimestamp(start + i * step, tz=UTC).strftime(fmt) for i in range(len(values))
    ]
    metric = metric_words(pattern)
    low, high = min(0, *values), max(1, *values)
    title = f"{metric} per {step_text(step)}, from {first.strftime('%Y-%m-%d %H:%M')} UTC"
    return "\n".join(
        [
            "xychart-beta",
            f'    title "{title}"',
            "    x-axis [" + ", ".join(f'"{tick}"' for tick in ticks) + "]",
            f'    y-axis "{metric}" {low} --> {high}',
            "    bar [" + ", ".join(str(value) for value in values) + "]",
        ]
    )


@dataclass(frozen=True, slots=True)
class Neighbourhood:
    """The finding's place in one graph: its nodes (focus first) and the edges among them."""

    graph: GraphDecl
    nodes: tuple[str, ...]
    focus: frozenset[str]
    edges: tuple[tuple[str, str], ...]
    edge: tuple[str, str] | None
    """The finding's own edge (from, to), drawn highlighted; None for a node finding."""


def _key(pattern: Pattern, name: str) -> str | None:
    value = pattern.key.get(name)
    return value if isinstance(value, str) and value else None


def _focus(pattern: Pattern) -> tuple[tuple[str, str] | None, tuple[str, ...]]:
    """The finding's edge and nodes: ``key`` from/to, else ``key`` node, else the nodes its
    details count it in (most first, three at most)."""
    source, target = _key(pattern, "from"), _key(pattern, "to")
    if source is not None and target is not None:
        return (source, target), (source, target)
    node = _key(pattern, "node")
    if node is not None:
        return None, (node,)
    counted = pattern.details.get("nodes")
    if isinstance(counted, Mapping):
        ranked = sorted(
            (name for name, count in counted.items() if isinstance(count, int)),
            key=lambda name: -counted[name],
        )
        return None, tuple(ranked[:3])
    return None, ()


def _graph_for(
    model: DslModel, pattern: Pattern, edge: tuple[str, str] | None, names: Sequence[str]
) -> GraphDecl | None:
    named = pattern.details.get("graph")
    candidates = [g for g in model.graphs if g.name == named] or list(model.graphs)
    for graph in candidates:
        if edge is not None and any((e.source, e.target) == edge for e in graph.edges):
            return graph
    for graph in candidates:
        declared = {n.name for n in graph.nodes} | {e.target for e in graph.edges}
        if edge is None and any(name in declared for name in names):
            return graph
    return None


def neighbourhood(pattern: Pattern, model: DslModel) -> Neighbourhood | None:
    """The finding's nodes with their direct predecessors and successors, at most
    :data:`MAX_NODES`; None when the finding names nothing the DSL declares."""
    edge, names = _focus(pattern)
    if not names:
        return None
    graph = _graph_for(model, pattern, edge, names)
    if graph is None:
        return None
    declared = [n.name for n in graph.nodes]
    known = set(declared) | {e.source for e in graph.edges} | {e.target for e in graph.edges}
    focus = [name for name in dict.fromkeys(names) if name in known]
    neighbours = {
        other
        for e in graph.edges
        for mine, other in ((e.source, e.target), (e.target, e.source))
        if mine in focus
    }
    order = [*declared, *sorted(known - set(declared))]
    chosen = [*focus, *(name for name in order if name in neighbours and name not in focus)]
    chosen = chosen[:MAX_NODES]
    kept = set(chosen)
    edges = _edges_among(graph.edges, kept)
    return Neighbourhood(graph, tuple(chosen), frozenset(focus), edges, edge)


def _edges_among(edges: Sequence[Edge], kept: set[str]) -> tuple[tuple[str, str], ...]:
    pairs = ((e.source, e.target) for e in edges if e.source in kept and e.target in kept)
    return tuple(dict.fromkeys(pairs))


def _edge_label(pattern: Pattern) -> str | None:
    """Numbers and our words for the finding's edge: ``179 of 822 failed``, ``never taken``."""

    def n(name: str) -> float | None:
        return detail_number(pattern.details, name)

    if pattern.type is PatternType.FAILED_TRANSITION:
        failures, transitions = n("failures"), n("transitions")
        if failures is not None and transitions is not None:
            return f"{count_text(failures)} of {count_text(transitions)} failed"
    if pattern.type is PatternType.DEAD_PATH:
        taken, exits = n("taken"), n("source_exits")
        if taken == 0:
            return "never taken"
        if taken is not None and exits is not None:
            return f"{count_text(taken)} of {count_text(exits)} exits"
    return None


def neighbourhood_chart(pattern: Pattern, model: DslModel) -> str | None:
    """A ``flowchart LR`` of :func:`neighbourhood`, the finding's edge red (dashed for a
    dead path) or its nodes outlined red; None when there is nothing to draw."""
    place = neighbourhood(pattern, model)
    if place is None:
        return None
    ids = {name: f"n{i}" for i, name in enumerate(place.nodes)}
    lines = ["flowchart LR"]
    lines += [f'    {ids[name]}["{safe_label(name)}"]' for name in place.nodes]
    dead = pattern.type is PatternType.DEAD_PATH
    highlighted: int | None = None
    for index, (source, target) in enumerate(place.edges):
        arrow = "-->"
        if (source, target) == place.edge:
            highlighted = index
            arrow = "-.->" if dead else "-->"
            label = _edge_label(pattern)
            if label is not None:
                arrow = f'{arrow}|"{label}"|'
        lines.append(f"    {ids[source]} {arrow} {ids[target]}")
    if highlighted is not None:
        lines.append(f"    linkStyle {highlighted} {HIGHLIGHT}{_DASHED if dead else ''}")
    if place.edge is None:
        lines += [
            f"    style {ids[name]} {HIGHLIGHT}" for name in place.nodes if name in place.focus
        ]
    return "\n".join(lines)
