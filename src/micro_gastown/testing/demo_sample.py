"""The demo's sample, set up the same way for every part of the demo and its recordings:
the bundled logs analyzed, and the bundled checkout copied into a fresh git repository
with one commit of fixed identity and date (so its commit id is the same on every machine,
which the replay files' requests rely on)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from micro_gastown.app.analyzer import AnalyzeRequest, analyze
from micro_gastown.atomicfile import write_atomic
from micro_gastown.errors import ConfigError
from micro_gastown.report.model import PatternReport
from micro_gastown.testing.demo_review import DEMO_LOGS, DEMO_REPO

__all__ = ["GIT_IDENTITY", "IGNORED", "demo_checkout", "demo_report", "read_answers"]

IGNORED = shutil.ignore_patterns("dist-newstyle", ".git")
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "micro-gastown demo",
    "GIT_AUTHOR_EMAIL": "demo@micro-gastown.invalid",
    "GIT_COMMITTER_NAME": "micro-gastown demo",
    "GIT_COMMITTER_EMAIL": "demo@micro-gastown.invalid",
    "GIT_AUTHOR_DATE": "2026-11-21T12:00:00Z",
    "GIT_COMMITTER_DATE": "2026-11-21T12:00:00Z",
}


def demo_report(directory: Path) -> tuple[PatternReport, Path]:
    """The demo analysis (as `make demo` runs it, without the review), written as JSON."""
    report = analyze(AnalyzeRequest(source=f"file:{DEMO_LOGS}", repo=DEMO_REPO)).report
    path = directory / "patterns.json"
    write_atomic(path, report.to_json() + b"\n")
    return report, path


def demo_checkout(directory: Path, source: Path = DEMO_REPO) -> Path:
    """A copy of the bundled checkout as a fresh git repository with one commit."""
    checkout = directory / "exomonad-sample"
    shutil.copytree(source, checkout, ignore=IGNORED, symlinks=True)
    env = {**os.environ, **GIT_IDENTITY}
    for args in (
        ["init", "--quiet", "--initial-branch=main"],
        ["add", "--all"],
        ["-c", "commit.gpgsign=false", "commit", "--quiet", "--no-verify", "-m", "sample"],
    ):
        subprocess.run(
            ["git", "-c", "core.hooksPath=/dev/null", *args],
            cwd=checkout,
            env=env,
            check=True,
            stdin=subprocess.DEVNULL,
        )
    return checkout


def read_answers(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        note, answers = str(data["note"]), dict(data["answers"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{path}: expected a JSON object with 'note' and 'answers' ({exc})"
        ) from None
    return note, answers
