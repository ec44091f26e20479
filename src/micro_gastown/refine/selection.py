"""Which findings of a PatternReport the refiner works on, and where in the DSL each one lives.

A finding is refined only when a change to the checkout can address it: its figures must
point at something the DSL reader found (a node, a declared edge, an effect some node
uses). Everything else is skipped with a stable :class:`SkipCode` and one line saying why,
so a run that refines nothing still explains itself. The rules, per pattern type:

* ``slow_llm``, ``token_bloat``: the node named in ``details["node"]`` (or ``key``). A null
  node means the calls carried no node the attributor could trust (``UNATTRIBUTED``); a
  node no graph of the checkout declares is ``UNKNOWN_NODE``.
* ``failed_transition``: the error follows the traversal ``from → to`` and comes before
  the next transition, so it is raised while ``to`` runs; ``to`` is the node to change
  (its handler, template or schema), as the detector's recommendation says. The one
  exception: when most of the sample events are attributed to ``from`` (the attributor
  saw the error in the source's scope), the error is the source's and ``from`` is taken.
* ``repeated_error``: ``details["nodes"]`` counts the errors per node. The node holding
  more than half of all the errors (``details["count"]``) is the one to change; when no
  node does, the errors are ``SPREAD`` over nodes, or ``UNATTRIBUTED`` when most carry
  no node at all.
* ``dead_path``: the declared edge ``from → to`` (matched on graph and ``declared_in``
  when the report gives them); an edge the checkout no longer declares is ``UNKNOWN_EDGE``.
* ``effect_failure``: the nodes whose ``UsesEffects`` list holds the effect (by the DSL,
  not the logs), those the logs blame first.

Never refined: info-level findings, findings without a node, unattributed ones, nodes
the checkout does not declare. Candidates are ordered critical before warning, then by
occurrences (most first), then by id; at most ``limit`` (``max_prs``) are kept.
:class:`FindingHistory` is the seam through which the PR history (an open, closed or
reverted PR for the same pattern) suppresses a finding.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from micro_gastown.dsl.model import DslModel, Edge, Node, TemplateBinding
from micro_gastown.errors import UsageError
from micro_gastown.report.model import Pattern, PatternReport, PatternType, Severity

__all__ = [
    "Anchors",
    "Candidate",
    "FindingHistory",
    "KeyFigure",
    "Selection",
    "Skip",
    "SkipCode",
    "is_schema_error",
    "select_findings",
]

MAX_LISTED_IDS = 10
"""Valid pattern ids listed in the error for an unknown ``--pattern`` id."""

MAX_SHOWN_NAME = 80
"""Characters of a node or effect name from the report quoted in a skip reason."""

DOMINANT_SHARE = 0.5
"""A node holds "most" of a repeated error when it holds more than this share of them."""


class SkipCode(StrEnum):
    """Why a finding is not refined (stable: the output and tests use it)."""

    INFO_LEVEL = "info_level"
    """Info findings are context, not problems worth a change."""
    NO_NODE = "no_node"
    """The finding names no node (or no node of the checkout uses its effect)."""
    UNKNOWN_NODE = "unknown_node"
    """The node it names is not declared by any graph of the checkout."""
    UNKNOWN_EDGE = "unknown_edge"
    """A dead path whose edge the checkout does not declare (any more)."""
    UNATTRIBUTED = "unattributed"
    """The report marks its events as having no known node."""
    SPREAD = "spread"
    """Its errors are spread over nodes, none holding most of them."""
    NOT_ACTIONABLE_TYPE = "not_actionable_type"
    """A pattern type the DSL cannot change."""
    EXCLUDED = "excluded"
    """Excluded by the caller (a formula var, ``exclude``)."""
    NOT_REQUESTED = "not_requested"
    """Pattern ids were requested and this is not one of them."""
    SUPPRESSED = "suppressed"
    """The PR history says it is already handled (an open, closed or reverted PR)."""
    OVER_LIMIT = "over_limit"
    """Actionable, but more severe findings took the ``max_prs`` slots."""
    NO_CONTEXT = "no_context"
    """Not even its most important DSL file fits the context's token budget."""


@dataclass(frozen=True, slots=True)
class Skip:
    """A finding not refined: ``reason`` is one line, safe to print (names come from the
    checkout or are pattern ids, which are ``[a-z0-9-]+``)."""

    pattern_id: str
    code: SkipCode
    reason: str


@dataclass(frozen=True, slots=True)
class KeyFigure:
    """The figure of the finding a change should move, as the report measured it: what the
    model's ``expected_after`` estimates and ProposedChanges' ``before`` is."""

    key: str
    """The ``details`` key it comes from (``p95_ms``, ``failure_rate``, ...)."""
    description: str
    value: float | None
    lower_is_better: bool = True


@dataclass(frozen=True, slots=True)
class Anchors:
    """The parts of the checkout a finding points at, found by code in the DSL model.

    ``nodes`` has the node to change first (for ``effect_failure``: every node using the
    effect, those the logs blame first; for ``dead_path``: the edge's source, then its
    target). ``schema_type`` is the type behind a schema error: the node's ``Schema X``,
    else the payload of the edge into it.
    """

    graph: str
    nodes: tuple[Node, ...]
    edge: Edge | None = None
    effect: str | None = None
    template: TemplateBinding | None = None
    schema_type: str | None = None
    schema_error: bool = False

    @property
    def node(self) -> Node:
        """The node the change is about (the first of ``nodes``)."""
        return self.nodes[0]

    def as_dict(self) -> dict[str, Any]:
        """What the prompt shows: names and repo-relative places, all read from the
        checkout (never from the logs)."""
        data: dict[str, Any] = {
            "graph": self.graph,
            "nodes": [
                {"name": n.name, "kind": n.kind.value, "declared_in": str(n.declared_in)}
                for n in self.nodes
            ],
        }
        if self.edge is not None:
            data["edge"] = {
                "from": self.edge.source,
                "to": self.edge.target,
                "declared_in": str(self.edge.declared_in),
            }
        if self.effect is not None:
            data["effect"] = self.effect
        if self.template is not None:
            data["template"] = {
                "type": self.template.type_name,
                "file": self.template.file,
                "context_record": self.template.context,
            }
        if self.schema_type is not None:
            data["schema_type"] = self.schema_type
            data["schema_error"] = self.schema_error
        return data


@dataclass(frozen=True, slots=True)
class Candidate:
    """A finding the refiner works on: the pattern, its type, where it lives in the DSL,
    the figure a change should move, and caveats worth telling the model and the user."""

    pattern: Pattern
    kind: PatternType
    anchors: Anchors
    key_figure: KeyFigure
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Selection:
    """The findings to refine, most severe first, and every other finding with why not."""

    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)


class FindingHistory(Protocol):
    """What the refiner asks of the PR history before it drafts a change.

    ``suppression`` returns why a finding must not be refined again (``"open PR #12"``,
    ``"PR #9 was reverted"``), or None when nothing stands in the way. The file-pr skill
    fills this from GitHub (PRs whose branch or body carries the pattern id); without a
    history every actionable finding is eligible. It is asked only about findings that
    are otherwise actionable, in severity order, so it may make one lookup per call.
    """

    def suppression(self, pattern: Pattern) -> str | None: ...


_KEY_FIGURES: Mapping[PatternType, tuple[str, str, bool]] = {
    PatternType.SLOW_LLM: ("p95_ms", "p95 latency of the node's LLM calls, ms", True),
    PatternType.TOKEN_BLOAT: ("prompt_tokens_p95", "p95 prompt tokens of the node's calls", True),
    PatternType.FAILED_TRANSITION: ("failure_rate", "share of traversals ending in an error", True),
    PatternType.REPEATED_ERROR: ("count", "errors of this kind in the report's window", True),
    PatternType.DEAD_PATH: ("taken", "times the edge was taken", False),
    PatternType.EFFECT_FAILURE: ("failure_rate", "share of effect executions failing", True),
}

# Words of an error template or message that point at the shape of data (a schema type),
# not at the handler's logic.
_SCHEMA_WORDS = re.compile(
    r"schema|field|pars(?:e|ed|er|ing)|decod(?:e|ed|er|ing)|deserializ|unmarshal|json|"
    r"missing key|required property|invalid type|type mismatch",
    re.IGNORECASE,
)


def select_findings(
    report: PatternReport,
    dsl: DslModel,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    limit: int = 1,
    history: FindingHistory | None = None,
) -> Selection:
    """The findings of ``report`` to refine against ``dsl``, at most ``limit`` of them.

    ``include`` restricts to those pattern ids (raises :class:`UsageError` for an id the
    report does not hold, listing valid ones); ``exclude`` drops ids. Every finding not
    returned as a candidate is in ``skipped`` with its code, in the same order.
    """
    known = {p.id for p in report.patterns}
    for pattern_id in include:
        if pattern_id not in known:
            raise UsageError(
                f"no pattern with this id in the report; valid ids: {_listed(report)}",
                setting="pattern",
                value=pattern_id,
            )
    wanted = frozenset(include)
    dropped = frozenset(exclude)
    ordered = sorted(report.patterns, key=lambda p: (p.severity.rank, -p.occurrences, p.id))
    selection = Selection()
    for pattern in ordered:
        outcome = _judge(pattern, dsl, wanted, dropped)
        if isinstance(outcome, Candidate) and history is not None:
            why = history.suppression(pattern)
            if why is not None:
                outcome = Skip(pattern.id, SkipCode.SUPPRESSED, f"already handled: {why}")
        if isinstance(outcome, Candidate) and len(selection.candidates) >= limit:
            outcome = Skip(
                pattern.id,
                SkipCode.OVER_LIMIT,
                f"{limit} more severe finding(s) already take this run's slots (max_prs)",
            )
        if isinstance(outcome, Candidate):
            selection.candidates.append(outcome)
        else:
            selection.skipped.append(outcome)
    return selection


def _listed(report: PatternReport) -> str:
    ids = sorted({p.id for p in report.patterns})
    if not ids:
        return "none (the report has no patterns)"
    shown = ", ".join(ids[:MAX_LISTED_IDS])
    more = len(ids) - MAX_LISTED_IDS
    return f"{shown} and {more} more" if more > 0 else shown


def _judge(
    pattern: Pattern, dsl: DslModel, wanted: frozenset[str], dropped: frozenset[str]
) -> Candidate | Skip:
    if pattern.id in dropped:
        return Skip(pattern.id, SkipCode.EXCLUDED, "excluded by request")
    if wanted and pattern.id not in wanted:
        return Skip(pattern.id, SkipCode.NOT_REQUESTED, "not among the requested pattern ids")
    if pattern.severity is Severity.INFO:
        return Skip(pattern.id, SkipCode.INFO_LEVEL, "info-level findings are not refined")
    resolve = _RESOLVERS.get(pattern.type)
    if resolve is None:
        return Skip(
            pattern.id,
            SkipCode.NOT_ACTIONABLE_TYPE,
            f"{pattern.type.value} findings are not changed through the DSL",
        )
    anchored = resolve(pattern, dsl)
    if isinstance(anchored, Skip):
        return anchored
    return Candidate(pattern, pattern.type, anchored, _key_figure(pattern), _notes(pattern))


def _key_figure(pattern: Pattern) -> KeyFigure:
    key, description, lower_is_better = _KEY_FIGURES.get(
        pattern.type, ("occurrences", "occurrences", True)
    )
    raw = pattern.occurrences if key == "occurrences" else pattern.details.get(key)
    value = float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None
    return KeyFigure(key, description, value, lower_is_better)


def _notes(pattern: Pattern) -> tuple[str, ...]:
    if pattern.out_of_order_events:
        return (
            f"{pattern.out_of_order_events} events at this finding's nodes arrived out of time "
            "order: their attribution, and so the figures, may be off",
        )
    return ()


# --------------------------------------------------------------------------------------
# Per pattern type: the DSL anchors, or why there are none
# --------------------------------------------------------------------------------------


def _text(value: object) -> str | None:
    """A non-empty string field of the report, else None (a hostile report may hold
    anything where a name should be)."""
    return value if isinstance(value, str) and value else None


def _shown(name: str) -> str:
    """A name from the report quoted for a one-line reason: escaped by ``repr`` (no
    control or bidi character survives) and cut, since the report may be hostile."""
    return repr(name if len(name) <= MAX_SHOWN_NAME else name[:MAX_SHOWN_NAME] + "…")


def _field(pattern: Pattern, name: str) -> tuple[bool, str | None]:
    """Whether the finding has the field ``name`` at all (details, then key), and its
    value when it is a usable name."""
    for source in (pattern.details, pattern.key):
        if name in source:
            return True, _text(source[name])
    return False, None


def _nodes_named(dsl: DslModel, name: str) -> tuple[Node, ...]:
    return tuple(n for n in dsl.nodes() if n.name == name)


def _node_anchors(pattern: Pattern, dsl: DslModel, name: str, **extra: Any) -> Anchors | Skip:
    nodes = _nodes_named(dsl, name)
    if not nodes:
        return Skip(
            pattern.id,
            SkipCode.UNKNOWN_NODE,
            f"node {_shown(name)} is not declared by any graph of the checkout",
        )
    node = nodes[0]
    template = dsl.template_binding(node.template) if node.template else None
    return Anchors(graph=node.graph, nodes=nodes, template=template, **extra)


def _llm_node(pattern: Pattern, dsl: DslModel) -> Anchors | Skip:
    """slow_llm, token_bloat: the node whose calls are slow or bloated."""
    present, name = _field(pattern, "node")
    if name is None:
        if present:
            return Skip(
                pattern.id,
                SkipCode.UNATTRIBUTED,
                "its calls carry no known node (unattributed in the report)",
            )
        return Skip(pattern.id, SkipCode.NO_NODE, "the finding names no node")
    return _node_anchors(pattern, dsl, name)


def _failed_transition(pattern: Pattern, dsl: DslModel) -> Anchors | Skip:
    _, source = _field(pattern, "from")
    _, target = _field(pattern, "to")
    if source is None or target is None:
        return Skip(pattern.id, SkipCode.NO_NODE, "the finding names no edge")
    blamed = [s.node for s in pattern.sample_events if s.node in (source, target)]
    name = source if blamed and blamed.count(source) * 2 > len(blamed) else target
    schema_error = is_schema_error(pattern)
    edge = _declared_edge(dsl, source, target, None)
    anchors = _node_anchors(pattern, dsl, name, edge=edge, schema_error=schema_error)
    if isinstance(anchors, Skip):
        return anchors
    payload = edge.payload if edge is not None and name == target else None
    return _with_schema(anchors, anchors.node.schema or payload)


def _repeated_error(pattern: Pattern, dsl: DslModel) -> Anchors | Skip:
    nodes = pattern.details.get("nodes")
    counts = {
        str(name): int(n)
        for name, n in (nodes.items() if isinstance(nodes, dict) else ())
        if _text(name) and isinstance(n, int) and not isinstance(n, bool) and n > 0
    }
    total = pattern.details.get("count")
    if not isinstance(total, int) or isinstance(total, bool) or total < sum(counts.values()):
        total = max(sum(counts.values()), pattern.occurrences)
    if not counts:
        return Skip(pattern.id, SkipCode.UNATTRIBUTED, "its errors carry no known node")
    top, top_count = min(counts.items(), key=lambda item: (-item[1], item[0]))
    if top_count <= total * DOMINANT_SHARE:
        attributed = sum(counts.values())
        if attributed <= total * DOMINANT_SHARE:
            return Skip(
                pattern.id,
                SkipCode.UNATTRIBUTED,
                f"most of its {total} errors carry no known node",
            )
        return Skip(
            pattern.id,
            SkipCode.SPREAD,
            f"spread over nodes: {len(counts)} nodes, none holding most of its {total} errors",
        )
    anchors = _node_anchors(pattern, dsl, top, schema_error=is_schema_error(pattern))
    if isinstance(anchors, Skip):
        return anchors
    return _with_schema(anchors, anchors.node.schema)


def _with_schema(anchors: Anchors, schema_type: str | None) -> Anchors:
    return Anchors(
        graph=anchors.graph,
        nodes=anchors.nodes,
        edge=anchors.edge,
        effect=anchors.effect,
        template=anchors.template,
        schema_type=schema_type,
        schema_error=anchors.schema_error,
    )


def _dead_path(pattern: Pattern, dsl: DslModel) -> Anchors | Skip:
    _, source = _field(pattern, "from")
    _, target = _field(pattern, "to")
    if source is None or target is None:
        return Skip(pattern.id, SkipCode.NO_NODE, "the finding names no edge")
    edge = _declared_edge(dsl, source, target, pattern.details)
    if edge is None:
        return Skip(
            pattern.id,
            SkipCode.UNKNOWN_EDGE,
            f"the edge {_shown(source)} -> {_shown(target)} is not declared in the checkout",
        )
    nodes = tuple(
        n
        for name in (source, target)
        for n in dsl.nodes()
        if n.graph == edge.graph and n.name == name
    )
    if not nodes or nodes[0].name != source:
        return Skip(
            pattern.id,
            SkipCode.UNKNOWN_NODE,
            f"node {_shown(source)} is not declared by graph {edge.graph}",
        )
    template = dsl.template_binding(nodes[0].template) if nodes[0].template else None
    return Anchors(graph=edge.graph, nodes=nodes, edge=edge, template=template)


def _declared_edge(
    dsl: DslModel, source: str, target: str, details: Mapping[str, Any] | None
) -> Edge | None:
    """The declared ``Goto`` from ``source`` to ``target``; with several (one per graph),
    the one matching the report's graph and ``declared_in``, else the first."""
    edges = [e for e in dsl.edges() if e.source == source and e.target == target]
    if details is not None:
        graph = _text(details.get("graph"))
        where = _text(details.get("declared_in"))
        exact = [
            e
            for e in edges
            if (graph is None or e.graph == graph)
            and (where is None or str(e.declared_in) == where)
        ]
        in_graph = [e for e in edges if graph is None or e.graph == graph]
        edges = exact or in_graph
    return edges[0] if edges else None


def _effect_failure(pattern: Pattern, dsl: DslModel) -> Anchors | Skip:
    _, effect = _field(pattern, "effect_type")
    if effect is None:
        return Skip(pattern.id, SkipCode.NO_NODE, "the finding names no effect")
    users = [n for n in dsl.nodes() if any(_effect_name(e) == effect for e in n.effects)]
    if not users:
        return Skip(
            pattern.id,
            SkipCode.NO_NODE,
            f"no node of the checkout uses the effect {_shown(effect)}",
        )
    blamed = pattern.details.get("nodes")
    counts = blamed if isinstance(blamed, dict) else {}

    def blame(node: Node) -> int:
        n = counts.get(node.name)
        return n if isinstance(n, int) and not isinstance(n, bool) else 0

    ordered = sorted(users, key=lambda n: -blame(n))  # stable: declaration order on ties
    first = ordered[0]
    template = dsl.template_binding(first.template) if first.template else None
    return Anchors(graph=first.graph, nodes=tuple(ordered), effect=effect, template=template)


def _effect_name(declared: str) -> str:
    """``State S`` -> ``State``; ``PaymentApi`` -> ``PaymentApi``; qualified names bare."""
    head = declared.split()[0] if declared.split() else declared
    return head.rsplit(".", 1)[-1]


def is_schema_error(pattern: Pattern) -> bool:
    """Whether the finding's errors look like data failing its schema (a field missing or
    mistyped, a parse or decode failure) rather than a failure of the handler's logic:
    then the node's schema type is worth showing and changing. Decided from the error
    template and the sample messages (logs, so it only chooses what is shown)."""
    texts = [pattern.details.get("top_error_template"), pattern.details.get("template")]
    texts += [s.event.get("message") for s in pattern.sample_events]
    return any(isinstance(t, str) and _SCHEMA_WORDS.search(t[:2000]) for t in texts)


_RESOLVERS = {
    PatternType.SLOW_LLM: _llm_node,
    PatternType.TOKEN_BLOAT: _llm_node,
    PatternType.FAILED_TRANSITION: _failed_transition,
    PatternType.REPEATED_ERROR: _repeated_error,
    PatternType.DEAD_PATH: _dead_path,
    PatternType.EFFECT_FAILURE: _effect_failure,
}
