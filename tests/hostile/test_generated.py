"""Generated exports: valid events with random field values, random JSON, random bytes,
odd timestamps and labels, mixed line by line, through the analyzer the CLI runs.

Whatever the lines, ``analyze`` exits 0 with a report that validates against
``schemas/PatternReport.json``, and its Markdown renders no log text as markup. Derandomized,
so CI sees the same examples every run.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from micro_gastown.cli import main
from micro_gastown.timewindow import format_ns

from .corpus import HOSTILE_TEXT
from .expect import load_report
from factories import BASE_NS
from inert import markdown_problems

_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_FIELDS = [
    "type", "from", "to", "trigger", "model", "prompt_tokens", "completion_tokens",
    "latency_ms", "effect_type", "success", "message", "context", "action_type",
    "node_context", "node", "session_id",
]  # fmt: skip
_NAMES = st.sampled_from(["route", "refund", "summarize", "entry", "claude-haiku-4-5", "x"])
_ODD_NUMBERS = st.sampled_from(
    [
        "1234567890123456789012345678901234567890", "-1e308", "1e308", "1e400", "-0",
        "0.5", "1e-400", "18446744073709551616", "9223372036854775807", "2.0", "1E2",
        "NaN", "Infinity",
    ]
)  # fmt: skip
_NUMBER = st.one_of(
    st.integers(min_value=-(10**45), max_value=10**45).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(min_value=0, max_value=20_000).map(str),
    _ODD_NUMBERS,
)
_TEXT = st.one_of(st.text(max_size=40), _NAMES, st.sampled_from([HOSTILE_TEXT, "", " "]))
_JSON_DATA = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
_VALUE = st.one_of(
    _NUMBER,
    _TEXT.map(json.dumps),
    st.sampled_from(["true", "false", "null", "[]", "{}"]),
    _JSON_DATA.map(json.dumps),
)


_WELL_FORMED = {
    "graph_transition": {"from": '"route"', "to": '"refund"', "trigger": '"next"'},
    "llm_call": {
        "model": '"claude-haiku-4-5"', "prompt_tokens": "1000", "completion_tokens": "100",
        "latency_ms": "500", "node": '"route"',
    },
    "effect_execution": {
        "effect_type": '"payment_api"', "success": "false", "latency_ms": "50", "node": '"refund"',
    },
    "error": {"message": '"payment gateway timeout after 30 ms"'},
    "user_action": {"action_type": '"message_sent"', "node_context": '"route"'},
    "bogus": {},
}  # fmt: skip
"""A well-formed event of each type (field values as JSON text), which the generator then
bends: most generated events are accepted, so their odd values reach the detectors."""
_COUNTS = {"prompt_tokens", "completion_tokens", "latency_ms"}
_BENDS = {
    True: st.integers(min_value=0, max_value=3).map(bool),  # a count: 3 times in 4
    False: st.integers(min_value=0, max_value=3).map(lambda n: n == 0),  # a name: 1 in 4
}
_ODD_COUNT = st.one_of(
    _ODD_NUMBERS,
    st.integers(min_value=2**63 - 2, max_value=10**45).map(str),
    st.integers(min_value=-(2**64), max_value=-1).map(str),
    _NUMBER,
    _VALUE,
)
"""What replaces a count: mostly numbers past 64 bits, negative or not whole."""


_KINDS = st.sampled_from(
    ["llm_call", "llm_call", "effect_execution", "effect_execution", "error", "error",
     "graph_transition", "user_action", "bogus"]
)  # fmt: skip
"""Types with counts come up most: their odd numbers are what detectors compute with."""


@st.composite
def _event(draw: st.DrawFn) -> str:
    """The raw Loki line: a well-formed event with its counts mostly, and its other fields
    sometimes, replaced by random values, others added, one sometimes dropped;
    written as JSON text so numbers can be anything JSON allows (and a few it does not)."""
    kind = draw(_KINDS)
    fields = {"type": json.dumps(kind), **_WELL_FORMED[kind]}
    bent = [name for name in sorted(_WELL_FORMED[kind]) if draw(_BENDS[name in _COUNTS])]
    added = draw(st.lists(st.sampled_from(_FIELDS), unique=True, max_size=2))
    for name in dict.fromkeys([*bent, *added]):
        odd = _ODD_COUNT if name in _COUNTS else _VALUE | _NAMES.map(json.dumps)
        fields[name] = draw(odd)
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        del fields[draw(st.sampled_from(sorted(fields)))]
    return "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in fields.items()) + "}"


_ODD_TIMESTAMP = st.one_of(
    st.integers(min_value=0, max_value=10**13).map(lambda n: str(BASE_NS + n)),
    _NUMBER,
    st.text(max_size=30),
    st.sampled_from(
        ["9999-12-31T23:59:59.999999999Z", "0001-01-01T00:00:00Z", "2025-02-30T00:00:00Z"]
    ),
)
_LABELS = st.dictionaries(
    st.sampled_from(["job", "span", "event_type", "service_name", "detected_level"])
    | st.text(max_size=6),
    st.sampled_from(["a", "b", "c"]) | st.text(max_size=12),
    max_size=4,
)


@st.composite
def _export(draw: st.DrawFn) -> list[bytes]:
    """Export lines in runs: each drawn line repeated up to 8 times (as logs repeat), so a
    detector sees enough of an odd value to report on it. Timestamps tick 1 ms per line
    unless a run draws an odd one."""
    lines: list[bytes] = []
    for _ in range(draw(st.integers(min_value=0, max_value=10))):
        kind = draw(st.integers(min_value=0, max_value=9))
        repeat = draw(st.integers(min_value=1, max_value=8))
        if kind <= 6:  # a well-formed export record around a generated event
            labels = {"span": draw(st.sampled_from("ab"))} if kind <= 3 else draw(_LABELS)
            line = draw(_event())
            odd_stamp = draw(st.none() | _ODD_TIMESTAMP)
            for _ in range(repeat):
                stamp = odd_stamp or format_ns(BASE_NS + len(lines) * 1_000_000)
                record = {"labels": labels, "line": line, "timestamp": stamp}
                lines.append(json.dumps(record).encode())
        elif kind == 7:  # any JSON at all
            lines += [json.dumps(draw(_JSON_DATA)).encode()] * repeat
        elif kind == 8:  # bytes
            lines += [draw(st.binary(max_size=120)).replace(b"\n", b" ")] * repeat
        else:  # a record whose fields have the wrong types
            labels, line, stamp = draw(_VALUE), draw(_VALUE), draw(_VALUE)
            lines += [f'{{"labels":{labels},"line":{line},"timestamp":{stamp}}}'.encode()] * repeat
    return lines


def _analyze(path: Path, *flags: str) -> tuple[int, bytes, str]:
    """``main`` in this process, its standard output and error captured."""
    out = io.BytesIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8")
    stderr = io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["analyze", "--source", f"file:{path}", *flags])
        stdout.flush()
    return code, out.getvalue(), stderr.getvalue()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("generated")


@_SETTINGS
@given(lines=_export())
def test_any_export_gives_a_schema_valid_report(workdir: Path, lines: list[bytes]) -> None:
    path = workdir / "export.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    code, out, err = _analyze(path, "--jobs", "1")
    assert code == 0, err
    assert "Traceback" not in err
    report: dict[str, Any] = load_report(out)
    assert report["summary"]["total_patterns"] == len(report["patterns"])


_FRAGMENTS = st.sampled_from(
    [
        "@octocat", "@org/team", "<b>", "</b>", "<img src=x onerror=y>", "<!--", "-->",
        "\u202e", "\u2066", "\u200b", "\ufeff", "\x1b[31m", "\x1b]0;t\x07", "`", "```",
        "\n```\n", "[x](https://e.example)", "![i](https://e.example/i.png)", "**", "_",
        "|", "&amp;", "&#64;", "\\", "\n", "\r", "\t", "~~~", "# ", "> ", "-", "1.",
    ]
)  # fmt: skip
_HOSTILE_MESSAGE = st.lists(_FRAGMENTS | st.text(max_size=6), min_size=1, max_size=8).map("".join)


# No shrinking: each example is a whole analysis, and a failure here is a class of markup
# (named in the assertion) rather than one string worth minimizing.
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(message=_HOSTILE_MESSAGE, node=_HOSTILE_MESSAGE)
def test_log_text_never_renders_as_markdown(workdir: Path, message: str, node: str) -> None:
    """Whatever an error message and a node name hold, the report shows them as text."""
    records: list[str] = []
    for i in range(12):
        for event in (
            {"type": "graph_transition", "from": "route", "to": node, "trigger": message},
            {"type": "llm_call", "model": message, "node": node, "prompt_tokens": 20000,
             "completion_tokens": 1, "latency_ms": 9000},
            {"type": "error", "message": f"{message} {i}", "node": node},
        ):  # fmt: skip
            stamp = format_ns(BASE_NS + len(records) * 1_000_000)
            labels = {"span": f"s{i}"}
            records.append(
                json.dumps({"labels": labels, "line": json.dumps(event), "timestamp": stamp})
            )
    path = workdir / "hostile.jsonl"
    path.write_text("\n".join(records) + "\n")
    code, out, err = _analyze(path, "--format", "markdown")
    assert code == 0, err
    assert markdown_problems(out.decode()) == []
