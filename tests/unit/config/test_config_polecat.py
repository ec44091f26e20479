"""Polecat files: both prompt forms, role tables, and problems that name file, table and key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from micro_gastown.config import load_polecat, validate_dirs
from micro_gastown.config.polecat import ALWAYS_FORBIDDEN, Guardrails
from micro_gastown.errors import ConfigError

Edit = Callable[[Path, str, str], Path]


def _only_problem(config_dir: Path) -> tuple[str, str]:
    problems = validate_dirs([config_dir])
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0].where, problems[0].message


def test_the_older_prompt_form_reads_the_same(config_dir: Path, edit: Edit) -> None:
    path = config_dir / "polecats" / "log-analyzer.toml"
    newer = load_polecat(path).system_prompt
    edit(path, '[prompt.system]\ncontent = """', '[prompt]\nsystem = """')
    assert load_polecat(path).system_prompt == newer
    assert validate_dirs([config_dir]) == []


@pytest.mark.parametrize(
    ("polecat", "old", "new", "where", "message"),
    [
        pytest.param(
            "log-analyzer",
            "[schedule]",
            "[bogus]\nx = 1\n\n[schedule]",
            "bogus",
            "unknown table",
            id="unknown-table",
        ),
        pytest.param(
            "log-analyzer",
            "latency_warning_ms = 2000",
            "latency_warning_ms = 9000",
            "thresholds",
            "latency_warning_ms must not exceed latency_critical_ms",
            id="threshold-order",
        ),
        pytest.param(
            "log-analyzer",
            "error_rate_warning = 0.05",
            'error_rate_warning = "5%"',
            "thresholds.error_rate_warning",
            "should be a number, got string '5%'",
            id="threshold-type",
        ),
        pytest.param(
            "log-analyzer",
            'lookback = "24h"',
            'lookback = "a day"',
            "schedule.lookback",
            "not a duration: 'a day'",
            id="bad-lookback",
        ),
        pytest.param(
            "log-analyzer",
            'role = "observer"',
            'role = "watcher"',
            "polecat.role",
            "Input should be 'observer', 'modifier' or 'committer', got string 'watcher'",
            id="unknown-role",
        ),
        pytest.param(
            "log-analyzer",
            'role = "observer"',
            'role = "modifier"',
            "guardrails",
            "a modifier polecat needs a [guardrails] table",
            id="modifier-without-guardrails",
        ),
        pytest.param(
            "pr-filer",
            'role = "committer"',
            'role = "modifier"',
            "guardrails",
            "a modifier polecat needs a [guardrails] table",
            id="committer-turned-modifier",
        ),
        pytest.param(
            "log-analyzer",
            'name = "log-analyzer"',
            'name = "analyzer"',
            "polecat.name",
            "'analyzer' should match the file name 'log-analyzer'",
            id="name-not-file-name",
        ),
        pytest.param(
            "log-analyzer",
            'schema = "PatternReport"\n',
            "",
            "output.schema",
            "format 'json' needs a schema",
            id="json-without-schema",
        ),
        pytest.param(
            "log-analyzer",
            '"read_report", "read_dsl_file"',
            '"read_report", "read_report"',
            "tools.available",
            "listed more than once: read_report",
            id="tool-twice",
        ),
        pytest.param(
            "log-analyzer",
            'provider = "anthropic"',
            'provider = "openai"',
            "model.provider",
            "Input should be 'anthropic'",
            id="unknown-provider",
        ),
        pytest.param(
            "log-analyzer",
            'name = "claude-haiku-4-5"',
            "",
            "model.name",
            "required key is missing",
            id="missing-model-name",
        ),
        pytest.param(
            "conditional-refiner",
            "max_files_changed = 5",
            "max_files_changed = 0",
            "guardrails.max_files_changed",
            "greater than or equal to 1, got integer 0",
            id="zero-files",
        ),
    ],
)
def test_a_broken_polecat_names_table_and_key(
    config_dir: Path, edit: Edit, polecat: str, old: str, new: str, where: str, message: str
) -> None:
    edit(config_dir / "polecats" / f"{polecat}.toml", old, new)
    got_where, got_message = _only_problem(config_dir)
    assert got_where == where
    assert message in got_message


def test_load_polecat_raises_one_error_naming_every_problem(config_dir: Path, edit: Edit) -> None:
    path = config_dir / "polecats" / "pr-filer.toml"
    edit(path, "draft = true", 'draft = "yes"')
    edit(path, '"read_pattern"]', '"read_pattern", "git_push"]')
    with pytest.raises(ConfigError) as caught:
        load_polecat(path)
    text = str(caught.value)
    assert f"{path}: tools.available[3]: unknown tool 'git_push'" in text
    assert f"{path}: pr.draft: should be a boolean (true or false), got string 'yes'" in text
    assert caught.value.exit_code == 2


def test_load_polecat_looks_schemas_up_in_the_directory_given(tmp_path: Path) -> None:
    shipped = Path(__file__).resolve().parents[3] / "polecats" / "log-analyzer.toml"
    assert load_polecat(shipped).output.schema_name == "PatternReport"
    (tmp_path / "Other.json").write_text("{}")
    with pytest.raises(ConfigError, match=r"output\.schema: unknown schema 'PatternReport' "):
        load_polecat(shipped, schemas_dir=tmp_path)


def test_a_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text('[polecat]\nname = "x"\ndescription = \n')
    with pytest.raises(ConfigError) as caught:
        load_polecat(path)
    assert str(caught.value) == f"{path}: line 3, column 15: invalid TOML: Invalid value"


def test_github_is_always_forbidden_whatever_the_polecat_lists() -> None:
    assert ALWAYS_FORBIDDEN == (".github/**",)
    assert Guardrails(forbidden_paths=["*.cabal"]).all_forbidden_paths == (".github/**", "*.cabal")
    assert Guardrails().all_forbidden_paths == (".github/**",)
