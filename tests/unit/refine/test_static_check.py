"""The static check: changed templates against their context record, Goto targets, nodes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from micro_gastown.dsl import DslModel, read_dsl
from micro_gastown.refine.model import CheckOutcome, CheckResult
from micro_gastown.refine.static_check import STATIC_CHECK, static_check

GRAPH = """\
module Graph where

data SupportGraph mode = SupportGraph
  { entry :: mode :- G.Entry Ticket
  , answer :: mode :- G.LLMNode
      :@ Template FaqTpl
      :@ UsesEffects '[Goto "refund" Draft, Goto Exit Reply]
  , refund :: mode :- G.LogicNode :@ UsesEffects '[Goto Exit Reply]
  , archive :: mode :- G.LogicNode :@ UsesEffects '[Goto Exit Reply]
  , exit :: mode :- G.Exit Reply
  }
  deriving Generic
"""

TEMPLATES = """\
module Templates where

faqCompiled :: TypedTemplate FaqContext SourcePos
faqCompiled = $(typedTemplateFile ''FaqContext "templates/faq.jinja")

instance TemplateDef FaqTpl where
  type TemplateContext FaqTpl = FaqContext
  templateName = "faq"
  templateCompiled = faqCompiled
"""

CONTEXT = """\
module Context where

data FaqContext = FaqContext
  { question :: Text
  , customer_tier :: Text
  , kb_documents :: [KbDocument]  -- ^ every article
  }
"""

FAQ = """\
The customer is on the {{ customer_tier }} plan.
Question: {{ question }}
{% for doc in kb_documents %}
=== {{ doc.title }} ===
{{ doc.body }}
{% endfor %}
"""

FIELDS = "question, customer_tier, kb_documents"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    files = {
        "src/Graph.hs": GRAPH,
        "src/Templates.hs": TEMPLATES,
        "src/Context.hs": CONTEXT,
        "templates/faq.jinja": FAQ,
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def before(repo: Path, tmp_path: Path) -> DslModel:
    """The model of the untouched checkout: a copy, as the real one stays untouched while
    the edits are made in a worktree."""
    untouched = tmp_path / "untouched"
    shutil.copytree(repo, untouched)
    return read_dsl(untouched)


def edit(root: Path, relative: str, old: str, new: str) -> None:
    path = root / relative
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def failed(result: CheckResult) -> tuple[str, ...]:
    assert result.outcome is CheckOutcome.FAILED, result
    assert result.reason == result.messages[0] + (
        f" (and {len(result.messages) - 1} more)" if len(result.messages) > 1 else ""
    )
    return result.messages


def passed(result: CheckResult) -> tuple[str, ...]:
    assert result.outcome is CheckOutcome.PASSED, result
    assert result.reason == ""
    return result.messages


def test_an_edit_that_keeps_to_the_context_record_passes(repo: Path, before: DslModel) -> None:
    edit(repo, "templates/faq.jinja", "{{ doc.body }}\n", "{{ doc.body|truncate(400) }}\n")
    result = static_check(repo, ["templates/faq.jinja"], before)
    assert result.name == STATIC_CHECK
    assert passed(result) == (
        "3 variables of templates/faq.jinja are fields of FaqContext",
        "4 Goto edges of 1 graph target nodes of their graph",
        "all 5 nodes of the checkout are still declared",
    )
    assert result.output == "\n".join(result.messages)


def test_a_jinja_syntax_error_fails_with_file_line_and_jinja_message(
    repo: Path, before: DslModel
) -> None:
    edit(repo, "templates/faq.jinja", "{% endfor %}\n", "")
    messages = failed(static_check(repo, ["templates/faq.jinja"], before))
    assert len(messages) == 1
    assert messages[0].startswith("templates/faq.jinja:5: Unexpected end of template.")
    assert "'endfor'" in messages[0]


def test_a_syntax_error_names_the_line_it_is_on(repo: Path, before: DslModel) -> None:
    edit(repo, "templates/faq.jinja", "Question: {{ question }}", "Question: {{ question }")
    (message,) = failed(static_check(repo, ["templates/faq.jinja"], before))
    assert message.startswith("templates/faq.jinja:2: ")


def test_a_variable_the_context_record_lacks_fails(repo: Path, before: DslModel) -> None:
    edit(repo, "templates/faq.jinja", "in kb_documents %}", "in kb_docs[:3] %}")
    messages = failed(static_check(repo, ["templates/faq.jinja"], before))
    assert messages == (
        f"templates/faq.jinja: variable `kb_docs` is not a field of FaqContext (fields: {FIELDS})",
    )


def test_every_unknown_variable_is_reported(repo: Path, before: DslModel) -> None:
    edit(repo, "templates/faq.jinja", "{{ question }}", "{{ query }} for {{ customer.name }}")
    messages = failed(static_check(repo, ["templates/faq.jinja"], before))
    assert [m.split("`")[1] for m in messages] == ["customer", "query"]


def test_loop_set_and_attributes_of_fields_are_not_context_variables(
    repo: Path, before: DslModel
) -> None:
    write(
        repo,
        "templates/faq.jinja",
        "{% set shown = kb_documents[:3] %}\n"
        "{% for doc in shown %}{{ loop.index }}. {{ doc.title }}{% endfor %}\n"
        "{{ question.text|upper }} ({{ customer_tier if customer_tier != null }})\n"
        "{% macro cite(article) %}[{{ article.title }}]{% endmacro %}{{ cite(shown[0]) }}\n",
    )
    messages = passed(static_check(repo, ["templates/faq.jinja"], before))
    assert messages[0] == "3 variables of templates/faq.jinja are fields of FaqContext"


def test_jinja_globals_ginger_lacks_are_not_allowed(repo: Path, before: DslModel) -> None:
    edit(repo, "templates/faq.jinja", "{{ question }}", "{{ question }}{{ range(3) }}")
    messages = failed(static_check(repo, ["templates/faq.jinja"], before))
    assert messages == (
        f"templates/faq.jinja: variable `range` is not a field of FaqContext (fields: {FIELDS})",
    )


def test_a_changed_template_nothing_binds_cannot_pass(repo: Path, before: DslModel) -> None:
    write(repo, "templates/orphan.jinja", "Hello {{ name }}\n")
    messages = failed(static_check(repo, ["templates/orphan.jinja"], before))
    assert messages == ("templates/orphan.jinja: cannot check: no context record bound to it",)


def test_a_bound_context_record_that_cannot_be_found_cannot_pass(
    repo: Path, before: DslModel
) -> None:
    edit(repo, "src/Context.hs", "data FaqContext = FaqContext", "data FaqCtx = FaqCtx")
    messages = failed(static_check(repo, ["templates/faq.jinja"], before))
    assert messages == (
        "templates/faq.jinja: cannot check: FaqContext is not a record with one constructor "
        "declared in the checkout",
    )


def test_a_template_that_is_a_fifo_fails_instead_of_hanging(repo: Path, before: DslModel) -> None:
    (repo / "templates" / "faq.jinja").unlink()
    os.mkfifo(repo / "templates" / "faq.jinja")
    (message,) = failed(static_check(repo, ["templates/faq.jinja"], before))
    assert message.startswith("templates/faq.jinja: cannot check: ")


def test_included_templates_share_the_context_and_are_checked(repo: Path, before: DslModel) -> None:
    write(repo, "templates/partials/docs.jinja", "{% for d in kb_docs %}{{ d }}{% endfor %}\n")
    edit(repo, "templates/faq.jinja", "Question:", '{% include "partials/docs.jinja" %}Question:')
    messages = failed(static_check(repo, ["templates/faq.jinja"], before))
    assert messages == (
        f"templates/faq.jinja: variable `kb_docs` is not a field of FaqContext (fields: {FIELDS})",
    )


def test_an_include_that_cannot_be_found_cannot_pass(repo: Path, before: DslModel) -> None:
    edit(repo, "templates/faq.jinja", "Question:", '{% include "../../etc/x.jinja" %}Question:')
    messages = failed(static_check(repo, ["templates/faq.jinja"], before))
    assert messages == (
        "templates/faq.jinja: cannot check: included template '../../etc/x.jinja' not found",
    )


def test_a_goto_to_a_missing_node_fails(repo: Path, before: DslModel) -> None:
    edit(repo, "src/Graph.hs", 'Goto "refund" Draft', 'Goto "refnud" Draft')
    messages = failed(static_check(repo, ["src/Graph.hs"], before))
    assert messages == (
        'src/Graph.hs:7: Goto "refnud" of node answer names no node of graph SupportGraph '
        "(nodes: entry, answer, refund, archive, exit)",
    )


def test_a_vanished_node_fails(repo: Path, before: DslModel) -> None:
    edit(
        repo,
        "src/Graph.hs",
        "  , archive :: mode :- G.LogicNode :@ UsesEffects '[Goto Exit Reply]\n",
        "",
    )
    messages = failed(static_check(repo, ["src/Graph.hs"], before))
    assert messages == (
        "node archive is gone (graph SupportGraph, declared at src/Graph.hs:9): "
        "refine must not delete nodes",
    )


def test_a_haskell_edit_the_reader_cannot_read_fails_with_its_problems(
    repo: Path, before: DslModel
) -> None:
    edit(repo, "src/Graph.hs", "[Goto Exit Reply]\n  , archive", '[Goto "exit Reply]\n  , archive')
    messages = failed(static_check(repo, ["src/Graph.hs"], before))
    assert any(
        m.startswith("the DSL reader cannot read part of the changed file: src/Graph.hs:8: ")
        and "(unterminated_string)" in m
        for m in messages
    ), messages


def test_problems_the_file_already_had_are_not_blamed_on_the_edit(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    broken = GRAPH.replace("  deriving Generic\n", '  deriving Generic\nbanner = "unclosed\n')
    write(root, "src/Graph.hs", broken)
    shutil.copytree(root, tmp_path / "untouched")
    before = read_dsl(tmp_path / "untouched")
    assert [p.code.value for p in before.problems] == ["unterminated_string"]
    edit(root, "src/Graph.hs", "data SupportGraph", "-- | The graph.\ndata SupportGraph")
    messages = passed(static_check(root, ["src/Graph.hs"], before))
    assert "src/Graph.hs: no new problems for the DSL reader" in messages


def test_a_field_renamed_in_the_record_breaks_the_unchanged_template(
    repo: Path, before: DslModel
) -> None:
    edit(repo, "src/Context.hs", "kb_documents ::", "articles ::")
    messages = failed(static_check(repo, ["src/Context.hs"], before))
    assert messages == (
        "templates/faq.jinja: variable `kb_documents` is not a field of FaqContext "
        "(fields: question, customer_tier, articles)",
    )


def test_rebinding_a_template_to_another_record_checks_it_against_that_one(
    repo: Path, before: DslModel
) -> None:
    edit(
        repo,
        "src/Context.hs",
        "module Context where\n",
        "module Context where\ndata ShortContext = ShortContext { question :: Text }\n",
    )
    edit(
        repo,
        "src/Templates.hs",
        "type TemplateContext FaqTpl = FaqContext",
        "type TemplateContext FaqTpl = ShortContext",
    )
    messages = failed(static_check(repo, ["src/Context.hs", "src/Templates.hs"], before))
    assert [m.split("`")[1] for m in messages] == ["customer_tier", "kb_documents"]
    assert all("is not a field of ShortContext (fields: question)" in m for m in messages)


def test_an_unchanged_template_is_not_blamed_for_what_it_lacked_before(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    files = {
        "src/Graph.hs": GRAPH,
        "src/Templates.hs": TEMPLATES,
        "src/Context.hs": CONTEXT,
        "templates/faq.jinja": FAQ + "{{ legacy_footer }}\n",
    }
    for relative, text in files.items():
        write(root, relative, text)
    shutil.copytree(root, tmp_path / "untouched")
    before = read_dsl(tmp_path / "untouched")
    edit(root, "src/Context.hs", "  , customer_tier :: Text\n", "  , customer_tier :: !Text\n")
    messages = passed(static_check(root, ["src/Context.hs"], before))
    assert "3 variables of templates/faq.jinja are fields of FaqContext" in messages


def test_a_checkout_the_reader_cannot_read_fails(repo: Path, before: DslModel) -> None:
    (repo / "src" / "Graph.hs").unlink()
    (message,) = failed(static_check(repo, ["src/Graph.hs"], before))
    assert message.startswith("the changed checkout cannot be read: ")
    assert "no Graph.hs file found" in message


SAMPLE = Path(__file__).resolve().parents[3] / "examples" / "exomonad-sample"


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A copy of the bundled sample checkout, without build output."""
    root = tmp_path / "sample"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("dist-newstyle", ".git"))
    return root


def test_the_bundled_sample_templates_pass(sample: Path) -> None:
    before = read_dsl(sample)
    templates = sorted(t.file for t in before.templates if t.file is not None)
    assert templates
    messages = passed(static_check(sample, templates, before))
    checked = [m for m in messages if " of templates/" in m]
    assert len(checked) == len(templates)
    assert "3 variables of templates/faq.jinja are fields of FaqContext" in messages


def test_a_sample_template_using_a_field_its_record_lacks_fails(sample: Path) -> None:
    before = read_dsl(sample)
    edit(sample, "templates/faq.jinja", "in kb_documents %}", "in kb_docs %}")
    messages = failed(static_check(sample, ["templates/faq.jinja"], before))
    assert messages == (
        f"templates/faq.jinja: variable `kb_docs` is not a field of FaqContext (fields: {FIELDS})",
    )
