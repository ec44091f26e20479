"""The wheel stands alone: installed into a fresh virtualenv outside the checkout, with the
checkout out of sight, it validates its bundled configuration, analyzes with a replayed
review and runs the evolve pipeline through analyze and refine.

The shipped polecats, formulas and schemas travel inside the wheel as package data; a
wheel without them used to fail `validate` and `analyze --llm`, and plain `analyze` fell
back to built-in thresholds without a word.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from ghc import only_programs
from refinesample import SLOW, isolated, make_sample

ROOT = Path(__file__).resolve().parents[2]
DEMO_LOGS = ROOT / "examples" / "logs" / "exomonad-sample.jsonl.gz"
DEMO_REPO = ROOT / "examples" / "exomonad-sample"
REPLAY = ROOT / "examples" / "llm" / "log-analyzer-review.replay.json"
REFINE_REPLAY = ROOT / "examples" / "llm" / "conditional-refiner.replay.json"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this checkout, once for the module."""
    dist = tmp_path_factory.mktemp("dist")
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
    subprocess.run(
        [*build, "--no-build-isolation", "--wheel-dir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = dist.glob("micro_gastown-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv holding the wheel; its bin folder."""
    work = tmp_path_factory.mktemp("wheel")
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run(
        [*install, str(wheel), "--constraint", str(ROOT / "requirements.lock")],
        capture_output=True,
        text=True,
        check=False,
        cwd=work,
    )
    assert done.returncode == 0, done.stderr
    return env_dir / "bin"


def _run(
    bin_dir: Path, cwd: Path, *argv: str, path: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed command, found first on PATH (``path`` in place of this PATH)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '') if path is None else path}"
    return subprocess.run(
        [str(bin_dir / "micro-gastown"), *argv],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=env,
    )


def test_the_wheel_carries_the_bundled_configuration(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("polecats", "formulas", "schemas"):  # schemas/state/ too
        shipped = {p.relative_to(ROOT / folder).as_posix() for p in (ROOT / folder).rglob("*")}
        shipped = {name for name in shipped if (ROOT / folder / name).is_file()}
        prefix = f"micro_gastown/bundled/{folder}/"
        packed = {n.removeprefix(prefix) for n in names if n.startswith(prefix)}
        assert packed == shipped, folder


def test_installed_outside_the_checkout_it_runs_from_its_own_files(
    installed: Path, tmp_path: Path
) -> None:
    probe = subprocess.run(
        [str(installed / "python"), "-c",
         "import micro_gastown, micro_gastown.bundled as b; "
         "print(micro_gastown.__file__); print(b.bundled_root())"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    )  # fmt: skip
    module, bundled = probe.stdout.splitlines()
    assert not Path(module).resolve().is_relative_to(ROOT)
    assert not Path(bundled).resolve().is_relative_to(ROOT)

    validated = _run(installed, tmp_path, "validate")
    assert validated.returncode == 0, validated.stderr
    assert validated.stdout == "10 files checked: no problems\n"


def test_installed_analyze_with_a_replayed_review(installed: Path, tmp_path: Path) -> None:
    done = _run(
        installed, tmp_path, "analyze", "--source", f"file:{DEMO_LOGS}", "--repo", str(DEMO_REPO),
        "--llm", "--backend", "replay", "--replay", str(REPLAY), "--output", "patterns.json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "patterns.json").read_text())
    assert report["summary"]["total_patterns"] == 9
    [reviewed] = [n for n in report["metadata"]["notes"] if "sharpened by claude-haiku" in n]
    assert "$0.0053" in reviewed  # the replayed answer, priced


def test_installed_evolve_dry_run_analyzes_and_refines(installed: Path, tmp_path: Path) -> None:
    """The wheel's own polecat and formula send the very requests the demo recorded, so its
    replay file answers them; without cabal on PATH the change is "not validated"."""
    with isolated(tmp_path):
        sample = make_sample(tmp_path / "sample")
        done = _run(
            installed, tmp_path, "evolve", "--dry-run", "--source", f"file:{DEMO_LOGS}",
            "--repo", str(sample.checkout), "--runs-dir", "runs",
            "--backend", "replay", "--replay", str(REFINE_REPLAY),
            path=only_programs(tmp_path / "bin", "git"),
        )  # fmt: skip
    (state_path,) = (tmp_path / "runs").glob("*/run.json")
    steps = json.loads(state_path.read_text())["steps"]
    assert steps["analyze"]["status"] == "completed", done.stderr
    assert steps["analyze"]["outputs"]["patterns"] > 0
    assert steps["refine"]["status"] == "completed", done.stderr
    [proposal] = steps["refine"]["outputs"]["proposals"]
    assert (proposal["pattern_id"], proposal["status"]) == (SLOW, "not_validated")
    assert proposal["validation"] == "not validated: `cabal` is not installed (not on PATH)"
    # not validated is not fileable: the dry run's file-pr step completes with nothing to file
    assert steps["file-pr"]["status"] == "completed", done.stderr
    assert steps["file-pr"]["outputs"]["warnings"] == ["refine left nothing to file"]
    assert done.returncode == 0, done.stderr
