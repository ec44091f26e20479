"""read_dsl: graph records, nodes, edges and where each was declared."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micro_gastown.cli.flags import worded
from micro_gastown.dsl import DslModel, Edge, NodeKind, SourceLocation, read_dsl
from micro_gastown.errors import DslError

WriteRepo = Callable[[Mapping[str, str]], Path]


def edge_tuples(model: DslModel) -> list[tuple[str, str, str | None]]:
    return [(e.source, e.target, e.payload) for e in model.edges()]


# --------------------------------------------------------------------------------------
# the hand-made "tricky" checkout: comments, multi-line fields, odd constructs
# --------------------------------------------------------------------------------------


@pytest.fixture
def tricky(data_dir: Path) -> DslModel:
    return read_dsl(data_dir / "tricky")


def test_nodes_are_fields_typed_mode_arrow_in_declaration_order(tricky: DslModel) -> None:
    (graph,) = tricky.graphs
    assert graph.name == "ReviewGraph"
    assert graph.path == "src/Review/Graph.hs"
    assert [(n.name, n.kind) for n in graph.nodes] == [
        ("start", NodeKind.ENTRY),
        ("fetch", NodeKind.LOGIC),
        ("refetch", NodeKind.LOGIC),
        ("critique", NodeKind.LLM),
        ("publish", NodeKind.LOGIC),
        ("done", NodeKind.EXIT),
    ]


def test_node_lines_are_exact_after_block_and_line_comments(tricky: DslModel) -> None:
    lines = {n.name: n.declared_in for n in tricky.nodes()}
    path = "src/Review/Graph.hs"
    assert lines == {
        "start": SourceLocation(path, 17),
        "fetch": SourceLocation(path, 18),
        "refetch": SourceLocation(path, 18),
        "critique": SourceLocation(path, 25),
        "publish": SourceLocation(path, 32),
        "done": SourceLocation(path, 33),
    }
    assert str(lines["critique"]) == "src/Review/Graph.hs:25"


def test_edges_point_at_the_line_of_their_goto(tricky: DslModel) -> None:
    path = "src/Review/Graph.hs"
    assert [(e.source, e.target, e.payload, e.declared_in.line) for e in tricky.edges()] == [
        ("fetch", "critique", "(Diff, [Comment])", 22),
        ("refetch", "critique", "(Diff, [Comment])", 22),
        ("critique", "publish", "Review", 29),
        ("critique", "archive", "Rejection", 29),
        ("publish", "done", "Verdict", 32),
        ("publish", "publish", "Review", 32),
    ]
    assert {e.declared_in.path for e in tricky.edges()} == {path}
    assert {e.graph for e in tricky.edges()} == {"ReviewGraph"}


def test_records_inside_block_comments_are_ignored(tricky: DslModel) -> None:
    assert [g.name for g in tricky.graphs] == ["ReviewGraph"]
    assert "ghost" not in {n.name for n in tricky.nodes()}


def test_non_node_fields_and_unknown_node_kinds_are_skipped(tricky: DslModel) -> None:
    names = {n.name for n in tricky.nodes()}
    assert "helper" not in names  # plain `Int -> Int` field
    assert "legacy" not in names  # G.ForkNode is not a kind we know
    # ...and the Goto inside the skipped field is not an edge either.
    assert ("legacy", "publish", "Review") not in edge_tuples(tricky)


def test_goto_to_an_undeclared_node_is_an_edge_but_no_node_is_invented(
    tricky: DslModel,
) -> None:
    assert ("critique", "archive", "Rejection") in edge_tuples(tricky)
    assert "archive" not in {n.name for n in tricky.nodes()}


def test_parenthesised_payloads_lose_redundant_parens_but_keep_tuples(tricky: DslModel) -> None:
    nodes = {n.name: n for n in tricky.nodes()}
    assert nodes["start"].payload == "Maybe PullRequest"
    assert nodes["critique"].schema == "Either Rejection Review"
    assert nodes["done"].payload == "Verdict"
    assert edge_tuples(tricky)[0][2] == "(Diff, [Comment])"


def test_annotations_are_kept_in_order_including_unknown_ones(tricky: DslModel) -> None:
    critique = next(n for n in tricky.nodes() if n.name == "critique")
    # `(LLMNode :@ Template X) :@ ...` is flattened: `:@` is infixl.
    assert critique.annotations == ("Template", "Schema", "Vision", "ClaudeCode", "UsesEffects")
    assert critique.template == "CritiqueTpl"
    assert critique.payload is None


def test_mixed_effect_lists_keep_other_effects_apart_from_edges(tricky: DslModel) -> None:
    fetch = next(n for n in tricky.nodes() if n.name == "fetch")
    assert fetch.effects == ("GitHub", "Log")
    assert fetch.annotations == ("Needs", "UsesEffects")


# --------------------------------------------------------------------------------------
# two graphs, synonyms in another file
# --------------------------------------------------------------------------------------


@pytest.fixture
def shop(data_dir: Path) -> DslModel:
    return read_dsl(data_dir / "two-graphs")


def test_every_graph_file_is_read_including_star_graph_hs(shop: DslModel) -> None:
    assert [(g.name, g.path) for g in shop.graphs] == [
        ("CheckoutGraph", "shop/src/Shop/Graph.hs"),
        ("ReviewGraph", "shop/src/Shop/ReviewGraph.hs"),
    ]
    assert [n.graph for n in shop.nodes()] == ["CheckoutGraph"] * 4 + ["ReviewGraph"] * 3


def test_synonyms_from_another_file_are_expanded_and_nested(shop: DslModel) -> None:
    checkout = shop.graphs[0]
    check_edges = [e for e in checkout.edges if e.source == "check"]
    assert check_edges == [
        Edge(
            "CheckoutGraph", "check", "pay", "Cart", SourceLocation("shop/src/Shop/Effects.hs", 9)
        ),
        Edge(
            "CheckoutGraph",
            "check",
            "receipt",
            "Maybe Receipt",
            SourceLocation("shop/src/Shop/Effects.hs", 10),
        ),
    ]
    check = next(n for n in checkout.nodes if n.name == "check")
    assert check.effects == ("Log", "State Cart")


def test_goto_exit_targets_the_graphs_own_exit_field(shop: DslModel) -> None:
    assert ("pay", "receipt", "Maybe Receipt") in edge_tuples(shop)
    review_targets = {e.target for e in shop.graphs[1].edges}
    assert review_targets == {"thank"}  # undeclared, kept as is


# --------------------------------------------------------------------------------------
# inline checkouts for single behaviours
# --------------------------------------------------------------------------------------

MINIMAL = """\
data G mode = G
  { entry :: mode :- G.Entry In
  , work :: mode :- G.LogicNode :@ UsesEffects WorkEffects
  , exit :: mode :- G.Exit Out
  }
"""


def test_build_and_vendor_directories_are_not_searched(write_repo: WriteRepo) -> None:
    decoy = "data Decoy mode = Decoy { entry :: mode :- G.Entry X }\n"
    root = write_repo(
        {
            "src/Graph.hs": MINIMAL,
            "src/Types.hs": "type WorkEffects = '[Goto Exit Out]\n",
            "dist-newstyle/build/src/Graph.hs": decoy,
            ".stack-work/dist/Graph.hs": decoy,
            "node_modules/x/Graph.hs": decoy,
            ".git/Graph.hs": decoy,
            "dist-newstyle/Types.hs": 'type WorkEffects = \'[Goto "decoy" X]\n',
        }
    )
    model = read_dsl(root)
    assert [g.name for g in model.graphs] == ["G"]
    assert edge_tuples(model) == [("work", "exit", "Out")]


def test_a_synonym_defined_beside_the_graph_wins_over_one_elsewhere(
    write_repo: WriteRepo,
) -> None:
    root = write_repo(
        {
            "a/Types.hs": 'type WorkEffects = \'[Goto "elsewhere" X]\n',
            "b/Graph.hs": MINIMAL + '\ntype WorkEffects = \'[Goto "local" Y]\n',
        }
    )
    assert edge_tuples(read_dsl(root)) == [("work", "local", "Y")]


def test_cyclic_synonyms_terminate(write_repo: WriteRepo) -> None:
    root = write_repo(
        {
            "Graph.hs": MINIMAL,
            "Types.hs": (
                "type WorkEffects = '[Log, More]\ntype More = '[WorkEffects, Goto \"again\" X]\n"
            ),
        }
    )
    model = read_dsl(root)
    assert edge_tuples(model) == [("work", "again", "X")]
    assert model.nodes()[1].effects == ("Log", "WorkEffects")


def test_type_level_append_and_payloadless_goto(write_repo: WriteRepo) -> None:
    root = write_repo(
        {
            "Graph.hs": MINIMAL,
            "Types.hs": (
                'type WorkEffects = Base ++ \'[Goto "faq", Goto Exit Out]\n'
                "type Base = '[State S]\n"
            ),
        }
    )
    model = read_dsl(root)
    assert edge_tuples(model) == [("work", "faq", None), ("work", "exit", "Out")]
    assert model.nodes()[1].effects == ("State S",)


def test_unresolvable_effect_synonym_is_recorded_as_an_effect(write_repo: WriteRepo) -> None:
    model = read_dsl(write_repo({"Graph.hs": MINIMAL}))
    assert model.edges() == ()
    assert model.nodes()[1].effects == ("WorkEffects",)


def test_goto_exit_without_an_exit_field_targets_exit(write_repo: WriteRepo) -> None:
    source = (
        "data G mode = G\n"
        "  { entry :: mode :- Entry In\n"
        "  , work :: mode :- LogicNode :@ UsesEffects '[Goto Exit Out]\n"
        "  }\n"
    )
    assert edge_tuples(read_dsl(write_repo({"Graph.hs": source}))) == [("work", "exit", "Out")]


def test_crlf_sources_keep_exact_line_numbers(write_repo: WriteRepo) -> None:
    source = MINIMAL.replace("\n", "\r\n").replace("WorkEffects", "'[Goto Exit Out]")
    model = read_dsl(write_repo({"Graph.hs": source}))
    assert [n.declared_in.line for n in model.nodes()] == [2, 3, 4]
    assert model.edges()[0].declared_in == SourceLocation("Graph.hs", 3)


def test_invalid_utf8_does_not_stop_the_reader(write_repo: WriteRepo) -> None:
    root = write_repo({"Graph.hs": MINIMAL.replace("WorkEffects", "'[Goto Exit Out]")})
    (root / "Graph.hs").write_bytes(b"-- caf\xe9\n" + (root / "Graph.hs").read_bytes())
    assert [n.declared_in.line for n in read_dsl(root).nodes()] == [3, 4, 5]


def test_records_without_mode_fields_are_not_graphs(write_repo: WriteRepo) -> None:
    source = "data Config = Config\n  { name :: Text\n  , retries :: Int\n  }\n" + MINIMAL
    model = read_dsl(write_repo({"Graph.hs": source}))
    assert [g.name for g in model.graphs] == ["G"]


def test_graph_hs_without_any_graph_record_reads_as_empty(write_repo: WriteRepo) -> None:
    model = read_dsl(write_repo({"Graph.hs": "module Graph where\n\nx = 1\n"}))
    assert model.graphs == ()
    assert model.nodes() == ()


def test_reading_is_deterministic(data_dir: Path) -> None:
    assert read_dsl(data_dir / "two-graphs") == read_dsl(data_dir / "two-graphs")


# --------------------------------------------------------------------------------------
# errors name the path
# --------------------------------------------------------------------------------------


def test_missing_repo_is_a_dsl_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(DslError) as caught:
        read_dsl(missing)
    assert (caught.value.setting, caught.value.value) == ("repo", missing)
    assert str(caught.value) == f"repo {missing}: no such directory"
    assert worded(caught.value) == f"--repo {missing}: no such directory"


def test_repo_that_is_a_file_is_a_dsl_error(tmp_path: Path) -> None:
    file = tmp_path / "Graph.hs"
    file.write_text(MINIMAL)
    with pytest.raises(DslError, match="not a directory"):
        read_dsl(file)


def test_repo_without_graph_hs_is_a_dsl_error(write_repo: WriteRepo) -> None:
    root = write_repo({"src/Types.hs": "module Types where\n", "README.md": "hi\n"})
    with pytest.raises(DslError) as caught:
        read_dsl(root)
    assert worded(caught.value) == f"--repo {root}: no Graph.hs file found under it"


def test_graph_hs_only_in_build_output_does_not_count(write_repo: WriteRepo) -> None:
    root = write_repo({"dist-newstyle/Graph.hs": MINIMAL})
    with pytest.raises(DslError, match=r"no Graph\.hs file found"):
        read_dsl(root)


# --------------------------------------------------------------------------------------
# robustness: nothing in a Graph.hs makes the reader raise
# --------------------------------------------------------------------------------------

HASKELL_PIECES = [
    *("data", "G", "mode", "=", "{", "}", "(", ")", "[", "]", "'[", ",", "::", ":-", ":@"),
    *("G.Entry", "LLMNode", "LogicNode", "Exit", "Self", "Goto", '"x"', "UsesEffects"),
    *("Template", "Schema", "X", "\n", "\n  ", "--", "{-", "-}", "type", "E", "++", "'", '"'),
    *("instance", "TemplateDef", "where", "templateName", "typedTemplateFile", "''", "$(", "\\"),
]


@settings(max_examples=150, deadline=None)
@given(
    graph=st.lists(st.sampled_from(HASKELL_PIECES), max_size=60),
    templates=st.lists(st.sampled_from(HASKELL_PIECES), max_size=30),
)
def test_malformed_sources_are_skipped_never_fatal(graph: list[str], templates: list[str]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        (root / "Graph.hs").write_text("data G mode = G\n  { " + " ".join(graph))
        (root / "Templates.hs").write_text(" ".join(templates))
        model = read_dsl(root)
    declared = {n.name for n in model.nodes()}
    assert all(e.source in declared for e in model.edges())


def test_a_synonym_from_the_same_package_wins_in_a_monorepo(write_repo: WriteRepo) -> None:
    root = write_repo(
        {
            "agents/aaa/src/Types.hs": 'type WorkEffects = \'[Goto "other" X]\n',
            "agents/zzz/src/Graph.hs": MINIMAL,
            "agents/zzz/src/Types.hs": 'type WorkEffects = \'[Goto "mine" Y]\n',
        }
    )
    assert edge_tuples(read_dsl(root)) == [("work", "mine", "Y")]
