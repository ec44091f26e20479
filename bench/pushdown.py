"""Benchmark failed_transition's push-down against raw pulling, on real Loki and lokisim.

Why: a failing span's LLM calls and effects change no attribution, so push-down reads only
the errors and the transitions of the spans and sessions that hold one. Target (issue 14):
on a corpus where about a third of the spans hold an error, push-down reads at most 30% of
the bytes raw pulling reads, with findings identical to an analysis of the file.

The corpus is the demo's traffic from node-naming emitters with more refunds failing, over
the last two hours before now (a fresh real Loki answers only for recent entries). The
same export is pushed into the real Grafana Loki 3.4.6 (a binary beside the checkout in
``../shared/loki/``, or ``MICRO_GASTOWN_TEST_LOKI``; without it that half is skipped, and
this says where it looked) and into lokisim, the test suite's simulator, run in a process
of its own. Bytes, requests and lines are the figures that matter; wall times are printed
for completeness.

Run by ``make bench``, or alone: ``.venv/bin/python bench/pushdown.py [--lines N]``. Prints
figures and ``MISSED`` next to a missed target, and exits 0 either way.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from loki_serve import serving, whole_window
from run import BIN, OUT, ROOT, label, measure, verdict

from micro_gastown.events.model import ErrorEvent
from micro_gastown.events.parse import parse_line
from micro_gastown.events.skips import SkipCounter
from micro_gastown.sources import FileSource
from micro_gastown.testing.scenario import NODE_FIELDS
from micro_gastown.testing.synthetic import generate_export
from micro_gastown.timewindow import TimeWindow

sys.path.insert(0, str(ROOT / "tests"))
from realloki import LokiMissing, locate, running_loki

from factories import push_export

BYTES_TARGET = 0.30
SEED = 7
DETECTORS = ("--detectors", "failed_transition")
# Refunds are 40% of the demo's runs: with 78% of them failing, and the 2% of runs that
# hit a schema error, about a third of the runs (spans or sessions) hold an error.
FAILING_THIRD = replace(NODE_FIELDS, name="failing-third", refund_failure_rate=0.78)


@dataclass(frozen=True)
class Served:
    """An export in a Loki: where, as which tenant, and its window (whole milliseconds)."""

    name: str
    url: str
    tenant: str | None
    window: list[str]


def make_export(lines: int) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"failing-third-{label(lines)}-s{SEED}.jsonl"
    start = datetime.fromtimestamp(time.time() - 135 * 60, UTC)
    print(f"generating {path.name} ({lines:,} lines over the last 2 h) ...", flush=True)
    generate_export(
        path, lines=lines, seed=SEED, scenario=FAILING_THIRD, start=start,
        duration=timedelta(hours=2),
    )  # fmt: skip
    return path


def failing_share(export: Path) -> tuple[float, int]:
    """The share of spans and sessions that hold an error, and how many there are."""
    skips = SkipCounter()
    scopes: set[str] = set()
    failing: set[str] = set()
    for ts, line, labels in FileSource(export).entries(TimeWindow(), skips):
        event = parse_line(ts, line, labels, skips)
        if event is None or event.scope is None:
            continue
        scopes.add(event.scope)
        if isinstance(event, ErrorEvent):
            failing.add(event.scope)
    return (len(failing) / len(scopes) if scopes else 0.0), len(scopes)


@contextmanager
def lokisim(export: Path) -> Iterator[Served]:
    """The export in lokisim, in a process of its own (bench/loki_serve.py)."""
    with serving(export) as (url, window):
        yield Served("lokisim", url, None, window)


@contextmanager
def real_loki(export: Path) -> Iterator[Served | None]:
    """The export in a real Loki started for the run, or None (said why) without one."""
    try:
        files = locate()
    except LokiMissing as missing:
        print(f"real Loki: skipped, no binary: {missing}", flush=True)
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="bench-loki-") as work, ExitStack() as stack:
        print("starting the real Loki and pushing the export ...", flush=True)
        try:
            loki = stack.enter_context(running_loki(files, Path(work)))
            tenant = loki.fresh_tenant()
            with tenant.batch() as batch:
                first, last = push_export(batch, export)
        except Exception as exc:  # the other benches still run without it
            print(f"real Loki: skipped, it did not start or refused the export: {exc}")
            yield None
            return
        yield Served("Loki 3.4.6", loki.url, tenant.tenant, whole_window(first, last))


def analyze(source: str, window: list[str], tenant: str | None, name: str, *flags: str) -> Any:
    """One analysis as a child process: its measurement and its report (None: failed)."""
    report = OUT / f"pushdown-{name}.json"
    report.unlink(missing_ok=True)
    command = [
        str(BIN / "micro-gastown"), "analyze", "--source", source, *window, *DETECTORS,
        *flags, "--repo", str(ROOT / "examples" / "exomonad-sample"), "--output", str(report),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("LOKI_ORG_ID", "GRAFANA_LOKI_URL")}
    if tenant is not None:
        env["LOKI_ORG_ID"] = tenant
    result = measure(command, OUT / f"pushdown-{name}.log", env=env)
    body = json.loads(report.read_text()) if result.exit_code == 0 and report.exists() else None
    return result, body


def compare(served: Served, expected: list[Any]) -> list[str]:
    rows = []
    figures = {}
    for mode, flag in (("raw", "off"), ("push-down", "on")):
        slug = f"{served.name.split()[0].lower()}-{mode}"
        measured, report = analyze("loki:" + served.url, served.window, served.tenant, slug,
                                   "--pushdown", flag)  # fmt: skip
        if report is None:
            rows.append(f"  {served.name:<11} {mode:<10} FAILED (exit {measured.exit_code}), "
                        f"see {measured.log}")  # fmt: skip
            return rows
        meta = report["metadata"]
        figures[mode] = meta["bytes_read"]
        same = report["patterns"] == expected
        share = meta["bytes_read"] / figures["raw"]
        rows.append(
            f"  {served.name:<11} {mode:<10} {meta.get('requests', 0):>9,} "
            f"{meta['bytes_read'] / 1e6:>9.2f} {meta['lines_read']:>9,} {share:>8.1%} "
            f"{measured.wall_s:>7.1f}  {'identical' if same else 'DIFFERENT'}"
        )
    share = figures["push-down"] / figures["raw"]
    rows.append(
        f"  {'':<11} target: push-down bytes <= {BYTES_TARGET:.0%} of raw: {share:.1%} "
        f"{verdict(share <= BYTES_TARGET)}"
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated export")
    args = parser.parse_args(argv)
    export = make_export(args.lines)
    try:
        share, scopes = failing_share(export)
        rows: list[str] = []
        with lokisim(export) as sim:
            print("analyzing from lokisim ...", flush=True)
            _, from_file = analyze(f"file:{export}", sim.window, None, "file")
            if from_file is None:
                print(f"the file analysis failed: see {OUT / 'pushdown-file.log'}")
                return 0
            expected = from_file["patterns"]
            rows += compare(sim, expected)
        with real_loki(export) as real:
            if real is not None:
                print("analyzing from the real Loki ...", flush=True)
                rows += compare(real, expected)
    finally:
        if not args.keep:
            export.unlink(missing_ok=True)
    print(
        f"\nfailed_transition push-down, {args.lines:,} lines over 2 h: {share:.1%} of "
        f"{scopes:,} spans/sessions hold an error; {len(expected)} finding(s) from the file"
    )
    head = ("server", "mode", "requests", "MB", "lines", "% raw B", "wall s")
    print("  {:<11} {:<10} {:>9} {:>9} {:>9} {:>8} {:>7}  findings vs the file".format(*head))
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
