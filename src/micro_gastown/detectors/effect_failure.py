"""effect_failure (our extension): effect types that fail too often.

Series: failed executions per bucket over all executions of the effect type; both are
selected by LogQL exactly (an execution names its effect type and outcome).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from micro_gastown.detectors import series
from micro_gastown.detectors.base import (
    Detector,
    DetectorContext,
    Finding,
    Handler,
    rate_severity,
)
from micro_gastown.detectors.series import FindingSeries, Timeline
from micro_gastown.detectors.stats import Distribution, FirstSamples, Histogram, tidy
from micro_gastown.events.model import EffectExecution, Event
from micro_gastown.report.model import PatternType


class EffectFailureDetector(Detector):
    kind = PatternType.EFFECT_FAILURE

    def __init__(self, context: DetectorContext) -> None:
        super().__init__(context)
        self._latencies: dict[str, Distribution] = {}
        self._failures: Counter[str] = Counter()
        self._nodes: dict[str, Counter[str]] = {}
        self._samples: dict[str, FirstSamples] = {}
        self._remote = False
        # Executions and failures by unit of time (series).
        self._executions_over_time: dict[str, Timeline] = {}
        self._failures_over_time: dict[str, Timeline] = {}
        self._unit_ns = context.series_unit_ns

    def load_remote(
        self, latencies: dict[str, Distribution], executions: dict[str, Timeline]
    ) -> None:
        """Take executions and latencies per effect type, and executions by unit of time,
        from Loki (push-down).

        Failed executions still arrive as events (Loki sends them raw, they are few), for
        their nodes, samples and series; successful ones are then ignored.
        """
        self._remote = True
        self._latencies = dict(latencies)
        for effect in latencies:
            self._nodes[effect] = Counter()
            self._samples[effect] = FirstSamples()
            self._executions_over_time[effect] = executions.get(effect, {})

    def handlers(self) -> Mapping[type[Event], Handler]:
        return {EffectExecution: self._on_effect}

    def _on_effect(self, event: EffectExecution) -> None:
        effect = event.effect_type
        unit = (event.ts_ns - 1) // self._unit_ns
        if self._remote:
            if event.success or effect not in self._latencies:
                return
        else:
            latencies = self._latencies.get(effect)
            if latencies is None:
                latencies = self._latencies[effect] = Histogram()
                self._nodes[effect] = Counter()
                self._samples[effect] = FirstSamples()
                self._executions_over_time[effect] = {}
            counts = latencies.counts  # type: ignore[attr-defined]  # local: a Histogram
            counts[event.latency_ms] = counts.get(event.latency_ms, 0) + 1
            over_time = self._executions_over_time[effect]
            over_time[unit] = over_time.get(unit, 0) + 1
        if not event.success:
            self._failures[effect] += 1
            over_time = self._failures_over_time.setdefault(effect, {})
            over_time[unit] = over_time.get(unit, 0) + 1
            if event.node is not None:
                self._nodes[effect][event.node] += 1
            self._samples[effect].offer(self.context.position, event)

    def merge(self, other: EffectFailureDetector) -> None:
        for effect, latencies in other._latencies.items():
            if effect not in self._latencies:
                self._latencies[effect] = latencies
                self._nodes[effect] = other._nodes[effect]
                self._samples[effect] = other._samples[effect]
            else:
                mine = self._latencies[effect]
                mine.merge(latencies)
                self._nodes[effect].update(other._nodes[effect])
                self._samples[effect].merge(other._samples[effect])
        self._failures.update(other._failures)
        for ours, theirs in (
            (self._executions_over_time, other._executions_over_time),
            (self._failures_over_time, other._failures_over_time),
        ):
            for effect, timeline in theirs.items():
                series.merge_timeline(ours.setdefault(effect, {}), timeline)

    def finish(self) -> list[Finding]:
        t = self.thresholds
        logql = self.context.logql
        findings = []
        for effect, latencies in self._latencies.items():
            failures = self._failures[effect]
            if failures < t.min_occurrences:
                continue
            executions = len(latencies)
            rate = failures / executions
            severity = rate_severity(rate, t)
            if severity is None:
                continue
            (p95,) = latencies.percentiles(0.95)
            nodes = self._nodes[effect]
            where = ", ".join(f"`{n}`" for n, _ in nodes.most_common(3)) or "no known node"
            findings.append(
                Finding(
                    kind=self.kind,
                    key={"effect_type": effect},
                    severity=severity,
                    occurrences=failures,
                    details={
                        "effect_type": effect,
                        "executions": executions,
                        "failures": failures,
                        "failure_rate": round(rate, 4),
                        "p95_ms": tidy(p95),
                        "nodes": dict(nodes.most_common()),
                    },
                    recommendation=(
                        f"The {effect} effect failed {failures:,} of {executions:,} times "
                        f"({rate:.1%}; p95 {p95:,.0f} ms), in {where}. Give its handler a "
                        "timeout and retry policy that fit its p95, and a graph edge for the "
                        "failure so the run degrades instead of erroring."
                    ),
                    logql=self.context.logql.effect_outcomes(effect),
                    samples=self._samples[effect].events(),
                    nodes=tuple(nodes),  # where it failed; the rate itself needs no node
                    series=FindingSeries(
                        metric="failed executions",
                        values=dict(self._failures_over_time.get(effect, {})),
                        unit_ns=self._unit_ns,
                        exposure=dict(self._executions_over_time.get(effect, {})),
                        exposure_unit="executions",
                        query=series.effect_executions(logql, effect, failed=True),
                        exposure_query=series.effect_executions(logql, effect),
                    ),
                )
            )
        return findings
