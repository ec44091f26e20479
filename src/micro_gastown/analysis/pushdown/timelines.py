"""The findings' series from Loki: the aggregates' counts again, bucket by bucket.

One range query per figure, ``sum by (...) (count_over_time(<valid events> [step]))``
with the series' own step, asked on Loki's grid (:mod:`~micro_gastown.sources.loki.grid`):
the sample at ``t`` counts ``(t - step, t]``, exactly the bucket a raw scan files an event
in (:mod:`~micro_gastown.detectors.series`), so each sample becomes the count of the unit
of time ending at ``t`` and is bucketed like the raw scan's counts.

The window's edges rarely fall on the grid: the first sample also counts the lines of
``(first grid instant, start)``, the last those of ``[end, last grid instant]``, which a
raw scan never reads (:func:`_edge_corrections`). Each spill is counted with an instant
query over its whole milliseconds (a LogQL range is no finer) and a raw read of the
sub-millisecond rest (almost always empty), and taken off its bucket; an event at exactly a
start on the grid, which no sample of the step grid counts alone, is read raw and added.
So the series equal a raw scan's.
"""

from __future__ import annotations

from collections import Counter
from typing import Final

import orjson

from micro_gastown.analysis.pushdown.queries import WindowQueries
from micro_gastown.detectors.series import BucketLayout, Timeline, count_into
from micro_gastown.errors import LokiError
from micro_gastown.logql import range_of
from micro_gastown.sources.loki.grid import NS_PER_MS, snap
from micro_gastown.sources.loki.models import QueryResult, ResultType
from micro_gastown.thresholds import Thresholds
from micro_gastown.timewindow import TimeWindow

NodeModel = tuple[str | None, str]

_NO_NODE: Final = ""


def over_time(
    queries: WindowQueries, layout: BucketLayout, event_type: str, by: str, filters: str = ""
) -> dict[tuple[str, ...], Timeline]:
    """Valid events of ``event_type`` (narrowed by ``filters``) per ``by`` labels, by
    unit of time (the unit is the step)."""
    step = layout.step_ns
    selected = f"{queries.kind(event_type)}{filters}"
    query = f"sum by ({by}) (count_over_time({selected} [{range_of(step)}]))"
    first = (layout.first + 1) * step  # the sample of bucket 0
    last = (layout.first + layout.buckets) * step
    queries.metric_queries += 1
    result = queries.client.query_range(
        query, first, last, limit=queries.source.batch_size, step=range_of(step)
    )
    names = [name.strip() for name in by.split(",")]
    timelines: dict[tuple[str, ...], Timeline] = {}
    for labels, points in _labelled_matrix(result):
        key = tuple(labels.get(name, _NO_NODE) for name in names)
        timeline = timelines.setdefault(key, {})
        for ts, value in points:
            instant = snap(ts, step)
            if first <= instant <= last and value:
                count_into(timeline, instant // step - 1, int(value))
    for (key, unit), n in _edge_corrections(queries, layout, selected, names).items():
        timeline = timelines.setdefault(key, {})
        count_into(timeline, unit, n)
        if not timeline[unit]:
            del timeline[unit]
    return {key: timeline for key, timeline in timelines.items() if timeline}


def _edge_corrections(
    queries: WindowQueries, layout: BucketLayout, selected: str, names: list[str]
) -> Counter[tuple[tuple[str, ...], int]]:
    """What to add to the first and last buckets' samples (by key and unit) so that they
    count only the window's events (module docstring)."""
    grid_start = layout.start_ns
    grid_end = (layout.first + layout.buckets) * layout.step_ns
    first_unit, last_unit = layout.first, layout.first + layout.buckets - 1
    corrections: Counter[tuple[tuple[str, ...], int]] = Counter()

    def key_of(labels: dict[str, str]) -> tuple[str, ...]:
        return tuple(labels.get(name, _NO_NODE) for name in names)

    def take_off(low: int, high: int, unit: int) -> None:
        """The lines of ``(low, high]``: its whole milliseconds ending at ``high`` by an
        instant query, the rest (just after ``low``) read raw; nothing asked when Loki
        holds no line there at all (the common case, asked once for every figure)."""
        if not queries.has_lines(low, high):
            return
        whole = (high - low) // NS_PER_MS * NS_PER_MS
        if whole:
            by = ", ".join(names)
            answer = queries.instant(
                f"sum by ({by}) (count_over_time({selected} [{range_of(whole)}]))", high
            )
            for labels, value in answer:
                corrections[key_of(labels), unit] -= int(value)
        if high - whole > low:
            for key in _raw_keys(queries, selected, names, TimeWindow(low + 1, high - whole + 1)):
                corrections[key, unit] -= 1

    if queries.start > grid_start:
        take_off(grid_start, queries.start - 1, first_unit)
    else:  # on the grid: an event at exactly the start is in no sample asked for
        if queries.has_lines(queries.start - 1, queries.start):
            at_start = TimeWindow(queries.start, queries.start + 1)
            for key in _raw_keys(queries, selected, names, at_start):
                corrections[key, first_unit] += 1
    if grid_end > queries.end - 1:
        take_off(queries.end - 1, grid_end, last_unit)
    return corrections


def _raw_keys(
    queries: WindowQueries, selected: str, names: list[str], window: TimeWindow
) -> list[tuple[str, ...]]:
    """The ``names`` fields of each line ``selected`` holds in ``window`` (a sliver)."""
    keys = []
    for _, line, _ in queries.pull(selected, window):
        try:
            fields = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue  # cannot happen: the query parsed it as JSON
        if isinstance(fields, dict):
            keys.append(tuple(_label(fields.get(name)) for name in names))
    return keys


def _label(value: object) -> str:
    """A JSON field as Loki's ``| json`` makes it a label (absent: empty)."""
    if value is None:
        return _NO_NODE
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def llm_timelines(
    queries: WindowQueries, layout: BucketLayout, thresholds: Thresholds
) -> tuple[dict[NodeModel, Timeline], dict[NodeModel, Timeline], dict[str | None, Timeline]]:
    """Calls and slow calls per (node, model); calls with a large prompt per node."""
    calls = _by_node_model(over_time(queries, layout, "llm_call", "node, model"))
    slow = _by_node_model(
        over_time(
            queries,
            layout,
            "llm_call",
            "node, model",
            f" | latency_ms > {thresholds.latency_warning_ms}",
        )
    )
    large = {
        key[0] or None: timeline
        for key, timeline in over_time(
            queries,
            layout,
            "llm_call",
            "node",
            f" | prompt_tokens >= {thresholds.prompt_tokens_p95_warning}",
        ).items()
    }
    return calls, slow, large


def effect_timelines(queries: WindowQueries, layout: BucketLayout) -> dict[str, Timeline]:
    """Executions per effect type."""
    return {
        key[0]: timeline
        for key, timeline in over_time(queries, layout, "effect_execution", "effect_type").items()
    }


def edge_timelines(queries: WindowQueries, layout: BucketLayout) -> dict[tuple[str, str], Timeline]:
    """Transitions per (from, to) edge."""
    return {
        (key[0], key[1]): timeline
        for key, timeline in over_time(queries, layout, "graph_transition", "from, to").items()
    }


def _by_node_model(timelines: dict[tuple[str, ...], Timeline]) -> dict[NodeModel, Timeline]:
    """Keys as the detectors hold them: no ``node`` label is no node (None)."""
    return {(node or None, model): timeline for (node, model), timeline in timelines.items()}


def _labelled_matrix(result: QueryResult) -> list[tuple[dict[str, str], list[tuple[int, float]]]]:
    """A range query's series: labels, and samples as (nanoseconds, value)."""
    if result.result_type is not ResultType.MATRIX:
        raise LokiError(f"expected a matrix from a range query, Loki sent {result.result_type}")
    series = []
    for item in result.result:
        try:
            labels = {str(k): str(v) for k, v in item["metric"].items()}
            points = [(round(float(ts) * 1e9), float(value)) for ts, value in item["values"]]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise LokiError(f"Loki sent a malformed matrix ({exc!r})") from None
        series.append((labels, points))
    return series
