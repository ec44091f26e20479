"""`micro-gastown logs` views over a file: the whole export by default, an empty window said."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from micro_gastown.cli import main

SPAN = "5e55104-span"
EVENTS: list[tuple[str, dict[str, Any]]] = [
    (
        "2024-03-01T10:00:00Z",
        {"type": "graph_transition", "from": "entry", "to": "route", "trigger": "go"},
    ),
    (
        "2024-03-01T10:00:01Z",
        {
            "type": "llm_call",
            "model": "m",
            "prompt_tokens": 5,
            "completion_tokens": 1,
            "latency_ms": 90,
        },
    ),
    (
        "2024-03-01T10:00:02Z",
        {"type": "graph_transition", "from": "route", "to": "done", "trigger": "ok"},
    ),
]


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A logcli export made long ago: nothing in it is within a day (or 7) of now."""
    path = tmp_path / "old.jsonl"
    lines = [
        json.dumps(
            {
                "labels": {"job": "exomonad-native", "span": SPAN},
                "line": json.dumps(event),
                "timestamp": stamp,
            }
        )
        for stamp, event in EVENTS
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (["transitions"], ["entry -> route (go)", "route -> done (ok)"]),
        (["llm-calls"], ["m 90ms 5/1 tokens"]),
        (["session", SPAN], ["entry -> route (go)", "m 90ms 5/1 tokens", "route -> done (ok)"]),
    ],
)
def test_a_view_of_a_file_reads_the_whole_export_by_default(
    export: Path, capsys: pytest.CaptureFixture[str], view: list[str], expected: list[str]
) -> None:
    """Not the last hour (or 7 days) back from now, which holds nothing of an export."""
    assert main(["logs", *view, "--source", f"file:{export}"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == len(expected)
    for line, end in zip(lines, expected, strict=True):
        assert line.startswith("2024-03-01T10:00:0")
        assert line.endswith(end)
    assert captured.err == ""


@pytest.mark.parametrize("as_json", [False, True])
def test_a_window_without_matching_events_is_said_on_stderr(
    export: Path, capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    window = ["--since", "2024-03-02T00:00:00Z", "--until", "2024-03-03T00:00:00Z"]
    argv = ["logs", "transitions", "--source", f"file:{export}", *window]
    assert main([*argv, "--format", "json"] if as_json else argv) == 0
    captured = capsys.readouterr()
    assert captured.out == ("[]\n" if as_json else "")
    assert captured.err.splitlines() == [
        "micro-gastown logs transitions: note: no graph_transition events matched in the window "
        "(2024-03-02T00:00:00.000000000Z .. 2024-03-03T00:00:00.000000000Z): check "
        "--since/--until, the source and its selector"
    ]


def test_an_explicit_since_still_narrows_a_file(
    export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["logs", "transitions", "--source", f"file:{export}"]
    assert main([*argv, "--since", "2024-03-01T10:00:02Z"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.endswith("route -> done (ok)")


def test_export_of_a_file_is_the_whole_file_by_default(
    export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`logs export` needs no --since on a file: an old export is copied whole, not as the
    empty window back from now."""
    copy = tmp_path / "copy.jsonl"
    assert main(["logs", "export", "--source", f"file:{export}", "-o", str(copy)]) == 0
    lines = [json.loads(line) for line in copy.read_text().splitlines()]
    assert [json.loads(line["line"]) for line in lines] == [event for _, event in EVENTS]


def test_export_from_loki_still_needs_since(capsys: pytest.CaptureFixture[str]) -> None:
    """On Loki there is no 'whole file': a missing --since is a usage error naming it,
    raised before any request (the URL below is never contacted)."""
    assert main(["logs", "export", "--source", "loki:http://127.0.0.1:9"]) == 2
    assert "--since is required" in capsys.readouterr().err
