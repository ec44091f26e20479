"""Push-down's exemplar reads keep the window's earliest lines, as a raw scan does, even
where Loki's answer to a limited query is not its first lines (over an hour boundary its
frontend merges split answers out of order; see ``sources.loki.frontend``)."""

from __future__ import annotations

import time

from micro_gastown.analysis.pushdown.queries import WindowQueries
from micro_gastown.logql import LogQL
from micro_gastown.sources.loki import LokiClient, LokiSource, RetryPolicy
from micro_gastown.timewindow import TimeWindow
from realloki import LokiServer

SEC = 10**9
MINUTE = 60 * SEC
HOUR = 60 * MINUTE
SELECTOR = '{job="exomonad-native"}'
FAST = RetryPolicy(budget_s=3.0, initial_backoff_s=0.01, max_backoff_s=0.05, jitter_s=0.01)


def test_the_first_lines_of_a_window_over_an_hour_boundary_are_the_earliest(
    loki_server: LokiServer,
) -> None:
    hour = (time.time_ns() - 5 * MINUTE) // HOUR * HOUR
    streams = {
        "p": [(hour - 30 * SEC, "p-30s")],
        "s": [(hour + i * SEC, f"s+{i}s") for i in (1, 2, 3)],
        "r": [(hour + 10 * SEC, "r+10s")],
    }
    for name, entries in streams.items():
        loki_server.push({"job": "exomonad-native", "stream": name}, entries)
    with LokiClient(loki_server.config(retry=FAST)) as client:
        window = TimeWindow(hour - MINUTE, hour + MINUTE)
        queries = WindowQueries(LokiSource(client, SELECTOR), window, LogQL(SELECTOR))
        first = queries.lines(SELECTOR, 4)
    assert [line for _, line, _ in first] == ["p-30s", "s+1s", "s+2s", "s+3s"]
    assert first[3][2] == {"job": "exomonad-native", "stream": "s"}
    assert queries.raw_lines == 4
