{-# LANGUAGE OverloadedStrings #-}
{-# LANGUAGE TemplateHaskell #-}
{-# LANGUAGE TypeFamilies #-}

-- | Prompt templates of the triage graph.
--
-- Each template is compiled by a Template Haskell splice that checks every
-- variable the .jinja file reads against the fields of its context record
-- ("Triage.Context"), so a template edit is only valid if @cabal build@
-- passes.
module Triage.Templates
  ( -- * Template types (used in Graph.hs)
    ClassifyTpl
  , FaqTpl
  , EscalateTpl
  , SummarizeTpl
    -- * Compiled templates
  , classifyCompiled
  , faqCompiled
  , escalateCompiled
  , summarizeCompiled
  ) where

import ExoMonad.Graph.Template (TemplateDef(..), TypedTemplate, typedTemplateFile)

import Triage.Context
  ( ClassifyContext(..), EscalateContext(..), FaqContext(..), SummarizeContext(..) )


-- ════════════════════════════════════════════════════════════════════════════
-- classify
-- ════════════════════════════════════════════════════════════════════════════

classifyCompiled :: TypedTemplate ClassifyContext
classifyCompiled = $(typedTemplateFile ''ClassifyContext "templates/classify.jinja")

-- | Template marker for the classify node.
data ClassifyTpl

instance TemplateDef ClassifyTpl where
  type TemplateContext ClassifyTpl = ClassifyContext
  type TemplateConstraint ClassifyTpl es = ()

  templateName = "classify"
  templateDescription = "Classify a support ticket into a category"
  templateCompiled = classifyCompiled

  -- The handler builds the context from the ticket itself.
  buildContext = error "ClassifyTpl: context is built by the classify handler"


-- ════════════════════════════════════════════════════════════════════════════
-- answerFaq
-- ════════════════════════════════════════════════════════════════════════════

faqCompiled :: TypedTemplate FaqContext
faqCompiled = $(typedTemplateFile ''FaqContext "templates/faq.jinja")

-- | Template marker for the answerFaq node.
data FaqTpl

instance TemplateDef FaqTpl where
  type TemplateContext FaqTpl = FaqContext
  type TemplateConstraint FaqTpl es = ()

  templateName = "faq"
  templateDescription = "Answer a customer question from the knowledge base"
  templateCompiled = faqCompiled
  buildContext = error "FaqTpl: context is built by the answerFaq handler"


-- ════════════════════════════════════════════════════════════════════════════
-- escalate
-- ════════════════════════════════════════════════════════════════════════════

escalateCompiled :: TypedTemplate EscalateContext
escalateCompiled = $(typedTemplateFile ''EscalateContext "templates/escalate.jinja")

-- | Template marker for the escalate node.
data EscalateTpl

instance TemplateDef EscalateTpl where
  type TemplateContext EscalateTpl = EscalateContext
  type TemplateConstraint EscalateTpl es = ()

  templateName = "escalate"
  templateDescription = "Write the hand-off note for a human agent"
  templateCompiled = escalateCompiled
  buildContext = error "EscalateTpl: context is built by the escalate handler"


-- ════════════════════════════════════════════════════════════════════════════
-- summarize
-- ════════════════════════════════════════════════════════════════════════════

summarizeCompiled :: TypedTemplate SummarizeContext
summarizeCompiled = $(typedTemplateFile ''SummarizeContext "templates/summarize.jinja")

-- | Template marker for the summarize node.
data SummarizeTpl

instance TemplateDef SummarizeTpl where
  type TemplateContext SummarizeTpl = SummarizeContext
  type TemplateConstraint SummarizeTpl es = ()

  templateName = "summarize"
  templateDescription = "Turn a branch's draft into the customer-facing reply"
  templateCompiled = summarizeCompiled
  buildContext = error "SummarizeTpl: context is built by the summarize handler"
