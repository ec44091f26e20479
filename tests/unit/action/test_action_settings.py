"""The Action's settings: each input read from a passed-in mapping, the defaults a workflow
relies on, every problem named at once by its input, an empty window named as ``since``,
and no secret in a repr or a dump."""

from __future__ import annotations

from pathlib import Path

import pytest

from micro_gastown.action.settings import (
    ActionCommand,
    ActionInputError,
    ActionSettings,
    secret_values,
)
from micro_gastown.logql import DEFAULT_SELECTOR

KEY = "sk-ant-api03-" + "x7" * 20
TOKEN = "ghp_" + "R8mK2xQ9vL4nT7bW1cZ5pH3jF6dS0aY2eU8i"


def _settings(tmp_path: Path, **inputs: str) -> ActionSettings:
    environ = {f"INPUT_{name.upper()}": value for name, value in inputs.items()}
    environ.setdefault("INPUT_COMMAND", "analyze")
    environ.setdefault("INPUT_REPO", str(tmp_path))
    return ActionSettings.from_environ(environ)


def _problems(environ: dict[str, str]) -> tuple[str, ...]:
    with pytest.raises(ActionInputError) as caught:
        ActionSettings.from_environ(environ)
    return caught.value.problems


def test_each_input_is_read(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    replay = tmp_path / "answers.json"
    replay.write_text("{}")
    settings = _settings(
        tmp_path,
        command="evolve",
        since="2026-11-21T10:00:00Z",
        until="2026-11-21T11:00:00Z",
        selector='{job="other"}',
        dry_run="true",
        llm="True",
        budget_usd="0.25",
        max_prs="2",
        config_dir=f"{config}\n\n",
        source="file:logs.jsonl.gz",
        runs_dir=str(tmp_path / "runs"),
        backend="replay",
        replay=str(replay),
    )
    assert settings.command is ActionCommand.EVOLVE
    assert (settings.since, settings.until) == ("2026-11-21T10:00:00Z", "2026-11-21T11:00:00Z")
    assert settings.selector == '{job="other"}'
    assert (settings.dry_run, settings.llm) == (True, True)
    assert (settings.budget_usd, settings.max_prs) == (0.25, 2)
    assert settings.config_dirs == (config,)
    assert settings.source == "file:logs.jsonl.gz"
    assert settings.runs_dir == tmp_path / "runs"
    assert settings.repo == tmp_path
    choice = settings.backend_choice()
    assert (choice.name, choice.replay) == ("replay", replay.absolute())


def test_defaults_suit_a_workflow(tmp_path: Path) -> None:
    """Blank inputs (the runner passes a left-out input as an empty string) are not set."""
    settings = ActionSettings.from_environ(
        {
            "INPUT_COMMAND": "analyze",
            "INPUT_SINCE": "",
            "INPUT_DRY_RUN": " ",
            "INPUT_MAX_PRS": "",
            "RUNNER_TEMP": str(tmp_path),
        }
    )
    assert settings.source == "loki"
    assert settings.repo == Path(".")
    assert settings.selector == DEFAULT_SELECTOR
    assert (settings.since, settings.until, settings.max_prs, settings.budget_usd) == (
        None, None, None, None,
    )  # fmt: skip
    assert (settings.dry_run, settings.llm, settings.backend) == (False, False, "anthropic")
    assert settings.runs_dir == tmp_path / "micro-gastown-runs"
    assert settings.report_path == tmp_path / "micro-gastown" / "report.json"
    assert (settings.output_file, settings.summary_file) == (None, None)


def test_without_runner_temp_the_runs_dir_is_the_clis(tmp_path: Path) -> None:
    settings = ActionSettings.from_environ(
        {
            "INPUT_COMMAND": "analyze",
            "GITHUB_OUTPUT": str(tmp_path / "out"),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        }
    )
    assert settings.runs_dir == Path(".micro-gastown") / "runs"
    assert settings.report_path == Path(".micro-gastown") / "runs" / "report.json"
    assert (settings.output_file, settings.summary_file) == (
        tmp_path / "out", tmp_path / "summary",
    )  # fmt: skip


def test_an_empty_window_is_one_error_naming_since(tmp_path: Path) -> None:
    problems = _problems(
        {
            "INPUT_COMMAND": "evolve",
            "INPUT_REPO": str(tmp_path),
            "INPUT_SINCE": "2026-11-22T00:00:00Z",
            "INPUT_UNTIL": "2026-11-21T00:00:00Z",
        }
    )
    assert problems == (
        "since '2026-11-22T00:00:00Z': not before until '2026-11-21T00:00:00Z': "
        "the window would be empty",
    )


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    problems = _problems(
        {
            "INPUT_COMMAND": "deploy",
            "INPUT_SINCE": "yesterday",
            "INPUT_UNTIL": "soon",
            "INPUT_DRY_RUN": "maybe",
            "INPUT_BUDGET_USD": "inf",
            "INPUT_MAX_PRS": "-1",
            "INPUT_CONFIG_DIR": str(tmp_path / "missing"),
            "INPUT_SOURCE": "s3://bucket",
            "INPUT_REPO": str(tmp_path / "no-checkout"),
            "INPUT_BACKEND": "replay",
        }
    )
    names = [problem.split(" ", 1)[0].rstrip(":") for problem in problems]
    assert names == [
        "command", "until", "since", "dry-run", "budget-usd", "max-prs", "config-dir",
        "source", "repo", "replay",
    ]  # fmt: skip
    assert "command 'deploy': expected one of evolve, analyze, rollback-check" in problems
    assert "max-prs '-1': expected 0 or more" in problems
    assert "dry-run 'maybe': expected true or false" in problems
    assert "replay: the replay backend needs a file of recorded answers" in problems
    assert any(p.startswith("since 'yesterday': expected a duration") for p in problems)


def test_config_dirs_that_do_not_exist_are_named_quoted(tmp_path: Path) -> None:
    """Of several config dirs (one a line), the missing ones are named, quoted and escaped:
    an escape sequence in an input reaches the workflow log as text."""
    real = tmp_path / "real"
    real.mkdir()
    hostile = "gone\x1b[2J"
    problems = _problems(
        {
            "INPUT_COMMAND": "analyze",
            "INPUT_REPO": str(tmp_path),
            "INPUT_CONFIG_DIR": f"{real}\n{hostile}",
        }
    )
    assert problems == (f"config-dir '{real}\\ngone\\x1b[2J': no such directory: 'gone\\x1b[2J'",)


def test_a_missing_command_is_named() -> None:
    assert _problems({}) == ("command: required: one of evolve, analyze, rollback-check",)


def test_secrets_are_found_and_kept_out_of_every_repr(tmp_path: Path) -> None:
    environ = {
        "INPUT_COMMAND": "analyze",
        "INPUT_REPO": str(tmp_path),
        "ANTHROPIC_API_KEY": KEY,
        "GITHUB_TOKEN": TOKEN,
        "GRAFANA_LOKI_USER": "123456",
        "GRAFANA_LOKI_TOKEN": "glc_loki_secret_value",
        "GRAFANA_LOKI_URL": "https://logs.example/loki?auth=urlsecret99",
        "LOKI_ORG_ID": "tenant",
    }
    assert set(secret_values(environ)) == {
        KEY, TOKEN, "glc_loki_secret_value", "urlsecret99",
    }  # fmt: skip
    settings = ActionSettings.from_environ(environ)
    assert set(settings.secret_values()) == set(secret_values(environ))
    for shown in (repr(settings), str(settings), str(settings.model_dump()),
                  settings.model_dump_json()):  # fmt: skip
        for secret in secret_values(environ):
            assert secret not in shown


def test_blank_secrets_are_not_masked() -> None:
    assert secret_values({"ANTHROPIC_API_KEY": "  ", "GITHUB_TOKEN": ""}) == ()
