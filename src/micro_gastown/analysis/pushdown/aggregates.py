"""The figures detectors take from Loki's aggregates instead of counting raw events.

Each is one or a few instant metric queries over the window's valid events of one kind
(:meth:`WindowQueries.kind`), shaped like the figures a raw scan would compute: per node
and model for ``slow_llm``, per node for ``token_bloat``, per effect type for
``effect_failure``, per edge for ``dead_path`` and ``failed_transition``.
"""

from __future__ import annotations

from micro_gastown.analysis.pushdown.queries import WindowQueries
from micro_gastown.detectors.stats import Distribution, RemoteDistribution
from micro_gastown.detectors.token_bloat import NodeCalls
from micro_gastown.thresholds import Thresholds


def unnamed_llm_calls(queries: WindowQueries) -> int:
    """``llm_call`` events in a span or session that do not name their node: per-node
    aggregates cannot place them."""
    return queries.total(
        f"sum(count_over_time({queries.kind('llm_call')} "
        f'| node="" | span!="" or session_id!="" [{queries.range}]))'
    )


def llm_figures(
    queries: WindowQueries, thresholds: Thresholds
) -> tuple[dict[tuple[str | None, str], Distribution], dict[str | None, NodeCalls]]:
    """Latencies per (node, model) for ``slow_llm``; calls per node for ``token_bloat``."""

    def per_key(query: str) -> dict[tuple[str | None, str], float]:
        return {
            (_node(labels), labels.get("model", "")): value
            for labels, value in queries.instant(query)
        }

    calls = per_key(
        f"sum by (node, model) (count_over_time({queries.kind('llm_call')} [{queries.range}]))"
    )
    quantiles = {
        q: per_key(_by(queries, "node, model", "quantile_over_time", "llm_call", "latency_ms", q))
        for q in (0.5, 0.95, 0.99)
    }
    maxima = per_key(_by(queries, "node, model", "max_over_time", "llm_call", "latency_ms"))
    slow = per_key(
        f"sum by (node, model) (count_over_time({queries.kind('llm_call')} "
        f"| latency_ms > {thresholds.latency_warning_ms} [{queries.range}]))"
    )
    latencies: dict[tuple[str | None, str], Distribution] = {}
    for key, n in calls.items():
        latencies[key] = RemoteDistribution(
            int(n),
            {q: values[key] for q, values in quantiles.items()},
            maximum=maxima[key],
            above={thresholds.latency_warning_ms: int(slow.get(key, 0))},
        )

    def per_node(q: float, field: str) -> dict[str | None, float]:
        query = _by(queries, "node", "quantile_over_time", "llm_call", field, q)
        return {_node(labels): value for labels, value in queries.instant(query)}

    prompt_p50, prompt_p95 = per_node(0.5, "prompt_tokens"), per_node(0.95, "prompt_tokens")
    completion_p50 = per_node(0.5, "completion_tokens")
    totals: dict[str | None, int] = {}
    models: dict[str | None, set[str]] = {}
    for (node, model), n in calls.items():
        totals[node] = totals.get(node, 0) + int(n)
        models.setdefault(node, set()).add(model)
    nodes = {
        node: NodeCalls(
            RemoteDistribution(n, {0.5: prompt_p50[node], 0.95: prompt_p95[node]}),
            RemoteDistribution(n, {0.5: completion_p50[node]}),
            models[node],
        )
        for node, n in totals.items()
    }
    return latencies, nodes


def effect_figures(queries: WindowQueries) -> dict[str, Distribution]:
    """Executions and p95 latency per effect type, for ``effect_failure``."""
    executions = queries.instant(
        f"sum by (effect_type) (count_over_time({queries.kind('effect_execution')} "
        f"[{queries.range}]))"
    )
    p95 = {
        labels.get("effect_type", ""): value
        for labels, value in queries.instant(
            _by(
                queries, "effect_type", "quantile_over_time", "effect_execution", "latency_ms", 0.95
            )
        )
    }
    return {
        effect: RemoteDistribution(int(n), {0.95: p95[effect]})
        for labels, n in executions
        for effect in [labels.get("effect_type", "")]
    }


def edges(queries: WindowQueries) -> dict[tuple[str, str], int]:
    """Transitions per (from, to) edge."""
    query = (
        f"sum by (from, to) (count_over_time({queries.kind('graph_transition')} [{queries.range}]))"
    )
    return {
        (labels.get("from", ""), labels.get("to", "")): int(value)
        for labels, value in queries.instant(query)
    }


def user_actions(queries: WindowQueries) -> int:
    return queries.total(f"sum(count_over_time({queries.kind('user_action')} [{queries.range}]))")


def _by(
    queries: WindowQueries,
    grouping: str,
    function: str,
    event_type: str,
    field: str,
    q: float | None = None,
) -> str:
    """``function`` of one field of the valid events of a type, per ``grouping``."""
    unwrapped = f'{queries.kind(event_type)} | unwrap {field} | __error__="" [{queries.range}]'
    args = unwrapped if q is None else f"{q}, {unwrapped}"
    return f"{function}({args}) by ({grouping})"


def _node(labels: dict[str, str]) -> str | None:
    """A series' node: absent (calls outside any span or session) is None, as locally."""
    return labels.get("node") or None
