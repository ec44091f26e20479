"""The scenario of a synthetic export and the findings it must produce.

Why a separate module: the manifest (what an analyzer must report) is the contract the
end-to-end tests and the committed demo rely on; it reads more easily without the
generator's machinery around it. :mod:`micro_gastown.testing.synthetic` writes exports.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from micro_gastown.report.model import PatternType, Severity
from micro_gastown.thresholds import Thresholds

GENERATOR_VERSION: Final = 2  # bump when the bytes for a given seed change
JOB: Final = "exomonad-native"
SERVICE_NAME: Final = "exomonad"
HAIKU: Final = "claude-haiku-4-5"
SONNET: Final = "claude-sonnet-4-5"
PAYMENT_TIMEOUT_TEMPLATE: Final = "payment gateway timeout after <*> ms for order <*>"
SCHEMA_VALIDATION_TEMPLATE: Final = "schema validation failed for field <*>: expected <*>"
DEFAULT_START: Final = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
DEFAULT_DURATION: Final = timedelta(hours=24)
_Z95: Final = 1.6448536269514722  # standard normal 95th percentile


FindingType = PatternType  # the manifest speaks the report's own vocabulary


class Tag(StrEnum):
    """What the generator injected on purpose; counted in :class:`GenerationStats`."""

    PAYMENT_TIMEOUT = "payment_timeout_error"
    SCHEMA_VALIDATION = "schema_validation_error"
    ONE_OFF_ERROR = "one_off_error"
    MALFORMED = "malformed_event"
    NON_JSON_LINE = "non_json_line"
    UNKNOWN_TYPE = "unknown_type"
    UNATTRIBUTED = "unattributed_event"
    OUTER_NOT_JSON = "outer_not_json"


@dataclass(frozen=True)
class LlmProfile:
    """How one LLM node behaves: log-normal latency, normal prompt size, uniform completion."""

    model: str
    latency_median_ms: float
    latency_sigma: float
    prompt_mean: float
    prompt_sd: float
    completion_min: int
    completion_max: int

    @property
    def latency_p95_ms(self) -> float:
        return self.latency_median_ms * math.exp(_Z95 * self.latency_sigma)

    @property
    def prompt_p95(self) -> float:
        return self.prompt_mean + _Z95 * self.prompt_sd

    @property
    def token_ratio(self) -> float:
        return self.prompt_mean / ((self.completion_min + self.completion_max) / 2)


def _default_llm_nodes() -> dict[str, LlmProfile]:
    return {
        # slow (warning): p95 ~ 3000 ms
        "classify": LlmProfile(HAIKU, 1600, 0.38, 1100, 200, 120, 260),
        # token bloat (warning): prompt p95 ~ 12000, ratio ~ 49
        "answerFaq": LlmProfile(HAIKU, 800, 0.30, 10500, 900, 150, 280),
        "escalate": LlmProfile(SONNET, 750, 0.30, 1800, 250, 200, 400),
        # slow (critical): p95 ~ 7200 ms
        "summarize": LlmProfile(HAIKU, 4200, 0.33, 2200, 250, 250, 450),
    }


@dataclass(frozen=True)
class Scenario:
    """Shape of the simulated traffic. Rates are per run or per event, never absolute,
    so the injected patterns hold at any export size (except absolute error counts)."""

    name: str
    graph_name: str = "TriageGraph"  # the record in examples/exomonad-sample
    llm_nodes: Mapping[str, LlmProfile] = field(default_factory=_default_llm_nodes)
    unattributed_llm: LlmProfile = LlmProfile(HAIKU, 350, 0.3, 80, 8, 8, 20)
    faq_share: float = 0.60  # of route exits not escalated; the rest go to refund
    route_escalate_share: float = 0.0  # declared edge, never taken: a dead path
    refund_failure_rate: float = 0.22  # PaymentApi timeout + error, run stops in refund
    refund_escalate_share: float = 0.005  # of refund exits: underused edge
    schema_error_rate: float = 0.02  # of runs: error in classify, retried, run goes on
    minor_effect_failure_rate: float = 0.003  # Http and Cache
    session_id_run_share: float = 0.03  # newer emitters: session_id field, no span label
    node_field_share: float = 0.5  # of session_id runs that also write node/graph fields
    span_node_field_share: float = 0.0  # of span runs that also write them (newest emitters)
    user_action_share: float = 0.3  # of runs starting with a user_action
    non_json_line_rate: float = 0.01  # of lines
    unknown_type_rate: float = 0.005  # of lines
    unattributed_rate: float = 0.01  # of lines: events with neither span nor session_id
    malformed_rate: float = 0.01  # of llm_call/effect_execution events (~0.5% of lines)
    one_off_errors: int = 8  # absolute: unattributed errors, none repeated 10 times
    demo_lines: int = 20_000
    demo_duration: timedelta = timedelta(hours=1)

    def expected_lines_per_run(self) -> float:
        """Mean export lines per run, noise included: sets the arrival rate."""
        fail = self.refund_failure_rate
        faq = (1 - self.route_escalate_share) * self.faq_share
        refund = 1 - faq - self.route_escalate_share
        esc = self.refund_escalate_share
        summarize = faq + self.route_escalate_share + refund * (1 - fail)
        events = (
            3 + self.user_action_share + 0.5 + 2 * self.schema_error_rate + 1  # to route
            + faq * (0.8 + 2)
            + refund * (1 + fail + (1 - fail) * (1 + esc * 2.5))
            + self.route_escalate_share * 2.5
            + summarize * (2.3 + 0.1)
        )  # fmt: skip
        noise = self.non_json_line_rate + self.unknown_type_rate + self.unattributed_rate
        return events / (1 - noise)


DEMO: Final = Scenario(name="demo")
HEALTHY: Final = replace(
    DEMO,
    name="healthy",
    llm_nodes={
        **_default_llm_nodes(),
        "classify": LlmProfile(HAIKU, 700, 0.3, 1100, 200, 120, 260),
        "answerFaq": LlmProfile(HAIKU, 800, 0.3, 1900, 250, 150, 280),
        "summarize": LlmProfile(HAIKU, 900, 0.3, 2200, 250, 250, 450),
    },
    route_escalate_share=0.02,
    refund_failure_rate=0.01,
    refund_escalate_share=0.05,
    schema_error_rate=0.0,
)
# The demo's traffic from emitters that name the node on every event of a run: what
# Loki push-down needs to aggregate per node (see micro_gastown.analysis.pushdown).
NODE_FIELDS: Final = replace(
    DEMO, name="node-fields", node_field_share=1.0, span_node_field_share=1.0
)
SCENARIOS: Final[Mapping[str, Scenario]] = {s.name: s for s in (DEMO, HEALTHY, NODE_FIELDS)}


@dataclass(frozen=True)
class ExpectedFinding:
    type: FindingType
    key: Mapping[str, str]
    severity: Severity

    def to_dict(self) -> dict[str, Any]:
        return {"type": str(self.type), "key": dict(self.key), "severity": str(self.severity)}


def _grade(value: float, warning: float, critical: float) -> Severity | None:
    if value >= critical:
        return Severity.CRITICAL
    if value >= warning:
        return Severity.WARNING
    return None


def expected_findings(
    scenario: Scenario = DEMO,
    stats: GenerationStats | None = None,
    thresholds: Thresholds | None = None,
) -> list[ExpectedFinding]:
    """What an analyzer must report for an export of ``scenario``.

    Rate- and percentile-based findings follow from the scenario alone. Repeated-error
    severities depend on absolute counts, so they come from ``stats`` when given (the
    :class:`GenerationStats` of the export) and otherwise from the expected counts at
    ``scenario.demo_lines``. Everything not listed must stay below warning.
    """
    th = thresholds or Thresholds()
    found: list[ExpectedFinding] = []

    def add(kind: FindingType, key: Mapping[str, str], severity: Severity | None) -> None:
        if severity is not None:
            found.append(ExpectedFinding(kind, key, severity))

    for node, llm in scenario.llm_nodes.items():
        lat = _grade(llm.latency_p95_ms, th.latency_warning_ms, th.latency_critical_ms)
        add(FindingType.SLOW_LLM, {"node": node, "model": llm.model}, lat)
    for node, llm in scenario.llm_nodes.items():
        bloated = llm.prompt_p95 >= th.prompt_tokens_p95_warning
        add(FindingType.TOKEN_BLOAT, {"node": node}, Severity.WARNING if bloated else None)

    fail = _grade(scenario.refund_failure_rate, th.error_rate_warning, th.error_rate_critical)
    add(FindingType.FAILED_TRANSITION, {"from": "route", "to": "refund"}, fail)
    schema = _grade(scenario.schema_error_rate, th.error_rate_warning, th.error_rate_critical)
    add(FindingType.FAILED_TRANSITION, {"from": "entry", "to": "classify"}, schema)
    add(FindingType.EFFECT_FAILURE, {"effect_type": "PaymentApi"}, fail)
    minor = _grade(
        scenario.minor_effect_failure_rate, th.error_rate_warning, th.error_rate_critical
    )
    for effect in ("Http", "Cache"):
        add(FindingType.EFFECT_FAILURE, {"effect_type": effect}, minor)

    if stats is not None:
        counts = {tag: float(stats.injected[tag]) for tag in Tag}
        route_visits = float(stats.transitions["classify->route"])
    else:
        runs = scenario.demo_lines / scenario.expected_lines_per_run()
        refund_share = (1 - scenario.route_escalate_share) * (1 - scenario.faq_share)
        counts = {
            Tag.PAYMENT_TIMEOUT: runs * refund_share * scenario.refund_failure_rate,
            Tag.SCHEMA_VALIDATION: runs * scenario.schema_error_rate,
        }
        route_visits = runs
    for tag, template in (
        (Tag.PAYMENT_TIMEOUT, PAYMENT_TIMEOUT_TEMPLATE),
        (Tag.SCHEMA_VALIDATION, SCHEMA_VALIDATION_TEMPLATE),
    ):
        sev = _grade(counts[tag], th.repeated_error_warning, th.repeated_error_critical)
        add(FindingType.REPEATED_ERROR, {"template": template}, sev)

    for source, share in (
        ("route", scenario.route_escalate_share),
        ("refund", scenario.refund_escalate_share),
    ):
        key = {"from": source, "to": "escalate"}
        if share == 0 and (source != "route" or route_visits >= th.dead_path_min_visits):
            add(FindingType.DEAD_PATH, key, Severity.WARNING)
        elif 0 < share < th.underused_share:
            add(FindingType.DEAD_PATH, key, Severity.INFO)
    return found


def manifest(
    scenario: Scenario, stats: GenerationStats, *, seed: int, command: str = ""
) -> dict[str, Any]:
    """The JSON document committed next to an export (examples/logs/expected-findings.json)."""
    return {
        "scenario": scenario.name,
        "seed": seed,
        "lines": stats.lines,
        "generator_version": GENERATOR_VERSION,
        "command": command,
        "rule": "report exactly these at warning/critical; anything else at those levels "
        "is a false positive",
        "findings": [f.to_dict() for f in expected_findings(scenario, stats)],
    }


@dataclass
class GenerationStats:
    """What was written, so tests and the manifest need not re-parse the export."""

    lines: int = 0
    runs_started: int = 0
    span_runs: int = 0
    session_id_runs: int = 0
    events_by_type: Counter[str] = field(default_factory=Counter)
    transitions: Counter[str] = field(default_factory=Counter)  # "from->to"
    injected: Counter[str] = field(default_factory=Counter)  # Tag -> count
    first_timestamp: str = ""
    last_timestamp: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "runs_started": self.runs_started,
            "span_runs": self.span_runs,
            "session_id_runs": self.session_id_runs,
            "events_by_type": dict(sorted(self.events_by_type.items())),
            "transitions": dict(sorted(self.transitions.items())),
            "injected": dict(sorted(self.injected.items())),
            "first_timestamp": self.first_timestamp,
            "last_timestamp": self.last_timestamp,
            "seconds": round(self.seconds, 3),
        }
