"""Push-down selects counts exactly as the local parser accepts them: a latency of 16 digits
or more is a mistyped field in both, so Loki's aggregates give the file's findings (with
lokisim and with the real Loki 3.4)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from micro_gastown.cli import main
from micro_gastown.timewindow import format_ns
from realloki import LokiServer

from factories import Export


def _export(tmp_path: Path) -> Path:
    exp = Export(time.time_ns() - 20 * 60 * 10**9)  # recent, as a real Loki serves it
    for i in range(8):
        span = f"s{i}"
        exp.transition(span, "route", "summarize", fields={"node": "summarize"})
        exp.llm(span, latency=3000 + i, fields={"node": "summarize"})
    call = '"type":"llm_call","model":"claude-haiku-4-5","node":"summarize"'
    for latency in ("1000000000000000", "123456789012345678901234567890"):
        line = f'{{{call},"prompt_tokens":1,"completion_tokens":1,"latency_ms":{latency}}}'
        exp.raw(line, span="s0", event_type="llm_call")
    return exp.write(tmp_path / "export.jsonl")


def _report(argv: list[str], out: Path) -> dict[str, Any]:
    assert main([*argv, "--jobs", "1", "--output", str(out)]) == 0
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def test_counts_too_large_are_skipped_by_loki_as_by_the_parser(
    loki_server: LokiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _export(tmp_path)
    out = tmp_path / "report.json"
    first, last = loki_server.push_export(path)
    loki_server.use_in_env(monkeypatch)
    # LogQL ranges are whole milliseconds: end the window on one past the last line.
    until = first + -(-(last + 1 - first) // 1_000_000) * 1_000_000
    window = ["--since", format_ns(first), "--until", format_ns(until)]
    args = ["analyze", *window, "--detectors", "slow_llm"]
    pushed = _report([*args, "--source", "loki", "--pushdown", "on"], out)
    from_file = _report([*args, "--source", f"file:{path}"], out)
    assert from_file["metadata"]["skipped"] == {"mistyped_field": 2}
    (slow,) = from_file["patterns"]
    assert slow["details"]["calls"] == 8
    assert slow["details"]["max_ms"] == 3007
    assert pushed["patterns"] == from_file["patterns"]
