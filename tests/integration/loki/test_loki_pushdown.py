"""Push-down: Loki's aggregates give the same findings as the raw lines, for far fewer bytes.

The corpus suites run against lokisim and the real Loki 3.4 alike (events time-stamped in
the last hours, as a fresh real Loki serves them); what only lokisim can show (the queries
it was asked, a day of data) stays on lokisim.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from micro_gastown.analysis.pushdown.attention import SCOPES_PER_QUERY
from micro_gastown.cli import main
from micro_gastown.testing.scenario import NODE_FIELDS
from micro_gastown.testing.synthetic import generate_export
from micro_gastown.timewindow import format_ns, parse_rfc3339_ns
from pushdown_corpus import HOUR_NS, MINUTE_NS, edge_spans_export
from realloki import LokiServer

from factories import BASE_NS, Export, push_export, shifted_export
from lokisim import LokiSim

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "examples" / "logs" / "exomonad-sample.jsonl.gz"
REPO = ROOT / "examples" / "exomonad-sample"
MS_NS = 1_000_000


@dataclass
class Corpus:
    loki: LokiServer
    export: Path
    window: list[str]


def _loaded(loki: LokiServer, export: Path) -> Corpus:
    """The export pushed into ``loki``, and a window over all of it a whole number of
    milliseconds long: a LogQL range can be no finer (Loki answers 400 to ``[5us]``), so
    push-down declines other windows."""
    first, last = loki.push_export(export)
    until = first + -(-(last + 1 - first) // MS_NS) * MS_NS
    return Corpus(loki, export, ["--since", format_ns(first), "--until", format_ns(until)])


def _simulated(export: Path) -> Iterator[Corpus]:
    """The export in a LokiSim of its own (for the tests that read its requests)."""
    with LokiSim() as sim:
        yield _loaded(LokiServer("lokisim", sim.url, None, sim), export)


@pytest.fixture(scope="module")
def node_fields(module_loki_server: LokiServer, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """The demo's traffic from emitters that write ``node`` on every event of a run, over
    the last two hours or so."""
    path = tmp_path_factory.mktemp("pushdown") / "node-fields.jsonl"
    start = datetime.fromtimestamp(time.time() - 140 * 60, UTC)
    duration = timedelta(minutes=130)
    generate_export(
        path, lines=12_000, seed=11, scenario=NODE_FIELDS, start=start, duration=duration
    )
    return _loaded(module_loki_server, path)


def _analyze(
    corpus: Corpus, source: str, *flags: str, monkeypatch: pytest.MonkeyPatch, out: Path
) -> tuple[dict[str, Any], list[str]]:
    """The report, and the queries Loki received for it (lokisim only: none for real)."""
    corpus.loki.use_in_env(monkeypatch)
    sim = corpus.loki.sim
    before = len(sim.requests) if sim is not None else 0
    argv = ["analyze", "--source", source, *corpus.window, *flags, "--repo", str(REPO)]
    assert main([*argv, "--jobs", "1", "--output", str(out)]) == 0
    asked = sim.requests[before:] if sim is not None else []
    queries = [q for r in asked for q in r.params.get("query", [])]
    report: dict[str, Any] = json.loads(out.read_text())
    return report, queries


def test_pushdown_findings_equal_the_raw_findings_for_a_fraction_of_the_bytes(
    node_fields: Corpus, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def analyze(source: str, *flags: str) -> tuple[dict[str, Any], list[str]]:
        return _analyze(
            node_fields, source, *flags, monkeypatch=monkeypatch, out=tmp_path / "r.json"
        )

    pushed, queries = analyze("loki", "--pushdown", "on")
    raw, _ = analyze("loki", "--pushdown", "off")
    from_file, _ = analyze(f"file:{node_fields.export}")
    kinds = {p["type"] for p in from_file["patterns"]}
    # The corpus has every kind push-down treats differently, so the comparison means it.
    assert {"slow_llm", "token_bloat", "failed_transition", "dead_path"} <= kinds
    assert pushed["patterns"] == from_file["patterns"]  # figures, samples, links: all of it
    assert pushed["summary"] == from_file["summary"]
    assert raw["patterns"] == from_file["patterns"]
    assert raw["summary"] == from_file["summary"]
    if node_fields.loki.sim is not None:
        assert any(q.startswith("quantile_over_time(0.95") for q in queries)
    assert any(n.startswith("push-down: ") for n in pushed["metadata"]["notes"])
    assert not any(n.startswith("push-down") for n in raw["metadata"]["notes"])
    # Raw lines only for errors, failed effects, their spans and exemplars.
    assert pushed["metadata"]["lines_read"] < raw["metadata"]["lines_read"] / 4
    assert pushed["metadata"]["bytes_read"] < raw["metadata"]["bytes_read"] / 4


def test_without_error_detectors_pushdown_reads_almost_no_lines(
    node_fields: Corpus, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    subset = ["--detectors", "slow_llm,token_bloat,effect_failure,dead_path"]

    def analyze(source: str, *flags: str) -> dict[str, Any]:
        out = tmp_path / "r.json"
        return _analyze(node_fields, source, *flags, monkeypatch=monkeypatch, out=out)[0]

    pushed = analyze("loki", *subset, "--pushdown", "on")
    from_file = analyze(f"file:{node_fields.export}", *subset)
    assert pushed["patterns"] == from_file["patterns"]
    kinds = {p["type"] for p in pushed["patterns"]}
    assert kinds == {"slow_llm", "token_bloat", "effect_failure", "dead_path"}
    assert pushed["metadata"]["bytes_read"] < from_file["metadata"]["bytes_read"] / 20
    assert "only these detectors ran: slow_llm, token_bloat" in " ".join(
        pushed["metadata"]["notes"]
    )


def test_pushdown_declines_when_calls_do_not_name_their_node(
    node_fields: Corpus,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The demo's emitter names no node: auto reads raw lines and says why; on refuses."""
    demo = shifted_export(DEMO, tmp_path / "demo.jsonl", last_ns=time.time_ns() - 2 * MINUTE_NS)
    with node_fields.loki.sibling() as loki:
        corpus = _loaded(loki, demo)
        out = tmp_path / "r.json"
        auto, _ = _analyze(corpus, "loki", monkeypatch=monkeypatch, out=out)
        from_file, _ = _analyze(corpus, f"file:{demo}", monkeypatch=monkeypatch, out=out)
        assert auto["patterns"] == from_file["patterns"]
        (note,) = [n for n in auto["metadata"]["notes"] if n.startswith("push-down declined")]
        assert "carry no `node` field" in note
        capsys.readouterr()
        code = main(["analyze", "--source", "loki", *corpus.window, "--pushdown", "on"])
        assert code != 0
        assert "error: --pushdown 'on': " in capsys.readouterr().err


def test_pushdown_on_needs_loki(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["analyze", "--source", f"file:{DEMO}", "--pushdown", "on"])
    assert code != 0
    assert "error: --pushdown 'on': push-down needs a Loki source" in capsys.readouterr().err


def test_unknown_detectors_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["analyze", "--source", f"file:{DEMO}", "--detectors", "slow_llm,fast_llm"])
    assert code != 0
    assert "--detectors 'slow_llm,fast_llm': expected" in capsys.readouterr().err


def test_pushdown_without_the_event_type_label_selects_by_line_filter(
    node_fields: Corpus, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A deployment whose shipper drops the event_type label: same findings, by line filter."""
    from micro_gastown.events.skips import SkipCounter
    from micro_gastown.sources import FileSource
    from micro_gastown.timewindow import TimeWindow

    streams: dict[tuple[tuple[str, str], ...], list[tuple[int, str]]] = {}
    entries = FileSource(node_fields.export).entries(TimeWindow(), SkipCounter())
    for ts, line, labels in entries:
        kept = tuple(sorted((k, v) for k, v in labels.items() if k != "event_type"))
        streams.setdefault(kept, []).append((ts, line))
    with node_fields.loki.sibling() as loki:
        for labels, values in streams.items():
            loki.push(dict(labels), values)
        corpus = Corpus(loki, node_fields.export, node_fields.window)
        out = tmp_path / "r.json"
        pushed, queries = _analyze(
            corpus, "loki", "--pushdown", "on", monkeypatch=monkeypatch, out=out
        )
    from_file, _ = _analyze(
        node_fields, f"file:{node_fields.export}", monkeypatch=monkeypatch, out=out
    )

    def unlabelled(patterns: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Patterns as this deployment sees them: no event_type label on samples, and
        evidence and series queries (compared below) of its own."""
        return [
            {
                **{k: v for k, v in p.items() if k != "grafana_query"},
                "sample_events": [
                    {**e, "labels": {k: v for k, v in e["labels"].items() if k != "event_type"}}
                    for e in p["sample_events"]
                ],
                "series": {
                    k: v for k, v in p["series"].items() if k not in ("query", "exposure_query")
                },
            }
            for p in patterns
        ]

    assert unlabelled(pushed["patterns"]) == unlabelled(from_file["patterns"])
    assert all('|~ `"type"' in p["grafana_query"] for p in pushed["patterns"])
    series_queries = [
        query
        for p in pushed["patterns"]
        for query in (p["series"].get("query"), p["series"].get("exposure_query"))
        if query
    ]
    assert series_queries
    assert all('|~ `"type"' in q and "event_type=" not in q for q in series_queries)
    assert any("without an event_type label" in n for n in pushed["metadata"]["notes"])
    if loki.sim is not None:
        typed = [q for q in queries if "quantile_over_time" in q]
        assert typed
        assert all('|~ `"type"' in q and "event_type=" not in q for q in typed)


def test_scope_reads_ask_only_the_hours_where_the_scopes_have_lines(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A day of traffic with errors in two hours: the span reads ask Loki for those hours,
    not for each of the 24 sub-ranges, and the findings stay those of the raw lines."""
    hour = 3_600_000  # ms
    exp = Export()
    for h in range(24):
        exp.now = BASE_NS + h * hour * 1_000_000
        for i in range(4):
            span = f"h{h}s{i}"
            exp.tick(60_000)
            exp.transition(span, "classify", "route").transition(span, "route", "refund")
            if h in (3, 17):
                exp.error(span, f"payment gateway timeout after {1000 + i} ms")
            exp.transition(span, "refund", "summarize")
    export = exp.write(tmp_path / "day.jsonl")
    with LokiSim() as loki:
        push_export(loki, export)
        corpus = Corpus(
            LokiServer("lokisim", loki.url, None, loki),
            export,
            ["--since", format_ns(BASE_NS), "--until", format_ns(BASE_NS + 24 * hour * 10**6)],
        )
        before = len(loki.requests)
        pushed, _ = _analyze(
            corpus, "loki", "--pushdown", "on", monkeypatch=monkeypatch, out=tmp_path / "p.json"
        )
        scope_reads = [
            (int(r.params["start"][0]), int(r.params["end"][0]))
            for r in loki.requests[before:]
            if "span=~" in r.params.get("query", [""])[0]
            and not r.params["query"][0].startswith("sum(")
        ]
        from_file, _ = _analyze(
            corpus, f"file:{export}", monkeypatch=monkeypatch, out=tmp_path / "f.json"
        )
    assert pushed["patterns"] == from_file["patterns"]
    assert any(p["type"] == "failed_transition" for p in pushed["patterns"])
    hours = sorted({(start - BASE_NS) // (hour * 10**6) for start, _ in scope_reads})
    assert hours == [3, 17]
    assert all(end - start <= hour * 10**6 for start, end in scope_reads)


@pytest.mark.parametrize("minute", [51, 10])
def test_pushdown_reads_every_span_when_the_window_is_off_the_hour_grid(
    minute: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A window from 05:51 (or 05:10) to two hours later: Loki counts a span batch's lines
    per whole hour, so the batches in the window's partial first and last hours must still
    be read (they once were not: errors, failed effects and failed transitions went
    missing without a note). lokisim answers range queries on Loki's grid, as Loki does."""
    start = BASE_NS + 5 * HOUR_NS + minute * MINUTE_NS + 123_456_789
    end = start + 2 * HOUR_NS
    export = edge_spans_export(start, end).write(tmp_path / "edges.jsonl")
    for loaded in _simulated(export):
        corpus = Corpus(
            loaded.loki, export, ["--since", format_ns(start), "--until", format_ns(end)]
        )
        out = tmp_path / "r.json"
        pushed, _ = _analyze(corpus, "loki", "--pushdown", "on", monkeypatch=monkeypatch, out=out)
        from_file, _ = _analyze(corpus, f"file:{export}", monkeypatch=monkeypatch, out=out)
    assert pushed["patterns"] == from_file["patterns"]
    assert pushed["summary"] == from_file["summary"]
    counts = {p["type"]: p["occurrences"] for p in pushed["patterns"]}
    every_span = 3 * SCOPES_PER_QUERY
    assert counts["repeated_error"] == counts["effect_failure"] == every_span
    assert counts["failed_transition"] == every_span


def test_a_window_no_logql_range_can_express_is_read_raw(
    node_fields: Corpus,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A window 2h and 1ns long: Loki refuses a [7200000000001ns] range (a 400), so push-down
    declines (auto reads raw lines and says why; on stops with the reason)."""
    start = parse_rfc3339_ns(node_fields.window[1])
    window = ["--since", format_ns(start), "--until", format_ns(start + 2 * HOUR_NS + 1)]
    corpus = Corpus(node_fields.loki, node_fields.export, window)
    auto, _ = _analyze(corpus, "loki", monkeypatch=monkeypatch, out=tmp_path / "a.json")
    from_file, _ = _analyze(
        corpus, f"file:{corpus.export}", monkeypatch=monkeypatch, out=tmp_path / "f.json"
    )
    assert auto["patterns"] == from_file["patterns"]
    (note,) = [n for n in auto["metadata"]["notes"] if n.startswith("push-down declined")]
    assert "not a whole number of milliseconds long" in note
    capsys.readouterr()
    assert main(["analyze", "--source", "loki", *window, "--pushdown", "on"]) == 2
    assert "not a whole number of milliseconds long" in capsys.readouterr().err


def _error_scope_lines(export: Path) -> int:
    """What failed_transition's push-down needs of ``export``: every error, and the
    transitions of each span or session an error occurs in."""
    from micro_gastown.events.model import ErrorEvent, GraphTransition
    from micro_gastown.events.parse import parse_line
    from micro_gastown.events.skips import SkipCounter
    from micro_gastown.sources import FileSource
    from micro_gastown.timewindow import TimeWindow

    skips = SkipCounter()
    events = [
        parse_line(ts, line, labels, skips)
        for ts, line, labels in FileSource(export).entries(TimeWindow(), skips)
    ]
    errors = [e for e in events if isinstance(e, ErrorEvent)]
    failing = {e.scope for e in errors if e.scope is not None}
    transitions = [e for e in events if isinstance(e, GraphTransition) and e.scope in failing]
    return len(errors) + len(transitions)


def test_failed_transition_reads_only_the_transitions_of_the_failing_spans(
    node_fields: Corpus, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Of the spans and sessions that hold an error, only their transitions are read: the
    LLM calls and effects in them change no attribution. Findings stay the file's."""
    only = ["--detectors", "failed_transition"]

    def analyze(source: str, *flags: str) -> tuple[dict[str, Any], list[str]]:
        out = tmp_path / "r.json"
        return _analyze(node_fields, source, *only, *flags, monkeypatch=monkeypatch, out=out)

    pushed, queries = analyze("loki", "--pushdown", "on")
    from_file, _ = analyze(f"file:{node_fields.export}")
    assert [p["type"] for p in from_file["patterns"]] == ["failed_transition"]
    assert pushed["patterns"] == from_file["patterns"]
    assert pushed["metadata"]["lines_read"] == _error_scope_lines(node_fields.export)
    (note,) = [n for n in pushed["metadata"]["notes"] if n.startswith("push-down: ")]
    assert "(0 read whole" in note
    if node_fields.loki.sim is not None:
        scope_reads = [q for q in queries if "span=~" in q and not q.startswith("sum(")]
        assert scope_reads
        assert all('event_type="graph_transition"' in q for q in scope_reads)


def _idle_gap_export(path: Path) -> Path:
    """Spans that enter ``route`` and fail there three hours later: in four, LLM calls every
    half hour keep the span alive (the error fails route); in four, nothing does (the span
    is over after two idle hours, the error is no failure); four fail at once."""
    exp = Export()
    t0 = exp.now
    half_hour = 30 * MINUTE_NS
    events: list[tuple[int, str, str]] = []  # (ts, span, what)
    for i in range(4):
        for kind in ("alive", "idle", "quick"):
            events.append((t0 + i * MS_NS, f"{kind}{i}", "enter"))
        for step in range(1, 7):
            events.append((t0 + step * half_hour + i * MS_NS, f"alive{i}", "llm"))
        for kind in ("alive", "idle"):
            events.append((t0 + 3 * HOUR_NS + MINUTE_NS + i * MS_NS, f"{kind}{i}", "fail"))
        events.append((t0 + MINUTE_NS + i * MS_NS, f"quick{i}", "fail"))
    for ts, span, what in sorted(events):
        if what == "enter":
            exp.transition(span, "classify", "route", ts=ts)
        elif what == "llm":
            exp.llm(span, ts=ts)
        else:
            exp.error(span, f"gateway down for order {ts % 1000}", ts=ts)
    return exp.write(path)


def test_a_span_kept_alive_only_by_its_other_events_is_read_whole(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A scope idle for two hours is over, and any event keeps it alive: where the
    transitions alone show such a gap before an error, the span is read whole, so the
    errors after it are attributed (or not) as a raw scan does."""
    export = _idle_gap_export(tmp_path / "idle.jsonl")
    only = ["--detectors", "failed_transition"]
    for corpus in _simulated(export):
        pushed, queries = _analyze(
            corpus, "loki", *only, "--pushdown", "on", monkeypatch=monkeypatch, out=tmp_path / "p"
        )
        from_file, _ = _analyze(
            corpus, f"file:{export}", *only, monkeypatch=monkeypatch, out=tmp_path / "f"
        )
    assert pushed["patterns"] == from_file["patterns"]
    (finding,) = pushed["patterns"]
    assert finding["occurrences"] == 8  # alive and quick: the idle spans' errors fail nothing
    (note,) = [n for n in pushed["metadata"]["notes"] if n.startswith("push-down: ")]
    assert "(8 read whole" in note  # alive and idle; quick needs its transition only
    whole = [q for q in queries if "span=~" in q and "event_type" not in q]
    assert whole
    assert all("quick" not in q for q in whole)


def _pushed_and_raw(
    corpus: Corpus, detectors: str, *, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The reports of ``detectors`` with push-down and by raw pulling, from the same Loki."""
    reports = [
        _analyze(
            corpus, "loki", "--detectors", detectors, "--pushdown", mode,
            monkeypatch=monkeypatch, out=tmp_path / f"{mode}.json",
        )[0]
        for mode in ("on", "off")
    ]  # fmt: skip
    return reports[0], reports[1]


def test_an_error_in_the_same_instant_as_its_transition_is_ordered_as_loki_orders_it(
    loki_server: LokiServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An error written in the same nanosecond as its span's transition: which comes first
    is Loki's answer (its streams differ), so push-down reads such a span whole, in one
    query, and attributes the error as raw pulling does, on lokisim and on Loki itself."""
    now = time.time_ns() // MS_NS * MS_NS
    exp = Export(now - 30 * MINUTE_NS)
    for i in range(6):
        span = f"tie{i}"
        at = exp.tick(1_000)
        exp.transition(span, "classify", "route", ts=at)
        exp.error(span, f"route rejected ticket {i}", ts=at)
        exp.transition(span, "route", "summarize")
        exp.error(f"late{i}", "no transition in this span yet")
    corpus = _loaded(loki_server, exp.write(tmp_path / "ties.jsonl"))
    pushed, raw = _pushed_and_raw(
        corpus, "failed_transition,repeated_error", monkeypatch=monkeypatch, tmp_path=tmp_path
    )
    assert pushed["patterns"] == raw["patterns"]
    assert pushed["patterns"]  # the errors make findings either way
    (note,) = [n for n in pushed["metadata"]["notes"] if n.startswith("push-down: ")]
    assert "(6 read whole" in note


HOSTILE_SCOPES = ["a.b|c", "x(y)*z+", 'q"uo\\te', "back`tick", "braces{2}[a-z]^$", "ünï ☃"]


def test_spans_and_sessions_with_hostile_names_are_read_exactly(
    loki_server: LokiServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Span and session ids are log text: regex metacharacters, quotes, backslashes and
    backticks in them select exactly their own scope's lines, no more, no fewer (a session
    is found by a line filter on the raw JSON line, where a quote is escaped)."""
    now = time.time_ns() // MS_NS * MS_NS
    exp = Export(now - 30 * MINUTE_NS)
    for round_ in range(2):
        for i, name in enumerate(HOSTILE_SCOPES):
            session = {"session_id": f"s-{name}-{round_}"}
            exp.transition(f"{name}-{round_}", "classify", "route")
            exp.error(f"{name}-{round_}", f"route rejected ticket {i}")
            exp.transition(None, "classify", "route", fields=session)
            exp.error(None, f"route rejected ticket {i}", fields=session)
            exp.transition(None, "route", "summarize", fields=session)
    # A scope whose name the hostile ones match as a regex, but which holds no error.
    exp.transition("abbc", "classify", "route").transition("abbc", "route", "summarize")
    corpus = _loaded(loki_server, exp.write(tmp_path / "hostile.jsonl"))
    pushed, raw = _pushed_and_raw(
        corpus, "failed_transition", monkeypatch=monkeypatch, tmp_path=tmp_path
    )
    assert pushed["patterns"] == raw["patterns"]
    (finding,) = pushed["patterns"]
    assert finding["details"]["failures"] == 4 * len(HOSTILE_SCOPES)
    assert finding["details"]["transitions"] == 4 * len(HOSTILE_SCOPES) + 1


def test_scopes_with_very_long_ids_are_read_in_queries_loki_accepts(
    loki_server: LokiServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Session ids are free text in the line: thirty 40 KB ids named in one query would
    make a URL of megabytes, which Loki refuses. A batch is bounded by its pattern's size
    as well as by its count, so every session is read and the findings are raw pulling's."""
    now = time.time_ns() // MS_NS * MS_NS
    exp = Export(now - 30 * MINUTE_NS)
    for i in range(30):
        session = {"session_id": f"{i:02d}" + "k" * 40_000}
        exp.transition(None, "classify", "route", fields=session)
        exp.error(None, f"route rejected ticket {i}", fields=session)
    corpus = _loaded(loki_server, exp.write(tmp_path / "long-ids.jsonl"))
    pushed, raw = _pushed_and_raw(
        corpus, "failed_transition", monkeypatch=monkeypatch, tmp_path=tmp_path
    )
    assert pushed["patterns"] == raw["patterns"]
    (finding,) = pushed["patterns"]
    assert finding["details"]["failures"] == 30
