"""A PatternReport as Markdown for humans: a summary table, then one section per finding.

Log-derived text is untrusted: it is stripped of invisible characters and kept inside
code spans or fenced blocks so it can neither render as markup nor smuggle instructions.
"""

from __future__ import annotations

import html
import re

import orjson

from micro_gastown.evidence import neutralize_line, neutralize_text
from micro_gastown.logql import is_metric
from micro_gastown.report.model import Pattern, PatternReport, PatternType

_ICONS = {"critical": "🔴", "warning": "🟠", "info": "🔵"}


_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]|~])")


def _prose(text: str) -> str:
    """Log-derived prose shown as the characters it holds: invisible characters dropped,
    HTML and Markdown (emphasis, links, code, table pipes) escaped, one line.

    An ``@`` gets a zero-width space after it, written as an entity so the source holds no
    hidden character: GitHub links mentions in the rendered text, where a backslash escape
    or ``&#64;`` is an ``@`` again, so only a break between ``@`` and the name keeps a
    log line from pinging a user or team (the way Renovate quotes release notes).
    """
    escaped = _MARKDOWN_SPECIALS.sub(r"\\\1", neutralize_text(text))
    return html.escape(escaped, quote=False).replace("\n", " ").replace("@", "@&#8203;")


def _cell(text: str) -> str:
    return _prose(text)


def _code(text: str) -> str:
    """A CommonMark code span: fenced by a backtick run longer than any inside it."""
    clean = neutralize_line(text)
    longest = max((len(run) for run in re.findall(r"`+", clean)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if clean.startswith("`") or clean.endswith("`") else ""
    return f"{fence}{pad}{clean}{pad}{fence}"


def _code_cell(text: str) -> str:
    """A code span inside a table row, where even code spans need ``|`` escaped (GFM)."""
    return _code(text).replace("|", "\\|")


def _block(text: str, lang: str = "") -> list[str]:
    clean = neutralize_text(text)
    fence = "````" if "```" in clean else "```"
    return [f"{fence}{lang}", clean, fence]


def _key_text(pattern: Pattern) -> str:
    parts = [f"{name}={value}" for name, value in pattern.key.items()]
    return ", ".join(parts) if parts else pattern.id


def _summary_line(report: PatternReport) -> str:
    s = report.summary
    text = (
        f"**{s.total_patterns} patterns** — {s.critical} critical, {s.warning} warning, "
        f"{s.info} info"
    )
    if s.events_analyzed is not None:
        text += f" — {s.events_analyzed:,} events analyzed"
    if s.query_range and s.query_range.start:
        text += f" ({s.query_range.start} → {s.query_range.end})"
    return text


def render_markdown(report: PatternReport) -> str:
    lines = ["# micro-gastown: log analysis", "", _summary_line(report), ""]
    if report.patterns:
        lines += ["| | Pattern | Key | Occurrences | Finding |", "|---|---|---|---:|---|"]
        for p in report.patterns:
            lines.append(
                f"| {_ICONS[p.severity.value]} {p.severity.value} | {p.type.value} "
                f"| {_code_cell(_key_text(p))} | {p.occurrences:,} "
                f"| [{p.id}](#{p.id}) |"
            )
        lines.append("")
    else:
        lines += ["No patterns crossed the thresholds.", ""]
    for p in report.patterns:
        lines += _pattern_section(p)
    lines += _attribution_section(report)
    lines += _metadata_section(report)
    return "\n".join(lines).rstrip() + "\n"


_FIGURES = {
    PatternType.SLOW_LLM: "`p95_ms`, the p95 latency of the calls",
    PatternType.TOKEN_BLOAT: "`prompt_tokens_p95`, the p95 prompt of the calls",
    PatternType.DEAD_PATH: "the exits of the source node, by target",
    PatternType.EFFECT_FAILURE: "the executions, by outcome (`success`)",
}


def _what_it_gives(p: Pattern) -> str:
    """Which number the finding's LogQL gives, and how to run it."""
    query = p.grafana_query or ""
    if not is_metric(query):
        return "\nA log query over the analysis window: the lines behind the finding."
    figure = _FIGURES.get(p.type, "the finding's figures")
    text = (
        f"\nAn instant query at the end of the analysis window (its range is the window): {figure}"
    )
    by_node = query.rstrip().endswith("by (node, model)")  # after every value from the logs
    if p.type in (PatternType.SLOW_LLM, PatternType.TOKEN_BLOAT) and not by_node:
        text += (
            ", over all calls of the model: this node's calls name no `node`, so LogQL "
            "cannot tell them from the rest"
        )
    return text + "."


def _pattern_section(p: Pattern) -> list[str]:
    lines = [
        f'<a id="{p.id}"></a>',
        f"## {_ICONS[p.severity.value]} {p.type.value}: {_code(_key_text(p))}",
        "",
        f"`{p.id}` — {p.severity.value}, {p.occurrences:,} occurrences",
        "",
        *_out_of_order_warning(p),
        _prose(p.recommendation),
        "",
        "| detail | value |",
        "|---|---|",
    ]
    for name, value in p.details.items():
        shown = value if isinstance(value, str) else orjson.dumps(value).decode()
        lines.append(f"| {name} | {_code_cell(str(shown))} |")
    lines.append("")
    if p.grafana_query:
        lines += ["LogQL:", "", *_block(p.grafana_query, "logql"), _what_it_gives(p), ""]
    if p.grafana_url:
        lines += [f"[Open in Grafana Explore]({p.grafana_url})", ""]
    if p.sample_events:
        lines += [f"Sample events ({len(p.sample_events)}, redacted):", ""]
        samples = [
            orjson.dumps(
                {"ts": s.timestamp, "node": s.node, "labels": s.labels, "event": s.event}
            ).decode()
            for s in p.sample_events
        ]
        lines += [*_block("\n".join(samples), "json"), ""]
    return lines


def _out_of_order_warning(p: Pattern) -> list[str]:
    if not p.out_of_order_events:
        return []
    return [
        f"⚠️ {p.out_of_order_events:,} out-of-order "
        f"{'event was' if p.out_of_order_events == 1 else 'events were'} attributed to its nodes: "
        "some events may belong to another node, so these figures may be off.",
        "",
    ]


def _attribution_section(report: PatternReport) -> list[str]:
    """How many events of each kind could not be placed at a node, and why: findings are
    keyed on nodes a DSL change can fix, so these are counted here rather than reported."""
    gaps = report.metadata.attribution if report.metadata is not None else []
    if not gaps:
        return []
    lines = [
        "## Attribution coverage",
        "",
        "Findings are about nodes a DSL change can fix. These events were placed at no node, "
        "so they are counted here, not reported as findings:",
        "",
        "| events | at a node | at no node | no span or session id | before their scope's "
        "first transition |",
        "|---|---:|---:|---:|---:|",
    ]
    for gap in gaps:
        placed = gap.total - gap.unattributed
        share = f" ({placed / gap.total:.1%})" if gap.total else ""
        lines.append(
            f"| {_code_cell(gap.event_type)} | {placed:,} of {gap.total:,}{share} "
            f"| {gap.unattributed:,} | {gap.no_scope:,} | {gap.no_transition:,} |"
        )
    return [
        *lines,
        "",
        "To place them: emit events inside a span (or with a session id), after the graph "
        "transition into the node, or give them a `node` field.",
        "",
    ]


def _metadata_section(report: PatternReport) -> list[str]:
    m = report.metadata
    if m is None:
        return []
    lines = ["## Run", ""]
    rows = [
        ("source", m.source),
        ("lines read", f"{m.lines_read:,}" if m.lines_read is not None else None),
        ("events analyzed", f"{m.events_analyzed:,}" if m.events_analyzed is not None else None),
        (
            "events by type",
            ", ".join(f"{k} {v:,}" for k, v in m.events_by_type.items()) or None,
        ),
        ("skipped lines", ", ".join(f"{k} {v:,}" for k, v in m.skipped.items()) or "none"),
        ("unattributed events", f"{m.unattributed_events:,}" if m.unattributed_events else "0"),
        ("DSL checkout", m.dsl_repo),
        ("duration", f"{m.query_duration_ms:,} ms"),
        ("generator", m.generator_version),
    ]
    for name, value in rows:
        if value is not None:
            lines.append(f"- {name}: {_cell(str(value))}")
    for note in m.notes:
        lines.append(f"- note: {_cell(note)}")
    return [*lines, ""]
