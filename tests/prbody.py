"""Inputs for PR body tests, built from the sample: the real analysis of the demo export
and the DSL read from examples/exomonad-sample, with a proposal to file.

Why a module: the body, chart and hostile-body tests render the same PR; each varies one
slot. ``Pattern.series`` is built here from the report's own counts (12 buckets of 5 min),
so the charts have something real-shaped to draw.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import re
from pathlib import Path
from typing import Any

import cmarkgfm  # type: ignore[import-untyped]
from cmarkgfm.cmark import Options  # type: ignore[import-untyped]

from micro_gastown.dsl.graph import read_dsl
from micro_gastown.dsl.model import DslModel
from micro_gastown.evidence.grafana import GrafanaExplore
from micro_gastown.github.body import BodyInputs
from micro_gastown.github.model import FilingRecord, PatternRecord
from micro_gastown.github.prose import Prose
from micro_gastown.report.changes import (
    ChangeType,
    Check,
    CheckOutcome,
    Confidence,
    ExpectedImpact,
    FileChange,
    ImpactMetric,
    ProposedChanges,
    Validation,
    ValidationStatus,
)
from micro_gastown.report.model import Pattern, PatternReport, Series

ROOT = Path(__file__).resolve().parents[1]
DEMO_EXPORT = ROOT / "examples" / "logs" / "exomonad-sample.jsonl.gz"
SAMPLE_REPO = ROOT / "examples" / "exomonad-sample"
GRAFANA = GrafanaExplore("https://grafana.example.org", "loki-uid")
BASE_COMMIT = "0123456789abcdef0123456789abcdef01234567"
FAILED_ID = "failed-transition-route-refund-c90cce76ae"
DEAD_ID = "dead-path-route-escalate-032b8e528a"

PATCH = """\
diff --git a/src/Triage/Graph.hs b/src/Triage/Graph.hs
--- a/src/Triage/Graph.hs
+++ b/src/Triage/Graph.hs
@@ -49,7 +49,8 @@
     -- | Refunds above the auto-approve limit go to a human.
   , refund :: mode :- G.LogicNode
       :@ Needs '[RefundRequest]
-      :@ UsesEffects '[ PaymentApi
+      -- retry the gateway before escalating
+      :@ UsesEffects '[ Retry PaymentApi
                       , Goto "summarize" Draft
                       , Goto "escalate" Escalation
                       ]
"""


@functools.cache
def sample_report() -> PatternReport:
    """The analyzer's report of the demo export, with the DSL (as `analyze --repo`)."""
    from micro_gastown.analysis.runner import AnalysisSettings, run_analysis
    from micro_gastown.sources import FileSource
    from micro_gastown.timewindow import TimeWindow

    return run_analysis(FileSource(DEMO_EXPORT), TimeWindow(), AnalysisSettings(), sample_dsl())


@functools.cache
def sample_dsl() -> DslModel:
    return read_dsl(SAMPLE_REPO)


def sample_pattern(pattern_id: str) -> Pattern:
    return next(p for p in sample_report().patterns if p.id == pattern_id)


def five_minute_series(total: int, exposure: int, metric: str = "failed traversals") -> Series:
    """12 buckets of 5 minutes from 10:00 UTC summing to ``total`` (and ``exposure``)."""
    values = [total // 12 + (1 if i < total % 12 else 0) for i in range(12)]
    exposures = [exposure // 12 + (1 if i < exposure % 12 else 0) for i in range(12)]
    return Series(
        start="2026-11-21T10:00:00Z",
        step_seconds=300,
        metric=metric,
        values=values,
        exposure=exposures,
        exposure_unit="traversals",
        query='sum(count_over_time({job="exomonad-native", event_type="error"} [5m]))',
    )


def with_series(pattern: Pattern) -> Pattern:
    """``pattern`` with a series, unless the analyzer already gave it one."""
    if pattern.series is not None:
        return pattern
    exposure = pattern.details.get("transitions")
    series = five_minute_series(pattern.occurrences, exposure if isinstance(exposure, int) else 0)
    return pattern.model_copy(update={"series": series})


def proposal(**overrides: Any) -> ProposedChanges:
    fields: dict[str, Any] = {
        "changes": [
            FileChange(
                path="src/Triage/Graph.hs",
                diff=PATCH,
                rationale="Retry the payment gateway before the refund escalates.",
                lines_added=2,
                lines_removed=1,
                change_type=ChangeType.GRAPH,
            )
        ],
        "patterns_addressed": [FAILED_ID, DEAD_ID],
        "validation": Validation(
            build_success=True,
            test_success=True,
            build_output="Building library for exomonad-sample-0.1.0..\nok",
            test_output="All 12 tests passed",
            status=ValidationStatus.PASSED,
            checks=[
                Check(name="static", outcome=CheckOutcome.PASSED, duration_s=0.2),
                Check(name="cabal build", outcome=CheckOutcome.PASSED, duration_s=41.0),
            ],
        ),
        "expected_impact": ExpectedImpact(
            metrics=[
                ImpactMetric(
                    metric="failure_rate route->refund",
                    before=0.2178,
                    after_estimate=0.05,
                    improvement_percent=77.0,
                )
            ],
            confidence=Confidence.MEDIUM,
            notes="Most timeouts succeed on the second attempt.",
        ),
        "rollback_instructions": "Revert the commit; no data migration is involved.",
    }
    fields.update(overrides)
    return ProposedChanges(**fields)


def record_for(patterns: tuple[Pattern, ...]) -> FilingRecord:
    return FilingRecord(
        fingerprints=tuple(sorted(p.id for p in patterns)),
        patterns=tuple(
            PatternRecord(
                id=p.id,
                type=p.type.value,
                severity=p.severity.value,
                occurrences=p.occurrences,
                logql=p.grafana_query,
            )
            for p in patterns
        ),
        base_commit=BASE_COMMIT,
        base_branch="main",
        branch="sleeptime/2026-11-21-failed-transition-c90cce76ae",
        tool_version="0.1.0",
    )


def prose(**overrides: Any) -> Prose:
    fields: dict[str, Any] = {
        "title": "sleeptime: retry the payment gateway before escalating refunds",
        "summary": "Refunds fail when the payment gateway times out; retry it once.",
        "changes": {"src/Triage/Graph.hs": "Wrap PaymentApi in a retry."},
        "impact": "Fewer failed refunds.",
        "written_by": "code (LLM off)",
    }
    fields.update(overrides)
    return Prose(**fields)


def body_inputs(**overrides: Any) -> BodyInputs:
    """The PR for the failed refund transition and the dead route→escalate edge."""
    patterns = (with_series(sample_pattern(FAILED_ID)), sample_pattern(DEAD_ID))
    fields: dict[str, Any] = {
        "changes": proposal(),
        "patch": PATCH,
        "files": ("src/Triage/Graph.hs",),
        "patterns": patterns,
        "missing_patterns": (),
        "report_window": sample_report().summary.query_range,
        "grafana": GRAFANA,
        "graph": sample_dsl(),
        "record": record_for(patterns),
        "prose": prose(),
        "branch": "sleeptime/2026-11-21-failed-transition-c90cce76ae",
        "base_branch": "main",
        "base_commit": BASE_COMMIT,
        "cost_usd": 0.0123,
        "tool_version": "0.1.0",
    }
    fields.update(overrides)
    return BodyInputs(**fields)


def replace(inputs: BodyInputs, **changes: Any) -> BodyInputs:
    return dataclasses.replace(inputs, **changes)


def render(markdown: str) -> str:
    """HTML as GitHub's engine (cmark-gfm) renders it, raw HTML let through (UNSAFE), so
    a test sees what GitHub would get before its own sanitizer."""
    rendered: str = cmarkgfm.github_flavored_markdown_to_html(
        markdown, options=Options.CMARK_OPT_UNSAFE
    )
    return rendered


def tags(rendered: str) -> set[str]:
    return {tag.lower() for tag in re.findall(r"<\s*/?\s*([A-Za-z][A-Za-z0-9-]*)", rendered)}


def visible_text(rendered: str) -> str:
    """What a reader sees, code included (GitHub links nothing inside code)."""
    return html.unescape(re.sub(r"<[^>]*>", "", rendered))


def prose_text(rendered: str) -> str:
    """What a reader sees outside code: where GitHub links mentions and references."""
    without_code = re.sub(r"<pre[^>]*>.*?</pre>|<code>.*?</code>", " ", rendered, flags=re.S)
    return visible_text(without_code)
