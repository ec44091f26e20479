"""Issue 12's acceptance through the real ``evolve`` command: the same evolve run twice yields
one PR, and a run killed mid-filing (branch pushed, PR not yet opened) is finished by
``evolve --resume`` without a second PR.

Real processes on the bundled logs, the runner's checkout a clone of the GitHub-compatible
server's repository (seeded with the sample checkout), the refine answer replayed from the
demo's recording, the refine formula's must_pass two scripts of ours (the real cabal builds
are test_validation_ghc's), and GitHub reached only through the environment a workflow
would set (``GITHUB_REPOSITORY``, ``GITHUB_API_URL``, ``GITHUB_SERVER_URL``, a token).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from githubsim.faults import FaultKind
from githubsim.fixtures import GitHubServer
from micro_gastown.bundled import bundled_root
from micro_gastown.github.metadata import read_record
from micro_gastown.testing.demo_refine import REPLAY
from micro_gastown.testing.demo_review import DEMO_LOGS, DEMO_REPO
from micro_gastown.testing.demo_sample import IGNORED, demo_report
from refinesample import config_with_must_pass

BOT = "micro-gastown[bot]"
SLOW_PREFIX = "slow-llm-summarize-"


@pytest.fixture
def github_seed(tmp_path: Path) -> Path:
    seed = tmp_path / "seed"
    shutil.copytree(DEMO_REPO, seed, ignore=IGNORED, symlinks=True)
    return seed


def _config(tmp_path: Path) -> tuple[Path, str]:
    """must_pass scripts that pass, and an evolve formula that refines only the slow-LLM
    finding the demo's replay answers (the var `exclude` lists every other id)."""
    script = tmp_path / "ok.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    config = config_with_must_pass(tmp_path / "config", [shlex.quote(str(script))])
    report, _ = demo_report(tmp_path)
    [slow] = [p.id for p in report.patterns if p.id.startswith(SLOW_PREFIX)]
    others = ",".join(p.id for p in report.patterns if p.id != slow)
    text = (bundled_root() / "formulas" / "evolve.formula.toml").read_text()
    pattern = re.compile(r'(\[vars\.exclude\][^\[]*?default = )""', re.S)
    assert pattern.search(text), "the bundled evolve formula changed its exclude var"
    (config / "formulas" / "evolve.formula.toml").write_text(
        pattern.sub(lambda m: f'{m.group(1)}"{others}"', text)
    )
    return config, slow


def _environment(server: GitHubServer, tmp_path: Path) -> dict[str, str]:
    gitconfig = tmp_path / "gitconfig"
    gitconfig.touch()
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GITHUB_", "GH_", "MICRO_GASTOWN_GITHUB"))
    }
    env.update(
        GIT_CONFIG_GLOBAL=str(gitconfig),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CEILING_DIRECTORIES=str(tmp_path),
        MICRO_GASTOWN_GITHUB_TOKEN=server.tokens[BOT],
        GITHUB_REPOSITORY=server.repo.full_name,
        GITHUB_API_URL=server.api_url,
        GITHUB_SERVER_URL=server.clone_url.rsplit(f"/{server.repo.full_name}", 1)[0],
        MICRO_GASTOWN_GITHUB_LOGIN=BOT,
    )
    return env


def _evolve(tmp_path: Path, checkout: Path, config: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "micro_gastown", "evolve",
        "--source", f"file:{DEMO_LOGS}", "--repo", str(checkout),
        "--backend", "replay", "--replay", str(REPLAY),
        "--config-dir", str(config), "--runs-dir", str(tmp_path / "runs"), *extra,
    ]  # fmt: skip


def _clone(server: GitHubServer, tmp_path: Path) -> Path:
    checkout = tmp_path / "checkout"
    subprocess.run(
        ["git", "clone", "--quiet", str(server.sim.git.path), str(checkout)],
        check=True,
        timeout=60,
        env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1"},
    )
    return checkout


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, check=False, env=env, timeout=300
    )


def test_the_same_evolve_twice_yields_one_pr(github_server: GitHubServer, tmp_path: Path) -> None:
    config, slow = _config(tmp_path)
    checkout = _clone(github_server, tmp_path)
    env = _environment(github_server, tmp_path)
    first = _run(_evolve(tmp_path, checkout, config), env)
    assert first.returncode == 0, first.stderr
    [pull] = github_server.sim.pulls.values()
    assert pull.draft
    assert pull.author == BOT
    record = read_record(pull.body)
    assert record is not None
    assert record.fingerprints == (slow,)

    second = _run(_evolve(tmp_path, checkout, config), env)
    assert second.returncode == 0, second.stderr
    assert len(github_server.sim.pulls) == 1
    states = sorted((tmp_path / "runs").glob("*/run.json"))
    assert len(states) == 2
    later = json.loads(max(states, key=lambda p: p.stat().st_mtime).read_text())
    # the analyze step read the history, so refine was not asked to redo the finding
    assert slow in later["steps"]["analyze"]["outputs"]["suppressed"]
    assert later["steps"]["refine"]["outputs"]["proposals"] == []
    assert "Traceback" not in first.stderr + second.stderr


def test_a_run_killed_mid_filing_is_finished_by_resume(
    github_server: GitHubServer, tmp_path: Path
) -> None:
    config, _ = _config(tmp_path)
    checkout = _clone(github_server, tmp_path)
    env = _environment(github_server, tmp_path)
    sim = github_server.sim
    # PR creation never answers: the run is killed while it waits, after its push
    sim.fault(FaultKind.DROP, times=100, method="POST", path_contains="/pulls")
    log = tmp_path / "first-run.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            _evolve(tmp_path, checkout, config),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    deadline = time.monotonic() + 240
    while not sim.requests("POST", "/pulls") and time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        time.sleep(0.1)
    assert sim.requests("POST", "/pulls"), "the run never tried to open its PR"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert not sim.pulls
    pushed = {name: sha for name, sha in sim.git.refs().items() if "sleeptime/" in name}
    assert len(pushed) == 1

    while sim.faults.pending():  # GitHub answers again
        sim.faults.take("POST", "/api/v3/repos/acme/agents/pulls")
    [state] = (tmp_path / "runs").glob("*/run.json")
    run_id = state.parent.name
    resumed = _run(
        [sys.executable, "-m", "micro_gastown", "evolve", "--resume", run_id,
         "--runs-dir", str(tmp_path / "runs")],
        env,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    [pull] = sim.pulls.values()
    assert f"refs/heads/{pull.head_ref}" in pushed
    assert sim.git.refs()[f"refs/heads/{pull.head_ref}"] == pushed[f"refs/heads/{pull.head_ref}"]
    assert len(sim.requests("POST", "git-receive-pack")) == 1  # no second push
