"""The workflow-command protocol: exact lines, and no way for echoed text to issue a command.

What the module wrote is read back the way the runner reads it (``tests/runnerprotocol.py``:
stdout's commands, with nothing acted on while commands are stopped, and the environment
files' ``NAME=VALUE`` lines and heredocs).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from micro_gastown.action import commands
from micro_gastown.action.commands import (
    AnnotationLevel,
    annotate,
    append_env,
    append_summary,
    escape_data,
    escape_property,
    group,
    mask,
    set_output,
    stop_commands,
    untrusted,
)
from runnerprotocol import Command, runner_commands, runner_file_pairs

HOSTILE_LINES = [
    "::set-output name=x::y",
    "::add-mask::hunter2",
    "  ::error file=a.py,line=1::fake failure",
    "%0A::error::escaped newline",
    "::stop-commands::abc",
    "::abc::",
    "::endgroup::",
    "##[set-output name=x;]y",
    "x\r::warning::after a bare CR",
    "::group::nested",
    "pr-url<<EOF",
    "EOF",
    "ghadelimiter_00000000-0000-0000-0000-000000000000",
]
HOSTILE = "\n".join(HOSTILE_LINES)


def test_the_parsers_read_the_documented_examples() -> None:
    """The test's own parsers, on GitHub Docs' examples, so the assertions below rest on
    a reading of the protocol that can tell a command from text."""
    assert runner_commands("::warning file=app.js,line=1,col=5::Missing semicolon\n") == [
        Command("warning", {"file": "app.js", "line": "1", "col": "5"}, "Missing semicolon")
    ]
    assert runner_commands("::stop-commands::t\n::error::x\n::t::\n::notice::y\n") == [
        Command("notice", {}, "y")
    ]
    assert runner_file_pairs("a=1\nJSON_RESPONSE<<EOF\n{\n}\nEOF\n") == [
        ("a", "1"),
        ("JSON_RESPONSE", "{\n}"),
    ]
    with pytest.raises(ValueError, match="delimiter not found"):
        runner_file_pairs("x<<EOF\nvalue\n")


# -- exact protocol strings --


def test_mask_registers_every_line_of_a_multi_line_secret() -> None:
    out = io.StringIO()
    mask("-----BEGIN KEY-----\nab%cd\r\n\n   \n-----END KEY-----", stream=out)
    assert out.getvalue() == (
        "::add-mask::-----BEGIN KEY-----\n::add-mask::ab%25cd\n::add-mask::-----END KEY-----\n"
    )


def test_group_opens_and_closes_even_when_the_block_raises() -> None:
    out = io.StringIO()

    def fail_inside() -> None:
        with group("Analyze\n::error::x", stream=out):
            out.write("inside\n")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail_inside()
    assert out.getvalue() == "::group::Analyze%0A::error::x\ninside\n::endgroup::\n"


def test_annotation_with_file_line_and_title() -> None:
    out = io.StringIO()
    annotate(
        AnnotationLevel.WARNING,
        "3 critical findings\n50% more",
        title="Critical: node a, b",
        file="graphs/a:b.hs",
        line=12,
        stream=out,
    )
    assert out.getvalue() == (
        "::warning file=graphs/a%3Ab.hs,line=12,title=Critical%3A node a%2C b"
        "::3 critical findings%0A50%25 more\n"
    )


def test_annotation_without_properties() -> None:
    out = io.StringIO()
    annotate(AnnotationLevel.ERROR, "boom", stream=out)
    annotate(AnnotationLevel.NOTICE, "", stream=out)
    assert out.getvalue() == "::error::boom\n::notice::\n"


def test_an_annotation_line_needs_a_file() -> None:
    with pytest.raises(ValueError, match="needs its file"):
        annotate(AnnotationLevel.ERROR, "x", line=3, stream=io.StringIO())


def test_escaping_escapes_the_percent_sign_first() -> None:
    assert escape_data("%0A\r\n") == "%250A%0D%0A"
    assert escape_property("a:b,c%3A") == "a%3Ab%2Cc%253A"


def test_commands_default_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    annotate(AnnotationLevel.NOTICE, "hello")
    assert capsys.readouterr().out == "::notice::hello\n"


# -- hostile text can issue no command --


@pytest.mark.parametrize("hostile", [*HOSTILE_LINES, HOSTILE])
def test_hostile_text_inside_a_command_stays_its_data(hostile: str) -> None:
    out = io.StringIO()
    annotate(AnnotationLevel.ERROR, hostile, title=hostile, file=hostile, stream=out)
    with group(hostile, stream=out):
        pass
    assert runner_commands(out.getvalue()) == [
        Command("error", {"file": hostile, "title": hostile}, hostile),
        Command("group", {}, hostile),
        Command("endgroup"),
    ]


@pytest.mark.parametrize("hostile", [*HOSTILE_LINES, HOSTILE, HOSTILE + "\n", "no newline"])
def test_untrusted_text_is_printed_exactly_and_acted_on_never(hostile: str) -> None:
    out = io.StringIO()
    untrusted(hostile, stream=out)
    annotate(AnnotationLevel.NOTICE, "after", stream=out)
    stop, body_and_end = out.getvalue().split("\n", 1)
    token = stop.removeprefix("::stop-commands::")
    assert token not in hostile
    separator = "" if hostile.endswith("\n") else "\n"
    assert body_and_end == f"{hostile}{separator}::{token}::\n::notice::after\n"
    assert runner_commands(out.getvalue()) == [Command("notice", {}, "after")]


def test_untrusted_picks_a_token_the_text_does_not_contain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Were the random token to occur in the text, the text could resume commands: the
    module must draw again."""
    draws = iter(["a" * 32, "b" * 32])
    monkeypatch.setattr(commands.secrets, "token_hex", lambda _n: next(draws))
    guessed = f"::mg{'a' * 32}::\n::error::resumed"
    out = io.StringIO()
    untrusted(guessed, stream=out)
    assert out.getvalue().startswith(f"::stop-commands::mg{'b' * 32}\n")
    assert runner_commands(out.getvalue()) == []


def test_stop_commands_resumes_on_a_line_of_its_own_even_after_an_error() -> None:
    out = io.StringIO()

    def fail_inside() -> None:
        with stop_commands(stream=out) as quarantined:
            quarantined.write("::error::partial line without a break")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail_inside()
    annotate(AnnotationLevel.WARNING, "processed", stream=out)
    lines = out.getvalue().split("\n")
    assert lines[1] == "::error::partial line without a break"
    assert lines[2] == lines[0].replace("::stop-commands::", "::") + "::"
    assert runner_commands(out.getvalue()) == [Command("warning", {}, "processed")]


@given(st.text())
def test_no_text_escapes_quarantine(text: str) -> None:
    out = io.StringIO()
    untrusted(text, stream=out)
    annotate(AnnotationLevel.NOTICE, text, stream=out)
    assert runner_commands(out.getvalue()) == [Command("notice", {}, text)]


# -- the environment files --


def test_outputs_map_each_name_to_exactly_its_value(tmp_path: Path) -> None:
    output = tmp_path / "github_output"
    values = {
        "pr-url": "https://github.com/o/r/pull/7",
        "report": HOSTILE,
        "trailing": "line\n",
        "crlf": "a\r\nb\r",
        "empty": "",
        "equals": "x=y<<EOF",
        "verdicts": "pr-url<<EOF\nhttps://evil.example\nEOF\nsecond=1",
    }
    for name, value in values.items():
        set_output(name, value, path=output)
    pairs = runner_file_pairs(output.read_bytes().decode("utf-8"))
    assert pairs == list(values.items())


def test_a_delimiter_found_in_the_value_is_drawn_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    draws = iter(["c" * 32, "d" * 32])
    monkeypatch.setattr(commands.secrets, "token_hex", lambda _n: next(draws))
    value = f"before\nmg{'c' * 32}\ninjected=1"
    output = tmp_path / "github_output"
    set_output("report", value, path=output)
    text = output.read_bytes().decode("utf-8")
    assert text == f"report<<mg{'d' * 32}\n{value}\nmg{'d' * 32}\n"
    assert runner_file_pairs(text) == [("report", value)]


def test_an_open_last_line_left_by_another_writer_is_closed_first(tmp_path: Path) -> None:
    output = tmp_path / "github_output"
    output.write_text("other=1", encoding="utf-8")
    set_output("ours", "2", path=output)
    assert runner_file_pairs(output.read_bytes().decode("utf-8")) == [("other", "1"), ("ours", "2")]


@pytest.mark.parametrize("name", ["", "a=b", "a<<b", "a\nb", "1st", "a b", "a::b"])
def test_names_that_could_not_be_read_back_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="not an output name"):
        set_output(name, "v", path=tmp_path / "out")
    with pytest.raises(ValueError, match="not an environment variable name"):
        append_env(name, "v", path=tmp_path / "env")
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "env").exists()


def test_environment_variables_use_the_same_heredoc(tmp_path: Path) -> None:
    env = tmp_path / "github_env"
    append_env("MG_REPORT", "a\nEOF\nB=2", path=env)
    append_env("MG_RUN_DIR", "/tmp/run", path=env)
    assert runner_file_pairs(env.read_bytes().decode("utf-8")) == [
        ("MG_REPORT", "a\nEOF\nB=2"),
        ("MG_RUN_DIR", "/tmp/run"),
    ]
    with pytest.raises(ValueError, match="not an environment variable name"):
        append_env("pr-url", "x", path=env)


@given(st.text(), st.text())
def test_any_value_reads_back_exactly(first: str, second: str) -> None:
    buffer = io.StringIO()
    for name, value in (("first", first), ("second", second)):
        buffer.write(commands._heredoc(name, value))
    assert runner_file_pairs(buffer.getvalue()) == [("first", first), ("second", second)]


def test_summary_blocks_each_end_their_line(tmp_path: Path) -> None:
    summary = tmp_path / "step_summary"
    append_summary("## Findings", path=summary)
    append_summary("| a | b |\n|---|---|\n", path=summary)
    assert summary.read_bytes().decode("utf-8") == "## Findings\n| a | b |\n|---|---|\n"
