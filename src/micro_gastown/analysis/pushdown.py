"""Loki push-down: ask Loki for aggregates where they are enough, pull raw lines where not.

What each detector needs, and where it comes from when reading Loki with push-down:

================= ============================================= ==============================
detector          aggregates (instant metric queries)           raw lines
================= ============================================= ==============================
dead_path         transitions per edge (``sum by (from, to)``)  none
slow_llm          per node and model: calls, p50/p95/p99/max    the 5 slowest calls of each
                  latency, calls above the warning threshold    finding (exemplars)
token_bloat       per node: calls, models, p50/p95 prompt,      the 5 largest prompts of each
                  p50 completion                                finding (exemplars)
effect_failure    per effect type: executions, p95 latency      failed executions
failed_transition transitions per edge                          errors, and every event of the
                                                                spans/sessions they occur in
                                                                (attribution needs the order)
repeated_error    none                                          errors (Drain needs messages)
================= ============================================= ==============================

Per-node aggregates need events that name their node: an ``llm_call`` inside a span or
session without a ``node`` field can only be attributed from the span's raw events in
order. A probe counts such calls first; if there are any, push-down declines and the
analysis reads raw lines (``--pushdown auto``, the default) or stops with the reason
(``--pushdown on``). Streams without an ``event_type`` label are selected by a line filter
on the JSON ``type`` instead (:class:`micro_gastown.logql.LogQL`).

Findings equal those of a raw scan: Loki's ``quantile_over_time`` interpolates exactly like
:meth:`Histogram.percentiles`; each query runs over the whole window as an instant query
at ``end - 1ns`` with a range of the window's length, so Loki's ``(t - range, t]`` is the
window's ``[start, end)``; and the queries reject what the local parser skips (lines that
are not JSON, missing fields, quoted or fractional numbers). Residual differences: Loki's
JSON parser turns every value into a string, so a number where a string belongs (say
``"model": 5``) is counted by Loki but skipped locally; an exponent-form integer
(``1e3``) the other way round.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Generator, Iterator
from dataclasses import replace
from typing import Any, Final, TypeVar

import orjson

from micro_gastown.analysis.runner import AnalysisRun, AnalysisSettings, ScanPass, dispatch_table
from micro_gastown.detectors import Detector, Finding
from micro_gastown.detectors.dead_path import DeadPathDetector
from micro_gastown.detectors.effect_failure import EffectFailureDetector
from micro_gastown.detectors.failed_transition import FailedTransitionDetector
from micro_gastown.detectors.repeated_error import RepeatedErrorDetector
from micro_gastown.detectors.slow_llm import SlowLlmDetector
from micro_gastown.detectors.stats import MAX_SAMPLES, Distribution, RemoteDistribution
from micro_gastown.detectors.token_bloat import NodeCalls, TokenBloatDetector
from micro_gastown.dsl import DslModel
from micro_gastown.errors import UsageError
from micro_gastown.events.model import (
    EffectExecution,
    ErrorEvent,
    Event,
    GraphTransition,
    LlmCall,
    UserAction,
)
from micro_gastown.events.parse import SkipCounter, parse_line
from micro_gastown.logql import LogQL, escape_regex, quote, quote_regex
from micro_gastown.report.model import PatternType
from micro_gastown.sources.base import LogEntry, LogSource
from micro_gastown.sources.loki.client import LokiClient
from micro_gastown.sources.loki.selection import (
    duration,
    fallback_note,
    matrix_points,
    select_event_kinds,
    vector,
    whole_window,
)
from micro_gastown.sources.loki.source import LokiSource
from micro_gastown.timewindow import TimeWindow

ERROR_DETECTORS: Final = (FailedTransitionDetector, RepeatedErrorDetector)
EXEMPLAR_LINES: Final = 200
"""The most raw lines pulled to pick one finding's exemplars."""
_INVALID_LABEL_CHARS: Final = re.compile(r"[^a-zA-Z0-9_]")
SCOPES_PER_QUERY: Final = 100
"""Spans or sessions named in one raw query (a regex alternation): keeps URLs short."""

# What the local parser accepts, as line filters Loki applies before parsing (after
# ``| json`` every value is a string, so types must be checked on the raw line).
_COUNT = r"[0-9]+(\.0+)?"  # a non-negative integer, or an integral float like 12.0
_VALID: Final = {
    "graph_transition": (
        r' |~ `"from"\s*:\s*"[^"]` |~ `"to"\s*:\s*"[^"]` !~ `"trigger"\s*:\s*[^"\sn]`'
        ' | json | __error__="" | type="graph_transition"'
    ),
    "llm_call": (
        r' |~ `"model"\s*:\s*"`'
        r' !~ `"(prompt_tokens|completion_tokens|latency_ms)"\s*:\s*[^0-9\s]`'
        ' | json | __error__="" | type="llm_call"'
        f" | prompt_tokens=~`{_COUNT}` | completion_tokens=~`{_COUNT}` | latency_ms=~`{_COUNT}`"
    ),
    "effect_execution": (
        r' |~ `"effect_type"\s*:\s*"` |~ `"success"\s*:\s*(true|false)`'
        r' !~ `"latency_ms"\s*:\s*[^0-9\s]`'
        f' | json | __error__="" | type="effect_execution" | latency_ms=~`{_COUNT}`'
    ),
    "user_action": (
        r' |~ `"action_type"\s*:\s*"` |~ `"node_context"\s*:\s*"`'
        ' | json | __error__="" | type="user_action"'
    ),
}


def _regex_alternation(values: list[str]) -> str:
    return "|".join(escape_regex(value) for value in values)


class PushdownDeclined(Exception):
    """Push-down cannot give the raw scan's findings for this data; the reason says why."""


class _Plan:
    """One push-down analysis of one window."""

    def __init__(self, source: LokiSource, window: TimeWindow, settings: AnalysisSettings) -> None:
        if window.start_ns is None:
            raise UsageError(
                "reading from Loki needs a start: pass --since (e.g. --since 24h) so the "
                "query covers a bounded window"
            )
        self.source = source
        self.client: LokiClient = source.client
        self.window = window
        self.start = window.start_ns
        self.end = window.end_ns if window.end_ns is not None else source.now()
        self.range, self.at = whole_window(self.start, self.end)
        self.settings = settings
        self.logql: LogQL = settings.logql
        self.metric_queries = 0
        self.raw_lines = 0
        self.attention_lines = 0
        self.scopes = 0

    # -- queries ----------------------------------------------------------------------

    def instant(self, query: str) -> list[tuple[dict[str, str], float]]:
        self.metric_queries += 1
        return vector(self.client.query(query, self.at))

    def total(self, query: str) -> int:
        return int(sum(value for _, value in self.instant(query)))

    def kind(self, event_type: str) -> str:
        """The valid events of one type, as the local parser would accept them."""
        return self.logql.stream(event_type) + _VALID[event_type]

    def raw(self, query: str) -> LokiSource:
        return LokiSource(
            self.client,
            query,
            batch_size=self.source.batch_size,
            split_ns=self.source.split_ns,
            now=lambda: self.end,
        )

    def pull(self, query: str, window: TimeWindow | None = None) -> Generator[LogEntry]:
        """Every entry of the window (or of ``window`` within it), oldest first, with its
        stream's own labels."""
        raw = self.raw(query)
        parsed = "| json" in query
        try:
            for ts, line, labels in raw.entries(window or self.window, SkipCounter()):
                self.raw_lines += 1
                yield ts, line, _stream_labels(labels, line) if parsed else labels
        finally:
            self.source.stats.outside_window += raw.stats.outside_window
            self.source.stats.notes.extend(
                note for note in raw.stats.notes if note not in self.source.stats.notes
            )

    def pull_where_present(self, query: str) -> Iterator[LogEntry]:
        """:meth:`pull`, over only the sub-ranges in which ``query`` has lines.

        A scope query matches a hundred spans or sessions, which mostly live within an hour
        or two of their errors; asking every sub-range of the window for them would be
        mostly empty requests. One count per sub-range (a range query) says which to read.
        """
        for window in self.present(query):
            yield from self.pull(query, window)

    def present(self, query: str) -> list[TimeWindow]:
        """The sub-ranges of the window where ``query`` counts lines, adjacent ones merged.

        Evaluated at ``start + k * split - 1ns``, each count covers exactly the sub-range
        ``[start + (k-1) * split, start + k * split)`` (as in :func:`whole_window`), the
        same sub-ranges a raw read asks for, so every line is in exactly one of them.
        """
        split = self.source.split_ns
        first = self.start + split - 1
        points = -(-(self.end - self.start) // split)
        step = duration(split)
        self.metric_queries += 1
        result = self.client.query_range(
            f"sum(count_over_time({query} [{step}]))",
            first,
            first + (points - 1) * split,
            limit=self.source.batch_size,
            step=step,
        )
        busy = sorted(
            {round((ts - first) / split) for ts, value in matrix_points(result) if value > 0}
        )
        windows: list[TimeWindow] = []
        for index in busy:
            start = self.start + index * split
            end = min(start + split, self.end)
            if not 0 <= index < points or start >= end:
                continue
            if windows and windows[-1].end_ns == start:
                windows[-1] = TimeWindow(windows[-1].start_ns, end)
            else:
                windows.append(TimeWindow(start, end))
        return windows

    # -- the plan ---------------------------------------------------------------------

    def census(self) -> int:
        """Lines in the window; switches to line filters if events lack the label."""
        lines = self.total(f"sum(count_over_time({self.logql.base()} [{self.range}]))")
        if self.logql.by_label:
            self.metric_queries += 1  # the probe for streams without the label
        self.logql, missing = select_event_kinds(self.client, self.logql, self.start, self.end)
        if missing:
            self.source.stats.notes.append(fallback_note(missing))
        return lines

    def check_nodes_named(self) -> None:
        unnamed = self.total(
            f"sum(count_over_time({self.kind('llm_call')} "
            f'| node="" | span!="" or session_id!="" [{self.range}]))'
        )
        if unnamed:
            raise PushdownDeclined(
                f"{unnamed:,} llm_call events belong to a span or session but carry no "
                "`node` field, so only their span's raw events in order can tell their node"
            )

    def by(
        self, grouping: str, function: str, event_type: str, field: str, q: float | None = None
    ) -> str:
        """``function`` of one field of the valid events of a type, per ``grouping``."""
        unwrapped = f'{self.kind(event_type)} | unwrap {field} | __error__="" [{self.range}]'
        args = unwrapped if q is None else f"{q}, {unwrapped}"
        return f"{function}({args}) by ({grouping})"

    def llm_figures(
        self,
    ) -> tuple[dict[tuple[str | None, str], Distribution], dict[str | None, NodeCalls]]:
        t = self.settings.thresholds

        def per_key(query: str) -> dict[tuple[str | None, str], float]:
            return {
                (_node(labels), labels.get("model", "")): value
                for labels, value in self.instant(query)
            }

        calls = per_key(
            f"sum by (node, model) (count_over_time({self.kind('llm_call')} [{self.range}]))"
        )
        quantiles = {
            q: per_key(self.by("node, model", "quantile_over_time", "llm_call", "latency_ms", q))
            for q in (0.5, 0.95, 0.99)
        }
        maxima = per_key(self.by("node, model", "max_over_time", "llm_call", "latency_ms"))
        slow = per_key(
            f"sum by (node, model) (count_over_time({self.kind('llm_call')} "
            f"| latency_ms > {t.latency_warning_ms} [{self.range}]))"
        )
        latencies: dict[tuple[str | None, str], Distribution] = {}
        for key, n in calls.items():
            latencies[key] = RemoteDistribution(
                int(n),
                {q: values[key] for q, values in quantiles.items()},
                maximum=maxima[key],
                above={t.latency_warning_ms: int(slow.get(key, 0))},
            )

        def per_node(q: float, field: str) -> dict[str | None, float]:
            query = self.by("node", "quantile_over_time", "llm_call", field, q)
            return {_node(labels): value for labels, value in self.instant(query)}

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

    def effect_figures(self) -> dict[str, Distribution]:
        executions = self.instant(
            f"sum by (effect_type) (count_over_time({self.kind('effect_execution')} "
            f"[{self.range}]))"
        )
        p95 = {
            labels.get("effect_type", ""): value
            for labels, value in self.instant(
                self.by("effect_type", "quantile_over_time", "effect_execution", "latency_ms", 0.95)
            )
        }
        return {
            effect: RemoteDistribution(int(n), {0.95: p95[effect]})
            for labels, n in executions
            for effect in [labels.get("effect_type", "")]
        }

    def edges(self) -> dict[tuple[str, str], int]:
        query = (
            f"sum by (from, to) (count_over_time({self.kind('graph_transition')} [{self.range}]))"
        )
        return {
            (labels.get("from", ""), labels.get("to", "")): int(value)
            for labels, value in self.instant(query)
        }

    def user_actions(self) -> int:
        return self.total(f"sum(count_over_time({self.kind('user_action')} [{self.range}]))")

    # -- raw lines --------------------------------------------------------------------

    def attention(self, *, errors: bool, failed_effects: bool) -> Iterator[LogEntry]:
        """Errors and failed effects, merged in time order, each once, with the whole of
        every span or session in which attribution needs the order of events."""
        skips = SkipCounter()
        direct: list[tuple[LogEntry, str | None, str | None]] = []
        # in order of first appearance, so that each batch of scopes is close in time
        spans: dict[str, None] = {}
        sessions: dict[str, None] = {}
        pulls = []
        if errors:
            pulls.append(self.pull(self.logql.stream("error")))
        if failed_effects:
            pulls.append(self.pull(self.kind("effect_execution") + ' | success="false"'))
        for entry in heapq.merge(*pulls, key=lambda e: e[0]):
            self.attention_lines += 1
            event = parse_line(entry[0], entry[1], entry[2], skips)
            span, session = _scope_query_key(entry, event)
            direct.append((entry, span, session))
            if event is None or event.scope is None:
                continue
            if isinstance(event, EffectExecution) and event.node is not None:
                continue  # names its node: no attribution needed
            if span is not None:
                spans[span] = None
            elif session is not None:
                sessions[session] = None
        # An entry a scope query returns comes from there, so each is fed exactly once.
        alone = [
            entry
            for entry, span, session in direct
            if not (span in spans if span is not None else session in sessions)
        ]
        streams: list[Iterator[LogEntry]] = [iter(alone)]
        ordered = list(spans)
        for i in range(0, len(ordered), SCOPES_PER_QUERY):
            batch = _regex_alternation(ordered[i : i + SCOPES_PER_QUERY])
            streams.append(self.pull_where_present(self.logql.base(f"span=~{quote_regex(batch)}")))
        ordered = list(sessions)
        for i in range(0, len(ordered), SCOPES_PER_QUERY):
            batch = _regex_alternation(ordered[i : i + SCOPES_PER_QUERY])
            streams.append(
                self.pull_where_present(
                    f"{self.logql.base()} |~ {quote_regex(batch)} | json "
                    f'| session_id=~{quote_regex(batch)} | span=""'
                )
            )
        self.scopes = len(spans) + len(sessions)
        return heapq.merge(*streams, key=lambda e: e[0])

    # -- exemplars --------------------------------------------------------------------

    def exemplars(self, finding: Finding) -> list[Event]:
        """The ``MAX_SAMPLES`` events a raw scan keeps for this finding: the highest scores,
        ties to the earliest.

        Count queries narrow a threshold, starting from a high percentile the finding
        already has, until at most ``EXEMPLAR_LINES`` calls reach it; only those are pulled.
        """
        node = finding.key.get("node")
        query = self.kind("llm_call") + f" | node={quote(node or '')}"
        if finding.kind is PatternType.SLOW_LLM:
            query += f" | model={quote(finding.key.get('model') or '')}"
            field, low = "latency_ms", int(finding.details["p99_ms"])
        else:
            field, low = "prompt_tokens", int(finding.details["prompt_tokens_p95"])

        def at_least(threshold: int) -> int:
            return self.total(
                f"sum(count_over_time({query} | {field} >= {threshold} [{self.range}]))"
            )

        reaching = at_least(low)
        if reaching < MAX_SAMPLES:
            low, reaching = 0, int(finding.details["calls"])
        high: int | None = None
        while reaching > EXEMPLAR_LINES:
            if high is None:
                high = int(
                    self.total(
                        f"max(max_over_time({query} | unwrap {field} "
                        f'| __error__="" [{self.range}]))'
                    )
                )
            if low >= high:
                break  # more than EXEMPLAR_LINES calls share the top scores
            middle = (low + high + 1) // 2
            count = at_least(middle)
            if count >= MAX_SAMPLES:
                low, reaching = middle, count
            else:
                high = middle - 1
        if reaching <= EXEMPLAR_LINES:
            entries = self._lines(f"{query} | {field} >= {low}", EXEMPLAR_LINES)
        else:
            above = self._lines(f"{query} | {field} > {low}", MAX_SAMPLES)
            entries = above + self._lines(f"{query} | {field} == {low}", MAX_SAMPLES - len(above))
        events = []
        skips = SkipCounter()
        for ts, line, labels in entries:
            event = parse_line(ts, line, labels, skips)
            if event is not None:
                events.append(event)
        events.sort(key=lambda e: (-getattr(e, field), e.ts_ns))
        return events[:MAX_SAMPLES]

    def _lines(self, query: str, limit: int) -> list[LogEntry]:
        """The first ``limit`` (≤ one page) entries of the window, in one request."""
        if limit <= 0:
            return []
        result = self.client.query_range(query, self.start, self.end, limit=limit)
        entries = [
            (ts, line, _stream_labels(stream.labels, line))
            for stream in result.streams()
            for ts, line in stream.values
        ]
        entries.sort(key=lambda entry: entry[0])
        self.raw_lines += len(entries)
        return entries[:limit]


def _json_label_names(obj: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """The labels Loki's ``| json`` makes of a line's fields (nested keys joined by ``_``)."""
    for raw_key, value in obj.items():
        key = _INVALID_LABEL_CHARS.sub("_", str(raw_key).strip())
        if not prefix and key[:1].isdigit():
            key = "_" + key
        name = f"{prefix}_{key}" if prefix else key
        if isinstance(value, dict):
            yield from _json_label_names(value, name)
        elif not isinstance(value, list):  # arrays are not extracted
            yield name


def _stream_labels(labels: dict[str, str], line: str) -> dict[str, str]:
    """A streams result of a query with ``| json`` carries the extracted fields as labels
    too; this recovers the stream's own labels, as a query without a parser returns them.
    A field named like a stream label comes back as ``<name>_extracted``."""
    try:
        fields = orjson.loads(line)
    except orjson.JSONDecodeError:
        return labels
    if not isinstance(fields, dict):
        return labels
    extracted = set(_json_label_names(fields))
    return {
        name: value
        for name, value in labels.items()
        if not name.startswith("__")
        and not (name.endswith("_extracted") and name[: -len("_extracted")] in extracted)
        and (name not in extracted or f"{name}_extracted" in labels)
    }


def _node(labels: dict[str, str]) -> str | None:
    """A series' node: absent (calls outside any span or session) is None, as locally."""
    return labels.get("node") or None


def _scope_query_key(entry: LogEntry, event: Event | None) -> tuple[str | None, str | None]:
    """(span, session): which scope query would return this entry, if any."""
    span = entry[2].get("span") or None
    session = event.fields.get("session_id") if event is not None else None
    return span, session if isinstance(session, str) and session else None


def pushdown_scan(
    source: LogSource, window: TimeWindow, settings: AnalysisSettings, dsl: DslModel | None
) -> AnalysisRun | None:
    """Analyze with push-down, or None when it does not apply (then scan raw lines)."""
    if not isinstance(source, LokiSource):
        if settings.pushdown == "on":
            raise UsageError("--pushdown on: push-down needs --source loki")
        return None
    client = source.client
    requests, received = client.requests, client.bytes_received
    plan = _Plan(source, window, settings)
    try:
        run = _run(plan, dsl)
    except PushdownDeclined as declined:
        if settings.pushdown == "on":
            raise UsageError(f"--pushdown on: {declined}") from None
        source.stats.notes.append(f"push-down declined, read raw lines instead: {declined}")
        run = None
    finally:
        source.stats.requests += client.requests - requests
        source.stats.bytes_read += client.bytes_received - received
        source.stats.lines_read += plan.raw_lines
    return run


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


def _run(plan: _Plan, dsl: DslModel | None) -> AnalysisRun:
    lines = plan.census()
    settings = replace(plan.settings, logql=plan.logql)
    scan = ScanPass(settings, dsl)
    slow_llm = _detector(scan, SlowLlmDetector)
    token_bloat = _detector(scan, TokenBloatDetector)
    effect_failure = _detector(scan, EffectFailureDetector)
    reads_errors = any(isinstance(d, ERROR_DETECTORS) for d in scan.detectors)
    counts: dict[str, int] = {}
    if slow_llm is not None or token_bloat is not None:
        plan.check_nodes_named()
        latencies, nodes = plan.llm_figures()
        if slow_llm is not None:
            slow_llm.load_remote(latencies)
        if token_bloat is not None:
            token_bloat.load_remote(nodes)
        counts[LlmCall.kind.value] = sum(len(d) for d in latencies.values())
    if effect_failure is not None:
        effects = plan.effect_figures()
        effect_failure.load_remote(effects)
        counts[EffectExecution.kind.value] = sum(len(d) for d in effects.values())
    if reads_errors or _detector(scan, DeadPathDetector) is not None:
        edges = plan.edges()
        scan.context.traffic.edges.update(edges)
        counts[GraphTransition.kind.value] = sum(edges.values())
    scan.count_edges = False
    # The detectors fed by aggregates alone ignore the raw events read for the others.
    by_aggregates = (SlowLlmDetector, TokenBloatDetector, DeadPathDetector)
    scan.dispatch = dispatch_table([d for d in scan.detectors if not isinstance(d, by_aggregates)])
    raw = plan.attention(errors=reads_errors, failed_effects=effect_failure is not None)
    truncated = scan.run(_Entries(raw, plan.source), plan.window, plan.settings.max_lines)
    run = scan.finish(parts=1, truncated=truncated)
    for finding in run.findings:
        if finding.kind in (PatternType.SLOW_LLM, PatternType.TOKEN_BLOAT):
            finding.samples = plan.exemplars(finding)
    counts[UserAction.kind.value] = plan.user_actions()
    if reads_errors:  # all of them were read, each once
        counts[ErrorEvent.kind.value] = run.events_by_type[ErrorEvent.kind.value]
    # Kinds no detector asked about were not analyzed (the scopes read hold a few).
    run.events_by_type = {kind: counts.get(kind, 0) for kind in run.events_by_type}
    plan.source.stats.notes.append(
        f"push-down: {plan.metric_queries} aggregate queries over {lines:,} lines in Loki; "
        f"raw lines only for {plan.attention_lines:,} errors and failed effects, the "
        f"{plan.scopes:,} spans/sessions they occur in, and exemplars"
    )
    return run
