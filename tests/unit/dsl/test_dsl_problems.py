"""read_dsl on broken checkouts: what cannot be read is a coded problem at its file:line,
and everything else is still read (one typo must not hide a graph or a dead path)."""

from __future__ import annotations

import os
import signal
import time
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from micro_gastown.dsl import DslModel, read_dsl
from micro_gastown.dsl.model import DslProblem, DslProblemCode, SourceLocation
from micro_gastown.dsl.sources import MAX_PROBLEMS_PER_FILE
from micro_gastown.errors import DslError

WriteRepo = Callable[[Mapping[str, str]], Path]

# Line numbers matter: every test breaks one line of this record and asserts that line.
GRAPH = """\
module G where
data TriageGraph mode = TriageGraph
  { entry :: mode :- G.Entry Ticket
  , classify :: mode :- G.LLMNode
      :@ UsesEffects '[Goto "route" Classification]
  , route :: mode :- G.LogicNode
      :@ UsesEffects '[Goto "answerFaq" Query, Goto Exit Reply]
  , answerFaq :: mode :- G.LLMNode
      :@ UsesEffects '[Goto Exit Reply]
  , exit :: mode :- G.Exit Reply
  }
"""
ALL_NODES = ["entry", "classify", "route", "answerFaq", "exit"]
GOTO_LINE = 7  # route's effects
FIELD_LINE = 8  # answerFaq's field


def broken(old: str, new: str) -> str:
    assert old in GRAPH, old
    return GRAPH.replace(old, new, 1)


def node_names(model: DslModel) -> list[str]:
    return [node.name for node in model.nodes()]


def edges(model: DslModel) -> list[tuple[str, str]]:
    return [(edge.source, edge.target) for edge in model.edges()]


def problems(model: DslModel) -> list[tuple[DslProblemCode, str]]:
    return [(p.code, str(p.location)) for p in model.problems]


def test_a_clean_checkout_has_no_problems(write_repo: WriteRepo, sample_repo: Path) -> None:
    model = read_dsl(write_repo({"Graph.hs": GRAPH}))
    assert model.problems == ()
    assert node_names(model) == ALL_NODES
    assert read_dsl(sample_repo).problems == ()


def test_unterminated_string_is_reported_and_later_fields_are_still_read(
    write_repo: WriteRepo,
) -> None:
    model = read_dsl(write_repo({"Graph.hs": broken('"answerFaq" Query', '"answerFaq Query')}))
    assert (DslProblemCode.UNTERMINATED_STRING, "Graph.hs:7") in problems(model)
    # Before: the string swallowed the `]`, and with it every field after route.
    assert node_names(model) == ALL_NODES
    assert ("answerFaq", "exit") in edges(model)
    assert all(" " not in target for _, target in edges(model))


def test_missing_closing_bracket_is_reported_and_the_record_still_read(
    write_repo: WriteRepo,
) -> None:
    model = read_dsl(
        write_repo(
            {
                "Graph.hs": broken(
                    "Goto Exit Reply]\n  , answerFaq", "Goto Exit Reply\n  , answerFaq"
                )
            }
        )
    )
    assert problems(model) == [(DslProblemCode.UNCLOSED_BRACKET, "Graph.hs:7")]
    assert node_names(model) == ALL_NODES
    assert edges(model) == [
        ("classify", "route"),
        ("route", "answerFaq"),
        ("route", "exit"),
        ("answerFaq", "exit"),
    ]


def test_a_closing_bracket_that_closes_nothing_is_reported(write_repo: WriteRepo) -> None:
    model = read_dsl(
        write_repo(
            {"Graph.hs": broken("Goto Exit Reply]\n  , exit", "Goto Exit Reply]]\n  , exit")}
        )
    )
    assert problems(model) == [(DslProblemCode.UNEXPECTED_BRACKET, "Graph.hs:9")]
    assert node_names(model) == ALL_NODES


def test_unterminated_block_comment_is_reported(write_repo: WriteRepo) -> None:
    model = read_dsl(
        write_repo({"Graph.hs": broken("  , answerFaq ::", "  {- oops\n  , answerFaq ::")})
    )
    assert (DslProblemCode.UNTERMINATED_COMMENT, "Graph.hs:8") in problems(model)
    assert node_names(model) == ["entry", "classify", "route"]


NINE_BAD_BYTES = b"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7"


def write_bytes_repo(tmp_path: Path, data: bytes) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "Graph.hs").write_bytes(data)
    return root


def test_invalid_utf8_in_a_name_is_reported_at_its_line_and_the_rest_is_read(
    tmp_path: Path,
) -> None:
    data = GRAPH.encode().replace(b"  , answerFaq ::", b"  , answer" + NINE_BAD_BYTES + b"Faq ::")
    model = read_dsl(write_bytes_repo(tmp_path, data))
    found = problems(model)
    assert found[0] == (DslProblemCode.INVALID_UTF8, "Graph.hs:8")
    assert "0xff" in model.problems[0].message
    assert (DslProblemCode.INVALID_NAME, "Graph.hs:8") in found
    # The field whose name is garbled is skipped whole, never read as `answer` and `Faq`.
    assert node_names(model) == ["entry", "classify", "route", "exit"]
    assert ("route", "answerFaq") in edges(model)


def test_invalid_utf8_in_a_comment_is_reported_and_nothing_is_lost(tmp_path: Path) -> None:
    data = GRAPH.encode().replace(b"module G where", b"module G where -- caf\xe9 (Latin-1)")
    model = read_dsl(write_bytes_repo(tmp_path, data))
    assert problems(model) == [(DslProblemCode.INVALID_UTF8, "Graph.hs:1")]
    assert node_names(model) == ALL_NODES


DEPTH = 100_000
OPEN_PARENS, CLOSE_PARENS = "(" * DEPTH, ")" * DEPTH
# 10x the recursion limit is enough to prove the point, at a third of the tokens.
OPEN_LISTS, CLOSE_LISTS = "'[ " * 10_000, "]" * 10_000  # `'['` would be a char literal


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("Goto Exit Reply]\n  , exit", f"Goto Exit {OPEN_PARENS}Reply{CLOSE_PARENS}]\n  , exit"),
        ("'[Goto Exit Reply]\n  , exit", f"{OPEN_LISTS}Goto Exit Reply{CLOSE_LISTS}\n  , exit"),
        ("Goto Exit Reply]\n  , exit", f"Goto Exit {OPEN_PARENS}Reply]\n  , exit"),
    ],
    ids=["parentheses", "promoted-lists", "never-closed"],
)
def test_deep_nesting_is_reported_without_recursion_and_the_rest_is_read(
    write_repo: WriteRepo, old: str, new: str
) -> None:
    model = read_dsl(write_repo({"Graph.hs": broken(old, new)}))
    assert (DslProblemCode.TOO_DEEP, "Graph.hs:9") in problems(model)
    assert node_names(model) == ALL_NODES
    assert edges(model)[:3] == [("classify", "route"), ("route", "answerFaq"), ("route", "exit")]


def test_synonyms_that_double_at_every_level_are_cut_off_and_reported(
    write_repo: WriteRepo,
) -> None:
    # 2**40 elements once expanded: before, this never finished.
    types = ["module T where"]
    types += [f"type S{i} = S{i + 1} ++ S{i + 1}" for i in range(40)]
    types.append('type S40 = \'[Goto "route" Query]')
    graph = broken('\'[Goto "route" Classification]', "S0")
    model = read_dsl(write_repo({"Graph.hs": graph, "Types.hs": "\n".join(types) + "\n"}))
    assert DslProblemCode.TOO_DEEP in {code for code, _ in problems(model)}
    assert all(p.location.path == "Types.hs" for p in model.problems)
    assert node_names(model) == ALL_NODES


def test_a_long_synonym_chain_is_reported_not_a_recursion_error(write_repo: WriteRepo) -> None:
    types = ["module T where"]
    types += [f"type S{i} = S{i + 1}" for i in range(3000)]
    types.append('type S3000 = \'[Goto "route" Query]')
    graph = broken('\'[Goto "route" Classification]', "S0")
    model = read_dsl(write_repo({"Graph.hs": graph, "Types.hs": "\n".join(types) + "\n"}))
    assert [code for code, _ in problems(model)] == [DslProblemCode.TOO_DEEP]
    assert node_names(model) == ALL_NODES


@pytest.mark.parametrize(
    "name",
    ["ánswerFaq", unicodedata.normalize("NFD", "ánswerFaq"), "ответ", "回答", "ñandú'", "_x1"],
    ids=["composed-accent", "decomposed-accent", "cyrillic", "cjk", "prime", "underscore"],
)
def test_unicode_letters_make_names_as_in_haskell(write_repo: WriteRepo, name: str) -> None:
    model = read_dsl(write_repo({"Graph.hs": GRAPH.replace("answerFaq", name)}))
    assert model.problems == ()
    assert node_names(model) == ["entry", "classify", "route", name, "exit"]
    assert (name, "exit") in edges(model)
    assert ("route", name) in edges(model)


@pytest.mark.parametrize("hidden", ["\u202e", "\u200b", "\u2066", "\x00", "\x1b"])
def test_a_hidden_character_in_a_goto_target_is_an_error_not_a_second_edge(
    write_repo: WriteRepo, hidden: str
) -> None:
    model = read_dsl(write_repo({"Graph.hs": broken('"answerFaq"', f'"answer{hidden}Faq"')}))
    assert problems(model) == [(DslProblemCode.INVISIBLE_CHARACTER, "Graph.hs:7")]
    assert f"U+{ord(hidden):04X}" in model.problems[0].message
    assert hidden not in model.problems[0].message
    # No edge to a look-alike of answerFaq: it would be a second dead_path finding.
    assert edges(model) == [("classify", "route"), ("route", "exit"), ("answerFaq", "exit")]
    assert node_names(model) == ALL_NODES


@pytest.mark.parametrize("hidden", ["\u200b", "\u202e", "\u00ad", "\ufe0f", "\x7f"])
def test_a_hidden_character_in_a_field_name_is_an_error_not_two_nodes(
    write_repo: WriteRepo, hidden: str
) -> None:
    model = read_dsl(write_repo({"Graph.hs": broken("answerFaq ::", f"answer{hidden}Faq ::")}))
    assert problems(model) == [(DslProblemCode.INVISIBLE_CHARACTER, "Graph.hs:8")]
    assert node_names(model) == ["entry", "classify", "route", "exit"]
    assert all(hidden not in name for name in node_names(model))


def test_a_goto_target_that_is_no_name_is_reported(write_repo: WriteRepo) -> None:
    model = read_dsl(write_repo({"Graph.hs": broken('"answerFaq"', '"answer Faq"')}))
    assert problems(model) == [(DslProblemCode.INVALID_NAME, "Graph.hs:7")]
    assert ("route", "answer Faq") not in edges(model)


def test_problems_of_a_synonym_point_at_the_synonym_file(write_repo: WriteRepo) -> None:
    types = 'module T where\ntype RouteEffects = \'[Goto "faq\u200b" Query, Goto Exit Reply]\n'
    graph = broken('\'[Goto "answerFaq" Query, Goto Exit Reply]', "RouteEffects")
    model = read_dsl(write_repo({"Graph.hs": graph, "src/Types.hs": types}))
    assert model.problems == (
        DslProblem(
            DslProblemCode.INVISIBLE_CHARACTER,
            SourceLocation("src/Types.hs", 2),
            model.problems[0].message,
        ),
    )
    assert ("route", "exit") in edges(model)


def test_problems_per_file_are_capped_and_the_rest_counted(write_repo: WriteRepo) -> None:
    noise = "".join(f"x{i} = \u200b\n" for i in range(MAX_PROBLEMS_PER_FILE + 15))
    model = read_dsl(write_repo({"Graph.hs": GRAPH + noise}))
    assert len(model.problems) == MAX_PROBLEMS_PER_FILE + 1
    last = model.problems[-1]
    assert last.code is DslProblemCode.MORE_PROBLEMS
    assert last.message.startswith("15 more problems")
    assert node_names(model) == ALL_NODES


def test_problem_text_names_file_line_and_code_on_one_line(write_repo: WriteRepo) -> None:
    model = read_dsl(write_repo({"Graph.hs": broken('"answerFaq"', '"answer\u202eFaq"')}))
    (problem,) = model.problems
    text = str(problem)
    assert text.startswith("Graph.hs:7: Goto target 'answerFaq' contains U+202E")
    assert text.endswith("(invisible_character)")
    assert "\u202e" not in text
    assert "\n" not in text


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.sampled_from(
            [
                "(",
                ")",
                "[",
                "]",
                "{",
                "}",
                "'[",
                '"',
                "'",
                ",",
                "::",
                ":-",
                ":@",
                "\n",
                "  ",
                "Goto",
                '"x"',
                "Exit",
                "mode",
                "G.Entry",
                "UsesEffects",
                "{-",
                "-}",
                "--",
                "\u200b",
                "\u202e",
                "\x00",
                "\ufffd",
                "á",
                "data",
                "type",
                "=",
                "T",
                "++",
            ]
        ),
        max_size=60,
    )
)
def test_any_damage_to_a_record_is_read_without_crashing(
    write_repo: WriteRepo, pieces: list[str]
) -> None:
    source = GRAPH.replace("  , answerFaq", "".join(pieces) + "\n  , answerFaq")
    model = read_dsl(write_repo({"Graph.hs": source}))
    last_line = source.count("\n") + 1
    assert all(1 <= p.location.line <= last_line for p in model.problems)
    assert all("\u200b" not in n and "\u202e" not in n for n in node_names(model))
    assert "entry" in node_names(model)


# --------------------------------------------------------------------------------------
# .hs names that are no regular file
# --------------------------------------------------------------------------------------


@contextmanager
def fails_if_blocked(seconds: float = 10) -> Iterator[None]:
    """Turn a read blocked on a FIFO into a prompt failure (SIGALRM interrupts it).

    pytest-timeout's own SIGALRM timer is put back afterwards with what is left of it.
    """

    def blocked(signum: int, frame: object) -> None:
        raise AssertionError(f"still blocked after {seconds} s: a FIFO was opened")

    previous = signal.signal(signal.SIGALRM, blocked)
    outer_delay, outer_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay:
            left = max(outer_delay - (time.monotonic() - started), 0.001)
            signal.setitimer(signal.ITIMER_REAL, left, outer_interval)


def make_special(path: Path, kind: str) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dangling-symlink":
        path.symlink_to("nowhere.hs")
    elif kind == "symlink-loop":
        path.symlink_to(path.name)
    else:
        path.mkdir()
        (path / "Inner.hs").write_text("module Inner where\n")


SPECIAL_KINDS = {
    "fifo": "is a FIFO (named pipe)",
    "dangling-symlink": "is a dangling symlink",
    "symlink-loop": "is a symlink loop",
    "directory": "is a directory",
}


@pytest.mark.parametrize("kind", list(SPECIAL_KINDS))
def test_a_special_hs_file_is_a_problem_and_the_rest_is_read(
    write_repo: WriteRepo, kind: str
) -> None:
    repo = write_repo({"Graph.hs": GRAPH})
    make_special(repo / "Types.hs", kind)
    with fails_if_blocked():
        model = read_dsl(repo)
    (problem,) = model.problems
    assert problem.code is DslProblemCode.NOT_A_FILE
    assert str(problem) == f"Types.hs: {SPECIAL_KINDS[kind]}: not read (not_a_file)"
    assert node_names(model) == ALL_NODES


@pytest.mark.parametrize("kind", list(SPECIAL_KINDS))
def test_a_graph_hs_that_is_no_file_is_refused_naming_it(tmp_path: Path, kind: str) -> None:
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    make_special(repo / "src" / "Graph.hs", kind)
    with fails_if_blocked(), pytest.raises(DslError) as refused:
        read_dsl(repo)
    assert f"src/Graph.hs: {SPECIAL_KINDS[kind]}: not read" in str(refused.value)
