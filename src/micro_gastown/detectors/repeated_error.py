"""repeated_error: error messages that cluster into one Drain template many times.

Series: the template's errors per bucket. Exposure: the visits to the nodes the errors
occurred in (transitions into them; out of a node never entered, such as the entry node),
or every transition when no error of the template was attributed to a node. Transitions
stand for the traffic because they are already counted per unit of time for the edge
detectors: counting every event per node would cost the hot loop a lookup per line. The
values have no exact LogQL query: Drain groups messages by their tokens in the order it
sees them, and a template's regex (``grafana_query``) can match messages Drain put in
another cluster, so ``query`` is None; the exposure is exact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from micro_gastown.clustering import OVERFLOW_ID
from micro_gastown.detectors import series
from micro_gastown.detectors.base import Detector, DetectorContext, Finding, Handler
from micro_gastown.detectors.series import FindingSeries, Timeline
from micro_gastown.detectors.stats import FirstSamples
from micro_gastown.events.model import ErrorEvent, Event
from micro_gastown.report.model import PatternType, Severity
from micro_gastown.timewindow import format_ns


class _TemplateStats:
    __slots__ = ("count", "first_ns", "last_ns", "nodes", "over_time", "samples")

    def __init__(self, ts_ns: int) -> None:
        self.over_time: Timeline = {}
        self.count = 0
        self.first_ns = ts_ns
        self.last_ns = ts_ns
        self.nodes: Counter[str] = Counter()
        self.samples = FirstSamples()


class RepeatedErrorDetector(Detector):
    kind = PatternType.REPEATED_ERROR

    def __init__(self, context: DetectorContext) -> None:
        super().__init__(context)
        self._stats: dict[int, _TemplateStats] = {}
        self._unit_ns = context.series_unit_ns

    def handlers(self) -> Mapping[type[Event], Handler]:
        return {ErrorEvent: self._on_error}

    def _on_error(self, event: ErrorEvent) -> None:
        template_id = self.context.error_templates.id_for(event)
        stats = self._stats.get(template_id)
        if stats is None:
            stats = self._stats[template_id] = _TemplateStats(event.ts_ns)
        stats.count += 1
        ts = event.ts_ns
        series.count_into(stats.over_time, (ts - 1) // self._unit_ns)
        if ts < stats.first_ns:
            stats.first_ns = ts
        if ts > stats.last_ns:
            stats.last_ns = ts
        if event.node is not None:
            stats.nodes[event.node] += 1
        stats.samples.offer(self.context.position, event)

    def _severity(self, count: int) -> Severity:
        t = self.thresholds
        if count >= t.repeated_error_critical:
            return Severity.CRITICAL
        if count >= t.repeated_error_warning:
            return Severity.WARNING
        return Severity.INFO

    def finish(self) -> list[Finding]:
        t = self.thresholds
        # Drain may generalise two clusters to the same text; report each text once.
        merged: dict[str, list[_TemplateStats]] = {}
        for template_id, stats in self._stats.items():
            if template_id == OVERFLOW_ID:
                continue  # not grouped (past the template limit): the report's note says so
            merged.setdefault(self.context.error_templates.text(template_id), []).append(stats)
        findings = []
        for template, group in merged.items():
            count = sum(s.count for s in group)
            if count < t.min_occurrences:
                continue
            nodes: Counter[str] = Counter()
            for s in group:
                nodes.update(s.nodes)
            first = min(s.first_ns for s in group)
            last = max(s.last_ns for s in group)
            earliest = FirstSamples()
            for s in group:
                earliest.merge(s.samples)
            samples = earliest.events()
            severity = self._severity(count)
            where = ", ".join(f"`{n}` ({c:,})" for n, c in nodes.most_common(3)) or "no known node"
            findings.append(
                Finding(
                    kind=self.kind,
                    key={"template": template},
                    severity=severity,
                    occurrences=count,
                    details={
                        "template": template,
                        "count": count,
                        "first_seen": format_ns(first),
                        "last_seen": format_ns(last),
                        "nodes": dict(nodes.most_common()),
                    },
                    recommendation=(
                        f'The error "{template}" occurred {count:,} times between '
                        f"{format_ns(first)[:19]}Z and {format_ns(last)[:19]}Z, mostly in "
                        f"{where}. Fix the cause in that node's handler or template, or "
                        "handle it explicitly (validate the input, retry, or route to a "
                        "fallback edge) instead of letting it recur."
                    ),
                    logql=self.context.logql.errors_matching(template),
                    samples=samples,
                    nodes=tuple(nodes),  # where it occurred; the count itself needs no node
                    series=self._series(group, nodes),
                )
            )
        return findings

    def _series(self, group: list[_TemplateStats], nodes: Counter[str]) -> FindingSeries:
        visits, entered, left = self.context.traffic.visits_over_time(list(nodes))
        return FindingSeries(
            metric="errors",
            values=series.merged_timelines(s.over_time for s in group),
            unit_ns=self._unit_ns,
            exposure=visits,
            exposure_unit="visits to its nodes" if nodes else "graph transitions",
            exposure_query=series.node_visits(self.context.logql, entered, left),
        )
