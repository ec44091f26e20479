"""failed_transition: edges whose traversals are followed by an error too often.

A traversal of ``from → to`` fails when an ``error`` event follows it in the same scope
before the next transition; one traversal fails at most once however many errors follow.
Failed effects alone do not fail a transition (they are ``effect_failure``).

Series: failed traversals per bucket (at the time of the error that failed them) over the
edge's traversals. The traversals have an exact LogQL count; the failures have none: which
error fails which traversal is decided by the order of events in each span or session,
which LogQL cannot follow, so ``query`` is None (``grafana_query`` shows the interleaving).
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
from micro_gastown.detectors.stats import FirstSamples
from micro_gastown.events.model import ErrorEvent, Event
from micro_gastown.report.model import PatternType

Edge = tuple[str, str]


class FailedTransitionDetector(Detector):
    kind = PatternType.FAILED_TRANSITION

    def __init__(self, context: DetectorContext) -> None:
        super().__init__(context)
        self._failures: Counter[Edge] = Counter()
        self._templates: dict[Edge, Counter[int]] = {}
        self._samples: dict[Edge, FirstSamples] = {}
        self._failures_over_time: dict[Edge, Timeline] = {}
        self._unit_ns = context.series_unit_ns

    def handlers(self) -> Mapping[type[Event], Handler]:
        return {ErrorEvent: self._on_error}

    def _on_error(self, event: ErrorEvent) -> None:
        edge = event.failed_edge  # decided by attribution: the first error after a traversal
        if edge is None:
            return
        self._failures[edge] += 1
        template_id = self.context.error_templates.id_for(event)
        templates = self._templates.get(edge)
        if templates is None:
            templates = self._templates[edge] = Counter()
            self._samples[edge] = FirstSamples()
            self._failures_over_time[edge] = {}
        templates[template_id] += 1
        series.count_into(self._failures_over_time[edge], (event.ts_ns - 1) // self._unit_ns)
        self._samples[edge].offer(self.context.position, event)

    def finish(self) -> list[Finding]:
        t = self.thresholds
        traffic = self.context.traffic
        findings = []
        for edge, failures in self._failures.items():
            if failures < t.min_occurrences:
                continue
            transitions = max(traffic.taken(*edge), failures)
            rate = failures / transitions
            severity = rate_severity(rate, t)
            if severity is None:
                continue
            source, target = edge
            top_id, top_count = self._templates[edge].most_common(1)[0]
            top = self.context.error_templates.text(top_id)
            findings.append(
                Finding(
                    kind=self.kind,
                    key={"from": source, "to": target},
                    severity=severity,
                    occurrences=failures,
                    details={
                        "from": source,
                        "to": target,
                        "transitions": transitions,
                        "failures": failures,
                        "failure_rate": round(rate, 4),
                        "top_error_template": top,
                        "top_error_count": top_count,
                    },
                    recommendation=(
                        f"{failures:,} of {transitions:,} traversals of `{source}` → `{target}` "
                        f"({rate:.1%}) ended in an error before the next transition; the most "
                        f'common is "{top}" ({top_count:,}×). Handle that failure in '
                        f"`{target}` (retry with backoff, or add an explicit fallback edge) "
                        "and make the payload it receives carry what it needs."
                    ),
                    logql=self.context.logql.transition_with_errors(source, target),
                    samples=self._samples[edge].events(),
                    # A late transition into either end moves errors onto or off this edge.
                    nodes=(source, target),
                    series=FindingSeries(
                        metric="failed traversals",
                        values=dict(self._failures_over_time[edge]),
                        unit_ns=self._unit_ns,
                        exposure=traffic.taken_over_time(source, target),
                        exposure_unit="traversals",
                        exposure_query=series.transitions(self.context.logql, source, target),
                    ),
                )
            )
        return findings
