"""Configuration entries that are no regular file, schemas whose $ref loops, and files
nested too deep to parse: each is one problem line (validate) or one error line (loaders),
never a silent skip, a blocked read or a traceback."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from micro_gastown.cli import main
from micro_gastown.config import load_config, validate_dirs
from micro_gastown.errors import ConfigError
from micro_gastown.nesting import MAX_NESTING

PROBLEMS_EXIT = 2
DEEP = 100_000
DRAFT_07 = "http://json-schema.org/draft-07/schema#"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty configuration directory ``config/`` with the three sub-directories; the
    working directory is its parent, so validate prints ``config/...`` paths."""
    root = tmp_path / "config"
    for sub in ("polecats", "formulas", "schemas"):
        (root / sub).mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return root


def validate(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["validate", "--config-dir", str(root)])
    out, err = capsys.readouterr()
    assert err == ""
    return code, out.splitlines()


def test_special_entries_are_each_a_problem_line(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    polecats = config / "polecats"
    (polecats / "dangling.toml").symlink_to("nowhere.toml")
    (polecats / "loop.toml").symlink_to("loop.toml")
    os.mkfifo(polecats / "pipe.toml")
    (polecats / "x.toml").mkdir()
    os.mknod(polecats / "null.toml", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.mkfifo(config / "schemas" / "Pipe.json")
    os.mkfifo(config / "formulas" / "pipe.formula.toml")
    code, lines = validate(config, capsys)
    assert code == PROBLEMS_EXIT
    assert lines[:-1] == [
        "config/polecats/dangling.toml: dangling symlink: its target 'nowhere.toml' does not exist",
        "config/polecats/loop.toml: symlink loop: it never reaches a file",
        "config/polecats/null.toml: is a device, not a file",
        "config/polecats/pipe.toml: is a FIFO (named pipe), not a file",
        "config/polecats/x.toml: is a directory, not a file",
        "config/formulas/pipe.formula.toml: is a FIFO (named pipe), not a file",
        "config/schemas/Pipe.json: is a FIFO (named pipe), not a file",
    ]
    assert lines[-1].endswith(": 7 problems")


def test_a_layout_directory_that_is_no_directory_is_a_problem(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (config / "schemas").rmdir()
    os.mkfifo(config / "schemas")
    (config / "formulas").rmdir()
    (config / "formulas").symlink_to("missing")
    code, lines = validate(config, capsys)
    assert code == PROBLEMS_EXIT
    assert "config/formulas: dangling symlink: its target 'missing' does not exist" in lines
    assert "config/schemas: is a FIFO (named pipe), not a directory" in lines


def test_a_config_dir_that_is_a_fifo_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    os.mkfifo(tmp_path / "pipe")
    code, lines = validate(tmp_path / "pipe", capsys)
    assert code == PROBLEMS_EXIT
    assert lines[0] == "pipe: is a FIFO (named pipe), not a directory"


def test_loading_fails_on_a_dangling_polecat_instead_of_ignoring_it(config: Path) -> None:
    (config / "polecats" / "mine.toml").symlink_to("gone.toml")
    with pytest.raises(ConfigError, match=r"mine\.toml: dangling symlink"):
        load_config([config])


# --------------------------------------------------------------------------------------
# $ref that leads back to itself
# --------------------------------------------------------------------------------------


def write_schema(config: Path, name: str, document: dict[str, object]) -> None:
    (config / "schemas" / f"{name}.json").write_text(json.dumps({"$schema": DRAFT_07, **document}))


@pytest.mark.parametrize(
    ("document", "where", "cycle"),
    [
        ({"$defs": {"A": {"$ref": "#/$defs/A"}}}, "$defs.A.$ref", "#/$defs/A -> #/$defs/A"),
        (
            {
                "$defs": {
                    "A": {"allOf": [{"$ref": "#/$defs/B"}]},
                    "B": {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/A"}]},
                }
            },
            "$defs.A.allOf[0].$ref",
            "#/$defs/A/allOf/0 -> #/$defs/B -> #/$defs/B/anyOf/1 -> #/$defs/A -> #/$defs/A/allOf/0",
        ),
        ({"$ref": "#", "type": "object"}, "$ref", "# -> #"),
    ],
    ids=["direct", "through-allOf-and-anyOf", "root"],
)
def test_a_ref_that_leads_back_to_itself_is_a_problem(
    config: Path,
    capsys: pytest.CaptureFixture[str],
    document: dict[str, object],
    where: str,
    cycle: str,
) -> None:
    write_schema(config, "Loop", document)
    code, lines = validate(config, capsys)
    assert code == PROBLEMS_EXIT
    (line,) = (line for line in lines if line.startswith("config/schemas/Loop.json"))
    assert line.startswith(f"config/schemas/Loop.json: {where}: ")
    assert f"({cycle}): validation would never end" in line


def test_a_recursive_schema_that_descends_into_the_value_is_fine(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = {
        "type": "object",
        "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Tree"}}},
    }
    write_schema(config, "Tree", {"$defs": {"Tree": tree}, "$ref": "#/$defs/Tree"})
    code, lines = validate(config, capsys)
    assert code == 0, lines


# --------------------------------------------------------------------------------------
# nesting too deep to parse
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "content", "line"),
    [
        ("polecats/deep.toml", f"x = {'[' * DEEP}{']' * DEEP}\n", 1),
        ("polecats/deep-table.toml", f"x = {'{a = ' * DEEP}1{'}' * DEEP}\n", 1),
        ("formulas/deep.formula.toml", f"[formula]\nname = 'x'\ny = {'[' * DEEP}{']' * DEEP}", 3),
        ("schemas/Deep.json", f'{{"a":\n{"[" * DEEP}{"]" * DEEP}}}', 2),
        ("schemas/DeepObject.json", '{"a": ' * DEEP + "1" + "}" * DEEP, 1),
    ],
)
def test_a_file_nested_100k_deep_is_one_problem_line(
    config: Path, capsys: pytest.CaptureFixture[str], relative: str, content: str, line: int
) -> None:
    (config / relative).write_text(content)
    code, lines = validate(config, capsys)
    assert code == PROBLEMS_EXIT
    message = f"nested more than {MAX_NESTING} levels deep (arrays, tables or objects): not read"
    assert lines[0] == f"config/{relative}: line {line}: {message}"


def test_nesting_at_the_limit_still_parses(config: Path) -> None:
    (config / "schemas" / "Ok.json").write_text(
        json.dumps({"$schema": DRAFT_07, "default": [[[["x"]]]]})
    )
    assert [str(p) for p in validate_dirs([config])] == []


def test_brackets_inside_strings_and_comments_do_not_count(config: Path) -> None:
    text = "# " + "[" * 500 + "\n" + 'x = "' + "{" * 500 + '"\n' + "y = '" + "[" * 500 + "'\n"
    (config / "polecats" / "strings.toml").write_text(text)
    assert not any("nested more than" in str(p) for p in validate_dirs([config]))


def test_loading_a_deep_schema_raises_one_config_error_naming_it(config: Path) -> None:
    (config / "schemas" / "Deep.json").write_text("[" * DEEP + "]" * DEEP)
    with pytest.raises(ConfigError) as raised:
        load_config([config])
    assert "Deep.json: line 1: nested more than" in str(raised.value)


def test_analyze_with_a_polecat_nested_100k_deep_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    polecat = tmp_path / "deep.toml"
    polecat.write_text(f"[thresholds]\nmin_occurrences = {'[' * DEEP}{']' * DEEP}\n")
    source = tmp_path / "logs.jsonl"
    source.write_text("")
    code = main(["analyze", "--polecat", str(polecat), "--source", str(source)])
    out, err = capsys.readouterr()
    assert code == PROBLEMS_EXIT
    assert out == ""
    assert err == (
        f"micro-gastown analyze: error: {polecat}: line 2: nested more than 100 levels deep "
        "(arrays, tables or objects): not read\n"
    )
