"""slow_llm: LLM calls whose p95 latency, per node and model, crosses the thresholds.

Only calls placed at a node become findings (a DSL change can fix a node; "no node" cannot
be fixed): calls at no node are counted in the report's attribution coverage instead.

Series: calls slower than the warning threshold per bucket, over the key's calls. LogQL
selects a node's calls only when each names it in a ``node`` field; calls whose node came
from their span (``Attributor.inferred_llm_nodes``) leave both queries None.
"""

from __future__ import annotations

from collections.abc import Mapping

from micro_gastown.detectors import series
from micro_gastown.detectors.base import Detector, DetectorContext, Finding, Handler
from micro_gastown.detectors.prose import node_hint
from micro_gastown.detectors.series import FindingSeries, Timeline
from micro_gastown.detectors.stats import Distribution, Histogram, TopSamples, tidy
from micro_gastown.events.model import Event, LlmCall
from micro_gastown.report.model import PatternType, Severity

Key = tuple[str | None, str]


class SlowLlmDetector(Detector):
    kind = PatternType.SLOW_LLM

    def __init__(self, context: DetectorContext) -> None:
        super().__init__(context)
        # Per (node, model), in one lookup per call: latencies, the slowest calls, and
        # the calls and slow calls by unit of time (series).
        self._by_key: dict[Key, tuple[Distribution, TopSamples, Timeline, Timeline]] = {}
        self._unit_ns = context.series_unit_ns
        self._slow_ms = context.thresholds.latency_warning_ms

    def load_remote(
        self,
        latencies: dict[Key, Distribution],
        calls: dict[Key, Timeline],
        slow: dict[Key, Timeline],
    ) -> None:
        """Take per-(node, model) latencies, and the calls and slow calls by unit of time,
        computed by Loki instead of counting (push-down)."""
        self._by_key = {
            key: (dist, TopSamples(), calls.get(key, {}), slow.get(key, {}))
            for key, dist in latencies.items()
        }

    def handlers(self) -> Mapping[type[Event], Handler]:
        return {LlmCall: self._on_call}

    def _on_call(self, event: LlmCall) -> None:
        key = (event.node, event.model)
        slot = self._by_key.get(key)
        if slot is None:
            slot = self._by_key[key] = (Histogram(), TopSamples(), {}, {})
        latencies, samples, calls, slow = slot
        latency = event.latency_ms
        counts = latencies.counts  # type: ignore[attr-defined]  # local: a Histogram
        counts[latency] = counts.get(latency, 0) + 1
        unit = (event.ts_ns - 1) // self._unit_ns
        calls[unit] = calls.get(unit, 0) + 1
        if latency > self._slow_ms:
            slow[unit] = slow.get(unit, 0) + 1
        if latency > samples.floor:
            samples.offer(latency, self.context.position, event)

    def merge(self, other: SlowLlmDetector) -> None:
        for key, theirs in other._by_key.items():
            slot = self._by_key.get(key)
            if slot is None:
                self._by_key[key] = theirs
            else:
                slot[0].merge(theirs[0])
                slot[1].merge(theirs[1])
                series.merge_timeline(slot[2], theirs[2])
                series.merge_timeline(slot[3], theirs[3])

    def finish(self) -> list[Finding]:
        t = self.thresholds
        findings = []
        for (node, model), (
            latencies,
            samples,
            calls_over_time,
            slow_over_time,
        ) in self._by_key.items():
            calls = len(latencies)
            if node is None or calls < t.min_occurrences:
                continue  # calls at no node: counted in the report's attribution coverage
            stats = latencies.summary()
            p95 = stats["p95"]
            if p95 > t.latency_critical_ms:
                severity, limit = Severity.CRITICAL, t.latency_critical_ms
            elif p95 > t.latency_warning_ms:
                severity, limit = Severity.WARNING, t.latency_warning_ms
            else:
                continue
            slow = latencies.count_above(t.latency_warning_ms)
            findings.append(
                Finding(
                    kind=self.kind,
                    key={"node": node, "model": model},
                    severity=severity,
                    occurrences=max(slow, 1),
                    details={
                        "node": node,
                        "model": model,
                        "calls": calls,
                        "slow_calls": slow,
                        "p50_ms": tidy(stats["p50"]),
                        "p95_ms": tidy(p95),
                        "p99_ms": tidy(stats["p99"]),
                        "max_ms": tidy(stats["max"]),
                    },
                    recommendation=(
                        f"LLM calls in node `{node}` on {model} have p95 latency "
                        f"{p95:,.0f} ms over {calls:,} calls ({severity.value} above {limit:,} ms; "
                        f"{slow:,} calls slower than {t.latency_warning_ms:,} ms). "
                        f"Shrink what the prompt sends{node_hint(self.context.dsl, node)}, "
                        "lower max_tokens, or split the node so each call does less."
                    ),
                    logql=self.context.logql.llm_latency_p95(model, self._named(node)),
                    samples=samples.events(),
                    nodes=(node,),
                    series=self._series(node, model, calls_over_time, slow_over_time),
                )
            )
        return findings

    def _series(self, node: str, model: str, calls: Timeline, slow: Timeline) -> FindingSeries:
        selectable = self._named(node) is not None
        logql = self.context.logql
        return FindingSeries(
            metric=f"calls over {self._slow_ms} ms",
            values=dict(slow),
            unit_ns=self._unit_ns,
            exposure=dict(calls),
            exposure_unit="calls",
            query=(
                series.llm_calls(logql, node, model, latency_over_ms=self._slow_ms)
                if selectable
                else None
            ),
            exposure_query=series.llm_calls(logql, node, model) if selectable else None,
        )

    def _named(self, node: str | None) -> str | None:
        """``node`` if LogQL can select its calls (every one names it), else None."""
        return node if node and node not in self.context.attributor.inferred_llm_nodes else None
