"""The files code chooses for a finding: which, why, exact text, the budget, safe reads."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from micro_gastown.dsl import DslModel, read_dsl
from micro_gastown.refine.context import FindingContext, build_context
from micro_gastown.refine.selection import Candidate, select_findings
from micro_gastown.report.model import Pattern, PatternReport, PatternType, Severity, Summary

SAMPLE = Path(__file__).resolve().parents[3] / "examples" / "exomonad-sample"

GRAPH = """\
module Shop.Graph where

-- | The shop graph.
data ShopGraph mode = ShopGraph
  { entry :: mode :- G.Entry Ticket

    -- | Classify the ticket.
  , classify :: mode :- G.LLMNode
      :@ Template ClassifyTpl
      :@ Schema Classification
      :@ UsesEffects '[Goto "route" Classification]

  , route :: mode :- G.LogicNode
      :@ UsesEffects RouteEffects

  , answerFaq :: mode :- G.LLMNode
      :@ Template FaqTpl
      :@ UsesEffects '[Goto "summarize" Draft]

  , refund :: mode :- G.LogicNode
      :@ UsesEffects '[PaymentApi, Goto "summarize" Draft]

  , summarize :: mode :- G.LogicNode
      :@ UsesEffects '[Goto Exit Reply]

  , exit :: mode :- G.Exit Reply
  }
  deriving Generic
"""

TYPES = """\
module Shop.Types where

data Ticket = Ticket { subject :: Text, body :: Text }
  deriving stock (Show, Generic)

-- | What classify answers.
data Classification = Classification
  { category :: Text
  , priority :: Text
  }
  deriving stock (Show, Generic)

data Draft = Draft { draftText :: Text }

type RouteEffects =
  '[ Goto "answerFaq" Ticket
   , Goto "refund" Ticket
   ]
"""

CONTEXT = """\
module Shop.Context where

data ClassifyContext = ClassifyContext
  { subject :: Text
  , body :: Text
  }

-- | The FAQ prompt's variables.
data FaqContext = FaqContext
  { question :: Text
  , kb_documents :: [Text]  -- ^ every article, every call
  }

instance ToGVal (Run SourcePos (Writer Text) Text) FaqContext where
  toGVal ctx = dict [ "question" ~> ctx.question ]

data Unrelated = Unrelated
"""

TEMPLATES = """\
module Shop.Templates where

classifyCompiled :: TypedTemplate ClassifyContext SourcePos
classifyCompiled = $(typedTemplateFile ''ClassifyContext "templates/classify.jinja")

instance TemplateDef ClassifyTpl where
  type TemplateContext ClassifyTpl = ClassifyContext
  templateName = "classify"
  templateCompiled = classifyCompiled

faqCompiled :: TypedTemplate FaqContext SourcePos
faqCompiled = $(typedTemplateFile ''FaqContext "templates/faq.jinja")

instance TemplateDef FaqTpl where
  type TemplateContext FaqTpl = FaqContext
  templateName = "faq"
  templateCompiled = faqCompiled
"""

HANDLERS = """\
module Shop.Handlers where

-- | One field per node.
shopHandlers :: ShopGraph (AsHandler es)
shopHandlers = ShopGraph
  { entry = Proxy @Ticket
  , classify = LLMHandler Nothing classifyCompiled classifyBefore classifyAfter
  , route = routeLogic
  , answerFaq = LLMHandler Nothing faqCompiled faqBefore faqAfter
  , refund = refundLogic
  , summarize = summarizeLogic
  , exit = Proxy @Reply
  }

classifyBefore :: Ticket -> Eff es ClassifyContext
classifyBefore t = pure ClassifyContext { subject = t.subject, body = t.body }

classifyAfter :: Classification -> Eff es (GotoChoice '[To "route" Classification])
classifyAfter = pure . gotoChoice @"route"

-- | Routing: questions to the FAQ, the rest to refunds.
routeLogic :: Classification -> Eff es (GotoChoice '[To "answerFaq" Ticket, To "refund" Ticket])
routeLogic c
  | c.category == "question" = pure $ gotoChoice @"answerFaq" c.ticket
  | otherwise = pure $ gotoChoice @"refund" c.ticket

faqBefore :: Ticket -> Eff es FaqContext
faqBefore t = pure FaqContext { question = t.body, kb_documents = [] }

faqAfter :: FaqAnswer -> Eff es (GotoChoice '[To "summarize" Draft])
faqAfter a = pure $ gotoChoice @"summarize" (Draft a.answer)

refundLogic :: PaymentApi :> es => Ticket -> Eff es (GotoChoice '[To "summarize" Draft])
refundLogic t = do
  ref <- issueRefund t.subject 100
  pure $ gotoChoice @"summarize" (Draft ref)

summarizeLogic :: Draft -> Eff es (GotoChoice '[To Exit Reply])
summarizeLogic d = pure $ gotoExit (Reply d.draftText)
"""

EFFECTS = """\
module Shop.Effects where

data PaymentApi :: Effect where
  IssueRefund :: Text -> Int -> PaymentApi m Text
"""

FAQ = """\
Question: {{ question }}
{% for doc in kb_documents %}{{ doc }}
{% endfor %}
"""

CLASSIFY = "Subject: {{ subject }}\n\n{{ body }}\n"

FILES = {
    "src/Shop/Graph.hs": GRAPH,
    "src/Shop/Types.hs": TYPES,
    "src/Shop/Context.hs": CONTEXT,
    "src/Shop/Templates.hs": TEMPLATES,
    "src/Shop/Handlers.hs": HANDLERS,
    "src/Shop/Effects.hs": EFFECTS,
    "templates/faq.jinja": FAQ,
    "templates/classify.jinja": CLASSIFY,
}


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for relative, text in FILES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def finding(kind: PatternType, details: dict[str, Any], **extra: Any) -> Pattern:
    return Pattern(
        id="finding-1",
        type=kind,
        severity=Severity.CRITICAL,
        occurrences=50,
        details=details,
        recommendation="fix",
        **extra,
    )


def candidate_for(pattern: Pattern, dsl: DslModel) -> Candidate:
    report = PatternReport(
        patterns=[pattern], summary=Summary(total_patterns=1, critical=1, warning=0, info=0)
    )
    selection = select_findings(report, dsl)
    assert selection.candidates, selection.skipped
    return selection.candidates[0]


def context_for(
    root: Path, kind: PatternType, details: dict[str, Any], budget: int = 50_000, **extra: Any
) -> FindingContext:
    dsl = read_dsl(root)
    return build_context(
        candidate_for(finding(kind, details, **extra), dsl), dsl, root, token_budget=budget
    )


def lines_of(root: Path, relative: str, start: int, end: int) -> str:
    text = (root / relative).read_text(encoding="utf-8")
    return "".join(text.splitlines(keepends=True)[start - 1 : end])


SLOW_FAQ = {"node": "answerFaq", "p95_ms": 7000}


def test_slow_llm_shows_template_context_record_and_handler_in_that_order(checkout: Path) -> None:
    context = context_for(checkout, PatternType.SLOW_LLM, SLOW_FAQ)
    assert [f.path for f in context.files] == [
        "templates/faq.jinja",
        "src/Shop/Context.hs",
        "src/Shop/Handlers.hs",
    ]
    template, record, handler = context.files
    assert template.text == FAQ
    assert not template.is_excerpt
    assert record.text == CONTEXT
    assert handler.text == HANDLERS
    assert "template of node answerFaq" in template.reason
    assert "Template FaqTpl -> templates/faq.jinja" in template.reason
    assert "FaqContext" in record.reason
    assert "faqBefore, faqAfter" in handler.reason
    assert context.allowed_paths == {f.path for f in context.files}
    assert all(f.editable for f in context.files)
    assert context.omitted == ()


def test_over_budget_files_become_exact_excerpts_around_the_declaration(checkout: Path) -> None:
    context = context_for(checkout, PatternType.TOKEN_BLOAT, {"node": "answerFaq"}, budget=200)
    assert context.tokens <= 200
    by_path = {f.path: f for f in context.files}
    record = by_path["src/Shop/Context.hs"]
    assert record.is_excerpt
    assert record.text == lines_of(checkout, record.path, record.start_line, record.end_line)
    assert "data FaqContext = FaqContext" in record.text
    assert "instance ToGVal" in record.text  # the record's variables come with it
    assert "ClassifyContext" not in record.text
    handler = by_path["src/Shop/Handlers.hs"]
    assert handler.is_excerpt
    assert handler.text == lines_of(checkout, handler.path, handler.start_line, handler.end_line)
    assert "faqBefore t = " in handler.text
    assert "routeLogic c" not in handler.text
    assert by_path["templates/faq.jinja"].text == FAQ  # the most important stays whole


def test_least_important_files_are_dropped_when_excerpts_do_not_fit(checkout: Path) -> None:
    context = context_for(checkout, PatternType.SLOW_LLM, SLOW_FAQ, budget=60)
    assert [f.path for f in context.files] == ["templates/faq.jinja"]
    assert [o.path for o in context.omitted] == ["src/Shop/Context.hs", "src/Shop/Handlers.hs"]
    assert all("token budget" in o.why for o in context.omitted)
    assert context.allowed_paths == {"templates/faq.jinja"}


def test_a_budget_too_small_for_anything_sends_nothing(checkout: Path) -> None:
    context = context_for(checkout, PatternType.SLOW_LLM, SLOW_FAQ, budget=5)
    assert context.files == ()
    assert context.allowed_paths == frozenset()
    assert len(context.omitted) == 3


def test_schema_error_shows_the_schema_type_first(checkout: Path) -> None:
    details = {"template": "decode failed for field <*>", "count": 40, "nodes": {"classify": 40}}
    context = context_for(checkout, PatternType.REPEATED_ERROR, details, budget=200)
    first = context.files[0]
    assert first.path == "src/Shop/Types.hs"
    assert "schema type Classification" in first.reason
    assert "data Classification = Classification" in first.text
    assert "priority :: Text" in first.text
    assert [f.path for f in context.files[1:]] == [
        "templates/classify.jinja",
        "src/Shop/Handlers.hs",
    ]


def test_other_errors_show_the_handler_first_and_no_schema(checkout: Path) -> None:
    details = {"template": "gateway timeout <*>", "count": 40, "nodes": {"refund": 40}}
    context = context_for(checkout, PatternType.REPEATED_ERROR, details)
    assert [f.path for f in context.files] == ["src/Shop/Handlers.hs"]
    assert "refundLogic" in context.files[0].reason


def test_dead_path_shows_graph_lines_the_synonym_and_the_routing_handler(checkout: Path) -> None:
    details = {
        "from": "route",
        "to": "refund",
        "graph": "ShopGraph",
        "declared_in": "src/Shop/Types.hs:17",
        "taken": 0,
    }
    context = context_for(checkout, PatternType.DEAD_PATH, details, budget=320)
    assert context.tokens <= 320
    paths = [f.path for f in context.files]
    assert paths == ["src/Shop/Graph.hs", "src/Shop/Types.hs", "src/Shop/Handlers.hs"]
    graph, synonym, handler = context.files
    assert graph.is_excerpt
    assert "route :: mode :- G.LogicNode" in graph.text
    assert "classify :: mode" in graph.text
    assert "answerFaq :: mode" in graph.text
    assert graph.text == lines_of(checkout, graph.path, graph.start_line, graph.end_line)
    assert "type RouteEffects =" in synonym.text
    assert 'Goto "refund" Ticket' in synonym.text
    assert "routeLogic c" in handler.text
    assert "never chooses refund" in handler.reason


def test_effect_failure_shows_the_handler_and_the_effect_read_only(checkout: Path) -> None:
    details = {"effect_type": "PaymentApi", "failure_rate": 0.2, "nodes": {"refund": 9}}
    context = context_for(checkout, PatternType.EFFECT_FAILURE, details)
    handler, effect = context.files
    assert handler.path == "src/Shop/Handlers.hs"
    assert handler.editable
    assert "refundLogic" in handler.reason
    assert effect.path == "src/Shop/Effects.hs"
    assert not effect.editable
    assert context.allowed_paths == {"src/Shop/Handlers.hs"}


def test_effects_module_is_never_editable_even_when_chosen_as_a_record(checkout: Path) -> None:
    # The context record moved into Effects.hs: shown, never editable.
    (checkout / "src/Shop/Context.hs").write_text("module Shop.Context where\n")
    effects = EFFECTS + "\n" + CONTEXT.split("module Shop.Context where\n", 1)[1]
    (checkout / "src/Shop/Effects.hs").write_text(effects)
    context = context_for(checkout, PatternType.SLOW_LLM, SLOW_FAQ)
    effect_file = next(f for f in context.files if f.path == "src/Shop/Effects.hs")
    assert not effect_file.editable
    assert "src/Shop/Effects.hs" not in context.allowed_paths


def test_vendored_code_is_not_searched(checkout: Path) -> None:
    vendor = checkout / "vendor" / "exomonad" / "src"
    vendor.mkdir(parents=True)
    (vendor / "AAContext.hs").write_text("module V where\n\ndata FaqContext = FaqContext\n")
    context = context_for(checkout, PatternType.SLOW_LLM, SLOW_FAQ)
    assert not any(f.path.startswith("vendor/") for f in context.files)


# ---------------------------------------------------------------------------------------
# Unsafe files are omitted, never read
# ---------------------------------------------------------------------------------------


def test_a_symlinked_template_is_not_read(checkout: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("TOP SECRET\n")
    template = checkout / "templates/faq.jinja"
    template.unlink()
    template.symlink_to(outside)
    context = context_for(checkout, PatternType.SLOW_LLM, SLOW_FAQ)
    assert all("TOP SECRET" not in f.text for f in context.files)
    assert "templates/faq.jinja" not in context.allowed_paths
    (omitted,) = [o for o in context.omitted if o.path == "templates/faq.jinja"]
    assert "symlink" in omitted.why


def test_a_symlinked_directory_on_the_way_is_not_followed(checkout: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "faq.jinja").write_text("{{ question }} OUTSIDE\n")
    (checkout / "templates/faq.jinja").unlink()
    (checkout / "templates/classify.jinja").unlink()
    (checkout / "templates").rmdir()
    (checkout / "templates").symlink_to(elsewhere, target_is_directory=True)
    context = context_for(checkout, PatternType.SLOW_LLM, SLOW_FAQ)
    assert all("OUTSIDE" not in f.text for f in context.files)
    assert any(o.path == "templates/faq.jinja" and "symlink" in o.why for o in context.omitted)


def test_a_fifo_template_is_omitted_without_blocking(checkout: Path) -> None:
    template = checkout / "templates/faq.jinja"
    template.unlink()
    os.mkfifo(template)
    context = context_for(checkout, PatternType.SLOW_LLM, SLOW_FAQ)
    (omitted,) = [o for o in context.omitted if o.path == "templates/faq.jinja"]
    assert "not a regular file" in omitted.why


def test_a_device_node_template_is_omitted(checkout: Path) -> None:
    template = checkout / "templates/faq.jinja"
    template.unlink()
    os.mknod(template, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    context = context_for(checkout, PatternType.SLOW_LLM, SLOW_FAQ)
    assert any(o.path == "templates/faq.jinja" for o in context.omitted)
    assert "templates/faq.jinja" not in context.allowed_paths


def test_a_template_that_is_not_utf8_is_omitted(checkout: Path) -> None:
    (checkout / "templates/faq.jinja").write_bytes(b"Question: {{ question }} \xff\xfe\n")
    context = context_for(checkout, PatternType.SLOW_LLM, SLOW_FAQ)
    (omitted,) = [o for o in context.omitted if o.path == "templates/faq.jinja"]
    assert "UTF-8" in omitted.why


def test_crlf_text_is_kept_exactly(checkout: Path) -> None:
    crlf = "Question: {{ question }}\r\nAnswer briefly.\r\n"
    (checkout / "templates/faq.jinja").write_bytes(crlf.encode())
    context = context_for(checkout, PatternType.SLOW_LLM, SLOW_FAQ)
    assert context.files[0].text == crlf
    assert (context.files[0].start_line, context.files[0].end_line) == (1, 2)


# ---------------------------------------------------------------------------------------
# The bundled sample checkout
# ---------------------------------------------------------------------------------------


def test_the_bundled_sample_gives_a_bloated_node_its_template_and_context_record() -> None:
    dsl = read_dsl(SAMPLE)
    candidate = candidate_for(finding(PatternType.TOKEN_BLOAT, {"node": "answerFaq"}), dsl)
    context = build_context(candidate, dsl, SAMPLE, token_budget=6000)
    paths = [f.path for f in context.files]
    assert paths[0] == "templates/faq.jinja"
    assert any("data FaqContext" in f.text for f in context.files)
    assert set(paths) <= context.allowed_paths | {p for p in paths if p.endswith("Effects.hs")}
    for f in context.files:
        assert f.text == lines_of(SAMPLE, f.path, f.start_line, f.end_line)
