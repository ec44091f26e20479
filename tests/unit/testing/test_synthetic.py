"""The synthetic export generator: format, determinism and the injected patterns.

Statistics are recomputed here from the written bytes with a small independent reader
(attribution by span / session_id as in docs/events.md), never taken from the generator's own
counters, so a generator bug cannot hide behind its bookkeeping.
"""

from __future__ import annotations

import gzip
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from micro_gastown.report.model import Severity
from micro_gastown.testing.synthetic import (
    DEMO,
    HEALTHY,
    PAYMENT_TIMEOUT_TEMPLATE,
    SCHEMA_VALIDATION_TEMPLATE,
    ExpectedFinding,
    FindingType,
    GenerationStats,
    SyntheticExport,
    Tag,
    expected_findings,
    generate_export,
    main,
    manifest,
)

DEMO_LINES = 20_000
# Go's time.RFC3339Nano: the fraction has no trailing zeros and is absent when zero.
RFC3339NANO = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$")
KNOWN_TYPES = {"graph_transition", "llm_call", "effect_execution", "error", "user_action"}


def p95(values: list[int]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def template_of(message: str) -> str:
    masked = re.sub(r"'[^']*'|\"[^\"]*\"", "<*>", message)
    return re.sub(r"\d+", "<*>", masked)


@dataclass
class Observed:
    """What a careful reader sees in an export."""

    lines: int = 0
    outer_not_json: int = 0
    inner_not_json: int = 0
    unknown_type: int = 0
    malformed: int = 0
    unattributed: int = 0
    session_id_events: int = 0
    timestamps: list[bytes] = field(default_factory=list)
    ns_ties: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    edges: Counter[tuple[str, str]] = field(default_factory=Counter)
    edge_failures: Counter[tuple[str, str]] = field(default_factory=Counter)
    latency: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(list))
    prompt: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    completion: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    effects: Counter[tuple[str, bool]] = field(default_factory=Counter)
    templates: Counter[str] = field(default_factory=Counter)
    runs: set[str] = field(default_factory=set)
    session_runs: set[str] = field(default_factory=set)

    def failure_rate(self, effect_type: str) -> float:
        failed = self.effects[(effect_type, False)]
        return failed / (failed + self.effects[(effect_type, True)])


def _valid(event: dict[str, Any]) -> bool:
    kind = event["type"]
    if kind == "llm_call":
        fields: dict[str, type] = {"model": str, "prompt_tokens": int, "latency_ms": int}
        fields["completion_tokens"] = int
    elif kind == "effect_execution":
        fields = {"effect_type": str, "success": bool, "latency_ms": int}
    else:
        return True
    return all(type(event.get(name)) is expected for name, expected in fields.items())


def observe(raw: bytes) -> Observed:
    seen = Observed()
    current: dict[str, tuple[str, str]] = {}  # run key -> edge that entered the node
    failed: set[str] = set()  # runs whose current edge already counted a failure
    previous = b""
    for text in raw.splitlines():
        seen.lines += 1
        try:
            outer = orjson.loads(text)
        except orjson.JSONDecodeError:
            seen.outer_not_json += 1
            continue
        stamp = outer["timestamp"].encode()
        seen.timestamps.append(stamp)
        seen.ns_ties += stamp == previous
        previous = stamp
        try:
            event = orjson.loads(outer["line"])
        except orjson.JSONDecodeError:
            seen.inner_not_json += 1
            continue
        kind = event["type"]
        if kind not in KNOWN_TYPES:
            seen.unknown_type += 1
            continue
        if not _valid(event):
            seen.malformed += 1
            continue
        seen.by_type[kind] += 1
        run = outer["labels"].get("span") or event.get("session_id")
        if run is None:
            seen.unattributed += 1
            continue
        seen.runs.add(run)
        if "session_id" in event:
            seen.session_id_events += 1
            seen.session_runs.add(run)
        if kind == "graph_transition":
            edge = (event["from"], event["to"])
            seen.edges[edge] += 1
            current[run] = edge
            failed.discard(run)
            continue
        node = current[run][1]
        if kind == "llm_call":
            seen.latency[(node, event["model"])].append(event["latency_ms"])
            seen.prompt[node].append(event["prompt_tokens"])
            seen.completion[node].append(event["completion_tokens"])
        elif kind == "effect_execution":
            seen.effects[(event["effect_type"], event["success"])] += 1
        elif kind == "error":
            seen.templates[template_of(event["message"])] += 1
            if run not in failed:
                seen.edge_failures[current[run]] += 1
                failed.add(run)
    return seen


@pytest.fixture(scope="module")
def demo_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, GenerationStats]:
    path = tmp_path_factory.mktemp("synthetic") / "demo.jsonl"
    stats = generate_export(path, lines=DEMO_LINES, duration=DEMO.demo_duration)
    return path.read_bytes(), stats


@pytest.fixture(scope="module")
def demo(demo_export: tuple[bytes, GenerationStats]) -> Observed:
    return observe(demo_export[0])


def test_same_seed_gives_identical_bytes_plain_and_gz(tmp_path: Path) -> None:
    paths = [tmp_path / name for name in ("a.jsonl.gz", "b.jsonl.gz", "c.jsonl", "d.jsonl")]
    for path in paths:
        generate_export(path, lines=3000, seed=11)
    generate_export(tmp_path / "other.jsonl", lines=3000, seed=12)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[2].read_bytes() == paths[3].read_bytes()
    assert gzip.decompress(paths[0].read_bytes()) == paths[2].read_bytes()
    assert (tmp_path / "other.jsonl").read_bytes() != paths[2].read_bytes()


def test_exactly_the_requested_number_of_lines(tmp_path: Path) -> None:
    for lines in (0, 1, 99, 100, 2500):
        stats = generate_export(tmp_path / "n.jsonl", lines=lines)
        assert (tmp_path / "n.jsonl").read_bytes().count(b"\n") == lines == stats.lines


def test_every_line_is_logcli_jsonl_except_three_stray_lines(demo_export: Any) -> None:
    raw, _ = demo_export
    stray = 0
    for text in raw.splitlines():
        try:
            outer = orjson.loads(text)
        except orjson.JSONDecodeError:
            stray += 1
            continue
        assert list(outer) == ["labels", "line", "timestamp"]  # Go sorts map keys
        labels = outer["labels"]
        assert labels["job"] == "exomonad-native"
        assert labels["service_name"] == "exomonad"
        assert labels["detected_level"] in {"info", "error"}
        assert list(labels) == sorted(labels)
        assert isinstance(outer["line"], str)
        assert RFC3339NANO.match(outer["timestamp"].encode()), outer["timestamp"]
        if "event_type" in labels and outer["line"].startswith("{") and "span" in labels:
            event = orjson.loads(outer["line"])
            assert event["type"] == labels["event_type"]
            assert (labels["detected_level"] == "error") == (event["type"] == "error")
    assert stray == 3  # logcli's query URL and "Common labels" on stderr, one cut line


def test_timestamps_never_go_backwards_and_some_share_a_nanosecond(demo: Observed) -> None:
    keys = [
        (stamp[:19], int((stamp[20:-1] if len(stamp) > 20 else b"0").ljust(9, b"0")))
        for stamp in demo.timestamps
    ]
    assert keys == sorted(keys)
    assert demo.ns_ties > 20
    assert demo.timestamps[0] == b"2026-11-21T10:00:00Z"


def test_runs_interleave(demo_export: Any) -> None:
    raw, _ = demo_export
    active: set[str] = set()
    most = 0
    for text in raw.splitlines()[2:]:
        try:
            outer = orjson.loads(text)
            event = orjson.loads(outer["line"])
        except orjson.JSONDecodeError:
            continue
        span = outer["labels"].get("span")
        if span is None or event.get("type") != "graph_transition":
            continue
        if event["from"] == "entry":
            active.add(span)
        elif event["to"] == "exit":
            active.discard(span)
        most = max(most, len(active))
    assert most >= 5


def test_slow_llm_nodes(demo: Observed) -> None:
    assert 6500 <= p95(demo.latency[("summarize", "claude-haiku-4-5")]) <= 8000
    assert 2600 <= p95(demo.latency[("classify", "claude-haiku-4-5")]) <= 3500
    assert p95(demo.latency[("answerFaq", "claude-haiku-4-5")]) <= 1500
    assert p95(demo.latency[("escalate", "claude-sonnet-4-5")]) <= 1500
    assert set(demo.latency) == {
        ("summarize", "claude-haiku-4-5"),
        ("classify", "claude-haiku-4-5"),
        ("answerFaq", "claude-haiku-4-5"),
        ("escalate", "claude-sonnet-4-5"),
    }


def test_token_bloat_only_in_answer_faq(demo: Observed) -> None:
    for node, prompts in demo.prompt.items():
        ratios = [p / c for p, c in zip(prompts, demo.completion[node], strict=True)]
        if node == "answerFaq":
            assert 11_000 <= p95(prompts) <= 13_000
            assert all(150 <= c <= 300 for c in demo.completion[node])
            assert sorted(ratios)[len(ratios) // 2] >= 40
        else:
            assert max(prompts) <= 3000, node
            assert max(ratios) <= 15, node


def test_routes_dead_and_underused_edges(demo: Observed) -> None:
    route_exits = demo.edges[("route", "answerFaq")] + demo.edges[("route", "refund")]
    assert demo.edges[("classify", "route")] >= 100
    assert demo.edges[("route", "escalate")] == 0
    assert 0.55 <= demo.edges[("route", "answerFaq")] / route_exits <= 0.65
    refund_exits = demo.edges[("refund", "summarize")] + demo.edges[("refund", "escalate")]
    assert 1 <= demo.edges[("refund", "escalate")] <= 0.01 * refund_exits
    assert demo.edges[("escalate", "summarize")] == demo.edges[("refund", "escalate")]


def test_refund_failures(demo: Observed) -> None:
    refunds = demo.edges[("route", "refund")]
    assert 0.15 <= demo.edge_failures[("route", "refund")] / refunds <= 0.30
    assert 0.15 <= demo.failure_rate("PaymentApi") <= 0.30
    assert demo.failure_rate("Http") <= 0.005
    assert demo.failure_rate("Cache") <= 0.005
    # the schema errors in classify stay under the 5% warning rate for entry -> classify
    entries = demo.edges[("entry", "classify")]
    assert 0.01 <= demo.edge_failures[("entry", "classify")] / entries <= 0.03
    assert set(demo.edge_failures) == {("route", "refund"), ("entry", "classify")}


def test_repeated_error_counts_at_demo_size(demo: Observed) -> None:
    assert demo.templates[PAYMENT_TIMEOUT_TEMPLATE] >= 100
    assert 10 <= demo.templates[SCHEMA_VALIDATION_TEMPLATE] <= 99
    assert set(demo.templates) == {PAYMENT_TIMEOUT_TEMPLATE, SCHEMA_VALIDATION_TEMPLATE}


def test_noise_is_present_in_the_stated_proportions(
    demo: Observed, demo_export: tuple[bytes, GenerationStats]
) -> None:
    raw, _ = demo_export
    lines = demo.lines
    assert 0.006 <= demo.inner_not_json / lines <= 0.014
    assert 0.003 <= demo.unknown_type / lines <= 0.008
    assert 0.002 <= demo.malformed / lines <= 0.008
    assert 0.006 <= demo.unattributed / lines <= 0.02
    assert 0.015 <= len(demo.session_runs) / len(demo.runs) <= 0.045
    assert demo.by_type["user_action"] > 0.02 * lines
    assert b"s3cr3tpw@pay.example" in raw
    assert raw.count(b"ghp_") == 2  # the fake token, in one-off errors only
    assert b"\\u0026 rising" in raw  # Go escapes & inside JSON strings


def test_one_off_and_unattributed_errors_never_repeat_ten_times(
    demo_export: tuple[bytes, GenerationStats],
) -> None:
    raw, _ = demo_export
    unattributed: Counter[str] = Counter()
    for text in raw.splitlines():
        if b'"event_type":"error"' in text and b'"span"' not in text and b"session_id" not in text:
            unattributed[template_of(orjson.loads(orjson.loads(text)["line"])["message"])] += 1
    assert 1 <= sum(unattributed.values()) <= 9


def test_generator_counters_match_the_file(
    demo: Observed, demo_export: tuple[bytes, GenerationStats]
) -> None:
    _, stats = demo_export
    assert stats.injected[Tag.OUTER_NOT_JSON] == demo.outer_not_json
    assert stats.injected[Tag.NON_JSON_LINE] == demo.inner_not_json
    assert stats.injected[Tag.UNKNOWN_TYPE] == demo.unknown_type
    assert stats.transitions["route->refund"] == demo.edges[("route", "refund")]
    assert stats.injected[Tag.PAYMENT_TIMEOUT] == demo.templates[PAYMENT_TIMEOUT_TEMPLATE]
    line_kinds = (
        Tag.OUTER_NOT_JSON,
        Tag.ONE_OFF_ERROR,
        Tag.NON_JSON_LINE,
        Tag.UNKNOWN_TYPE,
        Tag.UNATTRIBUTED,
    )
    noise_lines = sum(stats.injected[tag] for tag in line_kinds)
    assert sum(stats.events_by_type.values()) + noise_lines == stats.lines


def test_demo_manifest_lists_the_injected_patterns(demo_export: Any) -> None:
    _, stats = demo_export
    found = {(f.type, tuple(sorted(f.key.items())), f.severity) for f in expected_findings()}
    assert found == {
        (FindingType.SLOW_LLM, (("model", "claude-haiku-4-5"), ("node", "summarize")), "critical"),
        (FindingType.SLOW_LLM, (("model", "claude-haiku-4-5"), ("node", "classify")), "warning"),
        (FindingType.TOKEN_BLOAT, (("node", "answerFaq"),), "warning"),
        (FindingType.FAILED_TRANSITION, (("from", "route"), ("to", "refund")), "critical"),
        (FindingType.EFFECT_FAILURE, (("effect_type", "PaymentApi"),), "critical"),
        (FindingType.REPEATED_ERROR, (("template", PAYMENT_TIMEOUT_TEMPLATE),), "critical"),
        (FindingType.REPEATED_ERROR, (("template", SCHEMA_VALIDATION_TEMPLATE),), "warning"),
        (FindingType.DEAD_PATH, (("from", "route"), ("to", "escalate")), "warning"),
        (FindingType.DEAD_PATH, (("from", "refund"), ("to", "escalate")), "info"),
    }
    assert expected_findings(DEMO, stats) == expected_findings(DEMO)


def test_repeated_error_severity_follows_actual_counts(tmp_path: Path) -> None:
    stats = generate_export(tmp_path / "small.jsonl", lines=5000)
    repeated = {
        f.key["template"]: f.severity
        for f in expected_findings(DEMO, stats)
        if f.type is FindingType.REPEATED_ERROR
    }
    assert repeated[PAYMENT_TIMEOUT_TEMPLATE] is Severity.WARNING
    assert SCHEMA_VALIDATION_TEMPLATE not in repeated or stats.injected[Tag.SCHEMA_VALIDATION] >= 10


def test_healthy_scenario_expects_nothing(tmp_path: Path) -> None:
    stats = generate_export(tmp_path / "ok.jsonl", lines=5000, scenario=HEALTHY)
    assert expected_findings(HEALTHY, stats) == []
    seen = observe((tmp_path / "ok.jsonl").read_bytes())
    assert seen.edges[("route", "escalate")] > 0
    assert p95(seen.latency[("summarize", "claude-haiku-4-5")]) < 2000


def test_patterns_hold_at_five_thousand_lines(tmp_path: Path) -> None:
    for seed in (1, 2, 3):
        stats = generate_export(tmp_path / "s.jsonl", lines=5000, seed=seed)
        seen = observe((tmp_path / "s.jsonl").read_bytes())
        assert p95(seen.latency[("summarize", "claude-haiku-4-5")]) > 5000
        assert 2000 < p95(seen.latency[("classify", "claude-haiku-4-5")]) < 5000
        assert 0.15 <= seen.failure_rate("PaymentApi") <= 0.30
        assert seen.edges[("refund", "escalate")] >= 1
        assert seen.edges[("route", "escalate")] == 0
        assert stats.lines == seen.lines


def test_export_covers_about_the_requested_duration() -> None:
    export = SyntheticExport(lines=20_000, duration=timedelta(hours=2))
    for _ in export:
        pass
    assert export.stats.last_timestamp.startswith("2026-11-21T1")  # within 10:00 .. 12:xx
    hours = int(export.stats.last_timestamp[11:13]) + int(export.stats.last_timestamp[14:16]) / 60
    assert 11.7 <= hours <= 12.3


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="lines"):
        SyntheticExport(lines=-1)
    with pytest.raises(ValueError, match="duration"):
        SyntheticExport(lines=1, duration=timedelta(0))


def test_command_line_writes_export_and_manifest(tmp_path: Path) -> None:
    out, manifest_path = tmp_path / "x.jsonl.gz", tmp_path / "expected.json"
    assert main([str(out), "--lines", "2000", "--seed", "3", "--manifest", str(manifest_path)]) == 0
    assert gzip.decompress(out.read_bytes()).count(b"\n") == 2000
    document = orjson.loads(manifest_path.read_bytes())
    assert document["lines"] == 2000
    assert document["seed"] == 3
    assert {"type", "key", "severity"} <= set(document["findings"][0])


def test_committed_demo_is_what_its_documented_command_writes(tmp_path: Path) -> None:
    """examples/logs is regenerated by the README command; a generator change that alters
    the bytes must regenerate it (and bump GENERATOR_VERSION)."""
    logs = Path(__file__).resolve().parents[3] / "examples" / "logs"
    out, expected = tmp_path / "demo.jsonl.gz", tmp_path / "expected.json"
    arguments = ["--lines", "20000", "--seed", "7", "--duration", "1h"]
    assert main([str(out), *arguments, "--manifest", str(expected)]) == 0
    assert out.read_bytes() == (logs / "exomonad-sample.jsonl.gz").read_bytes()
    committed = orjson.loads((logs / "expected-findings.json").read_bytes())
    regenerated = orjson.loads(expected.read_bytes())
    assert committed.pop("command").endswith(
        " ".join(arguments) + " --manifest examples/logs/expected-findings.json"
    )
    regenerated.pop("command")
    assert committed == regenerated


def test_manifest_document_shape() -> None:
    stats = GenerationStats(lines=10)
    document = manifest(DEMO, stats, seed=7, command="cmd")
    assert document["scenario"] == "demo"
    first = document["findings"][0]
    assert ExpectedFinding(
        FindingType(first["type"]), first["key"], Severity(first["severity"])
    ) in expected_findings(DEMO, stats)
