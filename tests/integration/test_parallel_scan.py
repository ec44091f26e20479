"""Splitting a plain export across processes gives exactly the report one scan gives."""

from __future__ import annotations

import gzip
import json
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from micro_gastown.analysis.runner import AnalysisSettings, run_analysis
from micro_gastown.dsl import read_dsl
from micro_gastown.sources import FileSource
from micro_gastown.testing.synthetic import DEMO, generate_export
from micro_gastown.timewindow import TimeWindow

from factories import Export

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_REPO = ROOT / "examples" / "exomonad-sample"
_VOLATILE = {"generated_at", "query_duration_ms", "parts"}


def _report(path: Path, *, jobs: int, part_bytes: int = 1) -> dict[str, Any]:
    settings = AnalysisSettings(jobs=jobs, min_part_bytes=part_bytes)
    report = run_analysis(FileSource(path), TimeWindow(), settings, read_dsl(SAMPLE_REPO))
    document: dict[str, Any] = json.loads(report.to_json())
    assert document["metadata"]["parts"] == jobs  # the file really was split this many ways
    for key in _VOLATILE:
        document["metadata"].pop(key)
    return document


@pytest.mark.slow
@pytest.mark.parametrize(("seed", "jobs"), [(3, 2), (4, 3), (5, 7)])
def test_parts_match_one_scan(tmp_path: Path, seed: int, jobs: int) -> None:
    """Every pattern, count, sample and metadata figure is identical (but timing)."""
    path = tmp_path / "export.jsonl"
    generate_export(path, lines=30_000, seed=seed, scenario=DEMO)
    one = _report(path, jobs=1)
    split = _report(path, jobs=jobs)
    assert one["summary"]["critical"] >= 3  # the scenario's patterns are there to compare
    assert split == one


def test_a_span_crossing_a_part_boundary_keeps_its_node(tmp_path: Path) -> None:
    """Events of a span begun in an earlier part are attributed as in one scan."""
    exp = Export()
    for i in range(10):
        exp.transition(f"s{i}", "route", "refund")
    for _ in range(200):  # filler, so the cut falls between the transitions and the errors
        exp.transition("filler", "a", "b")
    for i in range(10):
        exp.error(f"s{i}", f"payment gateway timeout after {i} ms")
        exp.llm(f"s{i}", latency=9000)
    path = exp.write(tmp_path / "export.jsonl")
    parts = FileSource(path).split(4, 1)
    assert len(parts) == 4
    one = _report(path, jobs=1)
    split = _report(path, jobs=4)
    assert split == one
    failed = [p for p in split["patterns"] if p["type"] == "failed_transition"]
    assert [p["key"] for p in failed] == [{"from": "route", "to": "refund"}]
    slow = [p for p in split["patterns"] if p["type"] == "slow_llm"]
    assert [p["key"]["node"] for p in slow] == ["refund"]


def test_split_cuts_at_line_starts_and_covers_the_file(tmp_path: Path) -> None:
    path = tmp_path / "lines.jsonl"
    lines = [b"x" * (i % 17) + b"\n" for i in range(1000)]
    path.write_bytes(b"".join(lines))
    parts = FileSource(path).split(5, 1)
    ranges = [part.byte_range for part in parts]
    assert ranges[0] is not None
    assert ranges[0][0] == 0
    assert ranges[-1] is not None
    assert ranges[-1][1] == path.stat().st_size
    data = path.read_bytes()
    for (_, end), (start, _) in pairwise(ranges):  # type: ignore[misc]
        assert end == start
        assert data[start - 1 : start] == b"\n"


def test_gzip_and_small_files_are_not_split(tmp_path: Path) -> None:
    exp = Export().transition("s", "a", "b")
    plain = exp.write(tmp_path / "x.jsonl")
    assert FileSource(plain).split(4, 1 << 20) == []

    packed = tmp_path / "x.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes() * 100))
    assert FileSource(packed).split(4, 1) == []
