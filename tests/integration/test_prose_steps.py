"""A Gas Town workflow whose steps are prose (id, title, needs, description; no skill):
`validate` and `evolve --formula` give the same answer, in the same words, before any run
exists. Such a step is carried out by an agent from its description upstream; this runtime
runs only skill steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from micro_gastown.cli import main

PATROL = """\
formula = "mol-witness-patrol"
description = "Look after the workers of a rig, one round."
version = 1
type = "workflow"

[[steps]]
id = "inbox-check"
title = "Read the inbox"
description = "Read new mail and act on anything addressed to the witness."

[[steps]]
id = "survey-workers"
title = "Survey the workers"
needs = ["inbox-check"]
description = "Check each worker's last activity and nudge the stalled ones."
"""

SAID = "step 'inbox-check' names no skill"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    formulas = tmp_path / "config" / "formulas"
    formulas.mkdir(parents=True)
    (formulas / "mol-witness-patrol.formula.toml").write_text(PATROL)
    return tmp_path / "config"


def test_validate_and_evolve_say_the_same_of_a_prose_step(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--config-dir", str(config_dir)]) == 2
    validated = capsys.readouterr().out
    [validate_line] = [line for line in validated.splitlines() if SAID in line]
    assert "steps[0].skill" in validate_line
    assert "steps[1].skill" in validated  # every prose step is named, not just the first

    runs = tmp_path / "runs"
    argv = ["evolve", "--formula", "mol-witness-patrol", "--config-dir", str(config_dir)]
    assert main([*argv, "--source", "file:/nonexistent", "--runs-dir", str(runs)]) == 2
    refused = capsys.readouterr().err
    why = validate_line.split(": ", 2)[2]
    assert why in refused
    assert not runs.exists()  # refused before a run was created
