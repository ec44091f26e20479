"""LokiConfig: env names from sleeptime-logs and logcli, validation, secret-free repr."""

from __future__ import annotations

import pytest

from micro_gastown.cli import main
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


@pytest.mark.parametrize(
    ("environ", "named", "why"),
    [
        ({"LOKI_ADDR": "http://localhost:99999"}, "LOKI_ADDR", "Port out of range"),
        ({"GRAFANA_LOKI_URL": "http://loki:31OO"}, "GRAFANA_LOKI_URL", "Port could not be cast"),
        ({"LOKI_ADDR": "http://loki:0"}, "LOKI_ADDR", "port must be from 1 to 65535"),
        ({"LOKI_ADDR": "http://[::1:3100"}, "LOKI_ADDR", "not a usable URL"),
        ({"LOKI_ADDR": "http://lo ki:3100"}, "LOKI_ADDR", "must not contain spaces"),
    ],
)
def test_an_unusable_address_is_a_config_error_naming_the_variable(
    environ: dict[str, str], named: str, why: str
) -> None:
    """Before, port 99999 got as far as a request and was reported as "connection refused"."""
    with pytest.raises(ConfigError, match=named) as caught:
        LokiConfig.from_env(environ)
    assert why in str(caught.value)


def test_the_command_line_address_is_named_as_such() -> None:
    with pytest.raises(ConfigError) as caught:
        LokiConfig.from_env({"LOKI_ADDR": "http://fine:3100"}, url="http://127.0.0.1:99999")
    assert (caught.value.setting, caught.value.value) == ("source", "loki:http://127.0.0.1:99999")
    assert str(caught.value).startswith("source 'loki:http://127.0.0.1:99999': not a usable URL")
    # a broken variable the command line overrides does not matter
    assert LokiConfig.from_env({"LOKI_ADDR": "http://x:0"}, url="http://ok:3100").url == (
        "http://ok:3100"
    )


def test_analyze_refuses_a_bad_port_before_any_request(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["analyze", "--source", "loki:http://127.0.0.1:99999", "--since", "1h"])
    assert code == 2  # a ConfigError at setup, not a SourceError from a request
    err = capsys.readouterr().err
    assert "error: --source 'loki:http://127.0.0.1:99999': not a usable URL" in err
    assert "refused" not in err


def test_query_string_values_are_masked_everywhere_the_address_is_shown() -> None:
    config = LokiConfig(url="https://loki.example/?token=s3cr3t-query-token&orgId=1")
    assert config.base_url == "https://loki.example"
    assert config.url_params == (("token", "s3cr3t-query-token"), ("orgId", "1"))
    assert config.display_url == "https://loki.example?token=<redacted>&orgId=<redacted>"
    assert "s3cr3t-query-token" not in repr(config)
    assert config.secrets == ("s3cr3t-query-token",)  # "1" is no secret to scrub
    with pytest.raises(ConfigError) as caught:
        LokiConfig.from_env({"LOKI_ADDR": "ftp://loki/?token=s3cr3t-query-token"})
    assert "s3cr3t-query-token" not in str(caught.value)
    assert "token=<redacted>" in str(caught.value)
    with pytest.raises(ConfigError) as caught:  # not even a URL: still masked
        LokiConfig.from_env({"LOKI_ADDR": "http://[::1:3100/?token=s3cr3t-query-token"})
    assert "s3cr3t-query-token" not in str(caught.value)
    assert "'http://[::1:3100/?<redacted>'" in str(caught.value)
