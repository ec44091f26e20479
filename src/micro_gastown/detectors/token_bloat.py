"""token_bloat: nodes whose prompts are huge, or huge relative to what comes back.

Only calls placed at a node become findings; calls at no node are counted in the report's
attribution coverage instead (as for slow_llm).

The ratio is the median prompt over the median completion (not the median of per-call
ratios), so Loki can compute it from two ``quantile_over_time`` aggregates (push-down).

Series: the node's calls whose prompt reaches the p95 warning threshold, per bucket, over
all its calls (the exposure, which sums to the finding's occurrences). Queries as for
slow_llm: None where the node came from a span rather than a ``node`` field.
"""

from __future__ import annotations

from collections.abc import Mapping

from micro_gastown.detectors import series
from micro_gastown.detectors.base import Detector, DetectorContext, Finding, Handler
from micro_gastown.detectors.prose import node_hint
from micro_gastown.detectors.series import FindingSeries, Timeline
from micro_gastown.detectors.stats import Distribution, Histogram, TopSamples, tidy
from micro_gastown.events.model import Event, LlmCall
from micro_gastown.report.model import PatternType, Severity

MAX_MODELS = 256  # distinct models remembered per node (8 are reported)


class NodeCalls:
    """Token counts of one node's calls: local histograms, or Loki's aggregates."""

    __slots__ = ("calls", "completion", "large", "models", "prompt", "samples")

    def __init__(
        self,
        prompt: Distribution | None = None,
        completion: Distribution | None = None,
        models: set[str] | None = None,
        calls: Timeline | None = None,
        large: Timeline | None = None,
    ) -> None:
        self.prompt: Distribution = prompt if prompt is not None else Histogram()
        self.completion: Distribution = completion if completion is not None else Histogram()
        self.models: set[str] = models if models is not None else set()
        self.samples = TopSamples()
        self.calls: Timeline = calls if calls is not None else {}
        """Calls by unit of time (series)."""
        self.large: Timeline = large if large is not None else {}
        """Calls with a prompt at the p95 warning threshold or above, by unit of time."""


class TokenBloatDetector(Detector):
    kind = PatternType.TOKEN_BLOAT

    def __init__(self, context: DetectorContext) -> None:
        super().__init__(context)
        self._nodes: dict[str | None, NodeCalls] = {}
        self._unit_ns = context.series_unit_ns
        self._large_from = context.thresholds.prompt_tokens_p95_warning

    def load_remote(self, nodes: dict[str | None, NodeCalls]) -> None:
        """Take per-node figures computed by Loki instead of counting calls (push-down)."""
        self._nodes = nodes

    def handlers(self) -> Mapping[type[Event], Handler]:
        return {LlmCall: self._on_call}

    def _on_call(self, event: LlmCall) -> None:
        calls = self._nodes.get(event.node)
        if calls is None:
            calls = self._nodes[event.node] = NodeCalls()
        prompt = event.prompt_tokens
        completion = event.completion_tokens
        counts = calls.prompt.counts  # type: ignore[attr-defined]  # local: a Histogram
        counts[prompt] = counts.get(prompt, 0) + 1
        counts = calls.completion.counts  # type: ignore[attr-defined]
        counts[completion] = counts.get(completion, 0) + 1
        models = calls.models
        if len(models) < MAX_MODELS:
            models.add(event.model)
        unit = (event.ts_ns - 1) // self._unit_ns
        over_time = calls.calls
        over_time[unit] = over_time.get(unit, 0) + 1
        if prompt >= self._large_from:
            over_time = calls.large
            over_time[unit] = over_time.get(unit, 0) + 1
        if prompt > calls.samples.floor:
            calls.samples.offer(prompt, self.context.position, event)

    def merge(self, other: TokenBloatDetector) -> None:
        for node, theirs in other._nodes.items():
            mine = self._nodes.get(node)
            if mine is None:
                self._nodes[node] = theirs
                continue
            mine.prompt.merge(theirs.prompt)
            mine.completion.merge(theirs.completion)
            for model in sorted(theirs.models):
                if len(mine.models) < MAX_MODELS:
                    mine.models.add(model)
            mine.samples.merge(theirs.samples)
            series.merge_timeline(mine.calls, theirs.calls)
            series.merge_timeline(mine.large, theirs.large)

    def finish(self) -> list[Finding]:
        t = self.thresholds
        findings = []
        for node, node_calls in self._nodes.items():
            calls = len(node_calls.prompt)
            if node is None or calls < t.min_occurrences:
                continue  # calls at no node: counted in the report's attribution coverage
            prompt_p50, prompt_p95 = node_calls.prompt.percentiles(0.50, 0.95)
            (completion_p50,) = node_calls.completion.percentiles(0.50)
            ratio_p50 = prompt_p50 / max(completion_p50, 1)
            too_big = prompt_p95 >= t.prompt_tokens_p95_warning
            too_lopsided = ratio_p50 >= t.prompt_completion_ratio_warning
            if not (too_big or too_lopsided):
                continue
            severity = (
                Severity.CRITICAL
                if prompt_p95 >= t.prompt_tokens_p95_critical
                else Severity.WARNING
            )
            reasons = []
            if too_big:
                reasons.append(
                    f"p95 prompt is {prompt_p95:,.0f} tokens (≥ {t.prompt_tokens_p95_warning:,})"
                )
            if too_lopsided:
                reasons.append(
                    f"its median prompt is {ratio_p50:,.0f}× its median completion, far more "
                    f"tokens in than it gets back (≥ {t.prompt_completion_ratio_warning:g}×)"
                )
            models = sorted(node_calls.models)[:8]
            findings.append(
                Finding(
                    kind=self.kind,
                    key={"node": node},
                    severity=severity,
                    occurrences=calls,
                    details={
                        "node": node,
                        "models": models,
                        "calls": calls,
                        "prompt_tokens_p95": tidy(prompt_p95),
                        "completion_tokens_p50": tidy(completion_p50),
                        "ratio_p50": tidy(ratio_p50),
                    },
                    recommendation=(
                        f"Node `{node}`: {' and '.join(reasons)} over {calls:,} calls. Trim the "
                        f"context it renders{node_hint(self.context.dsl, node)}: send only "
                        "the fields the node needs, summarise or retrieve instead of inlining "
                        "whole documents, and cache the stable prefix."
                    ),
                    logql=self.context.logql.prompt_tokens_p95(
                        models[0] if len(models) == 1 else None,
                        node if node not in self.context.attributor.inferred_llm_nodes else None,
                    ),
                    samples=node_calls.samples.events(),
                    nodes=(node,),
                    series=self._series(node, node_calls),
                )
            )
        return findings

    def _series(self, node: str, node_calls: NodeCalls) -> FindingSeries:
        selectable = node not in self.context.attributor.inferred_llm_nodes
        logql = self.context.logql
        return FindingSeries(
            metric=f"calls with prompts of {self._large_from}+ tokens",
            values=dict(node_calls.large),
            unit_ns=self._unit_ns,
            exposure=dict(node_calls.calls),
            exposure_unit="calls",
            query=(
                series.llm_calls(logql, node, prompt_from=self._large_from) if selectable else None
            ),
            exposure_query=series.llm_calls(logql, node) if selectable else None,
        )
