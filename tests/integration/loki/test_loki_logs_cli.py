"""`micro-gastown logs` views (sleeptime-logs parity) and `logs export`, against lokisim
and the real Loki 3.4 alike (one push of the module's lines into each, in the last hours
a fresh real Loki serves)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from micro_gastown.cli import build_parser, main
from micro_gastown.timewindow import format_ns, parse_rfc3339_ns
from realloki import LokiServer

from factories import shifted_export

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "examples" / "logs" / "exomonad-sample.jsonl.gz"
REPO = ROOT / "examples" / "exomonad-sample"
MIN = 60 * 10**9
NOW = time.time_ns()
JOB = "exomonad-native"
SPAN_A = "aaaa1111-span"
SPAN_B = "bbbb2222-span"
# ``micro-gastown: note: ...``, or with the command named: ``micro-gastown logs: note: ...``
SAYS_NOTE = re.compile(r"micro-gastown(?: [a-z-]+)*: note: ")
SAYS_ERROR = re.compile(r"^micro-gastown(?: [a-z-]+)*: error:", re.MULTILINE)


def _line(**fields: Any) -> str:
    return json.dumps(fields)


def _t(minutes_ago: float) -> int:
    return NOW - int(minutes_ago * MIN)


def _labels(event_type: str | None, span: str | None) -> dict[str, str]:
    labels = {"job": JOB}
    if event_type is not None:
        labels["event_type"] = event_type
    if span is not None:
        labels["span"] = span
    return labels


@pytest.fixture(scope="module")
def seeded(module_loki_server: LokiServer) -> LokiServer:
    """The views' lines, pushed once per Loki for the whole module."""
    sim = module_loki_server
    sim.push(
        _labels("graph_transition", SPAN_A),
        [
            (_t(50), _line(type="graph_transition", **{"from": "entry", "to": "route"})),
            (
                _t(40),
                _line(type="graph_transition", trigger="t1", **{"from": "route", "to": "refund"}),
            ),
            (
                _t(30),
                _line(type="graph_transition", trigger="t2", **{"from": "refund", "to": "done"}),
            ),
            # Outside the default hour, inside the session's 7 days (and within
            # the ~2.5 hours a fresh real Loki serves).
            (
                _t(150),
                _line(type="graph_transition", trigger="old", **{"from": "a", "to": "b"}),
            ),
        ],
    )
    sim.push(
        _labels("graph_transition", SPAN_B),
        [
            (
                _t(35),
                _line(type="graph_transition", trigger="t3", **{"from": "route", "to": "faq"}),
            )
        ],
    )
    sim.push(
        _labels("llm_call", SPAN_A),
        [
            (
                _t(45),
                _line(
                    type="llm_call",
                    model="m-fast",
                    prompt_tokens=10,
                    completion_tokens=2,
                    latency_ms=120,
                ),
            ),
            (
                _t(25),
                _line(
                    type="llm_call",
                    model="m-big",
                    prompt_tokens=900,
                    completion_tokens=80,
                    latency_ms=2400,
                ),
            ),
        ],
    )
    sim.push(
        _labels("llm_call", SPAN_B),
        [
            (
                _t(20),
                _line(
                    type="llm_call",
                    model="m-big",
                    prompt_tokens=500,
                    completion_tokens=50,
                    latency_ms=1500,
                ),
            )
        ],
    )
    sim.push(
        _labels("error", SPAN_B),
        [(_t(15), _line(type="error", message="tool timed out", context={"tool": "x"}))],
    )
    # A deployment without the event_type label and without a span: session_id only.
    sim.push(
        _labels(None, None),
        [
            (
                _t(10),
                _line(
                    type="llm_call",
                    model="m-nolabel",
                    prompt_tokens=1,
                    completion_tokens=1,
                    latency_ms=3000,
                    session_id="sess-42",
                ),
            ),
            (_t(9), _line(type="error", message="no label error", session_id="sess-42")),
            (_t(8), "not json at all"),
        ],
    )
    return sim


@pytest.fixture
def loki(seeded: LokiServer, monkeypatch: pytest.MonkeyPatch) -> LokiServer:
    """The seeded Loki, where ``--source loki`` looks (``LOKI_ADDR``, ``LOKI_ORG_ID``)."""
    seeded.use_in_env(monkeypatch)
    return seeded


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["logs", *args]) == 0
    captured = capsys.readouterr()
    assert all(SAYS_NOTE.match(line) for line in captured.err.splitlines())
    return captured.out


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(_run(capsys, *args, "--format", "json"))
    return items


def test_transitions_text(loki: LokiServer, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _run(capsys, "transitions").splitlines()
    assert len(lines) == 4
    assert lines[0].startswith(format_ns(_t(50)))
    assert lines[0].endswith("[aaaa1111] graph_transition entry -> route ()")
    assert lines[1].endswith("[aaaa1111] graph_transition route -> refund (t1)")
    assert lines[2].endswith("[bbbb2222] graph_transition route -> faq (t3)")
    assert lines[3].endswith("refund -> done (t2)")


def test_transitions_json_and_verbose(loki: LokiServer, capsys: pytest.CaptureFixture[str]) -> None:
    items = _json(capsys, "transitions", "--since", "4h", "-v")
    assert [item["timestamp"] for item in items] == [
        str(ts) for ts in (_t(150), _t(50), _t(40), _t(35), _t(30))
    ]
    assert items[1]["event"] == {"type": "graph_transition", "from": "entry", "to": "route"}
    assert items[1]["labels"] == _labels("graph_transition", SPAN_A)
    plain = _json(capsys, "transitions")
    assert "labels" not in plain[0]
    verbose_text = _run(capsys, "transitions", "--verbose").splitlines()
    assert verbose_text[0].endswith(
        json.dumps(_labels("graph_transition", SPAN_A), sort_keys=True, separators=(",", ":"))
    )


def test_llm_calls_text_json_and_min_latency(
    loki: LokiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _run(capsys, "llm-calls").splitlines()
    # The unlabelled deployment's call is found too (a line filter replaces the label).
    assert [line.split("] ", 1)[1] for line in lines] == [
        "llm_call m-fast 120ms 10/2 tokens",
        "llm_call m-big 2400ms 900/80 tokens",
        "llm_call m-big 1500ms 500/50 tokens",
        "llm_call m-nolabel 3000ms 1/1 tokens",
    ]
    items = _json(capsys, "llm-calls", "--min-latency", "1500")
    assert [item["event"]["latency_ms"] for item in items] == [2400, 1500, 3000]
    assert items[0]["timestamp"] == str(_t(25))
    assert _json(capsys, "llm-calls", "--min-latency", "5000") == []


def test_errors_text_and_json(loki: LokiServer, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _run(capsys, "errors", "-s", "1h").splitlines()
    assert lines == [
        f"{format_ns(_t(15))} [bbbb2222] error tool timed out",
        f"{format_ns(_t(9))} [sess-42] error no label error",
    ]
    items = _json(capsys, "errors")
    assert items[:1] == [
        {
            "timestamp": str(_t(15)),
            "event": {"type": "error", "message": "tool timed out", "context": {"tool": "x"}},
        }
    ]


def test_type_filtered_in_code_when_the_label_is_missing(
    loki: LokiServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Events in a stream without the event_type label: Loki is asked by a line filter on
    # the JSON type instead of by the label, and says so.
    assert main(["logs", "errors"]) == 0
    captured = capsys.readouterr()
    assert "no label error" in captured.out
    assert "tool timed out" in captured.out
    assert "without an event_type label" in captured.err
    if loki.sim is not None:  # what was asked, as lokisim recorded it
        queries = [q for r in loki.sim.requests for q in r.params.get("query", [])]
        assert any('|~ `"type"' in q and "event_type" not in q for q in queries)
    # A file source ignores selectors: the views filter parsed events by type themselves.
    export = tmp_path / "all.jsonl"
    _run(capsys, "export", "--since", "1h", "--output", str(export))
    source = f"file:{export}"
    models = [item["event"]["model"] for item in _json(capsys, "llm-calls", "--source", source)]
    assert models == ["m-fast", "m-big", "m-big", "m-nolabel"]
    messages = [item["event"]["message"] for item in _json(capsys, "errors", "--source", source)]
    assert messages == ["tool timed out", "no label error"]
    assert len(_json(capsys, "transitions", "--source", source)) == 4


def test_limit_keeps_newest_printed_oldest_first(
    loki: LokiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    items = _json(capsys, "transitions", "-n", "2", "--since", "2h")
    assert [item["timestamp"] for item in items] == [str(_t(35)), str(_t(30))]
    lines = _run(capsys, "transitions", "--limit", "1").splitlines()
    assert len(lines) == 1
    assert lines[0].endswith("(t2)")


def test_session_by_span_label_looks_back_seven_days(
    loki: LokiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    items = _json(capsys, "session", SPAN_A)
    assert [item["timestamp"] for item in items] == [
        str(ts) for ts in (_t(150), _t(50), _t(45), _t(40), _t(30), _t(25))
    ]
    lines = _run(capsys, "session", SPAN_B, "--since", "4h").splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        "graph_transition route -> faq (t3)",
        "llm_call m-big 1500ms 500/50 tokens",
        "error tool timed out",
    ]


def test_session_by_session_id_field(loki: LokiServer, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _run(capsys, "session", "sess-42", "-s", "1h").splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "[sess-42] llm_call m-nolabel 3000ms 1/1 tokens",
        "[sess-42] error no label error",
    ]
    assert _run(capsys, "session", "nobody", "-s", "1h") == ""


def test_bad_flags_are_one_line_errors(
    loki: LokiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["logs", "transitions", "--limit", "0"]) != 0
    assert main(["logs", "llm-calls", "--min-latency", "-1"]) != 0
    assert main(["logs", "errors", "--selector", "job=x"]) != 0
    assert main(["logs", "errors", "--source", "nope"]) != 0
    err = capsys.readouterr().err
    assert len(SAYS_ERROR.findall(err)) == 4
    assert "expected a positive integer, got '0'" in err
    assert "expected a non-negative integer, got '-1'" in err


@pytest.mark.parametrize(
    ("view", "positional"),
    [("transitions", []), ("llm-calls", []), ("errors", []), ("session", ["sess-42"])],
)
def test_every_view_takes_the_same_flags(view: str, positional: list[str]) -> None:
    """The views share one flag set: names, short forms and defaults. --since has none
    until the source is known: 1h (session: 7d) of Loki, or the whole of a file (the
    views' tests above and test_cli_logs_views_file.py show both)."""
    args = build_parser().parse_args(["logs", view, *positional])
    assert (args.since, args.until, args.limit, args.format, args.verbose, args.source) == (
        None,
        None,
        100,
        "text",
        False,
        "loki",
    )
    argv = ["logs", view, *positional, "-s", "2h", "-n", "3", "-v", "--format", "json"]
    short = build_parser().parse_args(argv)
    assert (short.since, short.limit, short.format, short.verbose) == ("2h", 3, "json", True)


def test_export_to_stdout_is_logcli_jsonl_oldest_first(
    loki: LokiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _run(capsys, "export", "--since", "1h")
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 11
    assert [list(record) for record in records] == [["labels", "line", "timestamp"]] * 11
    stamps = [parse_rfc3339_ns(record["timestamp"]) for record in records]
    assert stamps == sorted(stamps)
    assert records[0] == {
        "labels": _labels("graph_transition", SPAN_A),
        "line": _line(type="graph_transition", **{"from": "entry", "to": "route"}),
        "timestamp": format_ns(_t(50)),
    }
    assert records[-1]["line"] == "not json at all"


def test_export_of_file_source_round_trips(
    loki: LokiServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first = tmp_path / "first.jsonl"
    second = tmp_path / "second.jsonl"
    _run(capsys, "export", "--since", "4h", "-o", str(first))
    _run(capsys, "export", "--since", "4h", "--source", f"file:{first}", "--output", str(second))
    assert first.read_bytes() == second.read_bytes()
    assert len(first.read_bytes().splitlines()) == 12
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first.jsonl", "second.jsonl"]


def test_export_then_analyze_equals_analyzing_loki(
    loki_server: LokiServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    demo = shifted_export(DEMO, tmp_path / "demo.jsonl", last_ns=time.time_ns() - 2 * MIN)
    exported = tmp_path / "export.jsonl"
    first, last = loki_server.push_export(demo)
    loki_server.use_in_env(monkeypatch)
    window = ["--since", format_ns(first), "--until", format_ns(last + 1)]
    _run(capsys, "export", *window, "--output", str(exported))
    assert main(["analyze", "--source", "loki", *window, "--repo", str(REPO), "--jobs", "1"]) == 0
    from_loki = json.loads(capsys.readouterr().out)
    assert (
        main(
            ["analyze", "--source", f"file:{exported}", *window, "--repo", str(REPO), "--jobs", "1"]
        )
        == 0
    )
    from_file = json.loads(capsys.readouterr().out)
    assert from_file["patterns"] == from_loki["patterns"]
    assert from_file["summary"] == from_loki["summary"]
    assert from_file["summary"]["critical"] == 4
