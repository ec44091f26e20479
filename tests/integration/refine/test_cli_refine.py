"""``micro-gastown refine`` as a user runs it: what --explain shows, where the patch and the
ProposedChanges JSON go, and one clear line for each mistake in the request.

The model is the replay backend on the demo's recorded answers; cabal is kept off PATH
(the real builds are test_validation_ghc's), so a proposal here is ``not_validated``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from ghc import only_programs
from micro_gastown.cli import main
from micro_gastown.errors import ExitCode
from micro_gastown.testing.demo_refine import REPLAY
from micro_gastown.testing.demo_review import DEMO_REPO, ROOT
from refinesample import INFO_ONLY, SCHEMA, SLOW, Sample, isolated, make_sample

SCHEMA_FILE = ROOT / "schemas" / "ProposedChanges.json"
PREFIX = "micro-gastown refine: "


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sample]:
    directory = tmp_path_factory.mktemp("cli-refine")
    with isolated(directory):
        yield make_sample(directory / "sample")


@pytest.fixture
def no_cabal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """git on PATH, cabal not: validation says "not validated" without building."""
    monkeypatch.setenv("PATH", only_programs(tmp_path / "bin", "git"))


def refine_argv(sample: Sample, *more: str, replay: Path = REPLAY) -> list[str]:
    return [
        "refine", "--input", str(sample.report_path), "--repo", str(sample.checkout),
        "--backend", "replay", "--replay", str(replay), *more,
    ]  # fmt: skip


def stderr_lines(err: str) -> list[str]:
    lines = err.splitlines()
    assert lines, "nothing said on stderr"
    for line in lines:
        assert line.startswith(PREFIX), line
    return [line.removeprefix(PREFIX) for line in lines]


def files_under(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*"))


def test_explain_shows_files_reasons_tokens_and_cost_without_a_model_call(
    sample: Sample, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")  # any model call would fail: nothing is recorded
    out = tmp_path / "out"
    out.mkdir()
    argv = refine_argv(
        sample, "--explain", "--pattern", SLOW, SCHEMA, "--max-prs", "2",
        "--output", str(out / "changes.diff"), replay=empty,
    )  # fmt: skip
    before = files_under(tmp_path)
    assert main(argv) == ExitCode.OK
    stdout = capsys.readouterr().out
    assert files_under(tmp_path) == before  # nothing written, not even the --output
    assert empty.read_bytes() == b""
    end = "\n--- end ---\n"
    assert stdout.count(end) == 2
    assert stdout.endswith(end)
    slow_part, schema_part = stdout.split(end)[:2]
    slow, slow_message = slow_part.split("\n--- the message refine would send for ")
    schema, schema_message = schema_part.lstrip("\n").split(
        "\n--- the message refine would send for "
    )
    for pattern_id, message in ((SLOW, slow_message), (SCHEMA, schema_message)):
        assert message.startswith(f"{pattern_id} (with the polecat's system prompt) ---\n")
        assert message.count("<untrusted-log-data>") == 1
        assert f'"id": "{pattern_id}"' in message
    assert slow.startswith(f"{SLOW} (slow_llm), model claude-haiku-4-5:\n")
    assert re.search(
        r"\n  templates/summarize\.jinja \[lines 1-\d+ of \d+, ~\d+ tokens, editable\]: "
        r"the template of node summarize \(Template SummarizeTpl -> templates/summarize.jinja\)",
        slow,
    )
    assert "the context record SummarizeContext that templates/summarize.jinja renders" in slow
    assert schema.startswith(f"{SCHEMA} (repeated_error), model claude-haiku-4-5:\n")
    assert "src/Triage/Types.hs [lines" in schema
    assert "the schema type Classification of node classify" in schema
    for part in (slow, schema):
        assert re.search(
            r"\n  ~[\d,]+ input tokens per call, up to 4,096 output tokens; "
            r"worst case 2 calls: \$0\.\d{4}\n?$",
            part,
        ), part


def test_the_json_goes_beside_the_patch_and_a_second_finding_gets_a_suffix(
    sample: Sample, tmp_path: Path, no_cabal: None, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    argv = refine_argv(
        sample, "--pattern", SLOW, SCHEMA, "--max-prs", "2", "--allow-unvalidated",
        "--output", str(out / "changes.diff"),
    )  # fmt: skip
    assert main(argv) == ExitCode.OK
    assert files_under(out) == ["changes-2.diff", "changes-2.json", "changes.diff", "changes.json"]
    schema = json.loads(SCHEMA_FILE.read_text())
    for stem, pattern_id, path in (
        ("changes", SLOW, "templates/summarize.jinja"),
        ("changes-2", SCHEMA, "src/Triage/Types.hs"),
    ):
        document = json.loads((out / f"{stem}.json").read_text())
        jsonschema.validate(document, schema)
        assert document["patterns_addressed"] == [pattern_id]
        assert document["status"] == "not_validated"
        patch = (out / f"{stem}.diff").read_text()
        assert patch.startswith(f"diff --git a/{path} b/{path}\n")
        assert patch == "".join(change["diff"] for change in document["changes"])
    said = stderr_lines(capsys.readouterr().err)
    [slow_line] = [line for line in said if line.startswith(f"{SLOW}: not_validated: ")]
    assert slow_line.endswith(f"wrote {out / 'changes.diff'} and {out / 'changes.json'}")


def test_json_goes_where_json_says_with_the_same_suffix(
    sample: Sample, tmp_path: Path, no_cabal: None
) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    argv = refine_argv(
        sample, "--pattern", SLOW, SCHEMA, "--max-prs", "2", "--allow-unvalidated",
        "--output", str(out / "changes.diff"), "--json", str(elsewhere / "proposal.json"),
    )  # fmt: skip
    assert main(argv) == ExitCode.OK
    assert files_under(out) == ["changes-2.diff", "changes.diff"]
    assert files_under(elsewhere) == ["proposal-2.json", "proposal.json"]
    assert json.loads((elsewhere / "proposal-2.json").read_text())["patterns_addressed"] == [SCHEMA]


def test_a_stale_patch_is_emptied_when_the_new_proposal_may_not_be_filed(
    sample: Sample, tmp_path: Path, no_cabal: None, capsys: pytest.CaptureFixture[str]
) -> None:
    patch = tmp_path / "changes.diff"
    patch.write_text("diff --git a/x b/x\nan earlier run's patch\n")
    assert main(refine_argv(sample, "--output", str(patch))) == ExitCode.NO_CHANGE
    assert patch.read_bytes() == b""
    assert json.loads((tmp_path / "changes.json").read_text())["status"] == "not_validated"
    said = stderr_lines(capsys.readouterr().err)
    [line] = [line for line in said if line.startswith(f"{SLOW}: ")]
    assert "not validated: `cabal` is not installed (not on PATH)" in line
    assert line.endswith(f"wrote {tmp_path / 'changes.json'} (no patch to file)")


def test_an_unknown_pattern_id_names_the_flag_and_lists_the_valid_ids(
    sample: Sample, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = refine_argv(sample, "--pattern", "nope", "--output", str(tmp_path / "changes.diff"))
    assert main(argv) == ExitCode.USAGE
    [said] = stderr_lines(capsys.readouterr().err)
    assert said.startswith("error: --pattern 'nope': no pattern with this id in the report")
    valid = said.split("valid ids: ", 1)[1].split(", ")
    assert sorted(valid) == sorted(p.id for p in sample.report.patterns)
    assert files_under(tmp_path) == []


def _bad_input(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.json"
    if kind == "fifo":
        os.mkfifo(path)  # nobody writes: opening it for reading must not block
    elif kind == "not-json":
        path.write_text("patterns: none\n")
    elif kind == "array":
        path.write_text("[]\n")
    elif kind == "not-a-report":
        path.write_text('{"patterns": [], "summary": {}}\n')
    return path


@pytest.mark.parametrize(
    ("kind", "why"),
    [
        ("missing", "no such file"),
        ("fifo", "is a FIFO (named pipe), not a file"),
        ("not-json", "not valid JSON"),
        ("array", "a PatternReport is a JSON object"),
        ("not-a-report", "not a PatternReport: "),
    ],
)
def test_an_unusable_input_is_one_line_naming_the_flag_and_the_file(
    sample: Sample, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, why: str
) -> None:
    report = _bad_input(tmp_path, kind)
    out = tmp_path / "out"
    out.mkdir()
    argv = refine_argv(sample, "--output", str(out / "changes.diff"))
    argv[argv.index("--input") + 1] = str(report)
    assert main(argv) == ExitCode.USAGE
    [said] = stderr_lines(capsys.readouterr().err)
    assert said.startswith(f"error: --input {report}: {why}"), said
    assert files_under(out) == []


def test_a_checkout_that_is_not_a_git_repository_is_an_input_error(
    sample: Sample, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plain"
    shutil.copytree(DEMO_REPO, plain, ignore=shutil.ignore_patterns("dist-newstyle", ".git"))
    recorded = tmp_path / "none.json"
    recorded.write_text("{}\n")
    argv = refine_argv(sample, "--output", str(tmp_path / "changes.diff"), replay=recorded)
    argv[argv.index("--repo") + 1] = str(plain)
    assert main(argv) == ExitCode.INPUT
    [said] = stderr_lines(capsys.readouterr().err)
    assert said.startswith(f"error: --repo {plain}: not inside a git work tree")
    assert not (tmp_path / "changes.diff").exists()


def test_a_report_with_nothing_actionable_writes_an_empty_patch_and_succeeds(
    sample: Sample, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing to refine still empties --output and an earlier run's later slot, so a stale
    patch is never filed as this run's."""
    document = json.loads(sample.report_path.read_text())
    document["patterns"] = [p for p in document["patterns"] if p["id"] == INFO_ONLY]
    report = tmp_path / "info-only.json"
    report.write_text(json.dumps(document))
    out = tmp_path / "out"
    out.mkdir()
    (out / "changes.diff").write_text("stale patch\n")
    (out / "changes-2.diff").write_text("stale patch\n")
    argv = refine_argv(sample, "--output", str(out / "changes.diff"), "--max-prs", "3")
    argv[argv.index("--input") + 1] = str(report)
    assert main(argv) == ExitCode.OK
    said = stderr_lines(capsys.readouterr().err)
    assert f"note: not refined: {INFO_ONLY}: info-level findings are not refined" in said
    assert said[-1].startswith("note: no finding of the report is one refine can act on")
    assert files_under(out) == ["changes-2.diff", "changes.diff"]  # no changes-3.diff made
    assert (out / "changes.diff").read_bytes() == (out / "changes-2.diff").read_bytes() == b""


def test_without_output_or_explain_it_says_where_the_patch_should_go(
    sample: Sample, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(refine_argv(sample)) == ExitCode.USAGE
    [said] = stderr_lines(capsys.readouterr().err)
    assert said == "error: --output: where to write the patch (or --explain)"


def test_the_real_command_refuses_a_report_in_one_line_without_a_traceback(
    sample: Sample, tmp_path: Path
) -> None:
    report = _bad_input(tmp_path, "fifo")
    argv = refine_argv(sample, "--output", str(tmp_path / "changes.diff"))
    argv[argv.index("--input") + 1] = str(report)
    done = subprocess.run(
        [sys.executable, "-m", "micro_gastown", *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert done.stderr == (
        f"{PREFIX}error: --input {report}: is a FIFO (named pipe), not a file "
        "(give the JSON PatternReport that analyze writes)\n"
    )
    assert done.stdout == ""
