"""The demo's refine setting for the refine tests: its report, a git copy of the sample
checkout, scripted model answers and refine formulas with must_pass commands of our own.

Everything lives in a directory the test gives (a pytest tmp_path), with git that reads
no config of this machine (:func:`isolated`): the demo tool's :func:`demo_checkout` then
makes the same commit, and the same prompts, as ``make demo-refine`` did when it wrote
the committed replay file.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest

from micro_gastown.app.refine import RefineRequest, refine
from micro_gastown.atomicfile import write_atomic
from micro_gastown.bundled import bundled_root
from micro_gastown.report.model import PatternReport
from micro_gastown.testing.demo_refine import (
    ANSWERS,
    demo_checkout,
    demo_report,
    read_answers,
)
from micro_gastown.testing.scripted import ScriptedAnswers

SLOW: Final = "slow-llm-summarize-claude-haiku-4-5-b57e1420da"
"""The demo's first finding (critical, the most severe): a template change."""
SCHEMA: Final = "repeated-error-schema-validation-failed-for-field-expec-f5b38ef9ac"
"""The demo's second finding: schema errors of classify, a Types.hs change."""
FAILED_TRANSITION: Final = "failed-transition-route-refund-c90cce76ae"
"""route -> refund fails; its context is the refund handler (Handlers.hs)."""
DEAD_PATH: Final = "dead-path-route-escalate-032b8e528a"
"""route never takes its Goto "escalate" (declared in Types.hs' RouteEffects)."""
INFO_ONLY: Final = "dead-path-refund-escalate-80506d5a62"
"""The report's one info-level finding: never refined."""

_GIT_REPOSITORY_VARIABLES: Final = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")


@contextmanager
def isolated(directory: Path) -> Iterator[pytest.MonkeyPatch]:
    """git that reads no config of this machine and finds no repository above
    ``directory``; temporary files (refine's worktrees, the demo's copies) under it, in
    this process and in the ones it starts."""
    scratch = directory / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    config = directory / "gitconfig"
    config.write_text("")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GIT_CONFIG_GLOBAL", str(config))
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        patch.setenv("GIT_CEILING_DIRECTORIES", str(directory))
        for name in _GIT_REPOSITORY_VARIABLES:
            patch.delenv(name, raising=False)
        patch.setenv("TMPDIR", str(scratch))
        patch.setattr(tempfile, "tempdir", str(scratch))
        yield patch


@dataclass(frozen=True)
class Sample:
    """The demo's PatternReport (and its file) and a fresh git copy of the checkout."""

    report: PatternReport
    report_path: Path
    checkout: Path

    def request(self, *patterns: str, **settings: Any) -> RefineRequest:
        """A request for ``patterns`` (in the report's order: most severe first)."""
        return RefineRequest(
            report=self.report_path,
            repo=self.checkout,
            patterns=patterns,
            max_prs=max(1, len(patterns)),
            **settings,
        )


def make_sample(directory: Path) -> Sample:
    """The demo's report and checkout under ``directory`` (call it :func:`isolated`)."""
    directory.mkdir(parents=True, exist_ok=True)
    report, path = demo_report(directory)
    return Sample(report, path, demo_checkout(directory))


def fresh_copy(directory: Path) -> Path:
    """Another git copy of the sample checkout, untouched, for ``git apply``."""
    directory.mkdir(parents=True)
    return demo_checkout(directory)


def edit(pattern_id: str, path: str, old: str, new: str) -> dict[str, Any]:
    """A model answer with one exact-text edit, citing ``pattern_id``."""
    return {
        "edits": [
            {
                "path": path,
                "old_text": old,
                "new_text": new,
                "rationale": f"A change for {pattern_id}, written by a test.",
                "pattern_ids": [pattern_id],
            }
        ],
        "summary": "A test's change.",
        "confidence": "low",
    }


def demo_answers() -> dict[str, Any]:
    """The hand-written answers the demo replays (examples/llm/)."""
    return read_answers(ANSWERS)[1]


def scripted(answers: dict[str, Any]) -> ScriptedAnswers:
    """A model that answers each finding's prompt with ``answers[pattern id]``."""
    return ScriptedAnswers(answers, "Scripted by a test, not a model's answer.")


def record_replay(sample: Sample, answers: dict[str, Any], path: Path) -> Path:
    """A replay file holding ``answers`` keyed on the exact requests refine sends for them
    (as ``make demo-refine`` records the demo's), so the CLI can replay them."""
    backend = scripted(answers)
    patterns = tuple(p.id for p in sample.report.patterns if p.id in answers)
    refine(sample.request(*patterns, run_must_pass=False), backend=backend)
    assert len(backend.entries) == len(answers), "an answer fits no refine prompt"
    write_atomic(path, json.dumps(backend.entries, indent=2).encode("utf-8") + b"\n")
    return path


def config_with_must_pass(directory: Path, commands: Sequence[str]) -> Path:
    """A configuration dir whose refine formula is the bundled one with these
    ``must_pass`` commands instead of cabal's."""
    formulas = directory / "formulas"
    formulas.mkdir(parents=True)
    text = (bundled_root() / "formulas" / "refine.formula.toml").read_text(encoding="utf-8")
    line = re.compile(r"^must_pass = .*$", re.MULTILINE)
    assert len(line.findall(text)) == 1, "the bundled refine formula changed its must_pass"
    replaced = line.sub(lambda _: f"must_pass = {json.dumps(list(commands))}", text)
    (formulas / "refine.formula.toml").write_text(replaced, encoding="utf-8")
    return directory
