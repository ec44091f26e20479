"""Start-up: a command imports what it runs, not every command's dependencies.

Every run pays for its imports before it reads a line, and the analyzer's speed is
measured against a bare parse of the export (README, "Performance"): scipy (the rollback
judge) or PyGithub (the PR filer) cost a file's analysis a second or more of nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "logs" / "exomonad-sample.jsonl.gz"

_PROBE = """
import json, sys
from micro_gastown.cli import main
code = main(sys.argv[1:])
heavy = ("scipy", "github", "httpx", "rich", "micro_gastown.refine", "micro_gastown.watch")
print(json.dumps({"code": code, "loaded": sorted(m for m in heavy if m in sys.modules)}))
"""


def _loaded_by(*argv: str, cwd: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        timeout=120,
    )
    last = done.stdout.strip().splitlines()[-1]
    result: dict[str, object] = json.loads(last)
    return result


def test_analyzing_a_file_imports_no_github_scipy_http_client_or_terminal_display(
    tmp_path: Path,
) -> None:
    out = tmp_path / "report.json"
    probe = _loaded_by("analyze", "--source", f"file:{SAMPLE}", "--output", str(out), cwd=tmp_path)
    assert probe == {"code": 0, "loaded": []}
    assert json.loads(out.read_text())["patterns"]  # it did analyze


def test_the_full_help_still_lists_every_command(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "micro_gastown", "--help"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=120,
    )
    for command in ("analyze", "evolve", "file-pr", "logs", "refine", "rollback-check"):
        assert command in done.stdout


def test_a_command_named_runs_with_its_own_options(tmp_path: Path) -> None:
    """Only the named command's module is imported; its parser is whole."""
    done = subprocess.run(
        [sys.executable, "-m", "micro_gastown", "rollback-check", "--help"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0
    assert "--watch-days" in done.stdout
