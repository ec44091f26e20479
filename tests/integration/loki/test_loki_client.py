"""LokiClient against a real local LokiSim: auth, error mapping, retries, counters."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from micro_gastown.errors import (
    LokiAuthError,
    LokiError,
    LokiNotFoundError,
    LokiQueryError,
    LokiUnavailableError,
)
from micro_gastown.sources.loki import LokiClient, LokiConfig, ResultType, RetryPolicy
from realloki import LokiServer

from lokisim import Auth, Fault, LokiSim

T0 = 1_763_000_000 * 10**9
SEC = 10**9
SELECTOR = '{job="exomonad-native"}'
QUERY_RANGE = "/loki/api/v1/query_range"
FAST = RetryPolicy(budget_s=3.0, initial_backoff_s=0.01, max_backoff_s=0.05, jitter_s=0.01)


def make_client(loki: LokiSim, **settings: Any) -> LokiClient:
    settings.setdefault("retry", FAST)
    return LokiClient(LokiConfig(url=loki.url, **settings))


@pytest.fixture
def loki() -> Iterator[LokiSim]:
    with LokiSim() as sim:
        sim.push(
            {"job": "exomonad-native", "event_type": "llm_call"},
            [(T0 + i, f"l{i}") for i in range(5)],
        )
        yield sim
        assert not sim.errors, "\n".join(sim.errors)


def read(client: LokiClient, base: int = T0) -> list[tuple[int, str]]:
    result = client.query_range(SELECTOR, base, base + SEC, limit=100)
    return [value for stream in result.streams() for value in stream.values]


# -- what Loki answers: lokisim and the real Loki ------------------------------------


@pytest.fixture
def pushed(loki_server: LokiServer) -> tuple[LokiServer, int]:
    """Five lines a nanosecond apart, a quarter of an hour ago, in lokisim or real Loki."""
    base = (time.time_ns() - 15 * 60 * SEC) // SEC * SEC
    loki_server.push(
        {"job": "exomonad-native", "event_type": "llm_call"},
        [(base + i, f"l{i}") for i in range(5)],
    )
    return loki_server, base


def test_query_range_labels_series_and_counters(pushed: tuple[LokiServer, int]) -> None:
    server, base = pushed
    with LokiClient(server.config(retry=FAST)) as client:
        assert read(client, base) == [(base + i, f"l{i}") for i in range(5)]
        assert client.labels(base, base + SEC) == ["event_type", "job"]
        assert client.label_values("event_type", base, base + SEC) == ["llm_call"]
        assert client.series(SELECTOR, base, base + SEC) == [
            {"event_type": "llm_call", "job": "exomonad-native"}
        ]
        assert client.requests == 4
        assert client.bytes_received > 0


def test_metric_queries_give_matrix_and_vector(pushed: tuple[LokiServer, int]) -> None:
    server, base = pushed
    with LokiClient(server.config(retry=FAST)) as client:
        metric = f"sum(count_over_time({SELECTOR}[1s]))"
        matrix = client.query_range(metric, base, base + SEC, limit=100, step="1s")
        vector = client.query(metric, base + 5)
    assert matrix.result_type is ResultType.MATRIX
    assert vector.result_type is ResultType.VECTOR
    assert vector.result[0]["value"][1] == "5"


def test_404_points_at_the_url_or_prefix(pushed: tuple[LokiServer, int]) -> None:
    server, base = pushed
    config = server.config(path_prefix="/nope", retry=FAST)
    with LokiClient(config) as client, pytest.raises(LokiNotFoundError, match=r"path\s+prefix"):
        read(client, base)


def test_400_keeps_lokis_text_and_is_not_retried(pushed: tuple[LokiServer, int]) -> None:
    server, base = pushed
    with LokiClient(server.config(retry=FAST)) as client:
        with pytest.raises(LokiQueryError) as caught:
            client.query_range('{job="exomonad-native"', base, base + SEC, limit=10)
        assert client.requests == 1
    assert "parse error" in caught.value.loki_message
    assert caught.value.loki_message in str(caught.value)


# -- auth, faults and addresses: lokisim (or no server) -------------------------------


@pytest.mark.parametrize(
    ("auth", "settings"),
    [
        (Auth(basic=("inst", "pw-secret")), {"username": "inst", "password": "pw-secret"}),
        (Auth(bearer="tok-secret"), {"bearer_token": "tok-secret"}),
        (Auth(org_id="tenant-a"), {"org_id": "tenant-a"}),
    ],
)
def test_each_auth_mode_is_accepted(loki: LokiSim, auth: Auth, settings: dict[str, str]) -> None:
    loki.auth = auth
    with make_client(loki, **settings) as client:
        assert len(read(client)) == 5


@pytest.mark.parametrize(
    ("auth", "settings", "hint"),
    [
        (
            Auth(basic=("inst", "right")),
            {"username": "inst", "password": "wrong-pw"},
            "GRAFANA_LOKI_USER",
        ),
        (Auth(bearer="right"), {"bearer_token": "wrong-token"}, "LOKI_BEARER_TOKEN"),
        (Auth(org_id=True), {}, "LOKI_ORG_ID"),
    ],
)
def test_401_names_the_setting_and_hides_the_secret(
    loki: LokiSim, auth: Auth, settings: dict[str, str], hint: str
) -> None:
    loki.auth = auth
    with make_client(loki, **settings) as client, pytest.raises(LokiAuthError) as caught:
        read(client)
    message = str(caught.value)
    assert hint in message
    assert "401" in message
    assert "wrong-pw" not in message
    assert "wrong-token" not in message
    assert len(loki.requests) == 1  # auth failures are not retried


def test_path_prefix_reaches_a_proxied_loki() -> None:
    with LokiSim(path_prefix="/loki-proxy") as sim:
        sim.push({"job": "exomonad-native"}, [(T0, "x")])
        with LokiClient(
            LokiConfig(url=f"http://127.0.0.1:{sim.port}", path_prefix="loki-proxy")
        ) as client:
            assert read(client) == [(T0, "x")]


def test_429_honours_retry_after_then_succeeds(loki: LokiSim) -> None:
    loki.faults.queue(Fault.status(429, retry_after="1"), path=QUERY_RANGE)
    with make_client(loki) as client:
        started = time.monotonic()
        assert len(read(client)) == 5
        assert time.monotonic() - started >= 1.0
        assert client.requests == 2
    assert loki.faults.pending == 0


@pytest.mark.parametrize("code", [408, 500, 502, 503, 504])
def test_transient_statuses_are_retried(loki: LokiSim, code: int) -> None:
    loki.faults.queue(Fault.status(code), path=QUERY_RANGE, times=2)
    with make_client(loki) as client:
        assert len(read(client)) == 5
        assert client.requests == 3


@pytest.mark.parametrize("fault", [Fault.truncate(), Fault.reset()], ids=["truncate", "reset"])
def test_cut_bodies_and_resets_are_retried(loki: LokiSim, fault: Fault) -> None:
    loki.faults.queue(fault, path=QUERY_RANGE)
    with make_client(loki) as client:
        assert len(read(client)) == 5
        assert client.requests == 2


def test_a_slow_answer_from_a_loki_that_answered_before_is_retried_once(loki: LokiSim) -> None:
    with make_client(loki, timeout_s=0.2) as client:
        assert len(read(client)) == 5  # this Loki answers
        loki.faults.queue(Fault.delay(0.5), path=QUERY_RANGE)
        assert len(read(client)) == 5
        assert client.requests == 3
        loki.faults.queue(Fault.delay(0.5), path=QUERY_RANGE, times=2)
        with pytest.raises(LokiUnavailableError, match=r"no answer within 0\.2 s"):
            read(client)
        assert client.requests == 5  # one retry, not the 3 s budget's worth


def test_a_server_that_accepts_and_never_answers_costs_one_timeout(loki: LokiSim) -> None:
    """Before, it was retried for the whole budget (61 s with the defaults) and said only
    "timed out"; now one read timeout, then a message that says what happened."""
    loki.faults.queue(Fault.delay(60), times=10)  # ends when the sim stops
    started = time.monotonic()
    with make_client(loki, timeout_s=0.3) as client, pytest.raises(LokiUnavailableError) as caught:
        read(client)
    assert time.monotonic() - started < 3  # not the 3 s budget
    assert client.requests == 1
    message = str(caught.value)
    assert message.startswith(f"cannot reach Loki at {loki.url}: no answer within 0.3 s")
    assert "GRAFANA_LOKI_URL or LOKI_ADDR" in message


def test_no_attempt_outlasts_the_retry_budget(loki: LokiSim) -> None:
    """The retry's timeout is cut to what is left of the budget: a call ends with it."""
    budget = RetryPolicy(budget_s=1.0, initial_backoff_s=0.01, max_backoff_s=0.01, jitter_s=0)
    with make_client(loki, timeout_s=0.8, retry=budget) as client:
        read(client)
        loki.faults.queue(Fault.delay(60), path=QUERY_RANGE, times=2)
        with pytest.raises(LokiUnavailableError) as caught:
            read(client)
    waited = re.search(r"no answer within ([0-9.]+) s", str(caught.value))
    assert waited is not None, str(caught.value)
    assert float(waited.group(1)) < 0.8  # the second attempt got the budget's remainder
    assert "retry budget 1s" in str(caught.value)


def test_budget_exhausted_names_query_and_window_not_password(loki: LokiSim) -> None:
    loki.auth = Auth(basic=("inst", "pw-secret-123"))
    loki.faults.queue(Fault.status(503), path=QUERY_RANGE, times=1000)
    budget = RetryPolicy(budget_s=0.3, initial_backoff_s=0.01, max_backoff_s=0.05, jitter_s=0.01)
    with make_client(loki, username="inst", password="pw-secret-123", retry=budget) as client:
        with pytest.raises(LokiUnavailableError) as caught:
            read(client)
        assert client.requests >= 2
    message = str(caught.value)
    assert SELECTOR in message
    assert "2025-11-13T02:13:20.000000000Z" in message  # the window's start
    assert "503" in message
    assert "pw-secret-123" not in message
    loki.faults.clear()


def test_retry_after_beyond_the_budget_gives_up_at_once(loki: LokiSim) -> None:
    loki.faults.queue(Fault.status(429, retry_after="30"), path=QUERY_RANGE)
    with make_client(loki) as client, pytest.raises(LokiUnavailableError, match="429"):
        read(client)
    assert len(loki.requests) == 1


def test_connection_refused_is_unavailable() -> None:
    with LokiSim() as sim:
        url = sim.url
    budget = RetryPolicy(budget_s=0.2, initial_backoff_s=0.01, max_backoff_s=0.02, jitter_s=0.0)
    client = LokiClient(LokiConfig(url=url, retry=budget))
    with client, pytest.raises(LokiUnavailableError, match="ConnectError"):
        read(client)


# -- a wrong address fails fast -------------------------------------------------------

PATIENT = RetryPolicy(budget_s=5.0, initial_backoff_s=0.01, max_backoff_s=0.02, jitter_s=0.0)


def closed_port_url() -> str:
    with LokiSim() as sim:
        return sim.url  # nothing listens there once the sim has stopped


@pytest.mark.parametrize(
    "settings",
    [{"username": "inst", "password": "pw-secret-9"}, {"bearer_token": "tok-secret-9"}],
    ids=["basic", "bearer"],
)
def test_a_refused_address_fails_after_three_attempts_naming_the_setting(
    settings: dict[str, str],
) -> None:
    url = closed_port_url()
    client = LokiClient(LokiConfig(url=url, retry=PATIENT, **settings))
    with client, pytest.raises(LokiUnavailableError) as caught:
        read(client)
    assert client.requests == 3  # not the ~250 attempts the 5 s budget allows
    message = str(caught.value)
    assert url in message
    assert "GRAFANA_LOKI_URL" in message
    assert "LOKI_ADDR" in message
    assert "connection refused" in message
    assert "pw-secret-9" not in message
    assert "tok-secret-9" not in message


def test_an_unresolvable_host_fails_after_three_attempts() -> None:
    def no_such_host(request: httpx.Request) -> httpx.Response:
        error = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        raise httpx.ConnectError("[Errno -2] Name or service not known") from error

    config = LokiConfig(url="http://loki.invalid:3100", retry=PATIENT)
    client = LokiClient(config, transport=httpx.MockTransport(no_such_host))
    with client, pytest.raises(LokiUnavailableError) as caught:
        read(client)
    assert client.requests == 3
    assert "http://loki.invalid:3100" in str(caught.value)
    assert "does not resolve" in str(caught.value)
    assert "LOKI_ADDR" in str(caught.value)


@pytest.mark.parametrize(
    ("error", "needle"),
    [
        (httpx.LocalProtocolError("Illegal header value b'tok-secret-9\\n'"), "stray spaces"),
        (httpx.DecodingError("Error -3 while decompressing data"), "Content-Encoding"),
        (httpx.UnsupportedProtocol("Request URL has an unsupported protocol"), "unsupported"),
    ],
)
def test_an_httpx_error_no_retry_can_help_is_one_clear_loki_error(
    error: httpx.HTTPError, needle: str
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error

    config = LokiConfig(url="http://loki:3100", bearer_token="tok-secret-9", retry=PATIENT)
    client = LokiClient(config, transport=httpx.MockTransport(fail))
    with client, pytest.raises(LokiError) as caught:
        read(client)
    assert type(caught.value) is LokiError
    assert client.requests == 1  # not retried
    message = str(caught.value)
    assert message.startswith("cannot talk to Loki at http://loki:3100")
    assert needle in message
    assert "tok-secret-9" not in message


def test_refused_after_an_answer_is_transient_and_uses_the_budget() -> None:
    """Loki restarting mid-run refuses connections for a while: keep trying."""
    budget = RetryPolicy(budget_s=0.3, initial_backoff_s=0.01, max_backoff_s=0.02, jitter_s=0.0)
    with LokiSim() as sim:
        client = LokiClient(LokiConfig(url=sim.url, retry=budget))
        assert read(client) == []
    with client, pytest.raises(LokiUnavailableError) as caught:
        read(client)  # the sim is gone: its port refuses
    assert client.requests > 1 + 3
    assert "retry budget" in str(caught.value)
    assert "GRAFANA_LOKI_URL" not in str(caught.value)


def test_other_network_faults_before_any_answer_still_use_the_budget(loki: LokiSim) -> None:
    """Only a wrong address is cut short: resets from a live Loki are retried as before."""
    loki.faults.queue(Fault.reset(), path=QUERY_RANGE, times=4)
    with make_client(loki) as client:
        assert len(read(client)) == 5
        assert client.requests == 5


# -- a server that is not Loki --------------------------------------------------------

HTML = "<!doctype html><html><head><title>Grafana</title></head><body>…</body></html>"


def test_a_200_that_is_not_json_is_retried_once_then_named_as_not_loki(loki: LokiSim) -> None:
    """Before: retried like a network blip, 11 times over a minute, then "unavailable"."""
    loki.faults.queue(Fault.status(200, body=HTML), times=20)
    with make_client(loki, retry=PATIENT) as client, pytest.raises(LokiError) as caught:
        read(client)
    assert type(caught.value) is LokiError
    assert client.requests == 2  # one retry, in case the body was cut short
    message = str(caught.value)
    assert message.startswith(
        f"the server at {loki.url} answered 200 with a body that is not Loki JSON "
        "(it begins '<!doctype html>"
    )
    assert "is the URL a Loki?" in message
    assert "LOKI_ADDR" in message
    loki.faults.clear()


def test_a_200_cut_short_once_is_read_on_the_retry(loki: LokiSim) -> None:
    loki.faults.queue(Fault.status(200, body='{"status":"succ'), path=QUERY_RANGE)
    with make_client(loki, retry=PATIENT) as client:
        assert len(read(client)) == 5
        assert client.requests == 2


def test_json_that_is_not_lokis_envelope_is_not_retried(loki: LokiSim) -> None:
    loki.faults.queue(Fault.status(200, body='{"hello": "world"}'), times=5)
    with make_client(loki, retry=PATIENT) as client, pytest.raises(LokiError) as caught:
        read(client)
    assert client.requests == 1
    assert 'not Loki JSON (it begins \'{"hello": "world"}\')' in str(caught.value)
    loki.faults.clear()


# -- secrets in the URL's query string ------------------------------------------------


def test_a_token_in_the_url_is_sent_but_never_printed(loki: LokiSim) -> None:
    loki.auth = Auth(bearer="right-token")
    url = f"{loki.url}/?token=s3cr3t-query-token&tenant=acme-corp"
    client = LokiClient(LokiConfig(url=url, retry=FAST))
    with client, pytest.raises(LokiAuthError) as caught:
        read(client)
    assert loki.requests[0].params["token"] == ["s3cr3t-query-token"]  # sent with the query
    assert loki.requests[0].path == QUERY_RANGE
    masked = f"{loki.url}?token=<redacted>&tenant=<redacted>"
    assert client.describe() == f"loki:{masked}"
    message = str(caught.value)
    assert masked in message
    assert "s3cr3t-query-token" not in message
    assert "acme-corp" not in message


def test_a_token_in_the_url_of_an_unreachable_loki_is_masked() -> None:
    url = closed_port_url() + "/?api_key=s3cr3t-query-token"
    client = LokiClient(LokiConfig(url=url, retry=PATIENT))
    with client, pytest.raises(LokiUnavailableError) as caught:
        read(client)
    assert "api_key=<redacted>" in str(caught.value)
    assert "s3cr3t-query-token" not in str(caught.value)


def test_a_query_too_long_for_a_url_is_a_loki_error(loki: LokiSim) -> None:
    """A URL over httpx's 64 KiB is refused before it is sent: a LokiError saying so, not a
    traceback from the HTTP library."""
    selector = '{job="exomonad-native"} |= `' + "x" * 70_000 + "`"
    with make_client(loki) as client, pytest.raises(LokiError, match="cannot send the query"):
        client.query(selector, 10**18)
