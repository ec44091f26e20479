"""The same events analyzed from a logcli export and from Loki give the same report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from micro_gastown.cli import main
from micro_gastown.timewindow import format_ns

from factories import push_export
from lokisim import LokiSim

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "examples" / "logs" / "exomonad-sample.jsonl.gz"
REPO = ROOT / "examples" / "exomonad-sample"


def _analyze(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["analyze", *args, "--repo", str(REPO), "--jobs", "1"]) == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


def test_loki_and_export_agree(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with LokiSim() as loki:
        first, last = push_export(loki, DEMO)
        window = ["--since", format_ns(first), "--until", format_ns(last + 1)]
        monkeypatch.setenv("LOKI_ADDR", loki.url)
        from_loki = _analyze(capsys, "--source", "loki", *window)
        requests = len(loki.requests)
    from_file = _analyze(capsys, "--source", f"file:{DEMO}", *window)
    assert from_file["summary"]["critical"] == 4
    assert from_loki["patterns"] == from_file["patterns"]
    assert from_loki["summary"] == from_file["summary"]
    assert from_loki["metadata"]["source"].startswith("loki:http://127.0.0.1:")
    assert requests >= 2
    assert from_loki["metadata"]["requests"] == requests  # every request is accounted for
    assert from_loki["metadata"]["bytes_read"] > 0
    assert from_loki["metadata"]["lines_read"] == from_file["metadata"]["events_analyzed"] + sum(
        n for reason, n in from_file["metadata"]["skipped"].items() if reason != "bad_export_line"
    )
    assert "requests" not in from_file["metadata"]


def test_max_lines_stops_pulling_from_loki(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cap ends the paging early: far fewer requests than reading the whole window."""
    with LokiSim() as loki:
        first, last = push_export(loki, DEMO)
        window = ["--since", format_ns(first), "--until", format_ns(last + 1)]
        monkeypatch.setenv("LOKI_ADDR", loki.url)
        report = _analyze(
            capsys, "--source", "loki", *window, "--max-lines", "100", "--pushdown", "off"
        )
        assert report["metadata"]["truncated"] is True
        assert report["metadata"]["lines_read"] <= 5000  # one page, not the 20k lines
        assert report["metadata"]["requests"] == len(loki.requests) <= 2
