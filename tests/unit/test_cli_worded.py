"""An error about a setting names the flag only when the command has that flag (cli.flags)."""

from __future__ import annotations

from pathlib import Path

import pytest

from micro_gastown.cli import main
from micro_gastown.cli.flags import worded
from micro_gastown.errors import ConfigError, GitHubAuthError


def test_a_setting_the_command_has_a_flag_for_is_worded_as_the_flag() -> None:
    error = ConfigError("no such directory", setting="repo", value=Path("/x"))
    assert worded(error, {"--repo", "--input"}) == "--repo /x: no such directory"


def test_a_setting_without_a_flag_keeps_its_own_name() -> None:
    """A glob from a polecat file or a token from the environment has no flag: pointing
    the user at `--forbidden-paths` would send them looking for something that is not there."""
    error = ConfigError("a forbidden path glob is empty", setting="forbidden_paths", value="")
    line = worded(error, {"--repo", "--input"})
    assert line == "forbidden_paths '': a forbidden path glob is empty"
    assert "--" not in line


def test_github_errors_name_no_token_flag() -> None:
    """The token is read from the environment only: no error may point at a token flag."""
    error = GitHubAuthError("cannot push: GitHub rejected the token (401)")
    assert worded(error, {"--repo"}) == "cannot push: GitHub rejected the token (401)"


def test_the_command_line_words_settings_by_the_running_commands_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    patch = tmp_path / "changes.diff"
    patch.write_text("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n")
    code = main(["file-pr", "--input", str(patch), "--dry-run", "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    # a bare patch needs the ids it addresses: file-pr's flag is --pattern
    assert "error: --pattern: a bare patch" in err
