"""One pass of the Log Analyzer: stream a source once through parsing, attribution, detectors.

Memory is bounded by what the detectors keep (per-key integer arrays, a few samples each,
live scopes), never by the number of lines. The hot loop is deliberately plain Python
with local names: it runs once per log line.

A large plain export can be split into parts scanned by parallel processes (``jobs``).
The result is the same as one scan's: each part's events that belong to a span begun in
an earlier part are handed back unattributed and replayed once the earlier parts are
known; errors are fed to their detectors in one process, in stream order, because Drain's
templates depend on the order it sees messages in; everything else merges (counts, integer
arrays, samples ordered by stream position).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial

from micro_gastown.analysis.trimming import KEPT_CHARS, trimmed
from micro_gastown.analysis.workers import ForkedWorkers
from micro_gastown.clustering import (
    MAX_CLUSTERED_CHARS,
    MAX_CLUSTERED_TOKENS,
    Masker,
    TemplateMiner,
    clustered_part,
)
from micro_gastown.detectors import Detector, DetectorContext, Finding, Traffic, all_detectors
from micro_gastown.detectors.base import ErrorTemplates, Handler
from micro_gastown.detectors.series import Timeline, counting_unit_ns, merge_timeline
from micro_gastown.detectors.stats import MAX_SAMPLES
from micro_gastown.dsl import DslModel
from micro_gastown.events.attribution import DEFERRED, Attributor, ScopeState
from micro_gastown.events.model import (
    EffectExecution,
    ErrorEvent,
    Event,
    GraphTransition,
    LlmCall,
    UserAction,
)
from micro_gastown.events.parse import parse_line
from micro_gastown.events.skips import SkipCounter
from micro_gastown.evidence.grafana import GrafanaExplore
from micro_gastown.logql import LogQL
from micro_gastown.progress import TICK_ENTRIES
from micro_gastown.sources.base import LogEntry, LogSource, SourceStats
from micro_gastown.sources.file import FileSource
from micro_gastown.thresholds import Thresholds
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
    jobs: int = 1
    """Processes for a plain export file; gzip and other sources are read by one."""
    min_part_bytes: int = 64 * 1024 * 1024
    """A file is split only into parts at least this large."""
    max_lines: int | None = None
    """Stop after this many entries (a safety cap for live sources); the report says so."""
    detectors: tuple[str, ...] | None = None
    """Run only these detectors (names as in ``DETECTOR_NAMES``); None runs all."""
    pushdown: str = "auto"
    """For Loki: ``auto`` asks Loki for aggregates where they suffice (see
    :mod:`micro_gastown.analysis.pushdown`), ``on`` insists, ``off`` reads raw lines."""
    tick: Callable[[int], None] | None = None
    """Called with the entries this process has read, every ``TICK_ENTRIES`` (progress);
    never in a worker process."""


@dataclass(slots=True)
class AnalysisRun:
    """Everything one pass produced, before it becomes a report."""

    findings: list[Finding]
    events_by_type: dict[str, int]
    first_ns: int | None
    last_ns: int | None
    skips: SkipCounter
    unattributed: int
    out_of_order: int
    parts: int = 1
    unattributed_by: dict[tuple[str, str], int] = field(default_factory=dict)
    """(event kind, why) → events left without a node (see Attributor)."""
    truncated: bool = False
    transitions: int = 0
    """Graph transitions counted for dead_path (0 when the window had none)."""
    out_of_order_nodes: dict[str, int] = field(default_factory=dict)
    """Out-of-order events by the node they were attributed to (see Attributor)."""
    notes: list[str] = field(default_factory=list)
    """What the report should say about how the analysis went (the reader may need it)."""
    series_window: tuple[int, int] | None = None
    """The ``[start, end)`` the findings' series cover, when the pass fixed it (push-down
    asks Loki for buckets of it); None: the report's query range."""


class _Capped:
    """At most ``limit`` entries of a source, noting whether any were left unread."""

    def __init__(self, entries: Iterator[LogEntry], limit: int) -> None:
        self._entries = entries
        self._limit = limit
        self.truncated = False

    def __iter__(self) -> Iterator[LogEntry]:
        try:
            for count, entry in enumerate(self._entries, start=1):
                if count > self._limit:
                    self.truncated = True
                    return
                yield entry
        finally:
            close = getattr(self._entries, "close", None)
            if close is not None:
                close()  # stop the source now: no further pages are pulled


_POSITION_BITS = 40  # events per part; positions order samples across parts


@dataclass(slots=True)
class PartResult:
    """What the scan of one part sends back to the parent (it is pickled)."""

    index: int
    detectors: list[Detector]
    edges: dict[tuple[str, str], int]
    edge_timelines: dict[tuple[str, str], Timeline]
    counts: dict[type[Event], int]
    first_ns: int
    last_ns: int
    skips: SkipCounter
    stats: SourceStats
    scopes: dict[str, ScopeState]
    orphans: list[tuple[int, Event]]
    errors: list[tuple[int, ErrorEvent]]
    unattributed: int
    unattributed_by: Counter[tuple[str, str]]
    inferred_llm_nodes: set[str]
    out_of_order: int
    out_of_order_nodes: Counter[str]


class ScanPass:
    """Detectors, attribution and counters for one scan (a whole stream or one part)."""

    def __init__(
        self,
        settings: AnalysisSettings,
        dsl: DslModel | None,
        *,
        index: int = 0,
        split: bool = False,
        series_unit_ns: int | None = None,
    ) -> None:
        """``series_unit_ns``: the unit detectors count series in (see
        :func:`~micro_gastown.detectors.series.counting_unit_ns`; a minute if None)."""
        self.index = index
        self.tick = None if split and index > 0 else settings.tick
        self.skips = SkipCounter()
        self.context = DetectorContext(
            thresholds=settings.thresholds,
            logql=settings.logql,
            attributor=Attributor(settings.idle_timeout_ns, defer_unknown=split and index > 0),
            traffic=Traffic(),
            error_templates=ErrorTemplates(),
            dsl=dsl,
            series_unit_ns=series_unit_ns or counting_unit_ns(None, None),
        )
        self.detectors = all_detectors(self.context, settings.detectors)
        self.dispatch = dispatch_table(self.detectors)
        self.errors: list[tuple[int, ErrorEvent]] = []
        self._masker = Masker() if split else None
        self._kept_by_form: dict[str, int] = {}
        self._kept_by_edge: dict[tuple[str, str], int] = {}
        if split:
            # Errors wait for the parent, which feeds them in stream order.
            self.dispatch[ErrorEvent] = (self._collect_error,)
        self.counts = dict.fromkeys(_EVENT_CLASSES, 0)
        self.first_ns = _NO_TIME
        self.last_ns = -1
        self.orphans: list[tuple[int, Event]] = []
        # Push-down takes transition counts from Loki; the raw transitions it reads (only
        # those of some scopes) then feed attribution alone.
        self.count_edges = True

    def _collect_error(self, event: ErrorEvent) -> None:
        """Keep an error for the parent; whole only if it may become an evidence sample.

        Samples are the first few errors of a template or of a failed edge. A template
        gathers whole masked forms (of a message's clustered part), so the first
        ``MAX_SAMPLES`` of each masked form and of each edge in this part include every
        error any detector can sample. The rest travel without their fields and labels,
        which is most of their size.
        """
        assert self._masker is not None  # errors are collected only in split parts
        keep = False
        form = self._masker.mask(clustered_part(event.message))
        seen = self._kept_by_form.get(form, 0)
        if seen < MAX_SAMPLES:
            self._kept_by_form[form] = seen + 1
            keep = True
        edge = event.failed_edge
        if edge is not None:
            seen = self._kept_by_edge.get(edge, 0)
            if seen < MAX_SAMPLES:
                self._kept_by_edge[edge] = seen + 1
                keep = True
        if not keep:
            event = ErrorEvent(
                event.ts_ns, {}, {}, event.scope, event.node, event.message, None, edge
            )
        self.errors.append((self.context.position, event))

    def run(self, source: LogSource, window: TimeWindow, max_lines: int | None = None) -> bool:
        """Scan ``window``; with ``max_lines``, stop after that many entries.

        Returns whether entries were left unread because of the cap.
        """
        skips = self.skips
        context = self.context
        observe = context.attributor.observe
        edges = context.traffic.edges if self.count_edges else {}
        edge_timelines = context.traffic.timelines if self.count_edges else {}
        unit_ns = context.series_unit_ns
        dispatch = self.dispatch
        counts = self.counts
        orphans = self.orphans
        parse = parse_line
        deferred = DEFERRED
        first_ns = self.first_ns
        last_ns = self.last_ns
        position = self.index << _POSITION_BITS
        start = position
        long_line = KEPT_CHARS
        tick = self.tick
        mask = TICK_ENTRIES - 1
        entries = source.entries(window, skips)
        capped = _Capped(entries, max_lines) if max_lines is not None else None
        for ts_ns, line, labels in capped if capped is not None else entries:
            event = parse(ts_ns, line, labels, skips)
            if event is None:
                continue
            if len(line) > long_line:
                event = trimmed(event)  # before any detector can keep it as a sample
            position += 1
            if tick is not None and not position & mask:
                tick(position - start)
            cls = type(event)
            counts[cls] += 1
            if ts_ns < first_ns:
                first_ns = ts_ns
            if ts_ns > last_ns:
                last_ns = ts_ns
            if observe(event) is deferred:
                orphans.append((position, event))
                continue
            if cls is GraphTransition:
                edge = (event.source, event.target)  # type: ignore[attr-defined]
                edges[edge] = edges.get(edge, 0) + 1
                timeline = edge_timelines.get(edge)
                if timeline is None:
                    timeline = edge_timelines[edge] = {}
                unit = (ts_ns - 1) // unit_ns
                timeline[unit] = timeline.get(unit, 0) + 1
            handlers = dispatch[cls]
            if handlers:
                context.position = position
                for handler in handlers:
                    handler(event)
        self.first_ns = first_ns
        self.last_ns = last_ns
        return capped is not None and capped.truncated

    def result(self, stats: SourceStats) -> PartResult:
        attributor = self.context.attributor
        return PartResult(
            index=self.index,
            detectors=[d for d in self.detectors if ErrorEvent not in d.handlers()],
            edges=self.context.traffic.edges,
            edge_timelines=self.context.traffic.timelines,
            counts=self.counts,
            first_ns=self.first_ns,
            last_ns=self.last_ns,
            skips=self.skips,
            stats=stats,
            scopes=attributor.scopes,
            orphans=self.orphans,
            errors=self.errors,
            unattributed=attributor.unattributed,
            unattributed_by=attributor.unattributed_by,
            inferred_llm_nodes=attributor.inferred_llm_nodes,
            out_of_order=attributor.out_of_order,
            out_of_order_nodes=attributor.out_of_order_nodes,
        )

    def absorb(self, part: PartResult) -> None:
        """Fold one part's result into this (the parent's) pass, parts in stream order."""
        context = self.context
        attributor = context.attributor
        errors = list(part.errors)
        for position, event in part.orphans:
            attributor.observe(event)  # the parent knows the spans earlier parts began
            context.position = position
            if type(event) is ErrorEvent:
                errors.append((position, event))
            else:
                for handler in self.dispatch[type(event)]:
                    handler(event)
        by_type = {type(d): d for d in self.detectors}
        for theirs in part.detectors:
            by_type[type(theirs)].merge(theirs)
        errors.sort(key=lambda item: item[0])
        for position, error in errors:
            context.position = position
            for handler in self.dispatch[ErrorEvent]:
                handler(error)
        attributor.adopt(part.scopes)
        attributor.unattributed += part.unattributed
        attributor.unattributed_by.update(part.unattributed_by)
        attributor.inferred_llm_nodes |= part.inferred_llm_nodes
        attributor.out_of_order += part.out_of_order
        attributor.out_of_order_nodes.update(part.out_of_order_nodes)
        edges = context.traffic.edges
        for edge, n in part.edges.items():
            edges[edge] = edges.get(edge, 0) + n
        timelines = context.traffic.timelines
        for edge, timeline in part.edge_timelines.items():
            merge_timeline(timelines.setdefault(edge, {}), timeline)
        for cls, n in part.counts.items():
            self.counts[cls] += n
        self.first_ns = min(self.first_ns, part.first_ns)
        self.last_ns = max(self.last_ns, part.last_ns)
        self.skips.reasons.update(part.skips.reasons)
        self.skips.unknown_types.update(part.skips.unknown_types)

    def finish(self, *, parts: int, truncated: bool = False) -> AnalysisRun:
        attributor = self.context.attributor
        seen = self.last_ns >= 0
        return AnalysisRun(
            findings=[finding for detector in self.detectors for finding in detector.finish()],
            events_by_type={cls.kind.value: n for cls, n in self.counts.items()},
            first_ns=self.first_ns if seen else None,
            last_ns=self.last_ns if seen else None,
            skips=self.skips,
            unattributed=attributor.unattributed,
            out_of_order=attributor.out_of_order,
            parts=parts,
            unattributed_by=dict(attributor.unattributed_by),
            truncated=truncated,
            transitions=sum(self.context.traffic.edges.values()),
            out_of_order_nodes=dict(attributor.out_of_order_nodes),
            notes=_clipped_note(self.context.error_templates.miner.clipped)
            + _overflow_note(self.context.error_templates.miner),
        )


def _overflow_note(miner: TemplateMiner) -> list[str]:
    if not miner.overflowed:
        return []
    return [
        f"{miner.overflowed:,} error messages were not grouped into templates: more than "
        f"{miner.max_templates:,} distinct templates appeared (text that never repeats, such as "
        "random or hostile messages, would make grouping slow); repeated_error does not "
        "report them"
    ]


def _clipped_note(clipped: int) -> list[str]:
    if not clipped:
        return []
    return [
        f"{clipped:,} long error messages were grouped into templates by their start only (the "
        f"first {MAX_CLUSTERED_TOKENS:,} tokens, {MAX_CLUSTERED_CHARS:,} characters at most); "
        "their templates end in <*>"
    ]


def dispatch_table(detectors: Sequence[Detector]) -> dict[type[Event], tuple[Handler, ...]]:
    table: dict[type[Event], list[Handler]] = {cls: [] for cls in _EVENT_CLASSES}
    for detector in detectors:
        for cls, handler in detector.handlers().items():
            table[cls].append(handler)
    return {cls: tuple(handlers) for cls, handlers in table.items()}


def _scan_part(
    part: FileSource, window: TimeWindow, settings: AnalysisSettings, index: int
) -> PartResult:
    """One part of a split file, in a worker process."""
    scan_pass = ScanPass(
        replace(settings, tick=None),
        None,
        index=index,
        split=True,
        series_unit_ns=counting_unit_ns(window.start_ns, window.end_ns),
    )
    scan_pass.run(part, window)
    return scan_pass.result(part.stats)


def _parts(source: LogSource, settings: AnalysisSettings) -> list[FileSource]:
    if settings.jobs < 2 or not isinstance(source, FileSource):
        return []
    return source.split(settings.jobs, settings.min_part_bytes)


def scan(
    source: LogSource, window: TimeWindow, settings: AnalysisSettings, dsl: DslModel | None
) -> AnalysisRun:
    """One pass over ``window`` of ``source``; in parallel parts when it pays off."""
    parent = ScanPass(
        settings, dsl, series_unit_ns=counting_unit_ns(window.start_ns, window.end_ns)
    )
    parts = [] if settings.max_lines is not None else _parts(source, settings)
    if not parts:
        truncated = parent.run(source, window, settings.max_lines)
        return parent.finish(parts=1, truncated=truncated)
    # Workers take the later parts (forked now, before this process holds any state); this
    # process scans the first part itself, which needs nothing from before it.
    calls = [
        partial(_scan_part, part, window, settings, index)
        for index, part in enumerate(parts[1:], start=1)
    ]
    name = source.describe()

    def what(call: int) -> str:  # call 0 scans the second part
        return f"{name}: part {call + 2} of {len(parts)}"

    with ForkedWorkers(calls, what) as workers:
        parent.run(parts[0], window)
        source.stats.absorb(parts[0].stats)
        for result in workers.results():  # in stream order: each part needs those before
            parent.absorb(result)
            source.stats.absorb(result.stats)
            parent.context.attributor.prune(result.last_ns)
            del result  # dropped once absorbed: memory stays bounded
    return parent.finish(parts=len(parts))
