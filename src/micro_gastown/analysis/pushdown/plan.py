"""The push-down plan: which detector is fed from Loki's aggregates, which from raw lines.

:func:`pushdown_scan` decides whether push-down applies at all (a Loki source, events
that name their node) and turns a refusal into the reason ``auto`` notes and ``on``
reports; :func:`_run` asks only what the chosen detectors need, in a fixed order, and
feeds it to the normal scan.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Final, TypeVar

from micro_gastown.analysis.pushdown import aggregates, timelines
from micro_gastown.analysis.pushdown.attention import read_attention
from micro_gastown.analysis.pushdown.exemplars import exemplars
from micro_gastown.analysis.pushdown.queries import WindowQueries
from micro_gastown.analysis.scan import AnalysisRun, AnalysisSettings, ScanPass, dispatch_table
from micro_gastown.detectors import Detector
from micro_gastown.detectors.dead_path import DeadPathDetector
from micro_gastown.detectors.effect_failure import EffectFailureDetector
from micro_gastown.detectors.failed_transition import FailedTransitionDetector
from micro_gastown.detectors.repeated_error import RepeatedErrorDetector
from micro_gastown.detectors.series import bucket_layout, merge_timeline
from micro_gastown.detectors.slow_llm import SlowLlmDetector
from micro_gastown.detectors.token_bloat import TokenBloatDetector
from micro_gastown.dsl import DslModel
from micro_gastown.errors import UsageError
from micro_gastown.events.model import (
    EffectExecution,
    ErrorEvent,
    GraphTransition,
    LlmCall,
    UserAction,
)
from micro_gastown.events.skips import SkipCounter
from micro_gastown.report.model import PatternType
from micro_gastown.sources.base import LogEntry, LogSource
from micro_gastown.sources.loki.selection import exact_range
from micro_gastown.sources.loki.source import LokiSource
from micro_gastown.timewindow import TimeWindow, format_ns

ERROR_DETECTORS: Final = (FailedTransitionDetector, RepeatedErrorDetector)


class PushdownDeclined(Exception):
    """Push-down cannot give the raw scan's findings for this data; the reason says why."""


def pushdown_scan(
    source: LogSource, window: TimeWindow, settings: AnalysisSettings, dsl: DslModel | None
) -> AnalysisRun | None:
    """Analyze with push-down, or None when it does not apply (then scan raw lines)."""
    if not isinstance(source, LokiSource):
        if settings.pushdown == "on":
            raise UsageError("push-down needs a Loki source", setting="pushdown", value="on")
        return None
    client = source.client
    requests, received = client.requests, client.bytes_received
    queries = WindowQueries(source, window, settings.logql)
    try:
        run = _run(queries, settings, dsl)
    except PushdownDeclined as declined:
        if settings.pushdown == "on":
            raise UsageError(str(declined), setting="pushdown", value="on") from None
        source.stats.notes.append(f"push-down declined, read raw lines instead: {declined}")
        run = None
    finally:
        source.stats.requests += client.requests - requests
        source.stats.bytes_read += client.bytes_received - received
        source.stats.lines_read += queries.raw_lines
    return run


def _run(queries: WindowQueries, settings: AnalysisSettings, dsl: DslModel | None) -> AnalysisRun:
    if not exact_range(queries.start, queries.end):
        raise PushdownDeclined(
            f"the window {format_ns(queries.start)} .. {format_ns(queries.end)} is not a whole "
            "number of milliseconds long, and a LogQL range cannot be finer"
        )
    lines = queries.census()
    layout = bucket_layout(queries.start, queries.end)  # the findings' series
    scan = ScanPass(replace(settings, logql=queries.logql), dsl, series_unit_ns=layout.step_ns)
    slow_llm = _detector(scan, SlowLlmDetector)
    token_bloat = _detector(scan, TokenBloatDetector)
    effect_failure = _detector(scan, EffectFailureDetector)
    reads_errors = any(isinstance(d, ERROR_DETECTORS) for d in scan.detectors)
    counts: dict[str, int] = {}
    if slow_llm is not None or token_bloat is not None:
        _check_nodes_named(queries)
        latencies, nodes = aggregates.llm_figures(queries, settings.thresholds)
        calls, slow, large = timelines.llm_timelines(queries, layout, settings.thresholds)
        if slow_llm is not None:
            slow_llm.load_remote(latencies, calls, slow)
        if token_bloat is not None:
            for (node, _), timeline in calls.items():
                if node in nodes:
                    merge_timeline(nodes[node].calls, timeline)
            for node, timeline in large.items():
                if node in nodes:
                    nodes[node].large = timeline
            token_bloat.load_remote(nodes)
        counts[LlmCall.kind.value] = sum(len(d) for d in latencies.values())
    if effect_failure is not None:
        effects = aggregates.effect_figures(queries)
        effect_failure.load_remote(effects, timelines.effect_timelines(queries, layout))
        counts[EffectExecution.kind.value] = sum(len(d) for d in effects.values())
    if reads_errors or _detector(scan, DeadPathDetector) is not None:
        edges = aggregates.edges(queries)
        scan.context.traffic.edges.update(edges)
        scan.context.traffic.timelines.update(timelines.edge_timelines(queries, layout))
        counts[GraphTransition.kind.value] = sum(edges.values())
    scan.count_edges = False
    # The detectors fed by aggregates alone ignore the raw events read for the others.
    by_aggregates = (SlowLlmDetector, TokenBloatDetector, DeadPathDetector)
    scan.dispatch = dispatch_table([d for d in scan.detectors if not isinstance(d, by_aggregates)])
    attention = read_attention(
        queries,
        errors=reads_errors,
        failed_effects=effect_failure is not None,
        idle_timeout_ns=settings.idle_timeout_ns,
    )
    truncated = scan.run(
        _Entries(attention.entries, queries.source), queries.window, settings.max_lines
    )
    run = scan.finish(parts=1, truncated=truncated)
    run.series_window = (queries.start, queries.end)
    for finding in run.findings:
        if finding.kind in (PatternType.SLOW_LLM, PatternType.TOKEN_BLOAT):
            finding.samples = exemplars(queries, finding)
    counts[UserAction.kind.value] = aggregates.user_actions(queries)
    if reads_errors:  # all of them were read, each once
        counts[ErrorEvent.kind.value] = run.events_by_type[ErrorEvent.kind.value]
    # Kinds no detector asked about were not analyzed (the scopes read hold a few).
    run.events_by_type = {kind: counts.get(kind, 0) for kind in run.events_by_type}
    queries.source.stats.notes.append(
        f"push-down: {queries.metric_queries} aggregate queries over {lines:,} lines in Loki; "
        f"raw lines only for {attention.lines:,} errors and failed effects, the transitions "
        f"of the {attention.scopes:,} spans/sessions they occur in "
        f"({attention.whole:,} read whole: an idle gap or a tie), and exemplars"
    )
    return run


def _check_nodes_named(queries: WindowQueries) -> None:
    unnamed = aggregates.unnamed_llm_calls(queries)
    if unnamed:
        raise PushdownDeclined(
            f"{unnamed:,} llm_call events belong to a span or session but carry no "
            "`node` field, so only their span's raw events in order can tell their node"
        )


class _Entries:
    """The raw lines push-down decided to read, as a source for the normal scan."""

    def __init__(self, entries: Iterator[LogEntry], source: LokiSource) -> None:
        self._entries = entries
        self.stats = source.stats
        self._describe = source.describe

    def describe(self) -> str:
        return self._describe()

    def entries(self, window: TimeWindow, skips: SkipCounter) -> Iterator[LogEntry]:
        return self._entries

    def close(self) -> None:
        """The Loki source is closed by its owner."""


_D = TypeVar("_D", bound=Detector)


def _detector(scan: ScanPass, cls: type[_D]) -> _D | None:
    return next((d for d in scan.detectors if isinstance(d, cls)), None)
