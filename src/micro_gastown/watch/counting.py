"""Counting a finding's events in one window, with the LogQL recorded when the PR was filed.

The PR's metadata block holds, per finding, ``series_query`` (its events) and
``exposure_query`` (what they are relative to: the node's calls, the edge's traversals), both
``sum(count_over_time(<log query> [step]))`` as the analyzer wrote them
(:mod:`micro_gastown.detectors.series`). The watcher keeps the log query and counts it over a
whole window with one instant query: ``[range]`` evaluated at ``end - 1ns`` covers exactly
``[start, end)`` (:func:`~micro_gastown.sources.loki.selection.whole_window`).

A PR body can be edited by anyone who can write to the repository, so a recorded query is
read as data, not trusted: it must have the shape above, be of a sane length and read the
streams of the configured selector (its matchers appear in the query's own selector). A
query that fails is not run: the finding is reported as not measurable, never judged.

The overall error rate has no recorded query: errors and all events of the configured
selector, with event kinds selected by label or by line filter as the analyzer probes them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from micro_gastown.errors import LokiError
from micro_gastown.logql import LogQL, whole_window
from micro_gastown.sources.loki.client import LokiClient
from micro_gastown.sources.loki.selection import vector
from micro_gastown.watch.assess import Measured, Unmeasured
from micro_gastown.watch.judge import Counts
from micro_gastown.watch.looks import Look, Window

__all__ = [
    "MAX_QUERY_CHARS",
    "LokiCounter",
    "Measure",
    "error_measure",
    "measure_look",
    "recorded_measure",
]

MAX_QUERY_CHARS: Final = 4096
_COUNT = re.compile(
    r"^sum\(count_over_time\((?P<log>\{.*\}.*?) \[(?P<range>[0-9]+(?:ms|[smhdw]))\]\)\)$", re.S
)
_SELECTOR = re.compile(r"^\{(?P<inner>[^{}]*)\}")


@dataclass(frozen=True, slots=True)
class Measure:
    """What to count for one comparison: events, and the exposure they are relative to.

    ``exposure_log`` None measures exposure as all events of the selector (``unit``
    "events"); ``why_not`` says why the comparison cannot be measured at all."""

    name: str
    events_log: str | None
    exposure_log: str | None
    unit: str
    why_not: str | None = None
    overall: bool = False


def recorded_log_query(query: str | None, logql: LogQL) -> tuple[str | None, str | None]:
    """(log query, None) from a recorded count query, or (None, why it cannot be used)."""
    if not query:
        return None, "no LogQL was recorded for it (its events cannot be selected in Loki)"
    if len(query) > MAX_QUERY_CHARS or "\n" in query or "\r" in query:
        return None, "the recorded LogQL is too long or spans lines"
    match = _COUNT.match(query.strip())
    if match is None:
        return None, "the recorded LogQL is not a sum(count_over_time(...)) query"
    log = match.group("log")
    selector = _SELECTOR.match(log)
    if selector is None or logql.matchers not in selector.group("inner"):
        return None, f"the recorded LogQL does not read the streams of {logql.selector}"
    return log, None


def recorded_measure(
    name: str,
    series_query: str | None,
    exposure_query: str | None,
    exposure_unit: str | None,
    logql: LogQL,
) -> Measure:
    """The measure of one finding, from what its PR recorded."""
    events, why = recorded_log_query(series_query, logql)
    if events is None:
        return Measure(name, None, None, "events", why_not=why)
    exposure, why_exposure = recorded_log_query(exposure_query, logql)
    if exposure is None and exposure_query:  # recorded but unusable: do not guess
        return Measure(name, None, None, "events", why_not=f"its exposure: {why_exposure}")
    return Measure(name, events, exposure, exposure_unit or "events" if exposure else "events")


def error_measure(logql: LogQL, name: str = "overall error rate") -> Measure:
    """Errors per event of the selector."""
    return Measure(name, logql.stream("error"), None, "events", overall=True)


class LokiCounter:
    """Counts log queries over windows, one instant query each, remembering answers (the
    same window of all events serves every finding measured against it)."""

    def __init__(self, client: LokiClient, logql: LogQL) -> None:
        self.client = client
        self.logql = logql
        self._seen: dict[tuple[str, int, int], int] = {}

    def count(self, log_query: str, window: Window) -> int:
        key = (log_query, window.start_ns, window.end_ns)
        if key not in self._seen:
            span, at = whole_window(window.start_ns, window.end_ns)
            answer = vector(self.client.query(f"sum(count_over_time({log_query} [{span}]))", at))
            total = sum(value for _, value in answer)
            if total < 0 or total != int(total):
                raise LokiError(f"Loki counted {total} lines for {log_query}: not a count")
            self._seen[key] = int(total)
        return self._seen[key]

    def counts(self, measure: Measure, window: Window) -> Counts:
        """``measure`` over ``window``; call only when ``measure.why_not`` is None."""
        assert measure.events_log is not None
        exposure_log = measure.exposure_log or self.logql.base()
        return Counts(self.count(measure.events_log, window), self.count(exposure_log, window))


def measure_look(
    counter: LokiCounter, measures: Sequence[Measure], look: Look
) -> tuple[list[Measured], list[Unmeasured]]:
    """Each measure counted in both windows of ``look``; those that cannot be, with why."""
    measured: list[Measured] = []
    unmeasured: list[Unmeasured] = []
    for measure in measures:
        if measure.why_not is not None or measure.events_log is None:
            unmeasured.append(Unmeasured(measure.name, measure.why_not or "no query"))
            continue
        try:
            before = counter.counts(measure, look.before)
            after = counter.counts(measure, look.after)
        except ValueError as exc:  # events with no exposure: the two queries disagree
            unmeasured.append(Unmeasured(measure.name, f"its counts disagree ({exc})"))
            continue
        measured.append(
            Measured(
                measure.name,
                measure.unit,
                before,
                after,
                overall=measure.overall,
                events_query=measure.events_log,
                exposure_query=measure.exposure_log,
            )
        )
    return measured, unmeasured
