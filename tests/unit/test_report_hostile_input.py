"""Whatever numbers and JSON a log line holds, the report is written: JSON that validates
against schemas/PatternReport.json, and Markdown. Out-of-order events mark the findings
they may skew, and only those."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from micro_gastown.analysis.assemble import assemble_report
from micro_gastown.analysis.runner import AnalysisRun, AnalysisSettings, run_analysis
from micro_gastown.detectors import Finding
from micro_gastown.events import ErrorEvent, EventType, SkipCounter, parse_line
from micro_gastown.events.parse import MAX_COUNT
from micro_gastown.report.markdown import render_markdown
from micro_gastown.report.model import (
    Pattern,
    PatternReport,
    PatternType,
    SampleEvent,
    Severity,
    Summary,
)
from micro_gastown.sources.base import SourceStats
from micro_gastown.thresholds import Thresholds
from micro_gastown.timewindow import TimeWindow

from factories import BASE_NS

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "schemas" / "PatternReport.json").read_text()
)
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)
HUGE = 123456789012345678901234567890


class _Entries:
    """A LogSource over entries held in memory (labels as loose as an export's may be)."""

    def __init__(self, entries: list[tuple[int, str, Any]]) -> None:
        self._entries = entries
        self.stats = SourceStats()

    def describe(self) -> str:
        return "memory"

    def entries(self, window: TimeWindow, skips: SkipCounter) -> Iterator[Any]:
        self.stats.lines_read += len(self._entries)
        return iter(self._entries)

    def close(self) -> None:
        pass


def _written(report: PatternReport) -> tuple[dict[str, Any], str]:
    """The report as JSON (validated against the committed schema) and as Markdown."""
    document: dict[str, Any] = json.loads(report.to_json())
    VALIDATOR.validate(document)
    markdown = render_markdown(report)
    assert markdown.startswith("# micro-gastown: log analysis")
    return document, markdown


def _run(findings: list[Finding], **changes: Any) -> AnalysisRun:
    fields: dict[str, Any] = {
        "findings": findings,
        "events_by_type": {kind.value: 1 for kind in EventType},
        "first_ns": BASE_NS,
        "last_ns": BASE_NS + 1,
        "skips": SkipCounter(),
        "unattributed": 0,
        "out_of_order": 0,
        **changes,
    }
    return AnalysisRun(**fields)


def _assemble(run: AnalysisRun) -> PatternReport:
    return assemble_report(
        run,
        _Entries([]),  # type: ignore[arg-type]
        TimeWindow(),
        AnalysisSettings(),
        None,
        duration_ms=1,
        generated_at=datetime(2025, 11, 21, tzinfo=UTC),
    )


def _finding(node: str, **changes: Any) -> Finding:
    fields: dict[str, Any] = {
        "kind": PatternType.SLOW_LLM,
        "key": {"node": node, "model": "m"},
        "severity": Severity.WARNING,
        "occurrences": 3,
        "details": {"node": node},
        "recommendation": f"speed up {node}",
        "nodes": (node,),
        **changes,
    }
    return Finding(**fields)


# ---------------------------------------------------------------- numbers JSON cannot hold


def test_huge_int_in_an_error_context_does_not_break_the_report() -> None:
    """An event decoded by anything but orjson can hold ints past 64 bits, NaN, int keys and
    tuples: the sample keeps them as text (the number's digits) and both formats are written."""
    context = {
        "n": HUGE,
        "negative": -HUGE,
        "nested": [{"deeper": [HUGE]}],
        "ratio": math.nan,
        "limit": math.inf,
        "by_code": {500: "boom"},
        "pair": (1, 2),
        "u64": 2**64 - 1,
    }
    fields = {"type": "error", "message": "boom", "context": context, "retries": HUGE}
    event = ErrorEvent(BASE_NS, {"job": "x"}, fields, "s1", "route", "boom", context)
    finding = _finding(
        "route",
        kind=PatternType.REPEATED_ERROR,
        key={"template": "boom"},
        details={"count": 3, "biggest": HUGE, "share": math.inf},
        samples=[event],
    )
    document, markdown = _written(_assemble(_run([finding])))
    (pattern,) = document["patterns"]
    written = pattern["sample_events"][0]["event"]
    assert written["retries"] == str(HUGE)
    assert written["context"]["n"] == str(HUGE)
    assert written["context"]["negative"] == str(-HUGE)
    assert written["context"]["nested"] == [{"deeper": [str(HUGE)]}]
    assert (written["context"]["ratio"], written["context"]["limit"]) == ("nan", "inf")
    assert written["context"]["by_code"] == {"500": "boom"}
    assert written["context"]["pair"] == [1, 2]
    assert written["context"]["u64"] == 2**64 - 1  # 64 bits unsigned is still a number
    assert pattern["details"] == {"count": 3, "biggest": str(HUGE), "share": "inf"}
    assert str(HUGE) in markdown


def test_sample_nested_past_orjsons_depth_limit_is_cut_not_lost() -> None:
    """orjson reads 1000 levels but writes at most 254: a sample the redactor did not cut
    (built by other code) is cut by the report model, and the report is still written."""
    depth = 1000
    deep = orjson.loads("[" * depth + "]" * depth)
    sample = SampleEvent(
        timestamp="2025-11-21T00:00:00.000000000Z",
        timestamp_ns=str(BASE_NS),
        labels={},
        event={"type": "error", "message": "deep", "context": deep},
    )
    pattern = Pattern(
        id="repeated-error-deep",
        type=PatternType.REPEATED_ERROR,
        severity=Severity.INFO,
        occurrences=1,
        details={"context": deep},
        recommendation="look",
        sample_events=[sample],
    )
    summary = Summary(total_patterns=1, critical=0, warning=0, info=1)
    document, _ = _written(PatternReport(patterns=[pattern], summary=summary))
    written = json.dumps(document["patterns"][0], ensure_ascii=False)
    assert written.count("…[truncated]") == 2


# ---------------------------------------------------------------- out of order


def test_only_findings_at_nodes_with_out_of_order_events_are_marked() -> None:
    """A finding about a node that got late events carries how many; the note names it."""
    late = _finding("draft")
    fine = _finding("summarize")
    edge = _finding(
        "route",
        kind=PatternType.FAILED_TRANSITION,
        key={"from": "route", "to": "draft"},
        nodes=("route", "draft"),
    )
    run = _run([late, fine, edge], out_of_order=5, out_of_order_nodes={"draft": 2, "route": 3})
    report = _assemble(run)
    marks = {p.key.get("node") or p.key["from"]: p.out_of_order_events for p in report.patterns}
    assert marks == {"draft": 2, "summarize": None, "route": 5}
    document, markdown = _written(report)
    assert [p.get("out_of_order_events") for p in document["patterns"]] == [
        p.out_of_order_events for p in report.patterns
    ]
    assert all(
        "out_of_order_events" not in p for p in document["patterns"] if "summarize" in p["id"]
    )
    assert document["metadata"]["out_of_order_events"] == 5
    assert report.metadata is not None
    (note,) = [n for n in report.metadata.notes if "earlier than the previous event" in n]
    marked = sorted(p.id for p in report.patterns if p.out_of_order_events)
    assert len(marked) == 2
    assert all(pattern_id in note for pattern_id in marked)
    assert not any(p.id in note for p in report.patterns if p.key.get("node") == "summarize")
    sections = markdown.split('<a id="')
    warned = [s.split('"', 1)[0] for s in sections if "out-of-order events were attributed" in s]
    assert sorted(warned) == marked


def test_out_of_order_events_elsewhere_mark_no_finding() -> None:
    """Late events at a node no finding is about: counted and noted, no finding marked."""
    report = _assemble(_run([_finding("summarize")], out_of_order=1, out_of_order_nodes={"x": 1}))
    assert [p.out_of_order_events for p in report.patterns] == [None]
    assert report.metadata is not None
    assert any("no finding is about" in note for note in report.metadata.notes)


# ---------------------------------------------------------------- property: any JSON at all

_EDGE_INTS = st.sampled_from(
    [0, 1, MAX_COUNT, MAX_COUNT + 1, 2**53, 2**63 - 1, 2**63, 2**64 - 1, 2**64, HUGE, -HUGE, -1]
)
_EDGE_FLOATS = st.sampled_from([12.0, -0.0, 0.5, 1e15, 1e23, 1.79e308, -1e30, 1e-300])
_NUMBERS = (
    st.integers()
    | _EDGE_INTS
    | st.floats()  # NaN and infinities too: written as NaN/Infinity, which orjson refuses
    | _EDGE_FLOATS
)
_TEXT = st.sampled_from(["a", "b", "route", "draft"]) | st.text(max_size=8)
_SCALARS = st.none() | st.booleans() | _NUMBERS | _TEXT
_JSON = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=4,
)
_DEEP = st.integers(min_value=200, max_value=1100).map(lambda d: "[" * d + "]" * d)


def _mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` four times in five: enough lines become events to reach every detector."""
    return st.integers(min_value=0, max_value=4).flatmap(lambda r: good if r else bad)


_NAME = _mostly(st.sampled_from(["a", "b", "route", "draft"]), _TEXT | _JSON)
_COUNT = _mostly(st.integers(min_value=0, max_value=10_000), _NUMBERS | _JSON)
_FIELDS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "graph_transition": {"from": _NAME, "to": _NAME, "trigger": _NAME},
    "llm_call": {
        "model": _NAME,
        "prompt_tokens": _COUNT,
        "completion_tokens": _COUNT,
        "latency_ms": _COUNT,
    },
    "effect_execution": {
        "effect_type": _NAME,
        "success": _mostly(st.booleans(), _JSON),
        "latency_ms": _COUNT,
    },
    "error": {"message": _NAME, "context": _JSON | _DEEP},
    "user_action": {"action_type": _NAME, "node_context": _NAME},
}
# Extra fields any event may carry, and (sometimes) another type's fields.
_EXTRAS = {
    "node": _NAME,
    "session_id": _NAME,
    "graph": _JSON,
    "trigger": _JSON,
    "latency_ms": _NUMBERS,
}


def _typed_event(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    """An event of ``kind``: its fields mostly well-typed, some missing, extras maybe."""
    fields = _FIELDS[kind]
    extras = {name: value for name, value in _EXTRAS.items() if name not in fields}
    return _mostly(
        st.fixed_dictionaries({"type": st.just(kind), **fields}, optional=extras),
        st.fixed_dictionaries({"type": st.just(kind)}, optional={**_EXTRAS, **fields}),
    )


_EVENT = _mostly(
    st.sampled_from(list(_FIELDS)).flatmap(_typed_event),
    st.dictionaries(st.text(max_size=6), _JSON, max_size=4).map(
        lambda d: {**d, "type": d.get("type")}
    ),
)
_LABEL = _mostly(st.sampled_from(["s1", "s2", "s3"]), _JSON)


def _line(fields: dict[str, Any]) -> str:
    """JSON text of ``fields``; a deep context (a string of brackets) is spliced in raw."""
    context = fields.get("context")
    if isinstance(context, str) and context.startswith("[["):
        return json.dumps({**fields, "context": "@@"}).replace('"@@"', context)
    return json.dumps(fields)  # big ints as digits, NaN/Infinity as such: untrusted text


@settings(max_examples=200, deadline=None)
@given(
    events=st.lists(
        st.tuples(_EVENT, _LABEL, st.integers(min_value=0, max_value=60_000)),
        min_size=1,
        max_size=8,
    )
)
def test_any_json_event_is_parsed_or_skipped_and_the_report_is_always_written(
    events: list[tuple[dict[str, Any], Any, int]],
) -> None:
    """Every line is one event or one counted skip; the report over them validates against
    the schema and renders as Markdown, with thresholds low enough that every detector
    reports and samples what it saw (timestamps in any order)."""
    entries = [
        (BASE_NS + offset_ms * 1_000_000, _line(fields), {"job": "x", "span": span})
        for fields, span, offset_ms in events
    ]
    skips = SkipCounter()
    parsed = 0
    for ts, line, labels in entries:
        before = skips.total
        event = parse_line(ts, line, labels, skips)
        assert (event is not None) != (skips.total == before + 1), line
        parsed += event is not None
    assert parsed + skips.total == len(entries)

    thresholds = Thresholds(
        min_occurrences=1,
        latency_warning_ms=0,
        latency_critical_ms=1,
        prompt_tokens_p95_warning=1,
        prompt_tokens_p95_critical=2,
        prompt_completion_ratio_warning=0.001,
        error_rate_warning=0,
        error_rate_critical=0.5,
        repeated_error_warning=1,
        repeated_error_critical=2,
    )
    report = run_analysis(
        _Entries(entries),  # type: ignore[arg-type]
        TimeWindow(),
        AnalysisSettings(thresholds=thresholds, pushdown="off", jobs=1),
    )
    document, _ = _written(report)
    assert document["summary"]["events_analyzed"] == parsed
    assert sum(document["metadata"]["skipped"].values()) == skips.total
    orjson.dumps(document)  # what the markdown and the LLM digest write with


def test_a_source_note_quoting_log_labels_is_redacted() -> None:
    """Notes quote stream selectors (Loki paging inside one nanosecond): label values are
    log text, so a token among them is redacted like any other."""
    token = "ghp_U8JZpDE0iGXlD6gNCFbaEPFjbD0kH8Oool8D"
    source = _Entries([])
    source.stats.notes.append(f'more than 10 entries of stream {{user="{token}"}} share one ns')
    report = assemble_report(
        _run([]),
        source,  # type: ignore[arg-type]
        TimeWindow(),
        AnalysisSettings(),
        None,
        duration_ms=1,
        generated_at=datetime(2025, 11, 21, tzinfo=UTC),
    )
    (note,) = [n for n in report.metadata.notes if "share one ns" in n]
    assert note == 'more than 10 entries of stream {user="[REDACTED:github-token]"} share one ns'
