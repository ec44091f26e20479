"""The Evidence section of a PR body, and the blocks every section is made of.

Per finding: what it is and its key figure, Grafana Explore links we build for its
LogQL over its window, the LogQL itself in a code block, a few redacted sample lines,
and the charts. Everything from a report is untrusted (log text, model text, or a report
file anyone could write): it is redacted again here and written only through
:mod:`.inert`; the report's own ``grafana_url`` is never used, only links we build.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

import orjson

from micro_gastown.dsl.model import DslModel
from micro_gastown.evidence.grafana import GrafanaExplore
from micro_gastown.evidence.redact import Redactor, default_redactor
from micro_gastown.evidence.sanitize import neutralize_text
from micro_gastown.github.charts import metric_words, neighbourhood_chart, series_chart
from micro_gastown.github.facts import Window, key_figure, pattern_window
from micro_gastown.github.inert import code_block, code_span, inline
from micro_gastown.logql import is_metric
from micro_gastown.report.model import Pattern, Severity

__all__ = [
    "BULK_CHARS",
    "EVIDENCE_RANK",
    "ICONS",
    "MAX_EVIDENCE",
    "Block",
    "bulk_redactor",
    "cut_note",
    "evidence_blocks",
    "figure_window",
    "grafana_link",
    "prose_line",
    "redacted",
]

MAX_EVIDENCE: Final = 10
"""Findings shown with their evidence; the rest are in the Summary table and the report."""
MAX_SAMPLES: Final = 3
SAMPLE_CHARS: Final = 800
MAX_KEYS: Final = 8
MAX_LINKED_QUERY: Final = 2_000
BULK_CHARS: Final = 24_000
"""The most characters of one bulky text (the diff) a body shows."""
EVIDENCE_RANK: Final = 2
"""A finding's evidence gives way last (the diff is in the Files changed tab anyway), the
least severe finding's first."""
ICONS: Final = {Severity.CRITICAL: "🔴", Severity.WARNING: "🟠", Severity.INFO: "🔵"}
_URL_SAFE: Final = ":/?&=%-._~+,;!$*"
"""What a URL we build may keep as it is; anything else (a ``)``, a space) is escaped, so
the Markdown link cannot end early whatever the configured Grafana URL holds."""


@dataclass(frozen=True, slots=True)
class Block:
    """One Markdown block of the body (blocks are joined by blank lines)."""

    text: str
    stand_in: str | None = None
    """What replaces the block when the body is too long (None: never replaced)."""
    rank: int = 0
    """Which replaceable blocks give way first: lower ranks, then later blocks."""


def cut_note(what: str) -> str:
    return f"*{what} was left out to fit GitHub's size limit.*"


@functools.cache
def bulk_redactor() -> Redactor:
    """For the diff and output tails, longer than the default redactor's 4,096 characters
    (one pass over the whole text, so a multi-line private key is found whole)."""
    return Redactor(max_chars=BULK_CHARS + 1024)


def redacted(text: str) -> str:
    return default_redactor().redact_text(text)


def prose_line(text: str, limit: int | None = None) -> str:
    """Untrusted prose, redacted, as one inert line."""
    return inline(redacted(text), limit=limit)


def grafana_link(grafana: GrafanaExplore, expr: str, window: Window) -> str | None:
    """The Explore URL of ``expr`` over ``window``, with anything a Markdown link
    destination cannot hold escaped (a URL GrafanaExplore builds is unchanged by this).

    None when the query cannot go into a URL as it is: redacting it changes it (it holds
    a secret) or it is longer than a link should be, since a link cannot show a redaction.
    """
    if len(expr) > MAX_LINKED_QUERY or redacted(expr) != neutralize_text(expr):
        return None
    return quote(grafana.link(expr, window.start_ns, window.end_ns), safe=_URL_SAFE)


def evidence_blocks(
    patterns: Sequence[Pattern],
    *,
    grafana: GrafanaExplore | None,
    graph: DslModel | None,
    fallback: Window | None,
) -> list[Block]:
    """``## Evidence`` and one replaceable block per finding (at most :data:`MAX_EVIDENCE`);
    ``fallback`` (the report's window) serves findings without a series of their own."""
    blocks = [Block("## Evidence")]
    if grafana is None:
        blocks.append(
            Block(
                "*Grafana links are not configured: run each LogQL below in Grafana Explore "
                "(or `logcli`) over the window shown.*"
            )
        )
    for pattern in patterns[:MAX_EVIDENCE]:
        window = pattern_window(pattern, fallback)
        section = _pattern_evidence(pattern, grafana, graph, window, fallback)
        note = cut_note(f"The evidence of {code_span(pattern.id)}")
        blocks.append(Block(section, note, rank=EVIDENCE_RANK))
    hidden = len(patterns) - MAX_EVIDENCE
    if hidden > 0:
        blocks.append(Block(f"*The evidence of {hidden:,} more patterns is in the report.*"))
    if not patterns:
        blocks.append(Block("*No pattern of the report is addressed, so there is no evidence.*"))
    return blocks


def _pattern_evidence(
    pattern: Pattern,
    grafana: GrafanaExplore | None,
    graph: DslModel | None,
    window: Window | None,
    analysis: Window | None,
) -> str:
    icon = ICONS.get(pattern.severity, "")
    head = [f"**{pattern.type.value}**", f"{icon} {pattern.severity.value}".strip()]
    head.append(inline(key_figure(pattern)))
    head.append(f"window {window.text()}" if window else "window not recorded")
    parts = [f"### {code_span(pattern.id)}", " · ".join(head)]
    keys = [
        f"- {inline(name, limit=40)}: {code_span(redacted(value), limit=300)}"
        for name, value in list(pattern.key.items())[:MAX_KEYS]
        if value is not None
    ]
    if keys:
        parts.append("\n".join(keys))
    if pattern.out_of_order_events:
        parts.append(
            f"*{pattern.out_of_order_events:,} events arrived out of time order at this "
            "finding's nodes, so its figures may be off.*"
        )
    if pattern.recommendation.strip():
        parts.append("Recommendation: " + prose_line(pattern.recommendation, limit=1_200))
    parts.extend(_queries(pattern, grafana, window, analysis))
    samples = [_sample_line(sample.event) for sample in pattern.sample_events[:MAX_SAMPLES]]
    if samples:
        total = len(pattern.sample_events)
        parts.append(f"Sample lines ({len(samples)} of {total}, secrets redacted):")
        parts.append(code_block("\n".join(samples), info="json").rstrip("\n"))
    parts.extend(_charts(pattern, graph))
    return "\n\n".join(parts)


def figure_window(expr: str, window: Window | None, analysis: Window | None) -> Window | None:
    """The window to open ``expr`` over: a metric query (the finding's figure) states its
    figure over the analysis window, whose length is its range; a log query, the finding's
    own window."""
    return analysis if analysis is not None and is_metric(expr) else window


def _queries(
    pattern: Pattern,
    grafana: GrafanaExplore | None,
    window: Window | None,
    analysis: Window | None,
) -> list[str]:
    queries = [("the finding", pattern.grafana_query)]
    if pattern.series is not None:
        queries.append(("the chart's counts", pattern.series.query))
    parts: list[str] = []
    links = []
    for what, expr in queries:
        if not expr:
            continue
        span = figure_window(expr, window, analysis) if what == "the finding" else window
        url = grafana_link(grafana, expr, span) if grafana and span else None
        if url is not None:
            links.append(f"[Explore {what} in Grafana]({url})")
        parts.append(f"LogQL for {what}:")
        parts.append(code_block(redacted(expr), info="logql").rstrip("\n"))
    if links:
        parts.insert(0, " · ".join(links))
    elif not parts:
        parts.append("*The report gives no LogQL for this finding.*")
    return parts


def _sample_line(event: object) -> str:
    """One redacted event as compact JSON on one line, cut to :data:`SAMPLE_CHARS`."""
    redactor = default_redactor()
    text = orjson.dumps(redactor.redact_value(event), option=orjson.OPT_SORT_KEYS).decode()
    if len(text) > SAMPLE_CHARS:
        text = text[: SAMPLE_CHARS - 1] + "…"
    return redactor.redact_text(text)


def _charts(pattern: Pattern, graph: DslModel | None) -> list[str]:
    parts: list[str] = []
    chart = series_chart(pattern)
    series = pattern.series
    if chart is not None and series is not None:
        parts.append(code_block(chart, info="mermaid").rstrip("\n"))
        total = f"{sum(series.values):,} {metric_words(pattern)} in the window"
        if series.exposure:
            unit = inline(series.exposure_unit or "events", limit=40)
            total += f", out of {sum(series.exposure):,} {unit}"
        parts.append(f"*{total}.*")
    flow = neighbourhood_chart(pattern, graph) if graph is not None else None
    if flow is not None:
        parts.append(code_block(flow, info="mermaid").rstrip("\n"))
    return parts
