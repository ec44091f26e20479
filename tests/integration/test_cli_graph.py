"""`micro-gastown graph` end to end: real checkouts on disk, output on stdout, errors on stderr."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import orjson
import pytest

from micro_gastown.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "exomonad-sample"
DSL_ERROR_EXIT = 3
USAGE_ERROR_EXIT = 2


def test_text_is_the_default_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "--repo", str(SAMPLE)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith("graph TriageGraph  (src/Triage/Graph.hs)\n")
    assert "classify -> route" in out
    assert "src/Triage/Types.hs:" in out  # route's edges come from the synonym


def test_json_format_prints_the_whole_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "--repo", str(SAMPLE), "--format", "json"]) == 0
    data = orjson.loads(capsys.readouterr().out)
    (graph,) = data["graphs"]
    assert len(graph["nodes"]) == 8
    assert [(e["source"], e["target"]) for e in graph["edges"]][-1] == ("summarize", "exit")
    assert len(graph["edges"]) == 9
    assert len(data["templates"]) == 4


def test_mermaid_format_prints_a_flowchart(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "--repo", str(SAMPLE), "--format", "mermaid"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "flowchart TD"
    assert sum("-->" in line for line in lines) == 9


def test_repo_may_be_given_relative_to_the_working_directory(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(SAMPLE.parent)
    assert main(["graph", "--repo", SAMPLE.name, "--format", "json"]) == 0
    assert orjson.loads(capsys.readouterr().out)["graphs"][0]["path"] == "src/Triage/Graph.hs"


def assert_one_error_line(err: str, *fragments: str) -> None:
    assert err.count("\n") == 1, err
    assert err.startswith("micro-gastown graph: error: ")
    for fragment in fragments:
        assert fragment in err


def test_missing_repo_fails_with_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such-checkout"
    assert main(["graph", "--repo", str(missing)]) == DSL_ERROR_EXIT
    out, err = capsys.readouterr()
    assert out == ""
    assert_one_error_line(err, f"--repo {missing}", "no such directory")


def test_repo_without_graph_hs_fails_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Types.hs").write_text("module Types where\n")
    assert main(["graph", "--repo", str(tmp_path)]) == DSL_ERROR_EXIT
    out, err = capsys.readouterr()
    assert out == ""
    assert_one_error_line(err, f"--repo {tmp_path}: no Graph.hs file found under it")


def test_repo_that_is_a_file_fails(capsys: pytest.CaptureFixture[str]) -> None:
    graph_hs = SAMPLE / "src" / "Triage" / "Graph.hs"
    assert main(["graph", "--repo", str(graph_hs)]) == DSL_ERROR_EXIT
    assert_one_error_line(capsys.readouterr().err, str(graph_hs), "not a directory")


def test_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "--repo", str(SAMPLE), "--format", "dot"]) == USAGE_ERROR_EXIT
    assert_one_error_line(capsys.readouterr().err, "--format", "dot")


def test_repo_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph"]) == USAGE_ERROR_EXIT
    assert_one_error_line(capsys.readouterr().err, "--repo")


# --------------------------------------------------------------------------------------
# broken and hostile checkouts
# --------------------------------------------------------------------------------------

BROKEN_GRAPH = """\
module G where
data TriageGraph mode = TriageGraph
  { entry :: mode :- G.Entry Ticket
  , route :: mode :- G.LogicNode
      :@ UsesEffects '[Goto "answerFaq Query, Goto Exit Reply]
  , answerFaq :: mode :- G.LLMNode
      :@ UsesEffects '[Goto Exit Reply
  , exit :: mode :- G.Exit Reply
  }
"""


def write_checkout(root: Path, files: dict[str, str | bytes]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def test_what_cannot_be_read_is_listed_and_warned_about_and_the_rest_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = write_checkout(tmp_path, {"src/Graph.hs": BROKEN_GRAPH})
    assert main(["graph", "--repo", str(repo)]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        "micro-gastown graph: warning: src/Graph.hs:5: string literal has no closing quote: "
        "the rest of the line is skipped (unterminated_string)",
        "micro-gastown graph: warning: src/Graph.hs:5: '[' is never closed: "
        "read as closed at line 5 (unclosed_bracket)",
        "micro-gastown graph: warning: src/Graph.hs:7: '[' is never closed: "
        "read as closed at line 7 (unclosed_bracket)",
    ]
    assert "  nodes (4):" in out
    assert "answerFaq -> exit" in out
    assert "problems (3):" in out
    assert "src/Graph.hs:5  unterminated_string" in out


def test_json_output_carries_the_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = write_checkout(tmp_path, {"src/Graph.hs": BROKEN_GRAPH})
    assert main(["graph", "--repo", str(repo), "--format", "json"]) == 0
    data = orjson.loads(capsys.readouterr().out)
    assert [(p["code"], p["path"], p["line"]) for p in data["problems"]] == [
        ("unterminated_string", "src/Graph.hs", 5),
        ("unclosed_bracket", "src/Graph.hs", 5),
        ("unclosed_bracket", "src/Graph.hs", 7),
    ]
    assert [n["name"] for n in data["graphs"][0]["nodes"]] == [
        "entry",
        "route",
        "answerFaq",
        "exit",
    ]


def test_a_checkout_of_which_nothing_could_be_read_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = write_checkout(tmp_path, {"Graph.hs": b"{- \xff\xfe never closed\n" + b"data G = G\n"})
    assert main(["graph", "--repo", str(repo)]) == DSL_ERROR_EXIT
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert lines[:-1] == [
        "micro-gastown graph: warning: Graph.hs:1: not valid UTF-8 "
        "(byte 0xff is the first bad one): "
        "undecodable bytes are read as U+FFFD and names holding them are skipped (invalid_utf8)",
        "micro-gastown graph: warning: Graph.hs:1: '{-' is never closed: "
        "the rest of the file is a comment (unterminated_comment)",
    ]
    assert lines[-1] == (
        f"micro-gastown graph: error: --repo {repo}: no graph could be read "
        "(2 problems, see the warnings above)"
    )
    assert "problems (2):" in out


# NUL, ESC (a colour sequence), DEL, C1 CSI, bidi override and isolate, zero-width space
# and joiner, BOM, and a tag character: in a directory name and in string literals (which
# may hold anything); in names, those without the `[`, which would be a bracket there.
HOSTILE = "\x00\x1b[31m\x7f\x9b\u202e\u2066\u200b\u200d\ufeff\U000e0041"
HOSTILE_DIR = HOSTILE.replace("\x00", "")  # a file name cannot hold NUL
HIDDEN = "\x00\x7f\x9b\u202e\u200b\ufeff"
HOSTILE_GRAPH = f"""\
module G where
data TriageGraph mode = TriageGraph
  {{ entry :: mode :- G.Entry Ticket
  , route :: mode :- G.LogicNode
      :@ UsesEffects '[Goto "answer{HOSTILE}Faq" Query, Goto Exit Reply, Log "{HOSTILE}"]
  , answer{HIDDEN}Faq :: mode :- G.LLMNode
      :@ Template FaqTpl
      :@ UsesEffects '[Goto "exit" (Maybe{HIDDEN} Reply), Goto Exit Reply]
  , answerFaq :: mode :- G.LLMNode
      :@ UsesEffects '[Goto Exit Reply]
  , exit :: mode :- G.Exit Reply
  }}
"""
HOSTILE_TEMPLATES = f"""\
module T where
instance TemplateDef FaqTpl where
  templateName = "faq{HOSTILE}"
  templateCompiled = $(typedTemplateFile ''FaqContext "templates/{HOSTILE}.jinja")
"""


def unsafe_characters(text: str) -> list[str]:
    """Characters a terminal would not show as themselves (newline and tab aside)."""
    return [
        f"U+{ord(ch):04X}"
        for ch in text
        if ch not in "\n\t" and unicodedata.category(ch) in ("Cc", "Cf", "Cs")
    ]


@pytest.mark.parametrize("output_format", ["text", "json", "mermaid"])
def test_nothing_from_the_checkout_reaches_the_terminal_invisible(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], output_format: str
) -> None:
    repo = write_checkout(
        tmp_path,
        {
            f"src/{HOSTILE_DIR}/Graph.hs": HOSTILE_GRAPH,
            f"src/{HOSTILE_DIR}/Templates.hs": HOSTILE_TEMPLATES,
        },
    )
    assert main(["graph", "--repo", str(repo), "--format", output_format]) == 0
    out, err = capsys.readouterr()
    assert "answerFaq" in out  # the readable parts are there
    assert unsafe_characters(out) == []
    assert unsafe_characters(err) == []
    assert err.count("micro-gastown graph: warning: ") == len(err.splitlines()) > 0
