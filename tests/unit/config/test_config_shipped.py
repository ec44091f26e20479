"""The shipped polecats, formulas and schemas load, cross-check and match docs/formats.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from micro_gastown.bundled import bundled_root
from micro_gastown.cli import main
from micro_gastown.config import (
    DagFormula,
    SkillFormula,
    load_config,
    load_formula,
    load_polecat,
    topological_order,
    validate_dirs,
)
from micro_gastown.config.polecat import load_thresholds

ROOT = Path(__file__).resolve().parents[3]
POLECATS = sorted((ROOT / "polecats").glob("*.toml"))
FORMULAS = sorted((ROOT / "formulas").glob("*.formula.toml"))


def test_the_shipped_set_is_the_one_this_issue_promises() -> None:
    for folder in ("polecats", "formulas", "schemas"):
        assert (bundled_root() / folder).resolve() == ROOT / folder
    assert [p.stem for p in POLECATS] == ["conditional-refiner", "log-analyzer", "pr-filer"]
    assert [p.name for p in FORMULAS] == [
        "analyze.formula.toml",
        "evolve.formula.toml",
        "file-pr.formula.toml",
        "refine.formula.toml",
    ]


@pytest.mark.parametrize("path", POLECATS, ids=lambda p: p.stem)
def test_each_shipped_polecat_loads(path: Path) -> None:
    polecat = load_polecat(path)
    assert polecat.name == path.stem
    assert polecat.model.provider == "anthropic"
    assert "haiku" in polecat.model.name
    assert "untrusted" in polecat.system_prompt


@pytest.mark.parametrize("path", FORMULAS, ids=lambda p: p.name)
def test_each_shipped_formula_loads(path: Path) -> None:
    formula = load_formula(path)
    assert formula.name == path.name.removesuffix(".formula.toml")


def test_validate_finds_no_problem_in_the_repository() -> None:
    assert validate_dirs([ROOT]) == []


def test_validate_command_passes_on_the_repository(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 0
    assert capsys.readouterr().out == "10 files checked: no problems\n"


def test_log_analyzer_thresholds_read_the_same_as_analyze_reads_them() -> None:
    polecat = load_polecat(ROOT / "polecats" / "log-analyzer.toml")
    assert polecat.thresholds == load_thresholds()
    assert polecat.schedule is not None
    assert (polecat.schedule.trigger, polecat.schedule.lookback) == ("daily", "24h")


def test_conditional_refiner_guards_ci_locks_and_secrets() -> None:
    refiner = load_polecat(ROOT / "polecats" / "conditional-refiner.toml")
    assert refiner.polecat.role == "modifier"
    assert refiner.output.schema_name == "ProposedChanges"
    guardrails = refiner.guardrails
    assert guardrails is not None
    assert (guardrails.max_files_changed, guardrails.max_lines_changed) == (5, 200)
    assert guardrails.require_pattern_link
    assert {".github/**", "**/*.lock", "**/.env", "**/*.pem", "**/*secret*"} <= set(
        guardrails.forbidden_paths
    )
    assert refiner.validation is not None
    assert refiner.validation.require_typecheck


def test_pr_filer_files_drafts_on_sleeptime_branches() -> None:
    filer = load_polecat(ROOT / "polecats" / "pr-filer.toml")
    assert filer.polecat.role == "committer"
    assert filer.git is not None
    assert filer.pr is not None
    assert (filer.git.base_branch, filer.git.branch_prefix) == ("main", "sleeptime/")
    assert filer.pr.labels == ["sleeptime", "auto-generated"]
    assert filer.pr.assignees == []
    assert filer.pr.draft


def test_skill_formulas_run_their_polecats_and_produce_their_schemas() -> None:
    config = load_config()
    pairs = {
        name: (skill.execution.polecat, skill.output.type) for name, skill in config.skills.items()
    }
    assert pairs == {
        "analyze": ("log-analyzer", "PatternReport"),
        "refine": ("conditional-refiner", "ProposedChanges"),
        "file-pr": ("pr-filer", "PRResult"),
    }
    assert set(config.schemas) == {"PatternReport", "ProposedChanges", "PRResult"}


def test_skill_inputs_are_the_promised_ones() -> None:
    config = load_config()
    analyze, refine, file_pr = (config.skill(n) for n in ("analyze", "refine", "file-pr"))
    assert set(analyze.input.specs) == {"since", "until", "source", "repo", "llm"}
    assert refine.input.specs["pattern_report"].type == "file"
    assert refine.input.specs["pattern_report"].schema_name == "PatternReport"
    assert {"pattern_report", "patterns", "exclude", "max_prs", "allow_unvalidated"} == set(
        refine.input.specs
    )
    assert file_pr.input.specs["proposed_changes"].type == "file"
    assert file_pr.input.specs["dry_run"].default is False


def test_evolve_is_analyze_then_refine_then_file_pr_unless_dry_run() -> None:
    evolve = load_formula(ROOT / "formulas" / "evolve.formula.toml")
    assert isinstance(evolve, DagFormula)
    assert {name: spec.default for name, spec in evolve.vars.items()} == {
        "since": "24h",
        "until": "",
        "llm": "false",
        "dry_run": "false",
        "max_prs": "1",
        "exclude": "",
    }
    steps = topological_order(evolve)
    assert [(s.id, s.skill, s.needs) for s in steps] == [
        ("analyze", "analyze", []),
        ("refine", "refine", ["analyze"]),
        ("file-pr", "file-pr", ["refine"]),
    ]
    # a dry run still runs file-pr, which then writes what it would file and files nothing
    assert steps[2].condition is None
    assert steps[2].inputs == {
        "proposed_changes": "{{steps.refine.output}}",
        "max_prs": "{{max_prs}}",
        "dry_run": "{{dry_run}}",
        "llm": "{{llm}}",
    }
    assert steps[1].inputs == {
        "pattern_report": "{{steps.analyze.output}}",
        "max_prs": "{{max_prs}}",
        "exclude": "{{exclude}}",
    }


def test_load_formula_tells_the_two_forms_apart() -> None:
    assert isinstance(load_formula(ROOT / "formulas" / "refine.formula.toml"), SkillFormula)
    assert isinstance(load_formula(ROOT / "formulas" / "evolve.formula.toml"), DagFormula)
