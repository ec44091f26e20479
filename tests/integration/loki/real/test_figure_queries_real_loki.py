"""Issue 14, item 2: each finding's LogQL, run over the finding's window, gives its figure.

An export analyzed from the file (the local figures), then pushed into the real Loki 3.4.6
and into lokisim: each metric finding's ``grafana_query``, evaluated as an instant query at
the end of the analysis window (its range is the window), gives the number the finding
states: slow_llm's ``p95_ms``, token_bloat's ``prompt_tokens_p95``, effect_failure's
executions by outcome. Real Loki keeps a fresh server's data for ~2.5 h only, so the export
sits in the last two hours.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from micro_gastown.sources.loki.client import LokiClient
from micro_gastown.sources.loki.config import LokiConfig
from micro_gastown.sources.loki.selection import vector
from realloki import RealLoki

from factories import Export, analyze, push_export
from lokisim import LokiSim

MINUTE_NS = 60 * 1_000_000_000
LATENCIES = (120, 800, 2500, 3100, 4000, 5200, 6100, 7000, 9000, 12_000, 300, 2600)
PROMPTS = (900, 12_000, 15_000, 9_500, 11_000, 30_000, 8_200, 14_400, 10_100, 13_000, 800, 9_999)


def _export() -> Export:
    exp = Export(start_ns=time.time_ns() - 100 * MINUTE_NS)
    for i in range(24):
        span = f"s{i}"
        exp.transition(span, "route", "summarize")
        exp.llm(
            span, latency=LATENCIES[i % 12] + i, prompt=PROMPTS[i % 12] + 7 * i,
            completion=50, fields={"node": "summarize"},
        )  # fmt: skip
        exp.effect(span, "http_fetch", success=i % 3 != 0, latency=40)
        exp.tick(60_000)
    return exp


def _answers(url: str, tenant: str | None, queries: dict[str, str], at: int) -> dict[str, Any]:
    config = LokiConfig(url=url, org_id=tenant)
    with LokiClient(config) as client:
        return {
            kind: sorted(
                (tuple(sorted(labels.items())), value)
                for labels, value in vector(client.query(query, at))
            )
            for kind, query in queries.items()
        }


def test_each_metric_findings_logql_gives_its_figure(tmp_path: Path, real_loki: RealLoki) -> None:
    exp = _export()
    path = exp.write(tmp_path / "export.jsonl")
    report = analyze(exp, tmp_path)  # the same file: analyze writes it there
    by_type = {p.type.value: p for p in report.patterns}
    assert {"slow_llm", "token_bloat", "effect_failure"} <= set(by_type)
    kinds = ("slow_llm", "token_bloat", "effect_failure")
    queries = {kind: by_type[kind].grafana_query for kind in kinds}
    assert all(q and "$__range" not in q for q in queries.values())

    loki = real_loki.fresh_tenant()
    first_ns, last_ns = push_export(loki, path)  # the window: [first, last + 1ns)
    with LokiSim() as sim:
        push_export(sim, path)
        simulated = _answers(sim.url, None, queries, last_ns)
    real = _answers(loki.url, loki.tenant, queries, last_ns)
    assert real == simulated

    slow, bloat, effects = by_type["slow_llm"], by_type["token_bloat"], by_type["effect_failure"]
    [(_, p95)] = real["slow_llm"]
    assert round(p95, 2) == slow.details["p95_ms"]  # the report rounds to 2 decimals
    [(_, prompt_p95)] = real["token_bloat"]
    assert round(prompt_p95, 2) == bloat.details["prompt_tokens_p95"]
    outcomes = {dict(labels)["success"]: value for labels, value in real["effect_failure"]}
    assert outcomes == {"false": 8, "true": 16}
    assert effects.details["executions"] == 24
    assert first_ns < last_ns
