"""What every detector shares: its inputs (context) and its output (findings).

A detector subscribes to event classes with ``handlers()``; the analysis loop calls those
handlers once per event, after attribution, so a detector only sees what it needs. At the
end ``finish()`` turns the accumulated state into findings. Findings are plain data; the
report layer adds ids, redaction, LogQL links and ordering.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from micro_gastown.clustering import TemplateMiner
from micro_gastown.detectors.series import MINUTE_NS, FindingSeries, Timeline, merged_timelines
from micro_gastown.dsl import DslModel
from micro_gastown.events.attribution import Attributor
from micro_gastown.events.model import ErrorEvent, Event
from micro_gastown.logql import LogQL
from micro_gastown.report.model import PatternType, Severity
from micro_gastown.thresholds import Thresholds

Handler = Callable[[Any], None]


@dataclass(slots=True)
class Finding:
    kind: PatternType
    key: dict[str, str | None]
    severity: Severity
    occurrences: int
    details: dict[str, Any]
    recommendation: str
    logql: str | None = None
    samples: list[Event] = field(default_factory=list)
    nodes: tuple[str, ...] = ()
    """The nodes whose attributed events make up the finding: an event out of time order
    at one of them may have been attributed there wrongly (the report marks that)."""
    series: FindingSeries | None = None
    """Its counts over time, bucketed by the report (every detector sets it)."""


class Traffic:
    """Transition counts per edge, shared by the detectors that reason about edges.

    The analysis loop fills ``edges`` and ``timelines`` (the same counts by unit of time,
    see :mod:`~micro_gastown.detectors.series`) directly: it runs per transition. Per-node
    entries and exits are derived from them when first asked for, which is after the scan.
    """

    __slots__ = ("_entries", "_exits", "edges", "timelines")

    def __init__(self) -> None:
        self.edges: dict[tuple[str, str], int] = {}
        self.timelines: dict[tuple[str, str], Timeline] = {}
        self._entries: Counter[str] | None = None
        self._exits: Counter[str] | None = None

    def taken(self, source: str, target: str) -> int:
        return self.edges.get((source, target), 0)

    def entries(self, node: str) -> int:
        if self._entries is None:
            self._entries = Counter()
            for (_, target), n in self.edges.items():
                self._entries[target] += n
        return self._entries[node]

    def exits(self, node: str) -> int:
        if self._exits is None:
            self._exits = Counter()
            for (source, _), n in self.edges.items():
                self._exits[source] += n
        return self._exits[node]

    def visits(self, node: str) -> int:
        """How often a node ran: its entries, or its exits for a node never entered (Entry)."""
        return self.entries(node) or self.exits(node)

    def taken_over_time(self, source: str, target: str) -> Timeline:
        return dict(self.timelines.get((source, target), {}))

    def exits_over_time(self, source: str) -> Timeline:
        return merged_timelines(t for (s, _), t in self.timelines.items() if s == source)

    def visits_over_time(self, nodes: Collection[str]) -> tuple[Timeline, set[str], set[str]]:
        """Visits to ``nodes`` (as :meth:`visits` counts them: entries, or exits for a
        node never entered), each transition once; every transition when ``nodes`` is
        empty. Also the nodes counted by entries and those counted by exits."""
        entered = {node for node in nodes if self.entries(node)}
        left = set(nodes) - entered
        return (
            merged_timelines(
                timeline
                for (source, target), timeline in self.timelines.items()
                if not nodes or target in entered or source in left
            ),
            entered,
            left,
        )


class ErrorTemplates:
    """Error message → Drain template id, computed once per error event for all detectors."""

    __slots__ = ("_last_event", "_last_id", "miner")

    def __init__(self, miner: TemplateMiner | None = None) -> None:
        self.miner = miner or TemplateMiner()
        self._last_event: ErrorEvent | None = None
        self._last_id = 0

    def id_for(self, event: ErrorEvent) -> int:
        if event is not self._last_event:
            self._last_id = self.miner.add(event.message)
            self._last_event = event
        return self._last_id

    def text(self, template_id: int) -> str:
        return self.miner.template(template_id)


@dataclass(slots=True)
class DetectorContext:
    thresholds: Thresholds
    logql: LogQL
    attributor: Attributor
    traffic: Traffic
    error_templates: ErrorTemplates
    dsl: DslModel | None = None
    # The stream position of the event being handled (set by the scan loop), which orders
    # evidence samples the same way however the stream was split.
    position: int = 0
    series_unit_ns: int = MINUTE_NS
    """The unit of time detectors count their series in (see detectors.series)."""


class Detector(ABC):
    kind: PatternType

    def __init__(self, context: DetectorContext) -> None:
        self.context = context
        self.thresholds = context.thresholds

    @abstractmethod
    def handlers(self) -> Mapping[type[Event], Handler]:
        """The event classes this detector consumes, each with its handler."""

    @abstractmethod
    def finish(self) -> list[Finding]:
        """Turn the accumulated state into findings."""

    def merge(self, other: Self) -> None:
        """Add the state ``other`` gathered from another part of the stream.

        Detectors of errors are always fed in one process, in stream order (Drain's
        templates depend on it), so they never merge.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot merge partial state")

    def __getstate__(self) -> dict[str, Any]:
        # A part's detectors travel back to the parent without the part's context.
        return {**self.__dict__, "context": None}


def rate_severity(rate: float, thresholds: Thresholds) -> Severity | None:
    """Error-rate thresholds shared by failed transitions and failing effects."""
    if rate >= thresholds.error_rate_critical:
        return Severity.CRITICAL
    if rate >= thresholds.error_rate_warning:
        return Severity.WARNING
    return None
