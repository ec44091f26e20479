"""slow_llm: LLM calls whose p95 latency, per node and model, crosses the thresholds."""

from __future__ import annotations

from array import array
from collections.abc import Mapping

from micro_gastown.detectors.base import Detector, DetectorContext, Finding, Handler
from micro_gastown.detectors.prose import node_hint
from micro_gastown.detectors.stats import TopSamples, summarize
from micro_gastown.events.model import Event, LlmCall
from micro_gastown.report.model import PatternType, Severity


class SlowLlmDetector(Detector):
    kind = PatternType.SLOW_LLM

    def __init__(self, context: DetectorContext) -> None:
        super().__init__(context)
        self._latencies: dict[tuple[str | None, str], array[int]] = {}
        self._samples: dict[tuple[str | None, str], TopSamples] = {}
        # Both of the above in one lookup, for the per-call handler.
        self._by_key: dict[tuple[str | None, str], tuple[array[int], TopSamples]] = {}

    def handlers(self) -> Mapping[type[Event], Handler]:
        return {LlmCall: self._on_call}

    def _on_call(self, event: LlmCall) -> None:
        key = (event.node, event.model)
        slot = self._by_key.get(key)
        if slot is None:
            slot = self._by_key[key] = (array("q"), TopSamples())
            self._latencies[key], self._samples[key] = slot
        values, samples = slot
        latency = event.latency_ms
        values.append(latency)
        if latency > samples.floor:
            samples.offer(latency, event)

    def finish(self) -> list[Finding]:
        t = self.thresholds
        findings = []
        for (node, model), values in self._latencies.items():
            if len(values) < t.min_occurrences:
                continue
            stats = summarize(values)
            p95 = stats["p95"]
            if p95 > t.latency_critical_ms:
                severity, limit = Severity.CRITICAL, t.latency_critical_ms
            elif p95 > t.latency_warning_ms:
                severity, limit = Severity.WARNING, t.latency_warning_ms
            else:
                continue
            slow = sum(1 for v in values if v > t.latency_warning_ms)
            where = f"node `{node}`" if node else "calls with no known node"
            findings.append(
                Finding(
                    kind=self.kind,
                    key={"node": node, "model": model},
                    severity=severity,
                    occurrences=max(slow, 1),
                    details={
                        "node": node,
                        "model": model,
                        "calls": len(values),
                        "slow_calls": slow,
                        "p50_ms": stats["p50"],
                        "p95_ms": p95,
                        "p99_ms": stats["p99"],
                        "max_ms": stats["max"],
                    },
                    recommendation=(
                        f"LLM calls in {where} on {model} have p95 latency {p95:,.0f} ms over "
                        f"{len(values):,} calls ({severity.value} above {limit:,} ms; "
                        f"{slow:,} calls slower than {t.latency_warning_ms:,} ms). "
                        f"Shrink what the prompt sends{node_hint(self.context.dsl, node)}, "
                        "lower max_tokens, or split the node so each call does less."
                    ),
                    logql=self.context.logql.llm_latency_p95(model),
                    samples=self._samples[(node, model)].events(),
                )
            )
        return findings
