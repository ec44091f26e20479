"""A finding's LogQL states its figure over its own window (issue 14, item 2): metric
queries carry the window's length as their range once assembled, Grafana opens them as
instant queries, and the report says which number each gives."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from micro_gastown.evidence.grafana import GrafanaExplore
from micro_gastown.logql import WINDOW_RANGE, LogQL, is_metric, over_window
from micro_gastown.report.markdown import render_markdown
from micro_gastown.report.model import Pattern, PatternReport, PatternType, Severity, Summary

HOUR_NS = 3_600_000_000_000


def test_a_metric_query_takes_the_windows_length_as_its_range() -> None:
    query = LogQL().llm_latency_p95("m", "summarize")
    assert f"[{WINDOW_RANGE}]" in query
    assert is_metric(query)
    assert "[86400s]" in over_window(query, 0, 24 * HOUR_NS)
    assert "[1500ms]" in over_window(query, 0, 1_500_000_000)
    log_query = LogQL().transition_with_errors("a", "b")
    assert not is_metric(log_query)
    assert over_window(log_query, 0, HOUR_NS) == log_query


def _panes(url: str) -> dict[str, object]:
    state = parse_qs(urlsplit(url).query)["panes"][0]
    return json.loads(state)["mg"]  # type: ignore[no-any-return]


def test_grafana_opens_a_figure_as_an_instant_query_and_lines_as_a_range() -> None:
    grafana = GrafanaExplore("https://grafana.example.com", "uid")
    figure = over_window(LogQL().llm_latency_p95("m"), 0, HOUR_NS)
    [query] = _panes(grafana.link(figure, 0, HOUR_NS))["queries"]  # type: ignore[misc]
    assert query["queryType"] == "instant"
    [lines] = _panes(grafana.link(LogQL().transition("a", "b"), 0, HOUR_NS))["queries"]  # type: ignore[misc]
    assert lines["queryType"] == "range"


def _report(pattern_type: PatternType, query: str) -> str:
    pattern = Pattern(
        id="p-1", type=pattern_type, severity=Severity.WARNING, occurrences=3,
        details={}, recommendation="r", grafana_query=query,
    )  # fmt: skip
    summary = Summary(total_patterns=1, critical=0, warning=1, info=0)
    return render_markdown(PatternReport(patterns=[pattern], summary=summary))


def test_the_report_says_which_number_each_query_gives() -> None:
    named = over_window(LogQL().llm_latency_p95("m", "summarize"), 0, HOUR_NS)
    text = _report(PatternType.SLOW_LLM, named)
    assert "An instant query at the end of the analysis window" in text
    assert "`p95_ms`" in text
    assert "cannot tell them from the rest" not in text
    unnamed = over_window(LogQL().llm_latency_p95("m", None), 0, HOUR_NS)
    assert "cannot tell them from the rest" in _report(PatternType.SLOW_LLM, unnamed)
    lines = _report(PatternType.FAILED_TRANSITION, LogQL().transition_with_errors("a", "b"))
    assert "A log query over the analysis window: the lines behind the finding." in lines


def test_text_from_the_logs_never_passes_for_the_range_or_a_metric_query() -> None:
    """Model and node names are log text: a model named like the range placeholder keeps
    its name (only the real range becomes the window), a node named like an aggregation
    stays a log query (a range link of lines), and a model naming `| node=` does not make
    the report claim the query is per node."""
    hostile = f"m[{WINDOW_RANGE}]"
    figure = over_window(LogQL().llm_latency_p95(hostile), 0, HOUR_NS)
    assert f'model="{hostile}"' in figure
    assert figure.endswith("[3600s]) by (model)")
    lines = LogQL().transition("x_over_time(", "sum by (to) (")
    assert not is_metric(lines)
    grafana = GrafanaExplore("https://grafana.example.com", "uid")
    [query] = _panes(grafana.link(lines, 0, HOUR_NS))["queries"]  # type: ignore[misc]
    assert query["queryType"] == "range"
    unnamed = over_window(LogQL().llm_latency_p95('m" | node="x', None), 0, HOUR_NS)
    assert "cannot tell them from the rest" in _report(PatternType.SLOW_LLM, unnamed)
