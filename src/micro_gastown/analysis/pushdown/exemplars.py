"""Exemplars for aggregate findings, without pulling every call of a node.

A raw scan keeps each finding's ``MAX_SAMPLES`` highest-scoring events (the slowest calls
for ``slow_llm``, the largest prompts for ``token_bloat``); count queries find a
threshold that few enough calls reach, and only those are read.
"""

from __future__ import annotations

from typing import Final

from micro_gastown.analysis.pushdown.queries import WindowQueries
from micro_gastown.detectors import Finding
from micro_gastown.detectors.stats import MAX_SAMPLES
from micro_gastown.events.model import Event
from micro_gastown.events.parse import parse_line
from micro_gastown.events.skips import SkipCounter
from micro_gastown.logql import quote
from micro_gastown.report.model import PatternType

EXEMPLAR_LINES: Final = 200
"""The most raw lines pulled to pick one finding's exemplars."""


def exemplars(queries: WindowQueries, finding: Finding) -> list[Event]:
    """The ``MAX_SAMPLES`` events a raw scan keeps for this finding: the highest scores,
    ties to the earliest.

    Count queries narrow a threshold, starting from a high percentile the finding
    already has, until at most ``EXEMPLAR_LINES`` calls reach it; only those are pulled.
    """
    node = finding.key.get("node")
    query = queries.kind("llm_call") + f" | node={quote(node or '')}"
    if finding.kind is PatternType.SLOW_LLM:
        query += f" | model={quote(finding.key.get('model') or '')}"
        field, low = "latency_ms", int(finding.details["p99_ms"])
    else:
        field, low = "prompt_tokens", int(finding.details["prompt_tokens_p95"])

    def at_least(threshold: int) -> int:
        return queries.total(
            f"sum(count_over_time({query} | {field} >= {threshold} [{queries.range}]))"
        )

    reaching = at_least(low)
    if reaching < MAX_SAMPLES:
        low, reaching = 0, int(finding.details["calls"])
    high: int | None = None
    while reaching > EXEMPLAR_LINES:
        if high is None:
            high = int(
                queries.total(
                    f'max(max_over_time({query} | unwrap {field} | __error__="" [{queries.range}]))'
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
        entries = queries.lines(f"{query} | {field} >= {low}", EXEMPLAR_LINES)
    else:
        above = queries.lines(f"{query} | {field} > {low}", MAX_SAMPLES)
        entries = above + queries.lines(f"{query} | {field} == {low}", MAX_SAMPLES - len(above))
    events = []
    skips = SkipCounter()
    for ts, line, labels in entries:
        event = parse_line(ts, line, labels, skips)
        if event is not None:
            events.append(event)
    events.sort(key=lambda e: (-getattr(e, field), e.ts_ns))
    return events[:MAX_SAMPLES]
