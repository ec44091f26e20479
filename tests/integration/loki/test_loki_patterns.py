"""LokiClient.patterns against LokiSim's pattern ingester over a real socket.

Pins what a client of Loki 3's ``/loki/api/v1/patterns`` sees: templates with ``<_>``
merged across streams, most lines first, ``[seconds, count]`` samples read back as
nanoseconds, the ~3 h retention, and the 404/400 answers mapped to errors that say what
to do.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from micro_gastown.errors import LokiError, LokiNotFoundError, LokiQueryError
from micro_gastown.sources.loki import LogPattern, LokiClient, LokiConfig, RetryPolicy

from lokisim import LokiSim, Patterns
from lokisim.clock import HOUR, MINUTE, NOW, SECOND, T0

FAST = RetryPolicy(budget_s=3.0, initial_backoff_s=0.01, max_backoff_s=0.05, jitter_s=0.01)
SELECTOR = '{job="exomonad-native"}'
A = T0 + 40 * SECOND  # minute-aligned, so 60 s buckets start exactly here
LLM = '{"type":"llm_call","node":"classify","model":"m1","latency_ms":%d}'
LLM_PATTERN = '{"type":"llm_call","node":"classify","model":"m1","latency_ms":<_>}'
ERROR_PATTERN = '{"type":"error","node":"classify","message":<_>}'


@pytest.fixture
def loki() -> Iterator[LokiSim]:
    with LokiSim(clock=NOW, patterns=True) as sim:
        sim.push(
            {"job": "exomonad-native", "span": "s1"},
            [
                (A, LLM % 1200),
                (A + 5 * SECOND, LLM % 950),
                (A + 20 * SECOND, '{"type":"error","node":"classify","message":"timeout 30s"}'),
                (A + 65 * SECOND, LLM % 3100),
            ],
        )
        sim.push({"job": "exomonad-native", "span": "s2"}, [(A + 70 * SECOND, LLM % 40)])
        sim.push({"job": "other"}, [(A, "not selected 1")])
        yield sim
        assert not sim.errors, "\n".join(sim.errors)


def make_client(loki: LokiSim) -> LokiClient:
    return LokiClient(LokiConfig(url=loki.url, retry=FAST))


def test_templates_merge_across_streams_with_counts_per_step(loki: LokiSim) -> None:
    with make_client(loki) as client:
        patterns = client.patterns(SELECTOR, T0, NOW, step="60s")
    assert patterns == [
        LogPattern(LLM_PATTERN, [(A, 2), (A + MINUTE, 2)]),
        LogPattern(ERROR_PATTERN, [(A, 1)]),
    ]
    assert [p.total for p in patterns] == [4, 1]
    assert loki.requests[-1].params["step"] == ["60s"]


def test_default_step_is_lokis_250_points_over_the_window(loki: LokiSim) -> None:
    window = 250 * MINUTE  # Loki's default step for this window is exactly one minute
    with make_client(loki) as client:
        patterns = client.patterns(SELECTOR, NOW - window, NOW)
    assert "step" not in loki.requests[-1].params
    assert patterns[0] == LogPattern(LLM_PATTERN, [(A, 2), (A + MINUTE, 2)])


def test_only_the_retention_window_yields_patterns(loki: LokiSim) -> None:
    hour = NOW - 800 * SECOND  # hour-aligned
    loki.push({"job": "exomonad-native", "span": "s3"}, [(hour - 4 * HOUR, "msg=old 7")])
    with make_client(loki) as client:
        window = (NOW - 5 * HOUR, NOW)
        recent = client.patterns(SELECTOR, *window, step="1h")
        assert "msg=old <_>" not in [p.pattern for p in recent]  # older than now - 3h

        loki.patterns.retention_ns = 5 * HOUR  # as with pattern persistence on
        longer = client.patterns(SELECTOR, *window, step="1h")
    assert LogPattern("msg=old <_>", [(hour - 4 * HOUR, 1)]) in longer
    assert {p.pattern for p in longer} - {p.pattern for p in recent} == {"msg=old <_>"}


def test_without_the_pattern_ingester_404_says_patterns_are_optional() -> None:
    with LokiSim(clock=NOW, patterns=Patterns(enabled=False)) as sim, make_client(sim) as client:
        with pytest.raises(LokiNotFoundError) as caught:
            client.patterns(SELECTOR, T0, NOW)
        assert len(sim.requests) == 1  # a 404 is not retried
    message = str(caught.value)
    assert "optional" in message
    assert "pattern_ingester.enabled" in message
    assert "/loki/api/v1/patterns" in message


@pytest.mark.parametrize(
    ("selector", "loki_says"),
    [
        (SELECTOR + ' |= "error"', "only label matchers is supported"),
        ('{job="exomonad-native"', "parse error"),
    ],
)
def test_400_keeps_lokis_text(loki: LokiSim, selector: str, loki_says: str) -> None:
    with make_client(loki) as client, pytest.raises(LokiQueryError) as caught:
        client.patterns(selector, T0, NOW)
    assert loki_says in caught.value.loki_message
    assert caught.value.loki_message in str(caught.value)
    assert selector in str(caught.value)
    assert len(loki.requests) == 1


def test_malformed_answer_is_a_loki_error() -> None:
    body = b'{"status":"success","data":[{"pattern":"x <_>"}]}'  # no samples
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    config = LokiConfig(url="http://loki.invalid", retry=FAST)
    with (
        LokiClient(config, transport=transport) as client,
        pytest.raises(LokiError, match="patterns"),
    ):
        client.patterns(SELECTOR, T0, NOW)
