"""LokiConfig: env names from sleeptime-logs and logcli, validation, secret-free repr."""

from __future__ import annotations

import pytest

from micro_gastown.errors import ConfigError
from micro_gastown.sources.loki import LokiConfig


def test_defaults_point_at_a_local_loki() -> None:
    config = LokiConfig.from_env({})
    assert config.base_url == "http://localhost:3100"
    assert (config.batch_size, config.timeout_s, config.verify_tls) == (5000, 30.0, True)
    assert (config.username, config.bearer_token, config.org_id) == (None, None, None)


def test_sleeptime_logs_names_win_over_logcli_names() -> None:
    config = LokiConfig.from_env(
        {
            "GRAFANA_LOKI_URL": "https://logs.example",
            "LOKI_ADDR": "http://other:3100",
            "GRAFANA_LOKI_USER": "12345",
            "GRAFANA_LOKI_TOKEN": "glc_secret",
            "LOKI_USERNAME": "u",
            "LOKI_PASSWORD": "p",
            "LOKI_ORG_ID": "tenant-a",
        }
    )
    assert config.base_url == "https://logs.example"
    assert (config.username, config.password, config.org_id) == ("12345", "glc_secret", "tenant-a")


def test_logcli_names_and_bearer() -> None:
    config = LokiConfig.from_env({"LOKI_ADDR": "http://loki:3100/", "LOKI_BEARER_TOKEN": "tok"})
    assert config.base_url == "http://loki:3100"
    assert config.bearer_token == "tok"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"GRAFANA_LOKI_USER": "u"}, "GRAFANA_LOKI_TOKEN"),
        ({"LOKI_PASSWORD": "p"}, "LOKI_USERNAME"),
        ({"LOKI_ADDR": "ftp://x"}, "LOKI_ADDR"),
        ({"GRAFANA_LOKI_URL": "https://u:p@host"}, "GRAFANA_LOKI_URL"),
        ({"LOKI_USERNAME": "u", "LOKI_PASSWORD": "p", "LOKI_BEARER_TOKEN": "t"}, "LOKI_BEARER"),
        ({"LOKI_TLS_SKIP_VERIFY": "maybe"}, "LOKI_TLS_SKIP_VERIFY"),
        ({"LOKI_CA_CERT_PATH": "/nonexistent/ca.pem"}, "LOKI_CA_CERT_PATH"),
    ],
)
def test_env_errors_name_the_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        LokiConfig.from_env(environ)


@pytest.mark.parametrize("size", [0, 5001, -1])
def test_batch_size_must_fit_lokis_entry_limit(size: int) -> None:
    with pytest.raises(ConfigError, match="batch_size"):
        LokiConfig(batch_size=size)


def test_repr_and_str_hide_password_and_token() -> None:
    basic = LokiConfig(username="inst", password="hunter2-secret")
    bearer = LokiConfig(bearer_token="bearer-secret")
    for text in (repr(basic), str(basic), repr(bearer), str(bearer)):
        assert "hunter2-secret" not in text
        assert "bearer-secret" not in text
    assert "password=<set>" in repr(basic)
    assert "username='inst'" in repr(basic)
    assert "bearer_token=<set>" in repr(bearer)


def test_concurrency_defaults_to_two_and_reads_its_variable() -> None:
    assert LokiConfig.from_env({}).concurrency == 2
    assert LokiConfig.from_env({"MICRO_GASTOWN_LOKI_CONCURRENCY": " 5 "}).concurrency == 5
    assert LokiConfig.from_env({"MICRO_GASTOWN_LOKI_CONCURRENCY": ""}).concurrency == 2
    assert "concurrency=5" in repr(LokiConfig(concurrency=5))


@pytest.mark.parametrize("raw", ["0", "9", "-1", "two", "1.5"])
def test_bad_concurrency_names_the_variable_and_the_range(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"MICRO_GASTOWN_LOKI_CONCURRENCY=.*1 to 8"):
        LokiConfig.from_env({"MICRO_GASTOWN_LOKI_CONCURRENCY": raw})


@pytest.mark.parametrize("value", [0, 9])
def test_concurrency_must_be_one_to_eight(value: int) -> None:
    with pytest.raises(ConfigError, match="concurrency"):
        LokiConfig(concurrency=value)
