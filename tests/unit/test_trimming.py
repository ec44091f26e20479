"""analysis.trimming: events keep at most KEPT_CHARS of any string past parsing."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path
from typing import Any

import orjson
import pytest

from micro_gastown.analysis import scan, trimming
from micro_gastown.analysis.runner import AnalysisSettings, ScanPass, run_analysis
from micro_gastown.analysis.trimming import KEPT_CHARS, trimmed
from micro_gastown.events.model import ErrorEvent, LlmCall
from micro_gastown.evidence.redact import TRUNCATED
from micro_gastown.sources import FileSource
from micro_gastown.timewindow import TimeWindow

from factories import BASE_NS, Export

LONG = "x" * (KEPT_CHARS + 10)
CUT = "x" * KEPT_CHARS + TRUNCATED


def test_an_event_without_long_strings_is_returned_as_is() -> None:
    fields: dict[str, Any] = {"type": "error", "message": "boom", "context": {"a": [1, "b"]}}
    event = ErrorEvent(1, {}, fields, "s", None, "boom", fields["context"])
    assert trimmed(event) is event


def test_long_strings_are_cut_wherever_they_are() -> None:
    fields: dict[str, Any] = {
        "type": "error",
        "message": LONG,
        "context": {"payload": [1, LONG, {"deep": LONG}], LONG: "key too"},
    }
    event = ErrorEvent(1, {"span": "s"}, fields, "s", "n", LONG, fields["context"])
    cut = trimmed(event)
    assert isinstance(cut, ErrorEvent)
    assert cut.message == CUT
    assert cut.fields == {
        "type": "error",
        "message": CUT,
        "context": {"payload": [1, CUT, {"deep": CUT}], CUT: "key too"},
    }
    assert cut.context is cut.fields["context"]
    assert (cut.ts_ns, cut.labels, cut.scope, cut.node) == (1, {"span": "s"}, "s", "n")
    assert event.message == LONG  # the original is left alone


def test_other_events_keep_their_typed_values() -> None:
    fields: dict[str, Any] = {"type": "llm_call", "model": "m", "prompt": LONG}
    event = LlmCall(1, {}, fields, None, None, "m", 10, 2, 900)
    cut = trimmed(event)
    assert isinstance(cut, LlmCall)
    assert cut.fields["prompt"] == CUT
    assert (cut.model, cut.prompt_tokens, cut.latency_ms) == ("m", 10, 900)


def _long_errors(tmp_path: Path, count: int, size: int) -> Path:
    """``count`` errors of different templates, each with a ``size``-character payload
    (written one line at a time: the test process itself stays small)."""
    path = tmp_path / "export.jsonl"
    with path.open("wb") as out:
        for i in range(count):
            for k in range(3):
                exp = Export(start_ns=BASE_NS + (3 * i + k) * 1_000_000)
                payload = orjson.dumps({"dump": f"{i}:" + "y" * size}).decode()
                exp.error(f"s{i}", f"failure{' at stage' * i}: {payload}")  # i+2 tokens
                out.write(exp.lines[0] + b"\n")
    return path


def test_the_report_reads_as_if_nothing_was_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Samples are redacted down to a few KB anyway: cutting at KEPT_CHARS changes nothing."""
    path = _long_errors(tmp_path, 4, 200_000)

    def report() -> dict[str, Any]:
        analysis = run_analysis(FileSource(path), TimeWindow(), AnalysisSettings())
        document = orjson.loads(analysis.to_json())
        for key in ("generated_at", "query_duration_ms"):
            document["metadata"].pop(key)
        return dict(document)

    cut = report()
    monkeypatch.setattr(scan, "KEPT_CHARS", 10**9)
    monkeypatch.setattr(trimming, "KEPT_CHARS", 10**9)
    whole = report()
    assert cut == whole
    assert any(p["sample_events"] for p in cut["patterns"])


def test_samples_kept_by_detectors_do_not_grow_with_line_length(tmp_path: Path) -> None:
    """12 templates of 1 MB errors: what the scan keeps (samples, templates) stays small
    (it used to keep every sampled line whole: 12 MB and more here)."""
    path = _long_errors(tmp_path, 12, 1_000_000)
    gc.collect()
    tracemalloc.start()
    try:
        scan = ScanPass(AnalysisSettings(), None)
        scan.run(FileSource(path), TimeWindow())
        gc.collect()
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert scan.counts[ErrorEvent] == 36
    assert len(scan.context.error_templates.miner) == 12
    assert kept < 3 * 12 * 3 * KEPT_CHARS
