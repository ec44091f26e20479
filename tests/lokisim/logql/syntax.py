"""LogQL syntax tree: the subset of Loki's ``pkg/logql/syntax`` the simulator evaluates.

Nodes are frozen dataclasses; regexes are compiled once at parse time, anchored for label
matchers (Prometheus semantics) and unanchored for line filters, as Loki does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum


class MatchOp(Enum):
    """Comparison used by stream matchers, line filters and string label filters."""

    EQ = "="
    NEQ = "!="
    RE = "=~"
    NRE = "!~"


class NumOp(Enum):
    """Numeric label filter comparisons (``| latency_ms > 100``)."""

    EQ = "=="
    NEQ = "!="
    GT = ">"
    GTE = ">="
    LT = "<"
    LTE = "<="


@dataclass(frozen=True)
class Matcher:
    """``name op "value"`` in a stream selector; ``pattern`` is anchored for regex ops."""

    name: str
    op: MatchOp
    value: str
    pattern: re.Pattern[str] | None = field(default=None, compare=False)

    def matches(self, actual: str) -> bool:
        """Prometheus semantics: a missing label compares as the empty string."""
        if self.op is MatchOp.EQ:
            return actual == self.value
        if self.op is MatchOp.NEQ:
            return actual != self.value
        assert self.pattern is not None
        found = self.pattern.fullmatch(actual) is not None
        return found if self.op is MatchOp.RE else not found


@dataclass(frozen=True)
class LineFilter:
    """``|= "s"``, ``!= "s"``, ``|~ "re"``, ``!~ "re"`` on the raw line (regex unanchored)."""

    op: MatchOp
    value: str
    pattern: re.Pattern[str] | None = field(default=None, compare=False)

    def keeps(self, line: str) -> bool:
        """True when the line passes this filter."""
        if self.op is MatchOp.EQ:
            return self.value in line
        if self.op is MatchOp.NEQ:
            return self.value not in line
        assert self.pattern is not None
        found = self.pattern.search(line) is not None
        return found if self.op is MatchOp.RE else not found


@dataclass(frozen=True)
class StringLabelFilter:
    """``| name op "value"`` after a parser stage."""

    matcher: Matcher


@dataclass(frozen=True)
class NumericLabelFilter:
    """``| name > 3.5``: compares the label parsed as a float."""

    name: str
    op: NumOp
    value: float


@dataclass(frozen=True)
class BinaryLabelFilter:
    """``left and right`` / ``left or right`` (``,`` and juxtaposition mean ``and``)."""

    left: LabelFilter
    is_and: bool
    right: LabelFilter


LabelFilter = StringLabelFilter | NumericLabelFilter | BinaryLabelFilter


@dataclass(frozen=True)
class JsonStage:
    """``| json``: extract every scalar field, nested keys joined by ``_``."""


@dataclass(frozen=True)
class LogfmtStage:
    """``| logfmt``: extract ``key=value`` pairs."""


@dataclass(frozen=True)
class LabelFilterStage:
    """``| <label filter expression>``."""

    expr: LabelFilter


@dataclass(frozen=True)
class UnwrapStage:
    """``| unwrap label``: the label becomes the sample value (metric queries only)."""

    label: str


Stage = LineFilter | JsonStage | LogfmtStage | LabelFilterStage | UnwrapStage


@dataclass(frozen=True)
class LogQuery:
    """A stream selector plus its pipeline."""

    matchers: tuple[Matcher, ...]
    stages: tuple[Stage, ...] = ()

    @property
    def unwrap(self) -> UnwrapStage | None:
        """The unwrap stage, if any (at most one is allowed)."""
        for stage in self.stages:
            if isinstance(stage, UnwrapStage):
                return stage
        return None


@dataclass(frozen=True)
class Grouping:
    """``by (a, b)`` or ``without (a, b)``."""

    labels: tuple[str, ...]
    without: bool = False

    def apply(self, labels: dict[str, str]) -> dict[str, str]:
        """Keep (``by``) or drop (``without``) the named labels."""
        if self.without:
            return {k: v for k, v in labels.items() if k not in self.labels}
        return {k: labels[k] for k in self.labels if k in labels}


RANGE_OPS_PLAIN = frozenset({"count_over_time", "rate", "bytes_over_time", "bytes_rate"})
RANGE_OPS_UNWRAP = frozenset(
    {
        "sum_over_time",
        "avg_over_time",
        "max_over_time",
        "min_over_time",
        "first_over_time",
        "last_over_time",
        "stdvar_over_time",
        "stddev_over_time",
        "quantile_over_time",
        "rate",
    }
)
VECTOR_OPS = frozenset({"sum", "avg", "min", "max", "count", "stddev", "stdvar"})


@dataclass(frozen=True)
class RangeAggregation:
    """``op(<log query> [range])``, e.g. ``count_over_time`` or ``quantile_over_time``."""

    op: str
    query: LogQuery
    range_ns: int
    param: float | None = None
    grouping: Grouping | None = None


@dataclass(frozen=True)
class VectorAggregation:
    """``op by (labels) (<metric>)`` over the series of the inner expression."""

    op: str
    inner: MetricExpr
    grouping: Grouping | None = None


MetricExpr = RangeAggregation | VectorAggregation
Expr = LogQuery | MetricExpr
