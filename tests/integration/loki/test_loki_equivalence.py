"""The same events analyzed from a logcli export and from Loki give the same report, with
lokisim and with the real Loki 3.4 (the demo export moved to the last hour for both)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from micro_gastown.cli import main
from micro_gastown.timewindow import format_ns
from realloki import LokiServer

from factories import shifted_export

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "examples" / "logs" / "exomonad-sample.jsonl.gz"
REPO = ROOT / "examples" / "exomonad-sample"
MINUTE = 60 * 10**9


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo export, its last line two minutes ago (within what a real Loki serves)."""
    target = tmp_path_factory.mktemp("demo") / "demo.jsonl"
    return shifted_export(DEMO, target, last_ns=time.time_ns() - 2 * MINUTE)


@pytest.fixture(scope="module")
def loaded(module_loki_server: LokiServer, demo: Path) -> tuple[LokiServer, list[str]]:
    """The demo pushed once into each Loki, and the window over all of it."""
    first, last = module_loki_server.push_export(demo)
    return module_loki_server, ["--since", format_ns(first), "--until", format_ns(last + 1)]


def _analyze(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["analyze", *args, "--repo", str(REPO), "--jobs", "1"]) == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


def test_loki_and_export_agree(
    loaded: tuple[LokiServer, list[str]],
    demo: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loki, window = loaded
    loki.use_in_env(monkeypatch)
    before = len(loki.sim.requests) if loki.sim is not None else 0
    from_loki = _analyze(capsys, "--source", "loki", *window)
    from_file = _analyze(capsys, "--source", f"file:{demo}", *window)
    assert from_file["summary"]["critical"] == 4
    assert from_loki["patterns"] == from_file["patterns"]
    assert from_loki["summary"] == from_file["summary"]
    assert from_loki["metadata"]["source"].startswith("loki:http://127.0.0.1:")
    assert from_loki["metadata"]["requests"] >= 2
    if loki.sim is not None:  # every request is accounted for
        assert from_loki["metadata"]["requests"] == len(loki.sim.requests) - before
    assert from_loki["metadata"]["bytes_read"] > 0
    assert from_loki["metadata"]["lines_read"] == from_file["metadata"]["events_analyzed"] + sum(
        n for reason, n in from_file["metadata"]["skipped"].items() if reason != "bad_export_line"
    )
    assert "requests" not in from_file["metadata"]


def test_max_lines_stops_pulling_from_loki(
    loaded: tuple[LokiServer, list[str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cap ends the paging early: far fewer requests than reading the whole window."""
    loki, window = loaded
    loki.use_in_env(monkeypatch)
    before = len(loki.sim.requests) if loki.sim is not None else 0
    report = _analyze(
        capsys, "--source", "loki", *window, "--max-lines", "100", "--pushdown", "off"
    )
    assert report["metadata"]["truncated"] is True
    assert report["metadata"]["lines_read"] <= 5000  # one page, not the 20k lines
    assert report["metadata"]["requests"] <= 2
    if loki.sim is not None:
        assert report["metadata"]["requests"] == len(loki.sim.requests) - before
