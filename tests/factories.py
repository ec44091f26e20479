"""Factories for log exports: build logcli JSONL lines event by event, in tests.

Tests describe the events they need (``exp.transition("s1", "route", "refund")``) and get a
real export file, read back through the same FileSource users run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from micro_gastown.timewindow import format_ns

BASE_NS = 1_763_683_200_000_000_000  # 2025-11-21T00:00:00Z


class Export:
    """An in-memory list of export lines with a clock that ticks 1 ms per event."""

    def __init__(self, start_ns: int = BASE_NS, job: str = "exomonad-native") -> None:
        self.lines: list[bytes] = []
        self.now = start_ns
        self.job = job

    def tick(self, ms: int = 1) -> int:
        self.now += ms * 1_000_000
        return self.now

    def raw(
        self,
        line: str,
        *,
        span: str | None = None,
        event_type: str = "x",
        ts: int | None = None,
        extra_labels: dict[str, str] | None = None,
    ) -> Export:
        labels = {"job": self.job, "event_type": event_type}
        if span is not None:
            labels["span"] = span
        labels.update(extra_labels or {})
        stamp = ts if ts is not None else self.tick()
        record = {"labels": labels, "line": line, "timestamp": format_ns(stamp)}
        self.lines.append(orjson.dumps(record))
        return self

    def event(
        self,
        fields: dict[str, Any],
        *,
        span: str | None = None,
        ts: int | None = None,
        extra_labels: dict[str, str] | None = None,
    ) -> Export:
        return self.raw(
            orjson.dumps(fields).decode(),
            span=span,
            event_type=str(fields.get("type", "unknown")),
            ts=ts,
            extra_labels=extra_labels,
        )

    def transition(self, span: str | None, source: str, target: str, **kw: Any) -> Export:
        fields = {"type": "graph_transition", "from": source, "to": target, "trigger": "next"}
        fields.update(kw.pop("fields", {}))
        return self.event(fields, span=span, **kw)

    def llm(
        self,
        span: str | None,
        *,
        latency: int = 500,
        prompt: int = 1000,
        completion: int = 100,
        model: str = "claude-haiku-4-5",
        **kw: Any,
    ) -> Export:
        fields = {
            "type": "llm_call",
            "model": model,
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "latency_ms": latency,
        }
        fields.update(kw.pop("fields", {}))
        return self.event(fields, span=span, **kw)

    def effect(
        self,
        span: str | None,
        effect_type: str,
        *,
        success: bool = True,
        latency: int = 50,
        **kw: Any,
    ) -> Export:
        fields = {
            "type": "effect_execution",
            "effect_type": effect_type,
            "success": success,
            "latency_ms": latency,
        }
        return self.event(fields, span=span, **kw)

    def error(self, span: str | None, message: str, context: Any = None, **kw: Any) -> Export:
        fields = {"type": "error", "message": message, "context": context}
        fields.update(kw.pop("fields", {}))
        return self.event(fields, span=span, **kw)

    def write(self, path: Path) -> Path:
        path.write_bytes(b"\n".join(self.lines) + b"\n")
        return path


def small_export(path: Path) -> Path:
    """Twenty sessions through route -> refund with slow LLM calls, every other one failing
    with a payment-gateway timeout: a small export with findings of several kinds."""
    exp = Export()
    for i in range(20):
        exp.transition(f"s{i}", "route", "refund")
        exp.llm(f"s{i}", latency=6000)
        if i % 2:
            exp.error(f"s{i}", f"payment gateway timeout after {i} ms")
    return exp.write(path)


def analyze(
    export: Export,
    tmp_path: Path,
    *,
    dsl: Any = None,
    **thresholds: Any,
) -> Any:
    """Write ``export`` to a file and run the real analysis over it (returns PatternReport)."""
    from micro_gastown.analysis.runner import AnalysisSettings, run_analysis
    from micro_gastown.sources import FileSource
    from micro_gastown.thresholds import Thresholds
    from micro_gastown.timewindow import TimeWindow

    path = export.write(tmp_path / "export.jsonl")
    settings = AnalysisSettings(thresholds=Thresholds().with_overrides(thresholds))
    return run_analysis(FileSource(path), TimeWindow(), settings, dsl)


def patterns_of(report: Any, kind: str) -> list[Any]:
    return [p for p in report.patterns if p.type.value == kind]


def push_export(loki: Any, path: Path) -> tuple[int, int]:
    """Push a logcli export into a LokiSim, stream by stream, as Loki would have stored it.

    Reads with the product's own FileSource, so the pushed entries are exactly those an
    analysis of the file sees. Returns the first and last timestamps (ns).
    """
    from micro_gastown.events.skips import SkipCounter
    from micro_gastown.sources import FileSource
    from micro_gastown.timewindow import TimeWindow

    streams: dict[tuple[tuple[str, str], ...], list[tuple[int, str]]] = {}
    first, last = 1 << 80, 0
    for ts, line, labels in FileSource(path).entries(TimeWindow(), SkipCounter()):
        streams.setdefault(tuple(sorted(labels.items())), []).append((ts, line))
        first, last = min(first, ts), max(last, ts)
    for labels, entries in streams.items():
        loki.push(dict(labels), entries)
    return first, last


def shifted_export(source: Path, target: Path, *, last_ns: int) -> Path:
    """``source`` (a logcli export, ``.gz`` or not) moved in time so its last entry is at
    ``last_ns``; lines that are not entries are copied as they are.

    A real Loki serves only recent entries (see ``realloki``): the committed examples,
    recorded on a fixed day, are moved to the last hours before they are pushed there.
    """
    import gzip

    from micro_gastown.timewindow import parse_rfc3339_ns

    raw = source.read_bytes()
    lines = (gzip.decompress(raw) if source.suffix == ".gz" else raw).splitlines()
    records: list[tuple[int, dict[str, Any]] | bytes] = []
    for line in lines:
        try:
            record = orjson.loads(line)
            records.append((parse_rfc3339_ns(record["timestamp"]), record))
        except (orjson.JSONDecodeError, TypeError, KeyError, ValueError):
            records.append(line)
    offset = last_ns - max(ts for ts, _ in (r for r in records if isinstance(r, tuple)))
    out: list[bytes] = []
    for item in records:
        if isinstance(item, bytes):
            out.append(item)
            continue
        ts, record = item
        record["timestamp"] = format_ns(ts + offset)
        out.append(orjson.dumps(record))
    target.write_bytes(b"\n".join(out) + b"\n")
    return target
