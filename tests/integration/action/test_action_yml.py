"""``action.yml`` run locally, step by step, the way the Actions runner runs a composite
action (``tests/actionrun``): its inputs through ``env:``, the runner's files, the workflow
commands on stdout, the action's outputs mapped from the step's.

The fast tests use the harness's ``Install.CHECKOUT_VENV``: the simulated setup-python puts
this checkout's ``.venv/bin`` on PATH and the action's install step (``id: install``, the
only step replaced) is not run, so they stay offline and quick. ``test_the_install_step_*``
runs the install step for real (a wheel built from this checkout into a fresh virtualenv,
pip reading this machine's configured package indexes): marked slow.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from actionrun import ActionRun, Install, run_action
from actionrun.expressions import Context, UnsupportedExpression, evaluate, expressions_in
from micro_gastown.action.commands import AnnotationLevel
from micro_gastown.action.settings import INPUT_VARIABLES, SECRET_VARIABLES
from micro_gastown.testing.demo_refine import REPLAY
from micro_gastown.testing.demo_review import DEMO_LOGS, DEMO_REPO
from refinesample import config_with_must_pass, isolated, make_sample

CHECKOUT = Path(__file__).resolve().parents[3]
ACTION = yaml.safe_load((CHECKOUT / "action.yml").read_text(encoding="utf-8"))
FAKE_KEY = "sk-ant-api03-fake-" + "k3y" * 12
FAKE_GITHUB_TOKEN = "ghs_" + "fAkE" * 9
SHA_PIN = re.compile(r"^(?P<action>[\w.-]+/[\w.-]+)@(?P<sha>[0-9a-f]{40})$")


def _environ() -> dict[str, str]:
    """This process's environment without a token or an endpoint of its own."""
    drop = (*SECRET_VARIABLES, "GRAFANA_LOKI_URL", "GRAFANA_LOKI_USER", "LOKI_ADDR")
    return {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("INPUT_")}


def _run(tmp_path: Path, install: Install = Install.CHECKOUT_VENV, **inputs: str) -> ActionRun:
    workspace = tmp_path / "workspace"
    workspace.mkdir(exist_ok=True)
    return run_action(
        CHECKOUT,
        {"anthropic-api-key": FAKE_KEY, **inputs},
        workspace=workspace,
        runner_temp=tmp_path / "runner_temp",
        environ=_environ(),
        install=install,
        github_token=FAKE_GITHUB_TOKEN,
    )


def _everything_printed(run: ActionRun) -> str:
    """Every text the run produced that a reader of the log, the summary or the outputs sees."""
    parts = [run.summary, json.dumps(run.outputs)]
    for step in run.steps:
        parts += [step.stdout, step.stderr, json.dumps(step.outputs), step.script or ""]
    return "\n".join(parts)


def _assert_secrets_only_masked(run: ActionRun) -> None:
    assert run.masks[:2] == [FAKE_KEY, FAKE_GITHUB_TOKEN]
    for secret in (FAKE_KEY, FAKE_GITHUB_TOKEN):
        lines = [line for line in _everything_printed(run).splitlines() if secret in line]
        assert lines == [f"::add-mask::{secret}"], secret


def _run_steps() -> list[dict[str, Any]]:
    return [step for step in ACTION["runs"]["steps"] if "run" in step]


def test_no_input_value_reaches_a_script_text() -> None:
    for step in _run_steps():
        assert "${{" not in step["run"], step["name"]
        assert expressions_in(step["run"]) == []


def test_every_input_reaches_the_program_through_env() -> None:
    [program] = [s for s in _run_steps() if "micro_gastown.action" in s["run"]]
    given = {expressions_in(str(v))[0] for v in program["env"].values()}
    declared = set(ACTION["inputs"]) - {"python-version"}
    assert given == {f"inputs.{name}" for name in declared}
    read = {name for name in program["env"] if name.startswith("INPUT_")}
    assert read == set(INPUT_VARIABLES.values()) - {"INPUT_RUNS_DIR"}
    assert set(ACTION["outputs"]) == {
        "pr-url", "pr-number", "patterns-found", "critical-count",
        "cost-usd", "verdicts", "report-path", "run-dir",
    }  # fmt: skip


def test_actions_are_pinned_as_ci_pins_them() -> None:
    ci = (CHECKOUT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    setup, cache = [s for s in ACTION["runs"]["steps"] if "uses" in s]
    assert SHA_PIN.match(cache["uses"])
    assert cache["uses"].startswith("actions/cache@")
    pin = SHA_PIN.match(setup["uses"])
    assert pin is not None
    assert pin["action"] == "actions/setup-python"
    line = next(line for line in ci.splitlines() if "actions/setup-python@" in line)
    raw = (CHECKOUT / "action.yml").read_text(encoding="utf-8")
    assert line.split("uses: ", 1)[1] in raw  # the same SHA, the same version comment
    # not setup-python's pip cache: it would look for the lock inside the adopter's workspace
    assert "cache" not in setup["with"]


def test_analyze_through_action_yml(tmp_path: Path) -> None:
    run = _run(
        tmp_path, command="analyze", source=f"file:{DEMO_LOGS}", repo=str(DEMO_REPO.resolve())
    )
    assert not run.failed, run.steps[-1].stdout + run.steps[-1].stderr
    setup, locate, cache, install, program = run.steps
    assert setup.uses == ACTION["runs"]["steps"][0]["uses"]
    assert setup.replaced
    # pip's downloads cached under a key that changes with the lock and the Python
    lock = hashlib.sha256((CHECKOUT / "requirements.lock").read_bytes()).hexdigest()[:16]
    python = "{}.{}".format(*sys.version_info[:2])
    assert cache.replaced
    assert cache.with_["key"] == f"micro-gastown-pip-local-py{python}-{lock}"
    assert cache.with_["path"] == locate.outputs["dir"]
    assert Path(cache.with_["path"]).is_absolute()
    assert install.replaced
    assert not program.replaced
    assert run.outputs["patterns-found"] == "9"
    assert run.outputs["critical-count"] == "4"
    report = Path(run.outputs["report-path"])
    assert report == tmp_path / "runner_temp" / "micro-gastown" / "report.json"
    assert json.loads(report.read_bytes())["summary"]["critical"] == 4
    assert run.outputs["run-dir"] == ""
    assert run.outputs["pr-url"] == ""
    assert run.outputs["cost-usd"] == "0.0000"
    _assert_secrets_only_masked(run)
    assert run.groups[0].startswith("Analyze file logs")
    warnings = [a for a in run.annotations if a.name == AnnotationLevel.WARNING]
    assert len(warnings) == 4
    assert not [a for a in run.annotations if a.name == AnnotationLevel.ERROR]
    assert run.summary.startswith("## micro-gastown analyze\n")
    assert "| Pattern | Severity | Occurrences | Key figure |" in run.summary
    assert run.summary.count("```mermaid") == 4


def test_evolve_dry_run_through_action_yml(tmp_path: Path) -> None:
    with isolated(tmp_path):
        sample = make_sample(tmp_path / "sample")
        ok = tmp_path / "ok.sh"
        ok.write_text("#!/bin/sh\nexit 0\n")
        ok.chmod(0o755)
        config = config_with_must_pass(tmp_path / "config", [str(ok)])
        run = _run(
            tmp_path,
            command="evolve",
            **{"dry-run": "true", "config-dir": str(config)},
            source=f"file:{DEMO_LOGS}",
            repo=str(sample.checkout),
            backend="replay",
            replay=str(REPLAY),
        )
    assert not run.failed, run.steps[-1].stdout + run.steps[-1].stderr
    run_dir = Path(run.outputs["run-dir"])
    assert run_dir.parent == tmp_path / "runner_temp" / "micro-gastown-runs"
    state = json.loads((run_dir / "run.json").read_text())
    assert state["status"] == "completed"
    assert run.outputs["patterns-found"] == "9"
    assert run.outputs["critical-count"] == "4"
    assert Path(run.outputs["report-path"]).is_file()
    assert float(run.outputs["cost-usd"]) > 0
    assert run.outputs["pr-url"] == run.outputs["pr-number"] == ""
    _assert_secrets_only_masked(run)
    assert "### Findings" in run.summary
    assert "```mermaid" in run.summary
    dry_run = run_dir / "steps" / "file-pr" / "dry-run"
    assert f"Dry run: nothing filed; what would be filed is in `{dry_run}`." in run.summary
    assert [g.split(" ", 1)[0] for g in run.groups[:2]] == ["Evolve:", "Evolve"]
    assert len([a for a in run.annotations if a.name == AnnotationLevel.WARNING]) == 4


def test_a_bad_range_fails_the_step_naming_the_input(tmp_path: Path) -> None:
    run = _run(
        tmp_path,
        command="evolve",
        source=f"file:{DEMO_LOGS}",
        repo=str(DEMO_REPO.resolve()),
        since="2026-11-22T00:00:00Z",
        until="2026-11-21T00:00:00Z",
    )
    assert run.failed
    assert run.steps[-1].returncode == 2
    [error] = [a for a in run.annotations if a.name == AnnotationLevel.ERROR]
    assert error.data.startswith("since ")
    assert run.outputs["run-dir"] == ""


@pytest.mark.slow
def test_the_install_step_builds_and_installs_the_wheel(tmp_path: Path) -> None:
    run = _run(
        tmp_path,
        Install.REAL,
        command="analyze",
        source=f"file:{DEMO_LOGS}",
        repo=str(DEMO_REPO.resolve()),
    )
    _setup, _locate, _cache, install, program = run.steps
    assert not install.replaced
    assert install.returncode == 0, install.stdout + install.stderr
    assert program.returncode == 0, program.stdout + program.stderr
    venv = tmp_path / "runner_temp" / "setup-python" / "venv"
    [site] = venv.glob("lib/python*/site-packages")
    assert (site / "micro_gastown" / "action" / "main.py").is_file()
    assert not list(site.glob("*micro_gastown*.pth"))  # a wheel, not an editable install
    assert run.outputs["patterns-found"] == "9"


def test_the_harness_refuses_an_expression_it_does_not_model() -> None:
    context = Context({"command": "evolve"}, "/action", "/tmp/runner")
    assert evaluate("${{ inputs.command }}-${{ steps.x.outputs.y }}", context) == "evolve-"
    for expression in ("secrets.TOKEN", "inputs.nope", "github.event.issue.title", "1 == 1"):
        with pytest.raises(UnsupportedExpression):
            evaluate(f"${{{{ {expression} }}}}", context)


def test_the_readme_workflows_pin_what_the_repository_pins() -> None:
    readme = (CHECKOUT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## GitHub Action\n", 1)[1].split("\n### `micro-gastown validate`", 1)[
        0
    ]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 3  # evolve, rollback, the matrix
    evolve = (CHECKOUT / ".github" / "workflows" / "evolve.yml").read_text(encoding="utf-8")
    for block in blocks:
        workflow = yaml.safe_load(block)
        [job] = workflow["jobs"].values()
        assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
        for step in job["steps"]:
            if step["uses"].startswith("OWNER/micro-gastown@"):
                assert step["with"]["command"] in ("evolve", "rollback-check")
            if step["uses"].startswith("actions/"):
                assert SHA_PIN.match(step["uses"]), step["uses"]
                assert step["uses"] in evolve


def test_the_evolve_workflow_grants_only_what_filing_needs() -> None:
    path = CHECKOUT / ".github" / "workflows" / "evolve.yml"
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert workflow["permissions"] == {}
    assert workflow["concurrency"]["cancel-in-progress"] is False
    [job] = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert job["timeout-minutes"] > 0
    assert job["steps"][0]["with"]["persist-credentials"] is False
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    assert set(triggers["workflow_dispatch"]["inputs"]) == {"since", "until", "dry_run"}


def test_the_rollback_workflow_runs_hourly_on_merge_and_by_hand_with_least_privilege() -> None:
    path = CHECKOUT / ".github" / "workflows" / "rollback.yml"
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert workflow["permissions"] == {}
    assert workflow["concurrency"]["cancel-in-progress"] is False
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert set(triggers) == {"schedule", "pull_request", "workflow_dispatch"}
    assert triggers["schedule"][0]["cron"].split()[1:] == ["*", "*", "*", "*"]  # hourly
    assert triggers["pull_request"]["types"] == ["closed"]
    [job] = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert job["timeout-minutes"] > 0
    assert "github.event.pull_request.merged" in job["if"]
    assert "'sleeptime'" in job["if"]
    [action] = [step for step in job["steps"] if step.get("uses", "").startswith("./")]
    assert action["with"]["command"] == "rollback-check"
    assert set(action["with"]) <= set(ACTION["inputs"])
    assert action["with"]["auto-merge-reverts"] == "false"
