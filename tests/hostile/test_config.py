"""Hostile configuration: polecats, formulas and schemas nested 100,000 deep, not UTF-8,
or not files at all (a FIFO, a directory, a dangling link, a link loop, a socket), put in
place of a file the tool really uses.

``validate`` lists each as a problem naming the file (exit 2, nothing on stderr but
possibly one error line); ``analyze --polecat`` and ``evolve --config-dir`` refuse with one
line naming it (exit 2) before anything runs. A FIFO must not block any of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from .corpus import jsonl, valid_lines
from .outcome import (
    Outcome,
    assert_error,
    assert_no_traceback,
    assert_only_changed,
    run_main,
    snapshot,
)
from .processes import run_tool
from specialfiles import make_dangling_symlink, make_socket, make_symlink_loop

DEPTH = 100_000

POLECAT = "polecats/log-analyzer.toml"
"""The polecat of the analyze skill: evolve reads it, and it is what --polecat replaces."""
FORMULA = "formulas/analyze.formula.toml"
SCHEMA = "schemas/PatternReport.json"


def _text(content: str | bytes) -> Callable[[Path], object]:
    data = content.encode() if isinstance(content, str) else content

    def build(path: Path) -> None:
        path.write_bytes(data)

    return build


def _mkdir(path: Path) -> None:
    path.mkdir()


def _loop(path: Path) -> None:
    make_symlink_loop(path.parent, path.name)


@dataclass(frozen=True)
class Hostile:
    name: str
    where: str
    build: Callable[[Path], object]
    blocking: bool = False


HOSTILE_CONFIG = [
    Hostile("deep-toml-array", POLECAT, _text("a = " + "[" * DEPTH + "]" * DEPTH + "\n")),
    Hostile("deep-toml-table", POLECAT, _text("a = " + "{b = " * DEPTH + "1" + "}" * DEPTH)),
    Hostile("deep-formula", FORMULA, _text("x = " + "[" * DEPTH + "]" * DEPTH + "\n")),
    Hostile("deep-json-array", SCHEMA, _text("[" * DEPTH + "]" * DEPTH)),
    Hostile("deep-json-object", SCHEMA, _text('{"a":' * DEPTH + "1" + "}" * DEPTH)),
    Hostile("invalid-utf8-toml", POLECAT, _text(b'name = "\xff\xfe\xc3\x28"\n')),
    Hostile("nul-toml", POLECAT, _text(b'name = "a\x00b"\n\x00\n')),
    Hostile("invalid-utf8-json", SCHEMA, _text(b'{"title": "\xff\xfe"}')),
    Hostile("directory", POLECAT, _mkdir),
    Hostile("dangling-symlink", POLECAT, make_dangling_symlink),
    Hostile("symlink-loop", POLECAT, _loop),
    Hostile("socket", POLECAT, make_socket),
    Hostile("directory-schema", SCHEMA, _mkdir),
]

BLOCKING_CONFIG = [
    Hostile("fifo", POLECAT, os.mkfifo, blocking=True),
    Hostile("fifo-schema", SCHEMA, os.mkfifo, blocking=True),
    Hostile("fifo-formula", FORMULA, os.mkfifo, blocking=True),
]


def _config_dir(root: Path, hostile: Hostile) -> Path:
    config = root / "config"
    path = config / hostile.where
    path.parent.mkdir(parents=True)
    hostile.build(path)
    return path


def expect_validate_problem(outcome: Outcome, path: Path) -> None:
    """Exit 2 with the file named: in the problem list on stdout (the usual way), or as a
    one-line error when the configuration could not be listed at all."""
    assert_no_traceback(outcome)
    assert outcome.returncode == 2, str(outcome)
    if outcome.stderr_lines:
        assert_error(outcome, 2, naming=path.name)
        return
    out = outcome.stdout.decode(errors="replace")
    problems = [line for line in out.splitlines() if path.name in line]
    assert problems, f"{path.name} is not named among the problems:\n{out[-3000:]}"
    assert out.rstrip().splitlines()[-1].endswith(("problem", "problems")), out[-500:]
    assert len(out) < 100_000, "a problem line carries the hostile content"


def _ids(hostile: Hostile) -> str:
    return hostile.name


@pytest.mark.parametrize("hostile", HOSTILE_CONFIG, ids=_ids)
def test_validate_names_a_hostile_config_file_as_a_problem(
    hostile: Hostile, sandbox: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = _config_dir(sandbox, hostile)
    before = snapshot(sandbox)
    outcome = run_main(["validate", "--config-dir", str(sandbox / "config")], capsysbinary)
    expect_validate_problem(outcome, path)
    assert_only_changed(sandbox, before)


@pytest.mark.parametrize("hostile", [h for h in HOSTILE_CONFIG if h.where == POLECAT], ids=_ids)
def test_analyze_refuses_a_hostile_polecat_in_one_line(
    hostile: Hostile, sandbox: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = _config_dir(sandbox, hostile)
    source = sandbox / "in" / "export.jsonl"
    source.write_bytes(jsonl(valid_lines()))
    before = snapshot(sandbox)
    argv = ["analyze", "--source", f"file:{source}", "--polecat", str(path), "-o", "r.json"]
    outcome = run_main(argv, capsysbinary)
    assert_error(outcome, 2, naming=path.name)
    assert_only_changed(sandbox, before)


@pytest.mark.parametrize("hostile", HOSTILE_CONFIG, ids=_ids)
def test_evolve_refuses_a_hostile_config_dir_before_a_run_exists(
    hostile: Hostile, sandbox: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = _config_dir(sandbox, hostile)
    source = sandbox / "in" / "export.jsonl"
    source.write_bytes(jsonl(valid_lines()))
    runs = sandbox / "runs"
    before = snapshot(sandbox)
    argv = [
        "evolve", "--config-dir", str(sandbox / "config"), "--source", f"file:{source}",
        "--runs-dir", str(runs),
    ]  # fmt: skip
    outcome = run_main(argv, capsysbinary)
    assert_error(outcome, 2, naming=path.name)
    assert not runs.exists() or not any(runs.iterdir())
    assert_only_changed(sandbox, before, trees=[runs])


@pytest.mark.slow
@pytest.mark.parametrize("hostile", BLOCKING_CONFIG, ids=_ids)
def test_a_fifo_in_place_of_a_config_file_blocks_nothing(
    hostile: Hostile, tmp_path: Path, env: dict[str, str]
) -> None:
    """A FIFO with no writer named like a polecat, formula or schema: ``validate`` names
    it as a problem, ``evolve`` (and ``analyze --polecat``) refuse it in one line; none
    opens it and waits for a writer that never comes."""
    path = _config_dir(tmp_path, hostile)
    source = tmp_path / "export.jsonl"
    source.write_bytes(jsonl(valid_lines()))
    config = str(tmp_path / "config")
    outcome, _ = run_tool(["validate", "--config-dir", config], cwd=tmp_path, env=env, timeout=30)
    expect_validate_problem(outcome, path)
    argv = ["evolve", "--config-dir", config, "--source", f"file:{source}"]
    outcome, _ = run_tool([*argv, "--runs-dir", "runs"], cwd=tmp_path, env=env, timeout=30)
    assert_error(outcome, 2, naming=path.name)
    if hostile.where == POLECAT:
        argv = ["analyze", "--source", f"file:{source}", "--polecat", str(path)]
        outcome, _ = run_tool(argv, cwd=tmp_path, env=env, timeout=30)
        assert_error(outcome, 2, naming=path.name)
