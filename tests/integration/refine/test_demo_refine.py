"""The refine half of ``make demo``: its committed replay file is current, and the demo shows
each finding, its diff and the validation."""

from __future__ import annotations

import io
import json
import os
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from ghc import only_programs
from micro_gastown.app.refine import RefineResult
from micro_gastown.testing import demo_refine
from micro_gastown.testing.demo_review import ROOT
from refinesample import SCHEMA, SLOW, isolated


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    with isolated(tmp_path) as patch:
        yield patch


def test_the_committed_replay_file_is_current(tmp_path: Path, sandbox: pytest.MonkeyPatch) -> None:
    """The replay is keyed on the exact requests refine sends: a change of the prompt, the
    context code chooses, the sample checkout or the polecat changes the keys."""
    fresh = tmp_path / "replay.json"
    demo_refine.write_replay(demo_refine.ANSWERS, fresh)
    assert json.loads(fresh.read_text()) == json.loads(demo_refine.REPLAY.read_text()), (
        "examples/llm/conditional-refiner.replay.json is stale: run `make demo-refine`"
    )


def demo_recipe() -> list[list[str]]:
    """The commands of the Makefile's demo recipe, each as its words."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    commands: list[list[str]] = []
    current = ""
    for line in lines[lines.index("demo: $(STAMP)") + 1 :]:
        if not line.startswith("\t"):
            break
        current += line.strip().removesuffix("\\") + " "
        if not line.endswith("\\"):
            commands.append(shlex.split(current))
            current = ""
    return commands


def test_make_demo_runs_the_refine_demo_after_analyze() -> None:
    commands = demo_recipe()
    assert commands[-1] == [
        "$(BIN)/python", "-m", "micro_gastown.testing.demo_refine", "run", "--pr-out", "demo-pr",
    ]  # fmt: skip
    assert commands[0][:2] == ["$(BIN)/micro-gastown", "analyze"]


def test_the_demo_shows_each_finding_its_diff_and_the_validation(
    tmp_path: Path, sandbox: pytest.MonkeyPatch
) -> None:
    # Without cabal (the real builds are test_validation_ghc's): "not validated", said so.
    sandbox.setenv("PATH", only_programs(tmp_path / "bin", "git"))
    out = io.StringIO()
    pr_out = tmp_path / "demo-pr"
    assert demo_refine.run_demo(out, pr_out=pr_out) == 0
    text, pr = out.getvalue().split("\n## File-pr (dry run): ", 1)
    assert text.startswith("\n## Refine (replayed, hand-written Haiku answers)\n")
    slow, schema = text.split(f"### {SLOW}\n", 1)[1].split(f"### {SCHEMA}\n")
    assert slow.startswith("finding: slow_llm, critical, ")
    assert '"p95_ms": 7149' in slow.splitlines()[0]
    assert "status: not_validated\n" in slow
    assert "```diff\ndiff --git a/templates/summarize.jinja b/templates/summarize.jinja\n" in slow
    assert '+Address them as "{{ customer_name }}", keep it under 60 words' in slow
    assert "- static: passed\n" in slow
    assert "- cabal build all: not_run (not validated: `cabal` is not installed" in slow
    assert "=> not validated: `cabal` is not installed (not on PATH)\n" in slow
    assert schema.startswith("finding: repeated_error, warning, ")
    assert "+  , priority :: Maybe Text" in schema
    assert "- static: passed\n" in schema
    assert text.rstrip().splitlines()[-1].startswith("model: ")
    assert text.rstrip().endswith("(recorded estimates, no call made)")
    # then the PR a maintainer would get, as a dry run: written to a folder and printed
    branch = (pr_out / "branch.txt").read_text().strip()
    assert pr.startswith(f"{branch}\n")
    assert branch.startswith("sleeptime/")
    assert branch.split("-")[3:5] == ["slow", "llm"]
    body = (pr_out / "body.md").read_text()
    assert body in pr
    for section in ("## Summary", "## Changes", "## Evidence", "## Expected Impact",
                    "## Validation", "## Rollback"):  # fmt: skip
        assert section in body
    assert body.count("```mermaid\n") == 2  # the finding's series and its graph neighbourhood
    assert "not validated" in body
    assert "<!-- micro-gastown:metadata" in body
    assert (pr_out / "changes.diff").read_text().startswith("diff --git a/templates/summarize")
    assert json.loads((pr_out / "api-calls.json").read_text())[0]["method"] == "GIT"


def test_the_demo_validates_with_a_cabal_of_its_own_that_names_no_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make demo` runs offline: a cabal without a configuration would write one naming
    Hackage and fetch its index before building (and would write to ~/.cabal)."""
    environ = demo_refine.offline_cabal(tmp_path)
    cabal_dir = Path(environ["CABAL_DIR"])
    assert cabal_dir.parent == tmp_path
    assert (cabal_dir / "config").read_text() == ""
    assert environ["PATH"] == os.environ["PATH"]

    seen: list[tuple[str, str]] = []

    def refine_spy(request: object, *, environ: dict[str, str]) -> RefineResult:
        config = Path(environ["CABAL_DIR"]) / "config"
        seen.append((environ["CABAL_DIR"], config.read_text()))
        return RefineResult((), ())

    monkeypatch.setattr(demo_refine, "refine", refine_spy)
    assert demo_refine.run_demo(io.StringIO()) == 0
    [(used, config_text)] = seen  # the demo's refine got the offline cabal
    assert config_text == ""
    assert Path(used).name == "cabal"
    assert not Path(used).exists()  # and it went with the demo's temporary directory
