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
from micro_gastown.sources import file as file_source
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
    assert one["metadata"]["attribution"]  # the scenario's unattributed events are counted
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
    exp = Export()
    for i in range(1000):
        exp.transition(f"s{i % 17}", "a", "b" * (i % 17))
    path = exp.write(tmp_path / "lines.jsonl")
    parts = FileSource(path).split(5, 1)
    assert len(parts) == 5
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


def _timestamp(line: bytes) -> str:
    return str(json.loads(line)["timestamp"])


def test_cuts_never_split_a_run_of_one_timestamp(tmp_path: Path) -> None:
    """Duplicates are found among the entries of one timestamp, so a part boundary falls
    only where the timestamp changes (skipped lines in between do not count)."""
    exp = Export()
    for i in range(400):
        ts = exp.tick()
        for k in range(5):
            exp.transition(f"s{k}", "a", "b" * (i % 13), ts=ts)
        if i % 9 == 0:
            exp.lines.append(b"not an export line")
    path = exp.write(tmp_path / "runs.jsonl")
    data = path.read_bytes()
    parts = FileSource(path).split(7, 1)
    assert len(parts) == 7
    for part in parts[1:]:
        assert part.byte_range is not None
        start = part.byte_range[0]
        before = [ln for ln in data[:start].splitlines() if ln.startswith(b"{")][-1]
        after = next(ln for ln in data[start:].splitlines() if ln.startswith(b"{"))
        assert _timestamp(before) != _timestamp(after)


def test_duplicates_are_dropped_once_however_the_file_is_split(tmp_path: Path) -> None:
    """Exact duplicates (same timestamp, labels and line) are dropped and counted, with the
    same report for 1 to 7 parts: a run of one timestamp is never cut, so a duplicate of
    an entry in an earlier part cannot be missed."""
    exp = Export()
    duplicates = 0
    for i in range(600):
        ts = exp.tick()
        exp.transition(f"s{i % 5}", "route", "refund" if i % 4 else "escalate", ts=ts)
        exp.llm(f"s{i % 5}", latency=100 + i, ts=ts)
        if i % 3 == 0:
            exp.lines.append(exp.lines[-2])  # the transition again, after another line
            duplicates += 1
        if i % 7 == 0:
            exp.lines.append(b"not an export line")  # skipped: does not end the run
            exp.lines.append(exp.lines[-2])
            duplicates += 1
        if i % 50 == 0:
            exp.error(f"s{i % 5}", "payload " + "x" * 70_000, ts=ts)  # trimmed, see below
            exp.lines.append(exp.lines[-1])
            duplicates += 1
    path = exp.write(tmp_path / "export.jsonl")
    one = _report(path, jobs=1)
    assert one["metadata"]["duplicate_entries"] == duplicates
    assert any("exact duplicate entries" in note for note in one["metadata"]["notes"])
    for jobs in range(2, 8):
        assert _report(path, jobs=jobs) == one


def test_lines_over_the_bound_are_skipped_alike_however_the_file_is_split(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parts find the same lines too long as one read does (the bound made small here)."""
    monkeypatch.setattr(file_source, "MAX_LINE_BYTES", 2048)
    exp = Export()
    too_long = 0
    for i in range(400):
        exp.transition(f"s{i % 5}", "route", "refund")
        if i % 13 == 0:
            exp.error(f"s{i % 5}", "dump " + "z" * (1500 + 10 * i))  # over 2048 from i=52
            too_long += len(exp.lines[-1]) + 1 > 2048
    path = exp.write(tmp_path / "export.jsonl")
    one = _report(path, jobs=1)
    assert one["metadata"]["skipped"] == {"line_too_long": too_long}
    assert too_long > 10
    for jobs in (2, 3, 5):
        assert _report(path, jobs=jobs) == one
