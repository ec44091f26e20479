"""Loki's answer shapes, pinned as vcrpy cassettes recorded from lokisim.

One cassette (``tests/data/cassettes/loki/<shape>.yaml``) per answer shape LokiClient
reads: streams, matrix, vector (count and unwrapped quantile), labels, label values,
series, patterns and a plain-text 400. Three guards:

* replay: each cassette goes through LokiClient (``record_mode="none"``, matched on
  method + path + query) and the parsed result is asserted, and every recorded
  interaction must have been played;
* no drift: each recorded request is sent to a fresh lokisim seeded the same way, and
  its answer must equal the cassette's byte for byte;
* determinism: recording again gives the committed YAML byte for byte (fixed data, a
  frozen clock, a fixed host instead of the ephemeral port, volatile headers dropped).

Re-record after a deliberate change of lokisim's answers (then review the YAML diff)::

    MG_RECORD_CASSETTES=1 .venv/bin/pytest tests/integration/loki/test_loki_response_shapes.py
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import vcr  # type: ignore[import-untyped]
import yaml  # type: ignore[import-untyped]

from micro_gastown.errors import LokiQueryError
from micro_gastown.sources.loki import (
    LogPattern,
    LokiClient,
    LokiConfig,
    ResultType,
    RetryPolicy,
    Stream,
)

from cassettes import scrubbers
from lokisim import LokiSim
from lokisim.client import request as sim_request
from lokisim.clock import MINUTE, NOW, SECOND, T0

CASSETTES = Path(__file__).resolve().parents[2] / "data" / "cassettes" / "loki"
RECORD = os.environ.get("MG_RECORD_CASSETTES") == "1"
REPLAY_URL = "http://lokisim.test"  # stands in for the sim's ephemeral port in cassettes
KEPT_REQUEST_HEADERS = ("accept",)
KEPT_RESPONSE_HEADERS = ("content-type", "content-length")
RETRY = RetryPolicy(budget_s=1.0, initial_backoff_s=0.01, max_backoff_s=0.05, jitter_s=0.0)

# -- the seeded data: fixed instants, frozen clock ----------------------------------------

A = T0 + 40 * SECOND  # minute-aligned: 60 s steps and pattern buckets start here
S = A // SECOND  # A as Prometheus-style unix seconds
NOW_S = NOW // SECOND
LLM_LABELS = {"job": "exomonad-native", "event_type": "llm_call", "span": "s1"}
ERROR_LABELS = {"job": "exomonad-native", "event_type": "error", "span": "s1"}
LLM_LINES = [
    (A, '{"type":"llm_call","node":"classify","model":"m-fast","latency_ms":800}'),
    (A + 10 * SECOND, '{"type":"llm_call","node":"classify","model":"m-fast","latency_ms":1200}'),
    (A + 70 * SECOND, '{"type":"llm_call","node":"plan","model":"m-big","latency_ms":4200}'),
    (A + 130 * SECOND, '{"type":"llm_call","node":"plan","model":"m-big","latency_ms":5100}'),
]
ERROR_LINES = [(A + 75 * SECOND, '{"type":"error","node":"plan","message":"timeout after 30s"}')]
SELECTOR = '{job="exomonad-native"}'
LLM = '{job="exomonad-native", event_type="llm_call"}'


def seeded_sim() -> LokiSim:
    """A Loki 3 with the pattern ingester, the data above and "now" frozen at NOW."""
    sim = LokiSim(clock=NOW, patterns=True)
    sim.push(LLM_LABELS, LLM_LINES)
    sim.push(ERROR_LABELS, ERROR_LINES)
    return sim


# -- the shapes: one client call each, and what it must parse into ------------------------


def _rejected(client: LokiClient) -> str:
    with pytest.raises(LokiQueryError) as caught:
        client.query_range('{job="exomonad-native"', T0, NOW, limit=100)
    return caught.value.loki_message


def _metric(result_type: ResultType) -> Callable[[Any], list[Any]]:
    def check(result: Any) -> list[Any]:
        assert result.result_type is result_type
        return list(result.result)

    return check


@dataclass(frozen=True)
class Shape:
    name: str
    call: Callable[[LokiClient], Any]
    expected: Any


SHAPES = [
    Shape(
        "query_range_streams",
        lambda c: c.query_range(LLM, T0, NOW, limit=100, direction="forward").streams(),
        [Stream(LLM_LABELS, LLM_LINES)],
    ),
    Shape(
        "query_range_matrix",
        lambda c: _metric(ResultType.MATRIX)(
            c.query_range(
                f"sum by (node) (count_over_time({SELECTOR} | json [1m]))",
                A,
                A + 3 * MINUTE,
                limit=100,
                step="60s",
            )
        ),
        [
            {"metric": {"node": "classify"}, "values": [[S, "1"], [S + 60, "1"]]},
            {"metric": {"node": "plan"}, "values": [[S + 120, "2"], [S + 180, "1"]]},
        ],
    ),
    Shape(
        "query_vector_count",
        lambda c: _metric(ResultType.VECTOR)(
            c.query(f"sum by (model) (count_over_time({LLM} | json [1h]))", NOW)
        ),
        [
            {"metric": {"model": "m-big"}, "value": [NOW_S, "2"]},
            {"metric": {"model": "m-fast"}, "value": [NOW_S, "2"]},
        ],
    ),
    Shape(
        "query_vector_quantile",
        lambda c: _metric(ResultType.VECTOR)(
            c.query(
                f"quantile_over_time(0.95, {LLM} | json | unwrap latency_ms [1h]) by (model)",
                NOW,
            )
        ),
        [  # Prometheus interpolates: 4200 + 0.95 * 900, 800 + 0.95 * 400
            {"metric": {"model": "m-big"}, "value": [NOW_S, "5055"]},
            {"metric": {"model": "m-fast"}, "value": [NOW_S, "1180"]},
        ],
    ),
    Shape("labels", lambda c: c.labels(T0, NOW), ["event_type", "job", "span"]),
    Shape(
        "label_values",
        lambda c: c.label_values("event_type", T0, NOW),
        ["error", "llm_call"],
    ),
    Shape("series", lambda c: c.series(SELECTOR, T0, NOW), [ERROR_LABELS, LLM_LABELS]),
    Shape(
        "patterns",
        lambda c: c.patterns(SELECTOR, T0, NOW, step="60s"),
        [
            LogPattern(
                '{"type":"llm_call","node":"classify","model":"m-fast","latency_ms":<_>}',
                [(A, 2)],
            ),
            LogPattern(
                '{"type":"llm_call","node":"plan","model":"m-big","latency_ms":<_>}',
                [(A + MINUTE, 1), (A + 2 * MINUTE, 1)],
            ),
            LogPattern('{"type":"error","node":"plan","message":<_>}', [(A + MINUTE, 1)]),
        ],
    ),
    Shape(
        "error_400",
        _rejected,
        "parse error at line 1, col 23: syntax error: unexpected $end, expecting } or ,",
    ),
]
SHAPE_IDS = [shape.name for shape in SHAPES]


# -- recording and replaying ------------------------------------------------------------


_scrub_request, _scrub_response = scrubbers(REPLAY_URL, KEPT_REQUEST_HEADERS, KEPT_RESPONSE_HEADERS)


RECORDER = vcr.VCR(
    serializer="yaml",
    match_on=("method", "path", "query"),
    before_record_request=_scrub_request,
    before_record_response=_scrub_response,
)


def cassette_path(shape: Shape) -> Path:
    return CASSETTES / f"{shape.name}.yaml"


def record(shape: Shape, path: Path) -> Any:
    """Run ``shape`` against a freshly seeded lokisim, writing its cassette to ``path``."""
    path.unlink(missing_ok=True)
    with (
        seeded_sim() as sim,
        LokiClient(LokiConfig(url=sim.url, retry=RETRY)) as client,
        RECORDER.use_cassette(str(path), record_mode="all"),
    ):
        parsed = shape.call(client)
        assert not sim.errors, "\n".join(sim.errors)
    return parsed


def interactions(path: Path) -> list[dict[str, Any]]:
    """The cassette's request/response pairs, read as plain YAML."""
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return list(loaded["interactions"])


# -- the tests ----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_cassette_replays_through_the_client(shape: Shape) -> None:
    path = cassette_path(shape)
    if RECORD:
        assert record(shape, path) == shape.expected
    with (
        LokiClient(LokiConfig(url=REPLAY_URL, retry=RETRY)) as client,
        RECORDER.use_cassette(str(path), record_mode="none") as cassette,
    ):
        assert len(cassette) > 0, f"{path} holds no interaction"
        assert shape.call(client) == shape.expected
    assert cassette.all_played, f"{path}: {len(cassette) - cassette.play_count} never played"


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_lokisim_still_answers_what_the_cassette_pins(shape: Shape) -> None:
    with seeded_sim() as sim:
        for interaction in interactions(cassette_path(shape)):
            asked, pinned = interaction["request"], interaction["response"]
            parts = urlsplit(asked["uri"])
            target = sim.url + parts.path + (f"?{parts.query}" if parts.query else "")
            got = sim_request(asked["method"], target)
            assert got.status == pinned["status"]["code"]
            pinned_type = {k.lower(): v for k, v in pinned["headers"].items()}["content-type"]
            assert [got.headers["content-type"]] == pinned_type
            assert got.text == pinned["body"]["string"], f"lokisim drifted from {asked['uri']}"
        assert not sim.errors, "\n".join(sim.errors)


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_recording_again_reproduces_the_cassette(shape: Shape, tmp_path: Path) -> None:
    again = tmp_path / "again.yaml"
    assert record(shape, again) == shape.expected
    assert again.read_text(encoding="utf-8") == cassette_path(shape).read_text(encoding="utf-8")


def test_every_cassette_belongs_to_a_shape() -> None:
    on_disk = {path.stem for path in CASSETTES.glob("*.yaml")}
    assert on_disk == set(SHAPE_IDS)
