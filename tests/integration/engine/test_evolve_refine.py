"""``evolve --dry-run`` on the demo completes analyze AND refine (issue 11's acceptance).

A real process on the bundled logs and a git copy of the sample checkout, the model
replayed from the demo's recording (the evolve refine step sends the requests the CLI
sends: the same replay file answers both). The refine formula's must_pass commands are
two small scripts of ours instead of cabal (the real builds are test_validation_ghc's):
they record that they ran, in the step's worktree.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import jsonschema

from micro_gastown.testing.demo_refine import REPLAY
from micro_gastown.testing.demo_review import DEMO_LOGS, ROOT
from refinesample import SLOW, config_with_must_pass, isolated, make_sample


def must_pass_script(directory: Path, name: str, log: Path) -> str:
    script = directory / name
    script.write_text(f'#!/bin/sh\necho "{name} $(pwd)" >> {shlex.quote(str(log))}\n')
    script.chmod(0o755)
    return shlex.quote(str(script))


def test_evolve_dry_run_completes_analyze_and_refine(tmp_path: Path) -> None:
    with isolated(tmp_path):
        sample = make_sample(tmp_path / "sample")
        env = dict(os.environ)
    log = tmp_path / "must_pass.log"
    commands = [must_pass_script(tmp_path, n, log) for n in ("build.sh", "check.sh")]
    config = config_with_must_pass(tmp_path / "config", commands)
    runs = tmp_path / "runs"
    done = subprocess.run(
        [
            sys.executable, "-m", "micro_gastown", "evolve", "--dry-run",
            "--source", f"file:{DEMO_LOGS}", "--repo", str(sample.checkout),
            "--backend", "replay", "--replay", str(REPLAY),
            "--config-dir", str(config), "--runs-dir", str(runs),
        ],
        capture_output=True, text=True, check=False, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    (state_path,) = runs.glob("*/run.json")
    state = json.loads(state_path.read_text())
    steps = state["steps"]
    assert state["status"] == "completed"
    assert (steps["analyze"]["status"], steps["refine"]["status"]) == ("completed", "completed")
    # the dry run's file-pr wrote what it would file, and filed nothing
    assert steps["file-pr"]["status"] == "completed"
    [filing] = steps["file-pr"]["outputs"]["filed"]
    assert (filing["pattern_id"], filing["status"]) == (SLOW, "dry-run")
    dry_run = Path(filing["dry_run_dir"])
    assert dry_run == state_path.parent / "steps" / "file-pr" / "dry-run"
    assert (dry_run / "branch.txt").read_text().strip() == filing["branch"]
    assert (dry_run / "changes.diff").read_text() == Path(
        steps["refine"]["outputs"]["proposals"][0]["patch"]
    ).read_text()
    assert "## Summary" in (dry_run / "body.md").read_text()
    assert steps["refine"]["inputs"]["pattern_report"] == steps["analyze"]["outputs"]["output"]

    outputs = steps["refine"]["outputs"]
    [proposal] = outputs["proposals"]  # max_prs 1: the most severe finding only
    assert proposal["pattern_id"] == SLOW
    assert (proposal["status"], proposal["fileable"]) == ("ready", True)
    assert outputs["output"] == proposal["changes"]
    changes = Path(outputs["output"])
    assert changes.parent == state_path.parent / "steps" / "refine"
    document = json.loads(changes.read_text())
    schema = json.loads((ROOT / "schemas" / "ProposedChanges.json").read_text())
    jsonschema.validate(document, schema)
    assert document["patterns_addressed"] == [SLOW]
    patch = Path(proposal["patch"]).read_text()
    assert patch.startswith("diff --git a/templates/summarize.jinja b/templates/summarize.jinja\n")

    # the formula's must_pass ran, in order, in a worktree that is gone now
    ran = log.read_text().splitlines()
    assert [line.split(" ", 1)[0] for line in ran] == ["build.sh", "check.sh"]
    worktree = Path(ran[0].split(" ", 1)[1])
    assert worktree != sample.checkout
    assert not worktree.exists()
    # the replayed answer was charged to the run's ledger, under the refine step
    [call] = state["ledger"]["steps"]["refine"]["calls"]
    assert call["model"].startswith("claude-haiku-4-5")
