"""The rollback watcher's counts, asked of the real Loki and of lokisim: the same numbers,
and the ones the lines say.

The watcher counts a window ``[start, end)`` with one instant query, ``sum(count_over_time(
<log query> [range]))`` at ``end - 1ns`` (``watch/counting.py``), using the log queries the
detectors record in a PR (``failed executions of http_fetch``, all its executions) and the
overall error rate's. Real Loki keeps a fresh server's data in its ingesters for the last
~2.5 h only, so the windows here are minutes long, placed within that: what is measured is
the query shape and the window's edges (a line at ``start`` counts, one at ``end`` does
not), the same whatever the window's length.
"""

from __future__ import annotations

import time

from micro_gastown.logql import LogQL
from micro_gastown.sources.loki.client import LokiClient
from micro_gastown.sources.loki.config import LokiConfig
from micro_gastown.watch.counting import LokiCounter, error_measure, recorded_measure
from micro_gastown.watch.looks import Window
from realloki import RealLoki
from rollbackworld import record

from lokisim import LokiSim

MINUTE_NS = 60 * 1_000_000_000
EFFECTS = {"job": "exomonad-native", "event_type": "effect_execution"}
ERRORS = {"job": "exomonad-native", "event_type": "error"}


def _line(ok: bool) -> str:
    outcome = "true" if ok else "false"
    return f'{{"type":"effect_execution","effect_type":"http_fetch","success":{outcome}}}'


def test_the_watchers_window_counts_match_real_loki(real_loki: RealLoki) -> None:
    start = (time.time_ns() - 90 * MINUTE_NS) // MINUTE_NS * MINUTE_NS
    end = start + 30 * MINUTE_NS
    failed_at = [start, start + 1, start + 7 * MINUTE_NS, end - 1, end, end + 1, start - 1]
    ok_at = [start + i * MINUTE_NS + 5 for i in range(40)]
    errors_at = [start - 1, start, end - 1, end]
    effects = sorted([(t, _line(False)) for t in failed_at] + [(t, _line(True)) for t in ok_at])
    errors = [(t, '{"type":"error","message":"upstream timeout"}') for t in errors_at]
    inside = Window(start, end)

    pattern = record().patterns[0]
    logql = LogQL()
    finding = recorded_measure(
        pattern.id, pattern.series_query, pattern.exposure_query, pattern.exposure_unit, logql
    )
    assert finding.why_not is None
    overall = error_measure(logql)

    def counts(config: LokiConfig) -> tuple[int, ...]:
        with LokiClient(config) as client:
            counter = LokiCounter(client, logql)
            f = counter.counts(finding, inside)
            o = counter.counts(overall, inside)
            return f.events, int(f.exposure), o.events, int(o.exposure)

    loki = real_loki.fresh_tenant()
    loki.push(EFFECTS, effects)
    loki.push(ERRORS, errors)
    real = counts(LokiConfig(url=loki.url, org_id=loki.tenant))
    with LokiSim() as sim:
        sim.push(EFFECTS, effects)
        sim.push(ERRORS, errors)
        simulated = counts(LokiConfig(url=sim.url))

    def within(times: list[int]) -> int:
        return sum(start <= t < end for t in times)

    ok_inside = within(ok_at)
    expected = (
        within(failed_at),
        within(failed_at) + ok_inside,
        within(errors_at),
        within(failed_at) + ok_inside + within(errors_at),
    )
    assert expected == (4, 34, 2, 36)  # the edges: start counts, end does not
    assert real == expected
    assert simulated == real
