"""Benchmark `micro-gastown analyze` against a bare-parse baseline on big synthetic exports.

Why: the analyzer must stay close to the cost of merely parsing the export (targets: at
most 2.0x the bare parse's wall time and 2.5x its CPU time, the median ratio of pairs of
runs made back to back in alternating order) and keep its memory flat (target: peak RSS at most
300 MB, even at 5M lines). Each measured command runs as its own child process; wall time
comes from a monotonic clock and peak RSS from that child's own ``wait4`` rusage (not
RUSAGE_CHILDREN, which accumulates over every child).

Between the two runs of each pair, the read floor (``bench/read_floor.py``: the export read
into typed events and nothing more) runs too, and a tiny export is analyzed a few times
first: the floor's ratio and that fixed cost show how much of analyze's ratio is reading,
how much is start-up, and how much is attribution, the detectors and the report.

Exports are generated with :mod:`micro_gastown.testing.synthetic` into ``bench/out/``
(gitignored). They are big (about 300 MB per million lines), so they are deleted after
the run unless ``--keep`` is given; kept exports are reused by the next run.

Run by ``make bench`` as ``.venv/bin/python bench/run.py``. Prints figures and ``MISSED``
next to a missed target, and exits 0 either way: timings are for people, not for CI.
"""

from __future__ import annotations

import argparse
import compileall
import math
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from micro_gastown.testing.synthetic import GENERATOR_VERSION, generate_export

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
BIN = Path(sys.executable).parent
WALL_RATIO_TARGET = 2.0
CPU_RATIO_TARGET = 2.5
RSS_TARGET_MB = 300.0
SEED = 7


@dataclass(frozen=True)
class Measurement:
    """One child process: how long it took, how much memory it peaked at, how it ended."""

    wall_s: float
    peak_rss_mb: float  # the process tree's peak summed PSS, sampled: workers count too
    exit_code: int
    log: Path
    error: str = ""  # set when the measured command did not do its job
    cpu_s: float = 0.0  # user + system, the process and the children it waited for

    def lines_per_s(self, lines: int) -> float:
        return lines / self.wall_s if self.wall_s > 0 else 0.0


def label(lines: int) -> str:
    """1000000 -> "1m", 250000 -> "250k": names reports the way the Makefile docs do."""
    if lines % 1_000_000 == 0:
        return f"{lines // 1_000_000}m"
    if lines % 1_000 == 0:
        return f"{lines // 1_000}k"
    return str(lines)


def ensure_export(lines: int) -> Path:
    """The export for ``lines``, generated unless a kept one exists."""
    path = OUT / f"synthetic-{label(lines)}-seed{SEED}-v{GENERATOR_VERSION}.jsonl"
    if path.exists():
        print(f"reusing {path.relative_to(ROOT)}")
        return path
    partial = path.with_suffix(".partial")
    print(f"generating {lines:,} lines -> {path.relative_to(ROOT)} ...", flush=True)
    stats = generate_export(partial, lines=lines, seed=SEED)
    partial.rename(path)  # never leave a half-written export where the cache looks
    rate = stats.lines / stats.seconds if stats.seconds else 0.0
    print(f"  generated in {stats.seconds:.1f} s ({rate:,.0f} lines/s)")
    return path


def warm_page_cache(path: Path) -> None:
    """Read the file once so neither measured command pays for the first disk read."""
    with path.open("rb") as export:
        while export.read(16 << 20):
            pass


def _pss_kib(pid: int) -> int:
    """Proportional set size: pages shared by forked workers are counted once in all."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
            for line in rollup:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree_rss_kib(root: int) -> int:
    """Memory of ``root`` and all its descendants now (summed PSS, from /proc on Linux)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sum(_pss_kib(pid) for pid in tree)


def _sample_peak(root: int, stop: threading.Event, peak: list[int]) -> None:
    while not stop.wait(0.1):
        peak[0] = max(peak[0], _tree_rss_kib(root))


def measure(command: list[str], log: Path, env: dict[str, str] | None = None) -> Measurement:
    """Run ``command`` with output to ``log``; time it, and sample its tree's peak RSS."""
    with log.open("wb") as sink:
        started = time.perf_counter()
        try:
            child = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
        except OSError as exc:
            return Measurement(0.0, 0.0, -1, log, f"cannot start {command[0]}: {exc}")
        peak = [0]
        stop = threading.Event()
        sampler = threading.Thread(target=_sample_peak, args=(child.pid, stop, peak))
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        stop.set()
        sampler.join()
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    # Linux reports ru_maxrss in KiB: the largest single process, a floor for the tree's.
    peak_kib = max(peak[0], usage.ru_maxrss)
    cpu = usage.ru_utime + usage.ru_stime
    return Measurement(wall, peak_kib / 1024, child.returncode, log, cpu_s=cpu)


@dataclass(frozen=True)
class Pair:
    """One bare parse and one analyze, run back to back on the same export; with them, when
    asked for, one run of the read floor (``bench/read_floor.py``)."""

    bare: Measurement
    analyze: Measurement
    floor: Measurement | None = None

    @property
    def failed(self) -> str:
        return self.bare.error or self.analyze.error or (self.floor.error if self.floor else "")

    @property
    def floor_cpu_ratio(self) -> float:
        if self.floor is None or self.bare.cpu_s <= 0:
            return math.inf
        return self.floor.cpu_s / self.bare.cpu_s

    @property
    def wall_ratio(self) -> float:
        return self.analyze.wall_s / self.bare.wall_s if self.bare.wall_s > 0 else math.inf

    @property
    def cpu_ratio(self) -> float:
        return self.analyze.cpu_s / self.bare.cpu_s if self.bare.cpu_s > 0 else math.inf


def paired_runs(
    runs: int,
    bare: Callable[[], Measurement],
    analyze: Callable[[], Measurement],
    floor: Callable[[], Measurement] | None = None,
) -> list[Pair]:
    """``runs`` pairs, the order alternating (bare first, then analyze first, ...), so that a
    machine whose speed drifts (shared CPUs do) weighs on both commands alike; each pair's
    ratio compares two runs made within seconds of each other. ``floor``, when given, runs
    between the two. A failed run ends it: the runs it left out take its measurement."""
    commands = {"bare": bare, "floor": floor, "analyze": analyze}
    pairs: list[Pair] = []
    for i in range(max(runs, 1)):
        order = ("bare", "floor", "analyze") if i % 2 == 0 else ("analyze", "floor", "bare")
        ran: dict[str, Measurement] = {}
        failed: Measurement | None = None
        for name in order:
            command = commands[name]
            if command is None:
                continue
            ran[name] = failed or command()
            if ran[name].error:
                failed = ran[name]
        pair = Pair(ran["bare"], ran["analyze"], ran.get("floor"))
        pairs.append(pair)
        if pair.failed:
            break
    return pairs


def run_script(script: str, name: str, path: Path, lines: int) -> Measurement:
    """``bench/<script> EXPORT`` as a measured child (the bare parse, the read floor)."""
    command = [sys.executable, str(ROOT / "bench" / script), str(path)]
    result = measure(command, OUT / f"{name}-{label(lines)}.log")
    if result.exit_code != 0 and not result.error:
        return _failed(result, f"exit {result.exit_code}")
    return result


run_bare = partial(run_script, "bare_parse.py", "bare")
run_floor = partial(run_script, "read_floor.py", "floor")


def run_analyze(path: Path, lines: int) -> Measurement:
    report = OUT / f"report-{label(lines)}.json"
    report.unlink(missing_ok=True)
    command = [
        str(BIN / "micro-gastown"),
        "analyze",
        "--source",
        f"file:{path}",
        "--output",
        str(report),
        "--format",
        "json",
    ]
    result = measure(command, OUT / f"analyze-{label(lines)}.log")
    if result.error:
        return result
    if not report.exists() or report.stat().st_size == 0:
        return _failed(result, f"exit {result.exit_code}, no report written to {report.name}")
    if result.exit_code not in (0, 1):  # 1 may mean "findings at the fail level"
        return _failed(result, f"exit {result.exit_code}")
    return result


def _failed(result: Measurement, why: str) -> Measurement:
    """Say why a run failed, with its last line of output and where the rest is."""
    lines = result.log.read_text(errors="replace").strip().splitlines()
    where = f"full output in {result.log.relative_to(ROOT)}"
    detail = f"{why}: {lines[-1].strip()} ({where})" if lines else f"{why} ({where})"
    return Measurement(result.wall_s, result.peak_rss_mb, result.exit_code, result.log, detail)


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report_size(lines: int, pairs: list[Pair]) -> list[str]:
    """One row per run of each command, then the median ratios against the targets."""
    rows = []
    for i, pair in enumerate(pairs, start=1):
        runs = [("bare parse", pair.bare), ("read floor", pair.floor), ("analyze", pair.analyze)]
        for name, result in runs:
            if result is None:
                continue
            if result.error:
                rows.append(f"{lines:>11,}  {name:<10} {i:>2}  FAILED: {result.error}")
                continue
            rows.append(
                f"{lines:>11,}  {name:<10} {i:>2}  {result.wall_s:>8.2f}  {result.cpu_s:>8.2f}  "
                f"{result.lines_per_s(lines):>12,.0f}  {result.peak_rss_mb:>8.1f}"
            )
    measured = [pair for pair in pairs if not pair.failed]
    if not measured:
        return rows
    wall = statistics.median(pair.wall_ratio for pair in measured)
    cpu = statistics.median(pair.cpu_ratio for pair in measured)
    rss = max(pair.analyze.peak_rss_mb for pair in measured)
    wall_ok = verdict(wall <= WALL_RATIO_TARGET)
    cpu_ok = verdict(cpu <= CPU_RATIO_TARGET)
    rows.append(
        f"{'':>11}  {'ratio':<10} {'':>2}  {wall:>8.2f}  {cpu:>8.2f}  median of {len(measured)} "
        f"pairs (analyze / bare): wall target <= {WALL_RATIO_TARGET} {wall_ok}, "
        f"CPU target <= {CPU_RATIO_TARGET} {cpu_ok}"
    )
    floors = [pair.floor_cpu_ratio for pair in measured if pair.floor is not None]
    if floors:
        rows.append(
            f"{'':>11}  {'floor':<10} {'':>2}  {'':>8}  {statistics.median(floors):>8.2f}  "
            "median CPU ratio of the read floor (read floor / bare): reading the export "
            "into typed events, before attribution, detectors and the report"
        )
    rows.append(
        f"{'':>11}  {'memory':<10} {'':>2}  analyze peaked at {rss:.1f} MB "
        f"(target <= {RSS_TARGET_MB:.0f} MB) {verdict(rss <= RSS_TARGET_MB)}"
    )
    return rows


FIXED_LINES = 100


def fixed_cost(runs: int) -> str:
    """What analyze costs whatever the export's size (start-up, imports, the report), as the
    median CPU of ``runs`` analyses of a tiny export: the part of each ratio that shrinks
    as exports grow."""
    path = ensure_export(FIXED_LINES)
    measured = [run_analyze(path, FIXED_LINES) for _ in range(max(runs, 1))]
    failed = next((run.error for run in measured if run.error), "")
    if failed:
        return f"fixed cost: FAILED: {failed}"
    cpu = statistics.median(run.cpu_s for run in measured)
    wall = statistics.median(run.wall_s for run in measured)
    return (
        f"fixed cost: analyze of a {FIXED_LINES}-line export takes {wall:.2f} s wall, {cpu:.2f} s "
        f"CPU (median of {len(measured)}): start-up, imports and the report, whatever the size"
    )


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        message = f"not a comma-separated list of integers: {text}"
        raise argparse.ArgumentTypeError(message) from None
    if not sizes or min(sizes) <= 0:
        raise argparse.ArgumentTypeError("sizes must be positive")
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default=[1_000_000, 5_000_000])
    parser.add_argument("--skip-5m", action="store_true", help="leave out the 5M-line size")
    parser.add_argument(
        "--keep", action="store_true", help="keep generated exports in bench/out for reuse"
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="pairs of runs; the median ratio counts"
    )
    parser.add_argument(
        "--no-floor",
        action="store_true",
        help="leave out the read floor (bench/read_floor.py) between each pair's two runs",
    )
    args = parser.parse_args(argv)
    # An installed wheel ships bytecode; an editable checkout under PYTHONDONTWRITEBYTECODE
    # would recompile every module on every run, which is not the analyzer's cost.
    compileall.compile_dir(ROOT / "src", quiet=1)
    sizes = [n for n in args.sizes if not (args.skip_5m and n == 5_000_000)]
    OUT.mkdir(parents=True, exist_ok=True)

    rows: list[str] = []
    fixed = ""
    try:
        fixed = fixed_cost(args.repeat)
        for lines in sizes:
            path = ensure_export(lines)
            warm_page_cache(path)
            print(
                f"measuring {lines:,} lines: bare parse, read floor and analyze, interleaved ...",
                flush=True,
            )
            pairs = paired_runs(
                args.repeat,
                partial(run_bare, path, lines),
                partial(run_analyze, path, lines),
                None if args.no_floor else partial(run_floor, path, lines),
            )
            rows.extend(report_size(lines, pairs))
    finally:
        if not args.keep:
            for path in OUT.glob("synthetic-*.jsonl*"):
                path.unlink()

    print()
    print(
        f"{'lines':>11}  {'run':<10} {'#':>2}  {'wall s':>8}  {'CPU s':>8}  {'lines/s':>12}  "
        f"{'RSS MB':>8}"
    )
    print("\n".join(rows))
    print(
        f"\ntargets: analyze <= {WALL_RATIO_TARGET}x the bare parse's wall time and <= "
        f"{CPU_RATIO_TARGET}x its CPU time (median of paired runs); peak RSS <= "
        f"{RSS_TARGET_MB:.0f} MB"
    )
    print(fixed)
    if not args.keep:
        print("exports deleted (use --keep to reuse them next time)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
