"""Formula files in both forms: what loading rejects, and the input/var binding the engine
uses."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from micro_gastown.config import (
    DagFormula,
    SkillFormula,
    load_config,
    load_formula,
    resolve_vars,
    validate_dirs,
)
from micro_gastown.errors import ConfigError

Edit = Callable[[Path, str, str], Path]
ROOT = Path(__file__).resolve().parents[3]


def _problems(config_dir: Path) -> list[tuple[str, str, str]]:
    return [(p.path.name, p.where, p.message) for p in validate_dirs([config_dir])]


@pytest.mark.parametrize(
    ("skill", "old", "new", "where", "message"),
    [
        pytest.param(
            "refine",
            "timeout_seconds = 3600",
            'timeout_seconds = "20m"',
            "execution.timeout_seconds",
            "should be an integer, got string '20m'",
            id="wrong-type",
        ),
        pytest.param(
            "refine",
            "retry_count = 1",
            "retry_count = 1\nretries = 3",
            "execution.retries",
            "unknown key",
            id="unknown-key",
        ),
        pytest.param(
            "refine",
            'version = "2.0.0"',
            "version = 2",
            "formula.version",
            "should be a string, got integer 2",
            id="dag-style-version",
        ),
        pytest.param(
            "refine",
            'optional = ["patterns", "exclude", "max_prs", "allow_unvalidated"]',
            'optional = ["patterns", "exclude", "max_prs", "allow_unvalidated", "dry_run"]',
            "input.optional[4]",
            "'dry_run' has no [input.dry_run] table",
            id="listed-without-table",
        ),
        pytest.param(
            "refine",
            'optional = ["patterns", "exclude", "max_prs", "allow_unvalidated"]',
            'optional = ["patterns", "exclude", "allow_unvalidated"]',
            "input.max_prs",
            "not listed in input.required or input.optional",
            id="table-without-listing",
        ),
        pytest.param(
            "refine",
            'optional = ["patterns", "exclude", "max_prs", "allow_unvalidated"]',
            'optional = ["patterns", "exclude", "max_prs", "allow_unvalidated", "pattern_report"]',
            "input.optional[4]",
            "'pattern_report' is already listed in input.required",
            id="listed-twice",
        ),
        pytest.param(
            "refine",
            "default = 1\n",
            "default = 1.5\n",
            "input.max_prs.default",
            "default should be an integer, got float 1.5",
            id="default-type",
        ),
        pytest.param(
            "analyze",
            'type = "boolean"',
            'type = "enum"',
            "input.llm.values",
            "an enum input needs a non-empty list of values",
            id="enum-without-values",
        ),
        pytest.param(
            "refine",
            'type = "integer"',
            'type = "integer"\nvalues = ["1"]',
            "input.max_prs.values",
            "values only apply to enum inputs, not integer",
            id="values-on-integer",
        ),
        pytest.param(
            "refine",
            'schema = "PatternReport"',
            'schema = "Report"',
            "input.pattern_report.schema",
            "unknown schema 'Report'",
            id="unknown-input-schema",
        ),
        pytest.param(
            "analyze",
            'type = "duration"',
            'type = "duration"\ndefault = "yesterday"',
            "input.since.default",
            "'yesterday' is neither a duration (24h, 7d, 1h30m) nor an RFC 3339 time",
            id="bad-duration-default",
        ),
        pytest.param(
            "analyze",
            'type = "file"',
            'type = "path"',
            "input.repo.type",
            "Input should be 'string', 'duration', 'enum', 'integer', 'file', 'boolean' or 'array'",
            id="unknown-input-type",
        ),
        pytest.param(
            "refine",
            "[steps]\n1 =",
            "[steps]\nfirst =",
            "steps",
            "step keys must be numbers from 1, got 'first'",
            id="unnumbered-step",
        ),
        pytest.param(
            "refine",
            "[steps]\n1 =",
            '[steps]\n"\u00b2" =',
            "steps",
            "step keys must be numbers from 1, got '\u00b2'",
            id="superscript-step",
        ),
        pytest.param(
            "refine",
            'name = "refine"',
            'name = "refiner"',
            "formula.name",
            "'refiner' should match the file name 'refine.formula.toml'",
            id="name-not-file-name",
        ),
        pytest.param(
            "refine",
            'type = "ProposedChanges"',
            'type = "PRResult"',
            "output.type",
            "'PRResult', but polecat 'conditional-refiner' answers with 'ProposedChanges'",
            id="output-not-polecat-schema",
        ),
    ],
)
def test_a_broken_skill_formula_names_table_and_key(
    config_dir: Path, edit: Edit, skill: str, old: str, new: str, where: str, message: str
) -> None:
    edit(config_dir / "formulas" / f"{skill}.formula.toml", old, new)
    problems = _problems(config_dir)
    assert len(problems) == 1, problems
    assert problems[0][:2] == (f"{skill}.formula.toml", where)
    assert message in problems[0][2]


def _dag(config_dir: Path, name: str, edits: list[tuple[str, str]]) -> Path:
    text = (config_dir / "formulas" / "evolve.formula.toml").read_text()
    text = text.replace('formula = "evolve"', f'formula = "{name}"')
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = config_dir / "formulas" / f"{name}.formula.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("edits", "where", "message"),
    [
        pytest.param(
            [('needs = ["analyze"]', 'needs = ["analyze", "refine"]')],
            "steps[1].needs",
            "step 'refine' needs itself",
            id="self-need",
        ),
        pytest.param(
            [("version = 1", "version = 0")],
            "version",
            "greater than or equal to 1, got integer 0",
            id="version-zero",
        ),
        pytest.param(
            [('type = "workflow"', 'type = "pipeline"')],
            "type",
            "Input should be 'workflow', 'expansion', 'aspect' or 'convoy'",
            id="unknown-type",
        ),
        pytest.param(
            [('type = "workflow"', 'extends = "base-workflow"')],
            "extends[0]",
            "unknown formula 'base-workflow'",
            id="unknown-extends",
        ),
        pytest.param(
            [('pattern = "[0-9]+"', 'pattern = "[0-9"')],
            "vars.max_prs.pattern",
            "not a regular expression",
            id="bad-pattern",
        ),
        pytest.param(
            [('default = "1"\npattern', 'default = "one"\npattern')],
            "vars.max_prs.default",
            "default 'one' does not match pattern '[0-9]+'",
            id="default-not-matching",
        ),
        pytest.param(
            [("{{steps.analyze.output}}", "{{steps.file-pr.output}}")],
            "steps[1].with.pattern_report",
            "step 'file-pr' is not among this step's needs",
            id="output-of-a-later-step",
        ),
        pytest.param(
            [("{{steps.analyze.output}}", "{{ steps.analyze }}")],
            "steps[1].with.pattern_report",
            "'{{ steps.analyze }}' is not a placeholder",
            id="malformed-placeholder",
        ),
        pytest.param(
            [('skill = "file-pr"\n', 'skill = "file-pr"\ncondition = "{{dryrun}} == true"\n')],
            "steps[2].condition",
            "unknown var 'dryrun' in '{{dryrun}} == true'",
            id="condition-unknown-var",
        ),
        pytest.param(
            [('skill = "file-pr"\n', "")],
            "steps[2].with",
            "only a step that runs a skill takes inputs",
            id="inputs-without-skill",
        ),
        pytest.param(
            [
                (
                    'max_prs = "{{max_prs}}"\nexclude',
                    'max_prs = "three"\nexclude',
                )
            ],
            "steps[1].with.max_prs",
            "should be an integer, got string 'three'",
            id="literal-input-of-wrong-type",
        ),
        pytest.param(
            [('pattern_report = "{{steps.analyze.output}}"\n', "")],
            "steps[1].with",
            "skill 'refine' needs input 'pattern_report'",
            id="required-input-not-given",
        ),
        pytest.param(
            [('[[steps]]\nid = "analyze"', '[[steps]]\nid = "analyze step"')],
            "steps[0].id",
            "String should match pattern",
            id="bad-id",
        ),
        pytest.param(
            [('since = "{{since}}"', 'since = { value = "24h" }')],
            "steps[0].with.since",
            "should be a string, number, boolean or array of them",
            id="table-input",
        ),
    ],
)
def test_a_broken_dag_formula_names_where(
    config_dir: Path, edits: list[tuple[str, str]], where: str, message: str
) -> None:
    _dag(config_dir, "broken", edits)
    problems = _problems(config_dir)
    assert len(problems) == 1, problems
    assert problems[0][:2] == ("broken.formula.toml", where)
    assert message in problems[0][2]


def test_a_bare_string_var_is_its_default_and_type_defaults_to_workflow(config_dir: Path) -> None:
    path = _dag(
        config_dir,
        "bare",
        [
            ('type = "workflow"\n', ""),
            (
                '[vars.since]\ndescription = "Start',
                '[vars]\nsince = "7d"\n\n[vars.ignored]\ndescription = "Start',
            ),
        ],
    )
    formula = load_formula(path)
    assert isinstance(formula, DagFormula)
    assert formula.type == "workflow"
    assert formula.vars["since"].default == "7d"


def test_a_formula_in_neither_form_is_one_problem(config_dir: Path) -> None:
    (config_dir / "formulas" / "odd.formula.toml").write_text('name = "odd"\n')
    assert _problems(config_dir) == [
        (
            "odd.formula.toml",
            "formula",
            'expected a [formula] table (skill formula) or formula = "name" (DAG formula)',
        )
    ]


def test_load_formula_checks_references_against_its_own_directory(
    config_dir: Path, edit: Edit
) -> None:
    (config_dir / "polecats" / "my-refiner.toml").write_text(
        (config_dir / "polecats" / "conditional-refiner.toml")
        .read_text()
        .replace('name = "conditional-refiner"', 'name = "my-refiner"')
    )
    path = edit(
        config_dir / "formulas" / "refine.formula.toml",
        'polecat = "conditional-refiner"',
        'polecat = "my-refiner"',
    )
    skill = load_formula(path)
    assert isinstance(skill, SkillFormula)
    assert skill.execution.polecat == "my-refiner"
    with pytest.raises(ConfigError, match=r"execution\.polecat: unknown polecat 'my-refiner'"):
        load_formula(path, config_dirs=[ROOT])


def test_load_config_layers_a_user_directory_over_the_shipped_one(tmp_path: Path) -> None:
    (tmp_path / "formulas").mkdir()
    evolve = (ROOT / "formulas" / "evolve.formula.toml").read_text()
    (tmp_path / "formulas" / "evolve.formula.toml").write_text(
        evolve.replace('default = "24h"', 'default = "6h"')
    )
    config = load_config([tmp_path])
    assert config.workflow("evolve").vars["since"].default == "6h"
    assert config.files["formulas/evolve.formula.toml"] == tmp_path / "formulas/evolve.formula.toml"
    assert config.skill("refine").execution.polecat == "conditional-refiner"
    with pytest.raises(ConfigError, match="no skill formula named 'evolve'"):
        config.skill("evolve")


def test_load_config_raises_listing_every_problem(tmp_path: Path) -> None:
    (tmp_path / "polecats").mkdir()
    (tmp_path / "polecats" / "a.toml").write_text("[polecat\n")
    (tmp_path / "polecats" / "b.toml").write_text("x = 1\n")
    with pytest.raises(ConfigError) as caught:
        load_config([tmp_path])
    text = str(caught.value)
    assert "a.toml: line 1, column 9: invalid TOML" in text
    assert "b.toml: x: unknown key" in text
    assert "b.toml: polecat: required key is missing" in text


# --- binding inputs and vars (what the engine calls) ------------------------------------


def test_bind_inputs_reads_substituted_text_in_each_inputs_type() -> None:
    config = load_config()
    analyze = config.skill("analyze")
    bound = analyze.bind_inputs({"since": "7d", "until": "", "llm": "yes"})
    assert bound == {"since": "7d", "source": "loki", "llm": True}
    refine = config.skill("refine")
    bound = refine.bind_inputs({"pattern_report": "r.json", "max_prs": "3", "exclude": "a,b"})
    assert bound == {
        "pattern_report": "r.json",
        "patterns": [],
        "exclude": ["a", "b"],
        "max_prs": 3,
        "allow_unvalidated": False,
    }
    assert config.skill("file-pr").bind_inputs({"proposed_changes": "c.json", "dry_run": True}) == {
        "proposed_changes": "c.json",
        "dry_run": True,
        "max_prs": 1,
        "llm": False,
    }


def test_bind_inputs_names_every_problem() -> None:
    analyze = load_config().skill("analyze")
    with pytest.raises(ConfigError) as caught:
        analyze.bind_inputs({"since": "", "llm": "perhaps", "window": "1h"})
    assert str(caught.value) == (
        "formula 'analyze': unknown input 'window'; input 'since' is required; "
        "input 'llm': should be a boolean (true or false), got string 'perhaps'"
    )


def test_resolve_vars_applies_defaults_and_checks_enum_and_pattern() -> None:
    evolve = load_config().workflow("evolve")
    assert resolve_vars(evolve, {"since": "7d"}) == {
        "since": "7d",
        "until": "",
        "llm": "false",
        "dry_run": "false",
        "max_prs": "1",
        "exclude": "",
    }
    with pytest.raises(ConfigError) as caught:
        resolve_vars(evolve, {"dry_run": "yes", "max_prs": "two", "sincе": "1h"})
    assert str(caught.value) == (
        "formula 'evolve': unknown var 'sincе'; var 'dry_run': 'yes' is not one of 'true', "
        "'false'; var 'max_prs': 'two' does not match '[0-9]+'"
    )


def test_resolve_vars_requires_required_vars(config_dir: Path) -> None:
    path = _dag(config_dir, "needy", [('default = "24h"', "required = true")])
    formula = load_formula(path)
    assert isinstance(formula, DagFormula)
    with pytest.raises(ConfigError, match="var 'since' is required"):
        resolve_vars(formula, {})
    assert resolve_vars(formula, {"since": "1h"})["since"] == "1h"


def test_an_unreadable_override_is_reported_once_not_where_it_is_used(tmp_path: Path) -> None:
    (tmp_path / "formulas").mkdir()
    broken = tmp_path / "formulas" / "refine.formula.toml"
    broken.write_text("[formula\n")
    problems = validate_dirs([ROOT, tmp_path])
    assert [(p.path, p.where) for p in problems] == [(broken, "line 1, column 9")]
