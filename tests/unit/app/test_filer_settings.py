"""The filer's settings: a flag over the environment over the defaults; a bad value names the
variable (or setting) it came from; the token never shows."""

from __future__ import annotations

import pytest

from micro_gastown.app.filer_settings import CommitVia, FilerSettings, resolve_filer_settings
from micro_gastown.errors import UsageError

TOKEN = "ghp_S3cretT0kenValue0123456789abcdefABCD"


def test_defaults() -> None:
    settings = resolve_filer_settings({}, {})
    assert settings.github_token is None
    assert settings.github_api_url == "https://api.github.com"
    assert settings.commit_via is CommitVia.GIT
    assert (settings.max_open, settings.max_new, settings.watch_days) == (3, 1, 7)


def test_actions_variables_are_read_as_they_are() -> None:
    settings = resolve_filer_settings(
        {},
        {
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_REPOSITORY": "acme/agents",
            "GITHUB_API_URL": "https://ghe.example.com/api/v3/",
            "GITHUB_SERVER_URL": "https://ghe.example.com",
        },
    )
    assert settings.github_token is not None
    assert settings.github_token.get_secret_value() == TOKEN
    assert settings.github_repository == "acme/agents"
    assert settings.github_api_url == "https://ghe.example.com/api/v3"
    assert settings.github_server_url == "https://ghe.example.com"


def test_a_flag_beats_ours_which_beats_actions() -> None:
    environ = {
        "GITHUB_TOKEN": "workflow-token",
        "GH_TOKEN": "gh-token",
        "MICRO_GASTOWN_GITHUB_TOKEN": "app-token",
        "GITHUB_REPOSITORY": "acme/agents",
        "MICRO_GASTOWN_GITHUB_REPOSITORY": "acme/dsl",
        "MICRO_GASTOWN_MAX_OPEN": "5",
    }
    settings = resolve_filer_settings({}, environ)
    assert settings.github_token is not None
    assert settings.github_token.get_secret_value() == "app-token"
    assert settings.github_repository == "acme/dsl"
    assert settings.max_open == 5
    flagged = resolve_filer_settings(
        {"github_repository": "other/repo", "max_open": 2, "max_new": None}, environ
    )
    assert flagged.github_repository == "other/repo"
    assert flagged.max_open == 2
    assert flagged.max_new == 1, "None means not given"


def test_an_empty_variable_is_unset_and_a_token_loses_its_newline() -> None:
    settings = resolve_filer_settings(
        {}, {"MICRO_GASTOWN_GITHUB_TOKEN": "  ", "GITHUB_TOKEN": TOKEN + "\n"}
    )
    assert settings.github_token is not None
    assert settings.github_token.get_secret_value() == TOKEN


def test_reviewers_from_a_comma_list() -> None:
    settings = resolve_filer_settings({}, {"MICRO_GASTOWN_REVIEWERS": "alice, @bob,,"})
    assert settings.reviewers == ("alice", "bob")


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("MICRO_GASTOWN_MAX_OPEN", "three", "integer"),
        ("MICRO_GASTOWN_MAX_NEW", "-1", "greater than or equal to 0"),
        ("MICRO_GASTOWN_COMMIT_VIA", "ssh", "'git' or 'api'"),
        ("GITHUB_REPOSITORY", "not-a-repo", "OWNER/NAME"),
        ("GITHUB_API_URL", "http://api.github.example.com", "https://"),
        ("MICRO_GASTOWN_GITHUB_SERVER_URL", "ftp://127.0.0.1/", "https://"),
        ("MICRO_GASTOWN_REVIEWERS", "alice,bob smith", "not a GitHub login"),
        ("MICRO_GASTOWN_BASE_BRANCH", "--upload-pack=touch x", "branch name"),
        ("MICRO_GASTOWN_BASE_BRANCH", "../../etc", "branch name"),
    ],
)
def test_a_bad_value_names_its_variable(variable: str, value: str, words: str) -> None:
    with pytest.raises(UsageError) as info:
        resolve_filer_settings({}, {variable: value, "GITHUB_TOKEN": TOKEN})
    assert info.value.setting == variable
    assert str(info.value).startswith(variable)
    assert words in str(info.value)
    assert TOKEN not in str(info.value)


def test_a_bad_flag_names_the_setting() -> None:
    with pytest.raises(UsageError) as info:
        resolve_filer_settings({"max_open": 1000}, {"MICRO_GASTOWN_MAX_OPEN": "2"})
    assert info.value.setting == "max_open"
    assert info.value.value == 1000


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/api/v3", "http://localhost", "http://[::1]/"]
)
def test_plain_http_only_to_this_machine(url: str) -> None:
    assert resolve_filer_settings({"github_api_url": url}, {}).github_api_url == url.rstrip("/")


def test_the_token_never_shows() -> None:
    settings = resolve_filer_settings({}, {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "a/b"})
    for shown in (repr(settings), str(settings), settings.model_dump_json()):
        assert TOKEN not in shown
    with pytest.raises(UsageError) as info:
        resolve_filer_settings({"github_token": 12345}, {"GITHUB_TOKEN": TOKEN})
    assert "GitHub token" in str(info.value)
    assert "12345" not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(UsageError) as info:
        resolve_filer_settings({"github_tokn": TOKEN}, {})
    assert info.value.setting == "github_tokn"
    assert TOKEN not in str(info.value), "a misspelt token is not shown either"


def test_settings_are_frozen() -> None:
    settings = FilerSettings()
    with pytest.raises(ValueError, match="frozen"):
        settings.max_open = 9  # type: ignore[misc]
