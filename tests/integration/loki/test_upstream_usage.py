"""The upstream README's usage lines work exactly as written once Loki is configured in the
environment: no --source, the window from --since, the report to --output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from realloki import LokiServer

from factories import shifted_export

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "examples" / "logs" / "exomonad-sample.jsonl.gz"
MINUTE_NS = 60 * 1_000_000_000


def _environment(loki: LokiServer) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LOKI_", "GRAFANA_", "MICRO_GASTOWN_SOURCE"))
    }
    env["LOKI_ADDR"] = loki.url
    if loki.org_id is not None:
        env["LOKI_ORG_ID"] = loki.org_id
    return env


@pytest.fixture
def loki(loki_server: LokiServer, tmp_path: Path) -> LokiServer:
    recent = shifted_export(DEMO, tmp_path / "demo.jsonl", last_ns=time.time_ns() - 2 * MINUTE_NS)
    loki_server.push_export(recent)
    return loki_server


def test_analyze_since_24h_output_patterns_json(loki: LokiServer, tmp_path: Path) -> None:
    argv = ["analyze", "--since", "24h", "--output", "patterns.json"]
    done = subprocess.run(
        [sys.executable, "-m", "micro_gastown", *argv],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env=_environment(loki),
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "patterns.json").read_text())
    assert report["metadata"]["source"].startswith("loki")
    assert report["summary"]["events_analyzed"] > 0
    assert report["summary"]["total_patterns"] > 0


def test_evolve_since_24h(loki: LokiServer, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "micro_gastown", "evolve", "--since", "24h"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env=_environment(loki),
    )
    # no --repo: refine refines nothing and file-pr files nothing, so the run completes
    assert done.returncode == 0, done.stderr
    (state_path,) = (tmp_path / ".micro-gastown" / "runs").glob("*/run.json")
    steps = json.loads(state_path.read_text())["steps"]
    assert steps["file-pr"]["outputs"]["warnings"] == ["refine left nothing to file"]
    analyze = steps["analyze"]
    assert analyze["status"] == "completed", analyze
    assert analyze["outputs"]["events_analyzed"] > 0
