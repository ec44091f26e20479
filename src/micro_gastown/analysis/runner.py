"""Run the Log Analyzer: stream a source once through parsing, attribution and detectors.

Memory is bounded by what the detectors keep (per-key integer arrays, a few samples each,
live scopes), never by the number of lines. The hot loop is deliberately plain Python
with local names: it runs once per log line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from micro_gastown.analysis.assemble import assemble_report
from micro_gastown.analysis.settings import Thresholds
from micro_gastown.detectors import Detector, DetectorContext, Finding, Traffic, all_detectors
from micro_gastown.detectors.base import ErrorTemplates, Handler
from micro_gastown.dsl import DslModel
from micro_gastown.events.attribution import Attributor
from micro_gastown.events.model import (
    EffectExecution,
    ErrorEvent,
    Event,
    GraphTransition,
    LlmCall,
    UserAction,
)
from micro_gastown.events.parse import SkipCounter, parse_line
from micro_gastown.evidence.grafana import GrafanaExplore
from micro_gastown.logql import LogQL
from micro_gastown.report.model import PatternReport
from micro_gastown.sources.base import LogSource
from micro_gastown.timewindow import TimeWindow

_NO_TIME = 1 << 80  # later than any timestamp
_EVENT_CLASSES: tuple[type[Event], ...] = (
    GraphTransition,
    LlmCall,
    EffectExecution,
    ErrorEvent,
    UserAction,
)


@dataclass(frozen=True, slots=True)
class AnalysisSettings:
    thresholds: Thresholds = field(default_factory=Thresholds)
    logql: LogQL = field(default_factory=LogQL)
    grafana: GrafanaExplore | None = None
    idle_timeout_ns: int = 2 * 3600 * 1_000_000_000


@dataclass(slots=True)
class AnalysisRun:
    """Everything one pass produced, before it becomes a report."""

    findings: list[Finding]
    events_by_type: dict[str, int]
    first_ns: int | None
    last_ns: int | None
    skips: SkipCounter
    attributor: Attributor


def _dispatch_table(detectors: Sequence[Detector]) -> dict[type[Event], tuple[Handler, ...]]:
    table: dict[type[Event], list[Handler]] = {cls: [] for cls in _EVENT_CLASSES}
    for detector in detectors:
        for cls, handler in detector.handlers().items():
            table[cls].append(handler)
    return {cls: tuple(handlers) for cls, handlers in table.items()}


def scan(
    source: LogSource, window: TimeWindow, settings: AnalysisSettings, dsl: DslModel | None
) -> AnalysisRun:
    skips = SkipCounter()
    attributor = Attributor(settings.idle_timeout_ns)
    traffic = Traffic()
    context = DetectorContext(
        thresholds=settings.thresholds,
        logql=settings.logql,
        attributor=attributor,
        traffic=traffic,
        error_templates=ErrorTemplates(),
        dsl=dsl,
    )
    detectors = all_detectors(context)
    dispatch = _dispatch_table(detectors)
    counts = dict.fromkeys(_EVENT_CLASSES, 0)
    observe = attributor.observe
    edges = traffic.edges
    parse = parse_line
    first_ns = _NO_TIME
    last_ns = -1
    for ts_ns, line, labels in source.entries(window, skips):
        event = parse(ts_ns, line, labels, skips)
        if event is None:
            continue
        cls = type(event)
        counts[cls] += 1
        if ts_ns < first_ns:
            first_ns = ts_ns
        if ts_ns > last_ns:
            last_ns = ts_ns
        observe(event)
        if cls is GraphTransition:
            edge = (event.source, event.target)  # type: ignore[attr-defined]
            edges[edge] = edges.get(edge, 0) + 1
        for handler in dispatch[cls]:
            handler(event)
    findings = [finding for detector in detectors for finding in detector.finish()]
    return AnalysisRun(
        findings=findings,
        events_by_type={cls.kind.value: n for cls, n in counts.items()},
        first_ns=first_ns if last_ns >= 0 else None,
        last_ns=last_ns if last_ns >= 0 else None,
        skips=skips,
        attributor=attributor,
    )


def run_analysis(
    source: LogSource,
    window: TimeWindow,
    settings: AnalysisSettings,
    dsl: DslModel | None = None,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> PatternReport:
    """Analyze ``window`` of ``source`` and return the PatternReport."""
    started = time.perf_counter()
    run = scan(source, window, settings, dsl)
    elapsed_ms = int((time.perf_counter() - started) * 1000)
    return assemble_report(
        run, source, window, settings, dsl, duration_ms=elapsed_ms, generated_at=clock()
    )
