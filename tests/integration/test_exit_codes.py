"""One exit-code table, one meaning per code: the README's table is the code's, and each code
is produced by the real command for the one reason the table gives.

A CI job branches on these: 1 means "findings at --fail-on" and nothing else, so a broken
setup (2), unreadable logs or checkout (3), a model that failed (4), a budget stop (5), an
output that cannot be written (6), an incomplete evolve run (7) or a refine with nothing it
may file (8) never reads as findings.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from evolveruns import UNFINISHABLE_ERROR, UNFINISHABLE_STEP, unfinishable_config
from ghc import only_programs
from micro_gastown.errors import ExitCode
from refinesample import isolated, make_sample

from specialfiles import make_device

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "logs" / "exomonad-sample.jsonl.gz"
REPO = ROOT / "examples" / "exomonad-sample"
REPLAY = ROOT / "examples" / "llm" / "log-analyzer-review.replay.json"


def _readme_codes() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    table = text.split("#### Exit codes", 1)[1].split("\n\n", 3)[2]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    return {
        cells[0]: cells[1]
        for cells in ([c.strip() for c in row.strip("|").split("|")] for row in rows[1:])
    }


def test_the_readme_table_is_the_codes_table() -> None:
    readme = _readme_codes()
    assert [int(code) for code in readme if code.isdigit() and int(code) < 128] == [
        code.value for code in ExitCode
    ]
    assert {"130", "128+N"} <= set(readme)
    for code in ExitCode:
        assert readme[str(code.value)], code  # every code is explained


def _analyze(cwd: Path, *argv: str, env: dict[str, str] | None = None) -> int:
    done = subprocess.run(
        [sys.executable, "-m", "micro_gastown", "analyze", *argv],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=env,
    )
    # one shape for every failure: one error line, whatever the code
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) <= 1, done.stderr
    return done.returncode


SOURCE = ("--source", f"file:{DEMO}")


@pytest.mark.parametrize(
    ("code", "argv"),
    [
        (ExitCode.OK, [*SOURCE, "--output", "r.json"]),
        (ExitCode.FINDINGS, [*SOURCE, "--output", "r.json", "--fail-on", "warning"]),
        (ExitCode.USAGE, [*SOURCE, "--jobs", "0"]),
        (ExitCode.USAGE, [*SOURCE, "--no-such-flag"]),
        (ExitCode.INPUT, ["--source", "file:missing.jsonl"]),
        (ExitCode.INPUT, [*SOURCE, "--repo", "no-such-checkout"]),
        (
            ExitCode.BUDGET,
            [*SOURCE, "--repo", str(REPO), "--llm", "--backend", "replay",
             "--replay", str(REPLAY), "--budget-usd", "0.0001", "--output", "r.json"],
        ),
        (ExitCode.OUTPUT, [*SOURCE, "--output", "no/such/folder/r.json"]),
        (ExitCode.OUTPUT, [*SOURCE, "--output", "full"]),
    ],
    ids=lambda value: value.name if isinstance(value, ExitCode) else None,
)  # fmt: skip
def test_each_code_for_its_reason(code: ExitCode, argv: list[str], tmp_path: Path) -> None:
    make_device(tmp_path / "full", 7)  # a /dev/full of our own: every write fails
    assert _analyze(tmp_path, *argv) == code


def test_a_model_that_cannot_be_reached_is_the_llm_code(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no ANTHROPIC_API_KEY
    argv = [*SOURCE, "--llm", "--backend", "anthropic", "--output", "r.json"]
    assert _analyze(tmp_path, *argv, env=env) == ExitCode.LLM
    assert (tmp_path / "r.json").is_file()  # the deterministic report is still written


def test_an_incomplete_evolve_run_is_its_own_code(tmp_path: Path) -> None:
    config = unfinishable_config(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "micro_gastown", "evolve", *SOURCE, "--runs-dir", "runs",
         "--config-dir", str(config)],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    # the formula's last step runs a skill that is not built: the run stops there, resumable
    assert done.returncode == ExitCode.INCOMPLETE, done.stderr
    assert f"{UNFINISHABLE_STEP}: failed: {UNFINISHABLE_ERROR}" in done.stderr
    assert "resume with: micro-gastown evolve --resume" in done.stdout


def test_a_refine_with_no_change_it_may_file_is_its_own_code(tmp_path: Path) -> None:
    """Not an error (the JSON says why): without cabal the change is not validated, so
    nothing may be filed, and a CI job must not file the empty patch."""
    with isolated(tmp_path):
        sample = make_sample(tmp_path / "sample")
        env = {**os.environ, "PATH": only_programs(tmp_path / "bin", "git")}
    replay = ROOT / "examples" / "llm" / "conditional-refiner.replay.json"
    done = subprocess.run(
        [sys.executable, "-m", "micro_gastown", "refine", "--input", str(sample.report_path),
         "--repo", str(sample.checkout), "--output", "changes.diff",
         "--backend", "replay", "--replay", str(replay)],
        capture_output=True, text=True, check=False, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert done.returncode == ExitCode.NO_CHANGE == 8, done.stderr
    assert "error:" not in done.stderr
    assert (tmp_path / "changes.diff").read_bytes() == b""
    assert (tmp_path / "changes.json").is_file()
