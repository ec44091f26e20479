"""Turn detector findings into a PatternReport: ids, redacted evidence, links, order, summary.

Everything that leaves the process passes through the redactor here — samples, but also
keys, details, recommendations and LogQL, since error templates come from log text.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from itertools import islice
from typing import Any

from micro_gastown import __version__
from micro_gastown.analysis.scan import AnalysisRun, AnalysisSettings
from micro_gastown.analysis.secret_names import SecretNames
from micro_gastown.clustering import WILDCARD
from micro_gastown.detectors import Finding
from micro_gastown.detectors.series import BucketLayout, bucket_layout, count_query, rebucket
from micro_gastown.dsl import DslModel
from micro_gastown.events.attribution import NO_SCOPE, NO_TRANSITION
from micro_gastown.events.model import Event
from micro_gastown.evidence import Redactor, default_redactor
from micro_gastown.logql import over_window
from micro_gastown.report.fingerprint import fingerprint
from micro_gastown.report.model import (
    AttributionGap,
    Metadata,
    Pattern,
    PatternReport,
    PatternType,
    QueryRange,
    SampleEvent,
    Series,
    Severity,
    Summary,
)
from micro_gastown.sources.base import LogSource
from micro_gastown.timewindow import TimeWindow, format_ns

_TYPE_ORDER = {kind: index for index, kind in enumerate(PatternType)}


def no_events_note(outside_window: int) -> str:
    """What an analysis that found no event in its window says (report note and warning)."""
    outside = f" ({outside_window:,} lines read fell outside it)" if outside_window else ""
    return f"no events in the window{outside}: check the window, the source and its selector"


def _sample(event: Event, redactor: Redactor) -> SampleEvent:
    redacted = redactor.redact_value(event.labels)  # names too: a label's name is log text
    labels = {str(k): str(v) for k, v in redacted.items()} if isinstance(redacted, dict) else {}
    fields = redactor.redact_value(event.fields)
    return SampleEvent(
        timestamp=format_ns(event.ts_ns),
        timestamp_ns=str(event.ts_ns),
        labels=labels,
        node=redactor.redact_text(event.node) if event.node is not None else None,
        event=fields if isinstance(fields, dict) else {"value": fields},
    )


def _out_of_order(finding: Finding, by_node: dict[str, int]) -> int | None:
    """Out-of-order events attributed to the finding's nodes (each counts at one node)."""
    return sum(by_node.get(node, 0) for node in set(finding.nodes)) or None


def _series(finding: Finding, layout: BucketLayout | None, names: SecretNames) -> Series | None:
    """The finding's counts per bucket of the report's window (see detectors.series)."""
    counted = finding.series
    if counted is None or layout is None:
        return None

    def query(log_query: str | None) -> str | None:
        return names.query(count_query(log_query, layout)) if log_query else None

    exposure = counted.exposure
    return Series(
        start=format_ns(layout.start_ns),
        step_seconds=layout.step_seconds,
        metric=counted.metric,
        values=rebucket(counted.values, counted.unit_ns, layout),
        exposure=rebucket(exposure, counted.unit_ns, layout) if exposure is not None else None,
        exposure_unit=counted.exposure_unit,
        query=query(counted.query),
        exposure_query=query(counted.exposure_query),
    )


def series_layout(run: AnalysisRun, window: TimeWindow) -> BucketLayout | None:
    """The buckets of the findings' series: over the window the pass fixed, else over the
    report's query range (the window's own bounds, else the first and last event)."""
    if run.series_window is not None:
        return bucket_layout(*run.series_window)
    start = window.start_ns if window.start_ns is not None else run.first_ns
    if window.end_ns is not None:
        end = window.end_ns
    elif run.last_ns is not None:
        end = run.last_ns + 1
    else:
        return None
    return bucket_layout(start, end) if start is not None else None


def _secret_names(finding: Finding, redactor: Redactor) -> SecretNames:
    """The finding's strings from the logs (key, nodes, samples' nodes, details; those with a
    Drain wildcard, and the ``template`` key, are templates) that a text may quote."""
    names: set[str] = set(finding.nodes)
    names.update(event.node for event in finding.samples[:5] if event.node is not None)
    templates: set[str] = set()
    for name, value in finding.key.items():
        if value is not None:
            (templates if name == "template" else names).add(value)
    for text in _strings(finding.details, redactor.max_items, depth=0):
        (templates if WILDCARD in text else names).add(text)
    return SecretNames(redactor, names, templates)


def _strings(value: object, items: int, depth: int) -> Iterator[str]:
    """The strings (dict keys too) of a detector's details, as far as the report shows
    them: ``items`` per container, 8 levels deep (the redactor cuts the rest)."""
    if isinstance(value, str):
        yield value
    elif depth < 8 and isinstance(value, dict):
        for key, item in islice(value.items(), items):
            yield from _strings(key, items, depth + 1)
            yield from _strings(item, items, depth + 1)
    elif depth < 8 and isinstance(value, list | tuple):
        for item in islice(value, items):
            yield from _strings(item, items, depth + 1)


def _pattern(
    finding: Finding,
    redactor: Redactor,
    settings: AnalysisSettings,
    link_range: tuple[int, int] | None,
    out_of_order_nodes: dict[str, int],
    layout: BucketLayout | None,
) -> Pattern:
    names = _secret_names(finding, redactor)
    key: dict[str, str | None] = {
        name: redactor.redact_text(value) if value is not None else None
        for name, value in finding.key.items()
    }
    details: Any = redactor.redact_value(names.value(finding.details))
    logql = names.query(finding.logql) if finding.logql else None
    if logql and link_range is not None:
        logql = over_window(logql, *link_range)  # its figure over exactly the window
    url = None
    if settings.grafana is not None and logql and link_range is not None:
        url = settings.grafana.link(logql, *link_range)
    return Pattern(
        id=fingerprint(finding.kind, key),
        type=finding.kind,
        severity=finding.severity,
        occurrences=max(finding.occurrences, 1),
        details=details,
        recommendation=names.prose(finding.recommendation),
        key=key,
        grafana_query=logql,
        grafana_url=url,
        sample_events=[_sample(event, redactor) for event in finding.samples[:5]],
        series=_series(finding, layout, names),
        out_of_order_events=_out_of_order(finding, out_of_order_nodes),
    )


_MAX_IDS_IN_NOTE = 10


def out_of_order_note(count: int, patterns: list[Pattern]) -> str:
    """What out-of-order events mean for this report, naming the findings they may skew.

    One line: it is also the warning ``analyze`` prints on stderr.
    """
    marked = [p.id for p in patterns if p.out_of_order_events]
    text = (
        f"{count:,} {'event' if count == 1 else 'events'} arrived earlier than the previous "
        "event of their span; attribution "
        "assumes oldest-first order (export with `logcli query --forward`), so events may sit "
        "at the wrong node"
    )
    if not marked:
        return f"{text}; no finding is about the nodes they were attributed to"
    shown = ", ".join(marked[:_MAX_IDS_IN_NOTE])
    more = f" and {len(marked) - _MAX_IDS_IN_NOTE} more" if len(marked) > _MAX_IDS_IN_NOTE else ""
    return f"{text}; findings that may be off (out_of_order_events set): {shown}{more}"


def _bounds(run: AnalysisRun, window: TimeWindow) -> tuple[int | None, int | None]:
    """The window's own bounds where it has them, else the first/last event analyzed."""
    start = window.start_ns if window.start_ns is not None else run.first_ns
    end = window.end_ns if window.end_ns is not None else run.last_ns
    return start, end


def _range(run: AnalysisRun, window: TimeWindow) -> tuple[int, int] | None:
    """``[start, end)`` of what was analyzed: the window, or up to just past the last
    event when the window had no end (a file), so the last event is inside it."""
    start, end = _bounds(run, window)
    if start is None or end is None:
        return None
    if window.end_ns is None:
        end += 1
    return start, max(end, start + 1)


def assemble_report(
    run: AnalysisRun,
    source: LogSource,
    window: TimeWindow,
    settings: AnalysisSettings,
    dsl: DslModel | None,
    *,
    duration_ms: int,
    generated_at: datetime,
) -> PatternReport:
    redactor = default_redactor()
    link_range = _range(run, window)
    layout = series_layout(run, window)
    patterns = sorted(
        (
            _pattern(f, redactor, settings, link_range, run.out_of_order_nodes, layout)
            for f in run.findings
        ),
        key=lambda p: (p.severity.rank, _TYPE_ORDER[p.type], -p.occurrences, p.id),
    )
    patterns = _distinct_ids(patterns)
    by_severity = dict.fromkeys(Severity, 0)
    for pattern in patterns:
        by_severity[pattern.severity] += 1
    start, end = _bounds(run, window)
    query_range = QueryRange(
        start=format_ns(start) if start is not None else None,
        end=format_ns(end) if end is not None else None,
    )
    events_analyzed = sum(run.events_by_type.values())
    stats = source.stats
    notes = list(stats.notes)
    notes.extend(run.notes)
    if run.out_of_order:
        notes.append(out_of_order_note(run.out_of_order, patterns))
    if settings.detectors is not None:
        notes.append(f"only these detectors ran: {', '.join(settings.detectors)}")
    if events_analyzed == 0:
        notes.append(no_events_note(stats.outside_window))
    if dsl is not None:
        notes.extend(f"DSL checkout: could not read {problem}" for problem in dsl.problems)
    if dsl is None:
        notes.append("no DSL checkout was given: dead_path was not checked")
    elif (
        events_analyzed
        and not run.transitions
        and "dead_path" in (settings.detectors or ("dead_path",))
    ):
        notes.append("no graph transitions in the window: dead_path had nothing to compare")
    if run.truncated:
        notes.append(
            f"stopped after the line cap of {settings.max_lines:,} entries: the findings cover "
            "only the start of the window"
        )
    metadata = Metadata(
        generated_at=generated_at.isoformat().replace("+00:00", "Z"),
        generator_version=f"micro-gastown {__version__}",
        query_duration_ms=duration_ms,
        source=source.describe(),
        window=QueryRange(
            start=format_ns(window.start_ns) if window.start_ns is not None else None,
            end=format_ns(window.end_ns) if window.end_ns is not None else None,
        ),
        lines_read=stats.lines_read,
        bytes_read=stats.bytes_read,
        requests=stats.requests or None,
        events_analyzed=events_analyzed,
        events_by_type=run.events_by_type,
        skipped=run.skips.as_dict(),
        unknown_types=_unknown_types(run, redactor),
        unattributed_events=run.unattributed,
        attribution=attribution_gaps(run),
        out_of_order_events=run.out_of_order,
        outside_window=stats.outside_window,
        duplicate_entries=stats.duplicates,
        parts=run.parts,
        truncated=run.truncated or None,
        thresholds={k: float(v) for k, v in settings.thresholds.model_dump().items()},
        dsl_repo=str(dsl.root) if dsl is not None else None,
        declared_edges=len(dsl.edges()) if dsl is not None else None,
        notes=[redactor.redact_text(note) for note in notes],  # a note may quote labels
    )
    summary = Summary(
        total_patterns=len(patterns),
        critical=by_severity[Severity.CRITICAL],
        warning=by_severity[Severity.WARNING],
        info=by_severity[Severity.INFO],
        query_range=query_range,
        events_analyzed=events_analyzed,
    )
    return PatternReport(patterns=patterns, summary=summary, metadata=metadata)


def _distinct_ids(patterns: list[Pattern]) -> list[Pattern]:
    """Findings whose keys differ only in a secret redact alike, and so share an id; in
    report order, the second and later get ``-2``, ``-3``, ... (a fingerprint ends in ten hex
    digits, so no other finding's id can end so). Refine and file-pr pick findings by id."""
    seen: dict[str, int] = {}
    distinct: list[Pattern] = []
    for pattern in patterns:
        n = seen[pattern.id] = seen.get(pattern.id, 0) + 1
        distinct.append(
            pattern if n == 1 else pattern.model_copy(update={"id": f"{pattern.id}-{n}"})
        )
    return distinct


def _unknown_types(run: AnalysisRun, redactor: Redactor) -> dict[str, int]:
    """The 20 commonest event types nobody reads, by name as the report may show it (a
    ``type`` is log text: one holding a secret is counted under its redacted name)."""
    shown: dict[str, int] = {}
    for name, n in run.skips.unknown_types.most_common(20):
        clean = redactor.redact_text(name)
        shown[clean] = shown.get(clean, 0) + n
    return shown


def attribution_gaps(run: AnalysisRun) -> list[AttributionGap]:
    """Per kind of event, those placed at no node and why (kinds fully placed left out)."""
    by_kind: dict[str, dict[str, int]] = {}
    for (kind, why), n in run.unattributed_by.items():
        by_kind.setdefault(kind, {})[why] = by_kind.get(kind, {}).get(why, 0) + n
    return [
        AttributionGap(
            event_type=kind,
            total=max(run.events_by_type.get(kind, 0), sum(whys.values())),
            unattributed=sum(whys.values()),
            no_scope=whys.get(NO_SCOPE, 0),
            no_transition=whys.get(NO_TRANSITION, 0),
        )
        for kind, whys in sorted(by_kind.items())
        if sum(whys.values())
    ]
