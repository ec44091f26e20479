"""`evolve --config-dir` and `analyze --polecat` read the same polecat the same way.

The evolve pipeline's analyze step used to rebuild an `analyze` command line, which had no
way to carry the run's configuration directories: a directory's log-analyzer thresholds were
ignored and the bundled ones used. Both faces now call the application layer, which takes
the polecat the analyze skill formula names in the run's directories.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from micro_gastown.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "logs" / "exomonad-sample.jsonl.gz"
WINDOW = ["--since", "2026-01-01T00:00:00Z", "--until", "2027-01-01T00:00:00Z"]


def _lenient_config(tmp_path: Path) -> Path:
    """A config dir whose log-analyzer polecat needs a million occurrences for a pattern."""
    config = tmp_path / "config"
    (config / "polecats").mkdir(parents=True)
    shipped = (ROOT / "polecats" / "log-analyzer.toml").read_text()
    assert "min_occurrences = 3\n" in shipped
    lenient = shipped.replace("min_occurrences = 3\n", "min_occurrences = 1000000\n")
    (config / "polecats" / "log-analyzer.toml").write_text(lenient)
    return config


def _evolve_patterns(runs: Path, extra: list[str], capsys: pytest.CaptureFixture[str]) -> Any:
    argv = ["evolve", "--source", f"file:{DEMO}", "--runs-dir", str(runs), *WINDOW, *extra]
    assert main(argv) == 0  # no --repo: refine and file-pr complete with nothing to do
    capsys.readouterr()
    (state_path,) = runs.glob("*/run.json")
    outputs = json.loads(state_path.read_text())["steps"]["analyze"]["outputs"]
    report = json.loads(Path(outputs["output"]).read_text())
    return outputs["patterns"], report["patterns"]


def test_evolve_config_dir_thresholds_are_the_ones_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _lenient_config(tmp_path)
    bundled, _ = _evolve_patterns(tmp_path / "bundled", [], capsys)
    assert bundled > 0  # the demo logs have findings under the shipped thresholds
    with_dir, patterns = _evolve_patterns(tmp_path / "own", ["--config-dir", str(config)], capsys)
    counted = [p for p in patterns if p["type"] != "dead_path"]
    assert counted == []  # no count reaches a million
    assert with_dir == len(patterns)

    polecat = config / "polecats" / "log-analyzer.toml"
    argv = ["analyze", "--source", f"file:{DEMO}", *WINDOW, "--polecat", str(polecat)]
    assert main(argv) == 0
    analyzed = json.loads(capsys.readouterr().out)["patterns"]
    assert [p["id"] for p in analyzed] == [p["id"] for p in patterns]
