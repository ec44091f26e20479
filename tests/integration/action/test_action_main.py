"""``python -m micro_gastown.action`` as the composite action runs it: inputs as ``INPUT_*``,
the runner's files in tmp_path, stdout read the way the runner reads it
(``tests/runnerprotocol.py``). The API key is masked first and shows nowhere else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from micro_gastown.action.commands import AnnotationLevel
from micro_gastown.action.findings import finding_message, finding_title
from micro_gastown.report.model import PatternReport
from micro_gastown.testing.demo_refine import REPLAY
from micro_gastown.testing.demo_review import DEMO_LOGS, DEMO_REPO
from refinesample import config_with_must_pass, isolated, make_sample
from runnerprotocol import runner_commands, runner_file_pairs

FAKE_KEY = "sk-ant-api03-fake-" + "k3y" * 12


def _run(tmp_path: Path, env: dict[str, str], **inputs: str) -> subprocess.CompletedProcess[str]:
    runner = {
        "GITHUB_OUTPUT": str(tmp_path / "github_output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "step_summary"),
        "RUNNER_TEMP": str(tmp_path / "runner_temp"),
        "ANTHROPIC_API_KEY": FAKE_KEY,
        "MICRO_GASTOWN_NO_LIVE_LLM": "1",
    }
    for name in ("GITHUB_TOKEN", "GH_TOKEN", "MICRO_GASTOWN_GITHUB_TOKEN", "GITHUB_REPOSITORY"):
        env.pop(name, None)
    given = {f"INPUT_{name.upper()}": value for name, value in inputs.items()}
    return subprocess.run(
        [sys.executable, "-m", "micro_gastown.action"],
        capture_output=True, text=True, check=False, timeout=300,
        env={**env, **runner, **given}, cwd=tmp_path,
    )  # fmt: skip


def _outputs(tmp_path: Path) -> dict[str, str]:
    return dict(runner_file_pairs((tmp_path / "github_output").read_bytes().decode()))


def _assert_key_only_masked(done: subprocess.CompletedProcess[str], tmp_path: Path) -> None:
    assert done.stdout.splitlines()[0] == f"::add-mask::{FAKE_KEY}"
    assert done.stdout.count(FAKE_KEY) == 1
    assert FAKE_KEY not in done.stderr
    for written in ("github_output", "step_summary"):
        assert FAKE_KEY not in (tmp_path / written).read_text()


def test_analyze_sets_outputs_summary_and_annotations(tmp_path: Path) -> None:
    done = _run(
        tmp_path,
        dict(os.environ),
        command="analyze",
        source=f"file:{DEMO_LOGS}",
        repo=str(DEMO_REPO),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    _assert_key_only_masked(done, tmp_path)
    outputs = _outputs(tmp_path)
    report_path = tmp_path / "runner_temp" / "micro-gastown" / "report.json"
    assert outputs["report-path"] == str(report_path)
    report = PatternReport.model_validate_json(report_path.read_bytes())
    assert outputs["patterns-found"] == str(report.summary.total_patterns) != "0"
    assert outputs["critical-count"] == str(report.summary.critical) != "0"
    assert outputs["cost-usd"] == "0.0000"
    commands = runner_commands(done.stdout)
    names = [c.name for c in commands]
    assert names[:3] == ["add-mask", "group", "endgroup"]
    warnings = [c for c in commands if c.name == AnnotationLevel.WARNING]
    critical = [p for p in report.patterns if p.severity.value == "critical"]
    assert [w.properties["title"] for w in warnings] == [finding_title(p) for p in critical]
    assert [w.data for w in warnings] == [finding_message(p) for p in critical]
    assert len(warnings) == len(critical)
    assert not [c for c in commands if c.name == "error"]
    summary = (tmp_path / "step_summary").read_text()
    assert summary.startswith("## micro-gastown analyze\n")
    assert summary.count("```mermaid") == len(critical)
    for pattern in report.patterns:
        assert f"`{pattern.id}`" in summary


def test_evolve_dry_run_on_a_git_copy_with_replayed_answers(tmp_path: Path) -> None:
    with isolated(tmp_path):
        sample = make_sample(tmp_path / "sample")
        env = dict(os.environ)
    ok = tmp_path / "ok.sh"
    ok.write_text("#!/bin/sh\nexit 0\n")
    ok.chmod(0o755)
    config = config_with_must_pass(tmp_path / "config", [str(ok)])
    done = _run(
        tmp_path,
        env,
        command="evolve",
        dry_run="true",
        source=f"file:{DEMO_LOGS}",
        repo=str(sample.checkout),
        config_dir=str(config),
        backend="replay",
        replay=str(REPLAY),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    _assert_key_only_masked(done, tmp_path)
    outputs = _outputs(tmp_path)
    run_dir = Path(outputs["run-dir"])
    assert run_dir.parent == tmp_path / "runner_temp" / "micro-gastown-runs"
    state = json.loads((run_dir / "run.json").read_text())
    assert state["status"] == "completed"
    assert outputs["report-path"] == state["steps"]["analyze"]["outputs"]["output"]
    assert Path(outputs["report-path"]).is_file()
    assert outputs["critical-count"] == str(state["steps"]["analyze"]["outputs"]["critical"])
    assert float(outputs["cost-usd"]) > 0  # the replayed refine call is charged
    assert "pr-url" not in outputs  # a dry run files nothing
    dry_run = run_dir / "steps" / "file-pr" / "dry-run"
    for name in ("branch.txt", "changes.diff", "body.md"):
        assert (dry_run / name).is_file(), name
    summary = (tmp_path / "step_summary").read_text()
    assert f"Dry run: nothing filed; what would be filed is in `{dry_run}`." in summary
    assert "| `refine` | completed |  |" in summary
    # the run's own lines (which can quote logs) are printed with commands paused
    paused = done.stdout.split("::stop-commands::", 1)[1]
    token, _, rest = paused.partition("\n")
    assert "analyze: completed" in rest.split(f"::{token}::", 1)[0]


def test_a_bad_range_fails_before_anything_runs(tmp_path: Path) -> None:
    done = _run(
        tmp_path,
        dict(os.environ),
        command="evolve",
        source=f"file:{DEMO_LOGS}",
        repo=str(DEMO_REPO),
        since="2026-11-22T00:00:00Z",
        until="2026-11-21T00:00:00Z",
        max_prs="x",
    )
    assert done.returncode == 2
    errors = [c for c in runner_commands(done.stdout) if c.name == "error"]
    assert [e.data.split(" ", 1)[0] for e in errors] == ["since", "max-prs"]
    assert not (tmp_path / "runner_temp").exists()
    assert not (tmp_path / "github_output").exists()


def test_rollback_check_without_github_says_what_to_set(tmp_path: Path) -> None:
    done = _run(
        tmp_path, dict(os.environ), command="rollback-check", source="loki:http://127.0.0.1:9"
    )
    assert done.returncode == 2
    [error] = [c for c in runner_commands(done.stdout) if c.name == "error"]
    assert error.data.startswith("rollback-check reads merged PRs")
    assert "set GITHUB_TOKEN and GITHUB_REPOSITORY" in error.data
    assert "rollback-check" in (tmp_path / "step_summary").read_text()


def test_rollback_check_refuses_a_file_source_naming_the_input(tmp_path: Path) -> None:
    export = tmp_path / "logs.jsonl"
    export.write_text("")
    done = _run(tmp_path, dict(os.environ), command="rollback-check", source=f"file:{export}")
    assert done.returncode == 2
    [error] = [c for c in runner_commands(done.stdout) if c.name == "error"]
    assert error.data.startswith("source")
    assert "Loki" in error.data


def test_rollback_inputs_that_do_not_fit_are_named_together(tmp_path: Path) -> None:
    done = _run(
        tmp_path, dict(os.environ), command="rollback-check", watch_days="40",
        deploy_lag="soon", pull_request="-3",
    )  # fmt: skip
    assert done.returncode == 2
    errors = [c for c in runner_commands(done.stdout) if c.name == "error"]
    named = sorted(e.data.split(" ", 1)[0] for e in errors)
    assert named == ["deploy-lag", "pull-request", "watch-days"]
