"""token_bloat: nodes whose prompts are huge, or huge relative to what comes back."""

from __future__ import annotations

from collections.abc import Mapping

from micro_gastown.detectors.base import Detector, DetectorContext, Finding, Handler
from micro_gastown.detectors.prose import node_hint
from micro_gastown.detectors.stats import Histogram, TopSamples
from micro_gastown.events.model import Event, LlmCall
from micro_gastown.report.model import PatternType, Severity


class _NodeCalls:
    """Token counts of one node's calls, and their prompt/completion ratios in hundredths."""

    __slots__ = ("completion", "models", "prompt", "ratio", "samples")

    def __init__(self) -> None:
        self.prompt = Histogram()
        self.completion = Histogram()
        self.ratio = Histogram()  # prompt * 100 // max(completion, 1): exact to 0.01
        self.models: set[str] = set()
        self.samples = TopSamples()


class TokenBloatDetector(Detector):
    kind = PatternType.TOKEN_BLOAT

    def __init__(self, context: DetectorContext) -> None:
        super().__init__(context)
        self._nodes: dict[str | None, _NodeCalls] = {}

    def handlers(self) -> Mapping[type[Event], Handler]:
        return {LlmCall: self._on_call}

    def _on_call(self, event: LlmCall) -> None:
        calls = self._nodes.get(event.node)
        if calls is None:
            calls = self._nodes[event.node] = _NodeCalls()
        prompt = event.prompt_tokens
        completion = event.completion_tokens
        counts = calls.prompt.counts
        counts[prompt] = counts.get(prompt, 0) + 1
        counts = calls.completion.counts
        counts[completion] = counts.get(completion, 0) + 1
        ratio = prompt * 100 // (completion or 1)
        counts = calls.ratio.counts
        counts[ratio] = counts.get(ratio, 0) + 1
        models = calls.models
        if len(models) < 8:
            models.add(event.model)
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
            mine.ratio.merge(theirs.ratio)
            for model in sorted(theirs.models):
                if len(mine.models) < 8:
                    mine.models.add(model)
            mine.samples.merge(theirs.samples)

    def finish(self) -> list[Finding]:
        t = self.thresholds
        findings = []
        for node, node_calls in self._nodes.items():
            calls = len(node_calls.prompt)
            if calls < t.min_occurrences:
                continue
            (prompt_p95,) = node_calls.prompt.percentiles(0.95)
            (completion_p50,) = node_calls.completion.percentiles(0.50)
            ratio_p50 = node_calls.ratio.percentiles(0.50)[0] / 100
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
                    f"the median call sends {ratio_p50:,.0f}× more tokens than it gets back "
                    f"(≥ {t.prompt_completion_ratio_warning:g}×)"
                )
            where = f"Node `{node}`" if node else "Calls with no known node"
            models = sorted(node_calls.models)
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
                        "prompt_tokens_p95": prompt_p95,
                        "completion_tokens_p50": completion_p50,
                        "ratio_p50": round(float(ratio_p50), 2),
                    },
                    recommendation=(
                        f"{where}: {' and '.join(reasons)} over {calls:,} calls. Trim the "
                        f"context it renders{node_hint(self.context.dsl, node)}: send only "
                        "the fields the node needs, summarise or retrieve instead of inlining "
                        "whole documents, and cache the stable prefix."
                    ),
                    logql=self.context.logql.prompt_tokens_p95(
                        models[0] if len(models) == 1 else None
                    ),
                    samples=node_calls.samples.events(),
                )
            )
        return findings
