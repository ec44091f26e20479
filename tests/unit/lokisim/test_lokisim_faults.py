"""Scripted faults reach the client as real socket-level behaviour, then service resumes."""

from __future__ import annotations

import http.client
import urllib.error

import pytest

from lokisim import Fault, LokiSim
from lokisim.client import get
from lokisim.clock import NOW, T0

QR = "/loki/api/v1/query_range"
PARAMS = {"query": '{job="exomonad-native"}', "start": T0, "end": NOW}


@pytest.fixture(autouse=True)
def data(loki: LokiSim) -> None:
    """One entry, so a normal answer has a non-trivial body."""
    loki.push({"job": "exomonad-native"}, [(T0 + 1, "x" * 200)])


def test_429_with_retry_after_then_normal_service(loki: LokiSim):
    loki.faults.queue(Fault.status(429, retry_after="2"))
    limited = get(loki.url + QR, PARAMS)
    assert limited.status == 429
    assert limited.headers["retry-after"] == "2"
    assert limited.text == "too many outstanding requests"
    assert get(loki.url + QR, PARAMS).status == 200
    assert loki.faults.pending == 0


@pytest.mark.parametrize("code", [500, 502, 503])
def test_server_errors(loki: LokiSim, code: int):
    loki.faults.queue(Fault.status(code))
    assert get(loki.url + QR, PARAMS).status == code


def test_faults_apply_to_matching_path_n_times_in_order(loki: LokiSim):
    loki.faults.queue(Fault.status(503), path=QR, times=2)
    loki.faults.queue(Fault.status(429), path=QR)
    assert get(loki.url + "/ready").status == 200  # other paths are untouched
    statuses = [get(loki.url + QR, PARAMS).status for _ in range(4)]
    assert statuses == [503, 503, 429, 200]


def test_delay_trips_client_timeout(loki: LokiSim):
    loki.faults.queue(Fault.delay(0.5))
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        get(loki.url + QR, PARAMS, timeout=0.1)


def test_short_delay_still_answers(loki: LokiSim):
    loki.faults.queue(Fault.delay(0.05))
    assert get(loki.url + QR, PARAMS, timeout=5).status == 200


def test_truncate_sends_partial_body(loki: LokiSim):
    full = get(loki.url + QR, PARAMS).body
    loki.faults.queue(Fault.truncate())
    with pytest.raises(http.client.IncompleteRead) as caught:
        get(loki.url + QR, PARAMS)
    assert caught.value.partial == full[: len(full) // 2]


def test_reset_closes_without_response(loki: LokiSim):
    loki.faults.queue(Fault.reset())
    with pytest.raises((ConnectionError, urllib.error.URLError, http.client.HTTPException)):
        get(loki.url + QR, PARAMS)
    assert get(loki.url + QR, PARAMS).status == 200


def test_requests_and_bytes_are_recorded(loki: LokiSim):
    response = get(loki.url + QR, PARAMS)
    assert loki.requests[-1] == (
        "GET",
        QR,
        {"query": ['{job="exomonad-native"}'], "start": [str(T0)], "end": [str(NOW)]},
    )
    assert loki.bytes_sent > len(response.body)


def test_invalid_fault_count_is_refused(loki: LokiSim):
    with pytest.raises(ValueError, match="times"):
        loki.faults.queue(Fault.reset(), times=0)


def test_keep_alive_connection_is_reused_and_stop_does_not_hang():
    """httpx keeps connections open; stop() must end idle keep-alive handlers."""
    sim = LokiSim(clock=NOW).start()
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    try:
        for _ in range(2):
            conn.request("GET", "/ready")
            with conn.getresponse() as response:
                assert response.read() == b"ready"
        assert len(sim.requests) == 2
        sim.stop()  # with the connection still open
    finally:
        conn.close()
        sim.stop()
