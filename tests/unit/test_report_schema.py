"""schemas/PatternReport.json: generated from the models, upstream-compatible, additive only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from micro_gastown.report.fingerprint import fingerprint
from micro_gastown.report.model import PatternType
from micro_gastown.report.schema import pattern_report_schema, render_schema

from factories import Export, analyze

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "schemas" / "PatternReport.json"
UPSTREAM = json.loads((ROOT / "tests/data/upstream/PatternReport.upstream.json").read_text())


def _report(tmp_path: Path) -> dict[str, Any]:
    exp = Export()
    for i in range(20):
        exp.transition(f"s{i}", "route", "refund")
        exp.llm(f"s{i}", latency=6000, prompt=9000)
        exp.error(f"s{i}", f"payment gateway timeout after {i} ms")
    return json.loads(analyze(exp, tmp_path).to_json())


def test_committed_schema_equals_generated() -> None:
    """Run `python -m micro_gastown.report.schema` after changing the report models."""
    assert COMMITTED.read_bytes() == render_schema()


def test_schema_is_a_valid_draft07_document() -> None:
    schema = pattern_report_schema()
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert "$defs" in schema
    jsonschema.Draft7Validator.check_schema(schema)


def test_real_report_validates_against_ours_and_upstream(tmp_path: Path) -> None:
    report = _report(tmp_path)
    assert {p["type"] for p in report["patterns"]} >= {"slow_llm", "failed_transition"}
    jsonschema.Draft7Validator(pattern_report_schema()).validate(report)
    upstream_types = set(UPSTREAM["$defs"]["Pattern"]["properties"]["type"]["enum"])
    report["patterns"] = [p for p in report["patterns"] if p["type"] in upstream_types]
    jsonschema.Draft7Validator(UPSTREAM).validate(report)


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref:
        return dict(schema["$defs"][ref.rsplit("/", 1)[-1]])
    return node


@pytest.mark.parametrize("definition", ["Pattern", "Summary"])
def test_extensions_are_additive(definition: str) -> None:
    """Every upstream field exists with the same type and is required iff upstream requires it;
    enums only grow."""
    ours = pattern_report_schema()
    upstream_def = UPSTREAM["$defs"][definition]
    our_def = ours["$defs"][definition]
    assert set(upstream_def["required"]) == set(our_def["required"])
    for name, spec in upstream_def["properties"].items():
        mine = _resolve(ours, our_def["properties"][name])
        assert mine.get("type") == spec["type"], name
        if "enum" in spec:
            assert set(spec["enum"]) <= set(mine["enum"]), name
        if "pattern" in spec:
            assert mine["pattern"] == spec["pattern"]
        if "maxItems" in spec:
            assert mine["maxItems"] == spec["maxItems"]
    assert set(ours["required"]) == set(UPSTREAM["required"])


def test_ids_are_stable_fingerprints_of_type_and_key() -> None:
    a = fingerprint(PatternType.SLOW_LLM, {"node": "summarize", "model": "m"})
    assert a == fingerprint(PatternType.SLOW_LLM, {"node": "summarize", "model": "m"})
    assert a != fingerprint(PatternType.SLOW_LLM, {"node": "summarize", "model": "n"})
    assert a != fingerprint(PatternType.TOKEN_BLOAT, {"node": "summarize", "model": "m"})
    assert a.startswith("slow-llm-summarize-m-")
    weird = fingerprint(PatternType.REPEATED_ERROR, {"template": "Ünïcode <*> / ☃" * 20})
    assert weird.replace("-", "").isalnum()
    assert weird == weird.lower()


def test_ids_do_not_depend_on_counts_or_time(tmp_path: Path) -> None:
    first = {p["id"] for p in _report(tmp_path)["patterns"]}
    exp = Export(start_ns=2_000_000_000_000_000_000)
    for i in range(50):
        exp.transition(f"x{i}", "route", "refund")
        exp.llm(f"x{i}", latency=7000, prompt=9500)
        exp.error(f"x{i}", f"payment gateway timeout after {i * 7} ms")
    second = {p["id"] for p in json.loads(analyze(exp, tmp_path).to_json())["patterns"]}
    assert first == second
