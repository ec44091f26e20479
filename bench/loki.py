"""Benchmark analyzing from Loki: raw pulling versus push-down, on a 24 h window.

Why: a nightly run over a busy deployment must not drag a day of raw lines out of Loki
when aggregates give the same findings. Target (issue 3): with push-down, the bytes
transferred are at most 5% of raw pulling's when no error templates are needed (the
detectors slow_llm, token_bloat, effect_failure, dead_path), with identical findings.
All detectors are measured too: they also pull every error and the spans it occurs in.

The corpus is the demo's traffic from emitters that name the node on every event (the
``node-fields`` scenario; push-down needs it, see micro_gastown.analysis.pushdown), 1M
lines over 24 h by default. It is served by the test suite's Loki-compatible server in
its own process. That server is pure Python: its wall times say little about a real Loki
(which evaluates metric queries far faster than it ships raw lines), so the figures that
matter are requests, bytes and lines; wall times are printed for completeness.

Run by ``make bench`` after bench/run.py, or alone: ``.venv/bin/python bench/loki.py``.
Prints figures and ``MISSED`` next to a missed target, and exits 0 either way.
"""

from __future__ import annotations

import argparse
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from loki_serve import serving
from run import BIN, OUT, ROOT, Measurement, label, measure, verdict

from micro_gastown.testing.scenario import NODE_FIELDS
from micro_gastown.testing.synthetic import GENERATOR_VERSION, generate_export

BYTES_TARGET = 0.05
SEED = 7
NO_ERROR_TEMPLATES = ("slow_llm", "token_bloat", "effect_failure", "dead_path")
MODES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("raw", ("--pushdown", "off")),
    ("push-down", ("--pushdown", "on")),
    (
        "push-down, no error templates",
        ("--pushdown", "on", "--detectors", ",".join(NO_ERROR_TEMPLATES)),
    ),
)


def ensure_export(lines: int) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"node-fields-{label(lines)}-v{GENERATOR_VERSION}-s{SEED}.jsonl"
    if not path.exists():
        print(f"generating {path.name} ({lines:,} lines over 24 h) ...", flush=True)
        partial = path.with_suffix(".partial")
        generate_export(
            partial, lines=lines, seed=SEED, scenario=NODE_FIELDS, duration=timedelta(hours=24)
        )
        partial.rename(path)
    return path


def analyze(
    url: str, window: list[str], name: str, flags: tuple[str, ...]
) -> tuple[Measurement, dict[str, Any]]:
    slug = name.replace(",", "").replace(" ", "-")
    report = OUT / f"loki-{slug}.json"
    report.unlink(missing_ok=True)
    command = [
        str(BIN / "micro-gastown"),
        "analyze",
        "--source",
        f"loki:{url}",
        *window,
        *flags,
        "--repo",
        str(ROOT / "examples" / "exomonad-sample"),
        "--output",
        str(report),
    ]
    result = measure(command, OUT / f"loki-{slug}.log")
    if result.exit_code != 0 or not report.exists():
        return result, {}
    body: dict[str, Any] = json.loads(report.read_text())
    return result, body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated export")
    args = parser.parse_args(argv)
    export = ensure_export(args.lines)
    print(f"loading {export.name} into the Loki-compatible server ...", flush=True)
    try:
        with serving(export) as (url, window):
            results = []
            for name, flags in MODES:
                print(f"analyzing from Loki: {name} ...", flush=True)
                results.append((name, *analyze(url, window, name, flags)))
    finally:
        if not args.keep:
            export.unlink(missing_ok=True)
    _, _, raw = results[0]
    if not raw:
        print(f"raw analysis failed: see {OUT / 'loki-raw.log'}")
        return 0
    raw_bytes = raw["metadata"]["bytes_read"]
    print(f"\nLoki, {args.lines:,} lines over 24 h ({raw['summary']['events_analyzed']:,} events):")
    head = ("mode", "requests", "MB", "lines", "% raw B", "wall s")
    print("  {:<30} {:>9} {:>9} {:>10} {:>8} {:>8}  findings".format(*head))
    ok = True
    for name, measured, report in results:
        if not report:
            print(f"  {name:<30} failed (exit {measured.exit_code}), see {measured.log}")
            ok = False
            continue
        meta = report["metadata"]
        kinds = set(NO_ERROR_TEMPLATES) if "no error templates" in name else None
        expected = [p for p in raw["patterns"] if kinds is None or p["type"] in kinds]
        same = report["patterns"] == expected
        share = meta["bytes_read"] / raw_bytes
        print(
            f"  {name:<30} {meta.get('requests', 0):>9,} {meta['bytes_read'] / 1e6:>9.2f} "
            f"{meta['lines_read']:>10,} {share:>8.2%} {measured.wall_s:>8.1f}  "
            f"{'identical' if same else 'DIFFERENT'} ({len(report['patterns'])})"
        )
        ok = ok and same
        if kinds is not None:
            print(
                f"  target: push-down bytes <= {BYTES_TARGET:.0%} of raw without error templates: "
                f"{share:.2%} {verdict(share <= BYTES_TARGET)}"
            )
    print(f"  findings identical to raw pulling: {verdict(ok)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
