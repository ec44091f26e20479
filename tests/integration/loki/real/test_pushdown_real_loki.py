"""Push-down against a real Loki 3.4: the same report as the raw lines and as the file.

lokisim answers what its authors knew Loki answers; this suite holds the product (and
lokisim) to Loki itself. The events are time-stamped within the last 2.5 hours, which a
fresh Loki serves from its ingesters, and each corpus has a label of its own.

Windows: one off the hour grid (Loki counts per whole hour, so its partial first and last
hours are the ones that once went unread) and one on whole hours. Loki stores an entry once
per stream, timestamp and line, so the file compared with is the export as Loki holds it:
exact duplicates dropped (synthetic exports have a few).

The raw pull once read one event fewer than the file here (24,300 of 24,301, issue 9):
Loki's frontend merges the answers of an hour-split query so that a full page may hold a
later entry in place of an earlier one (``micro_gastown.sources.loki.frontend``), and
paging on from the page's last timestamp lost it. It is compared strictly again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from micro_gastown.analysis.pushdown.attention import SCOPES_PER_QUERY
from micro_gastown.cli import main
from micro_gastown.testing.scenario import NODE_FIELDS
from micro_gastown.testing.synthetic import generate_export
from micro_gastown.timewindow import format_ns
from pushdown_corpus import HOUR_NS, MINUTE_NS, edge_spans_export, unaligned_start
from realloki import RealLoki

from factories import push_export
from lokisim import LokiSim
from lokisim.client import get

ROOT = Path(__file__).resolve().parents[4]
REPO = ROOT / "examples" / "exomonad-sample"
OLDEST = 148 * MINUTE_NS
"""Events go back this far from now: within what a fresh Loki serves (about 2h40m)."""


@dataclass(frozen=True)
class Corpus:
    loki: RealLoki
    export: Path
    selector: str
    first: int
    last: int


def _as_loki_stores_it(source: Path, target: Path, labels: dict[str, str]) -> Path:
    """``source`` with ``labels`` added to every entry and exact duplicates dropped."""
    seen: set[tuple[str, str, str]] = set()
    kept: list[bytes] = []
    for raw in source.read_bytes().splitlines():
        try:
            record = orjson.loads(raw)
            record["labels"].update(labels)
            key = (orjson.dumps(record["labels"], option=orjson.OPT_SORT_KEYS).decode(),)
            key += (record["timestamp"], record["line"])
        except (orjson.JSONDecodeError, TypeError, KeyError, AttributeError):
            kept.append(raw)  # a broken export line: the file source skips it, as push does
            continue
        if key not in seen:
            seen.add(key)
            kept.append(orjson.dumps(record))
    target.write_bytes(b"\n".join(kept) + b"\n")
    return target


def _push(loki: RealLoki, export: Path) -> tuple[int, int]:
    with loki.batch() as batch:
        return push_export(batch, export)


@pytest.fixture(scope="module")
def synthetic(real_loki: RealLoki, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """The demo's traffic with ``node`` on every event, ~2.5 hours up to a minute ago."""
    folder = tmp_path_factory.mktemp("synthetic")
    now = time.time_ns()
    start = datetime.fromtimestamp((now - OLDEST) // 10**9, UTC)
    generated = folder / "generated.jsonl"
    generate_export(
        generated,
        lines=30_000,
        seed=11,
        scenario=NODE_FIELDS,
        start=start,
        duration=timedelta(minutes=146),
    )
    export = _as_loki_stores_it(generated, folder / "export.jsonl", {"suite": "synthetic"})
    loki = real_loki.fresh_tenant()
    first, last = _push(loki, export)
    return Corpus(loki, export, '{job="exomonad-native", suite="synthetic"}', first, last)


@pytest.fixture(scope="module")
def edges(real_loki: RealLoki, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """A batch of failing spans in each partial hour of a window off the hour grid."""
    now = time.time_ns()
    start = unaligned_start(now - OLDEST, now - 2 * HOUR_NS - 2 * MINUTE_NS)
    path = tmp_path_factory.mktemp("edges") / "edges.jsonl"
    export = edge_spans_export(start, start + 2 * HOUR_NS, job="pushdown-edges").write(path)
    loki = real_loki.fresh_tenant()
    _push(loki, export)
    return Corpus(loki, export, '{job="pushdown-edges"}', start, start + 2 * HOUR_NS - 1)


def _analyze(corpus: Corpus, source: str, window: tuple[int, int], *flags: str) -> Any:
    out = corpus.export.with_name(f"report-{time.monotonic_ns()}.json")
    since, until = (format_ns(t) for t in window)
    argv = ["analyze", "--source", source, "--selector", corpus.selector]
    argv += ["--since", since, "--until", until, "--repo", str(REPO), "--jobs", "1"]
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LOKI_ORG_ID", corpus.loki.tenant)
        assert main([*argv, *flags, "--output", str(out)]) == 0
    return json.loads(out.read_text())


def _three_ways(corpus: Corpus, window: tuple[int, int]) -> dict[str, Any]:
    loki = f"loki:{corpus.loki.url}"
    return {
        "file": _analyze(corpus, f"file:{corpus.export}", window),
        "off": _analyze(corpus, loki, window, "--pushdown", "off"),
        "on": _analyze(corpus, loki, window, "--pushdown", "on"),
    }


def _assert_same_reports(reports: dict[str, Any]) -> None:
    """Push-down gives the file's report (what defect 8 broke), and so does the raw pull."""
    file, off, on = reports["file"], reports["off"], reports["on"]
    assert any(n.startswith("push-down: ") for n in on["metadata"]["notes"])
    assert on["patterns"] == file["patterns"]
    assert on["summary"] == file["summary"]
    _assert_raw_pull_matches(off, file)


def _assert_raw_pull_matches(off: Any, file: Any) -> None:
    """The raw pull against the file: the same findings from every event (issue 9)."""
    assert off["summary"]["events_analyzed"] == file["summary"]["events_analyzed"]
    assert off["patterns"] == file["patterns"]
    assert off["summary"] == file["summary"]


def _unaligned(corpus: Corpus) -> tuple[int, int]:
    start = unaligned_start(corpus.first, corpus.last + 1 - 2 * HOUR_NS)
    return start, start + 2 * HOUR_NS


def _odd_length(corpus: Corpus) -> tuple[int, int]:
    """Off the grid and not a whole number of hours: Loki splits the instant queries'
    range by the hour, the last piece shorter."""
    start = unaligned_start(corpus.first, corpus.last + 1 - 2 * HOUR_NS)
    return start, start + HOUR_NS + 37 * MINUTE_NS + 13_500_000_000


def _aligned(corpus: Corpus) -> tuple[int, int]:
    """The whole hours the corpus covers (one or two, by the time of day)."""
    start = -(-corpus.first // HOUR_NS) * HOUR_NS
    end = (corpus.last + 1) // HOUR_NS * HOUR_NS
    assert end - start >= HOUR_NS
    return start, end


@pytest.mark.parametrize(
    "window", [_unaligned, _odd_length, _aligned], ids=["off-the-hour", "odd-length", "on-the-hour"]
)
def test_pushdown_equals_the_raw_lines_and_the_file(synthetic: Corpus, window: Any) -> None:
    reports = _three_ways(synthetic, window(synthetic))
    _assert_same_reports(reports)
    kinds = {p["type"] for p in reports["file"]["patterns"]}
    assert {"failed_transition", "repeated_error", "effect_failure", "slow_llm"} <= kinds


def test_pushdown_reads_the_spans_in_the_partial_hours(edges: Corpus) -> None:
    reports = _three_ways(edges, (edges.first, edges.last + 1))
    _assert_same_reports(reports)
    counts = {p["type"]: p["occurrences"] for p in reports["on"]["patterns"]}
    every_span = 3 * SCOPES_PER_QUERY
    assert counts["repeated_error"] == counts["effect_failure"] == every_span
    assert counts["failed_transition"] == every_span


def test_lokisim_answers_range_queries_on_lokis_grid(real_loki: RealLoki) -> None:
    """The same lines and range queries, asked of Loki and of lokisim: the same matrix."""
    earliest = time.time_ns() - 100 * MINUTE_NS
    boundary = -(-earliest // HOUR_NS) * HOUR_NS  # a whole hour, 40-100 minutes ago
    offsets = (-50 * MINUTE_NS, -1_000_001, -1, 0, 1, 1_000_001, 40 * MINUTE_NS)
    lines = [(boundary + offset, f"line at {offset}") for offset in offsets]
    labels = {"job": "grid-check"}
    loki = real_loki.fresh_tenant()
    loki.push(labels, lines)
    query = 'sum(count_over_time({job="grid-check"} [1h]))'
    asked = [
        (boundary - 17 * MINUTE_NS - 123, boundary + 43 * MINUTE_NS, "3600s"),
        (boundary - HOUR_NS, boundary + HOUR_NS, "3600s"),
        (boundary - 7 * MINUTE_NS, boundary + 20 * MINUTE_NS, "600s"),
    ]

    def matrices(url: str) -> list[Any]:
        answers = []
        for start, end, step in asked:
            params = {"query": query, "start": start, "end": end, "step": step}
            tenant = {"X-Scope-OrgID": loki.tenant}  # lokisim needs none, and ignores it
            response = get(f"{url}/loki/api/v1/query_range", params, headers=tenant)
            assert response.status == 200, response.text
            answers.append(response.json()["data"]["result"])
        return answers

    with LokiSim() as sim:
        sim.push(labels, lines)
        simulated = matrices(sim.url)
    real = matrices(loki.url)
    assert real == simulated
    assert real[0][0]["values"][0][0] % 3600 == 0  # on the grid, not at the asked start
