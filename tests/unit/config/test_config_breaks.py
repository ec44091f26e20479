"""Broken copies of the shipped files: each break is one problem naming file, table and key,
and ``validate --config-dir`` lists all of them at once.

Every break is applied to a copy in ``tmp_path``. DAG breaks go into new formula files
(copies of ``evolve`` under another name) so that they never mask each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from micro_gastown.cli import main
from micro_gastown.config import Problem, validate_dirs

Edit = Callable[[Path, str, str], Path]


@dataclass(frozen=True)
class Break:
    id: str
    target: str  # file in the config dir; a new formula name copies evolve
    edits: tuple[tuple[str, str], ...]
    where: str
    message: str

    def apply(self, root: Path, edit: Edit) -> Path:
        path = root / self.target
        if not path.exists():
            name = path.name.removesuffix(".formula.toml")
            evolve = (root / "formulas" / "evolve.formula.toml").read_text()
            path.write_text(evolve.replace('formula = "evolve"', f'formula = "{name}"'))
        for old, new in self.edits:
            edit(path, old, new)
        return path


def _dag(name: str, old: str, new: str, where: str, message: str) -> Break:
    return Break(name, f"formulas/{name}.formula.toml", ((old, new),), where, message)


BREAKS = [
    Break(
        "unknown-key",
        "polecats/log-analyzer.toml",
        (("max_tokens = 4096", "max_tokens = 4096\nmax_token = 5"),),
        "model.max_token",
        "unknown key",
    ),
    Break(  # a dotted key in quotes is one key: the place must not read as two
        "unknown-quoted-dotted-key",
        "polecats/log-analyzer.toml",
        (("max_tokens = 4096", 'max_tokens = 4096\n"max.token" = 5'),),
        'model."max.token"',
        "unknown key",
    ),
    Break(  # what a terminal would not show as text (or would obey) is escaped
        "unknown-key-of-control-characters",
        "polecats/log-analyzer.toml",
        (("max_tokens = 4096", 'max_tokens = 4096\n"\\u001b[2J\\u202e" = 5'),),
        'model."\\u001b[2J\\u202e"',
        "unknown key",
    ),
    Break(
        "wrong-type",
        "polecats/pr-filer.toml",
        (("max_tokens = 4096", 'max_tokens = "4096"'),),
        "model.max_tokens",
        "should be an integer, got string '4096'",
    ),
    Break(
        "unpriced-model",
        "polecats/pr-filer.toml",
        (('name = "claude-haiku-4-5"', 'name = "gpt-4o"'),),
        "model.name",
        "unknown model 'gpt-4o': micro-gastown has no price for it",
    ),
    Break(
        "unknown-tool",
        "polecats/conditional-refiner.toml",
        (("available = []", 'available = ["run_shell"]'),),
        "tools.available[0]",
        "unknown tool 'run_shell'",
    ),
    Break(
        "unknown-schema",
        "formulas/file-pr.formula.toml",
        (('type = "PRResult"', 'type = "PRResults"'),),
        "output.type",
        "unknown schema 'PRResults'",
    ),
    Break(
        "unknown-polecat",
        "formulas/refine.formula.toml",
        (('polecat = "conditional-refiner"', 'polecat = "refiner"'),),
        "execution.polecat",
        "unknown polecat 'refiner'",
    ),
    Break(
        "skill-enum-default",
        "formulas/analyze.formula.toml",
        (
            (
                'type = "string"\ndescription = "Where',
                'type = "enum"\nvalues = ["file", "loki"]\ndescription = "Where',
            ),
            ('default = "loki"', 'default = "elastic"'),
        ),
        "input.source.default",
        "default 'elastic' is not one of 'file', 'loki'",
    ),
    Break(
        "toml-syntax",
        "polecats/log-analyzer.toml",
        (("\n[tools]\n", "\n[tools\n"),),
        "line 24, column 7",
        "invalid TOML",
    ),
    _dag("missing-id", 'id = "refine"\n', "", "steps[1].id", "required key is missing"),
    _dag(
        "duplicate-id",
        'max_prs = "{{max_prs}}"\n',
        'max_prs = "{{max_prs}}"\n\n[[steps]]\nid = "refine"\ntitle = "Again"\n'
        'needs = ["analyze"]\nskill = "refine"\n'
        '\n[steps.with]\npattern_report = "{{steps.analyze.output}}"\n',
        "steps[2].id",
        "duplicate step id 'refine' (also steps[1])",
    ),
    _dag(
        "unknown-need",
        'needs = ["refine"]',
        'needs = ["refine", "review"]',
        "steps[2].needs",
        "step 'file-pr' needs unknown step 'review'",
    ),
    _dag(
        "cycle",
        'id = "analyze"\n',
        'id = "analyze"\nneeds = ["file-pr"]\n',
        "steps[0].needs",
        "needs form a cycle: analyze -> file-pr -> refine -> analyze",
    ),
    _dag(
        "unknown-var",
        "since {{since}}",
        "since {{start}}",
        "steps[0].title",
        "unknown var {{start}}",
    ),
    _dag(
        "bad-condition",
        'skill = "file-pr"',
        'skill = "file-pr"\ncondition = "not {{dry_run}}"',
        "steps[2].condition",
        "condition 'not {{dry_run}}' is not one of",
    ),
    _dag(
        "var-enum-default",
        'default = "false"',
        'default = "maybe"',
        "vars.llm.default",
        "default 'maybe' is not one of 'true', 'false'",
    ),
    _dag(
        "unknown-skill",
        'skill = "refine"',
        'skill = "refiner"',
        "steps[1].skill",
        "unknown skill formula 'refiner'",
    ),
    _dag(
        "unknown-skill-input",
        "pattern_report = ",
        "pattern_idd = 'x'\npattern_report = ",
        "steps[1].with.pattern_idd",
        "skill 'refine' has no input 'pattern_idd'",
    ),
]


@pytest.mark.parametrize("brk", BREAKS, ids=lambda b: b.id)
def test_each_break_is_one_problem_naming_file_table_and_key(
    brk: Break, config_dir: Path, edit: Edit
) -> None:
    path = brk.apply(config_dir, edit)
    problems = validate_dirs([config_dir])
    assert len(problems) == 1, "\n".join(map(str, problems))
    (problem,) = problems
    assert (problem.path, problem.where) == (path, brk.where)
    assert brk.message in problem.message
    assert str(problem).startswith(f"{path}: {brk.where}: ")


def test_validate_lists_every_problem_at_once_and_exits_2(
    config_dir: Path,
    edit: Edit,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A syntax error hides the file's other problems, so that break gets a file of its own.
    for brk in BREAKS:
        if brk.id == "toml-syntax":
            (config_dir / "polecats" / "syntax.toml").write_text("[polecat\n")
        else:
            brk.apply(config_dir, edit)
    monkeypatch.chdir(config_dir)

    assert main(["validate", "--config-dir", str(config_dir)]) == 2

    lines = capsys.readouterr().out.splitlines()
    *reported, summary = lines
    expected = [(b.target, b.where, b.message) for b in BREAKS if b.id != "toml-syntax"]
    expected.append(("polecats/syntax.toml", "line 1, column 9", "invalid TOML"))
    for target, where, message in expected:
        prefix = f"{target}: {where}: "
        assert any(line.startswith(prefix) and message in line for line in reported), prefix
    assert len(reported) == len(expected)
    # 10 shipped files (overridden ones count once), 9 new DAG formulas and syntax.toml.
    assert summary == f"20 files checked: {len(expected)} problems"


def test_a_user_directory_overrides_the_shipped_file_of_the_same_name(
    tmp_path: Path, edit: Edit, capsys: pytest.CaptureFixture[str]
) -> None:
    user = tmp_path / "mine"
    (user / "polecats").mkdir(parents=True)
    broken = user / "polecats" / "pr-filer.toml"
    broken.write_text((Path(__file__).parents[3] / "polecats" / "pr-filer.toml").read_text())
    edit(broken, "draft = true", "draft = 1")

    assert main(["validate", "--config-dir", str(user)]) == 2

    out = capsys.readouterr().out
    assert f"{broken}: pr.draft: should be a boolean (true or false), got integer 1\n" in out
    assert out.endswith("10 files checked: 1 problem\n")


def test_a_missing_or_empty_config_dir_is_a_problem(tmp_path: Path) -> None:
    problems = validate_dirs([tmp_path / "nope", tmp_path])
    assert problems == [
        Problem(tmp_path / "nope", "", "no such directory"),
        Problem(tmp_path, "", "has none of polecats/, formulas/, schemas/"),
    ]
